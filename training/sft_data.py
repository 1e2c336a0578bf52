"""SFT data: motion samples -> DSFT codes (in parallel) -> chat records -> training batches.

One SFT record (a line of ``sft.jsonl``) is a chat in the usual multimodal message format::

    {"id": "...", "messages": [
        {"role": "user", "content": [{"type": "image", "image": "/abs/path.png"},
                                     {"type": "text", "text": "walk to the red box."}]},
        {"role": "assistant",
         "content": "red box: 2.4 m, 30° left<|m_bos|><|m_base_17|>…<|m_sep|>…<|m_eos|>"}],
     "num_frames": 61, "params": {...}}

The assistant string is the only copy of the answer, so a record file can be read, edited
or produced by any other tool. It is a grounded plan (:mod:`motionvla_model.plan`; scene
commands), the motion string, or both in that order; a grounding question
(:mod:`training.data.grounding`) is answered with the plan alone. :class:`SFTDataset`
turns records into :class:`~motionvla_model.prompt.TrainingExample` objects with the
model's own prompt builder (the loss covers the answer only; a model without plan targets
trains on the motion and skips plans) and :class:`SFTCollator` pads them into batches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from motionvla_model.dsft import DSFTTokenizer
from motionvla_model.motion.features import joints_to_features
from motionvla_model.motion_vocab import M_BOS, M_EOS, M_SEP, base_token, phys_token
from motionvla_model.plan import PlanFormatError, ScenePlan
from motionvla_model.prompt import IGNORE_INDEX, TrainingExample, build_answer_example
from training.data.records import DatasetError, MotionSample

__all__ = [
    "SFTCollator",
    "SFTDataset",
    "SFTRecordError",
    "TokenizedSample",
    "motion_string",
    "parse_motion_string",
    "read_sft_records",
    "sample_features",
    "sft_record",
    "tokenize_samples",
    "write_sft_records",
]

_MOTION_TOKEN = re.compile(r"<\|m_(bos|sep|eos|base|phys)(?:_(\d+))?\|>")


class SFTRecordError(DatasetError):
    """An SFT record is malformed (missing turns, bad motion string, missing image)."""


def sample_features(sample: MotionSample) -> np.ndarray:
    """HumanML3D features of a sample (computed from joints when only joints are given)."""
    if sample.features is not None:
        if sample.features.shape[1] != 263:
            raise SFTRecordError(
                f"{sample.id}: {sample.layout} features; SFT needs HumanML3D 263-d"
            )
        return sample.features
    assert sample.joints is not None
    return joints_to_features(sample.joints, sample.fps).astype(np.float32)


def motion_string(base_codes: Sequence[int], phys_codes: Sequence[int]) -> str:
    """Codes -> ``M_BOS base… M_SEP phys… M_EOS`` as token names."""
    return "".join(
        [M_BOS, *map(base_token, base_codes), M_SEP, *map(phys_token, phys_codes), M_EOS]
    )


def parse_motion_string(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`motion_string`; raises :class:`SFTRecordError` if malformed."""
    tokens = _MOTION_TOKEN.findall(text)
    if "".join(_MOTION_TOKEN.sub("", text).split()):
        raise SFTRecordError("assistant content holds text that is not a motion token")
    kinds = [kind for kind, _ in tokens]
    if kinds.count("bos") != 1 or kinds.count("sep") != 1 or kinds.count("eos") != 1:
        raise SFTRecordError("motion string needs exactly one M_BOS, M_SEP and M_EOS")
    sep = kinds.index("sep")
    if kinds[0] != "bos" or kinds[-1] != "eos":
        raise SFTRecordError("motion string must start with M_BOS and end with M_EOS")
    if any(k != "base" for k in kinds[1:sep]) or any(k != "phys" for k in kinds[sep + 1 : -1]):
        raise SFTRecordError("motion string must hold Base codes, then M_SEP, then Phys codes")
    base = np.array([int(code) for _, code in tokens[1:sep]], dtype=np.int64)
    phys = np.array([int(code) for _, code in tokens[sep + 1 : -1]], dtype=np.int64)
    return base, phys


@dataclass
class TokenizedSample:
    """A sample's DSFT codes and what the SFT record needs from the sample."""

    id: str
    text: str
    base_codes: list[int]
    phys_codes: list[int]
    num_frames: int
    image_path: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def plan(self) -> ScenePlan | None:
        """The grounded plan of a scene sample (its target's place), else ``None``."""
        task = self.params.get("scene_task")
        if task is None:
            return None
        return ScenePlan(task["target"]["label"], task["distance_m"], task["bearing_deg"])


def sft_record(item: TokenizedSample) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if item.image_path is not None:
        content.append({"type": "image", "image": item.image_path})
    content.append({"type": "text", "text": item.text})
    plan = item.plan.text() if item.plan is not None else ""
    return {
        "id": item.id,
        "messages": [
            {"role": "user", "content": content},
            {
                "role": "assistant",
                "content": plan + motion_string(item.base_codes, item.phys_codes),
            },
        ],
        "num_frames": item.num_frames,
        "params": item.params,
    }


_WORKER_TOKENIZER: DSFTTokenizer | None = None


def _init_worker(dsft_dir: str) -> None:
    global _WORKER_TOKENIZER
    # One load per worker process rather than pickling the tokenizer with every chunk.
    _WORKER_TOKENIZER = DSFTTokenizer.from_pretrained(dsft_dir)


def _encode_chunk(chunk: list[tuple[str, np.ndarray]]) -> list[tuple[str, list[int], list[int]]]:
    assert _WORKER_TOKENIZER is not None
    tokens = _WORKER_TOKENIZER.encode_batch([features for _, features in chunk])
    return [(i, t.base.tolist(), t.phys.tolist()) for (i, _), t in zip(chunk, tokens, strict=True)]


def tokenize_samples(
    samples: Sequence[MotionSample],
    dsft_dir: str | Path,
    *,
    workers: int = 1,
    chunk_size: int = 32,
    progress: bool = True,
) -> list[TokenizedSample]:
    """DSFT codes for every sample, spread over ``workers`` processes (same result for any).

    Clips longer than the tokenizer's ``max_seconds`` are cut to it (DSFT codes at most
    that many frames), which keeps one very long clip from stopping the run.
    """
    dsft = DSFTTokenizer.from_pretrained(dsft_dir)
    cap = int(dsft.config.max_seconds * dsft.config.fps)
    work = [(s.id, sample_features(s)[:cap]) for s in samples]
    chunks = [work[i : i + chunk_size] for i in range(0, len(work), chunk_size)]
    bar = tqdm(total=len(work), desc="DSFT tokenisation", unit="clip", disable=not progress)
    codes: dict[str, tuple[list[int], list[int]]] = {}

    def collect(results: list[tuple[str, list[int], list[int]]]) -> None:
        for sample_id, base, phys in results:
            codes[sample_id] = (base, phys)
        bar.update(len(results))

    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(
            workers, initializer=_init_worker, initargs=(str(dsft_dir),)
        ) as pool:
            for results in pool.map(_encode_chunk, chunks):
                collect(results)
    else:
        global _WORKER_TOKENIZER
        _WORKER_TOKENIZER = dsft
        for chunk in chunks:
            collect(_encode_chunk(chunk))
    bar.close()
    out = []
    for sample, (_, features) in zip(samples, work, strict=True):
        base, phys = codes[sample.id]
        out.append(
            TokenizedSample(
                id=sample.id,
                text=sample.text,
                base_codes=base,
                phys_codes=phys,
                num_frames=len(features),
                image_path=None if sample.image_path is None else str(sample.image_path.resolve()),
                params=dict(sample.meta.get("params", {})),
            )
        )
    return out


def write_sft_records(path: str | Path, items: Sequence[TokenizedSample]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(sft_record(item), ensure_ascii=False) + "\n")
    return path


def read_sft_records(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise SFTRecordError(f"SFT record file {path} not found")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise SFTRecordError(f"{path}:{number}: invalid JSON ({error.msg})") from None
    if not records:
        raise SFTRecordError(f"{path} holds no records")
    return records


@dataclass(frozen=True)
class _Answer:
    """What one record asks for: the command, its image, and the answer's two parts."""

    text: str
    image_path: str | None
    plan: ScenePlan | None
    codes: tuple[np.ndarray, np.ndarray] | None


def _unpack(record: Any) -> _Answer:
    """The parts of one record; raises :class:`SFTRecordError` naming it if malformed."""
    record_id = record.get("id", "?") if isinstance(record, dict) else "?"
    try:
        user, assistant = record["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        content = user["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        text = " ".join(c["text"] for c in content if c["type"] == "text")
        images = [c["image"] for c in content if c["type"] == "image"]
        answer = assistant["content"]
        assert isinstance(answer, str)
    except (KeyError, TypeError, ValueError, AssertionError):
        raise SFTRecordError(f"record {record_id}: expected messages [user, assistant]") from None
    if len(images) > 1:
        raise SFTRecordError(f"record {record_id}: at most one image per command")
    plan_text, bos, motion = answer.partition(M_BOS)
    try:
        plan = ScenePlan.parse(plan_text) if plan_text.strip() else None
    except PlanFormatError as error:
        raise SFTRecordError(f"record {record_id}: {error}") from None
    codes = parse_motion_string(bos + motion) if bos else None
    if plan is None and codes is None:
        raise SFTRecordError(f"record {record_id}: the answer holds neither a plan nor a motion")
    return _Answer(text, images[0] if images else None, plan, codes)


def _load_image(path: str) -> np.ndarray:
    from PIL import Image

    if not Path(path).is_file():
        raise SFTRecordError(f"image {path} not found")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


class SFTDataset(torch.utils.data.Dataset):
    """Records -> :class:`TrainingExample` with a model's tokenizer and prompt format.

    Examples are built once and kept (tokenising the prompt and preprocessing the image
    would otherwise be repeated every epoch). ``drop_images`` trains text-only. A model
    without plan targets skips the plans of scene commands and cannot take grounding
    questions (plan-only records): those are refused here, before training starts.
    """

    def __init__(
        self, records: Sequence[dict[str, Any]], model: Any, *, drop_images: bool = False
    ) -> None:
        self.records = list(records)
        self.model = model
        self.drop_images = drop_images
        self._cache: dict[int, TrainingExample] = {}
        grammar = model.plan_grammar
        for record in self.records:  # fail fast on a malformed file, before training starts
            answer = _unpack(record)
            if answer.plan is None:
                continue
            if grammar is None and answer.codes is None:
                raise SFTRecordError(
                    f"record {record.get('id')}: a grounding question, but the model has no "
                    "plan targets (MotionVLAConfig.plan_targets)"
                )
            if grammar is not None and answer.plan.target not in grammar.targets:
                raise SFTRecordError(
                    f"record {record.get('id')}: plan target {answer.plan.target!r} is not "
                    "one of the model's plan targets"
                )

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> TrainingExample:
        if index not in self._cache:
            answer = _unpack(self.records[index])
            path = answer.image_path
            image = None if path is None or self.drop_images else _load_image(path)
            grammar = self.model.plan_grammar
            ids: list[int] = []
            if answer.plan is not None and grammar is not None:
                ids += grammar.encode(answer.plan)
            if answer.codes is not None:
                ids += self.model.token_map.encode(*answer.codes).tolist()
            self._cache[index] = build_answer_example(
                self.model.tokenizer,
                self.model.config,
                answer.text,
                ids,
                image,
                self.model.image_preprocessor,
            )
        return self._cache[index]


class SFTCollator:
    """Right-pads examples into one batch (labels with -100, so padding carries no loss)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: Sequence[TrainingExample]) -> dict[str, torch.Tensor]:
        width = max(len(e.input_ids) for e in examples)

        def pad(values: list[torch.Tensor], fill: int) -> torch.Tensor:
            out = torch.full((len(values), width), fill, dtype=values[0].dtype)
            for row, value in enumerate(values):
                out[row, : len(value)] = value
            return out

        batch = {
            "input_ids": pad([e.input_ids for e in examples], self.pad_token_id),
            "labels": pad([e.labels for e in examples], IGNORE_INDEX),
            "attention_mask": pad([e.attention_mask for e in examples], 0),
        }
        if any(e.mm_token_type_ids is not None for e in examples):
            batch["mm_token_type_ids"] = pad(
                [
                    e.mm_token_type_ids
                    if e.mm_token_type_ids is not None
                    else torch.zeros_like(e.input_ids, dtype=torch.int)
                    for e in examples
                ],
                0,
            )
        pixels = [e.pixel_values for e in examples if e.pixel_values is not None]
        if pixels:
            batch["pixel_values"] = torch.cat(pixels)
            batch["image_grid_thw"] = torch.cat(
                [e.image_grid_thw for e in examples if e.image_grid_thw is not None]
            )
        return batch


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1) - 1)
