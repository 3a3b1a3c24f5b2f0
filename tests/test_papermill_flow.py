"""The reader's loop, end to end: ``papermill notebooks/table6.ipynb -p s 0.2`` records one more
run, and the next ``jupyter-book build book/`` shows it on the Table 6 page.

The store starts as a copy of the committed ``results/`` (what a reader's clone holds), the run
uses the ``smoke`` preset on the smoke embedded set, and the book is built into a temporary
folder. Papermill runs first without an output path (its output piped, so the executed notebook
goes to stdout), then with one: the second execution must read the stored run, not retrain it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fsa import report
from fsa.runs import AFEW_SEEDS

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


class _FsaTable(HTMLParser):
    """The rows (dicts keyed by the header) of the ``fsa-table`` tables of a built page."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._inside = False  # within an fsa-table (other tables of the page are not read)

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "fsa-table" in (dict(attrs).get("class") or "").split():
            self.tables.append([])
            self._inside = True
        elif self._inside and tag == "tr":
            self.tables[-1].append([])
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "table":
            self._inside = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None


def read_tables(html: Path) -> list[list[dict[str, str]]]:
    parser = _FsaTable()
    parser.feed(html.read_text(encoding="utf-8"))
    return [[dict(zip(rows[0], r)) for r in rows[1:]] for rows in parser.tables]


def _records(store: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in store.glob("afew-*/*.json")}


def _papermill(env: dict, *output: str) -> subprocess.CompletedProcess:
    # stdin must not be a pipe: papermill would read the notebook from it and overwrite the input.
    return subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / "table6.ipynb"), *output,
                           "-p", "s", "0.2", "--log-level", "WARNING"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, env=env, cwd=REPO)


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flow")
    store = tmp / "results"
    shutil.copytree(REPO / "results", store)
    env = {**os.environ, "FSA_RESULTS": str(store), "FSA_PRESET": "smoke", "FSA_DATA_SIZE": "smoke"}
    before = _records(store)

    piped = _papermill(env)
    assert piped.returncode == 0, f"papermill table6 -p s 0.2 (no output path) failed:\n{piped.stderr[-4000:]}"
    after_first = _records(store)

    written = tmp / "table6-s0.2.ipynb"
    again = _papermill(env, str(written))
    assert again.returncode == 0, f"papermill table6 out.ipynb -p s 0.2 failed:\n{again.stderr[-4000:]}"

    cli = Path(sys.executable).with_name("jupyter-book")
    build = subprocess.run([str(cli), "build", "-W", "--path-output", str(tmp / "book"), str(REPO / "book")],
                           capture_output=True, text=True, timeout=600, env=env)
    assert build.returncode == 0, f"jupyter-book build -W failed:\n{(build.stdout + build.stderr)[-4000:]}"
    return dict(before=before, after_first=after_first, after_second=_records(store), piped=piped,
                written=written, html=tmp / "book" / "_build" / "html" / "notebooks" / "table6.html")


def test_papermill_without_output_path_records_one_run(flow):
    new = set(flow["after_first"]) - set(flow["before"])
    pixels = [p for p in new if p.name.startswith("pixels-")]  # the print of the data's pixels, once
    new -= set(pixels)
    summaries = [p for p in new if p.name.startswith("seeds-")]
    assert len(summaries) == 1 and len(new) == 1 + AFEW_SEEDS, (
        f"expected one seeds summary and its {AFEW_SEEDS} runs, got {sorted(map(str, new))}")
    assert [p for p in flow["after_first"] if p.name.startswith("pixels-")]  # the runs' pixels, kept beside them
    summary = json.loads(flow["after_first"][summaries[0]])
    assert summary["config"]["model"]["s"] == 0.2 and summary["model"] == "ecnn-fsa-2048-fc1-s0.2"  # its knobs' name
    runs = [json.loads(flow["after_first"][p]) for p in new if p not in summaries]
    assert sorted(r["seed"] for r in runs) == summary["seeds_run"] and {r["config"]["model"]["s"] for r in runs} == {0.2}
    executed = json.loads(flow["piped"].stdout)  # the executed notebook went to stdout
    assert executed["metadata"]["papermill"]["parameters"]["s"] == 0.2


def test_a_stored_run_is_read_not_retrained(flow):
    assert flow["after_second"] == flow["after_first"], "the second execution rewrote or added records"
    assert flow["written"].is_file()


def test_next_book_build_shows_the_new_row(flow, monkeypatch):
    tables = read_tables(flow["html"])
    assert len(tables) == 1, f"{flow['html'].name}: expected one comparison table, found {len(tables)}"
    measured = [r for r in tables[0] if r["status"] == "measured"]
    s02 = [r for r in measured if r["profile"] == "smoke"]
    assert len(s02) == 1, f"no measured smoke row in {flow['html']}: {tables[0]}"
    assert s02[0]["paper acc %"] == "49.25" and 0 <= float(s02[0]["ours acc %"]) <= 100
    # The committed runs are still on the page beside it.
    monkeypatch.setenv("FSA_RESULTS", str(REPO / "results"))
    committed = report.comparison(6)
    assert sorted(r["run"] for r in measured if r["profile"] != "smoke") == sorted(
        committed.loc[committed["status"] == "measured", "run"])


def test_next_book_build_draws_the_new_run_on_the_s_curve(flow):
    """The Table 6 page's s curve is drawn when the book is built: the run recorded by papermill is
    one of its points (the caption lists them), beside the committed ECNN-FSA runs."""
    html = flow["html"].read_text(encoding="utf-8")
    assert 'alt="Table 6: accuracy against s"' in html and "_images/sweep-6-s.png" in html
    # named after its knobs: s = 0.2 is the paper's row ecnn-fsa-2048-fc1-s0.2
    assert "s = 0.2 (ecnn-fsa-2048-fc1-s0.2, smoke)" in html, "the new run is not a point of the s curve"
    assert "s = 0.1 (ecnn-fsa, cpu)" in html or "s = 0.1 (ecnn-fsa-2048-fc1-s0.1, cpu)" in html
