"""ViMoGen-style JSON / JSONL indexes: one entry per clip with a caption and a motion file.

Each entry is an object with

========================  ===========================================================
``id``                    unique string
``text``                  caption (a string, or a list of strings: one sample each)
``motion_path``           ``.npy`` file, relative to the index's folder or absolute:
                          features ``[T, 263]`` (HumanML3D) / ``[T, 276]`` (ViMoGen)
                          or joints ``[T, 22, 3]`` (m, Y up)
``image_path`` (opt.)     conditioning image, relative like ``motion_path``
``fps`` (opt.)            frame rate, default 20
anything else             kept in :attr:`MotionSample.meta` (e.g. command ``params``)
========================  ===========================================================

A ``.jsonl`` file holds one object per line; a ``.json`` file holds a list of objects
(or ``{"samples": [...]}``). The synthetic generator writes this format, so its
datasets load with the same class users point at their own data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from training.data.records import (
    DatasetError,
    DatasetNotFoundError,
    IndexFormatError,
    MissingItemError,
    MotionDataset,
    MotionSample,
    validate_motion_array,
)

__all__ = ["DEFAULT_FPS", "JsonlMotionDataset", "read_index", "write_jsonl_index"]

DEFAULT_FPS = 20.0
_REQUIRED = ("id", "text", "motion_path")
_KNOWN = (*_REQUIRED, "image_path", "fps")


def read_index(path: str | Path) -> list[dict[str, Any]]:
    """Read the raw entries of a JSON or JSONL index (no per-entry validation)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"index {path} not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise IndexFormatError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        return entries
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise IndexFormatError(f"{path}: invalid JSON ({error.msg}, line {error.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("samples"), list):
        data = data["samples"]
    if not isinstance(data, list):
        raise IndexFormatError(f"{path}: expected a list of entries or {{'samples': [...]}}")
    return data


def write_jsonl_index(path: str | Path, entries: Iterable[dict[str, Any]]) -> int:
    """Write entries as JSONL (one object a line, keys as given); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            count += 1
    return count


class JsonlMotionDataset(MotionDataset):
    """Samples from a ViMoGen-style JSON/JSONL index (see the module docstring)."""

    name = "jsonl"

    def __init__(
        self, index_path: str | Path, *, require_images: bool = False, strict: bool = False
    ) -> None:
        super().__init__(strict=strict)
        self.index_path = Path(index_path)
        self.base = self.index_path.parent
        self.require_images = require_images
        self.entries = read_index(self.index_path)

    def _resolve(self, value: Any, field: str, item_id: str) -> Path:
        if not isinstance(value, str) or not value:
            raise IndexFormatError(f"{item_id}: field {field!r} must be a non-empty path string")
        path = Path(value)
        path = path if path.is_absolute() else self.base / path
        if not path.is_file():
            raise MissingItemError(f"{item_id}: {field} {value} does not exist")
        return path

    def _parse(self, number: int, entry: Any, seen: set[str]) -> list[MotionSample]:
        where = f"{self.index_path.name}:{number}"
        if not isinstance(entry, dict):
            raise IndexFormatError(f"{where}: entry is not an object")
        missing = [key for key in _REQUIRED if key not in entry]
        if missing:
            raise IndexFormatError(f"{where}: missing field(s) {missing}")
        item_id = str(entry["id"])
        if item_id in seen:
            raise IndexFormatError(f"{item_id}: duplicate id in {self.index_path.name}")
        seen.add(item_id)
        texts = entry["text"] if isinstance(entry["text"], list) else [entry["text"]]
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise IndexFormatError(f"{item_id}: text must be a non-empty string or list of strings")
        fps = entry.get("fps", DEFAULT_FPS)
        if not isinstance(fps, int | float) or fps <= 0:
            raise IndexFormatError(f"{item_id}: fps must be a positive number, got {fps!r}")
        motion_path = self._resolve(entry["motion_path"], "motion_path", item_id)
        array = validate_motion_array(
            np.load(motion_path, allow_pickle=False), source=f"{item_id} ({motion_path.name})"
        )
        image_path = None
        if entry.get("image_path") is not None:
            image_path = self._resolve(entry["image_path"], "image_path", item_id)
        elif self.require_images:
            raise MissingItemError(f"{item_id}: has no image_path but images are required")
        meta = {k: v for k, v in entry.items() if k not in _KNOWN}
        meta["motion_path"] = str(motion_path)
        is_features = array.ndim == 2
        return [
            MotionSample(
                id=item_id if len(texts) == 1 else f"{item_id}#{k}",
                text=text.strip(),
                fps=float(fps),
                features=array if is_features else None,
                joints=None if is_features else array,
                image_path=image_path,
                meta=meta,
            )
            for k, text in enumerate(texts)
        ]

    def _samples(self) -> Iterator[MotionSample]:
        seen: set[str] = set()
        for number, entry in enumerate(self.entries, start=1):
            try:
                samples = self._parse(number, entry, seen)
            except DatasetError as error:
                item = entry.get("id", f"entry {number}") if isinstance(entry, dict) else number
                self._skip_or_raise(str(item), error)
                continue
            yield from samples
