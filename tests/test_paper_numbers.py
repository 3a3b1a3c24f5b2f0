"""The transcribed paper numbers against the paper's own text, and against the model registry."""
import re
from pathlib import Path

import pytest

from fsa.models import REGISTRY
from fsa.paper import paper_results, paper_table

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


@pytest.mark.skipif(not PAPER.exists(), reason=f"paper text not found at {PAPER}")
@pytest.mark.parametrize("number", [2, 3, 4, 6, 7, 8, 9])
def test_table_rows_match_the_paper(number):
    found = _numbers(_table_text(number))
    for row in paper_table(number)["rows"]:
        for key in ("accuracy", "f1", "train_ms_per_frame", "test_ms_per_frame", "s"):
            if row.get(key) is not None:
                assert any(abs(row[key] - x) < 1e-9 for x in found), (number, row.get("label"), key, row[key])


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
