"""Deliberate faults for testing the check: each breaks a real clip in one known way.

Every corruption names the check meant to catch it (``CORRUPTIONS[name].check``);
tests and ``benchmarks/sim.py`` apply them to real G1 clips and expect that check to
fail. They act on the middle third of the clip, so the damage is not hidden at the
start or end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retargeting.g1 import JOINT_NAMES, g1_description
from retargeting.trajectory import G1Trajectory

__all__ = ["CORRUPTIONS", "Corruption", "corrupt"]


def _middle(traj: G1Trajectory) -> slice:
    third = max(traj.num_frames // 3, 1)
    return slice(third, 2 * third)


def _joint(name: str) -> int:
    return JOINT_NAMES.index(name)


def _past_joint_limit(qpos: np.ndarray, window: slice) -> None:
    """The left knee bent 0.5 rad past its upper limit."""
    knee = _joint("left_knee_joint")
    qpos[window, 7 + knee] = g1_description().position_limits[knee, 1] + 0.5


def _teleport(qpos: np.ndarray, window: slice) -> None:
    """The root jumps 1 m sideways from one frame to the next."""
    qpos[window.start :, 1] += 1.0


def _through_floor(qpos: np.ndarray, window: slice) -> None:
    """The whole body 0.2 m lower: feet sunk into the floor."""
    qpos[window, 2] -= 0.2


def _upside_down(qpos: np.ndarray, window: slice) -> None:
    """The pelvis turned 180° about its forward axis (quaternion times (0, 1, 0, 0))."""
    w, x, y, z = qpos[window, 3:7].T.copy()
    qpos[window, 3:7] = np.stack([-x, w, z, -y], axis=1)


def _arms_through_torso(qpos: np.ndarray, window: slice) -> None:
    """Both shoulders rolled 1 rad inwards, inside joint limits: the arms cut the torso."""
    qpos[window, 7 + _joint("left_shoulder_roll_joint")] = -1.0
    qpos[window, 7 + _joint("right_shoulder_roll_joint")] = 1.0
    qpos[window, 7 + _joint("left_shoulder_pitch_joint")] = 0.0
    qpos[window, 7 + _joint("right_shoulder_pitch_joint")] = 0.0


def _motor_overload(qpos: np.ndarray, window: slice) -> None:
    """Hips and knees chatter ±0.1 rad frame to frame (tiny speeds, huge accelerations)."""
    joints = [
        7 + _joint(f"{s}_{j}_joint") for s in ("left", "right") for j in ("hip_pitch", "knee")
    ]
    frames = np.arange(window.start, window.stop)
    qpos[np.ix_(frames, joints)] += 0.1 * np.where(frames % 2 == 0, 1.0, -1.0)[:, None]


@dataclass(frozen=True)
class Corruption:
    check: str  # the check meant to catch it
    apply: Callable[[np.ndarray, slice], None]

    @property
    def description(self) -> str:
        return (self.apply.__doc__ or "").strip()


CORRUPTIONS: dict[str, Corruption] = {
    "joint_limits_exceeded": Corruption("joint_position_limits", _past_joint_limit),
    "teleporting_root": Corruption("root_speed", _teleport),
    "feet_through_floor": Corruption("ground_penetration", _through_floor),
    "upside_down_root": Corruption("root_tilt", _upside_down),
    "arms_through_torso": Corruption("self_collision", _arms_through_torso),
    "motor_overload": Corruption("joint_acceleration_limits", _motor_overload),
}


def corrupt(traj: G1Trajectory, name: str) -> G1Trajectory:
    """A copy of ``traj`` with corruption ``name`` applied."""
    qpos = traj.qpos().copy()
    CORRUPTIONS[name].apply(qpos, _middle(traj))
    return G1Trajectory.from_qpos(qpos, traj.fps)
