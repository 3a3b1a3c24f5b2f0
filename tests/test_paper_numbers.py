"""The transcribed paper numbers against the paper's own text, and against the model registry."""
import re
from pathlib import Path

import pytest

from fsa.models import REGISTRY
from fsa.paper import paper_results, paper_table, real_test_clips

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "ecnn-fsa-paper.md"


def _table_text(number: int) -> str:
    """The lines of Table ``number`` in the paper's text, with OCR's '49. 25' spacing undone."""
    text = PAPER.read_text(encoding="utf-8")
    start = re.search(rf"(?m)^Table {number}\s(?!shows)", text).start()  # the caption, not the prose
    nxt = re.search(r"\n(Table \d+\s(?!shows)|## |#### )", text[start + 10 :])
    end = start + 10 + nxt.start() if nxt else len(text)
    return re.sub(r"(\d)\. (\d)", r"\1.\2", text[start:end])


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+|\b\d+\b", text)]


#: The columns of the results tables, in the order the paper prints them.
COLUMNS = ("backbone_dim", "branch_dim", "fc_layers", "s", "f1", "accuracy", "train_ms_per_frame", "test_ms_per_frame")


def _cell_number(cell: str) -> float | None:
    """The number of a table cell that holds only a number (``33.69%``, ``0.2895``), else ``None``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%?\s*", cell)
    return float(m.group(1)) if m else None


def _label_key(text: str) -> str:
    """A row label without markup, LaTeX commands, spacing and punctuation: ``ECNN-FSA (2048, 2×fc, s = 0.06)``
    and ``ECNN-FSA (2048, $2 \\times \\text{fc}$ , $s = 0.06$ )`` give the same key."""
    text = re.sub(r"<[^>]+>|\\[a-z]+", "", text)
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def _printed_rows(number: int) -> list[tuple[str, list[float]]]:
    """Each line of a table's body that holds numbers: (its label, the last cell with a letter in it;
    its number cells in order)."""
    rows = []
    for line in _table_text(number).splitlines():
        cells = line.split("\t")
        values = [v for v in map(_cell_number, cells) if v is not None]
        if "\t" in line and values:
            label = ([c for c in cells if re.search("[A-Za-z]", c)] or [""])[-1]
            rows.append((label, values))
    return rows


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
@pytest.mark.parametrize("number", [2, 3, 4, 6, 7, 8, 9])
def test_table_rows_match_the_paper(number):
    """Row by row, in the paper's order: each transcribed number is the one printed in its own row
    and column (a swapped row or column fails), and each row label is the printed one."""
    rows = paper_table(number)["rows"]
    printed = _printed_rows(number)
    ours = [[row[k] for k in COLUMNS if row.get(k) is not None] for row in rows]
    if len(printed) == 1 and len(rows) > 1:  # Table 8: one printed line holds every row's columns
        assert printed[0][1] == [v for values in ours for v in values], number
        return
    assert len(printed) == len(rows), (number, [p[0] for p in printed])
    for row, values, (label, printed_values) in zip(rows, ours, printed):
        assert values == printed_values, (number, row.get("label"), values, printed_values)
        if "label" in row:
            assert _label_key(row["label"]) == _label_key(label), (number, row["label"], label)


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
def test_table1_rows_match_the_paper():
    lines = [re.sub(r"\s+", " ", line).replace("$", "").strip() for line in _table_text(1).splitlines()]
    for row in paper_table(1)["rows"]:
        printed = next(line for line in lines if line.startswith(row["module"] + " "))
        assert printed.startswith(f"{row['module']} {row['output']}"), (row, printed)
        assert _numbers(printed) == _numbers(f"{row['output']} {row['parameter']}"), (row, printed)


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
@pytest.mark.parametrize("number", [5, 10])
def test_confusion_matrices_match_the_paper(number):
    lines = [line for line in _table_text(number).splitlines() if re.match(r"^(An|Di|Fe|На|Ha|Ne|Sa|Su)\t", line)]
    printed = [_numbers(line) for line in lines]
    assert printed == paper_table(number)["confusion_pct"]


def test_rows_name_registered_models():
    for number, table in paper_results()["tables"].items():
        models = [r.get("model") for r in table.get("rows", [])] + [table.get("model")]
        for name in filter(None, models):
            assert name in REGISTRY, (number, name)
            assert number in REGISTRY[name].tables or number == "8", (number, name)


def test_confusion_rows_sum_to_about_100():
    for number in (5, 10):
        for row in paper_table(number)["confusion_pct"]:
            assert abs(sum(row) - 100) < 1.5


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
def test_the_real_test_set_sizes_are_the_papers():
    text = PAPER.read_text(encoding="utf-8")
    assert re.search(rf"\b{real_test_clips('ckplus')} sequences from 118 subjects are labeled", text)
    assert re.search(rf"Val \({real_test_clips('afew')} samples\)", text)
    with pytest.raises(KeyError, match="no dataset 'fer2013'"):
        real_test_clips("fer2013")
