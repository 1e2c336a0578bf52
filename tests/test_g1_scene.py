"""Scene commands judged on the retargeted G1 in the simulator."""

import numpy as np
import pytest

from sim.scene import SceneDescription, SceneObject
from training.data.commands import Turn, Walk
from training.data.scene_samples import g1_path_scale, plan_scene_task
from training.data.synthetic_motion import synthesize
from training.g1_scene import G1SceneJudge

SCENE = SceneDescription(
    (
        SceneObject("red_box", "box", "red", (2.2, 0.9)),
        SceneObject("green_ball", "ball", "green", (1.8, -1.0)),
    )
)


@pytest.fixture(scope="module")
def judge():
    return G1SceneJudge()


def _params(task):
    return {"scene_task": task.params(), "scene": SCENE.to_dict()}


def test_the_planned_motions_succeed(judge):
    rng = np.random.default_rng(0)
    for action in ("walk_to", "face"):
        task = plan_scene_task(SCENE, rng, target_index=0, action=action)
        outcome = judge.judge(synthesize(list(task.commands)).joints, 20.0, _params(task))
        assert outcome.success, outcome
        assert not outcome.touched
        if action == "walk_to":
            assert outcome.reach_m == pytest.approx(0.4, abs=0.15)
        else:
            assert outcome.facing_error_deg < 5.0


def test_walking_to_the_wrong_object_or_into_it_fails(judge):
    rng = np.random.default_rng(0)
    task = plan_scene_task(SCENE, rng, target_index=0, action="walk_to")
    wrong = plan_scene_task(SCENE, rng, target_index=1, action="walk_to")
    outcome = judge.judge(synthesize(list(wrong.commands)).joints, 20.0, _params(task))
    assert not outcome.success and outcome.reach_m > 1.0
    # Straight through the red box: it is touched, whatever the distance at the end.
    through = [Turn(task.bearing_deg), Walk(round(task.distance_m / g1_path_scale(), 2))]
    outcome = judge.judge(synthesize(through).joints, 20.0, _params(task))
    assert outcome.touched and not outcome.success
    facing = plan_scene_task(SCENE, rng, target_index=0, action="face")
    outcome = judge.judge(synthesize([Turn(-30.0)]).joints, 20.0, _params(facing))
    assert not outcome.success and outcome.facing_error_deg > 40.0
