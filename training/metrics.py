"""Motion-quality metrics that need no learned weights, as the MBench benchmark defines them.

All functions take joints ``[T, 22, 3]`` in metres at 20 fps, **Z up** (convert HumanML3D's
Y-up joints with :func:`to_z_up`), floor at height 0; velocities are per frame, as in MBench.
The feet are joints 10 and 11 (SMPL left/right foot). With ``p_t`` the joint positions,
``v_t = p_{t+1} - p_t`` (the last velocity repeated so every frame has one), ``r_t`` the
pelvis and ``\\bar p_t = p_t - r_t`` the root-relative joints:

- jitter degree: ``mean‖Δ²p‖ + mean‖Δ²\\bar p‖`` (acceleration, global plus local);
- dynamic degree: ``mean‖Δp‖ + mean‖Δ\\bar p‖`` (speed, global plus local);
- contact: a foot is in contact when ``‖v‖ < 0.01`` m/frame or its height ``< 0.02`` m;
- foot sliding: per foot, the mean horizontal speed ``‖v_xy‖`` over contact frames,
  averaged over both feet (m/frame);
- ground penetration: the mean depth ``|z|`` of the foot samples below ``-5`` mm (0 if none);
- foot floating: the fraction of frames where the feet move inconsistently with the root
  (MBench's frame check with ratios 0.6 / 1.75, plus its sequence-floating and
  mass-floating terms, see :func:`foot_floating`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "FOOT_JOINTS",
    "MotionMetricError",
    "count_peaks",
    "dynamic_degree",
    "foot_contact",
    "foot_floating",
    "foot_sliding",
    "geometry_metrics",
    "ground_penetration",
    "heading_deg",
    "jitter_degree",
    "to_z_up",
]

FOOT_JOINTS = (10, 11)
CONTACT_SPEED = 0.01  # m/frame
CONTACT_HEIGHT = 0.02  # m
PENETRATION_TOLERANCE = 0.005  # m
_STILL_ROOT = 0.001  # m/frame: the root is considered at rest below this
_MOVING = 1.2e-4  # m/frame
_RATE_LOW, _RATE_HIGH = 0.6, 1.75


class MotionMetricError(ValueError):
    """Joints of the wrong shape, too short, or not finite."""


def _check(joints: np.ndarray, min_frames: int = 3) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3):
        raise MotionMetricError(f"joints must be [T, 22, 3], got {joints.shape}")
    if joints.shape[0] < min_frames:
        raise MotionMetricError(f"need at least {min_frames} frames, got {joints.shape[0]}")
    if not np.isfinite(joints).all():
        raise MotionMetricError("joints contain NaN or infinite values")
    return joints


def to_z_up(joints_y_up: np.ndarray) -> np.ndarray:
    """HumanML3D joints (Y up, facing +Z) -> Z up (the simulator's world frame, facing +X)."""
    joints = np.asarray(joints_y_up, dtype=np.float64)
    return joints[..., [2, 0, 1]]


def _velocity(x: np.ndarray) -> np.ndarray:
    v = np.diff(x, axis=0)
    return np.concatenate([v, v[-1:]], axis=0)


def jitter_degree(joints: np.ndarray) -> float:
    joints = _check(joints)
    local = joints - joints[:, :1]
    return float(
        np.linalg.norm(np.diff(joints, 2, axis=0), axis=-1).mean()
        + np.linalg.norm(np.diff(local, 2, axis=0), axis=-1).mean()
    )


def dynamic_degree(joints: np.ndarray) -> float:
    joints = _check(joints, 2)
    local = joints - joints[:, :1]
    return float(
        np.linalg.norm(np.diff(joints, axis=0), axis=-1).mean()
        + np.linalg.norm(np.diff(local, axis=0), axis=-1).mean()
    )


def foot_contact(joints: np.ndarray) -> np.ndarray:
    """``bool [T, 2]``: slow or low feet."""
    feet = _check(joints, 2)[:, FOOT_JOINTS]
    speed = np.linalg.norm(_velocity(feet), axis=-1)
    return (speed < CONTACT_SPEED) | (feet[..., 2] < CONTACT_HEIGHT)


def foot_sliding(joints: np.ndarray) -> float:
    joints = _check(joints, 2)
    contact = foot_contact(joints)
    horizontal = np.linalg.norm(_velocity(joints[:, FOOT_JOINTS])[..., :2], axis=-1)
    per_foot = (horizontal * contact).sum(0) / (contact.sum(0) + 1e-6)
    return float(per_foot.mean())


def ground_penetration(joints: np.ndarray) -> float:
    height = _check(joints, 1)[:, FOOT_JOINTS, 2]
    below = -height[height < -PENETRATION_TOLERANCE]
    return float(below.mean()) if below.size else 0.0


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(start, end)`` of every run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.diff(padded)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def count_peaks(values: np.ndarray) -> int:
    """Local maxima of a 1-D signal, a plateau counting once (as ``scipy.signal.find_peaks``)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 3:
        return 0
    distinct = values[np.concatenate([[True], np.diff(values) != 0])]
    middle = distinct[1:-1]
    return int(((middle > distinct[:-2]) & (middle > distinct[2:])).sum())


def foot_floating(joints: np.ndarray) -> float:
    """Fraction of frames with floating feet (MBench's three terms, summed).

    1. frame check: while the root moves, a foot in contact whose speed relative to the
       root is below 0.6x or above 1.75x the root's speed is invalid (both feet when both
       are in contact); frames where no foot is valid count;
    2. sequence floating: within each airborne run (>= 4 frames, root mostly moving), runs
       where that ratio is below 0.4 add half their length;
    3. mass floating: runs where both feet are airborne (>= 4 frames) and the left foot's
       direction from its take-off point oscillates (more than two peaks of the angle to
       its landing direction) add their length.
    """
    joints = _check(joints, 2)
    frames = len(joints)
    contact = foot_contact(joints)
    root_speed = np.linalg.norm(_velocity(joints[:, 0]), axis=-1)
    feet = joints[:, FOOT_JOINTS]
    foot_speed = np.linalg.norm(_velocity(feet), axis=-1)
    relative_speed = np.linalg.norm(_velocity(feet - joints[:, None, 0]), axis=-1)
    rate = relative_speed / (root_speed[:, None] + 1e-6)
    moving = foot_speed > _MOVING
    invalid = (rate < _RATE_LOW) & moving | (rate > _RATE_HIGH) & moving & (
        root_speed[:, None] > _MOVING
    )
    invalid &= (root_speed >= _STILL_ROOT)[:, None]
    both = contact.all(1) & invalid.all(1)
    left_only = contact[:, 0] & ~contact[:, 1] & invalid[:, 0]
    right_only = contact[:, 1] & ~contact[:, 0] & invalid[:, 1]
    flags = np.ones((frames, 2), dtype=np.int64)
    flags[both] = 0
    flags[left_only & ~both, 0] = 0
    flags[right_only & ~both & ~left_only, 1] = 0
    invalid_frames = float((flags.sum(1) <= 1).sum())

    airborne = [_runs(~contact[:, i]) for i in range(2)]
    sequence = 0
    for foot in range(2):
        for start, end in airborne[foot]:
            if end - start + 1 < 4:
                continue
            if (root_speed[start : end + 1] < _STILL_ROOT).mean() > 0.5:
                continue
            low = rate[start : end + 1, foot] < _RATE_LOW - 0.2
            sequence += sum(e - s + 1 for s, e in _runs(low))
    invalid_frames += sequence / 2

    for s_left, e_left in airborne[0]:
        for s_right, e_right in airborne[1]:
            start, end = max(s_left, s_right), min(e_left, e_right)
            if start >= end or end - start + 1 < 4:
                continue
            landing = feet[end, 0] - feet[start, 0]
            path = feet[start + 1 : end + 1, 0] - feet[start, 0]
            cos = (path @ landing) / (
                (np.linalg.norm(path, axis=-1) + 1e-6) * (np.linalg.norm(landing) + 1e-6)
            )
            angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
            if count_peaks(angles) > 2:
                invalid_frames += end - start + 1
    return invalid_frames / frames


def heading_deg(joints_y_up: np.ndarray) -> np.ndarray:
    """Unwrapped body heading per frame (degrees; 0 faces +Z, positive turns left), from
    the hip and shoulder lines of HumanML3D (Y-up) joints."""
    joints = np.asarray(joints_y_up, dtype=np.float64)
    across = (joints[:, 2] - joints[:, 1]) + (joints[:, 17] - joints[:, 16])
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    yaw = np.arctan2(forward[:, 0], forward[:, 2])
    return np.degrees(np.unwrap(yaw))


def geometry_metrics(joints_y_up: np.ndarray) -> dict[str, float]:
    """All MBench geometry metrics of one motion given as HumanML3D (Y-up) joints."""
    joints = to_z_up(_check(joints_y_up))
    values = {
        "jitter_degree": jitter_degree(joints),
        "dynamic_degree": dynamic_degree(joints),
        "foot_sliding": foot_sliding(joints),
        "foot_floating": foot_floating(joints),
        "ground_penetration": ground_penetration(joints),
    }
    assert all(math.isfinite(v) for v in values.values())
    return values
