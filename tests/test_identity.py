"""The identity rule (fsa.identity): a prepared set is keyed by its index; its pixels are digested
and sampled beside it, and a difference is reported in numbers, never taken for other data."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from fsa.data import index_hash
from fsa.identity import SAMPLE_PER_IMAGE, PixelPrint, clip_pixels, compare
from fsa.results import pixel_prints, record_pixels


def write_prepared(root, frames: dict[str, list[np.ndarray]]):
    rows = ["video_id,subject,label,split,n_frames,source"]
    for vid, imgs in frames.items():
        (root / "frames" / vid).mkdir(parents=True)
        for k, img in enumerate(imgs, 1):
            cv2.imwrite(str(root / "frames" / vid / f"{k:05d}.jpg"), img)
        rows.append(f"{vid},S1,happy,,{len(imgs)},{vid}.avi")
    (root / "index.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture
def prepared(tmp_path):
    rng = np.random.default_rng(0)
    return write_prepared(tmp_path / "a", {f"v{i}": [rng.integers(0, 256, (24, 24, 3), np.uint8) for _ in range(3)]
                                           for i in range(2)})


def test_the_pixel_digest_follows_the_pixels_and_the_key_does_not(prepared, tmp_path):
    base = clip_pixels(prepared)
    copy = shutil.copytree(prepared, tmp_path / "copy")
    assert clip_pixels(copy) == base  # where the set lies is not what it is
    cv2.imwrite(str(copy / "frames" / "v1" / "00002.jpg"), np.zeros((24, 24, 3), np.uint8))
    changed = clip_pixels(copy)
    assert index_hash(copy) == index_hash(prepared) and changed.digest != base.digest
    assert base.images == 6 and len(base.sample) == 6 * SAMPLE_PER_IMAGE
    first = cv2.imread(str(prepared / "frames" / "v0" / "00001.jpg"), cv2.IMREAD_UNCHANGED).reshape(-1)
    where = np.random.default_rng(0).integers(0, first.size, SAMPLE_PER_IMAGE)
    assert base.sample[:SAMPLE_PER_IMAGE] == first[where].tobytes()


def test_compare_counts_the_sampled_pixels_that_differ_and_by_how_much():
    published = PixelPrint("aaaaaaaaaaaa", 2, bytes([10, 20, 30, 40, 50, 60, 70, 80]))
    assert "are those of the published runs" in compare(published, published)
    local = PixelPrint("bbbbbbbbbbbb", 2, bytes([10, 21, 30, 40, 47, 60, 70, 80]))
    said = compare(local, published)
    assert "digest aaaaaaaaaaaa, here bbbbbbbbbbbb" in said
    assert "25.0 % of 8 sampled pixels differ, by at most 3 grey levels" in said
    other = PixelPrint("cccccccccccc", 3, bytes(12))
    assert "cannot be compared" in compare(other, published)


def test_an_experiment_keeps_one_pixel_print_per_digest(prepared, tmp_path):
    pixels = clip_pixels(prepared)
    path = record_pixels("ckplus-x", pixels, "cpu", tmp_path / "store")
    again = record_pixels("ckplus-x", pixels, "cpu", tmp_path / "store")
    assert path == again and path.name == f"pixels-{pixels.digest}.json"
    assert pixel_prints("ckplus-x", tmp_path / "store") == {pixels.digest: pixels}


def test_a_sets_pixel_print_is_kept_beside_it_until_a_frame_changes(prepared, monkeypatch):
    """The print is decoded once and kept in the set's PRINT_FILE: a new process reads it without
    decoding a frame; a frame written since is decoded again, and the new print replaces the kept one."""
    import fsa.identity as identity

    base = clip_pixels(prepared)
    assert (prepared / identity.PRINT_FILE).is_file()
    identity._clip_print.cache_clear()  # as in a new process

    def no_decoding(path):
        raise AssertionError(f"{path} decoded again")

    with monkeypatch.context() as m:
        m.setattr(identity, "_decode", no_decoding)
        assert clip_pixels(prepared) == base
    identity._clip_print.cache_clear()
    frame = prepared / "frames" / "v0" / "00003.jpg"
    cv2.imwrite(str(frame), np.zeros((24, 24, 3), np.uint8))
    changed = clip_pixels(prepared)
    assert changed.digest != base.digest
    identity._clip_print.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(identity, "_decode", no_decoding)
        assert clip_pixels(prepared) == changed
