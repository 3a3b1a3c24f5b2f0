"""The shape of the code: no function in ``fsa/`` or ``data_prep/`` longer than about a screen."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
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
