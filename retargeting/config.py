"""Settings of the human → G1 retargeter, validated on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import qpsolvers

__all__ = ["IKWeights", "RetargetConfig", "RetargetConfigError"]


class RetargetConfigError(ValueError):
    """A retargeting setting is out of its valid range."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RetargetConfigError(message)


@dataclass(frozen=True)
class IKWeights:
    """Costs of the inverse-kinematics tasks (per metre or per radian of error).

    Foot positions weigh most because a foot that misses its target slides or
    sinks, which a controller cannot track; the pelvis carries the body's path;
    arms and knees follow the human's limb directions; ``posture`` is a weak pull
    towards the standing pose that keeps redundant joints (wrists, waist) from
    drifting. Orientations are costed lightly: they are derived from a few joint
    positions (hips and spine, ankle and toe) and are noisier than the positions
    themselves; on the OMOMO and BVH clips heavier orientation costs doubled the
    keypoint error and made the legs fight over unreachable foot angles.
    """

    pelvis_position: float = 10.0
    pelvis_orientation: float = 2.0
    torso_orientation: float = 3.0
    head_position: float = 1.0
    knee_position: float = 2.0
    foot_position: float = 20.0
    foot_orientation: float = 0.5
    elbow_position: float = 2.0
    wrist_position: float = 4.0
    posture: float = 0.02

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            _require(
                isinstance(value, int | float) and math.isfinite(value) and value >= 0,
                f"IK weight {f.name} must be a finite number >= 0, got {value!r}",
            )


@dataclass(frozen=True)
class RetargetConfig:
    """How human joints become a G1 trajectory.

    Rates and iterations: each output frame (``output_fps``) warm-starts from the
    previous one and runs ``iterations_per_frame`` IK steps; the first frame, which
    starts from the standing pose, runs ``first_frame_iterations``.

    Contact: a human foot is in contact while its lowest joint (ankle or toe) is
    within ``contact_height_m`` of its standing height and moves slower than
    ``contact_speed_m_s`` horizontally; the G1 foot is then pinned. After lift-off
    the pin's offset fades with time constant ``release_time_constant_s``.
    """

    output_fps: float = 50.0
    solver: str = "daqp"
    damping: float = 1e-3
    iterations_per_frame: int = 2
    first_frame_iterations: int = 40
    weights: IKWeights = field(default_factory=IKWeights)
    contact_height_m: float = 0.05
    contact_speed_m_s: float = 0.15
    release_time_constant_s: float = 0.15
    velocity_limit_margin: float = 0.9
    max_clip_seconds: float = 600.0
    max_nan_gap_seconds: float = 0.25
    min_human_height_m: float = 0.8
    max_human_height_m: float = 2.5

    def __post_init__(self) -> None:
        positive = (
            "output_fps",
            "contact_height_m",
            "contact_speed_m_s",
            "release_time_constant_s",
            "max_clip_seconds",
            "min_human_height_m",
        )
        for name in positive:
            value = getattr(self, name)
            _require(
                isinstance(value, int | float) and math.isfinite(value) and value > 0,
                f"{name} must be a finite number > 0, got {value!r}",
            )
        _require(self.output_fps <= 1000, f"output_fps {self.output_fps} is above 1000 Hz")
        _require(
            isinstance(self.damping, int | float) and math.isfinite(self.damping)
            and self.damping >= 0,
            f"damping must be a finite number >= 0, got {self.damping!r}",
        )  # fmt: skip
        for name in ("iterations_per_frame", "first_frame_iterations"):
            value = getattr(self, name)
            _require(
                isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000,
                f"{name} must be an integer in [1, 1000], got {value!r}",
            )
        _require(
            0 < self.velocity_limit_margin <= 1,
            f"velocity_limit_margin must be in (0, 1], got {self.velocity_limit_margin!r}",
        )
        _require(
            math.isfinite(self.max_nan_gap_seconds) and self.max_nan_gap_seconds >= 0,
            f"max_nan_gap_seconds must be >= 0, got {self.max_nan_gap_seconds!r}",
        )
        _require(
            self.max_human_height_m > self.min_human_height_m,
            f"max_human_height_m ({self.max_human_height_m}) must exceed "
            f"min_human_height_m ({self.min_human_height_m})",
        )
        _require(isinstance(self.weights, IKWeights), "weights must be an IKWeights")
        _require(
            self.solver in qpsolvers.available_solvers,
            f"QP solver {self.solver!r} is not installed; available: "
            f"{sorted(qpsolvers.available_solvers)}",
        )
