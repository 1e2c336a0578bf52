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
    SMPL22_JOINT_NAMES,
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


def _rest_pose() -> np.ndarray:
    """SMPL-22 rest positions (metres, Y up, pelvis at the origin)."""
    pose = np.zeros((22, 3))
    for k in range(1, 22):
        pose[k] = pose[SMPL22_PARENTS[k]] + rest_offsets()[k]
    return pose


def write_rig(path, joints, frames=3, all_positions=False):
    """A BVH of ``joints`` = [(name, parent name or None, rest position in metres)], in
    centimetres, zero rotations, the root walking 2 cm per frame forward. With
    ``all_positions`` every joint has six channels (as 3ds Max Biped exports write)."""
    position = {name: np.asarray(p, dtype=float) for name, _, p in joints}
    children = {name: [c for c, parent, _ in joints if parent == name] for name, _, _ in joints}
    lines, order = ["HIERARCHY"], []

    def emit(name, parent, depth):
        pad = "  " * depth
        offset = position[name] - (position[parent] if parent else 0.0)
        six = parent is None or all_positions
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{100 * v:.4f}' for v in offset)}")
        channels = "Xposition Yposition Zposition " if six else ""
        lines.append(f"{pad}  CHANNELS {6 if six else 3} {channels}Zrotation Xrotation Yrotation")
        order.append((name, offset, six, parent is None))
        for child in children[name]:
            emit(child, name, depth + 1)
        if not children[name]:
            end = [f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 -2 3", f"{pad}  }}"]
            lines.extend(end)
        lines.append(f"{pad}}}")

    emit(joints[0][0], None, 0)
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    for t in range(frames):
        values = []
        for _, offset, six, root in order:
            if root:
                values += [0.0, 93.0, 2.0 * t]
            elif six:
                values += list(100 * offset)
            values += [0.0, 0.0, 0.0]
        lines.append(" ".join(f"{v:.4f}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path


def _between(a, b, fraction=0.5):
    return (1 - fraction) * np.asarray(a) + fraction * np.asarray(b)


def _side_name(template, side):
    """``{s}``: Left/Right, ``{l}``: L/R, ``{ls}``: l/r."""
    return template.format(s=side, l=side[0], ls=side[0].lower())


def _sided(pose, make):
    """Joint rows for both sides: ``make(side_word, index)`` -> rows, per SMPL side."""
    return [row for side, index in (("Left", 0), ("Right", 1)) for row in make(side, index)]


def _rig(convention):
    """(joints, expected mapping of some SMPL joints, all_positions) of one convention."""
    p = _rest_pose()
    L = {  # SMPL indices of the left (0) and right (1) limbs
        "hip": (1, 2), "knee": (4, 5), "ankle": (7, 8), "toe": (10, 11),
        "collar": (13, 14), "shoulder": (16, 17), "elbow": (18, 19), "wrist": (20, 21),
    }  # fmt: skip

    def leg(names, parent, extra=None):
        def make(side, i):
            rows = []
            top = parent
            if extra:
                rows.append((_side_name(extra, side), parent, _between(p[0], p[L["hip"][i]])))
                top = rows[-1][0]
            chain = [_side_name(n, side) for n in names]
            parents = [top, *chain[:-1]]
            roles = ("hip", "knee", "ankle", "toe")
            for name, up, role in zip(chain, parents, roles, strict=False):
                rows.append((name, up, p[L[role][i]]))
            return rows
        return make

    def arm(names, parent):
        def make(side, i):
            chain = [_side_name(n, side) for n in names]
            parents = [parent, *chain[:-1]]
            roles = ("collar", "shoulder", "elbow", "wrist")
            return [(n, up, p[L[r][i]]) for n, up, r in zip(chain, parents, roles, strict=False)]
        return make

    if convention == "mixamo":
        m = "mixamorig:"
        joints = [(f"{m}Hips", None, p[0]), (f"{m}Spine", f"{m}Hips", p[3]),
                  (f"{m}Spine1", f"{m}Spine", p[6]), (f"{m}Spine2", f"{m}Spine1", p[9]),
                  (f"{m}Neck", f"{m}Spine2", p[12]), (f"{m}Head", f"{m}Neck", p[15])]
        legs = [m + "{s}UpLeg", m + "{s}Leg", m + "{s}Foot", m + "{s}ToeBase"]
        arms = [m + "{s}Shoulder", m + "{s}Arm", m + "{s}ForeArm", m + "{s}Hand"]
        joints += _sided(p, leg(legs, f"{m}Hips"))
        joints += _sided(p, arm(arms, f"{m}Spine2"))
        expected = {"left_collar": f"{m}LeftShoulder", "left_shoulder": f"{m}LeftArm",
                    "right_foot": f"{m}RightToeBase", "spine3": f"{m}Spine2"}
        return joints, expected, False
    if convention == "lafan1":
        joints = [("Hips", None, p[0]), ("Spine", "Hips", p[3]), ("Spine1", "Spine", p[6]),
                  ("Spine2", "Spine1", p[9]), ("Neck", "Spine2", p[12]), ("Head", "Neck", p[15])]
        joints += _sided(p, leg(["{s}UpLeg", "{s}Leg", "{s}Foot", "{s}Toe"], "Hips"))
        joints += _sided(p, arm(["{s}Shoulder", "{s}Arm", "{s}ForeArm", "{s}Hand"], "Spine2"))
        expected = {"left_collar": "LeftShoulder", "left_shoulder": "LeftArm",
                    "left_foot": "LeftToe", "spine1": "Spine"}
        return joints, expected, False
    if convention == "cmu":
        joints = [("Hips", None, p[0]), ("LowerBack", "Hips", p[3]), ("Spine", "LowerBack", p[6]),
                  ("Spine1", "Spine", p[9]), ("Neck", "Spine1", p[12]),
                  ("Neck1", "Neck", _between(p[12], p[15])), ("Head", "Neck1", p[15])]
        joints += _sided(p, leg(["{s}UpLeg", "{s}Leg", "{s}Foot", "{s}ToeBase"], "Hips",
                                extra="{l}HipJoint"))
        joints += _sided(p, arm(["{s}Shoulder", "{s}Arm", "{s}ForeArm", "{s}Hand"], "Spine1"))
        expected = {"left_hip": "LeftUpLeg", "spine1": "LowerBack", "spine3": "Spine1",
                    "neck": "Neck", "left_collar": "LeftShoulder", "left_shoulder": "LeftArm"}
        return joints, expected, False
    if convention == "cmu_daz":
        joints = [("hip", None, p[0]), ("abdomen", "hip", p[6]), ("chest", "abdomen", p[9]),
                  ("neck", "chest", p[12]), ("head", "neck", p[15])]
        joints += _sided(p, leg(["{ls}Thigh", "{ls}Shin", "{ls}Foot"], "hip", extra="{ls}Buttock"))
        joints += _sided(p, arm(["{ls}Collar", "{ls}Shldr", "{ls}ForeArm", "{ls}Hand"], "chest"))
        expected = {"pelvis": "hip", "left_hip": "lThigh", "left_knee": "lShin",
                    "left_foot": "lFoot/end", "left_collar": "lCollar", "left_shoulder": "lShldr"}
        return joints, expected, False
    if convention == "classic":
        joints = [("Hips", None, p[0]), ("Chest", "Hips", p[6]), ("Chest2", "Chest", p[9]),
                  ("Neck", "Chest2", p[12]), ("Head", "Neck", p[15])]
        joints += _sided(p, leg(["{s}Hip", "{s}Knee", "{s}Ankle"], "Hips"))
        joints += _sided(p, arm(["{s}Collar", "{s}Shoulder", "{s}Elbow", "{s}Wrist"], "Chest2"))
        expected = {"left_collar": "LeftCollar", "left_shoulder": "LeftShoulder",
                    "left_elbow": "LeftElbow", "right_wrist": "RightWrist",
                    "left_hip": "LeftHip", "left_knee": "LeftKnee", "left_foot": "LeftAnkle/end"}
        return joints, expected, False
    if convention == "rokoko":
        spine = [_between(p[0], p[12], f) for f in (0.2, 0.45, 0.65, 0.85)]
        joints = [("Hips", None, p[0]), ("Spine1", "Hips", spine[0]),
                  ("Spine2", "Spine1", spine[1]), ("Spine3", "Spine2", spine[2]),
                  ("Spine4", "Spine3", spine[3]),
                  ("Neck", "Spine4", p[12]), ("Head", "Neck", p[15])]
        joints += _sided(p, leg(["{s}Thigh", "{s}Shin", "{s}Foot", "{s}Toe"], "Hips"))
        joints += _sided(p, arm(["{s}Shoulder", "{s}Arm", "{s}ForeArm", "{s}Hand"], "Spine4"))
        expected = {"left_hip": "LeftThigh", "left_knee": "LeftShin", "left_foot": "LeftToe",
                    "left_collar": "LeftShoulder", "left_shoulder": "LeftArm"}
        return joints, expected, False
    if convention == "truebones":
        b = "Bip01_"
        joints = [("Bip01", None, p[0]), (f"{b}Pelvis", "Bip01", p[0]),
                  (f"{b}Spine", f"{b}Pelvis", p[3]), (f"{b}Spine1", f"{b}Spine", p[9]),
                  (f"{b}Neck", f"{b}Spine1", p[12]), (f"{b}Head", f"{b}Neck", p[15])]
        joints += _sided(p, leg([b + "{l}_Thigh", b + "{l}_Calf", b + "{l}_Foot", b + "{l}_Toe0"],
                                f"{b}Pelvis"))
        joints += _sided(p, arm([b + "{l}_Clavicle", b + "{l}_UpperArm", b + "{l}_Forearm",
                                 b + "{l}_Hand"], f"{b}Neck"))
        expected = {"pelvis": f"{b}Pelvis", "left_hip": f"{b}L_Thigh", "left_knee": f"{b}L_Calf",
                    "left_foot": f"{b}L_Toe0", "left_collar": f"{b}L_Clavicle",
                    "left_shoulder": f"{b}L_UpperArm", "right_wrist": f"{b}R_Hand"}
        return joints, expected, True
    raise ValueError(convention)


@pytest.mark.parametrize(
    "convention", ["lafan1", "mixamo", "cmu", "cmu_daz", "classic", "rokoko", "truebones"]
)
def test_rig_naming_convention_maps_onto_smpl22(convention, tmp_path):
    joints, expected, all_positions = _rig(convention)
    path = write_rig(tmp_path / f"{convention}.bvh", joints, all_positions=all_positions)
    motion = load_bvh(path)
    for smpl, source in expected.items():
        assert motion.mapping[smpl] == source, (smpl, motion.mapping)
    assert motion.unit_scale == 0.01 and motion.fps == 30.0 and motion.up_axis == "y"
    # Every joint taken from the file sits where the file puts it (root 93 cm up,
    # walking 2 cm per frame).
    rest = {name: np.asarray(pos) for name, _, pos in joints}
    walk = np.array([[0.0, 0.93, 0.02 * t] for t in range(3)])
    for smpl, source in motion.mapping.items():
        if source in rest:
            got = motion.joints[:, SMPL22_JOINT_NAMES.index(smpl)]
            np.testing.assert_allclose(got, rest[source] + walk, atol=1e-5, err_msg=smpl)
    # A usable body: no bone collapsed, legs about as long as the reference's.
    lengths = bone_lengths(motion.joints)[0]
    assert lengths[1:].min() > 0.02
    assert abs(lengths[4] + lengths[7] - REFERENCE_BONE_LENGTHS[[4, 7]].sum()) < 0.01
