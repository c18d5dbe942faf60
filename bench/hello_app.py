"""The framework's ceiling: a bare FastAPI app answering a tiny JSON document."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    """Hello world."""
    return {"hello": "world"}
