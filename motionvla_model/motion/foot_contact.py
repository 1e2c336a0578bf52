"""Foot-contact clean-up: feet stay planted where the features say they are in contact.

Decoded or generated HumanML3D features carry foot-contact channels (``[259:263]``:
left ankle, left toe, right ankle, right toe), but their joint positions are coded
separately and approximately, so a foot that the contact channels hold still drifts
along with the body ("foot floating") and slides. :func:`plant_feet` makes the joints
agree with the channels:

1. **Contact.** A foot is planted in frame ``t`` when its lowest joint (ankle or toe,
   each measured above its own lowest height in the clip) is within ``max_lift_m`` of
   the floor, its toe moves horizontally slower than ``max_speed_m_s`` plus the root's
   speed, and either the mean of its two contact channels is above one half or the
   foot is on the floor (lowest joint within ``on_floor_m``). A run shorter than
   ``min_frames`` is ignored. The height test keeps a foot that moves slowly through
   the air (raising a knee) free, since HumanML3D's contact label is a speed threshold
   alone; the speed test frees a swing foot, which overtakes the body, while a stance
   foot that decoding lets drift moves at most with the body. The floor test catches
   the stances of a run: three steps a second are finer than the Phys stream's four
   DCT coefficients per second can draw in the contact channels, while the foot height
   (Base stream, five coefficients) still shows them.
2. **Anchor.** Each run holds the toe at its mean position over the run: the
   correction ``c(t) = mean − p_toe(t)`` is added to the toe and the ankle (so the foot
   keeps its shape) while the run lasts.
3. **Fades.** Outside a run its first and last corrections fade to zero over
   ``blend_s`` seconds with a smoothstep ``3u² − 2u³`` (two fades that meet add),
   so the foot leaves and rejoins its decoded path without a step.
4. **Knee.** The knee stays where it was decoded, so the shin's length changes by the
   correction (a few centimetres at most; decoded bone lengths vary by as much from
   frame to frame). Moving the knee with the ankle by two-bone inverse kinematics was
   measured to cost more than it gave: on held-out real clips it raised the knee and
   ankle errors by 4–5 mm each, where the planted toe gained 4 mm.

The features are then rewritten to match: the ric positions and local velocities of
the ankles and toes (the root and every other channel are unchanged, so the 6-D
rotations keep their decoded values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionvla_model.motion.features import (
    HUMANML3D_FPS,
    _qrot,
    _validate_features,
    features_to_joints,
    recover_root,
)
from motionvla_model.motion.layouts import HUMANML3D
from motionvla_model.motion.skeleton import LEFT_FOOT_JOINTS, RIGHT_FOOT_JOINTS

__all__ = ["FootPlanting", "contact_runs", "plant_feet", "planted_frames"]

_FEET = (LEFT_FOOT_JOINTS, RIGHT_FOOT_JOINTS)  # (ankle, toe) of each foot
_EPS = 1e-9


@dataclass(frozen=True)
class FootPlanting:
    """Settings of :func:`plant_feet` (module docstring); validated on construction."""

    max_lift_m: float = 0.1
    on_floor_m: float = 0.02
    max_speed_m_s: float = 0.35
    min_frames: int = 2
    blend_s: float = 0.1

    def __post_init__(self) -> None:
        for name in ("max_lift_m", "on_floor_m", "max_speed_m_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not (np.isfinite(self.blend_s) and self.blend_s >= 0):
            raise ValueError(f"blend_s must be >= 0, got {self.blend_s!r}")
        if not (isinstance(self.min_frames, int) and self.min_frames >= 1):
            raise ValueError(f"min_frames must be an integer >= 1, got {self.min_frames!r}")


def _speed(points: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speed ``[T, ...]`` of Y-up points ``[T, ..., 3]`` (central differences)."""
    if len(points) < 2:
        return np.zeros(points.shape[:-1])
    return np.linalg.norm(np.gradient(points[..., [0, 2]], axis=0), axis=-1) * fps


def planted_frames(
    features: np.ndarray, joints: np.ndarray, settings: FootPlanting, fps: float
) -> np.ndarray:
    """``bool [T, 2]``: left/right foot planted (step 1 of the module docstring)."""
    contacts = features[:, HUMANML3D["foot_contact"]].reshape(len(features), 2, 2).mean(axis=2)
    feet = joints[:, _FEET, 1]  # [T, 2 feet, (ankle, toe)] heights
    lift = (feet - feet.min(axis=(0, 1))).min(axis=2)
    toes = joints[:, [toe for _, toe in _FEET]]
    slow = _speed(toes, fps) < settings.max_speed_m_s + _speed(joints[:, 0], fps)[:, None]
    said = (contacts > 0.5) | (lift < settings.on_floor_m)
    planted = said & (lift < settings.max_lift_m) & slow
    for foot in range(2):
        for start, stop in contact_runs(planted[:, foot]):
            if stop - start < settings.min_frames:
                planted[start:stop, foot] = False
    return planted


def contact_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _foot_correction(toe: np.ndarray, planted: np.ndarray, blend_frames: int) -> np.ndarray:
    """Correction ``[T, 3]`` that holds ``toe`` at each run's mean, with faded edges."""
    frames = len(toe)
    correction = np.zeros_like(toe)
    holds = []
    # The fade weights at distance 1, 2, ... from a run's edge.
    fade = _smoothstep(1.0 - np.arange(1, blend_frames + 1) / (blend_frames + 1))[:, None]
    for start, stop in contact_runs(planted):
        held = toe[start:stop].mean(axis=0) - toe[start:stop]
        holds.append((start, stop, held))
        before = max(start - blend_frames, 0)
        correction[before:start] += fade[: start - before][::-1] * held[0]
        after = min(stop + blend_frames, frames)
        correction[stop:after] += fade[: after - stop] * held[-1]
    # Where a fade reaches into another run, that run's hold wins.
    for start, stop, held in holds:
        correction[start:stop] = held
    return correction


def plant_feet(
    features: np.ndarray, settings: FootPlanting | None = None, fps: float = HUMANML3D_FPS
) -> np.ndarray:
    """HumanML3D features ``[T, 263]`` at ``fps`` with the feet planted (module docstring).

    Returns a new ``float32`` array; a clip of fewer than 2 frames is returned as it is.
    """
    settings = settings or FootPlanting()
    x = _validate_features(features)
    if x.ndim != 2:
        raise ValueError(f"plant_feet takes one clip [T, 263], got shape {x.shape}")
    if len(x) < 2:
        return x.astype(np.float32)
    joints = features_to_joints(x).astype(np.float64)
    planted = planted_frames(x, joints, settings, fps)
    if not planted.any():
        return x.astype(np.float32)
    blend_frames = round(settings.blend_s * fps)
    for foot, (ankle, toe) in enumerate(_FEET):
        correction = _foot_correction(joints[:, toe], planted[:, foot], blend_frames)
        joints[:, ankle] += correction
        joints[:, toe] += correction

    yaw, root = recover_root(x)
    legs = np.array([j for foot in _FEET for j in foot])
    centred = joints[:, legs] - root[:, None] * np.array([1.0, 0.0, 1.0])
    ric = x[:, HUMANML3D["ric_positions"]].reshape(len(x), 21, 3)
    ric[:, legs - 1] = _qrot(yaw[:, None], centred)
    x[:, HUMANML3D["ric_positions"]] = ric.reshape(len(x), -1)
    # Local velocity of frame t is r_t (p_{t+1} - p_t); the last frame keeps its own.
    velocity = x[:, HUMANML3D["local_velocity"]].reshape(len(x), 22, 3)
    step = np.diff(joints[:, legs], axis=0)
    velocity[:-1, legs] = _qrot(yaw[:-1, None], step)
    x[:, HUMANML3D["local_velocity"]] = velocity.reshape(len(x), -1)
    return x.astype(np.float32)
