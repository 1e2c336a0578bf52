"""The default-model recipe end to end at toy scale, through its command line."""

from __future__ import annotations

import json

import pytest

from motionvla_model.modeling import MotionVLA
from training.config import TrainingConfigError
from training.default_model import DefaultModelConfig

pytestmark = pytest.mark.slow


def test_recipe_command_builds_a_compact_evaluated_model(tmp_path, capsys):
    from training.cli import train_main

    out = tmp_path / "default"
    train_main(
        [
            "default", "--out", str(out), "--num-samples", "8", "--num-eval-samples", "4",
            "--evaluate-samples", "3", "--scene-fraction", "0.5", "--eval-scene-fraction", "0.5",
            "--tasks-per-scene", "2", "--hidden-size", "16", "--base-vocab-size", "700",
            "--phys-vocab-size", "700", "--workers", "1", "--phase1-steps", "2",
            "--phase2-steps", "2", "--grounding-scenes", "2", "--no-progress",
        ]
    )  # fmt: skip
    model_dir = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["model"]
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["config"]["phase2"]["max_steps"] == 2
    assert recipe["config"]["phase2"]["language_model"] == "full"
    assert recipe["config"]["tasks_per_scene"] == 2 and recipe["config"]["mirror_scenes"]
    assert {"data_s", "dsft_s", "sft_s", "phase1_s", "phase2_s", "evaluate_s"} <= set(
        recipe["timings_s"]
    )
    # Training scenes carry several commands per image (and mirrored copies) ...
    train = [json.loads(line) for line in (out / "data/train/index.jsonl").read_text().split("\n")
             if line]  # fmt: skip
    scene_images = [e["image_path"] for e in train if e["image_path"]]
    assert scene_images and len(scene_images) > len(set(scene_images))
    # ... the held-out set one each.
    held_out = (out / "data/eval/index.jsonl").read_text().splitlines()
    images = [json.loads(line)["image_path"] for line in held_out]
    assert len([i for i in images if i]) == len({i for i in images if i})

    # Grounding questions about every object of each scene and its augmented views.
    questions = (out / "data/train/grounding.jsonl").read_text().splitlines()
    assert len(questions) >= 2 * 6 * 2
    report = json.loads((out / "evaluation.json").read_text())
    assert report["num_samples"] == 3 and 0.0 <= report["generated"]["well_formed"] <= 1.0
    assert {"kind_accuracy", "g1_scene", "plan"} <= set(report) or report["num_scene_samples"] == 0
    model = MotionVLA.from_pretrained(model_dir, device="cpu")
    assert model.config.max_image_pixels == DefaultModelConfig().max_image_pixels
    assert model.config.image_token_norm and "red box" in model.config.plan_targets
    checkpoint_mb = sum(f.stat().st_size for f in (out / "model").rglob("*") if f.is_file()) / 1e6
    assert checkpoint_mb < 10  # compact: the zeroed vocabulary rows are not stored


def test_recipe_config_validates():
    with pytest.raises(TrainingConfigError, match="tasks_per_scene"):
        DefaultModelConfig(tasks_per_scene=0)
    with pytest.raises(TrainingConfigError, match="lowercase_fraction"):
        DefaultModelConfig(lowercase_fraction=2.0)
    with pytest.raises(TrainingConfigError, match="phase1/phase2"):
        DefaultModelConfig(phase1=DefaultModelConfig().phase2)
