"""A small Postman collection runner: resolves `{{variables}}`, applies bearer/noauth auth,
sends raw JSON / urlencoded bodies, and carries out the token-storing test scripts the
generated collections use (`pm.collectionVariables.set('<name>', body.<field>)`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

VARIABLE = re.compile(r"\{\{([^}]+)\}\}")
STORE = re.compile(r"pm\.collectionVariables\.set\('([^']+)', body\.(\w+)\)")


@dataclass
class Result:
    name: str
    method: str
    url: str
    expected: int
    status: int


def resolve(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"variable {{{{{name}}}}} is not defined")
        return variables[name]

    return VARIABLE.sub(replace, text)


def _auth_header(auth: dict[str, Any] | None, variables: dict[str, str]) -> dict[str, str]:
    if not auth or auth.get("type") != "bearer":
        return {}
    token = next(entry["value"] for entry in auth["bearer"] if entry["key"] == "token")
    return {"Authorization": f"Bearer {resolve(token, variables)}"}


def run_collection(
    collection: dict[str, Any], environment: dict[str, Any], *, timeout: float = 30
) -> list[Result]:
    variables = {v["key"]: v["value"] for v in collection.get("variable", [])}
    variables.update({v["key"]: v["value"] for v in environment["values"] if v.get("enabled")})
    items: list[dict[str, Any]] = []
    for entry in collection["item"]:
        items.extend(entry.get("item", [entry]))
    results = []
    with httpx.Client(timeout=timeout) as client:
        for item in items:
            request = item["request"]
            url = resolve(request["url"]["raw"], variables)
            for variable in request["url"].get("variable", []):
                url = url.replace(f":{variable['key']}", resolve(variable["value"], variables))
            headers = {h["key"]: resolve(h["value"], variables) for h in request.get("header", [])}
            auth = request.get("auth", collection.get("auth"))
            headers.update(_auth_header(auth, variables))
            kwargs: dict[str, Any] = {}
            body = request.get("body")
            if body and body["mode"] == "raw":
                kwargs["content"] = resolve(body["raw"], variables).encode()
            elif body and body["mode"] == "urlencoded":
                kwargs["data"] = {
                    f["key"]: resolve(f["value"], variables)
                    for f in body["urlencoded"]
                    if not f.get("disabled")
                }
            response = client.request(request["method"], url, headers=headers, **kwargs)
            expected = int(item["response"][0]["code"])
            results.append(
                Result(item["name"], request["method"], url, expected, response.status_code)
            )
            for event in item.get("event", []):
                script = "\n".join(event["script"]["exec"])
                if response.status_code == 200:
                    answer = response.json()
                    for name, field in STORE.findall(script):
                        if field in answer:
                            variables[name] = str(answer[field])
    return results
