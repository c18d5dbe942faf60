"""The feature modules under app/modules form layers: no module imports, directly or through
others, a module that imports it. A module that needs a reaction from one above it asks
through an event or a rule that module hands down (`reactions.py`)."""

from __future__ import annotations

import ast
from pathlib import Path

MODULES = Path(__file__).resolve().parents[1] / "app" / "modules"
CORE = MODULES.parent / "core"
HTTP_DEPENDENCIES = ("app.core.dependencies", "app.modules.users.dependencies")


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def module_imports(root: Path = MODULES) -> dict[str, set[str]]:
    """Which other app/modules packages each one imports (anywhere in its files, including
    imports inside functions and TYPE_CHECKING blocks)."""
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        package = path.relative_to(root).parts[0]
        for name in _imported_names(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")
            if parts[:2] == ["app", "modules"] and len(parts) > 2 and parts[2] != package:
                graph.setdefault(package, set()).add(parts[2])
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk, each as the path that closes it."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                walk(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            walk(start, [start])
    return cycles


def test_no_module_imports_a_module_that_imports_it() -> None:
    graph = module_imports()
    assert graph, "no imports found: is MODULES pointing at app/modules?"
    assert [" -> ".join(cycle) for cycle in import_cycles(graph)] == []


def test_the_check_finds_direct_and_indirect_circles(tmp_path: Path) -> None:
    for package, body in {
        "alpha": "from app.modules.beta import service\n",
        "beta": "def f():\n    from app.modules.alpha.models import A\n",
        "gamma": "import app.modules.delta.service\n",
        "delta": "from app.modules.epsilon import x\n",
        "epsilon": "from app.modules.gamma.models import G\n",
        "zeta": "from app.modules.alpha import service\n",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "service.py").write_text(body)
    cycles = import_cycles(module_imports(tmp_path))
    assert cycles == [
        ["alpha", "beta", "alpha"],
        ["delta", "epsilon", "gamma", "delta"],
    ]


def _imports(path: Path) -> list[str]:
    return _imported_names(ast.parse(path.read_text(encoding="utf-8")))


def test_no_repository_imports_the_http_dependencies() -> None:
    offenders = [
        str(path.relative_to(MODULES))
        for path in MODULES.rglob("*repository.py")
        if set(HTTP_DEPENDENCIES) & set(_imports(path))
    ]
    assert offenders == []


def test_the_platform_code_imports_no_feature_module() -> None:
    """app/core sits under every module: it names none of them (the current user, which needs
    the users' table, is `app.modules.users.dependencies`)."""
    offenders = {
        str(path.relative_to(CORE)): name
        for path in CORE.rglob("*.py")
        for name in _imports(path)
        if name.startswith("app.modules")
    }
    assert offenders == {}
