"""Windowed discrete cosine transform along time, vectorised over windows and channels.

A sequence ``x [T, C]`` is cut into ``n = ceil(T / W)`` windows of ``W`` frames (the last
one padded by repeating the final frame, which keeps the padded signal smooth and so
costs no high-frequency energy). Each window gets the orthonormal DCT-II along time,

    X[k, c] = s_k * sum_{t=0}^{W-1} x[t, c] * cos(pi * k * (2t + 1) / (2W)),
    s_0 = sqrt(1/W), s_k = sqrt(2/W) for k > 0,

and only the first ``K`` coefficients are kept. Because the transform is orthonormal,
squared error on the kept coefficients equals squared error on the frames, and the
inverse (DCT-III) of zero-filled coefficients is the least-squares band-limited fit.
Whole-clip DCT is the special case ``W = T``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

__all__ = ["frame_windows", "num_windows", "window_dct", "window_idct"]


def num_windows(num_frames: int, window_frames: int) -> int:
    """Windows needed to cover ``num_frames`` frames (0 for an empty sequence)."""
    return -(-num_frames // window_frames)


def frame_windows(x: np.ndarray, window_frames: int) -> np.ndarray:
    """``x [T, C]`` -> ``[ceil(T / W), W, C]``, the last window padded with the last frame."""
    if x.ndim != 2:
        raise ValueError(f"frame_windows expects [T, C], got shape {x.shape}")
    n = num_windows(x.shape[0], window_frames)
    pad = n * window_frames - x.shape[0]
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)], axis=0)
    return x.reshape(n, window_frames, x.shape[1])


def window_dct(windows: np.ndarray, keep: int) -> np.ndarray:
    """``[n, W, C]`` -> the first ``keep`` DCT-II coefficients of each window ``[n, keep, C]``."""
    if windows.ndim != 3:
        raise ValueError(f"window_dct expects [n, W, C], got shape {windows.shape}")
    if not 1 <= keep <= windows.shape[1]:
        raise ValueError(f"keep must be in [1, {windows.shape[1]}], got {keep}")
    return fft.dct(windows, type=2, norm="ortho", axis=1)[:, :keep]


def window_idct(coefficients: np.ndarray, window_frames: int) -> np.ndarray:
    """``[n, K, C]`` -> windows ``[n, window_frames, C]`` (coefficients K.. taken as zero)."""
    if coefficients.ndim != 3:
        raise ValueError(f"window_idct expects [n, K, C], got shape {coefficients.shape}")
    n, keep, channels = coefficients.shape
    if keep > window_frames:
        raise ValueError(f"{keep} coefficients do not fit a window of {window_frames} frames")
    full = np.zeros((n, window_frames, channels), dtype=np.float64)
    full[:, :keep] = coefficients
    return fft.idct(full, type=2, norm="ortho", axis=1)
