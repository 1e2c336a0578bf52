"""Plans on the wire and scored against a real scene (motionvla_ros.plan_check)."""

from __future__ import annotations

import json

import pytest

from motionvla_model.plan import PlanFormatError, ScenePlan
from motionvla_ros.plan_check import (
    MAX_PLAN_MESSAGE_CHARS,
    RecentPlans,
    parse_plan_message,
    plan_message,
    score_plan,
)
from sim.scene import SceneDescription, SceneObject


def test_the_true_plan_scores_zero_and_errors_are_measured():
    scene = SceneDescription.random(7)
    target = scene.objects[0]
    distance, bearing = target.seen_from_start()
    exact = score_plan(ScenePlan(target.label, distance, bearing), scene)
    assert exact.target_in_scene and exact.distance_error_m == 0 and exact.bearing_error_deg == 0
    off = score_plan(ScenePlan(target.label, distance + 0.5, bearing - 10), scene)
    assert off.distance_error_m == pytest.approx(0.5) and off.bearing_error_deg == pytest.approx(10)
    assert off.end_distance_m is None
    ended = score_plan(
        ScenePlan(target.label, distance, bearing), scene, end_xy=target.position[:2]
    )
    assert ended.end_distance_m == 0.0
    assert score_plan(exact.plan, scene, end_xy=(0.0, 0.0)).end_distance_m == pytest.approx(
        target.floor_distance(0.0, 0.0), abs=1e-3
    )
    assert off.to_dict()["text"] == ScenePlan(target.label, distance + 0.5, bearing - 10).text()


def test_bearing_errors_wrap_around_behind_the_robot():
    scene = SceneDescription((SceneObject("box", "box", "red", (-2.0, 0.05)),))
    _, bearing = scene.objects[0].seen_from_start()
    assert bearing == pytest.approx(178.57, abs=0.01)
    score = score_plan(ScenePlan("red box", 2.0, -179.0), scene)
    assert score.bearing_error_deg == pytest.approx(2.43, abs=0.01)


def test_an_object_not_in_the_scene_or_a_bare_floor_is_said_so():
    scene = SceneDescription((SceneObject("box", "box", "red", (2.0, 0.0)),))
    for where in (scene, None):
        score = score_plan(ScenePlan("green ball", 2.0, 0.0), where)
        assert not score.target_in_scene and score.distance_error_m is None


def test_plan_messages_round_trip():
    plan = ScenePlan("blue chair", 3.1, -25.0)
    stamp, back = parse_plan_message(plan_message(123, plan))
    assert stamp == 123 and back == plan


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"stamp_ns": True, "text": "red box: 1.0 m, 0° left"}), "stamp_ns"),
        (json.dumps({"stamp_ns": -1, "text": "red box: 1.0 m, 0° left"}), "stamp_ns"),
        (json.dumps({"stamp_ns": 1}), "text"),
        (json.dumps({"stamp_ns": 1, "text": "red box: 1.0 m, 200° left"}), "bearing"),
        (json.dumps({"stamp_ns": 1, "text": "RED BOX!!"}), "not a plan"),
        (json.dumps({"stamp_ns": 1, "text": "x" * MAX_PLAN_MESSAGE_CHARS}), "characters"),
    ],
)
def test_malformed_plan_messages_are_refused(data, message):
    with pytest.raises(PlanFormatError, match=message):
        parse_plan_message(data)


def test_recent_plans_keep_only_the_newest():
    plans = RecentPlans(capacity=3)
    for stamp in range(10):
        plans.add(stamp, ScenePlan("red box", 1.0, float(stamp)))
    assert len(plans) == 3 and plans.pop(0) is None
    assert plans.pop(9).bearing_deg == 9.0 and plans.pop(9) is None
    with pytest.raises(ValueError, match="capacity"):
        RecentPlans(0)
