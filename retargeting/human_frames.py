"""Body frames built from joint positions alone.

HumanML3D-style motion carries positions, not rotations, so the orientation of the
pelvis, the torso and each foot is reconstructed from the skeleton (Z up, G1
convention: x forward, y left, z up):

- a frame from a *left* and an *up* vector: ``z = up/|up|``, ``y`` = ``left`` with
  its ``z`` component removed and normalised, ``x = y × z``. The up vector is
  trusted most because the spine is the longest, best-measured segment.
- pelvis: left = left hip − right hip, up = spine1 − pelvis;
- torso: left = left shoulder − right shoulder, up = neck − spine1;
- foot: yaw from the horizontal part of ankle → toe, pitch from its slope relative
  to the slope the same foot has when standing (the toe joint sits lower than the
  ankle even on a flat foot); no roll, which positions cannot tell from a tilted foot.
"""

from __future__ import annotations

import numpy as np

from retargeting.human_input import J

__all__ = [
    "foot_pitch",
    "foot_yaw",
    "frame_from_left_up",
    "pelvis_rotation",
    "torso_rotation",
    "yaw_rotation",
]

_EPS = 1e-9


def frame_from_left_up(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Rotation matrix with columns (forward, left, up); see the module docstring."""
    z = up / max(np.linalg.norm(up), _EPS)
    y = left - np.dot(left, z) * z
    norm = np.linalg.norm(y)
    if norm < 1e-6:
        # Left parallel to up (a folded skeleton): any horizontal left keeps a valid frame.
        y = np.cross(z, [1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.cross(z, [0.0, 1.0, 0.0])
        norm = np.linalg.norm(y)
    y = y / norm
    # x = y × z, written out: np.cross costs more than the rest of this function.
    x = np.array([y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]])
    return np.column_stack([x, y, z])


def pelvis_rotation(frame: np.ndarray) -> np.ndarray:
    return frame_from_left_up(
        frame[J["left_hip"]] - frame[J["right_hip"]], frame[J["spine1"]] - frame[J["pelvis"]]
    )


def torso_rotation(frame: np.ndarray) -> np.ndarray:
    return frame_from_left_up(
        frame[J["left_shoulder"]] - frame[J["right_shoulder"]],
        frame[J["neck"]] - frame[J["spine1"]],
    )


def yaw_rotation(yaw: float, pitch: float = 0.0) -> np.ndarray:
    """``Rz(yaw) @ Ry(pitch)``: heading, then toes down for positive pitch."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    return np.array([[cy * cp, -sy, cy * sp], [sy * cp, cy, sy * sp], [-sp, 0.0, cp]])


def foot_pitch(frame: np.ndarray, side: str) -> float:
    """Slope of ankle → toe below the horizontal (radians, positive = toe lower)."""
    d = frame[J[f"{side}_foot"]] - frame[J[f"{side}_ankle"]]
    return float(np.arctan2(-d[2], np.hypot(d[0], d[1])))


def foot_yaw(frame: np.ndarray, side: str, fallback_yaw: float) -> float:
    """Heading of ankle → toe (radians about Z), or ``fallback_yaw`` for a foot pointing
    straight down, which has no heading of its own."""
    d = frame[J[f"{side}_foot"]] - frame[J[f"{side}_ankle"]]
    if np.hypot(d[0], d[1]) <= 0.02:
        return fallback_yaw
    return float(np.arctan2(d[1], d[0]))
