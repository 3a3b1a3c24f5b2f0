"""``fsa paper`` end to end on the embedded smoke sets, written in the real raw layouts (CK+, FER2013,
SFEW): its plan, then prep → still-image stage (FER2013 → SFEW) → Table 5's runs → the book, and a
second call that finds everything in the store."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fsa.cli import main
from fsa.embedded import embedded_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw_sets():
    return {layout: embedded_dataset(layout, "smoke").parent / "raw" if layout == "ckplus"
            else embedded_dataset(layout, "smoke") for layout in ("ckplus", "fer2013", "sfew")}


def paper(raw_sets, work: Path, *extra: str, only: str = "table5") -> subprocess.CompletedProcess:
    argv = ["--ckplus", str(raw_sets["ckplus"]), "--fer2013", str(raw_sets["fer2013"]), "--sfew",
            str(raw_sets["sfew"]), "--preset", "smoke", "--work", str(work), "--only", only, *extra]
    return subprocess.run([sys.executable, "-m", "fsa", "paper", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=1200)


def plan_lines(out: str) -> dict[str, str]:
    """``{"<stage> <what>": "<state>"}`` of the plan's lines."""
    found = (re.fullmatch(r"(prep|stills|tables|book)\s+(.*?)\s+(done \(in the store\)|to run.*|the run of \w+)", line)
             for line in out.splitlines())
    return {f"{m[1]} {m[2]}": m[3] for m in found if m}


@pytest.mark.slow
def test_paper_plans_then_runs_the_whole_chain_and_resumes_from_the_store(raw_sets, tmp_path):
    work = tmp_path / "paper"
    planned = paper(raw_sets, work, "--plan")
    assert planned.returncode == 0, planned.stderr
    lines = plan_lines(planned.stdout)
    assert lines[f"prep ckplus: {raw_sets['ckplus']} -> {work / 'prepared' / 'ckplus'}"] == "to run"
    assert lines["tables table5: ecnn-fsa (once ckplus is prepared)"].startswith("to run, about")
    assert not (work / "prepared").exists() and not (work / "results").exists()  # a plan does nothing

    done = paper(raw_sets, work)
    assert done.returncode == 0, done.stderr[-3000:]
    store = work / "results"
    [summary] = [json.loads(p.read_text()) for p in store.glob("ckplus-*/folds-*.json")]
    experiment, still = summary["config"]["pretrained"][len("store:"):].split("/")
    assert experiment.startswith("stills-sfew-") and summary["folds_run"] == [0, 1, 2, 3, 4]
    sfew = json.loads((store / experiment / f"{still}.json").read_text())
    assert sfew["config"]["pretrained"].startswith("store:stills-fer2013-")  # VGG-Face -> FER2013 -> SFEW -> video
    assert (work / "book" / "_build" / "html" / "notebooks" / "table5.html").is_file()
    page = json.loads((work / "book" / "notebooks" / "table5.ipynb").read_text())
    [injected] = [c for c in page["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert f'data = "{work / "prepared" / "ckplus"}"' in "".join(injected["source"])

    again = paper(raw_sets, work, "--plan")
    lines = plan_lines(again.stdout)
    assert lines["tables table5: ecnn-fsa (5 folds)"] == "done (in the store)"
    assert sum(v == "done (in the store)" for k, v in lines.items() if k.startswith("stills")) == 2


def test_paper_refuses_what_it_cannot_run(tmp_path, capsys):
    assert main(["paper", "--fer2013", str(tmp_path), "--only", "table5", "--work", str(tmp_path)]) == 2
    assert "--ckplus: the tables asked for (table5) need it" in capsys.readouterr().err
    assert main(["paper", "--ckplus", str(tmp_path / "nothing"), "--fer2013", str(tmp_path)]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["paper", "--ckplus", str(tmp_path), "--only", "table5"]) == 2
    assert "the still-image stage needs at least one of them" in capsys.readouterr().err


def test_a_run_two_pages_show_is_planned_once(raw_sets, tmp_path):
    planned = paper(raw_sets, tmp_path / "paper", "--plan", only="table4,table5,attention")
    assert planned.returncode == 0, planned.stderr
    lines = plan_lines(planned.stdout)
    assert lines["tables table4: ecnn-fsa (once ckplus is prepared)"].startswith("to run, about")
    for page in ("table5", "attention"):
        assert lines[f"tables {page}: ecnn-fsa (once ckplus is prepared)"] == "the run of table4"
