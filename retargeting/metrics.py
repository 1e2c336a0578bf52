"""Quality figures of a retargeted clip, computed by forward kinematics on the G1.

- ``keypoint_error_mm``: mean distance between each landmark target (the scaled
  human keypoint) and the G1 landmark;
- ``foot_slide_mm_per_frame``: mean horizontal travel of a G1 foot between two
  consecutive frames in which the human foot is in contact;
- ``ground_penetration_mm``: deepest point of a sole contact sphere below the floor;
- ``joint_limit_violations``: count of (frame, joint) outside the position limits;
- ``max_joint_velocity_ratio``: max over frames and joints of ``|q̇| / q̇_max``
  (central differences);
- :func:`reference_joint_rmse` compares joint angles with another G1 clip of the
  same motion, after resampling it to this clip's rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from retargeting.g1 import g1_description, load_g1_model
from retargeting.scaling import LANDMARKS, g1_proportions
from retargeting.trajectory import G1Trajectory

__all__ = [
    "RetargetQuality",
    "landmark_positions",
    "reference_joint_rmse",
    "retarget_quality",
]


@dataclass(frozen=True)
class RetargetQuality:
    keypoint_error_mm: float
    foot_slide_mm_per_frame: float
    ground_penetration_mm: float
    joint_limit_violations: int
    max_joint_velocity_ratio: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _forward(trajectory: G1Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """Landmark positions ``[T, K, 3]`` and lowest sole point ``[T]`` per frame."""
    model = load_g1_model()
    data = mujoco.MjData(model)
    geoms = np.array(g1_proportions().foot_geoms)
    radius = model.geom_size[geoms, 0]
    ids = [
        (model.body(frame).id if kind == "body" else model.site(frame).id, kind)
        for frame, kind in LANDMARKS.values()
    ]
    positions = np.empty((trajectory.num_frames, len(ids), 3))
    sole = np.empty(trajectory.num_frames)
    for t, q in enumerate(trajectory.qpos()):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for k, (i, kind) in enumerate(ids):
            positions[t, k] = data.xpos[i] if kind == "body" else data.site_xpos[i]
        sole[t] = np.min(data.geom_xpos[geoms, 2] - radius)
    return positions, sole


def landmark_positions(trajectory: G1Trajectory) -> np.ndarray:
    """G1 landmark positions ``[T, K, 3]`` (order of ``scaling.LANDMARKS``)."""
    return _forward(trajectory)[0]


def retarget_quality(
    trajectory: G1Trajectory, targets: np.ndarray, contact: np.ndarray
) -> RetargetQuality:
    """Figures for a trajectory with its landmark targets ``[T,K,3]`` and contacts ``[T,2]``."""
    positions, sole = _forward(trajectory)
    names = list(LANDMARKS)
    feet = [names.index("left_foot"), names.index("right_foot")]
    step = np.linalg.norm(np.diff(positions[:, feet, :2], axis=0), axis=-1)  # [T-1, 2]
    held = contact[1:] & contact[:-1]
    desc = g1_description()
    joints = trajectory.joint_pos
    lo, hi = desc.position_limits[:, 0], desc.position_limits[:, 1]
    velocity = np.abs(trajectory.joint_velocities()) / desc.velocity_limits
    return RetargetQuality(
        keypoint_error_mm=float(1000 * np.linalg.norm(positions - targets, axis=-1).mean()),
        foot_slide_mm_per_frame=float(1000 * step[held].mean()) if held.any() else 0.0,
        ground_penetration_mm=float(1000 * max(0.0, -sole.min())),
        joint_limit_violations=int(np.count_nonzero((joints < lo) | (joints > hi))),
        max_joint_velocity_ratio=float(velocity.max()),
    )


def reference_joint_rmse(trajectory: G1Trajectory, reference: G1Trajectory) -> float:
    """RMSE (rad) of joint angles against ``reference`` resampled to this clip's times.

    Only the overlapping time span is compared (both clips start at t = 0).
    """
    duration = min(trajectory.duration_s, reference.duration_s)
    times = np.arange(trajectory.num_frames) / trajectory.fps
    times = times[times <= duration + 1e-9]
    ref_times = np.arange(reference.num_frames) / reference.fps
    ref = np.stack(
        [np.interp(times, ref_times, reference.joint_pos[:, j]) for j in range(29)], axis=1
    )
    return float(np.sqrt(np.mean((trajectory.joint_pos[: len(times)] - ref) ** 2)))
