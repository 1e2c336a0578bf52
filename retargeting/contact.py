"""Foot contact: detect it on the human, plant the G1 foot while it lasts.

A human foot is in contact when its lowest joint is within ``contact_height_m`` of
its standing height and its horizontal speed (ankle–toe midpoint, finite
difference over the previous frame) is below ``contact_speed_m_s``.

Each G1 foot target is four numbers, ``x, y``, the ankle height ``z`` and the sole's
pitch (its heading is the human foot's). Two sets of them exist:

- **planted**: ``x, y`` where the target was when contact began, ``z = h_a`` (the ankle's
  standing height), pitch 0 (flat). Scaling the body changes where a limb chain puts
  the foot from frame to frame even while the human foot is still, so following the
  chain would make the G1 foot slide;
- **free**: the chain's ``x, y``, ``z = h_a + s · r(l)`` with ``l`` the human foot's
  lift, ``s`` the root scale and ``r(l) = l²/h_c`` below the contact height ``h_c``,
  ``l`` above (continuous at ``h_c``, flat at the ground), and the human foot's pitch
  relative to its standing slope.

The target is ``w · planted + (1 − w) · (free + o)``. Every switch is spread over
time, because a one-frame step in a target is what a motor cannot follow:

- **touch-down**: ``w = 3u² − 2u³`` (smoothstep) of a phase ``u`` that grows by
  ``Δt / T`` per frame in contact (``T = contact_blend_s``): position, height and pitch
  fade into the planted ones with zero rate of change at both ends. The gaps are small
  by then (the human foot is slow and near the floor), which keeps the fade's own
  acceleration ``6 gap / T²`` small;
- **lift-off**: ``w`` drops to 0 and the offset ``o`` takes over the difference, so the
  target starts exactly where it was; it starts at rest too (``ȯ₀`` cancels the free
  target's velocity) and is released critically damped,
  ``o(t) = (o₀ + (o₀/τ + ȯ₀) t) e^{−t/τ}`` (``t`` the time since lift-off), so the
  foot takes up the human foot's motion within about ``τ`` with an acceleration of
  order ``o₀/τ²``, where switching at once asked for ``o₀`` in one frame. The gaps are
  largest here (a foot lifting off has already pitched and risen). Height and pitch
  are released with ``τ = T``, position with ``τ = release_time_constant_s`` (longer):
  the foot rises before it moves on, so it does not skid along the floor.

Last, the target is raised where the pitch would put a sole point below the floor.
"""

from __future__ import annotations

import numpy as np

from retargeting.config import RetargetConfig
from retargeting.human_frames import foot_pitch, foot_yaw, yaw_rotation
from retargeting.human_input import J
from retargeting.scaling import SIDES, G1Proportions, HumanCalibration, LandmarkTargets

__all__ = ["FootContactTracker", "smoothstep"]


def smoothstep(u: float) -> float:
    """``3u² − 2u³`` on ``[0, 1]``: rises from 0 to 1 with zero slope at both ends."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


class FootContactTracker:
    """Stateful contact detection and foot planting for one motion stream."""

    def __init__(self, config: RetargetConfig, dt: float) -> None:
        self._config = config
        self._dt = dt
        # Release time constants of x, y (τ) and of height and pitch (T).
        tau, blend = config.release_time_constant_s, config.contact_blend_s
        self._taus = np.array([tau, tau, blend, blend])
        self._phase_step = dt / config.contact_blend_s
        self._previous_mid: np.ndarray | None = None  # [2, 2] human foot midpoints xy
        # Per foot, the four target numbers (x, y, z, pitch):
        self._free = np.zeros((2, 4))  # free target of the previous frame
        self._target = np.zeros((2, 4))  # target sent in the previous frame
        self._planted_xy = np.zeros((2, 2))
        self._offset = np.zeros((2, 4))  # o₀ and ȯ₀ of the current release
        self._offset_rate = np.zeros((2, 4))
        self._since_lift = np.zeros(2)
        self._phase = np.zeros(2)  # 0: free … 1: planted
        self._was_in_contact = np.zeros(2, dtype=bool)

    def _release(self, i: int) -> np.ndarray:
        t = self._since_lift[i]
        o0, rate, tau = self._offset[i], self._offset_rate[i], self._taus
        return (o0 + (o0 / tau + rate) * t) * np.exp(-t / tau)

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
        first = self._previous_mid is None
        if first:
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
        h_c = self._config.contact_height_m
        for i, side in enumerate(SIDES):
            name = f"{side}_foot"
            contact = bool(feet.contact[i])
            lift = max(float(feet.lift[i]), 0.0)
            ramp = lift * lift / h_c if lift < h_c else lift
            free = np.array([
                *targets[name][:2],
                g1.ankle_height + calib.root_scale * ramp,
                foot_pitch(frame, side) - calib.rest_foot_pitch,
            ])  # fmt: skip
            if first:
                # Nothing to fade from: the motion starts in its detected state, at rest.
                self._phase[i] = float(contact)
                self._target[i] = self._free[i] = free
                self._planted_xy[i] = free[:2]
            elif contact and not self._was_in_contact[i]:
                self._planted_xy[i] = self._target[i, :2]
            elif self._was_in_contact[i] and not contact:
                self._phase[i] = 0.0
                self._offset[i] = self._target[i] - free
                self._offset_rate[i] = -(free - self._free[i]) / self._dt
                self._since_lift[i] = 0.0
            elif not first:
                self._since_lift[i] += self._dt
            self._was_in_contact[i] = contact
            if contact:
                self._phase[i] = min(self._phase[i] + self._phase_step, 1.0)
            w = smoothstep(self._phase[i])
            planted = np.array([*self._planted_xy[i], g1.ankle_height, 0.0])
            target = w * planted + (1.0 - w) * (free + self._release(i))
            self._free[i], self._target[i] = free, target
            rotation = yaw_rotation(foot_yaw(frame, side, pelvis_yaw), target[3])
            # A pitched foot reaches lower than a flat one: lift the target to clear the floor.
            targets[name] = [*target[:2], max(target[2], g1.ankle_clearance(rotation))]
            targets.foot_rotations[side] = rotation
