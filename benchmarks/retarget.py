"""Retargeting speed and quality on real human clips (OMOMO, climbing mocap, BVH).

Run from the repository root: ``.venv/bin/python benchmarks/retarget.py [--quick]``.
One process on one core (BLAS/OpenMP/torch threads = 1, CPU affinity = 1 core).
``frames_per_second`` counts output frames per CPU-second of that process
(``time.process_time``), which other jobs on a shared machine disturb far less
than wall-clock time; ``wall_frames_per_second`` is reported beside it.
Baseline in the same run: the same retargeter with 8 IK steps per frame instead of
2, which is close to converged; ``speedup_vs_8_steps`` and the baseline's keypoint
error show what warm-starting with few steps costs and gains. The last line of
output is one JSON object.
"""

# Thread counts must be set before numpy loads, so imports follow code here.
# ruff: noqa: E402
from __future__ import annotations

import os

# Before numpy (or torch) loads its thread pools: one thread each.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

# Run as a script from a checkout: make the repository importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motionvla_model.motion.human_clips import HumanClip, load_bvh_clip, load_climb, load_omomo
from motionvla_model.motion.registry_data import fetch
from retargeting.config import RetargetConfig
from retargeting.metrics import reference_joint_rmse, retarget_quality
from retargeting.retargeter import Retargeter
from retargeting.trajectory import load_reference_clip

REFERENCE_CLIP = "omomo/sub3_largebox_003"


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    if "torch" in sys.modules:  # the OMOMO loader reads .pt files with torch
        sys.modules["torch"].set_num_threads(1)
    return core


def clips(quick: bool) -> list[HumanClip]:
    """The benchmark set; ``quick`` keeps the first 20 s of the long recordings."""
    out = [load_omomo("omomo/sub3_largebox_003"), load_omomo("omomo/sub10_largebox_049")]
    if quick:
        longer = [load_climb(0), load_bvh_clip("bvh/test")]
        out += [HumanClip(c.name, c.joints[: int(20 * c.fps) + 1], c.fps) for c in longer]
    else:
        out += [load_climb(i) for i in range(5)]
        out += [load_bvh_clip("bvh/test"), load_bvh_clip("bvh/test2")]
    return out


def timed(config: RetargetConfig, clip: HumanClip):
    """(CPU seconds, wall seconds, result) of retargeting one clip."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = Retargeter(config).retarget(clip.joints, clip.fps)
    return time.process_time() - cpu, time.perf_counter() - wall, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter clips, under 60 s")
    args = parser.parse_args()
    core = pin_to_one_core()
    config = RetargetConfig()
    baseline_config = replace(config, iterations_per_frame=8)
    data = clips(args.quick)
    timed(config, HumanClip("warm-up", data[0].joints[:10], data[0].fps))  # compile the model

    per_clip = {}
    seconds = wall_seconds = frames = slide_frames = 0.0
    keypoint_sum = slide_sum = penetration = velocity_ratio = 0.0
    violations = 0
    reference_rmse = None
    for clip in data:
        elapsed, wall, result = timed(config, clip)
        traj = result.trajectory
        quality = retarget_quality(traj, result.targets, result.contact)
        held = int(np.count_nonzero(result.contact[1:] & result.contact[:-1]))
        seconds += elapsed
        wall_seconds += wall
        frames += traj.num_frames
        keypoint_sum += quality.keypoint_error_mm * traj.num_frames
        slide_sum += quality.foot_slide_mm_per_frame * held
        slide_frames += held
        penetration = max(penetration, quality.ground_penetration_mm)
        velocity_ratio = max(velocity_ratio, quality.max_joint_velocity_ratio)
        violations += quality.joint_limit_violations
        entry = {
            "input_frames": len(clip.joints),
            "input_fps": clip.fps,
            "output_frames": traj.num_frames,
            "frames_per_second": round(traj.num_frames / elapsed, 1),
            **{k: round(v, 3) for k, v in quality.as_dict().items()},
        }
        if clip.name == REFERENCE_CLIP:
            reference = load_reference_clip(fetch("holosoma/sub3_largebox_003"))
            reference_rmse = reference_joint_rmse(traj, reference)
            entry["reference_joint_rmse_rad"] = round(reference_rmse, 4)
            # Shared machines make single timings noisy: compare best-of-3, interleaved.
            runs = [(timed(config, clip)[0], timed(baseline_config, clip)) for _ in range(3)]
            elapsed_best = min(min(r[0] for r in runs), elapsed)
            base_elapsed = min(r[1][0] for r in runs)
            base = runs[0][1][2]
            base_quality = retarget_quality(base.trajectory, base.targets, base.contact)
            entry["baseline_8_steps"] = {
                "frames_per_second": round(base.trajectory.num_frames / base_elapsed, 1),
                "keypoint_error_mm": round(base_quality.keypoint_error_mm, 3),
                "reference_joint_rmse_rad": round(
                    reference_joint_rmse(base.trajectory, reference), 4
                ),
            }
            entry["speedup_vs_8_steps"] = round(base_elapsed / elapsed_best, 2)
        per_clip[clip.name] = entry
        print(clip.name, json.dumps(entry), flush=True)

    report = {
        "benchmark": "retarget",
        "quick": args.quick,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, pinned to core {core}",
        "iterations_per_frame": config.iterations_per_frame,
        "output_fps": config.output_fps,
        "clips": len(data),
        "output_frames": int(frames),
        "frames_per_second": round(frames / seconds, 1),
        "wall_frames_per_second": round(frames / wall_seconds, 1),
        "keypoint_error_mm": round(keypoint_sum / frames, 2),
        "foot_slide_mm_per_frame": round(slide_sum / max(slide_frames, 1), 3),
        "ground_penetration_mm": round(penetration, 3),
        "joint_limit_violations": violations,
        "max_joint_velocity_ratio": round(velocity_ratio, 3),
        "reference_joint_rmse_rad": None if reference_rmse is None else round(reference_rmse, 4),
        "speedup_vs_8_steps": per_clip[REFERENCE_CLIP]["speedup_vs_8_steps"],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
