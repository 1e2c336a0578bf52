"""Did the robot do what a scene command asked? Judged on the G1, in the simulator.

A generated human motion is retargeted to the G1 (:func:`retargeting.retargeter.retarget`)
and played in the MuJoCo scene it was asked about (:class:`sim.checker.SimChecker` with
the scene's objects), which is where a user's robot would carry it out:

* **walk to X** succeeds when the G1's pelvis ends within ``reach_m`` (0.5 m) of X's
  near side (:meth:`sim.scene.SceneObject.floor_distance`) and the robot never touches
  X or anything else on the way (the check's ``object_collision``);
* **face X** succeeds when the G1 ends facing within ``face_deg`` (20°) of X, the
  bearing taken from where it ends.

The simulation gate's own verdict comes along (``gate_passed``), so one evaluation says
both whether the command was obeyed and whether the motion would be let through.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["FACE_DEG", "REACH_M", "G1SceneJudge", "G1SceneOutcome"]

REACH_M = 0.5
FACE_DEG = 20.0


@dataclass(frozen=True)
class G1SceneOutcome:
    success: bool
    action: str
    reach_m: float  # pelvis to the target's footprint at the end (walk to), metres
    facing_error_deg: float  # end heading against the bearing of the target, degrees
    touched: bool  # the robot touched an object on the way
    gate_passed: bool
    gate_summary: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _yaw(quat_wxyz: np.ndarray) -> float:
    w, x, y, z = quat_wxyz
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


class G1SceneJudge:
    """Judges motions in scenes; simulator models are built once per scene and reused."""

    # An evaluation judges each scene twice (its own image, then another scene's); a
    # compiled scene holds ~140 MB, so only the last few are kept (a quick run's all).
    KEPT_SCENES = 4

    def __init__(self, reach_m: float = REACH_M, face_deg: float = FACE_DEG) -> None:
        self.reach_m = reach_m
        self.face_deg = face_deg
        self._checkers: OrderedDict[str, Any] = OrderedDict()

    def _checker(self, scene: Any) -> Any:
        from sim.checker import SimChecker

        key = repr(scene.to_dict())
        if key not in self._checkers:
            self._checkers[key] = SimChecker(scene=scene)
            while len(self._checkers) > self.KEPT_SCENES:
                self._checkers.popitem(last=False)
        self._checkers.move_to_end(key)
        return self._checkers[key]

    def judge(self, joints: np.ndarray, fps: float, params: dict[str, Any]) -> G1SceneOutcome:
        """``joints``: the human motion (``[T, 22, 3]``); ``params``: a scene sample's
        dataset parameters (``scene_task`` and ``scene``)."""
        from retargeting.retargeter import retarget
        from sim.scene import SceneDescription

        task = params["scene_task"]
        scene = SceneDescription.from_dict(params["scene"])
        target = next(o for o in scene.objects if o.name == task["target"]["name"])
        trajectory = retarget(joints, fps)
        report = self._checker(scene).check(trajectory)
        touched = not report.check("object_collision").passed
        x, y = (float(v) for v in trajectory.root_pos[-1, :2])
        reach = target.floor_distance(x, y)
        bearing = math.atan2(target.position[1] - y, target.position[0] - x)
        error = math.degrees(_yaw(trajectory.root_quat[-1]) - bearing)
        error = abs((error + 180.0) % 360.0 - 180.0)
        if task["action"] == "walk_to":
            success = reach <= self.reach_m and not touched
        else:
            success = error <= self.face_deg
        return G1SceneOutcome(
            success=bool(success),
            action=task["action"],
            reach_m=reach,
            facing_error_deg=error,
            touched=touched,
            gate_passed=report.passed,
            gate_summary=report.summary(),
        )
