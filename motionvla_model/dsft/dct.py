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

__all__ = [
    "frame_windows",
    "num_windows",
    "smooth_window_boundaries",
    "window_dct",
    "window_idct",
]


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


def smooth_window_boundaries(x: np.ndarray, window_frames: int, reach: int) -> np.ndarray:
    """Deblocking filter: remove the unexplained step between independently coded windows.

    Windows are truncated and quantised independently, so the error is largest at their
    edges (the first and last frame of a window are about 25% worse than its interior)
    and shows as a step between frame ``b - 1`` and ``b`` at every boundary ``b``. The
    step not explained by the local slope,

        j = (x[b] - x[b-1]) - ((x[b-1] - x[b-2]) + (x[b+1] - x[b])) / 2,

    is taken away, half from each side, fading linearly over ``reach`` frames:
    ``x[b+i] -= j (reach - i) / (2 reach)`` and ``x[b-1-i] += j (reach - i) / (2 reach)``.
    A smooth signal (constant or linear across the boundary) is left unchanged. Returns
    a new ``[T, C]`` array; ``reach = 0`` or a single window returns a copy.
    """
    if x.ndim != 2:
        raise ValueError(f"smooth_window_boundaries expects [T, C], got shape {x.shape}")
    if not 0 <= reach <= window_frames // 2:
        raise ValueError(f"reach must be in [0, {window_frames // 2}], got {reach}")
    out = np.array(x, dtype=np.float64)
    # A boundary needs two frames before it and one after it to measure the slope.
    boundaries = np.arange(max(window_frames, 2), len(out) - 1, window_frames)
    if reach == 0 or not boundaries.size:
        return out
    slope = (
        (out[boundaries - 1] - out[boundaries - 2]) + (out[boundaries + 1] - out[boundaries])
    ) / 2
    jump = out[boundaries] - out[boundaries - 1] - slope
    for i in range(reach):
        share = (reach - i) / (2 * reach)
        after = boundaries + i
        inside = after < len(out)
        out[after[inside]] -= share * jump[inside]
        out[boundaries - 1 - i] += share * jump
    return out
