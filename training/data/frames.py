"""The map between the human motion frame and the simulator's world frame.

Human motion (HumanML3D convention) is Y up; a body at rest faces +Z with its left on
+X. The MuJoCo world is Z up and the G1 stands at the origin facing +X with its left
on +Y. The map is the cyclic permutation

    (x_world, y_world, z_world) = (z_human, x_human, y_human)

a proper rotation (determinant +1: nothing is mirrored). A heading ``yaw`` about the
human +Y axis (0 faces +Z, positive turns left) is the same angle about the world +Z
axis (0 faces +X, positive turns left), so bearings carry over unchanged:
``atan2(y_world, x_world) == atan2(x_human, z_human)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HUMAN_TO_WORLD", "human_to_world", "world_to_human"]

HUMAN_TO_WORLD = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def human_to_world(points: np.ndarray) -> np.ndarray:
    """Human-frame points ``[..., 3]`` (Y up) in the simulator's world frame (Z up)."""
    return np.asarray(points, dtype=np.float64) @ HUMAN_TO_WORLD.T


def world_to_human(points: np.ndarray) -> np.ndarray:
    """World-frame points ``[..., 3]`` (Z up) in the human motion frame (Y up)."""
    return np.asarray(points, dtype=np.float64) @ HUMAN_TO_WORLD
