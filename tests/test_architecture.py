"""The package's import structure, read from the source with ``ast`` (nothing is imported).

Four rules, from the engine issue (#15) and STYLE.md ("dependencies point down"):

(a) no import cycle between modules;
(b) no private name (``_x``) imported from another module, nor read as ``module._x``;
(c) no private module (``_mod``) imported from outside the package that holds it
    (its subpackages count as inside: ``inometa._validation`` serves all of ``inometa``);
(d) no import that goes up the declared layer order (:data:`LAYERS`).

Imports under ``if TYPE_CHECKING:`` are ignored: they never run. Imports inside functions
count: they are dependencies all the same, only deferred. ``from pkg import name`` is an
import of ``pkg.name`` when that is a module, else of ``pkg`` (its ``__init__``).

Today's violations are allow-listed by name below. The list may only shrink: a test fails
when an allow-listed violation no longer occurs, so a fix must delete its entry.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "inometa"

# Layers, lowest first, as module-name prefixes: a module in a layer may import only from its
# own layer or a lower one (modules in no layer — the package root, cli, the shared private
# utilities at the top level and data/ — are not checked). core/ is the statistics and the
# result types, analysis/ what is built on them; then the presentation of results, which only
# reads them (STYLE.md): report/ (numbers and text; results reach its functions through
# core.results.register_views, never by importing it), plots/ (which label figures with
# report's formatting), and the Lao 2025 workflow on top.
LAYERS: tuple[str, ...] = (
    "inometa.core",
    "inometa.analysis",
    "inometa.report",
    "inometa.plots",
    "inometa.lao2025",
)

# Today's violations, by name. Each entry is a debt: fix it, then delete it (a test insists).

# (a) Import edges "importer -> imported" allowed to close a cycle. With them removed the graph
# must be acyclic, and each must still lie on a cycle of the full graph.
ALLOWED_CYCLE_EDGES: frozenset[str] = frozenset()

# (b) "importer -> module._name": private names used across a module boundary.
ALLOWED_PRIVATE_NAMES: frozenset[str] = frozenset()

# (c) "importer -> private.module": private modules imported from outside their package.
ALLOWED_PRIVATE_MODULES: frozenset[str] = frozenset()

# (d) "importer -> imported": imports up the layer order.
ALLOWED_LAYER_IMPORTS: frozenset[str] = frozenset()


# -- reading the source ----------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One resolved import inside the package: ``importer`` depends on ``target``."""

    importer: str
    target: str
    name: str | None  # the name taken from ``target``; None when ``target`` itself is bound
    line: int


def find_modules(src: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``src`` by dotted name; a package is its ``__init__``."""
    modules: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Walk ``node``, skipping the body of ``if TYPE_CHECKING:`` (its ``else`` still runs)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.orelse:
                yield stmt
                yield from _runtime_nodes(stmt)
            continue
        yield child
        yield from _runtime_nodes(child)


def read_imports(
    module: str, path: Path, modules: Mapping[str, Path]
) -> tuple[list[Import], list[tuple[str, str, int]]]:
    """The package-internal imports of one module, and its ``alias._name`` reads.

    The second list holds ``(target module, private attribute, line)`` for attribute reads
    such as ``pooling._prepare`` on a name bound to a package module by an import.
    """
    is_package = path.name == "__init__.py"
    here = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imports: list[Import] = []
    bound_modules: dict[str, str] = {}  # local name -> module it refers to
    nodes = list(_runtime_nodes(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    imports.append(Import(module, alias.name, None, node.lineno))
                    if alias.asname:
                        bound_modules[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source not in modules:
                continue  # outside the package
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:
                    imports.append(Import(module, submodule, None, node.lineno))
                    bound_modules[alias.asname or alias.name] = submodule
                else:
                    imports.append(Import(module, source, alias.name, node.lineno))
    reads = [
        (bound_modules[node.value.id], node.attr, node.lineno)
        for node in nodes
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound_modules
        and _is_private(node.attr)
    ]
    return [i for i in imports if i.target != module], reads


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True)
class Structure:
    """The package's imports, and the violations of rules (a)–(d) found in them."""

    imports: tuple[Import, ...]
    private_reads: tuple[str, ...]

    @property
    def graph(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {}
        for imp in self.imports:
            graph.setdefault(imp.importer, set()).add(imp.target)
        return graph

    def private_names(self) -> set[str]:
        """(b) ``importer -> module._name`` for private names taken from another module."""
        found = {
            f"{i.importer} -> {i.target}.{i.name}"
            for i in self.imports
            if i.name is not None and _is_private(i.name)
        }
        return found | set(self.private_reads)

    def private_modules(self) -> set[str]:
        """(c) ``importer -> module`` for private modules imported from outside their package."""
        found = set()
        for imp in self.imports:
            parts = imp.target.split(".")
            private = [k for k, part in enumerate(parts) if _is_private(part)]
            if not private:
                continue
            owner = ".".join(parts[: private[0]])  # the package that holds the private module
            if not (imp.importer == owner or imp.importer.startswith(owner + ".")):
                found.add(f"{imp.importer} -> {imp.target}")
        return found

    def layer_violations(self, layers: Iterable[str]) -> set[str]:
        """(d) ``importer -> module`` for imports from a higher layer than the importer's."""
        order = list(layers)

        def layer(module: str) -> int | None:
            for k, prefix in enumerate(order):
                if module == prefix or module.startswith(prefix + "."):
                    return k
            return None

        found = set()
        for imp in self.imports:
            low, high = layer(imp.importer), layer(imp.target)
            if low is not None and high is not None and high > low:
                found.add(f"{imp.importer} -> {imp.target}")
        return found


def read_structure(src: Path, package: str) -> Structure:
    """Read every module of ``package`` under ``src``."""
    modules = find_modules(src, package)
    imports: list[Import] = []
    reads: list[str] = []
    for module, path in modules.items():
        found, private_reads = read_imports(module, path, modules)
        imports.extend(found)
        reads.extend(
            f"{module} -> {target}.{attr}" for target, attr, _ in private_reads if target != module
        )
    return Structure(tuple(imports), tuple(reads))


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reaches(graph: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w == goal:
                return True
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return False


def _edges(graph: Mapping[str, set[str]]) -> set[str]:
    return {f"{a} -> {b}" for a, targets in graph.items() for b in targets}


def _without(graph: Mapping[str, set[str]], edges: frozenset[str]) -> dict[str, set[str]]:
    return {a: {b for b in targets if f"{a} -> {b}" not in edges} for a, targets in graph.items()}


@pytest.fixture(scope="module")
def structure() -> Structure:
    return read_structure(SRC, PACKAGE)


# -- the rules -------------------------------------------------------------------------------


def test_no_import_cycles(structure: Structure) -> None:
    remaining = cycles(_without(structure.graph, ALLOWED_CYCLE_EDGES))
    assert remaining == [], (
        "import cycles (modules in one knot); break them rather than allow-listing an edge"
    )


def test_allowed_cycle_edges_still_close_a_cycle(structure: Structure) -> None:
    graph = structure.graph
    gone = sorted(ALLOWED_CYCLE_EDGES - _edges(graph))
    assert gone == [], "these imports are gone: delete them from ALLOWED_CYCLE_EDGES"
    acyclic = sorted(
        e for e in ALLOWED_CYCLE_EDGES if not reaches(graph, *reversed(e.split(" -> ")))
    )
    assert acyclic == [], "these imports no longer close a cycle: delete them from the list"


def test_no_private_names_across_modules(structure: Structure) -> None:
    assert sorted(structure.private_names() - ALLOWED_PRIVATE_NAMES) == []


def test_allowed_private_names_still_occur(structure: Structure) -> None:
    assert sorted(ALLOWED_PRIVATE_NAMES - structure.private_names()) == [], (
        "fixed: delete these from ALLOWED_PRIVATE_NAMES"
    )


def test_no_private_modules_across_packages(structure: Structure) -> None:
    assert sorted(structure.private_modules() - ALLOWED_PRIVATE_MODULES) == []


def test_allowed_private_modules_still_occur(structure: Structure) -> None:
    assert sorted(ALLOWED_PRIVATE_MODULES - structure.private_modules()) == [], (
        "fixed: delete these from ALLOWED_PRIVATE_MODULES"
    )


def test_imports_point_down_the_layers(structure: Structure) -> None:
    assert sorted(structure.layer_violations(LAYERS) - ALLOWED_LAYER_IMPORTS) == []


def test_allowed_layer_imports_still_occur(structure: Structure) -> None:
    assert sorted(ALLOWED_LAYER_IMPORTS - structure.layer_violations(LAYERS)) == [], (
        "fixed: delete these from ALLOWED_LAYER_IMPORTS"
    )


def test_nothing_imports_the_package_root(structure: Structure) -> None:
    # The root re-exports the public API, so it imports nearly every module; a module that
    # imports from it (``__version__`` was the usual reason) joins one big cycle or soon will.
    importers = sorted({i.importer for i in structure.imports if i.target == PACKAGE})
    assert importers == [], f"import from {PACKAGE}._version or the defining module instead"


def test_the_reader_sees_the_whole_package(structure: Structure) -> None:
    # A guard against a reader that silently finds nothing: the public API's own imports.
    edges = _edges(structure.graph)
    assert "inometa -> inometa.analysis.pooling" in edges
    assert "inometa.plots -> inometa.plots.forest" in edges


# -- the reader itself, on a made-up package --------------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_reader_finds_each_kind_of_violation(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "__version__ = '1'\nfrom .a import f\n",
            # a -> pkg (root) -> a: a cycle through __version__; a reads b._g
            "pkg/a.py": "from . import __version__\nfrom . import b\ndef f():\n    b._g()\n",
            "pkg/b.py": "from .a import f as _f\ndef _g():\n    pass\n",
            "pkg/_util.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/_inner.py": "",
            # TYPE_CHECKING imports never run; sub._inner is private to pkg.sub
            "pkg/sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..a import f\nfrom .. import _util\nfrom ._inner import x\n",
            "pkg/d.py": "from .sub._inner import y\nfrom .sub import c\n",
            "pkg/e.py": "import pkg.a\nfrom .b import f as _alias\n",
        },
    )
    found = read_structure(tmp_path, "pkg")
    assert cycles(found.graph) == [["pkg", "pkg.a", "pkg.b"]]
    assert "pkg.sub.c -> pkg.a" not in _edges(found.graph)
    assert "pkg.e -> pkg.a" in _edges(found.graph)
    assert found.private_names() == {"pkg.a -> pkg.b._g"}
    assert found.private_modules() == {"pkg.d -> pkg.sub._inner"}
    assert found.layer_violations(["pkg.sub", "pkg.d"]) == set()
    assert found.layer_violations(["pkg.d", "pkg.sub"]) == {"pkg.d -> pkg.sub._inner"} | {
        "pkg.d -> pkg.sub.c"
    }
