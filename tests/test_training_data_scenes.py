"""Scene-conditioned samples and the written dataset: frames, targets, images, read-back."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from sim.scene import SceneDescription, SceneObject
from training.data import JsonlMotionDataset
from training.data.frames import HUMAN_TO_WORLD, human_to_world, world_to_human
from training.data.scene_samples import (
    g1_path_scale,
    mirror_scene,
    plan_scene_task,
    random_scene,
    render_head_camera,
    scene_tasks,
)
from training.data.synthetic_dataset import SyntheticDatasetConfig, write_synthetic_dataset
from training.data.synthetic_motion import heading_vector, left_vector, synthesize


def test_human_to_world_frame_map():
    assert np.linalg.det(HUMAN_TO_WORLD) == pytest.approx(1.0)  # a rotation, not a mirror
    # The rest body faces +Z with its left on +X and Y up; the G1 faces +X, left +Y, Z up.
    np.testing.assert_allclose(human_to_world([0, 0, 1]), [1, 0, 0])
    np.testing.assert_allclose(human_to_world([1, 0, 0]), [0, 1, 0])
    np.testing.assert_allclose(human_to_world([0, 1, 0]), [0, 0, 1])
    points = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(world_to_human(human_to_world(points)), points)
    # A heading carries over: yaw about human +Y equals yaw about world +Z.
    yaw = 0.7
    forward_world = human_to_world(np.insert(heading_vector(yaw), 1, 0.0))
    assert math.atan2(forward_world[1], forward_world[0]) == pytest.approx(yaw)
    left_world = human_to_world(np.insert(left_vector(yaw), 1, 0.0))
    assert math.atan2(left_world[1], left_world[0]) == pytest.approx(yaw + math.pi / 2)


def _end_pose(commands):
    joints = synthesize(commands).joints.astype(np.float64)
    across = (joints[-1, 2] - joints[-1, 1]) + (joints[-1, 17] - joints[-1, 16])
    forward = np.cross([0.0, 1.0, 0.0], across)
    return joints[-1, 0, [0, 2]], math.atan2(forward[0], forward[2])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_scene_task_reaches_or_faces_the_target(seed):
    scene = random_scene(seed)
    assert len(scene.objects) >= 2  # distractors make the image necessary
    task = plan_scene_task(scene, np.random.default_rng(seed))
    target = np.array(task.target["ground_human_xz"])
    world = np.array(task.target["position_world"])
    np.testing.assert_allclose(world_to_human(world)[[0, 2]], target)
    end, yaw = _end_pose(task.commands)
    end = end * g1_path_scale()  # where the retargeted G1 ends
    bearing = math.atan2(*(target - end)) if task.action == "walk_to" else math.atan2(*target)
    assert math.degrees(abs(yaw - bearing)) < 6.0, "the body does not face the target"
    if task.action == "walk_to":
        assert np.linalg.norm(target - end) == pytest.approx(task.stop_distance_m, abs=0.12)
    else:
        assert np.linalg.norm(end) < 0.1


def test_the_retargeted_g1_stops_in_front_of_the_target():
    from retargeting.retargeter import retarget

    scene = random_scene(4)
    task = plan_scene_task(scene, np.random.default_rng(0), target_index=0, action="walk_to")
    trajectory = retarget(synthesize(task.commands).joints, 20.0)
    target = np.array(task.target["position_world"][:2])
    reach = np.linalg.norm(target - trajectory.root_pos[-1, :2])
    assert reach == pytest.approx(task.stop_distance_m, abs=0.15)


def test_target_side_follows_the_scene_and_shows_in_the_head_camera(tmp_path):
    # A red box 2 m ahead and 1 m to the G1's left (world +y).
    box = SceneObject("red_box", "box", "red", (2.0, 1.0))
    scene = SceneDescription((box,))
    task = plan_scene_task(scene, np.random.default_rng(0))
    assert task.bearing_deg == pytest.approx(math.degrees(math.atan2(1.0, 2.0)))
    assert task.commands[0].angle_deg > 0  # a turn to the left
    image = render_head_camera(scene, 96, 72)
    assert image.shape == (72, 96, 3) and image.dtype == np.uint8
    columns = np.flatnonzero(_red(image).any(axis=0))
    assert _red(image).sum() > 20 and columns.mean() < 48  # seen in the left half


def _red(image):
    return (image[..., 0] > 120) & (image[..., 1] < 60) & (image[..., 2] < 60)


def test_mirrored_scene_is_the_flipped_image_with_opposite_bearings():
    box = SceneObject("red_box", "box", "red", (2.0, 0.8), yaw=0.3)
    scene = SceneDescription((box,))
    mirrored = mirror_scene(scene)
    assert mirrored.objects[0].position[1] == pytest.approx(-0.8)
    assert mirrored.objects[0].yaw == pytest.approx(-0.3)
    rng = np.random.default_rng(0)
    bearing = plan_scene_task(scene, rng, target_index=0, action="walk_to").bearing_deg
    assert plan_scene_task(mirrored, rng, target_index=0, action="walk_to").bearing_deg == (
        pytest.approx(-bearing)
    )
    flipped = render_head_camera(scene, 96, 72)[:, ::-1]
    rendered = render_head_camera(mirrored, 96, 72)
    # Lighting is not perfectly symmetric; where the object is must be.
    assert np.abs(_red(flipped).astype(int) - _red(rendered).astype(int)).sum() <= 0.1 * (
        _red(rendered).sum()
    )


def test_scene_tasks_are_distinct_and_face_only_what_needs_a_turn():
    scene = random_scene(7, num_objects=(4, 4))
    tasks = scene_tasks(scene, np.random.default_rng(0), count=20)
    pairs = [(t.target["name"], t.action) for t in tasks]
    assert len(pairs) == len(set(pairs)) >= 4  # every object can be walked to
    assert {t.target["name"] for t in tasks} == {o.name for o in scene.objects}
    assert all(abs(t.bearing_deg) >= 15 for t in tasks if t.action == "face")
    assert len(scene_tasks(scene, np.random.default_rng(0), count=2)) == 2
    with pytest.raises(ValueError, match="count"):
        scene_tasks(scene, np.random.default_rng(0), count=0)
    with pytest.raises(ValueError, match="cannot"):
        plan_scene_task(
            SceneDescription((SceneObject("red_box", "box", "red", (2.0, 0.0)),)),
            np.random.default_rng(0),
            target_index=0,
            action="face",
        )


def test_written_dataset_reads_back_and_does_not_depend_on_workers(tmp_path):
    config = SyntheticDatasetConfig(
        num_samples=6, seed=11, scene_fraction=0.3, image_width=64, image_height=48
    )
    index = write_synthetic_dataset(tmp_path / "a", config, progress=False)
    entries = [json.loads(line) for line in index.read_text().splitlines()]
    samples = JsonlMotionDataset(index, strict=True).load()
    assert [s.id for s in samples] == [e["id"] for e in entries]
    for sample, entry in zip(samples, entries, strict=True):
        assert sample.features.shape == (entry["num_frames"] - 1, 263)
        assert sample.meta["params"]["commands"] and sample.text.endswith(".")
        joints = np.load(index.parent / entry["joints_path"])
        assert joints.shape == (entry["num_frames"], 22, 3)
    with_images = [s for s in samples if s.image_path is not None]
    assert with_images and all(s.image_path.is_file() for s in with_images)
    assert all("scene_task" in s.meta["params"] for s in with_images)
    # The same dataset from two worker processes, without scenes to keep it quick.
    plain = SyntheticDatasetConfig(num_samples=4, seed=11)
    one = write_synthetic_dataset(tmp_path / "one", plain, progress=False)
    two = write_synthetic_dataset(tmp_path / "two", plain, workers=2, progress=False)
    assert one.read_text() == two.read_text()
    for entry in map(json.loads, one.read_text().splitlines()):
        np.testing.assert_array_equal(
            np.load(one.parent / entry["motion_path"]), np.load(two.parent / entry["motion_path"])
        )


def test_scene_draws_give_several_samples_about_one_image(tmp_path):
    config = SyntheticDatasetConfig(
        num_samples=3, seed=5, scene_fraction=1.0, image_width=64, image_height=48,
        tasks_per_scene=2, mirror_scenes=True, lowercase_fraction=1.0,
    )  # fmt: skip
    index = write_synthetic_dataset(tmp_path, config, progress=False)
    entries = [json.loads(line) for line in index.read_text().splitlines()]
    assert len(entries) == 3 * 2 * 2
    by_image: dict[str, list[dict]] = {}
    for entry in entries:
        by_image.setdefault(entry["image_path"], []).append(entry)
        assert entry["text"] == entry["text"].lower() and not entry["text"].endswith(".")
    assert len(by_image) == 6 and all(len(v) == 2 for v in by_image.values())
    for path, group in by_image.items():
        names = {e["params"]["scene_task"]["target"]["name"] + e["params"]["scene_task"]["action"]
                 for e in group}  # fmt: skip
        assert len(names) == 2, "two samples of one image ask two different things"
        assert Image.open(tmp_path / path).size == (64, 48)
    original = Image.open(tmp_path / entries[0]["image_path"])
    mirrored = Image.open(tmp_path / entries[0]["image_path"].replace(".png", "m.png"))
    np.testing.assert_array_equal(np.asarray(original)[:, ::-1], np.asarray(mirrored))


def test_dataset_config_validates():
    with pytest.raises(ValueError, match="num_samples"):
        SyntheticDatasetConfig(num_samples=0)
    with pytest.raises(ValueError, match="scene_fraction"):
        SyntheticDatasetConfig(scene_fraction=1.5)
    with pytest.raises(ValueError, match="20 fps"):
        SyntheticDatasetConfig(fps=30.0)
    with pytest.raises(ValueError, match="tasks_per_scene"):
        SyntheticDatasetConfig(tasks_per_scene=0)
    with pytest.raises(ValueError, match="image_width"):
        SyntheticDatasetConfig(image_width=8)
