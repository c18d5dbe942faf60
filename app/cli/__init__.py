"""The `lms` command. Each subcommand lives in its own module and registers itself in
`COMMAND_MODULES`; `lms --help` lists them."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

COMMAND_MODULES = (
    "app.cli.server",
    "app.cli.database",
    "app.cli.config",
    "app.cli.users",
    "app.cli.worker",
    "app.cli.apidocs",
    "app.cli.checks",
    "app.cli.backup",
    "app.cli.demo",
    "app.cli.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lms", description="LMS backend operations")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for dotted in COMMAND_MODULES:
        importlib.import_module(dotted).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.handler(args)
    return int(result or 0)
