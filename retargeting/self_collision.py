"""Self-collision avoidance for the IK: keep the G1's legs apart and its arms off its body.

Real motion capture crosses the legs (a dancer's kicks, a turn on the spot) and swings
the hands through the hips; scaled onto the G1, whose collision meshes are convex hulls
of its links, the hip-yaw and knee links of the two legs then overlap by several
centimetres and the forearms pass through the torso. The pairs that collide on real
clips are

- every link of one leg with every link of the other;
- every arm link from the upper arm (shoulder-yaw link) out with the torso, the pelvis
  and the leg links (a hand hanging by the side meets the hip links).

Detection uses MuJoCo's own collision pipeline on a copy of the model in which only
these pairs can touch (contact bitmasks: left leg, right leg, arms, trunk) and each of
their geoms has a margin of ``d_detect``: ``mj_collision`` returns every pair closer
than that with its signed distance ``d``, witness points and normal ``n`` (from the
first geom to the second), after a broad phase that makes far-apart pairs nearly free.
(mink's ``CollisionAvoidanceLimit`` calls ``mj_geomDistance`` for every surviving pair;
for these pairs it cost about 20 times as much per step.) One row per close pair keeps
the linearised distance above the minimum:

    d + n · (J_2(p_2) − J_1(p_1)) Δq  ≥  d_min + (1 − ξ)(d − d_min),   i.e.
    −n · (J_2 − J_1) Δq  ≤  ξ (d − d_min),

a velocity damper: a pair may close at most the fraction ``ξ`` of its remaining gap per
IK step, and one already closer than ``d_min`` is pushed apart by that fraction.
"""

from __future__ import annotations

import mujoco
import numpy as np

from retargeting.config import RetargetConfig

__all__ = ["SELF_COLLISION_GROUPS", "SelfCollisionRows", "self_collision_model"]

# Bodies whose collision geoms take part, by group; a pair of geoms is checked when its
# two groups are listed together in _CHECKED.
SELF_COLLISION_GROUPS: dict[str, tuple[str, ...]] = {
    **{
        f"{side}_leg": tuple(
            f"{side}_{link}_link"
            for link in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
        )
        for side in ("left", "right")
    },
    "arms": tuple(
        f"{side}_{link}_link"
        for side in ("left", "right")
        for link in ("shoulder_yaw", "elbow", "wrist_roll", "wrist_pitch", "wrist_yaw")
    ),
    "trunk": ("pelvis", "torso_link"),
}
_CHECKED = (("left_leg", "right_leg"), ("arms", "left_leg"), ("arms", "right_leg"),
            ("arms", "trunk"))  # fmt: skip
# Fraction of the remaining gap a pair may close per IK step.
_GAIN = 0.5


def _bitmasks() -> dict[str, tuple[int, int]]:
    """(contype, conaffinity) per group such that exactly the _CHECKED pairs collide.

    MuJoCo lets geoms a and b collide when ``contype_a & conaffinity_b`` or
    ``contype_b & conaffinity_a``: each group gets its own contype bit and the bits of
    the groups it is checked against (listed after it) as its conaffinity.
    """
    bit = {group: 1 << i for i, group in enumerate(SELF_COLLISION_GROUPS)}
    masks = {}
    for group in SELF_COLLISION_GROUPS:
        affinity = 0
        for a, b in _CHECKED:
            if a == group:
                affinity |= bit[b]
        masks[group] = (bit[group], affinity)
    return masks


def self_collision_model(model: mujoco.MjModel, detection_m: float) -> None:
    """Make ``model`` (a private copy) collide only the checked pairs, within ``detection_m``.

    The floor and every other geom stop colliding; multi-point contacts are turned off
    (one contact per pair is all the avoidance needs).
    """
    # Only the geoms the published model lets collide (its collision meshes and soles).
    colliding = (model.geom_contype != 0) | (model.geom_conaffinity != 0)
    model.geom_contype[:] = 0
    model.geom_conaffinity[:] = 0
    for group, (contype, affinity) in _bitmasks().items():
        for name in SELF_COLLISION_GROUPS[group]:
            geoms = np.flatnonzero((model.geom_bodyid == model.body(name).id) & colliding)
            model.geom_contype[geoms] = contype
            model.geom_conaffinity[geoms] = affinity
            model.geom_margin[geoms] = detection_m
    model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_MULTICCD


class SelfCollisionRows:
    """Inequality rows ``G Δq ≤ h`` for the close pairs of one configuration."""

    def __init__(self, model: mujoco.MjModel, config: RetargetConfig) -> None:
        self._model = model
        self._min_distance = config.collision_min_distance_m
        self._jac1 = np.zeros((3, model.nv))
        self._jac2 = np.zeros((3, model.nv))

    def __call__(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows for ``data`` (kinematics and ``mj_comPos`` up to date), or None if no
        pair is within the detection distance."""
        model = self._model
        mujoco.mj_collision(model, data)
        count = data.ncon
        if count == 0:
            return None
        G = np.empty((count, model.nv))
        h = np.empty(count)
        for i in range(count):
            contact = data.contact[i]
            normal = contact.frame[:3]
            half = 0.5 * contact.dist * normal
            body1, body2 = model.geom_bodyid[contact.geom]
            mujoco.mj_jac(model, data, self._jac1, None, contact.pos - half, body1)
            mujoco.mj_jac(model, data, self._jac2, None, contact.pos + half, body2)
            G[i] = normal @ (self._jac1 - self._jac2)
            h[i] = _GAIN * (contact.dist - self._min_distance)
        return G, h
