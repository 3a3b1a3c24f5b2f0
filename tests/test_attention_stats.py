"""fsa.attention_stats: the per-class tables behind the attention page, on constructed records."""
import numpy as np
import pandas as pd
import pytest

from fsa import attention_stats as st
from fsa.config import CLASSES_7, CLASSES_CK7, ConfigError
from fsa.data import DataError

T_975_2 = 4.302653  # Student t, 97.5 % quantile, 2 degrees of freedom


def clip(clip_id: str, label: str, attention: list[float], frames: list[int] | None = None) -> dict:
    return {"clip_id": clip_id, "video_id": clip_id, "label": label, "pred": label, "attention": attention,
            "frame_indices": frames if frames is not None else list(range(len(attention)))}


def write_intensity(root, videos: dict[str, list[float]]) -> None:
    rows = ["video_id,frame,intensity"]
    rows += [f"{v},{k + 1},{x}" for v, values in videos.items() for k, x in enumerate(values)]
    (root / "intensity.csv").write_text("\n".join(rows) + "\n")


def test_profile_rows_per_clip_and_position_with_the_true_intensity(tmp_path):
    write_intensity(tmp_path, {"a": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], "b": [0.0, 0.0, 0.5, 1.0]})
    runs = [{"config_hash": "r0", "per_clip": [clip("a", "happy", [0.1, 0.3, 0.6], frames=[0, 2, 5])]},
            {"config_hash": "r1", "per_clip": [clip("b", "anger", [0.2, 0.2, 0.6], frames=[0, 2, 3])]}]
    df = st.attention_profile(runs, tmp_path)
    assert df["run"].tolist() == ["r0"] * 3 + ["r1"] * 3
    assert df["position"].tolist() == [1, 2, 3, 1, 2, 3] and set(df["n"]) == {3}
    assert df["attention"].tolist() == pytest.approx([0.1, 0.3, 0.6, 0.2, 0.2, 0.6])
    assert df["intensity"].tolist() == pytest.approx([0.0, 0.4, 1.0, 0.0, 0.5, 1.0])  # frames 0, 2, 5 and 0, 2, 3
    real = st.attention_profile(runs)  # real data: no sidecar, the profile alone
    assert real["intensity"].isna().all() and real["attention"].tolist() == df["attention"].tolist()


def test_profile_summary_means_and_t_intervals_by_hand():
    runs = [{"config_hash": "r", "per_clip": [
        clip("h1", "happy", [0.3, 0.7]), clip("h2", "happy", [0.4, 0.6]), clip("h3", "happy", [0.5, 0.5]),
        clip("s1", "surprise", [0.5, 0.5]), clip("a1", "anger", [0.4, 0.6])]}]
    summary = st.profile_summary(st.attention_profile(runs))
    assert summary["class"].tolist() == ["anger", "anger", "happy", "happy", "surprise", "surprise"]  # paper order
    happy = summary[summary["class"] == "happy"].set_index("position")
    half = T_975_2 * 0.1 / np.sqrt(3)  # values 0.3 0.4 0.5: sample std 0.1
    assert happy.loc[1, ["attention", "low", "high"]].tolist() == pytest.approx([0.4, 0.4 - half, 0.4 + half])
    assert happy.loc[2, ["attention", "low", "high"]].tolist() == pytest.approx([0.6, 0.6 - half, 0.6 + half])
    assert (happy["clips"] == 3).all() and (summary["uniform"] == 0.5).all()
    one = summary[summary["class"] == "anger"]
    assert one["attention"].tolist() == pytest.approx([0.4, 0.6]) and one[["low", "high"]].isna().all().all()
    assert summary["intensity"].isna().all()


def test_profile_rejects_what_it_cannot_lay_out(tmp_path):
    with pytest.raises(ConfigError, match="different n"):
        st.attention_profile([{"per_clip": [clip("a", "happy", [0.5, 0.5]), clip("b", "happy", [0.2, 0.3, 0.5])]}])
    with pytest.raises(ConfigError, match="run r9: clip a has no attention"):
        st.attention_profile([{"config_hash": "r9", "per_clip": [{**clip("a", "happy", [1.0]), "attention": None}]}])
    with pytest.raises(DataError, match="2 attention weights for 3 sampled frames"):
        st.attention_profile([{"per_clip": [clip("a", "happy", [0.5, 0.5], frames=[0, 1, 2])]}])
    write_intensity(tmp_path, {"other": [0.0, 1.0]})
    with pytest.raises(DataError, match="intensity.csv: no rows for video 'a'"):
        st.attention_profile([{"per_clip": [clip("a", "happy", [0.5, 0.5])]}], tmp_path)


def test_spearman_by_class_by_hand():
    clips = pd.DataFrame({
        "clip": ["h1", "h2", "h3", "h4", "n1"], "label": ["happy"] * 4 + ["neutral"],
        "spearman": [1.0, 0.0, -0.5, 0.8, -1.0], "top_is_apex": [True, False, False, True, False],
        "chance_top_is_apex": [0.2, 0.2, 0.4, 0.2, 0.5]})
    df = st.spearman_by_class(clips).set_index("class")
    assert list(df.index) == ["happy", "neutral", "all"]
    happy = df.loc["happy"]
    assert happy["clips"] == 4 and happy["mean ρ"] == pytest.approx(0.325, abs=1e-3)
    # sorted -0.5 0 0.8 1.0: median 0.4; linear quartiles at ranks 0.75 and 2.25
    assert happy["median ρ"] == pytest.approx(0.4)
    assert happy["q25 ρ"] == pytest.approx(-0.5 + 0.75 * 0.5, abs=1e-3)
    assert happy["q75 ρ"] == pytest.approx(0.8 + 0.25 * 0.2, abs=1e-3)
    assert happy["share ρ > 0"] == pytest.approx(0.5) and happy["top is apex"] == pytest.approx(0.5)  # 0 is not > 0
    assert happy["chance top is apex"] == pytest.approx(0.25)
    assert df.loc["all", "clips"] == 5 and df.loc["all", "mean ρ"] == pytest.approx(0.06)
    with pytest.raises(ConfigError, match="no clip"):
        st.spearman_by_class(clips.iloc[:0])


def test_visibility_by_class_by_hand():
    clips = pd.DataFrame({"clip": ["f1", "f2", "f3", "s1"], "label": ["fear"] * 3 + ["sadness"],
                          "hidden_share": [0.4, 0.2, 0.6, 0.5], "hidden_attention": [0.1, 0.2, 0.3, 0.9],
                          "top_is_hidden": [False, False, True, True]})
    df = st.visibility_by_class(clips).set_index("class")
    assert list(df.index) == ["fear", "sadness", "all"]
    fear = df.loc["fear"]
    # differences -0.3, 0, -0.3: mean -0.2, sample std sqrt(0.03); the interval is not clipped to [0, 1]
    half = T_975_2 * np.sqrt(0.03) / np.sqrt(3)
    assert fear["difference"] == pytest.approx(-0.2) and fear["low"] == pytest.approx(-0.2 - half, abs=1e-3)
    assert fear["high"] == pytest.approx(-0.2 + half, abs=1e-3)
    assert fear["hidden share"] == pytest.approx(0.4) and fear["attention on hidden"] == pytest.approx(0.2)
    assert fear["top is hidden"] == pytest.approx(1 / 3, abs=1e-3) and fear["chance top is hidden"] == pytest.approx(0.4)
    assert np.isnan(df.loc["sadness", "low"]) and df.loc["all", "clips"] == 4
    assert df.loc["all", "difference"] == pytest.approx((-0.3 + 0 - 0.3 + 0.4) / 4)
    with pytest.raises(ConfigError, match="no clip"):
        st.visibility_by_class(clips.iloc[:0])


def test_class_order_is_the_papers_and_ck_plus_sevens():
    assert st.class_order([*reversed(CLASSES_7), "happy"]) == list(CLASSES_7)
    assert st.class_order(list(reversed(CLASSES_CK7))) == list(CLASSES_CK7)
