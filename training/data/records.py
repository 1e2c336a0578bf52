"""The record every training data source yields, the errors they raise, and the skip report.

Every loader (HumanML3D, ViMoGen-style JSONL, a BVH folder, the synthetic generator)
turns its own format into :class:`MotionSample` objects, so that everything downstream
(tokenizer training, SFT, evaluation) reads one type. A sample carries HumanML3D-layout
features, joint positions, or both, always at a stated frame rate.

Problems with a whole dataset (missing root folder, missing split file, unreadable
index) raise a :class:`DatasetError` subclass. Problems with one item (a caption line
without ``#`` fields, a motion file of the wrong shape, an id without a motion) raise
too when a loader runs with ``strict=True``; otherwise the item is skipped and counted
in the loader's :class:`SkipReport`, so that one bad file in 30 000 does not stop a
training run yet never disappears silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FEATURE_DIMS",
    "NUM_JOINTS",
    "CaptionFormatError",
    "DatasetError",
    "DatasetNotFoundError",
    "IndexFormatError",
    "MissingItemError",
    "MotionDataset",
    "MotionFileError",
    "MotionSample",
    "MotionShapeError",
    "SkipReport",
]

NUM_JOINTS = 22
# Feature widths of the supported layouts: HumanML3D (263) and ViMoGen (276).
FEATURE_DIMS: dict[int, str] = {263: "humanml3d", 276: "vimogen"}


class DatasetError(ValueError):
    """Base class of every data-loading error in :mod:`training.data`."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset root, split file, index or referenced file does not exist."""


class IndexFormatError(DatasetError):
    """An index (JSON/JSONL/CSV/split file) is malformed or lacks a required field."""


class CaptionFormatError(DatasetError):
    """A caption line does not follow its format (e.g. HumanML3D ``caption#tokens#s#e``)."""


class MotionShapeError(DatasetError):
    """A motion array has the wrong rank, width, joint count, length or non-finite values."""


class MissingItemError(DatasetError):
    """An id is listed but its motion or caption is missing (mismatched ids)."""


class MotionFileError(DatasetError):
    """A motion file exists but cannot be read or converted (e.g. an unmappable BVH)."""


def validate_motion_array(array: np.ndarray, *, source: str) -> np.ndarray:
    """Check a loaded motion array and return it as float32.

    Accepted: features ``[T, D]`` with ``D`` in :data:`FEATURE_DIMS`, or joints
    ``[T, 22, 3]``; at least two frames; all values finite.
    """
    if array.ndim == 2:
        if array.shape[1] not in FEATURE_DIMS:
            raise MotionShapeError(
                f"{source}: features have width {array.shape[1]}, "
                f"expected one of {sorted(FEATURE_DIMS)}"
            )
    elif array.ndim == 3:
        if array.shape[1:] != (NUM_JOINTS, 3):
            raise MotionShapeError(
                f"{source}: joints have shape {array.shape}, expected [T, {NUM_JOINTS}, 3]"
            )
    else:
        raise MotionShapeError(
            f"{source}: array of shape {array.shape} is neither features [T, D] "
            f"nor joints [T, {NUM_JOINTS}, 3]"
        )
    if array.shape[0] < 2:
        raise MotionShapeError(f"{source}: {array.shape[0]} frame(s), need at least 2")
    if not np.issubdtype(array.dtype, np.number):
        raise MotionShapeError(f"{source}: dtype {array.dtype} is not numeric")
    if not np.all(np.isfinite(array)):
        raise MotionShapeError(f"{source}: contains NaN or infinite values")
    return array.astype(np.float32, copy=False)


@dataclass
class MotionSample:
    """One captioned motion clip.

    ``features`` is ``float32 [T, D]`` in a layout of :data:`FEATURE_DIMS` (HumanML3D
    263 unless stated), ``joints`` is ``float32 [T, 22, 3]`` in metres, Y up, SMPL
    order. At least one of the two is present; when both are, ``features`` has one
    frame fewer than ``joints`` (features are computed from frame differences).
    ``meta`` holds source-specific facts (file paths, crop times, command parameters).
    """

    id: str
    text: str
    fps: float
    features: np.ndarray | None = None
    joints: np.ndarray | None = None
    image_path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("MotionSample.id must be a non-empty string")
        if not isinstance(self.text, str) or not self.text.strip():
            raise CaptionFormatError(f"sample {self.id!r}: empty caption")
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise ValueError(f"sample {self.id!r}: fps must be positive, got {self.fps}")
        if self.features is None and self.joints is None:
            raise ValueError(f"sample {self.id!r}: needs features, joints or both")
        if self.features is not None:
            self.features = validate_motion_array(self.features, source=self.id)
            if self.features.ndim != 2:
                raise MotionShapeError(f"sample {self.id!r}: features must be [T, D]")
        if self.joints is not None:
            self.joints = validate_motion_array(self.joints, source=self.id)
            if self.joints.ndim != 3:
                raise MotionShapeError(f"sample {self.id!r}: joints must be [T, 22, 3]")
        if self.image_path is not None:
            self.image_path = Path(self.image_path)

    @property
    def layout(self) -> str | None:
        """Name of the feature layout (``"humanml3d"`` or ``"vimogen"``), if features exist."""
        return None if self.features is None else FEATURE_DIMS[self.features.shape[1]]

    @property
    def num_frames(self) -> int:
        """Frames of motion (joint frames; features count one fewer)."""
        if self.joints is not None:
            return int(self.joints.shape[0])
        assert self.features is not None
        return int(self.features.shape[0]) + 1

    @property
    def duration_s(self) -> float:
        return (self.num_frames - 1) / self.fps


@dataclass
class SkipReport:
    """What a loader left out and why: a count per reason plus a few example ids."""

    source: str
    loaded: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 5

    def skip(self, item_id: str, reason: str) -> None:
        """Record that ``item_id`` was skipped for ``reason`` (a short, stable phrase)."""
        self.reasons[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < self.max_examples:
            shown.append(item_id)

    @property
    def skipped(self) -> int:
        return sum(self.reasons.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "loaded": self.loaded,
            "skipped": self.skipped,
            "reasons": dict(self.reasons),
            "examples": {k: list(v) for k, v in self.examples.items()},
        }

    def __str__(self) -> str:
        lines = [f"{self.source}: loaded {self.loaded}, skipped {self.skipped}"]
        for reason, count in self.reasons.most_common():
            shown = ", ".join(self.examples.get(reason, []))
            lines.append(f"  {count:6d} × {reason}" + (f" (e.g. {shown})" if shown else ""))
        return "\n".join(lines)


class MotionDataset:
    """A source of :class:`MotionSample` objects.

    Subclasses implement :meth:`_samples`; iterating the dataset resets and fills
    :attr:`report`. ``strict=True`` turns every per-item problem into an exception
    instead of a skip.
    """

    name = "dataset"

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.report = SkipReport(self.name)

    def _samples(self) -> Iterator[MotionSample]:
        raise NotImplementedError

    def _skip_or_raise(self, item_id: str, error: DatasetError) -> None:
        """Skip a bad item (recording why) or re-raise it in strict mode."""
        if self.strict:
            raise error
        self.report.skip(item_id, _reason_of(error))

    def __iter__(self) -> Iterator[MotionSample]:
        self.report = SkipReport(self.name)
        for sample in self._samples():
            self.report.loaded += 1
            yield sample

    def load(self) -> list[MotionSample]:
        """All samples as a list (the :attr:`report` then describes the whole pass)."""
        return list(self)


def _reason_of(error: DatasetError) -> str:
    # The report groups by error class plus the message's first clause, without the
    # item-specific prefix ("<id>: ..."), so equal problems share one line.
    message = str(error).split(": ", 1)[-1]
    return f"{type(error).__name__}: {message.split(',')[0][:80]}"
