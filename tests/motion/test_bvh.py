"""BVH import on the real LAFAN1-style and Blender files and on generated files."""

import numpy as np
import pytest

from motionvla_model.motion.bvh import BvhImportError, load_bvh, parse_bvh
from motionvla_model.motion.features import (
    canonicalize_joints,
    features_to_joints,
    joints_to_features,
)
from motionvla_model.motion.human_clips import HumanClipError, load_bvh_clip
from motionvla_model.motion.registry_data import fetch
from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import (
    REFERENCE_BONE_LENGTHS,
    REST_DIRECTIONS,
    SMPL22_PARENTS,
    bone_lengths,
)

# LAFAN1 names in SMPL-22 order (spine1..3 = Spine, Spine1, Spine2).
LAFAN_NAMES = (
    "Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot",
    "RightFoot", "Spine2", "LeftToe", "RightToe", "Neck", "LeftShoulder", "RightShoulder",
    "Head", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
)  # fmt: skip


def write_bvh(path, offsets, root_positions, names=LAFAN_NAMES, frame_time=0.05):
    """A BVH with the SMPL-22 tree, zero rotations and the given offsets per joint."""
    children = {j: [c for c in range(22) if SMPL22_PARENTS[c] == j] for j in range(22)}
    lines = ["HIERARCHY"]

    def emit(j, depth):
        pad = "  " * depth
        head = "ROOT" if j == 0 else "JOINT"
        lines.append(f"{pad}{head} {names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:.6f}' for v in offsets[j])}")
        chans = (
            "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"
            if j == 0
            else "3 Zrotation Yrotation Xrotation"
        )
        lines.append(f"{pad}  CHANNELS {chans}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0 1", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(0, 0)
    order = []

    def visit(j):
        order.append(j)
        for c in children[j]:
            visit(c)

    visit(0)
    lines += ["MOTION", f"Frames: {len(root_positions)}", f"Frame Time: {frame_time}"]
    for pos in root_positions:
        lines.append(" ".join([*(f"{v:.6f}" for v in pos), *["0"] * (3 + 3 * 21)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def rest_offsets():
    return REFERENCE_BONE_LENGTHS[:, None] * REST_DIRECTIONS


@pytest.fixture(scope="module")
def lafan():
    return load_bvh(fetch("bvh/test2"))


def test_lafan_file_is_a_sensible_human(lafan):
    j = lafan.joints
    assert j.dtype == np.float32 and j.shape == (3945, 22, 3)
    assert lafan.fps == 30.0 and lafan.unit_scale == 0.01 and lafan.up_axis == "y"
    assert lafan.mapping["spine3"] == "Spine2" and lafan.mapping["left_foot"] == "LeftToe"
    assert lafan.source_joint_names[0] == "Hips"
    lengths = bone_lengths(j)
    # Rigid skeleton: every bone keeps its length over the clip (FK, no noise).
    assert np.ptp(lengths, axis=0).max() < 1e-4
    mean = lengths.mean(axis=0)
    assert 0.35 < mean[4] < 0.5 and 0.35 < mean[7] < 0.5  # thigh, shin
    assert 0.2 < mean[18] < 0.4  # upper arm
    # Y up, feet near the floor, standing height 1.5-1.9 m (head joint + ~10 cm skull).
    feet = j[:, [10, 11], 1].min(axis=1)
    assert abs(np.median(feet)) < 0.05
    standing = np.median(j[:, 15, 1] - feet) + 0.1
    assert 1.5 < standing < 1.9
    assert np.mean(j[:, 15, 1] > j[:, 0, 1]) > 0.99


def test_lafan_walks_forward_and_is_not_mirrored(lafan):
    j = resample(lafan.joints, lafan.fps, 20.0)
    features = joints_to_features(j)
    # Walking: the root moves mostly forward in its own heading frame.
    assert features[:, 2].mean() > 3 * abs(features[:, 1].mean())
    across = j[:, 1] - j[:, 2]  # left hip - right hip
    forward = np.cross(across, [0.0, 1.0, 0.0])
    toes = j[:, 10] - j[:, 7]
    assert np.mean(np.sum(toes * forward, axis=1) > 0) > 0.9


@pytest.mark.parametrize("name", ["bvh/test", "bvh/test2", "bvh/test3"])
def test_round_trip_on_bvh_files_within_a_millimetre(name):
    clip = load_bvh_clip(name, target_fps=20.0)
    recovered = features_to_joints(joints_to_features(clip.joints))
    error = np.linalg.norm(recovered - canonicalize_joints(clip.joints)[:-1], axis=-1) * 1000
    print(f"{name}: round trip mean {error.mean():.2e} mm, max {error.max():.2e} mm")
    assert error.max() < 1.0


def test_blender_rig_maps_end_sites_and_interpolated_spine():
    motion = load_bvh(fetch("bvh/test3"))
    assert motion.fps == 24.0 and motion.unit_scale == 1.0
    assert motion.mapping["left_wrist"] == "forearm.L/end"
    assert motion.mapping["left_hip"] == "thigh.L"
    assert "along pelvis" in motion.mapping["spine2"]
    lengths = bone_lengths(motion.joints).mean(axis=0)
    assert 0.28 < lengths[4] < 0.4 and 0.28 < lengths[7] < 0.4


def test_generated_z_up_centimetre_file(tmp_path):
    # The reference body, Z up, in centimetres, moving 2 cm per frame along Y (Z-up).
    to_z_up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    offsets = rest_offsets() @ to_z_up.T * 100
    root = np.array([[0.0, 2.0 * t, 93.0] for t in range(5)])
    path = write_bvh(
        tmp_path / "z.bvh", offsets, root, names=tuple(f"mixamorig:{n}" for n in LAFAN_NAMES)
    )
    motion = load_bvh(path)
    assert (motion.unit_scale, motion.up_axis, motion.fps) == (0.01, "z", 20.0)
    pose = np.zeros((22, 3))
    for k in range(1, 22):
        pose[k] = pose[SMPL22_PARENTS[k]] + rest_offsets()[k]
    expected = pose[None] + np.array([[0.0, 0.93, -0.02 * t] for t in range(5)])[:, None]
    np.testing.assert_allclose(motion.joints, expected, atol=1e-5)
    upsampled = load_bvh(path, target_fps=40.0)
    assert upsampled.fps == 40.0 and upsampled.joints.shape == (9, 22, 3)


def test_unmappable_and_malformed_files(tmp_path):
    names = ("Root", *(f"Bone{k}" for k in range(1, 22)))
    path = write_bvh(tmp_path / "odd.bvh", rest_offsets(), np.zeros((2, 3)), names=names)
    with pytest.raises(BvhImportError, match=r"no joint for left hip.*Bone1"):
        load_bvh(path)
    with pytest.raises(BvhImportError, match="MOTION"):
        parse_bvh("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\n}\n")
    good = write_bvh(tmp_path / "ok.bvh", rest_offsets(), np.zeros((2, 3))).read_text()
    with pytest.raises(BvhImportError, match="frames × 69 channels"):
        parse_bvh(good.rstrip() + " 1.0\n")
    with pytest.raises(BvhImportError, match="starts with HIERARCHY"):
        parse_bvh(good.replace("HIERARCHY", "HIERARCHX"))
    with pytest.raises(BvhImportError, match="cannot read"):
        load_bvh(tmp_path / "missing.bvh")
    with pytest.raises(HumanClipError, match="known"):
        load_bvh_clip("bvh/nothing")
