"""Grounding questions: every object of every view asked about, answers from the scene."""

import json

import numpy as np
import pytest
from PIL import Image

from motionvla_model.plan import ScenePlan
from sim.scene import COLOURS
from training.data.grounding import GroundingConfig, grounding_records, write_grounding_dataset

CONFIG = GroundingConfig(num_scenes=2, seed=3, image_width=96, image_height=72)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out = tmp_path_factory.mktemp("grounding")
    path = write_grounding_dataset(out, CONFIG, workers=1, progress=False)
    return [json.loads(line) for line in path.read_text().splitlines()]


def _parts(record):
    user, assistant = record["messages"]
    image = next(c["image"] for c in user["content"] if c["type"] == "image")
    question = next(c["text"] for c in user["content"] if c["type"] == "text")
    return image, question, ScenePlan.parse(assistant["content"])


def test_every_object_of_every_view_is_asked_about(records):
    views = {}
    for record in records:
        image, question, plan = _parts(record)
        assert plan.target in question  # the answer names the object asked about
        views.setdefault(image, []).append(plan)
    # original, recoloured, shape-swapped, each also mirrored: 6 views per scene
    assert len(views) == 2 * 6
    for image, plans in views.items():
        assert 2 <= len(plans) <= 4
        assert len({p.target for p in plans}) == len(plans)
        with Image.open(image) as picture:
            assert picture.size == (96, 72)


def test_mirrored_views_negate_bearings_and_augmented_views_keep_places(records):
    by_view = {}
    for record in records:
        image, _, plan = _parts(record)
        by_view.setdefault(image, []).append(plan)
    for image, plans in by_view.items():
        if not image.endswith("m.png"):
            continue
        original = by_view[image.replace("m.png", ".png")]
        assert [p.target for p in plans] == [p.target for p in original]
        for mirrored, plan in zip(plans, original, strict=True):
            assert mirrored.bearing_deg == pytest.approx(-plan.bearing_deg, abs=1.0)
            assert mirrored.distance_m == pytest.approx(plan.distance_m, abs=0.05)
        flipped = np.asarray(Image.open(image.replace("m.png", ".png")))[:, ::-1]
        np.testing.assert_array_equal(np.asarray(Image.open(image)), flipped)
    stems = sorted(i for i in by_view if i.endswith("_000000.png") or "000000c0." in i)
    plain, recoloured = (by_view[s] for s in stems[:2])
    assert [p.distance_m for p in plain] == [p.distance_m for p in recoloured]
    assert [p.target for p in plain] != [p.target for p in recoloured]
    for plan in recoloured:
        assert plan.target.split()[0] in COLOURS


def test_records_do_not_depend_on_the_process_that_made_them(tmp_path):
    first = grounding_records(1, CONFIG, tmp_path / "a")
    second = grounding_records(1, CONFIG, tmp_path / "b")
    strip = [(r["id"], r["messages"][1]["content"]) for r in first]
    assert strip == [(r["id"], r["messages"][1]["content"]) for r in second]


def test_config_is_validated():
    for bad in ({"num_scenes": 0}, {"image_width": 8}, {"recolourings": -1},
                {"num_objects": (0, 2)}, {"num_objects": (3, 2)}):  # fmt: skip
        with pytest.raises(ValueError):
            GroundingConfig(**bad)
