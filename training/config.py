"""Training configuration: one validated dataclass per phase, readable from YAML or flags.

Defaults follow the published two-phase recipe: phase 1 trains only the motion-token rows
of the embedding and LM head (lr 1e-3, 500 steps, constant schedule); phase 2 is LoRA SFT
(r = 32, alpha = 64 on every linear layer of the language model, lr 2e-4, cosine schedule
with 3 % warm-up, 3 epochs). The vision tower stays frozen unless ``vision`` asks for it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGE_MODEL_MODES",
    "LOSS_VOCABULARIES",
    "MIXED_PRECISION",
    "SCHEDULERS",
    "VISION_MODES",
    "PhaseConfig",
    "TrainingConfigError",
    "load_phase_config",
    "phase1_defaults",
    "phase2_defaults",
]

SCHEDULERS = ("constant", "constant_with_warmup", "cosine", "linear")
MIXED_PRECISION = ("no", "bf16", "fp16")
VISION_MODES = ("frozen", "lora", "full")
LANGUAGE_MODEL_MODES = ("lora", "full")
LOSS_VOCABULARIES = ("full", "motion")
PHASES = ("phase1", "phase2")


class TrainingConfigError(ValueError):
    """A training option is out of range or inconsistent with the others."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TrainingConfigError(message)


@dataclass(frozen=True)
class PhaseConfig:
    """Optimisation of one training phase.

        The run length is ``max_steps`` optimizer steps when positive, otherwise ``epochs``
        passes over the data; one optimizer step consumes ``batch_size *
        gradient_accumulation_steps`` examples per process. ``warmup_ratio`` is the fraction of
        the run's steps spent warming up. ``loss_vocabulary="full"`` is the usual cross-entropy
        over the whole vocabulary; ``"motion"`` normalises the softmax over the motion tokens only,
        which is the distribution the phase-masked decoder samples from anyway and avoids the
        ~250k-wide logits (the bundled CPU model uses it; see :mod:`training.loss`).
        ``language_model`` (phase 2) is ``"lora"`` (the recipe: adapters on a pretrained model) or
    ``"full"`` (every language-model weight trains, the embedding on its motion-token rows
    only), for a backbone that starts from random weights and so has nothing to preserve.
    ``eval_every``/``save_every`` count optimizer steps (0 turns them off; a final
        checkpoint is always written).
    """

    phase: str = "phase2"
    learning_rate: float = 2e-4
    max_steps: int = 0
    epochs: float = 3.0
    scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"
    gradient_checkpointing: bool = False
    seed: int = 0
    eval_every: int = 0
    eval_examples: int = 32
    save_every: int = 0
    log_every: int = 10
    lora_r: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.0
    vision: str = "frozen"
    language_model: str = "lora"
    loss_vocabulary: str = "full"
    num_workers: int = 0

    def __post_init__(self) -> None:
        _require(self.phase in PHASES, f"phase must be one of {PHASES}, got {self.phase!r}")
        _require(
            math.isfinite(self.learning_rate) and self.learning_rate > 0,
            f"learning_rate must be > 0, got {self.learning_rate!r}",
        )
        _require(self.max_steps >= 0, f"max_steps must be >= 0, got {self.max_steps}")
        _require(
            self.max_steps > 0 or (math.isfinite(self.epochs) and self.epochs > 0),
            "give max_steps > 0 or epochs > 0",
        )
        _require(self.scheduler in SCHEDULERS, f"scheduler must be one of {SCHEDULERS}")
        _require(
            0 <= self.warmup_ratio < 1, f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}"
        )
        for name in (
            "batch_size",
            "gradient_accumulation_steps",
            "lora_r",
            "lora_alpha",
            "log_every",
        ):
            value = getattr(self, name)
            _require(isinstance(value, int) and value > 0, f"{name} must be an integer > 0")
        for name in ("eval_every", "save_every", "eval_examples", "num_workers"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0")
        _require(self.weight_decay >= 0, "weight_decay must be >= 0")
        _require(self.max_grad_norm > 0, "max_grad_norm must be > 0")
        _require(0 <= self.lora_dropout < 1, "lora_dropout must be in [0, 1)")
        _require(
            self.mixed_precision in MIXED_PRECISION,
            f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}",
        )
        _require(self.vision in VISION_MODES, f"vision must be one of {VISION_MODES}")
        _require(
            self.language_model in LANGUAGE_MODEL_MODES,
            f"language_model must be one of {LANGUAGE_MODEL_MODES}, got {self.language_model!r}",
        )
        _require(
            not (self.language_model == "full" and self.vision == "lora"),
            'vision="lora" needs language_model="lora" (adapters are added by one PEFT wrap)',
        )
        _require(
            self.loss_vocabulary in LOSS_VOCABULARIES,
            f"loss_vocabulary must be one of {LOSS_VOCABULARIES}, got {self.loss_vocabulary!r}",
        )

    def replace(self, **changes: Any) -> PhaseConfig:
        return PhaseConfig(**(asdict(self) | changes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: PhaseConfig | None = None) -> PhaseConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        _require(not unknown, f"unknown training options {unknown}")
        return cls(**(asdict(base or cls()) | data))


def phase1_defaults() -> PhaseConfig:
    """Phase 1 of the recipe: new-token rows only, lr 1e-3, 500 steps."""
    return PhaseConfig(
        phase="phase1", learning_rate=1e-3, max_steps=500, scheduler="constant", warmup_ratio=0.0
    )


def phase2_defaults() -> PhaseConfig:
    """Phase 2 of the recipe: LoRA r=32/alpha=64, lr 2e-4, cosine, 3 % warm-up, 3 epochs."""
    return PhaseConfig(phase="phase2")


def load_phase_config(phase: str, path: str | Path | None = None, **overrides: Any) -> PhaseConfig:
    """The defaults of ``phase``, updated from a YAML file (a mapping), then ``overrides``.

    ``None`` overrides are ignored, so unset command-line flags keep the file's values.
    """
    base = {"phase1": phase1_defaults, "phase2": phase2_defaults}.get(phase)
    _require(base is not None, f"phase must be one of {PHASES}, got {phase!r}")
    values: dict[str, Any] = {}
    if path is not None:
        import yaml

        loaded = yaml.safe_load(Path(path).read_text()) or {}
        _require(isinstance(loaded, dict), f"{path}: expected a mapping of options")
        values |= loaded.get(phase, loaded) if phase in loaded else loaded
    values |= {k: v for k, v in overrides.items() if v is not None}
    values["phase"] = phase
    return PhaseConfig.from_dict(values, base())
