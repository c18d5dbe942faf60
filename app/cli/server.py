"""`lms serve` and `lms openapi`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

from app.core.config import get_settings


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve")
    serve.add_argument("--host", default=None, help="bind address (default: HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default: PORT)")
    serve.add_argument("--workers", type=int, default=None, help="processes (default: WORKERS)")
    serve.add_argument("--reload", action="store_true", help="reload on code changes")
    serve.set_defaults(handler=serve_command)

    openapi = subparsers.add_parser("openapi")
    openapi.add_argument("--output", "-o", default="-", help="file path, or - for stdout")
    openapi.set_defaults(handler=openapi_command)


def _prepare_multiprocess_metrics(workers: int) -> None:
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = get_settings().VAR_DIR / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    # The served address is the settings' own, so links the app prints (PUBLIC_BASE_URL's
    # default) follow `--host`/`--port`, in every worker process too.
    for name, value in (("HOST", args.host), ("PORT", args.port)):
        if value is not None:
            os.environ[name] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    workers = args.workers or settings.WORKERS
    _prepare_multiprocess_metrics(workers)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=settings.HOST,
        port=settings.PORT,
        workers=None if args.reload else workers,
        reload=args.reload,
        # The app resolves client addresses itself from FORWARDED_ALLOW_IPS.
        proxy_headers=False,
        access_log=False,
        log_config=None,
        server_header=False,
    )
    return 0


def openapi_command(args: argparse.Namespace) -> int:
    from app.cli.apidocs import load_openapi

    # The app's own schema, as served at /openapi.json (endpoint summaries from docstrings).
    text = json.dumps(load_openapi(), indent=2, sort_keys=False)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n")
    return 0
