"""A folder of BVH files with a captions file: the simplest way to bring your own mocap.

Layout::

    folder/
      captions.jsonl   (or captions.csv)
      walk_01.bvh
      sub/jump.bvh     paths are relative to the folder

``captions.jsonl`` holds one object per line, ``captions.csv`` one row per line
under a header; both have the same fields:

=============  ==============================================================
``file``       BVH path relative to the folder
``text``       caption (JSONL may give a list: one sample per caption)
``start_s``    optional: first second of the segment the caption describes
``end_s``      optional: last second (``0`` or missing: the end of the clip)
=============  ==============================================================

A file may appear on several lines (captions of different segments of a long take).
Each BVH is read once with :func:`motionvla_model.motion.bvh.load_bvh` (any common skeleton
naming, mapped onto SMPL-22, metres, Y up) and resampled to ``fps`` (20 by default,
as HumanML3D); samples carry joints and, with ``compute_features=True``, HumanML3D
features. BVH files that no caption names are reported as skipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.data.records import (
    DatasetError,
    DatasetNotFoundError,
    IndexFormatError,
    MissingItemError,
    MotionDataset,
    MotionFileError,
    MotionSample,
    MotionShapeError,
)

__all__ = ["CAPTION_FILES", "BvhCaption", "BvhFolderDataset", "read_bvh_captions"]

CAPTION_FILES = ("captions.jsonl", "captions.csv")


@dataclass(frozen=True)
class BvhCaption:
    """One caption line: a BVH file, its text and the segment it describes."""

    file: str
    text: str
    start_s: float = 0.0
    end_s: float = 0.0  # 0: to the end of the clip
    line: int = 0


def _caption_from_row(row: dict[str, Any], where: str) -> list[BvhCaption]:
    if not isinstance(row, dict):
        raise IndexFormatError(f"{where}: expected an object with file and text")
    missing = [key for key in ("file", "text") if not row.get(key)]
    if missing:
        raise IndexFormatError(f"{where}: missing field(s) {missing}")
    texts = row["text"] if isinstance(row["text"], list) else [row["text"]]
    try:
        start = float(row.get("start_s") or 0.0)
        end = float(row.get("end_s") or 0.0)
    except (TypeError, ValueError):
        raise IndexFormatError(f"{where}: start_s/end_s must be numbers") from None
    if start < 0 or end < 0 or (end and end <= start):
        raise IndexFormatError(f"{where}: bad segment start_s={start} end_s={end}")
    line = int(where.rsplit(":", 1)[-1])
    return [BvhCaption(str(row["file"]), str(t).strip(), start, end, line) for t in texts]


def read_bvh_captions(
    folder: str | Path,
) -> tuple[list[BvhCaption], list[tuple[str, IndexFormatError]]]:
    """Parse the folder's captions file: the captions, and ``(line, error)`` of bad lines."""
    folder = Path(folder)
    found = [folder / name for name in CAPTION_FILES if (folder / name).is_file()]
    if not found:
        raise DatasetNotFoundError(f"{folder} has no captions file ({' or '.join(CAPTION_FILES)})")
    path = found[0]
    rows: list[tuple[str, Any]] = []
    if path.suffix == ".jsonl":
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((f"{path.name}:{number}", json.loads(line)))
            except json.JSONDecodeError as error:
                rows.append((f"{path.name}:{number}", IndexFormatError(
                    f"{path.name}:{number}: invalid JSON ({error.msg})")))  # fmt: skip
    else:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"file", "text"} <= set(reader.fieldnames):
                raise IndexFormatError(f"{path}: the header must name at least file,text")
            rows = [(f"{path.name}:{n}", row) for n, row in enumerate(reader, start=2)]
    captions: list[BvhCaption] = []
    errors: list[tuple[str, IndexFormatError]] = []
    for where, row in rows:
        if isinstance(row, IndexFormatError):
            errors.append((where, row))
            continue
        try:
            captions.extend(_caption_from_row(row, where))
        except IndexFormatError as error:
            errors.append((where, error))
    return captions, errors


class BvhFolderDataset(MotionDataset):
    """Captioned samples from a folder of BVH files (see the module docstring)."""

    name = "bvh_folder"

    def __init__(
        self,
        folder: str | Path,
        *,
        fps: float = 20.0,
        compute_features: bool = False,
        min_frames: int = 10,
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DatasetNotFoundError(f"BVH folder {self.folder} is not a directory")
        if fps <= 0 or min_frames < 2:
            raise ValueError(f"need fps > 0 and min_frames >= 2, got {fps}, {min_frames}")
        self.fps = fps
        self.compute_features = compute_features
        self.min_frames = min_frames
        self.captions, self.caption_errors = read_bvh_captions(self.folder)

    def _load(self, file: str) -> np.ndarray:
        from motionvla_model.motion.bvh import BvhImportError, load_bvh

        path = self.folder / file
        if not path.is_file():
            raise MissingItemError(f"{file}: named in the captions file but does not exist")
        try:
            return load_bvh(path, target_fps=self.fps).joints
        except (BvhImportError, ValueError) as error:
            raise MotionFileError(f"{file}: cannot be imported, {error}") from None

    def _samples(self) -> Iterator[MotionSample]:
        for where, error in self.caption_errors:
            self._skip_or_raise(where, error)
        by_file: dict[str, list[BvhCaption]] = {}
        for entry in self.captions:
            by_file.setdefault(entry.file, []).append(entry)
        named = {str(Path(f)) for f in by_file}
        for path in sorted(self.folder.rglob("*.bvh")):
            relative = str(path.relative_to(self.folder))
            if relative not in named:
                self._skip_or_raise(relative, MissingItemError(f"{relative}: has no caption"))
        for file, captions in by_file.items():
            try:
                joints = self._load(file)
            except DatasetError as error:
                for caption in captions:
                    self._skip_or_raise(f"{file}@{caption.line}", error)
                continue
            for k, caption in enumerate(captions):
                sample_id = f"{Path(file).with_suffix('')}#{k}"
                start = round(caption.start_s * self.fps)
                stop = len(joints) if caption.end_s == 0 else round(caption.end_s * self.fps) + 1
                segment = joints[start : min(stop, len(joints))]
                if len(segment) < self.min_frames:
                    self._skip_or_raise(sample_id, MotionShapeError(
                        f"{sample_id}: segment too short, {len(segment)} frames "
                        f"(min {self.min_frames})"))  # fmt: skip
                    continue
                features = None
                if self.compute_features:
                    from motionvla_model.motion.features import joints_to_features

                    features = joints_to_features(segment, self.fps)
                yield MotionSample(
                    id=sample_id,
                    text=caption.text,
                    fps=self.fps,
                    features=features,
                    joints=segment,
                    meta={"file": file, "start_s": caption.start_s, "end_s": caption.end_s},
                )
