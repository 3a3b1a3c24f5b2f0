"""The embedded dataset: made on first use, reused while the generator that made it is the current
one, set aside and made afresh when its README names another generator (or none)."""
from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from data_prep import prepare, synth
from data_prep.prepare import NO_FACE
from data_prep.video import DataError
from fsa.config import ConfigError
from fsa.embedded import embedded_dataset, faceless_clips

OLD = "0123456789ab"


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FSA_DATA", str(tmp_path))
    return tmp_path


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def name_generator(raw: Path, line: str | None) -> None:
    """Rewrite the README's generator line as an older generator would have written it (``None``:
    no line at all, as before the line existed)."""
    text = (raw / "README.txt").read_text()
    (raw / "README.txt").write_text(re.sub(r"^generator: \w+\n", "" if line is None else line + "\n", text,
                                           flags=re.MULTILINE))


def test_still_set_reused_while_current_and_made_afresh_when_not(data_root, capsys):
    raw = embedded_dataset("fer2013", "smoke", jobs=1)
    base = data_root / "fer2013-smoke"
    assert raw == base / "raw" and synth.readme_fingerprint(raw) == synth.generator_fingerprint()
    before = stamp(raw / "fer2013.csv")
    capsys.readouterr()

    assert embedded_dataset("fer2013", "smoke", jobs=1) == raw
    assert stamp(raw / "fer2013.csv") == before  # reused untouched
    assert capsys.readouterr().err == ""
    assert sorted(p.name for p in data_root.iterdir()) == [base.name, f"{base.name}.lock"]  # nothing set aside

    name_generator(raw, f"generator: {OLD}")
    assert embedded_dataset("fer2013", "smoke", jobs=1) == raw
    stale = data_root / f"fer2013-smoke.stale-{OLD}"
    assert synth.readme_fingerprint(stale / "raw") == OLD and stamp(stale / "raw" / "fer2013.csv") == before
    assert synth.readme_fingerprint(raw) == synth.generator_fingerprint()
    assert stamp(raw / "fer2013.csv") != before
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(base) in err[0] and OLD in err[0] and synth.generator_fingerprint() in err[0]


def test_set_without_fingerprint_is_made_afresh_replacing_an_older_stale_copy(data_root, capsys):
    raw = embedded_dataset("fer2013", "smoke", jobs=1)
    older = data_root / "fer2013-smoke.stale-none"
    older.mkdir()
    (older / "older.txt").write_text("an older stale copy")
    name_generator(raw, None)
    assert synth.readme_fingerprint(raw) is None

    assert embedded_dataset("fer2013", "smoke", jobs=1) == raw
    assert synth.readme_fingerprint(raw) == synth.generator_fingerprint()
    assert sorted(p.name for p in older.iterdir()) == ["raw"] and synth.readme_fingerprint(older / "raw") is None
    assert "(no fingerprint)" in capsys.readouterr().err


def fake_raw(raw: Path, fingerprint: str) -> None:
    """A generated video set's sidecar and README (their other contents do not matter here)."""
    raw.mkdir(parents=True)
    (raw / "synth_meta.csv").write_text("video_id\n")
    (raw / "README.txt").write_text(f"SYNTHETIC DATA\ngenerator: {fingerprint}\n")


@pytest.mark.parametrize("current", [True, False])
def test_prepared_video_set_reused_only_when_current(current, data_root, monkeypatch):
    calls = []

    def generate(layout, out, **kw):
        calls.append("generate")
        fake_raw(Path(out), synth.generator_fingerprint())

    def prepare_(layout, raw, out, **kw):
        calls.append("prepare")
        Path(out).mkdir()
        (Path(out) / "index.csv").write_text("video_id\nnew\n")

    monkeypatch.setattr(synth, "generate", generate)
    monkeypatch.setattr(prepare, "prepare", prepare_)
    base = data_root / "ckplus-smoke"
    fake_raw(base / "raw", synth.generator_fingerprint() if current else OLD)
    (base / "prepared").mkdir()
    (base / "prepared" / "index.csv").write_text("video_id\nold\n")
    before = stamp(base / "prepared" / "index.csv")

    assert embedded_dataset("ckplus", "smoke") == base / "prepared"
    if current:
        assert calls == [] and stamp(base / "prepared" / "index.csv") == before
        assert not list(data_root.glob("*.stale-*"))
    else:
        assert calls == ["generate", "prepare"]
        assert (base / "prepared" / "index.csv").read_text() == "video_id\nnew\n"
        assert stamp(data_root / f"ckplus-smoke.stale-{OLD}" / "prepared" / "index.csv") == before


def test_a_prepared_set_with_failed_videos_is_an_error_naming_its_report(data_root):
    base = data_root / "ckplus-smoke"
    fake_raw(base / "raw", synth.generator_fingerprint())
    (base / "prepared").mkdir()
    (base / "prepared" / "index.csv").write_text("video_id\nS1_001\n")
    report = {"videos": {"failed": 1}, "failed": [{"video_id": "S1_002", "reason": "S1/002: file not found"}]}
    (base / "prepared" / "prep_report.json").write_text(json.dumps(report))
    with pytest.raises(DataError, match=r"prep_report\.json: 1 of the embedded videos failed.*S1_002: S1/002: file "
                                        r"not found.*delete .*ckplus-smoke"):
        embedded_dataset("ckplus", "smoke")
    (base / "prepared" / "prep_report.json").write_text(json.dumps({"videos": {"failed": 0}, "failed": []}))
    assert embedded_dataset("ckplus", "smoke") == base / "prepared"
    assert faceless_clips(base / "prepared") == []


def test_a_clip_without_a_face_is_a_counted_skip_of_an_embedded_set(data_root):
    """A wild clip whose every frame hides the face is left out and counted; a failure of any other
    kind next to it still refuses the set."""
    base = data_root / "afew-smoke"
    fake_raw(base / "raw", synth.generator_fingerprint())
    (base / "prepared").mkdir()
    (base / "prepared" / "index.csv").write_text("video_id\ntrain_1\n")
    faceless = {"video_id": "train_2", "problem": NO_FACE, "reason": "Train/Angry/2.avi: no face in 30 frames"}
    report = {"videos": {"failed": 1}, "failed": [faceless]}
    (base / "prepared" / "prep_report.json").write_text(json.dumps(report))
    assert embedded_dataset("afew", "smoke") == base / "prepared"
    assert faceless_clips(base / "prepared") == ["train_2"]
    broken = {"video_id": "val_3", "problem": "unreadable", "reason": "Val/Happy/3.avi: unreadable"}
    (base / "prepared" / "prep_report.json").write_text(json.dumps({**report, "failed": [faceless, broken]}))
    with pytest.raises(DataError, match=r"1 of the embedded videos failed.*val_3: Val/Happy/3.avi: unreadable"):
        embedded_dataset("afew", "smoke")


def test_two_makers_of_one_embedded_set_take_turns(data_root, monkeypatch):
    """The second caller waits while the first generates, then finds the set made: one generation."""
    started, calls = threading.Event(), []

    def generate(layout, out, **kw):
        calls.append("generate")
        started.set()
        time.sleep(0.5)  # the second caller arrives while this one is still writing
        fake_raw(Path(out), synth.generator_fingerprint())

    monkeypatch.setattr(synth, "generate", generate)
    first = threading.Thread(target=embedded_dataset, args=("fer2013", "smoke"))
    first.start()
    assert started.wait(10)
    assert embedded_dataset("fer2013", "smoke") == data_root / "fer2013-smoke" / "raw"
    first.join()
    assert calls == ["generate"]


def test_a_still_set_under_wild_conditions_is_made_in_a_folder_of_its_own(data_root):
    from data_prep.stills import read_stills

    classic = embedded_dataset("fer2013", "smoke", jobs=1)
    wild = embedded_dataset("fer2013", "smoke", jobs=1, conditions="afew7")
    assert wild == data_root / "fer2013-smoke-afew7" / "raw" and classic == data_root / "fer2013-smoke" / "raw"
    assert embedded_dataset("fer2013", "smoke", jobs=1, conditions="classic") == classic  # the default: same folder
    assert "conditions: afew7" in (wild / "README.txt").read_text()
    assert "conditions: afew7" not in (classic / "README.txt").read_text()
    a, b = read_stills("fer2013", classic), read_stills("fer2013", wild)
    assert b.conditions == "afew7" and a.conditions is None
    assert a.data_hash() != b.data_hash()  # the same plan, told apart by its conditions
    assert not (a.pixels == b.pixels).all()


@pytest.mark.parametrize("layout, name, problem", [("ckplus", "afew7", "made under classic only"),
                                                   ("afew", "classic", "made under afew7 only"),
                                                   ("sfew", "lab", "expected one of classic, afew7")])
def test_conditions_a_set_cannot_be_made_under_are_refused_before_any_work(data_root, layout, name, problem):
    with pytest.raises(ConfigError, match=problem):
        embedded_dataset(layout, "smoke", conditions=name)
    assert list(data_root.iterdir()) == []
