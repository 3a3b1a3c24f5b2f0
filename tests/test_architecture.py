"""The shape of the code: ``data_prep`` below ``fsa``, ``fsa.config`` a leaf, no import cycle, and
no function in ``fsa/`` or ``data_prep/`` longer than about a screen.

The import graph is read from the source with :mod:`ast` (nothing is imported): every ``import``
and ``from … import`` statement, at module level or inside a function, relative ones resolved
against the importing module's package, ``from package import submodule`` taken as an import of
the submodule. Importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b`` first, so it is an
import of those packages too, except of the importing module's own packages (already imported
before it). Only the project's own modules are nodes.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("fsa", "data_prep")
#: What ``fsa.config`` may import (``data_prep``: the package whose ``__init__`` importing ``data_prep.labels``
#: runs): leaves, so that every module of ``fsa`` can import it.
CONFIG_LEAVES = {"data_prep.hashing", "data_prep.labels", "data_prep"}


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name → source file, for every ``.py`` file under ``root/<package>``."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported_modules(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``module`` (its source at ``path``) imports, anywhere in it.

    ``import a.b`` imports ``a.b``; ``from a import b`` imports the submodule ``a.b`` if there is one,
    else ``a`` (``b`` is a name defined in ``a``); either also imports the packages above it that are
    not ``module``'s own."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from .x (level 1: this package), from ..x (its parent), ...
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names.update(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                         for alias in node.names)
    own = _packages_of(module)
    parents = {p for name in names & modules for p in _packages_of(name)} - own
    return ((names | parents) & modules) - {module}


def _packages_of(module: str) -> set[str]:
    """The packages whose ``__init__`` importing ``module`` runs: ``a.b.c`` -> ``a``, ``a.b``."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_graph(root: Path = REPO, packages=PACKAGES) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    files = module_files(root, packages)
    return {m: imported_modules(m, p, set(files)) for m, p in files.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The groups of modules that import each other, directly or through others (the strongly
    connected components of the graph): every module that can reach itself, with every module it
    reaches that reaches it back."""
    reach = {}
    for m in graph:
        seen, todo = set(), [m]
        while todo:
            for n in graph[todo.pop()] - seen:
                seen.add(n)
                todo.append(n)
        reach[m] = seen
    return sorted({frozenset({m} | {n for n in reach[m] if m in reach[n]}) for m in graph if m in reach[m]},
                  key=sorted)


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_graph_builder_on_a_small_package(tmp_path):
    """The reader itself: relative imports of one and two levels, a function-level import, a
    submodule named in ``from . import`` (an edge to it, not to its package), a name defined in a
    package, stdlib and third-party modules left out, and a cycle found."""
    files = {
        "pkg/__init__.py": "from .a import f\n",
        "pkg/a.py": "import os\nimport numpy as np\nfrom . import b\n\ndef f():\n    from .sub.c import g\n",
        "pkg/b.py": "from pkg.sub import c\nfrom .sub import VALUE\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import b as bee\nfrom ..a import f\n",
        "low/__init__.py": "",
        "low/d.py": "import pkg.b\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("pkg", "low"))
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b", "pkg.sub.c", "pkg.sub"},  # pkg.sub's __init__ runs first; pkg is pkg.a's own
        "pkg.b": {"pkg.sub.c", "pkg.sub"},
        "pkg.sub": set(),
        "pkg.sub.c": {"pkg.b", "pkg.a"},
        "low": set(),
        "low.d": {"pkg.b", "pkg"},  # importing pkg.b runs pkg/__init__, which imports pkg.a
    }
    assert import_cycles(graph) == [frozenset({"pkg.a", "pkg.b", "pkg.sub.c"})]
    assert import_cycles({**graph, "pkg.sub.c": set()}) == []
    assert import_cycles({"x": {"x"}, "y": {"x"}}) == [frozenset({"x"})]  # a module importing itself


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    """``top`` imports a submodule of ``pkg`` whose package ``__init__`` imports a module that imports
    ``top``: the cycle runs through the ``__init__``, not through the submodule."""
    files = {"top.py": "from pkg.low import x\n", "pkg/__init__.py": "from .high import y\n",
             "pkg/low.py": "x = 1\n", "pkg/high.py": "def y():\n    import top\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("pkg",))
    graph["top"] = imported_modules("top", tmp_path / "top.py", {*graph, "top"})
    graph["pkg.high"] |= imported_modules("pkg.high", tmp_path / "pkg" / "high.py", {*graph, "top"})
    assert graph["top"] == {"pkg.low", "pkg"}
    assert import_cycles(graph) == [frozenset({"top", "pkg", "pkg.high"})]


def test_every_module_is_read(graph):
    for m in ("fsa", "fsa.config", "fsa.models.registry", "fsa.bench.settings", "data_prep",
              "data_prep.faces", "data_prep.video", "data_prep.synth.sources"):
        assert m in graph
    assert "fsa.models.registry" in graph["fsa.models"] and "fsa.config" in graph["fsa.models.registry"]


def test_no_import_cycle(graph):
    cycles = [{m: sorted(graph[m] & group) for m in sorted(group)} for group in import_cycles(graph)]
    assert not cycles, f"import cycles (module: the modules of its cycle it imports): {cycles}"


def test_data_prep_imports_nothing_from_fsa(graph):
    upward = {m: sorted(n for n in targets if n.split(".")[0] == "fsa")
              for m, targets in graph.items() if m.split(".")[0] == "data_prep"}
    assert not {m: n for m, n in upward.items() if n}, "data_prep is the lower layer"


def test_config_imports_only_leaves(graph):
    assert graph["fsa.config"] <= CONFIG_LEAVES
    for leaf in graph["fsa.config"]:
        assert not graph[leaf], f"{leaf} is imported by fsa.config and imports {sorted(graph[leaf])}"


#: The most lines a function may span, from its ``def`` to its last line (docstring included,
#: decorators not): beyond it a function does several things and reads better split.
MAX_FUNCTION_LINES = 60


def function_lengths(root: Path) -> Iterator[tuple[str, int]]:
    """``("<file>:<line> <name>", lines)`` of every function and method under ``root``."""
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{path.relative_to(root).as_posix()}:{node.lineno} {node.name}"
                yield name, node.end_lineno - node.lineno + 1


def test_function_lengths_of_a_written_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(
        "import functools\n"                   # 1
        "\n"                                   # 2
        "@functools.cache\n"                   # 3
        "def one():\n"                         # 4  one: lines 4-5
        "    return 1\n"                       # 5
        "\n"                                   # 6
        "class A:\n"                           # 7
        "    async def two(self):\n"           # 8  two: lines 8-13
        '        """Two."""\n'                 # 9
        "        def inner(x):\n"              # 10 inner: lines 10-11
        "            return x\n"               # 11
        "\n"                                   # 12
        "        return inner(2)\n"            # 13
    )
    assert sorted(function_lengths(tmp_path)) == [("pkg/m.py:10 inner", 2), ("pkg/m.py:4 one", 2),
                                                  ("pkg/m.py:8 two", 6)]


def test_every_function_is_under_the_bar():
    found = [(f"{package}/{name}", n) for package in ("fsa", "data_prep")
             for name, n in function_lengths(REPO / package)]
    assert len(found) > 100, "the packages were not read"
    long = sorted((f"{name} ({n} lines)" for name, n in found if n > MAX_FUNCTION_LINES))
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines, to split by what they do: {', '.join(long)}"


#: The most lines a module of the packages may have: beyond it a module holds several subjects.
MAX_MODULE_LINES = 500


def test_every_module_is_under_the_bar():
    sizes = {path.relative_to(REPO).as_posix(): len(path.read_text().splitlines())
             for package in ("fsa", "data_prep") for path in sorted((REPO / package).rglob("*.py"))}
    assert len(sizes) > 40, "the packages were not read"
    long = sorted(f"{name} ({n} lines)" for name, n in sizes.items() if n > MAX_MODULE_LINES)
    assert not long, f"modules over {MAX_MODULE_LINES} lines, to split by subject: {', '.join(long)}"
