"""``SimChecker``: the one entry point that judges a trajectory; it never raises.

    checker = SimChecker()                      # or SimChecker(config, scene)
    report = checker.check(trajectory)          # G1Trajectory
    report = checker.check_arrays(fps, root_pos, root_quat, joint_pos, joint_names)
    if report.passed: ...                       # else report.summary() says why

Order of work: validate the input (a bad array is a failed ``valid_input`` check, not
an exception), refuse work beyond the configured size, run the kinematic check
(cheap, and it names most problems precisely), then the dynamic check (physics)
within the remaining time budget. Compiled MuJoCo models are built once per checker.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence

import numpy as np

from retargeting.g1 import JOINT_NAMES, NUM_JOINTS
from retargeting.trajectory import G1Trajectory, InvalidTrajectoryError
from sim.config import SimCheckConfig
from sim.dynamic_check import BudgetExceededError, PhysicsScene, dynamic_checks
from sim.kinematic_check import ContactIndex, kinematic_checks
from sim.report import CheckResult, SimReport
from sim.scene import SceneDescription, build_scene_model

__all__ = ["SimChecker"]

_FAR_M = 1000.0  # farther than any G1 motion goes; the simulator loses precision there


def _failed(name: str, reason: str, value: float = 1.0, threshold: float = 0.0) -> CheckResult:
    return CheckResult(name, False, float(value), float(threshold), "", reason)


class SimChecker:
    """Plays G1 trajectories on the MuJoCo G1 in ``scene`` and judges them by ``config``."""

    def __init__(
        self, config: SimCheckConfig | None = None, scene: SceneDescription | None = None
    ) -> None:
        self.config = config or SimCheckConfig()
        self.scene = scene or SceneDescription()
        self.model = build_scene_model(self.scene)
        self._contacts = ContactIndex.of(self.model)
        self._physics = PhysicsScene.build(self.scene, self.config)

    def check_arrays(
        self,
        fps: float,
        root_pos: np.ndarray,
        root_quat: np.ndarray,
        joint_pos: np.ndarray,
        joint_names: Sequence[str] | None = None,
    ) -> SimReport:
        """Check raw arrays (``joint_names``, when given, must be the official order)."""
        start = time.perf_counter()
        try:
            if joint_names is not None and tuple(joint_names) != JOINT_NAMES:
                names = list(joint_names)
                if sorted(names) == sorted(JOINT_NAMES):
                    problem = "joint_names are the G1's joints in a different order"
                else:
                    problem = (
                        f"joint_names must be the {NUM_JOINTS} G1 joints in official order, "
                        f"got {len(names)} names starting {names[:3]}"
                    )
                return self._invalid(problem, start)
            trajectory = G1Trajectory(fps, root_pos, root_quat, joint_pos)
        except (InvalidTrajectoryError, TypeError, ValueError) as err:
            return self._invalid(str(err), start)
        return self.check(trajectory)

    def check(self, trajectory: G1Trajectory) -> SimReport:
        """The verdict on ``trajectory``; any failure inside becomes a failed check."""
        start = time.perf_counter()
        try:
            return self._check(trajectory, start)
        except Exception as err:  # the checker must answer, never crash its caller
            detail = "".join(traceback.format_exception_only(type(err), err)).strip()
            return SimReport.from_checks(
                [_failed("internal_error", f"the check itself failed: {detail}")],
                timing_s={"total": time.perf_counter() - start},
            )

    # --- stages ------------------------------------------------------------------
    def _invalid(self, problem: str, start: float) -> SimReport:
        return SimReport.from_checks(
            [_failed("valid_input", problem)], timing_s={"total": time.perf_counter() - start}
        )

    def _refusal(self, trajectory: G1Trajectory) -> CheckResult | None:
        config = self.config
        if not isinstance(trajectory, G1Trajectory):
            return _failed("valid_input", f"expected a G1Trajectory, got {type(trajectory)}")
        if trajectory.num_frames < 2:
            return _failed("valid_input", "a trajectory needs at least 2 frames to be checked")
        if np.abs(trajectory.root_pos).max() > _FAR_M:
            return _failed("valid_input", f"root positions beyond {_FAR_M:g} m are not a motion")
        if trajectory.fps > config.max_fps:
            return _failed(
                "work_limit", f"fps {trajectory.fps:g} exceeds the limit {config.max_fps:g}",
                trajectory.fps, config.max_fps,
            )  # fmt: skip
        if trajectory.duration_s > config.max_duration_s:
            return _failed(
                "work_limit",
                f"{trajectory.duration_s:.1f} s of motion exceeds the limit of "
                f"{config.max_duration_s:g} s per request",
                trajectory.duration_s, config.max_duration_s,
            )  # fmt: skip
        return None

    def _check(self, trajectory: G1Trajectory, start: float) -> SimReport:
        refusal = self._refusal(trajectory)
        if refusal is not None:
            return SimReport.from_checks(
                [refusal],
                timing_s={"total": time.perf_counter() - start},
                num_frames=getattr(trajectory, "num_frames", 0),
                fps=getattr(trajectory, "fps", 0.0),
            )
        deadline = start + self.config.time_budget_s
        checks, metrics = kinematic_checks(self.model, trajectory, self.config, self._contacts)
        timing = {"kinematic": time.perf_counter() - start}
        dynamic_start = time.perf_counter()
        try:
            dyn_checks, dyn_metrics = dynamic_checks(
                self._physics, trajectory, self.config, deadline
            )
            checks += dyn_checks
            metrics.update(dyn_metrics)
        except BudgetExceededError as err:
            checks.append(
                _failed(
                    "time_budget",
                    f"physics did not finish within {self.config.time_budget_s:g} s ({err})",
                    time.perf_counter() - start, self.config.time_budget_s,
                )
            )  # fmt: skip
        timing["dynamic"] = time.perf_counter() - dynamic_start
        timing["total"] = time.perf_counter() - start
        metrics["duration_s"] = trajectory.duration_s
        return SimReport.from_checks(checks, metrics, timing, trajectory.num_frames, trajectory.fps)
