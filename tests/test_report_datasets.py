"""fsa.report.datasets: what the dataset page says of a wild AFEW set, on constructed files."""
import json

import pytest

from data_prep.prepare import NO_FACE
from data_prep.synth import KNOBS
from data_prep.synth.conditions import AFEW7, CLASSIC
from fsa import report


def test_set_conditions_reads_the_readme_of_the_set(tmp_path):
    readme = tmp_path / "README.txt"
    readme.write_text("synthetic AFEW\nconditions: afew7 (apex=(0.6, 1.0), yaw=36.0);\nsynth_conditions.csv: ...\n")
    assert report.set_conditions(tmp_path) == AFEW7
    readme.write_text("conditions: afew7-without-pose-talking (apex=(0.6, 1.0));\n")
    assert report.set_conditions(tmp_path) == AFEW7.without("pose", "talking")
    readme.write_text("synthetic AFEW, classic\n")
    assert report.set_conditions(tmp_path) == CLASSIC


def test_knob_table_gives_each_knobs_numbers_and_its_off_values():
    table = report.knob_table(AFEW7)
    assert list(table.index) == list(KNOBS)
    assert table.loc["pose", "afew7"] == "yaw = 36.0; pitch = 12.0; roll = (3.0, 9.0); motion = 1.3"
    assert table.loc["pose", "off"] == "yaw = 0.0; pitch = 0.0; roll = (0.0, 0.0); motion = 0.0"
    assert table.loc["talking", "afew7"] == "talking = 0.15"


def test_visibility_summary_counts_hidden_frames_cuts_and_faceless_clips(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "index.csv").write_text("video_id,subject,label,split,n_frames,source\n"
                                        "t1,A1,happy,train,4,Train/Happy/1.avi\n"
                                        "t2,A2,fear,train,2,Train/Fear/2.avi\n"
                                        "v1,B1,anger,val,2,Val/Angry/1.avi\n")
    rows = ["video_id,frame,shot,yaw,pitch,occluded,missed",
            # t1: in view; missed; occluded and turned -40° (one hidden frame, two reasons); cut to shot 1
            "t1,1,0,0,0,0,0", "t1,2,0,0,0,0,1", "t1,3,0,-40,0,1,0", "t1,4,1,10,0,0,0",
            "t2,1,0,31,0,0,0", "t2,2,0,30,0,0,0",  # turned away past 30°, then at 30° (in view)
            "v1,1,0,0,0,0,0", "v1,2,0,0,0,0,0"]
    (tmp_path / "conditions.csv").write_text("\n".join(rows) + "\n")
    failed = [{"video_id": "t9", "source": "Train/Sad/9.avi", "problem": NO_FACE, "reason": "no face"},
              {"video_id": "v9", "source": "Val/Sad/9.avi", "problem": "unreadable", "reason": "unreadable"}]
    (tmp_path / "prep_report.json").write_text(json.dumps({"failed": failed}))
    df = report.visibility_summary(tmp_path)
    train, val = df.loc["train"], df.loc["val"]
    assert (train["clips"], train["left out: no face"], train["frames"]) == (2, 1, 6)
    assert train["missed %"] == pytest.approx(100 / 6, abs=0.05)
    assert train["occluded %"] == pytest.approx(100 / 6, abs=0.05)
    assert train["turned away %"] == pytest.approx(200 / 6, abs=0.05)
    assert train["hidden %"] == pytest.approx(300 / 6, abs=0.05)
    assert train["clips with a cut %"] == 50.0
    assert (val["clips"], val["left out: no face"], val["hidden %"], val["clips with a cut %"]) == (2 - 1, 0, 0.0, 0.0)
