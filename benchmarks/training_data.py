"""Throughput of the synthetic data generator and the dataset loaders.

Measures, on this machine: clips per second of motion synthesis alone, of synthesis +
HumanML3D features, of the dataset writer with 1 and with 2 worker processes (the
2-worker figure is reported as a speed-up over 1 worker measured in the same run), of
head-camera scene samples, and of reading the written dataset back. The last line of
output is one JSON object.

    .venv/bin/python benchmarks/training_data.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from motionvla_model.motion.features import joints_to_features
from training.data import JsonlMotionDataset
from training.data.synthetic_dataset import (
    SyntheticDatasetConfig,
    sample_commands,
    write_synthetic_dataset,
)
from training.data.synthetic_motion import synthesize


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, under 60 s")
    args = parser.parse_args()
    clips = 40 if args.quick else 400
    dataset_size = 24 if args.quick else 200
    scene_samples = 2 if args.quick else 10
    rng = np.random.default_rng(0)
    command_lists = [sample_commands(rng) for _ in range(clips)]

    start = time.perf_counter()
    motions = [synthesize(commands) for commands in command_lists]
    synth_s = time.perf_counter() - start
    frames = sum(m.num_frames for m in motions)
    start = time.perf_counter()
    for motion in motions:
        joints_to_features(motion.joints, motion.fps)
    features_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        config = SyntheticDatasetConfig(num_samples=dataset_size, seed=1)
        start = time.perf_counter()
        index = write_synthetic_dataset(Path(tmp) / "w1", config, workers=1, progress=False)
        one_worker_s = time.perf_counter() - start
        start = time.perf_counter()
        write_synthetic_dataset(Path(tmp) / "w2", config, workers=2, progress=False)
        two_worker_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded = JsonlMotionDataset(index, strict=True).load()
        load_s = time.perf_counter() - start
        scenes = SyntheticDatasetConfig(num_samples=scene_samples, seed=2, scene_fraction=1.0)
        start = time.perf_counter()
        write_synthetic_dataset(Path(tmp) / "scenes", scenes, workers=1, progress=False)
        scene_s = time.perf_counter() - start
        # The default recipe's scene draws: three commands per render, and mirrored.
        reused = SyntheticDatasetConfig(
            num_samples=scene_samples, seed=2, scene_fraction=1.0, tasks_per_scene=3,
            mirror_scenes=True,
        )  # fmt: skip
        start = time.perf_counter()
        reused_index = write_synthetic_dataset(
            Path(tmp) / "reused", reused, workers=1, progress=False
        )
        reused_s = time.perf_counter() - start
        reused_samples = len(reused_index.read_text().splitlines())

    result = {
        "benchmark": "training_data",
        "quick": args.quick,
        "cpu_count": os.cpu_count(),
        "synthesis_clips_per_s": _rate(clips, synth_s),
        "synthesis_frames_per_s": _rate(frames, synth_s),
        "mean_clip_s": round(frames / clips / 20.0, 2),
        "features_clips_per_s": _rate(clips, features_s),
        "writer_1_worker_clips_per_s": _rate(dataset_size, one_worker_s),
        "writer_2_workers_clips_per_s": _rate(dataset_size, two_worker_s),
        "writer_2_vs_1_worker_speedup": round(one_worker_s / two_worker_s, 2),
        "scene_samples_per_s_incl_render": _rate(scene_samples, scene_s),
        "scene_samples_per_s_3_tasks_mirrored": _rate(reused_samples, reused_s),
        "scene_reuse_speedup": round(
            _rate(reused_samples, reused_s) / _rate(scene_samples, scene_s), 2
        ),
        "jsonl_load_samples_per_s": _rate(len(loaded), load_s),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
