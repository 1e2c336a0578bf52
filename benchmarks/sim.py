"""Simulation check: speed, and verdicts on real G1 clips and on corrupted copies of them.

Run from the repository root: ``.venv/bin/python benchmarks/sim.py [--quick]``.
One process on one core (BLAS/OpenMP threads = 1, CPU affinity = 1 core).

* Real clips (registry packages): every AMP walk/jog/turn clip and holosoma's box
  carry are expected to pass. Two are expected to fail and are counted apart:
  ``amp/fallAndGetUp1_subject1`` (a fall: pelvis on the floor, tilted past 75°,
  body into the floor; a robot must not be sent into a fall) and
  ``holosoma/motion_crawl_slope`` (crawling up a slope: torso near horizontal, and
  the slope is not in the scene).
* Corrupted copies of the expected-pass clips (``sim.corruptions``): each must fail
  the check meant for it.
* ``check_realtime_factor``: seconds of motion checked (kinematic + dynamic) per
  second of wall time on the real clips; ``check_realtime_factor_cpu`` divides by
  the process' CPU time instead, which other jobs on a shared machine disturb less.
* Baseline in the same run: the same check with MuJoCo's 2 ms time step (the
  Menagerie model's own) instead of 4 ms, on a subset: its speed and whether the
  verdicts agree.
* ``render_fps``: 640×480 frames of the tracking camera per second (``MUJOCO_GL=egl``).

``--quick`` (< 60 s) uses four clips cut to 4 s, corruptions on two of them, and a
few rendered frames. The last line of output is one JSON object.
"""

# Environment variables must be set before numpy and mujoco load, so imports follow.
# ruff: noqa: E402
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("MUJOCO_GL", "egl")

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

# Run as a script from a checkout: make the repository importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motionvla_model.motion.registry_data import fetch, names
from retargeting.trajectory import G1Trajectory, load_reference_clip
from sim.checker import SimChecker
from sim.config import SimCheckConfig
from sim.corruptions import CORRUPTIONS, corrupt
from sim.render import SceneRenderer

EXPECTED_TO_FAIL = ("amp/fallAndGetUp1_subject1", "holosoma/motion_crawl_slope")
QUICK_CLIPS = (
    "amp/walk_forward_loop_002__A022",
    "amp/jog_forward_loop_003__A021",
    "amp/idle_turn_270_001__A048",
    "amp/walk_sideway_left_loop_002__A021",
)


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def clip(name: str, max_seconds: float | None) -> G1Trajectory:
    traj = load_reference_clip(fetch(name))
    if max_seconds is None:
        return traj
    frames = min(traj.num_frames, int(max_seconds * traj.fps) + 1)
    return G1Trajectory.from_qpos(traj.qpos()[:frames], traj.fps)


def timed_check(checker: SimChecker, traj: G1Trajectory) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    report = checker.check(traj)
    return report, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a subset that runs in < 60 s")
    args = parser.parse_args()
    core = pin_to_one_core()
    started = time.perf_counter()
    max_seconds = 4.0 if args.quick else None
    candidates = names("amp/") + names("holosoma/")
    passing = [n for n in candidates if n not in EXPECTED_TO_FAIL]
    failing = [n for n in candidates if n in EXPECTED_TO_FAIL]
    if args.quick:
        passing, failing = list(QUICK_CLIPS), []
    checker = SimChecker()

    motion_s = wall_s = cpu_s = 0.0
    false_rejections: list[dict] = []
    for name in tqdm(passing, desc="real clips", file=sys.stderr):
        traj = clip(name, max_seconds)
        report, wall, cpu = timed_check(checker, traj)
        motion_s, wall_s, cpu_s = motion_s + traj.duration_s, wall_s + wall, cpu_s + cpu
        m = report.metrics
        print(
            f"{name:42s} {'PASS' if report.passed else 'FAIL'} {traj.duration_s:5.1f}s "
            f"{traj.duration_s / wall:5.1f}x assist {m.get('assist_force_mean', 0):.2f}/"
            f"{m.get('assist_force_peak', 0):.2f} BW  "
            f"track {m.get('tracking_error_mean_rad', 0):.3f} rad  "
            f"{'' if report.passed else report.summary()}"
        )
        if not report.passed:
            false_rejections.append({"clip": name, "reason": report.summary()})
    expected_failures = {}
    for name in failing:
        report = checker.check(clip(name, max_seconds))
        expected_failures[name] = list(report.failed_names)
        print(
            f"{name:42s} {'PASS' if report.passed else 'FAIL'} (expected FAIL) {report.summary()}"
        )

    corrupted_sources = passing[:2] if args.quick else passing
    wrong_reason: list[dict] = []
    rejected = total = 0
    jobs = [(n, c) for n in corrupted_sources for c in CORRUPTIONS]
    for name, corruption in tqdm(jobs, desc="corrupted clips", file=sys.stderr):
        report = checker.check(corrupt(clip(name, 4.0), corruption))
        total += 1
        meant = CORRUPTIONS[corruption].check
        if not report.passed:
            rejected += 1
        if meant not in report.failed_names:
            wrong_reason.append(
                {"clip": name, "corruption": corruption, "failed": list(report.failed_names)}
            )
    print(f"corrupted: {rejected}/{total} rejected, {total - len(wrong_reason)} by the meant check")

    # Baseline: the Menagerie's own 2 ms step on a subset.
    baseline_checker = SimChecker(replace(SimCheckConfig(), physics_timestep_s=0.002))
    base_names = passing[:1] if args.quick else passing[:4]
    base_wall = ours_wall = 0.0
    agree = 0
    for name in base_names:
        traj = clip(name, 4.0)
        ours, w_ours, _ = timed_check(checker, traj)
        base, w_base, _ = timed_check(baseline_checker, traj)
        base_wall, ours_wall = base_wall + w_base, ours_wall + w_ours
        agree += ours.passed == base.passed

    frames = 5 if args.quick else 30
    with SceneRenderer(None, 640, 480) as renderer:
        traj = clip(passing[0], 4.0)
        renderer.render(traj.qpos()[0])  # first frame builds GL state
        start = time.perf_counter()
        for q in traj.qpos()[np.linspace(0, traj.num_frames - 1, frames).astype(int)]:
            renderer.render(q)
        render_fps = frames / (time.perf_counter() - start)

    result = {
        "benchmark": "sim",
        "quick": args.quick,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, pinned to core {core}",
        "check_realtime_factor": round(motion_s / wall_s, 2),
        "check_realtime_factor_cpu": round(motion_s / cpu_s, 2),
        "motion_checked_s": round(motion_s, 1),
        "real_clips_passed": len(passing) - len(false_rejections),
        "real_clips_total": len(passing),
        "false_rejections": len(false_rejections),
        "false_rejection_details": false_rejections,
        "expected_failures": expected_failures,
        "corrupted_clips_rejected": rejected,
        "corrupted_clips_total": total,
        "corrupted_rejected_by_meant_check": total - len(wrong_reason),
        "corrupted_wrong_reason": wrong_reason,
        "baseline_2ms_step_speedup": round(base_wall / ours_wall, 2),
        "baseline_2ms_step_verdicts_agree": f"{agree}/{len(base_names)}",
        "render_fps": round(render_fps, 2),
        "render_size": "640x480",
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
