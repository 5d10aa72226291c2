"""The package's shape: no import cycles, no reaching into another module's private names,
and one registration line per inference operation (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import mockserver
from mockserver.operations.registry import OPERATIONS, RESOURCES

PACKAGE = Path(mockserver.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """(module, names, line) of each import of the package, outside `if TYPE_CHECKING`."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("mockserver"):
                yield node.module, tuple(alias.name for alias in node.names), node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mockserver"):
                    yield alias.name, (), node.lineno


def imported_modules(path: Path) -> set[str]:
    found = set()
    for module, names, _ in imports(path):
        submodules = {f"{module}.{name}" for name in names} & MODULES.keys()
        found.update(submodules)
        if len(submodules) < len(names) or not names:  # a name defined in `module` itself
            found.add(module)
    return found & MODULES.keys()


def test_no_module_imports_another_modules_private_names() -> None:
    private = [
        f"{module_name(path)}:{line} imports {name} from {module}"
        for path in MODULES.values()
        for module, names, line in imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


def private_attributes(source: str) -> list[str]:
    """`name._private` (or `name.module._private`) where `name` was imported from the
    package: a module's or a class's private part reached from outside."""
    tree = ast.parse(source)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mockserver"):
            imported.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names = [a for a in node.names if a.name.startswith("mockserver")]
            imported.update((a.asname or a.name).split(".")[0] for a in names)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        private = node.attr.startswith("_") and not node.attr.startswith("__")
        root = ast.unparse(node.value).split(".")[0]
        if private and root in imported:
            found.append(f"{node.lineno} {ast.unparse(node)}")
    return sorted(found)


def test_no_module_reaches_into_another_through_an_attribute() -> None:
    reached = [
        f"{name}:{found}"
        for name, path in MODULES.items()
        for found in private_attributes(path.read_text())
    ]
    assert reached == []


def test_the_attribute_check_finds_what_the_old_routes_did() -> None:
    # responses/routes.py once called chat_routes._asked_latency: the check must see it.
    source = (
        "from mockserver.api import routes as chat_routes\n"
        "import mockserver.pipeline\n"
        "chat_routes._asked_latency(None)\n"
        "mockserver.pipeline._admit\n"
        "chat_routes.__doc__\n"
    )
    assert private_attributes(source) == [
        "3 chat_routes._asked_latency",
        "4 mockserver.pipeline._admit",
    ]


def test_there_is_no_import_cycle() -> None:
    graph = {name: imported_modules(path) - {name} for name, path in MODULES.items()}
    cycles = [component for component in strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every set of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
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
                    found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, set())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]


def test_every_operation_is_registered_once_with_routes_on_both_surfaces() -> None:
    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names))
    for operation in OPERATIONS:
        assert {route.surface for route in operation.routes} == {"dated", "v1"}
    paths = [(r.route.method, r.route.path) for r in RESOURCES]
    paths += [(route.method, route.path) for op in OPERATIONS for route in op.routes]
    assert len(paths) == len(set(paths))
