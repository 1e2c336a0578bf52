"""Foot contact: detect it on the human, pin the G1 foot while it lasts.

A human foot is in contact when its lowest joint is within ``contact_height_m`` of
its standing height and its horizontal speed (ankle–toe midpoint, finite
difference over the previous frame) is below ``contact_speed_m_s``.

Scaling the body changes where a limb chain puts the foot from frame to frame even
while the human foot is still, so retargeting alone would make the G1 foot slide.
While in contact the G1 foot target is therefore frozen (``x, y`` where contact
began, on the ground, flat). The tracker keeps an offset ``o`` with
``target = chain + o``: at touch-down ``o`` is chosen so the target does not jump,
during contact it absorbs the chain's drift, and after lift-off it decays as
``o ← o · exp(−Δt/τ)`` so the foot rejoins the human's path without a step.

Height: the G1 ankle sits at its standing height ``h_a`` in contact and at
``h_a + s · r(l)`` in the air, ``l`` the human foot's lift, ``s`` the root scale and
``r(l) = l²/h_c`` below the contact height ``h_c``, ``l`` above: a ramp that is
continuous at ``h_c`` and meets the ground gently, so touch-down asks for no jump.
The target is raised further where the foot's pitch would put a sole point below
the floor.
"""

from __future__ import annotations

import numpy as np

from retargeting.config import RetargetConfig
from retargeting.human_frames import foot_rotation
from retargeting.human_input import J
from retargeting.scaling import SIDES, G1Proportions, HumanCalibration, LandmarkTargets

__all__ = ["FootContactTracker"]


class FootContactTracker:
    """Stateful contact detection and foot pinning for one motion stream."""

    def __init__(self, config: RetargetConfig, dt: float) -> None:
        self._config = config
        self._dt = dt
        self._decay = float(np.exp(-dt / config.release_time_constant_s))
        self._previous_mid: np.ndarray | None = None  # [2, 2] human foot midpoints xy
        self._offset = np.zeros((2, 2))
        self._pinned: list[np.ndarray | None] = [None, None]

    def apply(
        self,
        frame: np.ndarray,
        targets: LandmarkTargets,
        calib: HumanCalibration,
        g1: G1Proportions,
    ) -> None:
        """Set contact flags, foot positions and orientations of ``targets`` in place."""
        mid = np.stack(
            [0.5 * (frame[J[f"{s}_ankle"], :2] + frame[J[f"{s}_foot"], :2]) for s in SIDES]
        )
        if self._previous_mid is None:
            speed = np.zeros(2)
        else:
            speed = np.linalg.norm(mid - self._previous_mid, axis=1) / self._dt
        self._previous_mid = mid
        feet = targets.feet
        feet.speed[:] = speed
        feet.contact[:] = (feet.lift < self._config.contact_height_m) & (
            speed < self._config.contact_speed_m_s
        )
        pelvis_forward = targets.pelvis_rotation[:, 0]
        pelvis_yaw = float(np.arctan2(pelvis_forward[1], pelvis_forward[0]))
        for i, side in enumerate(SIDES):
            name = f"{side}_foot"
            chain = targets[name][:2].copy()
            if feet.contact[i]:
                if self._pinned[i] is None:
                    self._pinned[i] = chain + self._offset[i]
                self._offset[i] = self._pinned[i] - chain
                targets[name] = [*self._pinned[i], g1.ankle_height]
            else:
                self._pinned[i] = None
                self._offset[i] *= self._decay
                lift = max(float(feet.lift[i]), 0.0)
                h_c = self._config.contact_height_m
                ramp = lift * lift / h_c if lift < h_c else lift
                targets[name] = [
                    *(chain + self._offset[i]),
                    g1.ankle_height + calib.root_scale * ramp,
                ]
            rotation = foot_rotation(
                frame, side, calib.rest_foot_pitch, flat=bool(feet.contact[i]),
                fallback_yaw=pelvis_yaw,
            )  # fmt: skip
            targets.foot_rotations[side] = rotation
            # A pitched foot reaches lower than a flat one: lift the target to clear the floor.
            targets[name][2] = max(targets[name][2], g1.ankle_clearance(rotation))
