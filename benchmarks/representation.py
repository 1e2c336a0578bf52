"""Motion representation speed and accuracy: features both ways, BVH import vs bvhio.

Run from the repository root: ``.venv/bin/python benchmarks/representation.py [--quick]``.
The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

# Run as a script from a checkout: make the repository importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motionvla_model.motion.bvh import load_bvh
from motionvla_model.motion.features import (
    canonicalize_joints,
    features_to_joints,
    joints_to_features,
)
from motionvla_model.motion.human_clips import load_bvh_clip, load_omomo
from motionvla_model.motion.registry_data import fetch
from motionvla_model.motion.resample import resample


def best_of(repeats: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bvhio_positions(path: str, names: list[str], frames: int) -> tuple[float, np.ndarray]:
    """Joint world positions from bvhio (the maintained BVH library) for the first frames."""
    import bvhio

    start = time.perf_counter()
    root = bvhio.readAsHierarchy(path)
    joints = {j.Name: j for j, _, _ in root.layout()}
    out = np.zeros((frames, len(names), 3))
    for frame in range(frames):
        root.loadPose(frame)
        for k, name in enumerate(names):
            p = joints[name].PositionWorld
            out[frame, k] = (p.x, p.y, p.z)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small inputs, under 60 s")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    report: dict[str, object] = {
        "benchmark": "representation",
        "quick": args.quick,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }

    # Features on a real clip (LAFAN1-style walking, resampled to 20 fps).
    clip = load_bvh_clip("bvh/test2" if not args.quick else "bvh/test3", target_fps=20.0)
    joints = clip.joints
    t_fwd, features = best_of(repeats, lambda: joints_to_features(joints))
    t_inv, recovered = best_of(repeats, lambda: features_to_joints(features))
    error = np.linalg.norm(recovered - canonicalize_joints(joints)[:-1], axis=-1) * 1000
    report |= {
        "features_clip": clip.name,
        "features_frames": len(joints),
        "joints_to_features_frames_per_s": round(len(joints) / t_fwd),
        "features_to_joints_frames_per_s": round(len(features) / t_inv),
        "round_trip_mean_mm": float(error.mean()),
        "round_trip_max_mm": float(error.max()),
    }

    # Batched inverse, as the decoder uses it: 64 sequences of 196 frames.
    omomo = load_omomo("omomo/sub3_largebox_003")
    feats = joints_to_features(resample(omomo.joints, omomo.fps, 20.0))
    batch = np.stack([feats[:120]] * 64)
    t_batch, _ = best_of(repeats, lambda: features_to_joints(batch))
    report["features_to_joints_batch64x120_ms"] = round(t_batch * 1000, 2)

    # BVH import against bvhio: time for the whole file and agreement of positions.
    name = "bvh/test3" if args.quick else "bvh/test2"
    path = str(fetch(name))
    t_ours, motion = best_of(1, lambda: load_bvh(path))
    mapped = [motion.mapping[n] for n in ("pelvis", "left_knee", "right_elbow", "head")]
    frames = 50 if args.quick else 300
    t_peer, peer = bvhio_positions(path, mapped, frames)
    ours = np.stack([motion.joints[:frames, i] for i in (0, 4, 19, 15)], axis=1) / motion.unit_scale
    report |= {
        "bvh_file": name,
        "bvh_frames": len(motion.joints),
        "load_bvh_s": round(t_ours, 3),
        # bvhio reads the file, then poses only the first `frames` frames; load_bvh
        # does every frame, so the ratio is a lower bound.
        "bvhio_read_and_pose_s": round(t_peer, 3),
        "bvhio_frames": frames,
        "speedup_vs_bvhio_at_least": round(t_peer / t_ours, 1),
        "max_position_difference_vs_bvhio_file_units": float(np.abs(ours - peer).max()),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
