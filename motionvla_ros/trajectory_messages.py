"""A :class:`G1Trajectory` as two standard messages with one stamp.

``trajectory_msgs/JointTrajectory`` carries the 29 joints (official Unitree names
and order, positions and velocities, ``time_from_start`` = frame / fps) but has no
field for the floating base, which the simulation check needs. The base path goes
out as ``nav_msgs/Path`` (one ``PoseStamped`` per frame, stamped
``header.stamp + time_from_start``). Both messages share ``header.stamp``, which
identifies the trajectory: a receiver pairs them by that stamp
(:mod:`motionvla_ros.pairing`) and rebuilds the trajectory with
:func:`msgs_to_trajectory`. :func:`declared_length` reads a serialized message's stamp
and number of points before it is deserialized, so that an over-long one is refused
without building a Python object per point.
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from retargeting.g1 import JOINT_NAMES
from retargeting.trajectory import G1Trajectory, InvalidTrajectoryError

__all__ = [
    "TrajectoryMessageError",
    "declared_length",
    "msgs_to_trajectory",
    "stamp_key",
    "trajectory_to_msgs",
]

_NS = 1_000_000_000
# Frame times may be rounded to whole nanoseconds; anything beyond this is not a fixed rate.
_RATE_TOLERANCE = 1e-3


class TrajectoryMessageError(ValueError):
    """A JointTrajectory/Path pair does not describe a G1 trajectory."""


def stamp_key(stamp: Time) -> int:
    """The stamp as integer nanoseconds: the key that pairs a trajectory with its path."""
    return int(stamp.sec) * _NS + int(stamp.nanosec)


def _time(ns: int) -> Time:
    return Time(sec=ns // _NS, nanosec=ns % _NS)


def _duration(ns: int) -> Duration:
    return Duration(sec=ns // _NS, nanosec=ns % _NS)


def trajectory_to_msgs(
    trajectory: G1Trajectory, stamp: Time, frame_id: str = "world"
) -> tuple[JointTrajectory, Path]:
    """The joint trajectory and the base path of ``trajectory``, both stamped ``stamp``."""
    start_ns = stamp_key(stamp)
    offsets_ns = np.round(np.arange(trajectory.num_frames) * (_NS / trajectory.fps)).astype(int)
    velocities = trajectory.joint_velocities()

    joints = JointTrajectory()
    joints.header.stamp = stamp
    joints.header.frame_id = frame_id
    joints.joint_names = list(JOINT_NAMES)
    joints.points = [
        JointTrajectoryPoint(
            positions=trajectory.joint_pos[i].tolist(),
            velocities=velocities[i].tolist(),
            time_from_start=_duration(int(offsets_ns[i])),
        )
        for i in range(trajectory.num_frames)
    ]

    path = Path()
    path.header.stamp = stamp
    path.header.frame_id = frame_id
    for i in range(trajectory.num_frames):
        pose = PoseStamped()
        pose.header.stamp = _time(start_ns + int(offsets_ns[i]))
        pose.header.frame_id = frame_id
        x, y, z = trajectory.root_pos[i]
        w, qx, qy, qz = trajectory.root_quat[i]
        pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = x, y, z
        o = pose.pose.orientation
        o.w, o.x, o.y, o.z = w, qx, qy, qz
        path.poses.append(pose)
    return joints, path


class _CdrCursor:
    """Reads the leading fields of a serialized (CDR) message, bounds-checked."""

    _HEADER = 4  # encapsulation: representation id (its low bit: little endian), options

    def __init__(self, raw: bytes) -> None:
        if len(raw) < self._HEADER:
            raise TrajectoryMessageError(f"serialized message of {len(raw)} bytes")
        self.raw = raw
        self.order = "little" if raw[1] & 1 else "big"
        self.position = self._HEADER

    def uint32(self) -> int:
        # CDR aligns a 4-byte value to 4 bytes, counted from the end of the header.
        self.position += -(self.position - self._HEADER) % 4
        end = self.position + 4
        if end > len(self.raw):
            raise TrajectoryMessageError("serialized message ends inside its header")
        value = int.from_bytes(self.raw[self.position : end], self.order)
        self.position = end
        return value

    def skip_string(self) -> None:
        length = self.uint32()
        self.position += length
        if self.position > len(self.raw):
            raise TrajectoryMessageError("serialized message ends inside a string")


def declared_length(raw: bytes, msg_type: type[JointTrajectory] | type[Path]) -> tuple[int, int]:
    """(stamp key, number of points or poses) of a serialized JointTrajectory or Path."""
    cursor = _CdrCursor(raw)
    sec, nanosec = cursor.uint32(), cursor.uint32()
    stamp_ns = (sec - (1 << 32) * (sec >> 31)) * _NS + nanosec  # sec is a signed int32
    cursor.skip_string()  # header.frame_id
    if msg_type is JointTrajectory:
        for _ in range(cursor.uint32()):  # joint_names: each string takes >= 4 bytes
            cursor.skip_string()
    elif msg_type is not Path:
        raise TypeError(f"expected JointTrajectory or Path, got {msg_type}")
    return stamp_ns, cursor.uint32()


def _frame_rate(joints: JointTrajectory) -> float:
    times = np.array(
        [p.time_from_start.sec + p.time_from_start.nanosec / _NS for p in joints.points]
    )
    if times[0] != 0:
        raise TrajectoryMessageError(f"time_from_start must start at 0, not {times[0]:g} s")
    steps = np.diff(times)
    step = float(np.median(steps))
    if step <= 0 or np.any(np.abs(steps - step) > _RATE_TOLERANCE * step + 1e-9):
        raise TrajectoryMessageError(
            "time_from_start must increase at a fixed rate "
            f"(steps between {steps.min():.6f} and {steps.max():.6f} s)"
        )
    return 1.0 / step


def msgs_to_trajectory(joints: JointTrajectory, path: Path) -> G1Trajectory:
    """Rebuild the trajectory from a pair made by :func:`trajectory_to_msgs`.

    Joints named in another order are put back into the official order (a
    controller may list them differently); missing or unknown names, ragged
    points, a path of another length or invalid values raise
    :class:`TrajectoryMessageError`.
    """
    if len(joints.points) < 2:
        raise TrajectoryMessageError(
            f"a trajectory needs at least two points, this one has {len(joints.points)}"
        )
    names = list(joints.joint_names)
    if sorted(names) != sorted(JOINT_NAMES):
        missing = sorted(set(JOINT_NAMES) - set(names))
        unknown = sorted(set(names) - set(JOINT_NAMES))
        raise TrajectoryMessageError(
            f"joint_names must be the 29 G1 joints; missing {missing[:5]}, unknown {unknown[:5]}"
        )
    if len(path.poses) != len(joints.points):
        raise TrajectoryMessageError(
            f"root path has {len(path.poses)} poses for {len(joints.points)} trajectory points"
        )
    if any(len(p.positions) != len(names) for p in joints.points):
        raise TrajectoryMessageError("every trajectory point needs one position per joint")
    order = [names.index(n) for n in JOINT_NAMES]
    joint_pos = np.array([p.positions for p in joints.points], dtype=np.float64)[:, order]
    root_pos = np.array([[q.pose.position.x, q.pose.position.y, q.pose.position.z]
                         for q in path.poses])  # fmt: skip
    root_quat = np.array(
        [[q.pose.orientation.w, q.pose.orientation.x, q.pose.orientation.y,
          q.pose.orientation.z] for q in path.poses]
    )  # fmt: skip
    try:
        return G1Trajectory(_frame_rate(joints), root_pos, root_quat, joint_pos)
    except InvalidTrajectoryError as error:
        raise TrajectoryMessageError(str(error)) from error
