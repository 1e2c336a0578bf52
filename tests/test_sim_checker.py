"""SimChecker on the real G1 model with real clips: verdicts, reasons, and bad input."""

import json

import numpy as np
import pytest

from motionvla_model.motion.registry_data import fetch
from retargeting.g1 import JOINT_NAMES, g1_description
from retargeting.trajectory import G1Trajectory, load_reference_clip
from sim.checker import SimChecker
from sim.config import InvalidSimConfigError, SimCheckConfig
from sim.corruptions import CORRUPTIONS, corrupt
from sim.report import CheckResult, SimReport


@pytest.fixture(scope="module")
def checker() -> SimChecker:
    return SimChecker()


@pytest.fixture(scope="module")
def walk() -> G1Trajectory:
    """Two seconds of a real G1 walk (50 fps)."""
    clip = load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))
    return G1Trajectory.from_qpos(clip.qpos()[:100], clip.fps)


def _standing(frames: int = 50) -> G1Trajectory:
    return G1Trajectory.from_qpos(np.tile(g1_description().stand_qpos, (frames, 1)), 50)


def test_standing_pose_passes_with_almost_no_assist(checker):
    report = checker.check(_standing())
    assert report.passed, report.summary()
    assert report.metrics["assist_force_mean"] < 0.05
    assert report.metrics["fell_without_assist"] is False
    assert report.check("ground_penetration").value < 0.01


def test_real_walk_passes_but_needs_help_to_balance(checker, walk):
    report = checker.check(walk)
    assert report.passed, report.summary()
    # Open-loop joint PD cannot balance a walk; the assist is what keeps it up.
    assert report.metrics["fell_without_assist"] is True
    assert 0.0 < report.metrics["assist_force_mean"] < SimCheckConfig().assist_mean_max


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_fails_the_check_meant_for_it(checker, walk, name):
    report = checker.check(corrupt(walk, name))
    meant = CORRUPTIONS[name].check
    assert not report.passed
    assert meant in report.failed_names, report.summary()
    failed = report.check(meant)
    assert failed.value > failed.threshold and failed.reason


@pytest.mark.parametrize("name", ["clean", *sorted(CORRUPTIONS)])
def test_scene_free_checks_are_the_gates_own(checker, walk, name):
    from sim.kinematic_check import trajectory_checks

    trajectory = walk if name == "clean" else corrupt(walk, name)
    report = checker.check(trajectory)
    scene_free, _ = trajectory_checks(trajectory, checker.config)
    assert {c.name for c in scene_free} >= {"joint_acceleration_limits", "root_height", "root_tilt"}
    for result in scene_free:
        assert result == report.check(result.name)


def test_report_round_trips_through_json(checker, walk):
    report = checker.check(corrupt(walk, "teleporting_root"))
    text = report.to_json()
    json.loads(text)  # strict JSON (no NaN)
    again = SimReport.from_json(text)
    assert again == report
    assert again.summary() == report.summary()


def test_non_finite_values_in_reports_stay_valid_json():
    check = CheckResult("x", False, float("inf"), 1.0, reason="r")
    report = SimReport.from_checks([check])
    assert SimReport.from_json(report.to_json()).checks[0].value == float("inf")


def _arrays(traj: G1Trajectory) -> dict:
    return {
        "fps": traj.fps,
        "root_pos": traj.root_pos.copy(),
        "root_quat": traj.root_quat.copy(),
        "joint_pos": traj.joint_pos.copy(),
    }


def _nan_joint(a):
    a["joint_pos"][3, 4] = np.nan


def _wrong_joint_count(a):
    a["joint_pos"] = a["joint_pos"][:, :23]


def _non_unit_quat(a):
    a["root_quat"][5] *= 1.5


def _no_frames(a):
    for key in ("root_pos", "root_quat", "joint_pos"):
        a[key] = a[key][:0]


def _one_frame(a):
    for key in ("root_pos", "root_quat", "joint_pos"):
        a[key] = a[key][:1]


def _bad_fps(a):
    a["fps"] = -5


def _string_array(a):
    a["joint_pos"] = "not an array"


def _mismatched_lengths(a):
    a["root_pos"] = a["root_pos"][:-3]


def _far_away_root(a):
    a["root_pos"][:, 0] = 1e7


@pytest.mark.parametrize(
    ("change", "failed_check"),
    [
        (_nan_joint, "valid_input"),
        (_wrong_joint_count, "valid_input"),
        (_non_unit_quat, "valid_input"),
        (_no_frames, "valid_input"),
        (_one_frame, "valid_input"),
        (_bad_fps, "valid_input"),
        (_string_array, "valid_input"),
        (_mismatched_lengths, "valid_input"),
        (_far_away_root, "valid_input"),
    ],
)
def test_bad_arrays_give_a_failed_report_not_an_exception(checker, change, failed_check):
    arrays = _arrays(_standing(20))
    change(arrays)
    report = checker.check_arrays(**arrays)
    assert not report.passed
    assert report.failed_names == (failed_check,), report.summary()
    assert report.failed_checks[0].reason


def test_absurd_root_height_fails_the_height_check(checker):
    arrays = _arrays(_standing(20))
    arrays["root_pos"][:, 2] = 25.0
    report = checker.check_arrays(**arrays)
    assert "root_height" in report.failed_names


def test_joint_names_must_be_the_official_order(checker):
    arrays = _arrays(_standing(10))
    swapped = list(JOINT_NAMES)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    report = checker.check_arrays(**arrays, joint_names=swapped)
    assert report.failed_names == ("valid_input",)
    assert "different order" in report.failed_checks[0].reason
    report = checker.check_arrays(**arrays, joint_names=JOINT_NAMES[:28])
    assert report.failed_names == ("valid_input",)
    assert checker.check_arrays(**arrays, joint_names=JOINT_NAMES).passed


def test_check_never_raises_even_for_a_non_trajectory(checker):
    report = checker.check("walk to the red box")  # type: ignore[arg-type]
    assert not report.passed and report.failed_checks[0].reason


def test_work_limits_refuse_long_trajectories_and_enforce_the_time_budget(walk):
    refusing = SimChecker(SimCheckConfig(max_duration_s=1.0))
    report = refusing.check(walk)
    assert report.failed_names == ("work_limit",)
    assert "exceeds the limit" in report.failed_checks[0].reason
    hurried = SimChecker(SimCheckConfig(time_budget_s=1e-3))
    report = hurried.check(walk)
    assert "time_budget" in report.failed_names


def test_work_beyond_the_limits_is_refused_never_reported_as_a_failed_motion(walk):
    for config in (SimCheckConfig(max_duration_s=1.0), SimCheckConfig(time_budget_s=1e-3)):
        report = SimChecker(config).check(walk)
        assert report.state == "refused" and not report.passed
        assert report.summary().startswith("REFUSED: ")
        assert json.loads(report.to_json())["state"] == "refused"
        assert SimReport.from_json(report.to_json()).state == "refused"
    # A motion that fails a check is FAILED, even when the time budget ran out too.
    report = SimChecker(SimCheckConfig(time_budget_s=1e-3)).check(corrupt(walk, "teleporting_root"))
    assert report.state == "failed" and report.summary().startswith("FAILED: ")
    assert {"root_speed", "time_budget"} <= set(report.failed_names)
    assert SimChecker().check(walk).state == "passed"


@pytest.mark.parametrize(
    "values",
    [
        {"jitter_rad_s2": -1.0},
        {"assist_mean_max": float("nan")},
        {"root_height_range_m": (1.0, 0.5)},
        {"assist_mean_max": 5.0, "assist_peak_max": 1.0},
        {"no_such_threshold": 1.0},
        {"max_tilt_deg": 270.0},
    ],
)
def test_config_rejects_bad_thresholds(values):
    with pytest.raises(InvalidSimConfigError):
        SimCheckConfig.from_dict(values)


def test_config_round_trips_through_a_dict():
    config = SimCheckConfig(jitter_rad_s2=12.0)
    assert SimCheckConfig.from_dict(config.to_dict()) == config


def test_a_real_fall_is_rejected(checker):
    """amp/fallAndGetUp1_subject1 lies on the floor: a robot must not be sent into it."""
    clip = load_reference_clip(fetch("amp/fallAndGetUp1_subject1"))
    report = checker.check(G1Trajectory.from_qpos(clip.qpos()[1000:1100], clip.fps))
    assert "root_tilt" in report.failed_names, report.summary()
