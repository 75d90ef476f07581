"""The import contract of app/ (docs/architecture.md), read from the code's own imports, those inside
functions and under TYPE_CHECKING included:

* app.core imports nothing from app.web, app.store or app.cli; app.store nothing from app.web or app.cli;
* nothing in app imports headscope, the Python API: a top layer like app.cli (it imports app, never the reverse);
* no cycle between modules (an import of a.b.c also runs the packages a and a.b);
* the shared packages of app.core (model, inputs, data, passes, stats) import no feature package;
* a feature package (heads, attribution, robustness, report, training) reaches another feature only
  through that package's public names (its __init__), never a module inside it;
* nothing at the top of app/core but its package file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
TOP_PACKAGES = (APP, APP.parent / "headscope")  # headscope sits above app, as app.cli does
SHARED = {"model", "inputs", "data", "passes", "stats"}
FEATURES = {"heads", "attribution", "faithfulness", "robustness", "report", "training"}


def module_files() -> dict[str, Path]:
    found = {}
    for path in (path for package in TOP_PACKAGES for path in package.rglob("*.py")):
        parts = path.relative_to(APP.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = module_files()


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    # `from a.b import c` imports the module a.b.c when there is one, else the name c of a.b
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]


def _known(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def direct_imports() -> dict[str, set[str]]:
    """Module -> the app modules it imports anywhere in its body."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, node):
                    known = _known(target) if target.split(".")[0] in ("app", "headscope") else None
                    if known and known != name:
                        graph[name].add(known)
    return graph


def with_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each import also runs the target's enclosing packages that do not enclose the importer."""
    full = {name: set(targets) for name, targets in graph.items()}
    for name, targets in graph.items():
        own = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        for target in targets:
            parts = target.split(".")
            for k in range(1, len(parts)):
                package = ".".join(parts[:k])
                if package not in own and package in MODULES and package != name:
                    full[name].add(package)
    return full


GRAPH = direct_imports()


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def core_package(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["app", "core"] else None


def test_the_core_and_the_store_import_no_outer_layer():
    wrong = [
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if (name.startswith("app.core") and target.split(".")[1] in {"web", "store", "cli"})
        or (name.startswith("app.store") and target.split(".")[1] in {"web", "cli"})
    ]
    assert wrong == []


def outer_layer_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, target) for every import of the top layer (headscope) from inside app."""
    return [
        (name, target)
        for name, targets in graph.items()
        for target in targets
        if name.split(".")[0] == "app" and target.split(".")[0] == "headscope"
    ]


def test_app_imports_nothing_of_the_python_api():
    assert "headscope" in MODULES and "headscope.inspecting" in MODULES  # the API is read too
    assert outer_layer_imports(GRAPH) == []


def test_a_planted_import_of_the_python_api_is_found():
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    graph["app.web.export"].add("headscope.views")
    assert outer_layer_imports(graph) == [("app.web.export", "headscope.views")]


def test_no_module_imports_itself_back():
    assert cycles(with_packages(GRAPH)) == []


def test_shared_packages_import_no_feature():
    wrong = [
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if core_package(name) in SHARED and core_package(target) in FEATURES
    ]
    assert wrong == []


def test_features_reach_each_other_through_public_names_only():
    wrong = [
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if core_package(name) in FEATURES
        and core_package(target) in FEATURES
        and core_package(name) != core_package(target)
        and target != f"app.core.{core_package(target)}"
    ]
    assert wrong == []


def test_public_names_of_a_feature_come_from_its_own_modules():
    for feature in FEATURES:
        outside = [t for t in GRAPH[f"app.core.{feature}"] if core_package(t) != feature]
        assert outside == [], feature


def test_nothing_loose_at_the_top_of_the_core():
    loose = sorted(p.name for p in (APP / "core").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    assert {p.name for p in (APP / "core").iterdir() if p.is_dir() and p.name != "__pycache__"} == SHARED | FEATURES


# The checks above must be able to fail: each is run on a graph with the fault planted.
@pytest.mark.parametrize(
    "planted, check",
    [
        (
            {
                "app.core.model.checkpoint": {"app.core.model.registry"},
                "app.core.model.registry": {"app.core.model.checkpoint"},
            },
            "cycle",
        ),
        ({"app.core.heads.statistics": {"app.core.robustness.moved"}}, "through the robustness package's public names"),
    ],
)
def test_a_planted_cycle_is_found(planted, check):
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    for name, targets in planted.items():
        graph.setdefault(name, set()).update(targets)
        for target in targets:
            graph.setdefault(target, set())
    assert cycles(with_packages(graph)) != []


def test_an_import_inside_a_function_counts():
    source = "def late():\n    from app.web.main import create_app\n"
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom))
    assert _known(_targets("app.core.model.checkpoint", node)[0]) == "app.web.main"
