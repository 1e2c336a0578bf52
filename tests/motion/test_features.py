"""Joints ⇄ HumanML3D features: round trips on real clips, properties, published semantics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motionvla_model.motion.features import (
    FEATURE_DIM,
    MotionShapeError,
    NonFiniteMotionError,
    canonicalize_joints,
    features_to_joints,
    joints_to_features,
    recover_root,
    uniform_skeleton,
)
from motionvla_model.motion.human_clips import OMOMO_NAMES, load_climb, load_omomo
from motionvla_model.motion.layouts import HUMANML3D
from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import (
    REFERENCE_BONE_LENGTHS,
    REST_DIRECTIONS,
    SMPL22_PARENTS,
    bone_lengths,
)


def rest_pose(lengths: np.ndarray = REFERENCE_BONE_LENGTHS) -> np.ndarray:
    """The reference body in its rest pose (arms down), pelvis at the origin."""
    pose = np.zeros((22, 3))
    for j in range(1, 22):
        pose[j] = pose[SMPL22_PARENTS[j]] + lengths[j] * REST_DIRECTIONS[j]
    return pose


def yaw_matrix(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def synthetic_motion(seed: int, frames: int, turn_rate: float, noise: float) -> np.ndarray:
    """A jittering body that walks along a curve while turning (any turn rate)."""
    rng = np.random.default_rng(seed)
    pose = rest_pose() + rng.normal(scale=noise, size=(frames, 22, 3))
    yaw = turn_rate * np.arange(frames) + rng.uniform(-np.pi, np.pi)
    rotated = np.einsum("tij,tkj->tki", np.stack([yaw_matrix(a) for a in yaw]), pose)
    path = np.cumsum(rng.normal(scale=0.03, size=(frames, 3)) * [1, 0.1, 1], axis=0)
    return rotated + path[:, None] + [0.0, 0.95, 0.0]


def round_trip_error_mm(joints: np.ndarray, fps: float) -> tuple[float, float]:
    recovered = features_to_joints(joints_to_features(joints, fps))
    expected = canonicalize_joints(joints, fps)[:-1]
    error = np.linalg.norm(recovered.astype(np.float64) - expected, axis=-1) * 1000.0
    return float(error.mean()), float(error.max())


@pytest.mark.parametrize("name", OMOMO_NAMES)
def test_round_trip_on_omomo_within_a_millimetre(name):
    clip = load_omomo(name)
    joints = resample(clip.joints, clip.fps, 20.0)
    mean, worst = round_trip_error_mm(joints, 20.0)
    print(f"{name}: round trip mean {mean:.2e} mm, max {worst:.2e} mm over {len(joints)} frames")
    assert worst < 1.0 and mean < 0.1


def test_round_trip_on_a_long_climb_at_native_rate():
    clip = load_climb(3)
    mean, worst = round_trip_error_mm(clip.joints, clip.fps)
    print(f"climb/seq_3: round trip mean {mean:.2e} mm, max {worst:.2e} mm")
    assert worst < 1.0


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    frames=st.integers(2, 60),
    turn_rate=st.floats(-1.5, 1.5),
    noise=st.floats(0.0, 0.05),
)
def test_round_trip_property(seed, frames, turn_rate, noise):
    joints = synthetic_motion(seed, frames, turn_rate, noise)
    features = joints_to_features(joints)
    assert features.shape == (frames - 1, FEATURE_DIM) and features.dtype == np.float32
    assert np.isfinite(features).all()
    _, worst = round_trip_error_mm(joints, 20.0)
    assert worst < 1.0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), angle=st.floats(-np.pi, np.pi), shift=st.floats(-5, 5))
def test_features_ignore_where_and_which_way_the_clip_starts(seed, angle, shift):
    joints = synthetic_motion(seed, 30, 0.2, 0.02)
    moved = joints @ yaw_matrix(angle).T + np.array([shift, 0.3 * shift, -shift])
    np.testing.assert_allclose(joints_to_features(moved), joints_to_features(joints), atol=2e-4)


def test_canonical_motion_is_on_the_floor_at_the_origin_and_uniform():
    clip = load_omomo(OMOMO_NAMES[1])
    canon = canonicalize_joints(clip.joints, clip.fps)
    assert canon[..., 1].min() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(canon[0, 0, [0, 2]], 0.0, atol=1e-6)
    np.testing.assert_allclose(
        bone_lengths(canon)[:, 1:],
        REFERENCE_BONE_LENGTHS[1:][None] + 0 * canon[:, 1:, 0],
        atol=1e-5,
    )
    # Keeping the source skeleton keeps its bone lengths.
    source = canonicalize_joints(clip.joints, clip.fps, bone_lengths=None)
    np.testing.assert_allclose(bone_lengths(source), bone_lengths(clip.joints), atol=1e-5)


def test_uniform_skeleton_keeps_directions_and_scales_the_root():
    clip = load_omomo(OMOMO_NAMES[0])
    uniform = uniform_skeleton(clip.joints)
    src, dst = clip.joints.astype(np.float64), uniform
    parents = list(SMPL22_PARENTS[1:])
    src_dir = src[:, 1:] - src[:, parents]
    dst_dir = dst[:, 1:] - dst[:, parents]
    cos = (
        np.sum(src_dir * dst_dir, -1)
        / np.linalg.norm(src_dir, axis=-1)
        / np.linalg.norm(dst_dir, axis=-1)
    )
    assert cos.min() > 1 - 1e-9
    leg = np.linalg.norm(src[0, 5] - src[0, 2]) + np.linalg.norm(src[0, 8] - src[0, 5])
    scale = (REFERENCE_BONE_LENGTHS[5] + REFERENCE_BONE_LENGTHS[8]) / leg
    np.testing.assert_allclose(dst[:, 0], src[:, 0] * scale, rtol=1e-6)


def test_walking_straight_ahead_has_the_published_root_channels():
    frames, speed = 25, 0.04  # metres per frame along the facing direction
    pose = rest_pose()
    joints = pose + np.arange(frames)[:, None, None] * np.array([0.0, 0.0, speed])
    joints[..., 1] += 0.93
    features = joints_to_features(joints)
    np.testing.assert_allclose(features[:, HUMANML3D["root_rot_velocity"]], 0.0, atol=1e-7)
    np.testing.assert_allclose(features[:, 1], 0.0, atol=1e-7)
    np.testing.assert_allclose(features[:, 2], speed, atol=1e-6)
    # Height is measured from the lowest joint (the toes) of the whole clip.
    expected_height = -pose[:, 1].min()
    np.testing.assert_allclose(features[:, 3], expected_height, atol=1e-6)
    # Rest pose: every local rotation is the identity, 6-D = (1,0,0, 0,1,0).
    np.testing.assert_allclose(
        features[:, HUMANML3D["rot_6d"]].reshape(-1, 21, 6),
        np.tile([1, 0, 0, 0, 1, 0], (24, 21, 1)),
        atol=1e-6,
    )
    local = features[:, HUMANML3D["local_velocity"]].reshape(-1, 22, 3)
    np.testing.assert_allclose(local, np.tile([0, 0, speed], (24, 22, 1)), atol=1e-6)
    # 0.04 m per frame is below the published threshold (0.002 m² per frame) -> contact.
    assert (features[:, HUMANML3D["foot_contact"]] == 1).all()
    fast = joints_to_features(joints * [1, 1, 2])  # 0.08 m per frame: feet sliding
    assert (fast[:, HUMANML3D["foot_contact"]] == 0).all()


def test_turning_in_place_through_180_degrees_keeps_its_direction():
    rate = 0.05  # rad per frame (1 rad/s at 20 fps): two full turns
    frames = 260
    joints = np.stack([rest_pose() @ yaw_matrix(rate * t).T for t in range(frames)])
    joints[..., 1] += 1.0
    features = joints_to_features(joints)
    # The feature is the half yaw step; the heading yaw is minus the body's yaw.
    # (1 s heading smoothing: the ends lag, the middle follows within a few percent).
    assert np.all(features[:, 0] < 0)
    np.testing.assert_allclose(2 * features[40:-40, 0], -rate, rtol=0.03)
    yaw, root = recover_root(features)
    np.testing.assert_allclose(np.linalg.norm(yaw, axis=-1), 1.0)
    np.testing.assert_allclose(root[:, [0, 2]], 0.0, atol=1e-6)


def test_contact_threshold_scales_with_frame_rate():
    pose = rest_pose() + np.array([0.0, 0.93, 0.0])
    # 0.6 m/s: a contact at 20 fps (0.03 m/frame) and at 60 fps (0.01 m/frame).
    for fps in (20.0, 60.0):
        frames = 10
        joints = pose + np.arange(frames)[:, None, None] * np.array([0.0, 0.0, 0.6 / fps])
        assert (joints_to_features(joints, fps)[:, 259:] == 1).all()
        sliding = pose + np.arange(frames)[:, None, None] * np.array([0.0, 0.0, 1.2 / fps])
        assert (joints_to_features(sliding, fps)[:, 259:] == 0).all()


def test_batched_inverse_matches_single_clips():
    clips = [synthetic_motion(s, 21, 0.1, 0.01) for s in range(3)]
    feats = np.stack([joints_to_features(c) for c in clips])
    batched = features_to_joints(feats)
    assert batched.shape == (3, 20, 22, 3)
    for i in range(3):
        np.testing.assert_allclose(batched[i], features_to_joints(feats[i]), atol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(MotionShapeError, match=r"\[T, 22, 3\].*\(10, 24, 3\)"):
        joints_to_features(np.zeros((10, 24, 3)))
    with pytest.raises(MotionShapeError, match="at least 2 frame"):
        joints_to_features(rest_pose()[None])
    with pytest.raises(MotionShapeError, match="at least 2 frame"):
        joints_to_features(np.zeros((0, 22, 3)))
    bad = synthetic_motion(0, 10, 0.0, 0.0)
    bad[4, 20] = np.nan
    with pytest.raises(NonFiniteMotionError, match="frame 4 left_wrist"):
        joints_to_features(bad)
    with pytest.raises(MotionShapeError, match=r"263.*\(5, 262\)"):
        features_to_joints(np.zeros((5, 262)))
    with pytest.raises(MotionShapeError, match="at least 1 frame"):
        features_to_joints(np.zeros((0, 263)))
    feats = np.zeros((6, 263))
    feats[3, 100] = np.inf
    with pytest.raises(NonFiniteMotionError, match=r"frames \[3\] at dims \[100\]"):
        features_to_joints(feats)
    with pytest.raises(ValueError, match="fps"):
        joints_to_features(synthetic_motion(0, 4, 0.0, 0.0), fps=0.0)
    with pytest.raises(MotionShapeError, match="bone_lengths"):
        joints_to_features(synthetic_motion(0, 4, 0.0, 0.0), bone_lengths=np.ones(21))
