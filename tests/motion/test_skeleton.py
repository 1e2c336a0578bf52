"""SMPL-22 skeleton constants and motion validation."""

import itertools

import numpy as np
import pytest

from motionvla_model.motion.skeleton import (
    FACE_JOINTS,
    FOOT_JOINTS,
    KINEMATIC_CHAINS,
    MIRROR_JOINTS,
    NUM_JOINTS,
    REFERENCE_BONE_LENGTHS,
    REST_DIRECTIONS,
    SMPL22_JOINT_NAMES,
    SMPL22_PARENTS,
    MotionShapeError,
    NonFiniteMotionError,
    bone_lengths,
    joint_index,
    mirror_joints,
    validate_joints,
    z_up_to_y_up,
)


def test_names_follow_the_smpl_order():
    assert NUM_JOINTS == 22
    assert SMPL22_JOINT_NAMES[0] == "pelvis"
    assert SMPL22_JOINT_NAMES[15] == "head"
    assert SMPL22_JOINT_NAMES[21] == "right_wrist"
    assert joint_index("left_foot") == 10
    with pytest.raises(KeyError, match="known"):
        joint_index("tail")


def test_chains_agree_with_parents():
    # Every consecutive pair in a chain is a (parent, child) bone, and every bone is in
    # exactly one chain.
    bones = [(a, b) for chain in KINEMATIC_CHAINS for a, b in itertools.pairwise(chain)]
    assert sorted(b for _, b in bones) == list(range(1, NUM_JOINTS))
    for parent, child in bones:
        assert SMPL22_PARENTS[child] == parent
    assert SMPL22_PARENTS[0] == -1


def test_rest_directions_are_unit_and_left_is_plus_x():
    norms = np.linalg.norm(REST_DIRECTIONS[1:], axis=1)
    np.testing.assert_allclose(norms, 1.0)
    assert REST_DIRECTIONS[joint_index("left_hip"), 0] == 1
    assert REST_DIRECTIONS[joint_index("right_collar"), 0] == -1
    assert not REST_DIRECTIONS.flags.writeable


def test_reference_body_is_adult_sized():
    lengths = REFERENCE_BONE_LENGTHS
    leg = lengths[5] + lengths[8]
    assert 0.7 < leg < 0.9
    spine_to_head = lengths[[3, 6, 9, 12, 15]].sum()
    assert 0.5 < spine_to_head < 0.8
    assert FACE_JOINTS == (2, 1, 17, 16)
    assert FOOT_JOINTS == (7, 10, 8, 11)


def test_validate_joints_rejects_wrong_shapes_and_nan():
    good = np.zeros((4, 22, 3), dtype=np.float32)
    assert validate_joints(good).dtype == np.float64
    with pytest.raises(MotionShapeError, match=r"\[T, 22, 3\].*\(4, 21, 3\)"):
        validate_joints(np.zeros((4, 21, 3)))
    with pytest.raises(MotionShapeError, match="at least 2 frame"):
        validate_joints(np.zeros((1, 22, 3)), min_frames=2)
    with pytest.raises(MotionShapeError, match="at least 1 frame"):
        validate_joints(np.zeros((0, 22, 3)))
    bad = good.copy()
    bad[2, 15, 1] = np.nan
    with pytest.raises(NonFiniteMotionError, match="frame 2 head"):
        validate_joints(bad)


def test_bone_lengths_of_a_stretched_chain():
    joints = np.zeros((2, 22, 3))
    joints[:, 4] = [0.0, -0.5, 0.0]  # left knee 0.5 m below the pelvis-anchored hip
    lengths = bone_lengths(joints)
    assert lengths.shape == (2, 22)
    assert lengths[0, 0] == 0
    np.testing.assert_allclose(lengths[:, 4], 0.5)


def test_mirror_swaps_sides_negates_x_and_is_an_involution():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, NUM_JOINTS, 3)).astype(np.float32)
    mirrored = mirror_joints(joints)
    left, right = joint_index("left_wrist"), joint_index("right_wrist")
    np.testing.assert_array_equal(mirrored[:, left, 0], -joints[:, right, 0])
    np.testing.assert_array_equal(mirrored[:, left, 1:], joints[:, right, 1:])
    np.testing.assert_array_equal(mirrored[:, 0, 0], -joints[:, 0, 0])
    np.testing.assert_array_equal(mirror_joints(mirrored), joints)
    np.testing.assert_allclose(bone_lengths(mirrored)[:, MIRROR_JOINTS], bone_lengths(joints))
    assert sorted(MIRROR_JOINTS) == list(range(NUM_JOINTS))
    with pytest.raises(MotionShapeError):
        mirror_joints(np.zeros((5, 21, 3)))


def test_z_up_to_y_up_is_a_rotation():
    points = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(z_up_to_y_up(points), [[1.0, 3.0, -2.0]])
    rotation = z_up_to_y_up(np.eye(3))
    assert np.linalg.det(rotation) == pytest.approx(1.0)
