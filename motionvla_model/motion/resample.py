"""Change the frame rate of a time series (joints ``[T, 22, 3]``, features ``[T, D]``, …).

Frame ``k`` of the output lies at time ``k / dst_fps`` and is linearly interpolated
between the two source frames around it (source frame ``i`` lies at ``i / src_fps``).

**Length rule.** The output covers the same time span without extrapolating:
``T' = floor((T - 1) * dst_fps / src_fps) + 1``. Both clips start at frame 0, and the
last output frame is at or before the last source frame (exactly on it when the span
is a whole number of output frames, e.g. 30 → 20 fps with ``T = 196`` gives 131).

Linear interpolation suits positions and HumanML3D features; it is not meant for
quaternions or other values on a manifold, and it turns binary foot contacts into
fractions between 0 and 1 at the switching frames.
"""

from __future__ import annotations

import numpy as np

from motionvla_model.motion.skeleton import MotionShapeError

__all__ = ["resample", "resampled_length"]

# Absorbs float round-off in (T - 1) * dst / src, e.g. 195 * 20 / 30 = 129.99999999999997.
_LENGTH_TOLERANCE = 1e-9


def _check_rate(value: float, name: str) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive frame rate, got {value}")
    return float(value)


def resampled_length(num_frames: int, src_fps: float, dst_fps: float) -> int:
    """Number of frames :func:`resample` returns for ``num_frames`` source frames."""
    if num_frames < 1:
        raise MotionShapeError(f"cannot resample an empty sequence ({num_frames} frames)")
    ratio = _check_rate(dst_fps, "dst_fps") / _check_rate(src_fps, "src_fps")
    return int(np.floor((num_frames - 1) * ratio + _LENGTH_TOLERANCE)) + 1


def resample(x: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Linearly resample ``x [T, ...]`` from ``src_fps`` to ``dst_fps`` along axis 0.

    Keeps the dtype of floating inputs (others become float64). Returns a copy even
    when the rates are equal. Raises :class:`MotionShapeError` for a scalar or empty
    input and ``ValueError`` for non-positive rates.
    """
    array = np.asarray(x)
    if array.ndim == 0:
        raise MotionShapeError("resample needs a time axis; got a scalar")
    length = resampled_length(array.shape[0], src_fps, dst_fps)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    position = np.arange(length) * (float(src_fps) / float(dst_fps))
    position = np.minimum(position, array.shape[0] - 1)  # round-off at the last frame
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, array.shape[0] - 1)
    weight = (position - lower).astype(array.dtype).reshape(-1, *([1] * (array.ndim - 1)))
    return array[lower] * (1 - weight) + array[upper] * weight
