"""MBench geometry metrics and command fidelity on hand-built motions with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import command_fidelity, scene_success
from training.metrics import (
    MotionMetricError,
    count_peaks,
    dynamic_degree,
    foot_floating,
    foot_sliding,
    geometry_metrics,
    ground_penetration,
    heading_deg,
    jitter_degree,
    to_z_up,
)

T = 40


def standing(frames: int = T) -> np.ndarray:
    """A stick body (Y up, facing +Z, left on +X): pelvis at 0.9 m, feet on the floor."""
    pose = np.zeros((22, 3))
    pose[:, 1] = 0.9
    pose[[1, 16], 0], pose[[2, 17], 0] = 0.1, -0.1  # hips and shoulders: left is +X
    pose[[16, 17], 1] = 1.4
    pose[[7, 10], 0], pose[[8, 11], 0] = 0.1, -0.1  # ankles and feet
    pose[[7, 8], 1] = 0.08
    pose[[10, 11], 1] = 0.0
    pose[[10, 11], 2] = 0.1
    return np.repeat(pose[None], frames, axis=0)


def test_still_body_scores_zero_everywhere():
    values = geometry_metrics(standing())
    assert values == pytest.approx(
        {
            "jitter_degree": 0.0,
            "dynamic_degree": 0.0,
            "foot_sliding": 0.0,
            "foot_floating": 0.0,
            "ground_penetration": 0.0,
        },
        abs=1e-12,
    )


def test_sliding_feet_slide_by_their_speed():
    joints = standing()
    # The whole body glides 5 mm per frame: slow enough to count as contact, so it slides.
    joints[:, :, 2] += 0.005 * np.arange(T)[:, None]
    assert foot_sliding(to_z_up(joints)) == pytest.approx(0.005, rel=1e-4)
    joints[:, [10, 11], 1] = 0.3  # feet lifted and the speed unchanged: still "contact" (slow)
    assert foot_sliding(to_z_up(joints)) == pytest.approx(0.005, rel=1e-4)


def test_floating_body_floats_every_frame():
    joints = standing()
    joints[:, :, 1] += 0.3  # feet 30 cm above the floor
    joints[:, :, 2] += 0.05 * np.arange(T)[:, None]  # moving 1 m/s: no contact anywhere
    assert foot_floating(to_z_up(joints)) == pytest.approx(1.0)
    assert foot_floating(to_z_up(standing())) == 0.0


def test_ground_penetration_is_depth_below_tolerance():
    joints = standing()
    joints[:, 10, 1] = -0.03
    assert ground_penetration(to_z_up(joints)) == pytest.approx(0.03)
    joints[:, 10, 1] = -0.004  # within the 5 mm tolerance
    assert ground_penetration(to_z_up(joints)) == 0.0


def test_jittering_joint_has_known_acceleration():
    joints = standing()
    amplitude = 0.01
    joints[:, 20, 0] += amplitude * (-1.0) ** np.arange(T)  # |second difference| = 4a
    expected = 2 * 4 * amplitude / 22  # global + local, mean over 22 joints
    assert jitter_degree(to_z_up(joints)) == pytest.approx(expected)
    assert dynamic_degree(to_z_up(joints)) == pytest.approx(2 * 2 * amplitude / 22)


def test_heading_and_fidelity_of_a_known_walk():
    joints = standing()
    joints[:, :, 2] += np.linspace(0, 2.0, T)[:, None]  # 2 m forward
    params = {"end_root_xz": [0.0, 2.0], "end_yaw_deg": 0.0}
    assert command_fidelity(joints, params) == pytest.approx(
        {"distance_rel_error": 0.0, "heading_error_deg": 0.0, "turn_error_deg": 0.0}, abs=1e-9
    )
    half = {"end_root_xz": [0.0, 4.0], "end_yaw_deg": 90.0}
    errors = command_fidelity(joints, half)
    assert errors["distance_rel_error"] == pytest.approx(0.5)
    assert errors["turn_error_deg"] == pytest.approx(90.0)
    sideways = {"end_root_xz": [2.0, 0.0], "end_yaw_deg": 0.0}
    assert command_fidelity(joints, sideways)["heading_error_deg"] == pytest.approx(90.0)


def test_heading_follows_a_left_turn():
    joints = standing(10)
    turned = joints.copy()
    angle = np.radians(90)
    rotation = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    )
    turned[-1] = joints[-1] @ rotation.T
    assert heading_deg(turned)[-1] - heading_deg(turned)[0] == pytest.approx(90.0)


def test_scene_success_reach_and_face():
    joints = standing()
    joints[:, :, 2] += np.linspace(0, 2.0, T)[:, None]
    reach = {
        "end_root_xz": [0.0, 2.3],
        "scene_task": {"action": "walk_to", "target": {"ground_human_xz": [0.0, 3.0]}},
    }
    assert scene_success(joints, reach) == 1.0
    reach["end_root_xz"] = [0.0, 2.6]
    assert scene_success(joints, reach) == 0.0
    face = {"end_root_xz": [0.0, 0.0], "scene_task": {"action": "face", "target": {}}}
    face["scene_task"]["target"]["ground_human_xz"] = [0.3, 5.0]  # ~3 degrees left of ahead
    assert scene_success(joints, face) == 1.0
    face["scene_task"]["target"]["ground_human_xz"] = [3.0, 2.5]  # far to the left
    assert scene_success(joints, face) == 0.0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((T, 21, 3)), np.zeros((2, 22, 3)), np.full((T, 22, 3), np.nan)],
    ids=["joints", "frames", "nan"],
)
def test_bad_joints_raise_typed_errors(bad):
    with pytest.raises(MotionMetricError):
        geometry_metrics(bad)


def test_peak_count_matches_scipy_on_plateaus_and_noise():
    from scipy.signal import find_peaks

    rng = np.random.default_rng(0)
    for signal in (
        np.array([0, 1, 1, 1, 0, 2, 0, 3, 3]),
        np.round(rng.normal(size=200), 1),
        np.zeros(5),
    ):
        assert count_peaks(signal) == len(find_peaks(signal)[0])
