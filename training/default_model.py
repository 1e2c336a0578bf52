"""The bundled default model: a small Qwen3.5-architecture MotionVLA trained on synthetic data.

``motionvla-train default`` runs the same pipeline a real training run uses, end to end:

1. synthetic captioned motion (a fraction with scene images, whose commands name an
   object and are answered with a grounded plan first; a fraction of the other commands
   with a scene image they must ignore), train and held-out sets from different seeds
   (:mod:`training.data.synthetic_dataset`), and grounding questions about every object
   of rendered scenes (:mod:`training.data.grounding`);
2. a DSFT tokenizer on the training motion;
3. SFT records (parallel tokenisation);
4. a randomly initialised small Qwen3.5 backbone with the real Qwen3.5 vocabulary plus the
   motion tokens (:meth:`motionvla_model.modeling.MotionVLA.build`), its image tokens
   standardised (:class:`~motionvla_model.backbone.ImageTokenNorm`) and plans naming the
   scene's object labels;
5. phase 1 (the answer rows), then phase 2 with every weight training on the motion
   records and the grounding questions together (the backbone starts from random
   weights, so there is nothing for LoRA adapters to preserve, and the vision tower has
   to learn to see);
6. the held-out evaluation (:mod:`training.evaluate`), written next to the model.

The result goes to :func:`motionvla_model.bundled.built_default_dir`
(``~/.cache/motionvla/default-model``, or ``$MOTIONVLA_DEFAULT_MODEL``), where it takes
precedence over the copy the repository ships. The model is saved compact: with the
~250k-token vocabulary the embedding alone is ~16M parameters at width 64, but only the
rows of tokens the recipe's prompts use carry information, so the others are zeroed and
left out of the checkpoint (:mod:`motionvla_model.compact_checkpoint`), which is what
lets the repository ship it (a few MB).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from motionvla_model.bundled import built_default_dir
from motionvla_model.compact_checkpoint import zero_unused_embedding_rows
from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.dsft import DSFTConfig
from motionvla_model.modeling import MotionVLA
from sim.scene import OBJECT_LABELS
from training.config import PhaseConfig, TrainingConfigError, phase1_defaults, phase2_defaults
from training.data.grounding import GroundingConfig, write_grounding_dataset
from training.data.synthetic_dataset import SyntheticDatasetConfig, write_synthetic_dataset
from training.sft_data import read_sft_records
from training.tokenize_dataset import build_sft_files, load_motion_samples, train_dsft
from training.trainer import latest_checkpoint, train_phase

__all__ = ["DefaultModelConfig", "build_default_model", "prompt_token_ids"]


def prompt_token_ids(model: MotionVLA, records: list[dict[str, Any]]) -> set[int]:
    """Every token id the model reads in the prompts of ``records`` (chat template included)."""
    texts = [
        part["text"]
        for record in records
        for message in record["messages"]
        if message["role"] == "user"
        for part in message["content"]
        if part.get("type") == "text"
    ]
    ids: set[int] = set()
    for start in range(0, len(texts), 64):
        ids.update(model.prepare(texts[start : start + 64]).input_ids.flatten().tolist())
    return ids


def _phase1() -> PhaseConfig:
    # The backbone starts random: its motion rows (std 0.02) must grow before the head can
    # express confident predictions (|logit| <= |h| |w|), hence a 10x learning rate.
    return phase1_defaults().replace(
        max_steps=100, learning_rate=1e-2, batch_size=8, loss_vocabulary="motion"
    )


def _phase2() -> PhaseConfig:
    # A randomly initialised backbone has nothing for LoRA to preserve: every weight of
    # the language model and of the vision tower trains, at a higher learning rate than
    # the 2e-4 meant for nudging a pretrained model (LoRA on random weights measured an
    # eval loss of 3.3 against 0.8 for full training after the same 2000 steps). 1e-3,
    # not more: at 3e-3 a lookup of the named object settles on a partial cue (the shape
    # alone) instead of the whole label (docs/training.md).
    return phase2_defaults().replace(
        learning_rate=1e-3,
        max_steps=4000,
        batch_size=16,
        vision="full",
        language_model="full",
        loss_vocabulary="motion",
        eval_every=500,
        eval_examples=16,
        save_every=500,
    )


@dataclass(frozen=True)
class DefaultModelConfig:
    """Everything that decides the default model (the defaults are the shipped recipe)."""

    num_samples: int = 4000
    num_eval_samples: int = 120
    evaluate_samples: int = 48
    scene_fraction: float = 0.3
    eval_scene_fraction: float = 0.5
    tasks_per_scene: int = 3
    mirror_scenes: bool = True
    lowercase_fraction: float = 0.3
    distractor_image_fraction: float = 0.3
    grounding_scenes: int = 1500
    grounding_recolourings: int = 1
    grounding_shape_swaps: int = 1
    # Training scenes are rendered at the model's input size (4:3, the head camera's
    # aspect); the held-out set at the camera's own 320×240, as the robot delivers it.
    image_width: int = 224
    image_height: int = 168
    max_image_pixels: int = 35_840  # 224×160: 35 image tokens
    image_token_norm: bool = True
    plans: bool = True
    seed: int = 0
    workers: int = 2
    hidden_size: int = 64
    num_layers: int = 4
    base_vocab_size: int = 1024
    phys_vocab_size: int = 1024
    phase1: PhaseConfig = field(default_factory=_phase1)
    phase2: PhaseConfig = field(default_factory=_phase2)

    def __post_init__(self) -> None:
        if self.num_samples < 8 or self.num_eval_samples < 1:
            raise TrainingConfigError("need num_samples >= 8 and num_eval_samples >= 1")
        for name in (
            "scene_fraction",
            "eval_scene_fraction",
            "lowercase_fraction",
            "distractor_image_fraction",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise TrainingConfigError(f"{name} must be in [0, 1]")
        if self.tasks_per_scene < 1 or self.max_image_pixels < 32 * 32 * 4:
            raise TrainingConfigError("need tasks_per_scene >= 1 and max_image_pixels >= 4096")
        if self.grounding_scenes < 0 or self.grounding_recolourings < 0:
            raise TrainingConfigError("grounding_scenes and grounding_recolourings must be >= 0")
        if self.workers < 1 or self.hidden_size < 8 or self.num_layers < 1:
            raise TrainingConfigError("workers, hidden_size and num_layers must be positive")
        if (self.phase1.phase, self.phase2.phase) != ("phase1", "phase2"):
            raise TrainingConfigError("phase1/phase2 configs must be of their phase")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_default_model(
    config: DefaultModelConfig | None = None,
    out_dir: str | Path | None = None,
    *,
    evaluate: bool = True,
    progress: bool = True,
) -> Path:
    """Run the whole default recipe into ``out_dir``; returns the final model folder.

    Layout: ``data/{train,eval}`` (synthetic datasets; ``data/train/grounding.jsonl``
    the grounding questions), ``dsft/``, ``sft/``, ``phase1/``,
    ``phase2/`` (training outputs, logs, checkpoints), ``model/`` (the final MotionVLA),
    ``evaluation.json`` and ``recipe.json`` (this config and timings).
    """
    config = config or DefaultModelConfig()
    out = Path(out_dir) if out_dir is not None else built_default_dir()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()

    def mark(name: str) -> None:
        timings[name] = round(time.perf_counter() - start - sum(timings.values()), 2)

    indexes = {}
    # Training scenes are rendered once and used several times (several targets, and
    # mirrored); held-out scenes ask one command each, as a user would.
    data_configs = {
        "train": SyntheticDatasetConfig(
            num_samples=config.num_samples,
            seed=config.seed,
            scene_fraction=config.scene_fraction,
            tasks_per_scene=config.tasks_per_scene,
            mirror_scenes=config.mirror_scenes,
            lowercase_fraction=config.lowercase_fraction,
            distractor_image_fraction=config.distractor_image_fraction,
            image_width=config.image_width,
            image_height=config.image_height,
        ),
        "eval": SyntheticDatasetConfig(
            num_samples=config.num_eval_samples,
            seed=config.seed + 10_000,
            scene_fraction=config.eval_scene_fraction,
            lowercase_fraction=config.lowercase_fraction,
        ),
    }
    for split, data_config in data_configs.items():
        index = out / "data" / split / "index.jsonl"
        if not index.is_file():  # re-running after an interruption reuses finished data
            write_synthetic_dataset(
                index.parent, data_config, workers=config.workers, progress=progress
            )
        indexes[split] = index
    grounding_file = out / "data" / "train" / "grounding.jsonl"
    if config.plans and config.grounding_scenes and not grounding_file.is_file():
        grounding = GroundingConfig(
            num_scenes=config.grounding_scenes,
            seed=config.seed,
            image_width=config.image_width,
            image_height=config.image_height,
            recolourings=config.grounding_recolourings,
            shape_swaps=config.grounding_shape_swaps,
        )
        write_grounding_dataset(
            grounding_file.parent, grounding, workers=config.workers, progress=progress
        )
    mark("data_s")
    samples = load_motion_samples([indexes["train"]])
    dsft_config = DSFTConfig(
        base_vocab_size=config.base_vocab_size, phys_vocab_size=config.phys_vocab_size
    )
    dsft = train_dsft(samples, dsft_config, out / "dsft", progress=progress)
    mark("dsft_s")
    train_file, _ = build_sft_files(
        samples, out / "dsft", out / "sft", eval_fraction=0.0, workers=config.workers,
        progress=progress,
    )  # fmt: skip
    eval_samples = load_motion_samples([indexes["eval"]])
    _, eval_file = build_sft_files(
        eval_samples, out / "dsft", out / "sft_eval", eval_fraction=1.0,
        workers=config.workers, progress=progress,
    )  # fmt: skip
    mark("sft_s")
    train_records = read_sft_records(train_file)
    if grounding_file.is_file():
        train_records += read_sft_records(grounding_file)
    eval_records = read_sft_records(eval_file)
    model = MotionVLA.build(
        MotionVLAConfig(
            family="qwen3_5",
            backbone_reference="motionvla-default-qwen3_5",
            # Any camera image is scaled down to the grid the model was trained on
            # (max_image_pixels), so a 320×240 head camera costs 35 image tokens.
            max_image_pixels=config.max_image_pixels,
            image_token_norm=config.image_token_norm,
            plan_targets=OBJECT_LABELS if config.plans else (),
        ),
        dsft,
        seed=config.seed,
        hidden_size=config.hidden_size,
        num_layers=config.num_layers,
        device="cpu",
        dtype="float32",
    )
    # An interrupted run goes on from phase 2's newest checkpoint (which holds the whole
    # model, phase 1's rows included); otherwise phase 1 runs first.
    resume = latest_checkpoint(out / "phase2")
    if resume is None:
        train_phase(
            model, train_records, config.phase1, out / "phase1", eval_records=eval_records,
            progress=progress, save_model=False,
        )  # fmt: skip
    mark("phase1_s")
    train_phase(
        model, train_records, config.phase2, out / "phase2", eval_records=eval_records,
        resume_from=resume, progress=progress, save_model=False,
    )  # fmt: skip
    mark("phase2_s")
    # Rows of tokens no prompt uses were never read in training: zero them so the
    # checkpoint stores only what the model learned to use (see the module docstring).
    # The answer rows (motion tokens, the plan's words and digits) are what it writes.
    motion_ids = range(int(model.token_map.base_ids.min()), model.token_map.max_id + 1)
    answer_ids = set(model.answer_token_ids().tolist()) | set(motion_ids)
    zero_unused_embedding_rows(
        model.backbone, prompt_token_ids(model, train_records + eval_records) | answer_ids
    )
    model_dir = model.save_pretrained(out / "model", compact=True)
    recipe = {"config": config.to_dict(), "timings_s": timings}
    (out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    if evaluate:
        from training.evaluate import evaluate_model, write_report

        report = evaluate_model(
            model, indexes["eval"], max_samples=config.evaluate_samples, progress=progress
        )
        mark("evaluate_s")
        write_report(report, out / "evaluation.json")
        recipe["timings_s"] = timings
        (out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    return model_dir
