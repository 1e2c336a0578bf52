"""Dataset loaders on small real inputs (OMOMO and BVH mocap clips) and on malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from motionvla_model.motion import registry_data
from motionvla_model.motion.features import features_to_joints, joints_to_features
from motionvla_model.motion.human_clips import load_omomo
from motionvla_model.motion.resample import resample
from training.data import (
    BvhFolderDataset,
    CaptionFormatError,
    DatasetNotFoundError,
    HumanML3DDataset,
    IndexFormatError,
    JsonlMotionDataset,
    MissingItemError,
    MotionFileError,
    MotionSample,
    MotionShapeError,
    write_jsonl_index,
)
from training.data.humanml3d import parse_caption_line


@pytest.fixture(scope="module")
def real_joints() -> np.ndarray:
    """A real OMOMO clip at 20 fps (person carrying a box), 150 frames."""
    clip = load_omomo("omomo/sub3_largebox_003")
    return resample(clip.joints, clip.fps, 20.0)[:150].astype(np.float32)


def _write_humanml3d(root: Path, joints: np.ndarray) -> dict[str, np.ndarray]:
    """A HumanML3D-shaped folder built from real features: three clips, train/val/test."""
    clips = {"000001": joints[:120], "000002": joints[30:150], "M000001": joints[:60]}
    for folder in ("new_joint_vecs", "new_joints", "texts"):
        (root / folder).mkdir(parents=True)
    features = {}
    for clip_id, clip in clips.items():
        features[clip_id] = joints_to_features(clip, 20.0)
        np.save(root / "new_joint_vecs" / f"{clip_id}.npy", features[clip_id])
        np.save(root / "new_joints" / f"{clip_id}.npy", features_to_joints(features[clip_id]))
    (root / "texts" / "000001.txt").write_text(
        "a person lifts a box.#a/DET person/NOUN lift/VERB a/DET box/NOUN#0.0#0.0\n"
        "someone picks something up#someone/PRON pick/VERB#1.0#3.5\n"
        "the person bends down#the/DET person/NOUN bend/VERB#nan#nan\n"
    )
    (root / "texts" / "000002.txt").write_text("a man carries a box#a/DET man/NOUN#0.0#0.0\n")
    (root / "texts" / "M000001.txt").write_text("a person lifts a box.#a/DET#0.0#0.0\n")
    (root / "train.txt").write_text("000001\n000002\n")
    (root / "val.txt").write_text("M000001\n")
    (root / "test.txt").write_text("000002\n")
    return features


def test_humanml3d_loads_captions_crops_and_both_representations(tmp_path, real_joints):
    features = _write_humanml3d(tmp_path, real_joints)
    dataset = HumanML3DDataset(tmp_path, "train", representation="both")
    samples = dataset.load()
    assert [s.id for s in samples] == ["000001#0", "000001#1", "000001#2", "000002#0"]
    whole, crop, nan_crop, other = samples
    np.testing.assert_array_equal(whole.features, features["000001"])
    # 1.0 s to 3.5 s at 20 fps: frames [20, 70).
    np.testing.assert_array_equal(crop.features, features["000001"][20:70])
    assert crop.joints.shape == (50, 22, 3) and crop.meta["frames"] == [20, 70]
    assert crop.meta["tokens"] == ["someone/PRON", "pick/VERB"]
    assert nan_crop.features.shape[0] == features["000001"].shape[0]
    assert other.text == "a man carries a box" and other.layout == "humanml3d"
    assert dataset.report.loaded == 4 and dataset.report.skipped == 0
    assert len(HumanML3DDataset(tmp_path, "all").load()) == 6


def test_humanml3d_skips_bad_items_with_reasons_and_strict_raises(tmp_path, real_joints):
    _write_humanml3d(tmp_path, real_joints)
    (tmp_path / "texts" / "000002.txt").write_text(
        "only three#fields#0.0\n"  # malformed
        "too short a crop#x#0.0#1.0\n"  # 20 frames < min_frames 40
        "fine#x#0.0#0.0\n"
    )
    np.save(tmp_path / "new_joint_vecs" / "000003.npy", np.zeros((80, 250), np.float32))
    (tmp_path / "texts" / "000003.txt").write_text("wrong width#x#0.0#0.0\n")
    (tmp_path / "train.txt").write_text("000001\n000002\n000003\n000404\n")
    dataset = HumanML3DDataset(tmp_path, "train")
    samples = dataset.load()
    assert [s.id for s in samples] == ["000001#0", "000001#1", "000001#2", "000002#2"]
    report = dataset.report
    assert report.loaded == 4 and report.skipped == 4
    reasons = " | ".join(report.reasons)
    for expected in ("CaptionFormatError", "clip length out of range", "width 250", "missing"):
        assert expected in reasons
    assert "000404" in str(report) and "skipped 4" in str(report)
    with pytest.raises(CaptionFormatError, match="4 '#'-separated"):
        HumanML3DDataset(tmp_path, "train", strict=True).load()


def test_humanml3d_missing_folders_and_splits_raise(tmp_path, real_joints):
    with pytest.raises(DatasetNotFoundError, match="not a directory"):
        HumanML3DDataset(tmp_path / "nope")
    _write_humanml3d(tmp_path, real_joints)
    with pytest.raises(DatasetNotFoundError, match="split file"):
        HumanML3DDataset(tmp_path, "holdout")
    (tmp_path / "train.txt").write_text("000001\n000404\n")
    with pytest.raises(MissingItemError, match="000404"):
        HumanML3DDataset(tmp_path, "train", strict=True).load()
    with pytest.raises(ValueError, match="representation"):
        HumanML3DDataset(tmp_path, representation="smpl")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("caption#tokens#zero#1.0", "not numbers"),
        ("#tokens#0.0#0.0", "empty caption"),
        ("walk#t#2.0#1.0", "bad crop"),
    ],
)
def test_caption_line_errors(line, match):
    with pytest.raises(CaptionFormatError, match=match):
        parse_caption_line(line)


def _motion_files(root: Path, real_joints: np.ndarray) -> None:
    (root / "motions").mkdir()
    np.save(root / "motions" / "a.npy", joints_to_features(real_joints[:60]))
    np.save(root / "motions" / "b.npy", real_joints[60:120])
    np.save(root / "motions" / "bad.npy", np.zeros((30, 21, 3), np.float32))
    (root / "images").mkdir()
    (root / "images" / "a.png").write_bytes(b"\x89PNG")


def test_jsonl_index_reads_features_joints_and_caption_lists(tmp_path, real_joints):
    _motion_files(tmp_path, real_joints)
    entries = [
        {"id": "a", "text": "a person bends", "motion_path": "motions/a.npy",
         "image_path": "images/a.png", "params": {"kind": "demo"}},
        {"id": "b", "text": ["carry a box", "walk with a box"], "motion_path": "motions/b.npy",
         "fps": 20},
    ]  # fmt: skip
    write_jsonl_index(tmp_path / "index.jsonl", entries)
    samples = JsonlMotionDataset(tmp_path / "index.jsonl").load()
    assert [s.id for s in samples] == ["a", "b#0", "b#1"]
    assert samples[0].features.shape == (59, 263) and samples[0].joints is None
    assert samples[0].image_path == tmp_path / "images" / "a.png"
    assert samples[0].meta["params"] == {"kind": "demo"}
    assert samples[1].joints.shape == (60, 22, 3) and samples[2].text == "walk with a box"
    # The same entries as a JSON list load identically.
    (tmp_path / "index.json").write_text(json.dumps({"samples": entries}))
    assert [s.id for s in JsonlMotionDataset(tmp_path / "index.json")] == ["a", "b#0", "b#1"]


def test_jsonl_index_problems_are_typed_and_reported(tmp_path, real_joints):
    _motion_files(tmp_path, real_joints)
    entries = [
        {"id": "a", "text": "fine", "motion_path": "motions/a.npy"},
        {"id": "a", "text": "duplicate id", "motion_path": "motions/a.npy"},
        {"id": "c", "motion_path": "motions/a.npy"},
        {"id": "d", "text": "no file", "motion_path": "motions/missing.npy"},
        {"id": "e", "text": "21 joints", "motion_path": "motions/bad.npy"},
        {"id": "f", "text": "no image", "motion_path": "motions/b.npy", "image_path": "x.png"},
    ]
    write_jsonl_index(tmp_path / "index.jsonl", entries)
    dataset = JsonlMotionDataset(tmp_path / "index.jsonl")
    assert [s.id for s in dataset.load()] == ["a"]
    assert dataset.report.skipped == 5
    kinds = {reason.split(":")[0] for reason in dataset.report.reasons}
    assert kinds == {"IndexFormatError", "MissingItemError", "MotionShapeError"}
    with pytest.raises(IndexFormatError, match="duplicate id"):
        JsonlMotionDataset(tmp_path / "index.jsonl", strict=True).load()
    (tmp_path / "broken.jsonl").write_text('{"id": "a"\n')
    with pytest.raises(IndexFormatError, match="invalid JSON"):
        JsonlMotionDataset(tmp_path / "broken.jsonl")
    with pytest.raises(DatasetNotFoundError):
        JsonlMotionDataset(tmp_path / "absent.jsonl")
    write_jsonl_index(tmp_path / "noimg.jsonl", entries[:1])
    with pytest.raises(MissingItemError, match="images are required"):
        JsonlMotionDataset(tmp_path / "noimg.jsonl", require_images=True, strict=True).load()


def test_motion_sample_validates_its_arrays():
    with pytest.raises(MotionShapeError, match="width 100"):
        MotionSample("x", "text", 20.0, features=np.zeros((10, 100)))
    with pytest.raises(MotionShapeError, match="NaN"):
        MotionSample("x", "text", 20.0, joints=np.full((10, 22, 3), np.nan))
    with pytest.raises(CaptionFormatError):
        MotionSample("x", "  ", 20.0, joints=np.zeros((10, 22, 3)))
    with pytest.raises(ValueError, match="needs features"):
        MotionSample("x", "text", 20.0)


def _small_bvh(path: Path, frames: int) -> None:
    """The first ``frames`` frames of a real LAFAN1-style BVH take."""
    lines = registry_data.fetch("bvh/test").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Frames:"))
    lines[start] = f"Frames: {frames}"
    path.write_text("\n".join(lines[: start + 2 + frames]) + "\n")


def test_bvh_folder_with_jsonl_and_csv_captions(tmp_path):
    _small_bvh(tmp_path / "walk.bvh", 90)  # 3 s at 30 fps
    (tmp_path / "sub").mkdir()
    _small_bvh(tmp_path / "sub" / "uncaptioned.bvh", 30)
    (tmp_path / "captions.jsonl").write_text(
        '{"file": "walk.bvh", "text": ["a person walks", "someone strolls"]}\n'
        '{"file": "walk.bvh", "text": "first second", "start_s": 0, "end_s": 1.0}\n'
        '{"file": "gone.bvh", "text": "missing file"}\n'
        '{"file": "walk.bvh"}\n'
    )
    dataset = BvhFolderDataset(tmp_path, compute_features=True)
    samples = dataset.load()
    assert [s.text for s in samples] == ["a person walks", "someone strolls", "first second"]
    assert samples[0].fps == 20.0 and samples[0].joints.shape == (60, 22, 3)
    assert samples[0].features.shape == (59, 263)
    assert samples[2].joints.shape[0] == 21  # 0 s .. 1 s inclusive at 20 fps
    reasons = " | ".join(dataset.report.reasons)
    assert "has no caption" in reasons and "does not exist" in reasons and "text" in reasons
    assert dataset.report.skipped == 3
    (tmp_path / "captions.jsonl").unlink()
    (tmp_path / "captions.csv").write_text("file,text,start_s,end_s\nwalk.bvh,a walk,,\n")
    assert [s.text for s in BvhFolderDataset(tmp_path)] == ["a walk"]


def test_bvh_folder_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no captions file"):
        BvhFolderDataset(tmp_path)
    (tmp_path / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{\n")
    (tmp_path / "captions.csv").write_text("file,caption\nbroken.bvh,x\n")
    with pytest.raises(IndexFormatError, match="file,text"):
        BvhFolderDataset(tmp_path)
    (tmp_path / "captions.csv").write_text("file,text\nbroken.bvh,x\n")
    with pytest.raises(MotionFileError, match="cannot be imported"):
        BvhFolderDataset(tmp_path, strict=True).load()
