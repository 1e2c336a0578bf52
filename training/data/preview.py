"""Stick-figure contact sheets of motion clips (matplotlib, off-screen), for eyeballing data.

Each clip is one row: a side view (the body's start heading runs to the right) with
several frames spread out in time and overlaid, faded from early to late, plus a
top-down view of the pelvis path and the ankle positions while in contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from motionvla_model.motion.skeleton import SMPL22_PARENTS

__all__ = ["contact_sheet"]

_LEFT_JOINTS = {1, 4, 7, 10, 13, 16, 18, 20}
_RIGHT_JOINTS = {2, 5, 8, 11, 14, 17, 19, 21}


def _bone_colour(child: int) -> str:
    if child in _LEFT_JOINTS:
        return "tab:blue"
    return "tab:red" if child in _RIGHT_JOINTS else "black"


def contact_sheet(
    clips: Sequence[tuple[str, np.ndarray]],
    path: str | Path,
    *,
    frames_per_clip: int = 8,
    start_yaw: Sequence[float] | None = None,
) -> Path:
    """Draw ``(title, joints [T, 22, 3])`` clips into one PNG at ``path``.

    The side view projects onto the plane spanned by the start heading
    (``start_yaw[i]``, default 0: facing +Z) and the vertical.
    """
    rows = len(clips)
    fig, axes = plt.subplots(
        rows, 2, figsize=(14, 2.6 * rows), gridspec_kw={"width_ratios": [4, 1]}, squeeze=False
    )
    for row, (title, joints) in enumerate(clips):
        joints = np.asarray(joints, dtype=np.float64)
        yaw = 0.0 if start_yaw is None else start_yaw[row]
        forward = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
        side, top = axes[row]
        frames = np.linspace(0, len(joints) - 1, frames_per_clip).round().astype(int)
        along = joints @ forward
        spread = max(float(np.ptp(along[:, 0])), 0.0)
        for order, f in enumerate(frames):
            # Spread frames apart horizontally when the body barely travels.
            shift = 0.0 if spread > 1.0 else order * 0.7
            alpha = 0.25 + 0.75 * order / max(1, len(frames) - 1)
            for child, parent in enumerate(SMPL22_PARENTS):
                if parent < 0:
                    continue
                xs = [along[f, parent] + shift, along[f, child] + shift]
                ys = [joints[f, parent, 1], joints[f, child, 1]]
                side.plot(xs, ys, color=_bone_colour(child), alpha=alpha, lw=1.5)
        side.axhline(0.0, color="grey", lw=0.8)
        side.set_aspect("equal")
        side.set_title(title, fontsize=9, loc="left")
        top.plot(joints[:, 0, 0], joints[:, 0, 2], color="black", lw=1)
        top.plot(joints[:, 7, 0], joints[:, 7, 2], ".", color="tab:blue", ms=2)
        top.plot(joints[:, 8, 0], joints[:, 8, 2], ".", color="tab:red", ms=2)
        top.set_aspect("equal", adjustable="datalim")
        top.set_title("top view (x right, z up)", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
