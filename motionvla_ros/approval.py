"""What ``sim_check`` forwards: messages rebuilt from the trajectory it checked.

The incoming ``JointTrajectory`` carries fields the simulation never looks at
(``velocities``, ``accelerations``, ``effort``) and may carry them wrong: NaN, of
the wrong length, 1e6 rad/s. Forwarding the incoming message would hand those to the
controller under a "passed" verdict. :func:`approve` instead builds the approved pair
from the checked :class:`G1Trajectory` alone, with :func:`trajectory_to_msgs`:

* joint positions in the official order, clamped into the G1's joint ranges: the
  check tolerates a small excursion (``joint_limit_margin_rad``), the robot gets none;
* velocities recomputed from those positions by finite differences (clamping is a
  projection onto the ranges, so it never makes a difference larger);
* ``time_from_start`` regenerated from 0 at the checked rate (the check has already
  refused a start other than 0 or an uneven rate);
* no accelerations and no effort;
* the root path from the checked root (unit quaternions), each pose stamped
  ``header.stamp + time_from_start``.

:class:`Approval` says what differs from the incoming message, for the report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Path
from trajectory_msgs.msg import JointTrajectory

from motionvla_ros.trajectory_messages import trajectory_to_msgs
from retargeting.g1 import JOINT_NAMES, NUM_JOINTS
from retargeting.trajectory import G1Trajectory

__all__ = ["Approval", "approve"]


@dataclass(frozen=True)
class Approval:
    joints: JointTrajectory
    path: Path
    clamped_rad: dict[str, float]  # joint -> largest excursion past its range, clamped away
    dropped: tuple[str, ...]  # incoming fields whose values are not forwarded

    def summary(self) -> dict:
        return {
            "clamped_rad": self.clamped_rad,
            "dropped": list(self.dropped),
            "recomputed": ["velocities", "time_from_start"],
        }


def _incoming_fields(incoming: JointTrajectory) -> tuple[str, ...]:
    present = {
        name
        for point in incoming.points
        for name in ("velocities", "accelerations", "effort")
        if len(getattr(point, name))
    }
    if list(incoming.joint_names) != list(JOINT_NAMES):
        present.add("joint order")
    return tuple(sorted(present))


def approve(
    trajectory: G1Trajectory,
    incoming: JointTrajectory,
    position_limits: np.ndarray,
    frame_id: str,
    stamp: Time,
) -> Approval:
    """The messages to forward for ``trajectory``, which passed the check."""
    limits = np.asarray(position_limits, dtype=np.float64)
    if limits.shape != (NUM_JOINTS, 2):
        raise ValueError(f"position_limits must have shape [{NUM_JOINTS}, 2], got {limits.shape}")
    low, high = limits[:, 0], limits[:, 1]
    excess = np.maximum(trajectory.joint_pos - high, low - trajectory.joint_pos).max(axis=0)
    clamped = {JOINT_NAMES[j]: round(float(excess[j]), 6) for j in np.nonzero(excess > 0)[0]}
    safe = G1Trajectory(
        trajectory.fps,
        trajectory.root_pos,
        trajectory.root_quat,
        np.clip(trajectory.joint_pos, low, high),
    )
    joints, path = trajectory_to_msgs(safe, stamp, frame_id)
    return Approval(joints, path, clamped, _incoming_fields(incoming))
