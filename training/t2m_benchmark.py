"""The HumanML3D text-to-motion benchmark of a MotionVLA model: dataset + model -> report.

One *entry* per motion of a HumanML3D split (a whole clip, or a caption's crop of it),
read with :class:`~training.data.humanml3d.HumanML3DDataset` (40 <= T < 200 frames, as the
published loader keeps), with one of its captions drawn at random (seeded), as the
published loader draws one per motion. For every entry the model generates a motion from
the caption, at the ground truth's duration. The evaluator
(:class:`~training.t2m_evaluator.T2MEvaluator`) embeds the caption's tagged tokens, the
ground-truth features and the generated features, and :mod:`training.t2m_metrics` scores

- ``ground_truth``: R-precision top-1/2/3, Matching score, Diversity,
- ``generated``: the same, FID against the ground truth and, with ``mm_repeats > 0``,
  MultiModality over ``mm_repeats`` sampled generations for ``mm_samples`` captions.

R-precision batches hold 32 entries, or all of them when fewer exist (its chance level is
then k / batch, stated in the report). The published tables average 20 replications with
confidence intervals; this is one replication.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from training.data.humanml3d import HUMANML3D_FPS, HumanML3DDataset
from training.t2m_metrics import R_PRECISION_BATCH, diversity, fid, multimodality, retrieval_scores

if TYPE_CHECKING:
    from motionvla_model.modeling import MotionVLA
    from training.t2m_evaluator import T2MEvaluator

__all__ = ["BenchmarkConfig", "BenchmarkEntry", "format_benchmark_table", "humanml3d_entries",
           "run_benchmark"]  # fmt: skip


@dataclass(frozen=True)
class BenchmarkConfig:
    """How many entries, how generated, and the seed of every random draw."""

    split: str = "test"
    max_samples: int | None = None
    batch_size: int = 8
    mm_repeats: int = 0
    mm_samples: int = 100
    mm_temperature: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_samples is not None and self.max_samples < 2:
            raise ValueError(f"max_samples must be >= 2 (FID needs two), got {self.max_samples}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.mm_repeats == 1 or self.mm_repeats < 0:
            raise ValueError(f"mm_repeats must be 0 (off) or >= 2, got {self.mm_repeats}")
        if self.mm_samples < 1:
            raise ValueError(f"mm_samples must be >= 1, got {self.mm_samples}")
        # Greedy decoding would repeat one motion and MultiModality would read 0.
        if not self.mm_temperature > 0:
            raise ValueError(f"mm_temperature must be > 0, got {self.mm_temperature}")


@dataclass(frozen=True)
class BenchmarkEntry:
    """One ground-truth motion with the caption drawn for it."""

    caption: str
    tokens: tuple[str, ...]
    features: np.ndarray

    @property
    def duration_s(self) -> float:
        # T feature rows come from T + 1 joint frames.
        return len(self.features) / HUMANML3D_FPS

    @property
    def text_input(self) -> str | tuple[str, ...]:
        """Tagged tokens when the dataset has them, else the caption (tagged by spaCy)."""
        return self.tokens or self.caption


def humanml3d_entries(
    root: str | Path, split: str = "test", *, seed: int = 0, max_samples: int | None = None
) -> list[BenchmarkEntry]:
    """The entries of a HumanML3D split, one caption drawn per motion (seeded)."""
    dataset = HumanML3DDataset(root, split, representation="features")
    groups: dict[tuple[str, int, int], list] = {}
    for sample in dataset:
        start, stop = sample.meta["frames"]
        groups.setdefault((sample.meta["clip_id"], start, stop), []).append(sample)
    if not groups:
        raise ValueError(f"{root} split {split!r} holds no usable motion ({dataset.report})")
    rng = np.random.default_rng(seed)
    entries = []
    for samples in groups.values():
        chosen = samples[int(rng.integers(len(samples)))]
        assert chosen.features is not None
        entries.append(BenchmarkEntry(chosen.text, tuple(chosen.meta["tokens"]), chosen.features))
    return entries[:max_samples] if max_samples else entries


def _generate(
    model: MotionVLA,
    entries: Sequence[BenchmarkEntry],
    batch_size: int,
    bar: tqdm,
    **sampling: Any,
) -> list[np.ndarray]:
    out = []
    for start in range(0, len(entries), batch_size):
        chunk = entries[start : start + batch_size]
        durations = [min(e.duration_s, model.config.max_duration_s) for e in chunk]
        motions = model.generate_batch([e.caption for e in chunk], None, durations, **sampling)
        out.extend(m.features for m in motions)
        bar.update(len(chunk))
    return out


def _retrieval(text: np.ndarray, motion: np.ndarray, batch_size: int, seed: int) -> dict:
    scores = retrieval_scores(text, motion, batch_size=batch_size, seed=seed)
    return {
        "r_precision_top1": scores.r_precision[0],
        "r_precision_top2": scores.r_precision[1],
        "r_precision_top3": scores.r_precision[2],
        "matching_score": scores.matching_score,
    }


def run_benchmark(
    model: MotionVLA,
    evaluator: T2MEvaluator,
    root: str | Path,
    config: BenchmarkConfig | None = None,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate for a HumanML3D split and score ground truth and generation (module doc)."""
    config = config or BenchmarkConfig()
    entries = humanml3d_entries(
        root, config.split, seed=config.seed, max_samples=config.max_samples
    )
    if len(entries) < 2:
        raise ValueError(f"{root} split {config.split!r}: need >= 2 motions, got {len(entries)}")
    # MultiModality captions: drawn like the published evaluation's 100 (seeded).
    chosen = np.random.default_rng(config.seed).choice(
        len(entries), min(config.mm_samples, len(entries)), replace=False
    )
    mm_entries = [entries[i] for i in chosen] if config.mm_repeats else []
    # Captions and ground truth first: an untagged caption fails before hours of generation.
    text = evaluator.text_embeddings([e.text_input for e in entries])
    truth = evaluator.motion_embeddings([e.features for e in entries])
    total = len(entries) + len(mm_entries) * config.mm_repeats
    with tqdm(total=total, desc="t2m benchmark", unit="motion", disable=not progress) as bar:
        generated = _generate(model, entries, config.batch_size, bar)
        repeats = [
            _generate(
                model,
                mm_entries,
                config.batch_size,
                bar,
                seed=config.seed + 1 + repeat,
                temperature=config.mm_temperature,
            )
            for repeat in range(config.mm_repeats)
        ]
    motion = evaluator.motion_embeddings(generated)
    batch = min(R_PRECISION_BATCH, len(entries))
    report: dict[str, Any] = {
        "ground_truth": _retrieval(text, truth, batch, config.seed)
        | {"diversity": diversity(truth, seed=config.seed)},
        "generated": _retrieval(text, motion, batch, config.seed)
        | {"fid": fid(truth, motion), "diversity": diversity(motion, seed=config.seed)},
    }
    if repeats:
        per_caption = np.stack(
            [evaluator.motion_embeddings(r) for r in repeats], axis=1
        )  # [captions, repeats, D]
        report["generated"]["multimodality"] = multimodality(per_caption, seed=config.seed)
    report |= {
        "num_samples": len(entries),
        "r_precision_batch_size": batch,
        "num_mm_captions": len(mm_entries),
        "data": str(root),
        "config": asdict(config),
    }
    return report


_ROWS = (
    "r_precision_top1",
    "r_precision_top2",
    "r_precision_top3",
    "fid",
    "matching_score",
    "diversity",
    "multimodality",
)


def format_benchmark_table(report: dict[str, Any]) -> str:
    """The benchmark report as a fixed-width table: metrics as rows, sources as columns."""
    columns = ("ground_truth", "generated")
    lines = [f"{'t2m metric':<20}" + "".join(f"{c:>16}" for c in columns)]
    for row in _ROWS:
        if not any(row in report[c] for c in columns):
            continue
        cells = [report[c].get(row) for c in columns]
        lines.append(
            f"{row:<20}" + "".join(f"{'—' if v is None else f'{v:.4f}':>16}" for v in cells)
        )
    footer = f"{report['num_samples']} motions, R-precision in batches of "
    footer += str(report["r_precision_batch_size"])
    if report["num_mm_captions"]:
        footer += f", MultiModality over {report['num_mm_captions']} captions"
    lines.append(footer)
    return "\n".join(lines)
