"""HumanML3D-format datasets: ``new_joint_vecs/`` or ``new_joints/``, ``texts/``, split files.

Layout read (as produced by the HumanML3D preparation scripts)::

    root/
      train.txt  val.txt  test.txt       one clip id per line
      new_joint_vecs/<id>.npy             float [T, 263] features (HumanML3D layout)
      new_joints/<id>.npy                 float [T, 22, 3] joint positions (m, Y up)
      texts/<id>.txt                      caption#tokens#start#end, one per line

Each caption line becomes one :class:`~training.data.records.MotionSample`. ``start``
and ``end`` are seconds into the clip; ``0.0#0.0`` (or NaN) means the whole clip,
anything else crops frames ``[int(start·fps), int(end·fps))`` at the dataset's 20 fps,
as the original HumanML3D loader does. Crops shorter than ``min_frames`` or longer
than ``max_frames`` are skipped (the reference loader keeps 40 ≤ T < 200).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from training.data.records import (
    CaptionFormatError,
    DatasetError,
    DatasetNotFoundError,
    MissingItemError,
    MotionDataset,
    MotionSample,
    MotionShapeError,
    validate_motion_array,
)

__all__ = ["HUMANML3D_FPS", "SPLITS", "CaptionLine", "HumanML3DDataset", "parse_caption_line"]

HUMANML3D_FPS = 20.0
SPLITS = ("train", "val", "test", "train_val", "all")
Representation = Literal["features", "joints", "both"]
_FOLDERS = {"features": "new_joint_vecs", "joints": "new_joints"}


@dataclass(frozen=True)
class CaptionLine:
    """One parsed ``caption#tokens#start#end`` line; ``start = end = 0`` means whole clip."""

    caption: str
    tokens: tuple[str, ...]
    start_s: float
    end_s: float

    @property
    def whole_clip(self) -> bool:
        return self.start_s == 0.0 and self.end_s == 0.0


def parse_caption_line(line: str, *, source: str = "caption") -> CaptionLine:
    """Parse one HumanML3D caption line; raise :class:`CaptionFormatError` if malformed."""
    fields = line.rstrip("\n").split("#")
    if len(fields) != 4:
        raise CaptionFormatError(
            f"{source}: expected 4 '#'-separated fields caption#tokens#start#end, "
            f"got {len(fields)} in {line.strip()[:60]!r}"
        )
    caption, tokens, start, end = fields
    if not caption.strip():
        raise CaptionFormatError(f"{source}: empty caption")
    try:
        start_s, end_s = float(start), float(end)
    except ValueError:
        raise CaptionFormatError(f"{source}: start/end {start!r}/{end!r} are not numbers") from None
    # The original annotations write NaN for "from the beginning".
    start_s = 0.0 if math.isnan(start_s) else start_s
    end_s = 0.0 if math.isnan(end_s) else end_s
    if start_s < 0 or end_s < 0 or (end_s != 0.0 and end_s <= start_s):
        raise CaptionFormatError(f"{source}: bad crop start={start_s} end={end_s}")
    return CaptionLine(caption.strip(), tuple(tokens.split()), start_s, end_s)


class HumanML3DDataset(MotionDataset):
    """Iterate the captioned clips of one HumanML3D split.

    ``representation`` picks ``new_joint_vecs`` (``"features"``), ``new_joints``
    (``"joints"``) or both (then both folders must hold the id, with equal lengths).
    """

    name = "humanml3d"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        *,
        representation: Representation = "features",
        min_frames: int = 40,
        max_frames: int | None = 200,
        fps: float = HUMANML3D_FPS,
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        if representation not in ("features", "joints", "both"):
            raise ValueError(
                f"representation must be features, joints or both, got {representation!r}"
            )
        if min_frames < 2 or (max_frames is not None and max_frames <= min_frames):
            raise ValueError(f"need 2 <= min_frames < max_frames, got {min_frames}, {max_frames}")
        self.root = Path(root)
        self.split = split
        self.representation = representation
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.fps = fps
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"HumanML3D root {self.root} is not a directory")
        for folder in [*self._folders(), "texts"]:
            if not (self.root / folder).is_dir():
                raise DatasetNotFoundError(f"HumanML3D root {self.root} has no {folder}/ folder")
        self.ids = self._read_split()

    def _folders(self) -> list[str]:
        if self.representation == "both":
            return list(_FOLDERS.values())
        return [_FOLDERS[self.representation]]

    def _read_split(self) -> list[str]:
        names = {"train_val": ["train", "val"], "all": ["train", "val", "test"]}.get(
            self.split, [self.split]
        )
        ids: list[str] = []
        for name in names:
            path = self.root / f"{name}.txt"
            if not path.is_file():
                raise DatasetNotFoundError(
                    f"split file {path} not found (splits: {', '.join(SPLITS)})"
                )
            ids.extend(line.strip() for line in path.read_text().splitlines() if line.strip())
        return ids

    def _load_motion(self, clip_id: str, folder: str) -> np.ndarray:
        path = self.root / folder / f"{clip_id}.npy"
        if not path.is_file():
            raise MissingItemError(
                f"{clip_id}: listed in the split but {folder}/{clip_id}.npy is missing"
            )
        array = validate_motion_array(
            np.load(path, allow_pickle=False), source=f"{folder}/{clip_id}.npy"
        )
        expected_ndim = 2 if folder == _FOLDERS["features"] else 3
        if array.ndim != expected_ndim or (expected_ndim == 2 and array.shape[1] != 263):
            raise MotionShapeError(
                f"{folder}/{clip_id}.npy: shape {array.shape} does not fit {folder}/ "
                f"({'[T, 263]' if expected_ndim == 2 else '[T, 22, 3]'})"
            )
        return array

    def _read_captions(self, clip_id: str) -> list[str]:
        path = self.root / "texts" / f"{clip_id}.txt"
        if not path.is_file():
            raise MissingItemError(
                f"{clip_id}: listed in the split but texts/{clip_id}.txt is missing"
            )
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            raise CaptionFormatError(f"{clip_id}: texts/{clip_id}.txt has no caption lines")
        return lines

    def _crop(self, clip_id: str, length: int, caption: CaptionLine) -> slice:
        if caption.whole_clip:
            return slice(0, length)
        start = int(caption.start_s * self.fps)
        end = length if caption.end_s == 0.0 else int(caption.end_s * self.fps)
        if start >= length:
            raise MotionShapeError(
                f"{clip_id}: crop {caption.start_s}-{caption.end_s} s starts after the "
                f"clip's {length} frames"
            )
        return slice(start, min(end, length))

    def _samples(self) -> Iterator[MotionSample]:
        for clip_id in self.ids:
            try:
                arrays = {
                    rep: self._load_motion(clip_id, folder)
                    for rep, folder in _FOLDERS.items()
                    if folder in self._folders()
                }
                lengths = {a.shape[0] for a in arrays.values()}
                if len(lengths) != 1:
                    raise MotionShapeError(
                        f"{clip_id}: new_joint_vecs and new_joints lengths differ {sorted(lengths)}"
                    )
                lines = self._read_captions(clip_id)
            except DatasetError as error:
                self._skip_or_raise(clip_id, error)
                continue
            length = lengths.pop()
            for index, line in enumerate(lines):
                sample_id = f"{clip_id}#{index}"
                try:
                    caption = parse_caption_line(line, source=f"texts/{clip_id}.txt:{index + 1}")
                    crop = self._crop(clip_id, length, caption)
                    frames = crop.stop - crop.start
                    if frames < self.min_frames or (
                        self.max_frames is not None and frames >= self.max_frames
                    ):
                        raise MotionShapeError(
                            f"{sample_id}: clip length out of range, {frames} frames "
                            f"(allowed {self.min_frames}..{self.max_frames})"
                        )
                except DatasetError as error:
                    self._skip_or_raise(sample_id, error)
                    continue
                yield MotionSample(
                    id=sample_id,
                    text=caption.caption,
                    fps=self.fps,
                    features=arrays["features"][crop] if "features" in arrays else None,
                    joints=arrays["joints"][crop] if "joints" in arrays else None,
                    meta={
                        "clip_id": clip_id,
                        "tokens": list(caption.tokens),
                        "start_s": caption.start_s,
                        "end_s": caption.end_s,
                        "frames": [crop.start, crop.stop],
                    },
                )
