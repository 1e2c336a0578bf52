"""The shipped default model and the rule that finds the default model."""

import json

import numpy as np
import pytest
import torch

from motionvla_model import bundled
from motionvla_model.modeling import MotionVLA


@pytest.fixture
def no_built_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONVLA_DEFAULT_MODEL", str(tmp_path / "none"))
    return tmp_path


def test_shipped_model_is_found_when_none_was_built(no_built_model):
    assert bundled.default_model_path() == bundled.SHIPPED_MODEL_DIR


def test_a_built_model_takes_precedence(no_built_model, monkeypatch):
    built = no_built_model / "mine"
    (built / "model").mkdir(parents=True)
    (built / "model" / "motionvla.json").write_text("{}")
    monkeypatch.setenv("MOTIONVLA_DEFAULT_MODEL", str(built))
    assert bundled.default_model_path() == built / "model"


def test_shipped_model_is_small_loads_and_generates_well_formed_motion():
    files = [f for f in bundled.SHIPPED_MODEL_DIR.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) < 25e6
    torch.set_num_threads(1)
    model = MotionVLA.from_pretrained(bundled.SHIPPED_MODEL_DIR, device="cpu")
    image = np.zeros((224, 224, 3), dtype=np.uint8)
    motion = model.generate("Walk to the red box.", image=image, duration_s=2.0, seed=0)
    assert motion.well_formed and motion.stop_reason == "complete"
    assert motion.joints.shape[1:] == (22, 3) and np.isfinite(motion.joints).all()


def test_shipped_model_carries_its_evaluation():
    report = json.loads((bundled.SHIPPED_MODEL_DIR / "evaluation.json").read_text())
    assert report["generated"]["well_formed"] == 1.0
