"""Does the model see and obey? Scene commands, plans and command kinds on held-out data.

    .venv/bin/python benchmarks/grounding.py [--quick] [--model DIR] [--samples N]

Writes a held-out synthetic set (seed 20,000, not the training seeds: scene commands
"walk to / face the <object>" with the head camera's 320×240 image, and commands that
name no object), then runs :func:`training.evaluate.evaluate_model` with the bundled
default model (or ``--model``):

* ``scene_success``: scene commands whose motion, retargeted to the G1 and played in its
  scene in the simulator, ends within 0.5 m of the named object's near side without
  touching anything (walk to) or facing it within 20° (face);
* ``scene_success_swapped``: the same commands with another scene's image (low when the
  image is why the robot gets there);
* ``plan_distance_error_m`` / ``plan_bearing_error_deg``: median errors of the grounded
  plans against the scene's truth;
* ``kind_accuracy_image`` / ``kind_accuracy_no_image``: single commands whose motion is
  of the kind asked (:mod:`training.motion_kind`), with a scene image and without.

``--quick`` (under a minute on two cores) evaluates 8 samples; the full run 48. The last
line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from motionvla_model.bundled import default_model_path
from motionvla_model.modeling import MotionVLA
from training.data.synthetic_dataset import SyntheticDatasetConfig, write_synthetic_dataset
from training.evaluate import evaluate_model, format_table

HELD_OUT_SEED = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 samples, under a minute")
    parser.add_argument("--model", help="MotionVLA folder (default: the bundled default)")
    parser.add_argument("--samples", type=int, help="held-out samples (default 48, quick 8)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    samples = args.samples or (8 if args.quick else 48)
    start = time.perf_counter()
    model_dir = Path(args.model) if args.model else default_model_path()
    model = MotionVLA.from_pretrained(model_dir, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        data = SyntheticDatasetConfig(
            num_samples=samples, seed=HELD_OUT_SEED, scene_fraction=0.5,
            combination_probability=0.0, lowercase_fraction=0.3,
        )  # fmt: skip
        index = write_synthetic_dataset(folder, data, progress=False)
        data_s = time.perf_counter() - start
        report = evaluate_model(model, index, progress=not args.quick)
    print(format_table(report), file=sys.stderr)
    scene = report.get("g1_scene", {})
    plan = report.get("plan", {})
    kinds = report["kind_accuracy"]
    print(
        json.dumps(
            {
                "benchmark": "grounding",
                "quick": args.quick,
                "date": datetime.date.today().isoformat(),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
                "model": str(model_dir),
                "samples": report["num_samples"],
                "scene_samples": report["num_scene_samples"],
                "scene_success": scene.get("success"),
                "scene_success_swapped": scene.get("success_swapped"),
                "scene_touched": scene.get("touched"),
                "scene_gate_passed": scene.get("gate_passed"),
                "plans_written": plan.get("written"),
                "plan_target_correct": plan.get("target_correct"),
                "plan_distance_error_m": plan.get("distance_error_m"),
                "plan_bearing_error_deg": plan.get("bearing_error_deg"),
                "kind_accuracy_image": kinds.get("image"),
                "kind_accuracy_no_image": kinds.get("no_image"),
                "kind_samples": [kinds["samples_image"], kinds["samples_no_image"]],
                "well_formed": report["generated"]["well_formed"],
                "data_s": round(data_s, 1),
                "wall_s": round(time.perf_counter() - start, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
