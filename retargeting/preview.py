"""A picture to check a retarget by eye: the human above, the G1 below, a few frames.

Both are drawn as stick figures in 3-D (Z up, matplotlib, no display needed), each
centred on its own pelvis with the same metric scale, so a reader compares poses,
not positions. The G1 plot also marks the landmark targets (crosses): where the
G1 misses them, the retarget had to compromise (joint limits, contact pinning).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window
import matplotlib.pyplot as plt
import mujoco
import numpy as np

from retargeting.g1 import SITE, load_g1_model
from retargeting.human_input import HUMAN_PARENTS, to_z_up
from retargeting.retargeter import RetargetResult

__all__ = ["save_preview"]

_HALF_EXTENT_M = 0.9


def _g1_segments(model: mujoco.MjModel, data: mujoco.MjData) -> list[np.ndarray]:
    """Line segments joining each body to its parent, plus head and hands."""
    segments = [
        np.stack([data.xpos[model.body_parentid[b]], data.xpos[b]])
        for b in range(2, model.nbody)  # body 0 is the world, body 1 the floating pelvis
    ]
    for site, body in (("head", "torso_link"), ("left_hand", None), ("right_hand", None)):
        sid = model.site(SITE[site]).id
        parent = model.site_bodyid[sid] if body is None else model.body(body).id
        segments.append(np.stack([data.xpos[parent], data.site_xpos[sid]]))
    return segments


def _frame_axes(ax, centre: np.ndarray, title: str) -> None:
    ax.set_xlim(centre[0] - _HALF_EXTENT_M, centre[0] + _HALF_EXTENT_M)
    ax.set_ylim(centre[1] - _HALF_EXTENT_M, centre[1] + _HALF_EXTENT_M)
    ax.set_zlim(0.0, 2 * _HALF_EXTENT_M)
    ax.set_box_aspect((1, 1, 1))
    ax.set_title(title, fontsize=9)
    ax.view_init(elev=12, azim=-60)
    # Axes span 1.8 m each way; numbers on them would only clutter small panels.
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])


def save_preview(
    path: str | Path,
    human_joints: np.ndarray,
    human_fps: float,
    result: RetargetResult,
    num_frames: int = 4,
) -> Path:
    """Write a PNG comparing the human (``[T,22,3]``, Y up) and the G1 at a few frames."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    path = Path(path)
    human = to_z_up(np.asarray(human_joints, dtype=np.float64))
    traj = result.trajectory
    out_frames = np.linspace(0, traj.num_frames - 1, num_frames).round().astype(int)
    model = load_g1_model()
    data = mujoco.MjData(model)
    floor = np.nanmin(human[0, :, 2])
    fig = plt.figure(figsize=(3.2 * num_frames, 6.4))
    for col, t in enumerate(out_frames):
        time_s = t / traj.fps
        h = human[min(len(human) - 1, round(time_s * human_fps))].copy()
        h[:, 2] -= floor
        ax = fig.add_subplot(2, num_frames, col + 1, projection="3d")
        for j, p in enumerate(HUMAN_PARENTS[1:], start=1):
            ax.plot(*np.stack([h[p], h[j]]).T, color="tab:blue", lw=2)
        _frame_axes(ax, h[0], f"human  t={time_s:.2f} s")
        data.qpos[:] = traj.qpos()[t]
        mujoco.mj_kinematics(model, data)
        ax = fig.add_subplot(2, num_frames, num_frames + col + 1, projection="3d")
        for seg in _g1_segments(model, data):
            ax.plot(*seg.T, color="tab:orange", lw=2)
        ax.scatter(*result.targets[t].T, marker="x", color="black", s=12)
        feet = "".join("LR"[i] for i in range(2) if result.contact[t, i]) or "-"
        _frame_axes(ax, data.xpos[1], f"G1  contact: {feet}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
