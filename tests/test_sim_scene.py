"""Scenes: reproducible random layouts, YAML files, compiled objects and their contacts."""

import math

import numpy as np
import pytest

from retargeting.g1 import g1_description
from retargeting.trajectory import G1Trajectory
from sim.config import SimCheckConfig
from sim.kinematic_check import kinematic_checks
from sim.scene import (
    COLOURS,
    InvalidSceneError,
    SceneDescription,
    SceneObject,
    build_scene_model,
    object_body_name,
)


def test_random_scene_is_reproducible_from_its_seed():
    assert SceneDescription.random(11) == SceneDescription.random(11)
    assert SceneDescription.random(11) != SceneDescription.random(12)


@pytest.mark.parametrize("seed", range(8))
def test_random_objects_sit_apart_in_front_of_the_robot(seed):
    scene = SceneDescription.random(seed, num_objects=4)
    assert len(scene.objects) == 4
    labels = [o.label for o in scene.objects]
    assert len(set(labels)) == 4
    for obj in scene.objects:
        x, y, _ = obj.position
        assert 1.0 <= np.hypot(x, y) <= 3.0 and x > 0
        assert abs(np.degrees(np.arctan2(y, x))) <= 30.0 + 1e-6
        assert obj.colour in COLOURS and obj.label == f"{obj.colour} {obj.shape}"
    xy = np.array([o.position[:2] for o in scene.objects])
    gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(4) * 9
    radii = np.array([o.footprint_radius for o in scene.objects])
    assert np.all(gaps > radii[:, None] + radii[None] + 0.25 - 1e-9)


def test_scene_yaml_round_trip(tmp_path):
    scene = SceneDescription.random(5)
    path = tmp_path / "scene.yaml"
    scene.to_yaml(path)
    assert SceneDescription.from_yaml(path) == scene
    assert SceneDescription.from_yaml(scene.to_yaml()) == scene


def test_two_element_position_rests_the_object_on_the_floor():
    box = SceneObject("crate", "box", "red", (2.0, 0.5), size=(0.1, 0.2, 0.3))
    assert box.position == (2.0, 0.5, 0.3)
    ball = SceneObject("ball", "ball", "blue", (1.0, 0.0))
    assert ball.position[2] == ball.size[0]


def test_compiled_scene_places_each_object_at_its_position():
    scene = SceneDescription.random(3, num_objects=3)
    model = build_scene_model(scene)
    assert model.nq == 36  # objects are fixed: the robot's qpos layout is unchanged
    for obj in scene.objects:
        body = model.body(object_body_name(obj.name))
        np.testing.assert_allclose(body.pos, obj.position)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"objects": [{"name": "a", "shape": "pyramid", "colour": "red", "position": [1, 0]}]},
         "unknown shape"),
        ({"objects": [{"name": "a", "shape": "box", "colour": "teal", "position": [1, 0]}]},
         "unknown colour"),
        ({"objects": [{"name": "a", "shape": "box", "colour": "red", "position": [1, 0],
                       "size": [0.1]}]}, "needs 3 sizes"),
        ({"objects": [{"name": "a", "shape": "box", "colour": "red", "position": [1, "x"]}]},
         "could not convert"),
        ({"objects": [{"name": "a", "shape": "box", "colour": "red", "position": [1, 0]}] * 2},
         "unique"),
        ({"objects": [{"name": "a", "colour": "red", "position": [1, 0]}]}, "bad object"),
        ({"lights": []}, "unknown scene keys"),
    ],
)  # fmt: skip
def test_bad_scene_descriptions_raise_a_typed_error(values, message):
    with pytest.raises((InvalidSceneError, ValueError), match=message):
        SceneDescription.from_dict(values)


def test_a_box_where_the_robot_stands_is_an_object_collision():
    stand = G1Trajectory.from_qpos(np.tile(g1_description().stand_qpos, (5, 1)), 50)
    ahead = SceneDescription((SceneObject("crate", "box", "red", (2.0, 0.0)),))
    inside = SceneDescription((SceneObject("crate", "box", "red", (0.1, 0.0)),))
    for scene, collides in ((ahead, False), (inside, True)):
        checks, _ = kinematic_checks(build_scene_model(scene), stand, SimCheckConfig())
        (result,) = [c for c in checks if c.name == "object_collision"]
        assert result.passed is not collides, result


def test_floor_distance_to_each_footprint():
    box = SceneObject("b", "box", "red", (2.0, 0.0), size=(0.3, 0.1, 0.2))
    assert box.floor_distance(1.0, 0.0) == pytest.approx(0.7)
    assert box.floor_distance(2.0, 0.5) == pytest.approx(0.4)
    assert box.floor_distance(2.1, 0.05) == 0.0  # inside
    turned = SceneObject("b", "box", "red", (2.0, 0.0), size=(0.3, 0.1, 0.2), yaw=math.pi / 2)
    assert turned.floor_distance(1.0, 0.0) == pytest.approx(0.9)  # now 0.1 deep along x
    ball = SceneObject("o", "ball", "blue", (0.0, 3.0), size=(0.15,))
    assert ball.floor_distance(0.0, 1.0) == pytest.approx(1.85)
    chair = SceneObject("c", "chair", "white", (1.0, 1.0), size=(0.2, 0.3, 0.45))
    # half width 0.2 across (y), half depth 0.3 along (x)
    assert chair.floor_distance(0.0, 1.0) == pytest.approx(0.7)
    assert chair.floor_distance(1.0, 0.0) == pytest.approx(0.8)
