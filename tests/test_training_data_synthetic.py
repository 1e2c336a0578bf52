"""Synthetic motion: determinism, plausibility that could fail, captions, features round trip."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from motionvla_model.motion.features import (
    canonicalize_joints,
    features_to_joints,
    joints_to_features,
)
from motionvla_model.motion.skeleton import REFERENCE_BONE_LENGTHS, bone_lengths
from training.data.captions import caption, phrasings
from training.data.commands import (
    COMMAND_TYPES,
    CommandError,
    Jump,
    RaiseArms,
    Run,
    SitDown,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
    command_from_params,
)
from training.data.synthetic_dataset import sample_commands
from training.data.synthetic_motion import Body, synthesize

TOES = (10, 11)
CONTACT_HEIGHT = 0.03  # a toe this close to the floor counts as touching it


def facing_yaw(joints: np.ndarray) -> np.ndarray:
    """Heading (rad, 0 = +Z, positive = left) from hips and shoulders, per frame."""
    across = (joints[:, 2] - joints[:, 1]) + (joints[:, 17] - joints[:, 16])
    forward = np.cross([0.0, 1.0, 0.0], across)
    return np.arctan2(forward[:, 0], forward[:, 2])


def wrap_deg(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def test_same_commands_give_identical_motion_and_samplers_follow_the_seed():
    commands = [Walk(1.5, turn_deg=45.0), Wave("left")]
    np.testing.assert_array_equal(synthesize(commands).joints, synthesize(commands).joints)
    draws = [sample_commands(np.random.default_rng(7)) for _ in range(2)]
    assert draws[0] == draws[1]
    texts = [caption(draws[0], np.random.default_rng(3)) for _ in range(2)]
    assert texts[0] == texts[1]
    others = {tuple(sample_commands(np.random.default_rng(s))) for s in range(20)}
    assert len(others) > 10


@pytest.mark.parametrize(
    "command",
    [Walk(2.0), Walk(1.0, "backward", 0.8), Run(4.0), Turn(135.0), StepSideways("right", 0.5),
     Walk(2.5, speed_mps=1.5, turn_deg=-90.0)],
    ids=lambda c: c.kind,
)  # fmt: skip
def test_locomotion_plants_feet_and_alternates_steps(command):
    clip = synthesize([command])
    joints = clip.joints.astype(np.float64)
    toe_height = joints[:, TOES, 1]
    # Floor: nothing below it, and a planted toe rests on it.
    assert joints[..., 1].min() >= -1e-6
    assert toe_height.min() == pytest.approx(0.01, abs=2e-3)
    speed = np.linalg.norm(np.diff(joints[:, TOES][:, :, [0, 2]], axis=0), axis=-1) * clip.fps
    touching = (toe_height[1:] < CONTACT_HEIGHT) & (toe_height[:-1] < CONTACT_HEIGHT)
    assert touching.any(axis=0).all()
    assert speed[touching].max() < 0.05, "a foot slides while on the floor"
    # Steps alternate: the sequence of lift-offs is L, R, L, ... or R, L, R, ...
    lifted = toe_height > CONTACT_HEIGHT
    lift_offs = sorted(
        (int(frame), foot)
        for foot in (0, 1)
        for frame in np.flatnonzero(lifted[1:, foot] & ~lifted[:-1, foot])
    )
    feet = [foot for _, foot in lift_offs]
    assert len(feet) >= 2
    assert all(a != b for a, b in itertools.pairwise(feet))
    # Pelvis height stays human: standing ~0.9 m, never collapsing while walking.
    pelvis = joints[:, 0, 1]
    assert 0.85 < pelvis[0] < 1.0
    assert pelvis.min() > (0.7 if isinstance(command, Run) else 0.75)


def test_bones_keep_their_rest_lengths_in_every_motion():
    commands = [Jump(0.5, 0.3), Squat(1), RaiseArms("both", "up"), Turn(-90.0)]
    joints = synthesize(commands).joints
    lengths = bone_lengths(joints)
    np.testing.assert_allclose(lengths, np.broadcast_to(REFERENCE_BONE_LENGTHS, lengths.shape),
                               atol=1e-4)  # fmt: skip


@pytest.mark.parametrize("distance", [0.5, 2.0, 4.0])
def test_walk_covers_the_commanded_distance(distance):
    joints = synthesize([Walk(distance)]).joints
    travelled = joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]
    assert travelled[1] == pytest.approx(distance, abs=0.05)
    assert abs(travelled[0]) < 0.05


@pytest.mark.parametrize("angle", [90.0, -45.0, 180.0, -135.0])
def test_turn_matches_the_commanded_angle(angle):
    joints = synthesize([Turn(angle)]).joints.astype(np.float64)
    yaw = facing_yaw(joints)
    assert wrap_deg(math.degrees(yaw[-1] - yaw[0]) - angle) == pytest.approx(0.0, abs=5.0)
    assert np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]) < 0.1


def test_arc_walk_ends_at_the_arc_end_with_the_turned_heading():
    joints = synthesize([Walk(3.0, turn_deg=90.0)]).joints.astype(np.float64)
    # A 90° arc of length 3 m has radius 6/π: it ends at (r, r) to the left and ahead.
    radius = 6.0 / math.pi
    np.testing.assert_allclose(joints[-1, 0, [0, 2]], [radius, radius], atol=0.08)
    yaw = facing_yaw(joints)
    assert math.degrees(yaw[-1] - yaw[0]) == pytest.approx(90.0, abs=5.0)


def test_run_has_flight_and_jump_leaves_the_ground():
    run = synthesize([Run(4.0)]).joints
    airborne = (run[:, TOES, 1] > CONTACT_HEIGHT).all(axis=1)
    assert airborne.sum() >= 3
    jump = synthesize([Jump(0.8, 0.3)]).joints
    assert jump[:, TOES, 1].min(axis=1).max() > 0.2
    assert jump[-1, 0, 2] - jump[0, 0, 2] == pytest.approx(0.8, abs=0.05)


@pytest.mark.parametrize("hand", ["left", "right"])
def test_wave_uses_the_named_hand(hand):
    joints = synthesize([Wave(hand, cycles=3)]).joints
    waving, resting = (20, 21) if hand == "left" else (21, 20)
    head = joints[:, 15, 1].max()
    assert joints[:, waving, 1].max() > head
    assert joints[:, resting, 1].max() < joints[0, 0, 1] + 0.1
    # The waving hand sways side to side while it is up.
    up = joints[:, waving, 1] > head - 0.1
    assert np.ptp(joints[up, waving, 0]) > 0.15


def test_squat_and_sit_lower_the_pelvis_with_feet_planted():
    squat = synthesize([Squat(2, depth_m=0.4)]).joints
    pelvis = squat[:, 0, 1]
    assert pelvis[0] - pelvis.min() == pytest.approx(0.4, abs=0.05)
    # Two separate descents below half depth.
    low = pelvis < pelvis[0] - 0.2
    assert np.count_nonzero(low[1:] & ~low[:-1]) == 2
    assert np.ptp(squat[:, TOES, :], axis=0).max() < 1e-5
    sit = synthesize([SitDown(seat_height_m=0.45)]).joints
    assert sit[-1, 0, 1] == pytest.approx(0.51, abs=0.04)
    assert sit[-1, 0, 2] < sit[0, 0, 2] - 0.2  # the pelvis moved back onto the seat


def test_features_round_trip_through_features_to_joints():
    clip = synthesize([Walk(2.0, turn_deg=45.0), Jump(0.0, 0.3)])
    features = joints_to_features(clip.joints, clip.fps)
    assert features.shape == (clip.num_frames - 1, 263)
    recovered = features_to_joints(features)
    expected = canonicalize_joints(clip.joints, clip.fps)[:-1]
    np.testing.assert_allclose(recovered, expected, atol=1e-4)
    contacts = features[:, 259:263]
    assert 0.3 < contacts.mean() < 0.95  # feet both touch and leave the floor


def test_body_from_a_real_clip_has_its_bone_lengths():
    from motionvla_model.motion.human_clips import load_omomo

    real = load_omomo("omomo/sub3_largebox_003").joints
    body = Body.from_joints(real)
    measured = np.median(bone_lengths(real), axis=0)
    np.testing.assert_allclose(np.linalg.norm(body.offsets, axis=1), measured, rtol=1e-6)
    # The default body is in the same range as a real adult's (leg within 15 %).
    default = Body.from_bone_lengths()
    assert default.thigh() + default.shin() == pytest.approx(measured[4] + measured[7], rel=0.15)
    joints = synthesize([Walk(1.0)], body=body).joints
    expected = np.broadcast_to(measured[1:], (len(joints), 21))
    np.testing.assert_allclose(bone_lengths(joints)[:, 1:], expected, atol=1e-4)


def test_every_command_has_several_phrasings_stating_its_parameters():
    examples = [
        Walk(2.0), Run(3.0), Walk(1.5, "backward", 0.8), Turn(90.0), Turn(-30.0),
        StepSideways("left", 1.0), Jump(), Jump(1.0), Squat(3), Wave("right"), RaiseArms(),
        SitDown(),
    ]  # fmt: skip
    assert {type(c).kind for c in examples} == set(COMMAND_TYPES)
    for command in examples:
        options = phrasings(command)
        assert len(options) >= 3, command
    assert all("2" in p or "two" in p for p in phrasings(Walk(2.0)))
    assert all("right" in p for p in phrasings(Turn(-30.0)))
    assert all("right" in p for p in phrasings(Wave("right")))
    assert all("3" in p or "three" in p for p in phrasings(Squat(3)))
    text = caption([Walk(2.0), Turn(90.0)], np.random.default_rng(0))
    assert text[0].isupper() and text.endswith(".")


def test_commands_validate_and_round_trip_through_params():
    for command in (Walk(2.0, turn_deg=45.0), Run(3.0), Wave("both", 2), SitDown(0.5)):
        assert command_from_params(command.params()) == command
    with pytest.raises(CommandError, match="distance_m"):
        Walk(-1.0)
    with pytest.raises(CommandError, match="speed_mps"):
        Run(2.0, speed_mps=1.0)
    with pytest.raises(CommandError, match="hand"):
        Wave("middle")
    with pytest.raises(CommandError, match="unknown command kind"):
        command_from_params({"kind": "fly"})
    with pytest.raises(ValueError, match="cannot follow SitDown"):
        synthesize([SitDown(), Walk(1.0)])
