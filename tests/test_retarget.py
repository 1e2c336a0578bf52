"""Retargeting real human clips onto the real Menagerie G1."""

import dataclasses

import numpy as np
import pytest

from motionvla_model.motion.human_clips import load_bvh_clip, load_climb, load_omomo
from retargeting.config import IKWeights, RetargetConfig, RetargetConfigError
from retargeting.g1 import g1_description, joint_acceleration_limits
from retargeting.human_input import RetargetInputError
from retargeting.metrics import landmark_positions, retarget_quality
from retargeting.retargeter import LANDMARK_NAMES, Retargeter, StreamingRetargeter, retarget
from retargeting.trajectory import G1Trajectory
from sim.checker import SimChecker
from training.data.commands import RaiseArms
from training.data.synthetic_motion import synthesize

SECONDS = 3.0


@pytest.fixture(scope="module")
def walk_clip():
    """The first seconds of an OMOMO clip: walking to a box, with foot contacts."""
    clip = load_omomo("omomo/sub10_largebox_049")
    return clip.joints[: int(SECONDS * clip.fps) + 1].astype(np.float64), clip.fps


@pytest.fixture(scope="module")
def walk_result(walk_clip):
    joints, fps = walk_clip
    return Retargeter().retarget(joints, fps)


def test_output_has_the_requested_rate_and_length(walk_clip, walk_result):
    joints, fps = walk_clip
    traj = walk_result.trajectory
    assert traj.fps == 50.0
    assert traj.num_frames == round((len(joints) - 1) / fps * 50) + 1
    assert walk_result.targets.shape == (traj.num_frames, len(LANDMARK_NAMES), 3)
    assert walk_result.contact.shape == (traj.num_frames, 2)
    # The G1 root travels as far as the human pelvis, scaled to the smaller body.
    human = np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]])
    robot = np.linalg.norm(traj.root_pos[-1, :2] - traj.root_pos[0, :2])
    assert human > 0.2 and 0.6 < robot / human < 1.0


def test_joint_and_velocity_limits_are_honoured(walk_result):
    traj = walk_result.trajectory
    desc = g1_description()
    lo, hi = desc.position_limits.T
    assert np.all(traj.joint_pos >= lo) and np.all(traj.joint_pos <= hi)
    # Per-frame steps, not central differences: the strictest reading of the limit.
    step = np.abs(np.diff(traj.joint_pos, axis=0)) * traj.fps
    margin = RetargetConfig().velocity_limit_margin
    assert np.all(step <= margin * desc.velocity_limits + 1e-6)


def _acceleration_ratios(trajectory) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: joint |q̈| / (τ_max / M_ii) and root linear |ẍ| (second differences)."""
    joints = np.abs(np.diff(trajectory.joint_pos, n=2, axis=0)) * trajectory.fps**2
    root = np.abs(np.diff(trajectory.root_pos, n=2, axis=0)) * trajectory.fps**2
    return joints / joint_acceleration_limits(), root


def test_accelerations_stay_within_the_ik_bounds_in_batch_and_stream():
    """Raising both arms overhead: unbounded, the shoulders would ask for 5x what their
    motors give; bounded, batch and stream stay at the configured 2.5x."""
    joints = synthesize([RaiseArms()]).joints
    config = RetargetConfig()
    batch = Retargeter(config).retarget(joints, 20.0).trajectory
    stream = StreamingRetargeter(20.0, config)
    streamed = np.stack([f.qpos for frame in joints for f in stream.push(frame)])
    np.testing.assert_array_equal(streamed[:, 7:], batch.joint_pos)
    for trajectory in (batch, G1Trajectory.from_qpos(streamed, 50.0)):
        ratio, root = _acceleration_ratios(trajectory)
        # Second differences of the output are what is bounded (to solver tolerance).
        assert ratio.max() <= config.acceleration_limit_ratio * (1 + 1e-6) + 1e-6
        assert root.max() <= config.root_acceleration_limit_m_s2 * (1 + 1e-6) + 1e-6
    assert _acceleration_ratios(batch)[0].max() > 0.99 * config.acceleration_limit_ratio
    unbounded = Retargeter(
        dataclasses.replace(config, acceleration_limit_ratio=float("inf"))
    ).retarget(joints, 20.0)
    assert _acceleration_ratios(unbounded.trajectory)[0].max() > 4.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "start_s"), [("omomo/sub10_largebox_049", 0.0), ("bvh/test2", 23.3)]
)
def test_real_clips_retargeted_pass_the_simulation_gate(name, start_s):
    """An OMOMO clip (walking to a box) and 10 s of dance with kicks from a BVH file."""
    clip = load_omomo(name) if name.startswith("omomo/") else load_bvh_clip(name)
    first = int(start_s * clip.fps)
    joints = clip.joints[first : first + int(10 * clip.fps) + 1]
    report = SimChecker().check(Retargeter().retarget(joints, clip.fps).trajectory)
    assert report.passed, report.summary()


def test_feet_stay_on_the_ground_and_do_not_slide_in_contact(walk_result):
    quality = retarget_quality(walk_result.trajectory, walk_result.targets, walk_result.contact)
    assert quality.joint_limit_violations == 0
    assert quality.ground_penetration_mm < 1.0
    assert quality.foot_slide_mm_per_frame < 2.0
    assert quality.keypoint_error_mm < 40.0
    # Both feet are in contact much of the time while walking; while in contact the
    # G1 ankle sits at its standing height above the floor (a touch-down from a
    # pitched swing foot takes a frame or two to settle).
    contact = walk_result.contact
    assert 0.3 < contact.mean() < 0.95
    feet = landmark_positions(walk_result.trajectory)[:, [5, 6]]
    assert LANDMARK_NAMES[5:7] == ("left_foot", "right_foot")
    ankle_height = feet[..., 2][contact]
    assert np.median(np.abs(ankle_height - 0.035)) < 0.003
    assert np.percentile(np.abs(ankle_height - 0.035), 90) < 0.015


def test_streaming_gives_exactly_the_batch_result(walk_clip, walk_result):
    joints, fps = walk_clip
    stream = StreamingRetargeter(fps)
    frames = [f for frame in joints for f in stream.push(frame)]
    qpos = np.stack([f.qpos for f in frames])
    traj = walk_result.trajectory
    np.testing.assert_array_equal(qpos[:, :3], traj.root_pos)
    np.testing.assert_array_equal(qpos[:, 7:], traj.joint_pos)
    # G1Trajectory renormalises quaternions: equal up to rounding.
    np.testing.assert_allclose(qpos[:, 3:7], traj.root_quat, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(np.stack([f.contact for f in frames]), walk_result.contact)
    # reset() starts a new motion that retargets the same way again.
    stream.reset()
    again = [f for frame in joints[:10] for f in stream.push(frame)]
    np.testing.assert_array_equal(np.stack([f.qpos for f in again]), qpos[: len(again)])


def test_retargeting_is_deterministic(walk_clip, walk_result):
    joints, fps = walk_clip
    again = retarget(joints, fps)
    np.testing.assert_array_equal(again.qpos(), walk_result.trajectory.qpos())


def test_climbing_mocap_at_120_fps_is_resampled_and_within_limits():
    clip = load_climb(0)
    joints = clip.joints[: int(2 * clip.fps) + 1]
    result = Retargeter(RetargetConfig(output_fps=30)).retarget(joints, clip.fps)
    assert result.trajectory.fps == 30 and result.trajectory.num_frames == 61
    quality = retarget_quality(result.trajectory, result.targets, result.contact)
    assert quality.joint_limit_violations == 0
    assert quality.max_joint_velocity_ratio <= 1.0
    assert quality.keypoint_error_mm < 60.0


# --- bad input ---------------------------------------------------------------------


def _err(joints, fps=30.0, match=""):
    with pytest.raises(RetargetInputError, match=match):
        Retargeter().retarget(joints, fps)


def test_short_nan_gap_is_interpolated(walk_clip, walk_result):
    joints, fps = walk_clip
    holed = joints.copy()
    holed[40:43] = np.nan  # 0.1 s dropout
    holed[50, 7] = np.inf
    traj = retarget(holed, fps)
    assert np.all(np.isfinite(traj.qpos()))
    # The filled frames lie on the real motion's path: the result barely changes.
    diff = np.abs(traj.joint_pos - walk_result.trajectory.joint_pos).max()
    assert diff < 0.2


@pytest.mark.parametrize(
    ("frames", "match"),
    [(slice(40, 60), "longer than"), (slice(0, 1), "start"), (slice(-2, None), "end")],
)
def test_non_finite_joints_that_cannot_be_repaired_raise(walk_clip, frames, match):
    joints, fps = walk_clip
    bad = joints.copy()
    bad[frames] = np.nan
    _err(bad, fps, match)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((10, 24, 3), r"\[T, 22, 3\]"), ((10, 66), r"\[T, 22, 3\]"), ((22, 3), r"\[T, 22, 3\]")],
)
def test_wrong_shapes_raise(shape, match):
    _err(np.zeros(shape), match=match)


def test_single_frame_raises(walk_clip):
    _err(walk_clip[0][:1], match="at least 2 frames")


def test_twenty_minute_clip_raises_before_any_work(walk_clip):
    joints, _ = walk_clip
    long = np.broadcast_to(joints[:1], (20 * 60 * 30, 22, 3))
    _err(long, 30.0, "max_clip_seconds")


@pytest.mark.parametrize(("factor", "match"), [(3.0, "m tall"), (100.0, "centimetres")])
def test_implausible_sizes_raise(walk_clip, factor, match):
    _err(walk_clip[0] * factor, match=match)


def test_upside_down_skeleton_raises(walk_clip):
    flipped = walk_clip[0] * np.array([1.0, -1.0, -1.0])  # 180° about X
    _err(flipped, match="upside down")


def test_zero_length_bone_raises(walk_clip):
    joints = walk_clip[0].copy()
    joints[20:, 4] = joints[20:, 1]  # left knee collapsed onto the hip
    _err(joints, match=r"zero-length bone.*left_hip->left_knee")


@pytest.mark.parametrize("fps", [0.0, -30.0, float("nan"), "fast"])
def test_bad_fps_raises(walk_clip, fps):
    _err(walk_clip[0], fps, "fps")


def test_streaming_rejects_non_finite_frames(walk_clip):
    stream = StreamingRetargeter(30.0)
    stream.push(walk_clip[0][0])
    frame = walk_clip[0][1].copy()
    frame[20] = np.nan
    with pytest.raises(RetargetInputError, match=r"input frame 1 .*\[20\]"):
        stream.push(frame)


@pytest.mark.parametrize(
    "change",
    [
        {"output_fps": 0},
        {"iterations_per_frame": 0},
        {"iterations_per_frame": 1.5},
        {"velocity_limit_margin": 1.5},
        {"solver": "no-such-solver"},
        {"contact_height_m": float("nan")},
        {"contact_blend_s": 0.0},
        {"acceleration_limit_ratio": -1.0},
        {"root_acceleration_limit_m_s2": float("nan")},
        {"min_human_height_m": 3.0},
    ],
)
def test_config_is_validated(change):
    with pytest.raises(RetargetConfigError):
        dataclasses.replace(RetargetConfig(), **change)


def test_ik_weights_are_validated():
    with pytest.raises(RetargetConfigError, match="foot_position"):
        IKWeights(foot_position=-1.0)


def test_box_bounds_are_the_same_set_as_minks_limit_rows():
    """Passing the limits as bounds changes the QP's form, not its feasible set."""
    import mink

    from retargeting.g1 import JOINT_NAMES, load_g1_model
    from retargeting.ik import BoxBounds

    model = load_g1_model()
    rng = np.random.default_rng(0)
    q = g1_description().stand_qpos.copy()
    q[7:] += rng.uniform(-0.3, 0.3, 29)
    configuration = mink.Configuration(model, q)
    limits = [
        mink.ConfigurationLimit(model),
        mink.VelocityLimit(
            model, dict(zip(JOINT_NAMES, g1_description().velocity_limits, strict=True))
        ),
    ]
    dt = 0.01
    for limit in limits:
        lower, upper = BoxBounds(limit, configuration, dt)(configuration, dt)
        inequality = limit.compute_qp_inequalities(configuration, dt)
        bounded = np.nonzero(np.abs(upper) < 1e29)[0]
        lo = np.where(np.abs(lower) < 1e29, lower, -1.0)
        hi = np.where(np.abs(upper) < 1e29, upper, 1.0)
        samples = lo + rng.random((2000, 35)) * (hi - lo)
        # Every other sample steps just outside one bound.
        rows = np.arange(1, 2000, 2)
        cols = rng.choice(bounded, len(rows))
        beyond = np.where(rng.random(len(rows)) < 0.5, upper[cols] + 1e-3, lower[cols] - 1e-3)
        samples[rows, cols] = beyond
        in_box = np.all((samples >= lower) & (samples <= upper), axis=1)
        in_rows = np.all(samples @ inequality.G.T <= inequality.h + 1e-12, axis=1)
        np.testing.assert_array_equal(in_box, in_rows)
        assert 0 < in_box.sum() < len(samples)
