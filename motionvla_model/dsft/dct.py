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

Zero-filling is least-squares within a window, but it also makes every window's ends
flat: the DCT-II basis is even about the window's edges, so a truncated series has zero
slope there, and consecutive windows meet with a kink (and, after quantisation, a step)
that shows as an acceleration spike at each boundary. :func:`smooth_seams` rebuilds
the frames next to each boundary from the windows' interiors with a least-jerk
smoothing spline; :func:`smooth_window_boundaries` is the earlier, narrower deblocking
filter that only removes the step.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft, sparse
from scipy.sparse import linalg as splinalg

__all__ = [
    "boundary_acceleration_ratio",
    "frame_windows",
    "num_windows",
    "smooth_seams",
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


def smooth_seams(x: np.ndarray, window_frames: int, stiffness: float = 1.0) -> np.ndarray:
    """Seam-aware smoothing of a decoded sequence ``x [T, C]`` (windows of ``W`` frames).

    Truncation and quantisation errors of independently coded windows are largest on
    their first and last frames, and a truncated DCT series is flat at its ends, so
    consecutive windows meet with a step and a kink: an acceleration spike at every
    boundary. This returns the ``y`` minimising, per channel,

        Σ_t w_t (y_t − x_t)² + λ Σ_t (Δ³ y)_t²,

    a smoothing spline of least jerk whose data term trusts the interior frames
    (``w = 1``) but not the two frames either side of each boundary (``w = 0``: they are
    filled in from their neighbours) and only partly the next ones (``w = 0.3``);
    ``λ = stiffness``. Polynomials of degree < 3 pass unchanged, the interior of a
    window changes little (a 1 Hz component by 0.1 %, a 2 Hz one, the highest that five
    coefficients per second carry, by 5 %), and ``y`` never has more jerk than ``x``.
    The system is banded; its factorisation is computed once per length.
    """
    if x.ndim != 2:
        raise ValueError(f"smooth_seams expects [T, C], got shape {x.shape}")
    if not (np.isfinite(stiffness) and stiffness > 0):
        raise ValueError(f"stiffness must be > 0, got {stiffness}")
    frames = len(x)
    if frames <= window_frames or frames <= _SEAM_ORDER:
        return np.array(x, dtype=np.float64)
    factor, weights = _seam_system(frames, window_frames, float(stiffness))
    rhs = weights[:, None] * x
    # One column at a time: SuperLU's many-column solve hands BLAS many small calls,
    # which a multi-threaded BLAS on a busy machine makes ~50x slower.
    return np.column_stack([factor.solve(rhs[:, j]) for j in range(x.shape[1])])


_SEAM_ORDER = 3  # jerk
# Data weights of the frames at distance 0 and 1 from a boundary (on both sides).
_SEAM_WEIGHTS = (0.0, 0.3)


@lru_cache(maxsize=128)
def _seam_system(
    frames: int, window_frames: int, stiffness: float
) -> tuple[splinalg.SuperLU, np.ndarray]:
    """LU factors of ``diag(w) + λ Δ³ᵀ Δ³`` and the weights ``w`` (see smooth_seams)."""
    weights = np.ones(frames)
    boundaries = np.arange(window_frames, frames, window_frames)
    for distance, weight in enumerate(_SEAM_WEIGHTS):
        for frame in (boundaries + distance, boundaries - 1 - distance):
            inside = frame[(frame >= 0) & (frame < frames)]
            weights[inside] = np.minimum(weights[inside], weight)
    # Row r of the third difference: binomial coefficients with alternating signs.
    stencil = np.diff(np.eye(_SEAM_ORDER + 1), n=_SEAM_ORDER, axis=0)[0]
    difference = sparse.diags(
        list(stencil), list(range(_SEAM_ORDER + 1)),
        shape=(frames - _SEAM_ORDER, frames), format="csc",
    )  # fmt: skip
    system = (sparse.diags(weights) + stiffness * (difference.T @ difference)).tocsc()
    # Banded (bandwidth 3): in its natural order the factorisation has no fill-in.
    return splinalg.splu(system, permc_spec="NATURAL"), weights


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


def boundary_acceleration_ratio(x: np.ndarray, window_frames: int) -> float:
    """Mean acceleration on the frames either side of a window boundary over the rest's.

    ``x [T, ...]`` (e.g. joints ``[T, 22, 3]``): per frame ``t`` the acceleration is
    ``a_t = |x[t+1] - 2 x[t] + x[t-1]|`` (norm over the last axis, mean over the rest);
    the frames ``b - 1`` and ``b`` of every boundary ``b = W, 2W, ...`` are boundary
    frames. Independently coded windows show as a ratio well above 1; smooth motion
    gives about 1. NaN when there is no boundary or no interior frame.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2:
        x = x[:, None]
    if len(x) < 3:
        return float("nan")
    acceleration = np.linalg.norm(np.diff(x, n=2, axis=0), axis=-1)
    per_frame = acceleration.reshape(len(acceleration), -1).mean(axis=1)  # frames 1..T-2
    frames = np.arange(1, len(x) - 1)
    at_boundary = (frames % window_frames == 0) | ((frames + 1) % window_frames == 0)
    if not at_boundary.any() or at_boundary.all():
        return float("nan")
    return float(per_frame[at_boundary].mean() / max(per_frame[~at_boundary].mean(), 1e-12))
