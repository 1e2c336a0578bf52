"""Configuration of a MotionVLA model: backbone family, input limits, motion length and budgets.

Everything here is plain data, validated when constructed and stored as ``motionvla.json``
in a checkpoint, so a saved model reproduces its prompt format and its length rules exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

__all__ = [
    "BACKBONE_FAMILIES",
    "ConfigurationError",
    "MotionVLAConfig",
    "SamplingOptions",
]

BACKBONE_FAMILIES = ("qwen3_5", "qwen3_vl", "qwen2_5_vl", "qwen3")
"""Supported backbones: three Qwen vision-language families and the text-only Qwen3 LM."""


class ConfigurationError(ValueError):
    """A configuration value is out of range or inconsistent."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigurationError(message)


@dataclass(frozen=True)
class MotionVLAConfig:
    """How a MotionVLA model reads its inputs and how long a motion may be.

    Stream lengths follow the requested duration ``d`` (seconds): the Base stream gets
    between ``floor(r_b * d * (1 - tol))`` and ``ceil(r_b * d * (1 + tol))`` tokens, where
    ``r_b`` is the DSFT tokenizer's Base tokens per second measured on its training data
    and ``tol`` is ``length_tolerance`` (likewise Phys), intersected with the hard bounds
    the DSFT tokenizer gives for that many frames.
    """

    family: str = "qwen3_5"
    base_vocab_size: int = 4096
    phys_vocab_size: int = 4096
    length_tolerance: float = 0.5
    default_duration_s: float = 4.0
    max_duration_s: float = 12.0
    max_command_chars: int = 2000
    min_image_pixels: int = 32 * 32 * 4
    max_image_pixels: int = 448 * 448
    min_image_side: int = 8
    max_image_side: int = 16384
    max_image_aspect_ratio: float = 50.0
    max_new_tokens: int = 1024
    time_budget_s: float = 60.0
    backbone_reference: str = ""
    """Where the backbone came from (a local directory or a tiny-config name), for provenance."""
    image_token_norm: bool = False
    """Standardise the vision tower's output tokens (:class:`~motionvla_model.backbone.
    ImageTokenNorm`); for backbones trained from random weights."""
    plan_targets: tuple[str, ...] = ()
    """Object labels a grounded plan may name (``"red box"``, …; :mod:`motionvla_model.plan`).
    Empty: the model answers every command with the motion alone."""

    def __post_init__(self) -> None:
        _require(
            self.family in BACKBONE_FAMILIES,
            f"family must be one of {BACKBONE_FAMILIES}, got {self.family!r}",
        )
        for name in ("base_vocab_size", "phys_vocab_size", "max_command_chars", "max_new_tokens"):
            value = getattr(self, name)
            _require(isinstance(value, int) and value > 0, f"{name} must be > 0, got {value!r}")
        for name in (
            "default_duration_s",
            "max_duration_s",
            "time_budget_s",
        ):
            value = getattr(self, name)
            _require(
                math.isfinite(value) and value > 0, f"{name} must be finite and > 0, got {value!r}"
            )
        _require(
            0.0 <= self.length_tolerance < 1.0,
            f"length_tolerance must be in [0, 1), got {self.length_tolerance}",
        )
        _require(
            self.default_duration_s <= self.max_duration_s,
            "default_duration_s must not exceed max_duration_s",
        )
        _require(
            0 < self.min_image_pixels <= self.max_image_pixels,
            "need 0 < min_image_pixels <= max_image_pixels",
        )
        _require(
            0 < self.min_image_side <= self.max_image_side,
            "need 0 < min_image_side <= max_image_side",
        )
        _require(self.max_image_aspect_ratio >= 1.0, "max_image_aspect_ratio must be >= 1")
        _require(
            not isinstance(self.plan_targets, str)
            and all(isinstance(t, str) and t for t in self.plan_targets),
            f"plan_targets must be a list of labels, got {self.plan_targets!r}",
        )
        object.__setattr__(self, "plan_targets", tuple(self.plan_targets))

    @property
    def multimodal(self) -> bool:
        """Whether the backbone takes images (every family except the text-only LM)."""
        return self.family != "qwen3"

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> MotionVLAConfig:
        data: dict[str, Any] = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        _require(not unknown, f"{path}: unknown configuration keys {unknown}")
        return cls(**data)


@dataclass(frozen=True)
class SamplingOptions:
    """Decoding strategy: greedy when ``temperature == 0``, otherwise temperature + top-p."""

    temperature: float = 0.0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.temperature) and self.temperature >= 0,
            f"temperature must be finite and >= 0, got {self.temperature!r}",
        )
        _require(0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0
