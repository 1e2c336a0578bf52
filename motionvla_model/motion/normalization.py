"""Per-dimension feature statistics: z-score normalisation that a checkpoint carries along.

``normalize(x) = (x - mean) / std`` and ``denormalize(z) = z * std + mean``, over the
last axis. ``std`` is floored at ``min_std`` when the statistics are computed, so that
dimensions that never change in the data (a foot always in contact, a padded
channel) map to 0 instead of dividing by zero and blowing up the noise of new data.

Statistics are stored as JSON (human-readable, exact: floats are written with
``repr`` precision) or as safetensors (``mean`` and ``std`` float64 tensors, the rest
in the metadata). Nothing is ever pickled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from motionvla_model.motion.skeleton import MotionShapeError, NonFiniteMotionError

__all__ = ["DEFAULT_MIN_STD", "FeatureStats", "StatsFormatError"]

DEFAULT_MIN_STD = 1e-3
_FORMAT = "motionvla.feature_stats/1"


class StatsFormatError(ValueError):
    """A statistics file or dictionary cannot be read (the message says why)."""


def _vector(value: Any, name: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise MotionShapeError(f"{name} must be a non-empty 1-D vector, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise NonFiniteMotionError(
            f"{name} holds NaN/inf at dims {np.flatnonzero(~np.isfinite(array))[:10].tolist()}"
        )
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class FeatureStats:
    """Mean and (floored) standard deviation of each of ``D`` feature dimensions.

    ``count`` is the number of frames the statistics were computed from (0 if
    unknown); ``layout`` optionally names the feature layout (e.g. ``"humanml3d"``).
    """

    mean: np.ndarray
    std: np.ndarray
    count: int = 0
    layout: str | None = None
    _float32: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        mean, std = _vector(self.mean, "mean"), _vector(self.std, "std")
        if mean.shape != std.shape:
            raise MotionShapeError(f"mean {mean.shape} and std {std.shape} differ in size")
        if np.any(std <= 0):
            raise ValueError(
                f"std must be positive; it is not at dims {np.flatnonzero(std <= 0)[:10].tolist()}"
            )
        if self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "_float32", (mean.astype(np.float32), std.astype(np.float32)))

    @property
    def dim(self) -> int:
        return int(self.mean.size)

    @classmethod
    def compute(
        cls,
        arrays: Iterable[np.ndarray],
        min_std: float = DEFAULT_MIN_STD,
        *,
        layout: str | None = None,
    ) -> FeatureStats:
        """Statistics over all frames of ``arrays`` (each ``[..., D]``), in float64.

        Per-array moments are merged with Chan et al.'s pairwise update, so long
        datasets do not lose precision and need not fit in memory at once.
        """
        if not (np.isfinite(min_std) and min_std > 0):
            raise ValueError(f"min_std must be positive, got {min_std}")
        count, mean, m2, dim = 0, None, None, None
        for index, array in enumerate(arrays):
            x = np.asarray(array, dtype=np.float64)
            if x.ndim < 1 or (dim is not None and x.shape[-1] != dim):
                raise MotionShapeError(
                    f"array {index} has shape {x.shape}; expected [..., {dim or 'D'}]"
                )
            x = x.reshape(-1, x.shape[-1])
            dim = x.shape[-1]
            if not np.isfinite(x).all():
                rows = np.flatnonzero(~np.isfinite(x).all(axis=1))[:10].tolist()
                raise NonFiniteMotionError(f"array {index} holds NaN/inf in frames {rows}")
            n = len(x)
            if n == 0:
                continue
            batch_mean = x.mean(axis=0)
            batch_m2 = ((x - batch_mean) ** 2).sum(axis=0)
            if mean is None or m2 is None:
                count, mean, m2 = n, batch_mean, batch_m2
                continue
            delta = batch_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + batch_m2 + delta**2 * (count * n / total)
            count = total
        if mean is None or m2 is None:
            raise MotionShapeError("cannot compute statistics from no frames")
        std = np.maximum(np.sqrt(m2 / count), min_std)
        return cls(mean=mean, std=std, count=count, layout=layout)

    def _check(self, x: np.ndarray) -> np.ndarray:
        array = np.asarray(x)
        if array.ndim < 1 or array.shape[-1] != self.dim:
            raise MotionShapeError(
                f"expected [..., {self.dim}] features for these statistics, got {array.shape}"
            )
        return array

    def _params(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # float32 in, float32 out: the model and the tokenizer work in float32.
        return self._float32 if x.dtype == np.float32 else (self.mean, self.std)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` over the last axis."""
        array = self._check(x)
        mean, std = self._params(array)
        return (array - mean) / std

    def denormalize(self, z: np.ndarray) -> np.ndarray:
        """``z * std + mean`` over the last axis (inverse of :meth:`normalize`)."""
        array = self._check(z)
        mean, std = self._params(array)
        return array * std + mean

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dictionary (float lists round-trip exactly)."""
        return {
            "format": _FORMAT,
            "dim": self.dim,
            "count": self.count,
            "layout": self.layout,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureStats:
        if data.get("format") != _FORMAT:
            raise StatsFormatError(
                f"not feature statistics: format {data.get('format')!r}, expected {_FORMAT!r}"
            )
        try:
            stats = cls(
                mean=data["mean"],
                std=data["std"],
                count=int(data.get("count", 0)),
                layout=data.get("layout"),
            )
        except KeyError as missing:
            raise StatsFormatError(f"feature statistics lack the field {missing}") from None
        if "dim" in data and int(data["dim"]) != stats.dim:
            raise StatsFormatError(f"dim field {data['dim']} disagrees with {stats.dim} values")
        return stats

    def save(self, path: str | Path) -> Path:
        """Write ``.json`` or ``.safetensors`` (chosen by the suffix); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        elif path.suffix == ".safetensors":
            from safetensors.numpy import save_file

            meta = {k: json.dumps(v) for k, v in self.to_dict().items() if k not in ("mean", "std")}
            save_file({"mean": self.mean.copy(), "std": self.std.copy()}, str(path), metadata=meta)
        else:
            raise StatsFormatError(f"{path}: use a .json or .safetensors file name")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Read statistics written by :meth:`save`."""
        path = Path(path)
        if path.suffix == ".json":
            try:
                return cls.from_dict(json.loads(path.read_text()))
            except json.JSONDecodeError as error:
                raise StatsFormatError(f"{path} is not valid JSON: {error}") from None
        if path.suffix == ".safetensors":
            from safetensors import SafetensorError, safe_open

            try:
                with safe_open(str(path), framework="numpy") as f:
                    meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
                    tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
            except (OSError, SafetensorError) as error:
                raise StatsFormatError(
                    f"{path} is not a readable safetensors file: {error}"
                ) from None
            return cls.from_dict({**meta, **tensors})
        raise StatsFormatError(f"{path}: use a .json or .safetensors file name")
