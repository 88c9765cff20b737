"""The package's architecture, checked: imports only point down its layers, and no import cycle
exists at run time (imports under ``if TYPE_CHECKING:`` do not run and are left out; imports
inside functions run, later, and count).

The layers, top to bottom: the public names (``flask_gallery``), the extension object and its
commands, the web layer (``web/``: routes, the socket, tokens, responses), the page model
(``page/``: page state, what an action does, drawing, handler inputs and outputs), the settings
and declarations registry, the media pipeline and the event engine, and the declarations
themselves (components, listeners, properties, what handlers receive).
"""

from __future__ import annotations

import ast
import pathlib
import typing as t

import pytest

import flask_gallery

PACKAGE = pathlib.Path(flask_gallery.__file__).resolve().parent

#: Each module's layer, by the longest prefix of its dotted name listed here; lower is higher up.
LAYERS = {
    "flask_gallery": 0,
    "flask_gallery.extension": 1,
    "flask_gallery.cli": 1,
    "flask_gallery.web": 2,
    "flask_gallery.page": 3,
    "flask_gallery.config": 4,
    "flask_gallery.registry": 4,
    "flask_gallery.media": 5,
    "flask_gallery.queue": 5,
    "flask_gallery.component": 6,
    "flask_gallery.elements": 6,
    "flask_gallery.state": 6,
    "flask_gallery.events": 6,
    "flask_gallery.props": 6,
    "flask_gallery.notify": 6,
    "flask_gallery.progress": 6,
    "flask_gallery.request": 6,
    "flask_gallery._version": 7,
}


def modules(root: pathlib.Path) -> dict[str, tuple[pathlib.Path, bool]]:
    """Every module under ``root`` by dotted name, with whether it is a package."""
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


class _Imports(ast.NodeVisitor):
    """The modules of the package one module imports when it runs."""

    def __init__(self, name: str, package: bool, known: t.Container[str]) -> None:
        self.name, self.package, self.known = name, package, known
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        flag = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
        for child in node.orelse if flag == "TYPE_CHECKING" else [*node.body, *node.orelse]:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.name.split(".") if self.package else self.name.split(".")[:-1]
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.known else base)

    def _add(self, target: str) -> None:
        while target and target not in self.known and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in self.known and target != self.name:
            self.found.add(target)


def import_graph(root: pathlib.Path) -> dict[str, set[str]]:
    known = modules(root)
    graph = {}
    for name, (path, package) in known.items():
        visitor = _Imports(name, package, known)
        visitor.visit(ast.parse(path.read_text()))
        graph[name] = visitor.found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def layer(name: str) -> int:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {__name__}.")


def test_no_import_cycle_at_run_time() -> None:
    assert cycles(import_graph(PACKAGE)) == []


def test_imports_only_point_down_the_layers() -> None:
    upward = [
        f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})"
        for name, targets in sorted(import_graph(PACKAGE).items())
        for target in sorted(targets)
        if layer(target) < layer(name)
    ]
    assert upward == []


def test_every_module_has_a_layer() -> None:
    for name in modules(PACKAGE):
        layer(name)


@pytest.fixture
def knot(tmp_path: pathlib.Path) -> pathlib.Path:
    """A package whose ``a`` imports ``b`` at the top, and ``b`` imports ``a`` in a function;
    ``c`` imports ``a`` for type hints only."""
    root = tmp_path / "knot"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "a.py").write_text("from . import b\n")
    (root / "b.py").write_text("def later():\n    from .a import thing\n")
    (root / "c.py").write_text(
        "import typing as t\nif t.TYPE_CHECKING:\n    from .a import thing\nelse:\n    pass\n"
    )
    return root


def test_the_check_finds_a_cycle_through_a_lazy_import(knot: pathlib.Path) -> None:
    graph = import_graph(knot)
    assert cycles(graph) == [["knot.a", "knot.b"]]
    assert graph["knot.c"] == set()  # type-only imports do not run
