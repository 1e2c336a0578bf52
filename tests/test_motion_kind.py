"""The motion-kind classifier on the synthetic generator's own clips, and what it rejects."""

import numpy as np
import pytest

from training.data.commands import (
    Jump,
    RaiseArms,
    Run,
    SitDown,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
)
from training.data.synthetic_dataset import sample_commands
from training.data.synthetic_motion import synthesize
from training.motion_kind import KINDS, classify_motion, command_kind


@pytest.mark.parametrize(
    "command",
    [
        Walk(0.5), Walk(3.0, speed_mps=1.5, turn_deg=90.0), Walk(1.0, "backward", speed_mps=0.8),
        Run(2.0, speed_mps=2.5), Run(5.0, speed_mps=4.0), Turn(45.0), Turn(-180.0),
        StepSideways("left", 0.3), StepSideways("right", 1.0), Jump(0.0, 0.2), Jump(1.0, 0.4),
        Squat(1, 0.35), Squat(3, 0.45), Wave("left", 2), Wave("both", 4),
        RaiseArms("right", "forward", 0.5), RaiseArms("both", "sideways", 1.5),
        RaiseArms("left", "up", 1.0), SitDown(0.4), SitDown(0.5),
    ],
    ids=repr,
)  # fmt: skip
def test_each_command_at_its_extremes_is_classified_as_itself(command):
    clip = synthesize([command], fps=20.0)
    assert classify_motion(clip.joints, 20.0).kind == command.kind


def test_random_single_commands_are_all_classified_as_asked():
    rng = np.random.default_rng(7)
    for _ in range(60):
        (command,) = sample_commands(rng, combination_probability=0.0)
        assert classify_motion(synthesize([command], fps=20.0).joints).kind == command.kind


def test_standing_still_is_stand_and_mirroring_keeps_the_kind():
    still = synthesize([Turn(45.0)], fps=20.0).joints[:1].repeat(40, axis=0)
    assert classify_motion(still).kind == "stand"
    wave = synthesize([Wave("right", 3)], fps=20.0).joints
    mirrored = wave * np.array([-1.0, 1.0, 1.0])
    assert classify_motion(mirrored).kind == "wave"
    summary = classify_motion(synthesize([Turn(-90.0)], fps=20.0).joints)
    assert summary.turn_deg == pytest.approx(-90.0, abs=10.0)


def test_command_kind_reads_dataset_params():
    assert command_kind({"commands": [{"kind": "jump"}]}) == "jump"
    assert command_kind({"commands": [{"kind": "jump"}, {"kind": "wave"}]}) is None
    assert command_kind({"scene_task": {"action": "walk_to"}, "commands": []}) == "walk"
    assert command_kind({"scene_task": {"action": "face"}, "commands": []}) == "turn"
    assert set(KINDS) >= {"walk", "run", "turn", "stand"}


def test_bad_shapes_are_rejected():
    for bad in (np.zeros((1, 22, 3)), np.zeros((10, 21, 3)), np.zeros((10, 22))):
        with pytest.raises(ValueError, match="joints"):
            classify_motion(bad)


def test_scene_commands_walk_to_and_face_are_walks_and_turns():
    from training.data.scene_samples import plan_scene_task, random_scene

    rng = np.random.default_rng(3)
    for seed in range(12):
        scene = random_scene(seed)
        for action, kind in (("walk_to", "walk"), ("face", "turn")):
            try:
                task = plan_scene_task(scene, rng, action=action)
            except ValueError:  # no object far enough to the side to face
                continue
            joints = synthesize(list(task.commands), fps=20.0).joints
            assert classify_motion(joints).kind == kind == command_kind(
                {"scene_task": {"action": action}}
            )
