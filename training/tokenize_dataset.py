"""Datasets -> a trained DSFT tokenizer and SFT record files (train / held-out split).

A data source is given as a path:

- ``*.jsonl`` / ``*.json``: a ViMoGen-style index (also what the synthetic generator writes),
- ``humanml3d:<root>[:split]``: a HumanML3D folder,
- ``bvh:<folder>``: a folder of BVH files with captions,

and several sources are concatenated. The split is by sample id (a hash, so adding data
never moves an old sample between train and held-out).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from motionvla_model.dsft import DSFTConfig, DSFTTokenizer
from training.data import BvhFolderDataset, HumanML3DDataset, JsonlMotionDataset, MotionSample
from training.data.records import DatasetError
from training.sft_data import sample_features, tokenize_samples, write_sft_records

__all__ = ["build_sft_files", "held_out", "load_motion_samples", "train_dsft"]

TRAIN_FILE = "sft_train.jsonl"
EVAL_FILE = "sft_eval.jsonl"


def load_motion_samples(sources: Sequence[str | Path]) -> list[MotionSample]:
    """Every sample of every source (bad items are skipped and reported by the loaders)."""
    samples: list[MotionSample] = []
    for source in sources:
        text = str(source)
        if text.startswith("humanml3d:"):
            root, _, split = text.removeprefix("humanml3d:").partition(":")
            dataset = HumanML3DDataset(root, split or "train")
        elif text.startswith("bvh:"):
            dataset = BvhFolderDataset(text.removeprefix("bvh:"), compute_features=True)
        elif text.endswith((".jsonl", ".json")):
            dataset = JsonlMotionDataset(text)
        else:
            raise DatasetError(
                f"unknown data source {text!r}: use an index .jsonl/.json, "
                "humanml3d:<root>[:split] or bvh:<folder>"
            )
        samples += dataset.load()
        if dataset.report.skipped:
            print(dataset.report)
    if not samples:
        raise DatasetError(f"no usable samples in {list(map(str, sources))}")
    return samples


def held_out(sample_id: str, fraction: float) -> bool:
    """Whether a sample belongs to the held-out split (stable in the id alone)."""
    digest = hashlib.sha256(sample_id.split("#")[0].encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def train_dsft(
    samples: Sequence[MotionSample],
    config: DSFTConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
) -> DSFTTokenizer:
    """Train a DSFT tokenizer on the samples' features and save it to ``out_dir``."""
    features = [sample_features(s) for s in samples]
    cap = int(config.max_seconds * config.fps)
    tokenizer = DSFTTokenizer.train([x[:cap] for x in features], config, progress=progress)
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def build_sft_files(
    samples: Sequence[MotionSample],
    dsft_dir: str | Path,
    out_dir: str | Path,
    *,
    eval_fraction: float = 0.1,
    workers: int = 1,
    progress: bool = True,
) -> tuple[Path, Path]:
    """Tokenise all samples and write ``sft_train.jsonl`` and ``sft_eval.jsonl``.

    ``eval_fraction`` 0 puts everything in train, 1 everything in eval (a separate set).
    """
    if not 0 <= eval_fraction <= 1:
        raise ValueError(f"eval_fraction must be in [0, 1], got {eval_fraction}")
    out_dir = Path(out_dir)
    items = tokenize_samples(samples, dsft_dir, workers=workers, progress=progress)
    train = [i for i in items if not held_out(i.id, eval_fraction)]
    evaluation = [i for i in items if held_out(i.id, eval_fraction)]
    paths = (
        write_sft_records(out_dir / TRAIN_FILE, train),
        write_sft_records(out_dir / EVAL_FILE, evaluation),
    )
    summary = {"train": len(train), "eval": len(evaluation), "dsft": str(dsft_dir)}
    (out_dir / "sft_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return paths
