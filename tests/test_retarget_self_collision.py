"""Self-collision avoidance inside the retargeter's IK, on an input that crosses the legs."""

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from retargeting.config import RetargetConfig, RetargetConfigError
from retargeting.g1 import g1_description, load_g1_model
from retargeting.retargeter import Retargeter
from retargeting.self_collision import SELF_COLLISION_GROUPS, self_collision_model
from sim.config import SimCheckConfig
from sim.kinematic_check import ContactIndex, kinematic_checks
from sim.scene import build_scene_model
from training.data.commands import Wave
from training.data.synthetic_motion import synthesize


@pytest.fixture(scope="module")
def crossing_legs() -> np.ndarray:
    """Two seconds (20 fps) of a person standing, swinging the left leg 40° across the
    right one about the hip and back: the G1's shins and thighs would pass through each
    other, and the hand hanging by the side meets the swinging hip."""
    stand = synthesize([Wave()]).joints[0].astype(np.float64)
    angles = np.radians(40.0) * np.sin(np.linspace(0.0, np.pi, 41))
    clip = np.repeat(stand[None], len(angles), axis=0)
    hip = stand[1]
    for t, angle in enumerate(angles):
        # About the forward axis (+Z, Y up): the left leg swings towards the right (-X).
        swing = Rotation.from_rotvec([0.0, 0.0, -angle])
        for joint in (4, 7, 10):  # left knee, ankle, toe
            clip[t, joint] = hip + swing.apply(stand[joint] - hip)
    return clip


def _self_penetration(trajectory) -> float:
    model = build_scene_model(None)
    _, metrics = kinematic_checks(model, trajectory, SimCheckConfig(), ContactIndex.of(model))
    return metrics["max_self_penetration_m"]


def test_crossing_legs_do_not_pass_through_each_other(crossing_legs):
    unguarded = Retargeter(RetargetConfig(self_collision=False)).retarget(crossing_legs, 20.0)
    guarded = Retargeter().retarget(crossing_legs, 20.0)
    # Without avoidance the knees overlap by centimetres, past the simulation check's 6 cm.
    assert _self_penetration(unguarded.trajectory) > SimCheckConfig().self_collision_depth_m
    assert _self_penetration(guarded.trajectory) < 0.015
    # The leg still swings across as far as the other leg allows.
    roll = guarded.trajectory.joint_pos[:, 1]  # left hip roll
    assert roll.min() < -0.15


def test_only_the_listed_pairs_collide_in_the_ik_model():
    model = load_g1_model()
    self_collision_model(model, 0.03)
    data = mujoco.MjData(model)
    groups = {
        model.body(name).id: group
        for group, names in SELF_COLLISION_GROUPS.items()
        for name in names
    }
    # Every geom of the model, pairwise: collide exactly when their groups are checked.
    checked = {("left_leg", "right_leg"), ("arms", "left_leg"), ("arms", "right_leg"),
               ("arms", "trunk")}  # fmt: skip
    colliding = np.flatnonzero((model.geom_contype | model.geom_conaffinity) != 0)
    assert model.geom_contype[0] == 0  # the floor is out
    for a in colliding:
        for b in colliding:
            group_a = groups[model.geom_bodyid[a]]
            group_b = groups[model.geom_bodyid[b]]
            meets = bool(model.geom_contype[a] & model.geom_conaffinity[b]) or bool(
                model.geom_contype[b] & model.geom_conaffinity[a]
            )
            assert meets == ((group_a, group_b) in checked or (group_b, group_a) in checked)
    data.qpos[:] = g1_description().stand_qpos
    mujoco.mj_forward(model, data)
    # The standing pose: nothing overlaps (pairs within the margin are reported).
    assert all(data.contact.dist[: data.ncon] > 0)


@pytest.mark.parametrize(
    "change",
    [
        {"collision_detection_m": 0.0},
        {"collision_min_distance_m": float("nan")},
        {"self_collision": "yes"},
    ],
)
def test_collision_settings_are_validated(change):
    with pytest.raises(RetargetConfigError):
        RetargetConfig(**change)
