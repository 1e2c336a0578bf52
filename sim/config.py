"""``SimCheckConfig``: every threshold the simulation check judges a trajectory by.

Defaults were set on the real G1 clips that registry packages ship (AMP walk, jog
and turn clips, holosoma box carry): every one of them passes with a margin, and
each corruption in ``benchmarks/sim.py`` fails the check meant for it. The measured
values behind each default are in ``docs/sim.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

__all__ = ["InvalidSimConfigError", "SimCheckConfig"]


class InvalidSimConfigError(ValueError):
    """A simulation-check threshold is missing, negative or inconsistent."""


@dataclass(frozen=True)
class SimCheckConfig:
    """Thresholds (a check fails when its measured value exceeds them) and limits of work.

    Kinematic (replay through ``qpos``):
        joint_limit_margin_rad: how far past a joint's range a frame may go.
        velocity_limit_ratio: largest ``|qdot| / limit`` allowed (Unitree's motor limits).
        acceleration_limit_ratio: largest ``|qddot| / (tau_max / M_ii)`` allowed, where
            ``tau_max / M_ii`` is the acceleration the joint's motor gives the joint's own
            inertia (mass-matrix diagonal at the standing pose) with nothing else loading it.
        jitter_rad_s2: largest mean ``|qddot|`` over joints and frames.
        root_speed_m_s / root_angular_speed_rad_s: largest pelvis speeds (a root that
            teleports moves far faster than a person runs).
        root_height_range_m: allowed pelvis heights.
        max_tilt_deg: largest angle between the pelvis' up axis and the world's.
        self_collision_depth_m: deepest allowed contact between two robot bodies that
            are not parent and child.
        ground_penetration_m: deepest allowed contact between the robot and the floor.
        foot_contact_height_m: a foot is in contact while its sole site is this low.
        foot_slide_m_s: largest mean horizontal speed of feet in contact.
        object_penetration_m: deepest allowed contact between robot and scene object.

    Dynamic (physics with the robot's position actuators and a pelvis assist wrench):
        physics_timestep_s: MuJoCo time step (the Menagerie model's is 2 ms; 4 ms is
            stable on every clip and halves the cost).
        control_hz: rate at which the actuator targets and the assist's target pose are
            updated (the actuators' PD and the assist act at every physics step).
        assist_kp / assist_kd: pelvis assist gains (1/s², 1/s), multiplied by the robot's
            mass (force) and rotational inertia about the pelvis (torque).
        assist_mean_max / assist_peak_max: mean and peak assist force allowed, as a
            fraction of body weight.
        tracking_error_rad: largest mean joint tracking error.
        torque_saturation_max: largest fraction of motor-samples (29 motors times control
            samples) at the torque limit.
        fall_height_m / fall_tilt_deg: how far (height, tilt) the pelvis may leave the
            reference before the unassisted robot counts as fallen.
        require_unassisted_balance: fail a motion the robot cannot do without help
            (off by default: open-loop joint PD cannot balance a walk; assist measures
            plausibility instead).

    Work per request:
        max_duration_s: longer trajectories are refused.
        max_fps: higher frame rates are refused (they multiply kinematic work).
        time_budget_s: wall-clock limit of one check; past it the check fails.
    """

    joint_limit_margin_rad: float = 0.02
    velocity_limit_ratio: float = 1.0
    acceleration_limit_ratio: float = 4.0
    jitter_rad_s2: float = 60.0
    root_speed_m_s: float = 6.0
    root_angular_speed_rad_s: float = 12.0
    root_height_range_m: tuple[float, float] = (0.3, 1.2)
    max_tilt_deg: float = 75.0
    self_collision_depth_m: float = 0.06
    ground_penetration_m: float = 0.06
    foot_contact_height_m: float = 0.05
    foot_slide_m_s: float = 0.5
    object_penetration_m: float = 0.005

    physics_timestep_s: float = 0.004
    control_hz: float = 250.0
    assist_kp: float = 100.0
    assist_kd: float = 20.0
    assist_mean_max: float = 0.85
    assist_peak_max: float = 4.0
    tracking_error_rad: float = 0.1
    torque_saturation_max: float = 0.1
    fall_height_m: float = 0.25
    fall_tilt_deg: float = 45.0
    require_unassisted_balance: bool = False

    max_duration_s: float = 60.0
    max_fps: float = 240.0
    time_budget_s: float = 30.0

    def __post_init__(self) -> None:
        low, high = (float(v) for v in self.root_height_range_m)
        object.__setattr__(self, "root_height_range_m", (low, high))
        if not low < high:
            raise InvalidSimConfigError(f"root_height_range_m must be (low, high), got {low, high}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("root_height_range_m", "require_unassisted_balance"):
                continue
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidSimConfigError(f"{f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise InvalidSimConfigError(f"{f.name} must be positive and finite, got {value}")
        if not 0 < self.max_tilt_deg < 180 or not 0 < self.fall_tilt_deg < 180:
            raise InvalidSimConfigError("tilt angles must lie in (0, 180) degrees")
        if self.assist_mean_max > self.assist_peak_max:
            raise InvalidSimConfigError("assist_mean_max cannot exceed assist_peak_max")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["root_height_range_m"] = list(self.root_height_range_m)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> SimCheckConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidSimConfigError(f"unknown simulation-check settings {unknown}")
        values = dict(values)
        if "root_height_range_m" in values:
            values["root_height_range_m"] = tuple(values["root_height_range_m"])
        return cls(**values)
