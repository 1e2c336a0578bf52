"""Evaluate a MotionVLA model on a held-out synthetic (or any JSONL) dataset.

For every sample the model generates a motion of the ground-truth duration from the
caption (and image), and three motions are scored side by side:

- ``ground_truth``: the dataset's own joints,
- ``tokenizer``: the ground truth through DSFT encode -> decode (the tokenizer's ceiling),
- ``generated``: the model's motion,

plus ``generated_swapped_images``: the scene samples again with another scene's image,
which must score worse if the model looks at the image at all.

Metrics (means over samples): the MBench geometry metrics of :mod:`training.metrics`;
for samples with known command parameters (``params.end_root_xz`` / ``end_yaw_deg``, what
the synthetic generator records), command fidelity

- ``distance_rel_error``: ``|d - d*| / d*`` of the pelvis displacement (samples with
  ``d* >= 0.5`` m),
- ``heading_error_deg``: angle between achieved and intended displacement direction
  (same samples),
- ``turn_error_deg``: ``|Δyaw - Δyaw*|`` of the body heading (all samples);

and for scene samples ``scene_success``: a "walk to" ends within 0.5 m of the intended
stopping point in front of the named object, a "face" ends facing within 20° of it.
``well_formed`` is the fraction of generated token sequences that parse completely.

Three sections judge the generated motion as a user would:

- ``g1_scene``: every scene command's motion retargeted to the G1 and played in its
  scene in the simulator (:mod:`training.g1_scene`): ``success`` (walk to: the pelvis
  ends within 0.5 m of the object's near side without touching anything; face: facing
  it within 20°), ``success_swapped`` (the same commands with another scene's image),
  ``touched`` and ``gate_passed`` (the simulation gate's verdict);
- ``plan``: the grounded plans of scene commands against the scene's truth (median
  distance and bearing errors, the right object named, plans written at all);
- ``kind_accuracy``: the kind of motion (:mod:`training.motion_kind`) against the kind
  asked, for single commands, without an image (``no_image``) and with one
  (``image``: the sample's own scene, or for commands that name no object another
  sample's scene image, which must not change what the robot does).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from motionvla_model.motion.features import features_to_joints
from motionvla_model.plan import ScenePlan
from training.data import JsonlMotionDataset, MotionSample
from training.g1_scene import G1SceneJudge
from training.metrics import geometry_metrics, heading_deg
from training.motion_kind import classify_motion, command_kind

if TYPE_CHECKING:
    from motionvla_model.modeling import MotionVLA

__all__ = [
    "SCENE_FACE_TOLERANCE_DEG",
    "SCENE_REACH_TOLERANCE_M",
    "command_fidelity",
    "evaluate_model",
    "format_table",
    "scene_success",
    "write_report",
]

SCENE_REACH_TOLERANCE_M = 0.5
SCENE_FACE_TOLERANCE_DEG = 20.0
_MIN_DISTANCE_M = 0.5


def _wrap_deg(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def _displacement(joints: np.ndarray) -> np.ndarray:
    return joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]


def command_fidelity(joints: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    """Distance / heading / turn errors of HumanML3D joints against the intended result."""
    target = np.asarray(params["end_root_xz"], dtype=np.float64)
    achieved = _displacement(joints)
    yaw = heading_deg(joints)
    out = {"turn_error_deg": abs((yaw[-1] - yaw[0]) - float(params["end_yaw_deg"]))}
    distance = float(np.linalg.norm(target))
    if distance >= _MIN_DISTANCE_M:
        out["distance_rel_error"] = abs(float(np.linalg.norm(achieved)) - distance) / distance
        angle = math.atan2(achieved[0], achieved[1]) - math.atan2(target[0], target[1])
        out["heading_error_deg"] = abs(_wrap_deg(math.degrees(angle)))
    return out


def scene_success(joints: np.ndarray, params: dict[str, Any]) -> float:
    """1.0 when the motion performs the scene command (see the module docstring), else 0.0."""
    task = params["scene_task"]
    if task["action"] == "walk_to":
        miss = np.linalg.norm(_displacement(joints) - np.asarray(params["end_root_xz"]))
        return float(miss <= SCENE_REACH_TOLERANCE_M)
    target = np.asarray(task["target"]["ground_human_xz"]) - joints[-1, 0, [0, 2]]
    bearing = math.degrees(math.atan2(target[0], target[1]))
    yaw = heading_deg(joints)
    facing = yaw[-1] - yaw[0]
    return float(abs(_wrap_deg(facing - bearing)) <= SCENE_FACE_TOLERANCE_DEG)


def _score(joints: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    values = geometry_metrics(joints)
    if "end_root_xz" in params and "end_yaw_deg" in params:
        values |= command_fidelity(joints, params)
    if "scene_task" in params:
        values["scene_success"] = scene_success(joints, params)
    return values


def _ground_truth_joints(sample: MotionSample, base: Path) -> np.ndarray:
    if sample.joints is not None:
        return sample.joints
    joints_path = sample.meta.get("joints_path")
    if joints_path:
        path = Path(joints_path)
        return np.load(path if path.is_absolute() else base / path, allow_pickle=False)
    assert sample.features is not None
    return features_to_joints(sample.features)


def _image(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    columns: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key, value in row.items():
            columns[key].append(value)
    return {key: float(np.mean(values)) for key, values in sorted(columns.items())}


def _plan_errors(plan: ScenePlan | None, params: dict[str, Any]) -> dict[str, float]:
    task = params["scene_task"]
    if plan is None:
        return {"written": 0.0}
    bearing = abs((plan.bearing_deg - task["bearing_deg"] + 180.0) % 360.0 - 180.0)
    return {
        "written": 1.0,
        "target_correct": float(plan.target == task["target"]["label"]),
        "distance_error_m": abs(plan.distance_m - task["distance_m"]),
        "bearing_error_deg": bearing,
    }


def _duration(joints: np.ndarray, model: MotionVLA) -> float:
    return min((len(joints) - 1) / 20.0, model.config.max_duration_s)


def evaluate_model(
    model: MotionVLA,
    index_path: str | Path,
    *,
    max_samples: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
) -> dict[str, Any]:
    """Score ground truth, tokenizer round trip and generation on a dataset index."""
    index_path = Path(index_path)
    samples = JsonlMotionDataset(index_path).load()
    # One caption per clip: the index may list several phrasings of the same motion.
    samples = list({s.id.split("#")[0]: s for s in reversed(samples)}.values())[::-1]
    samples = samples[:max_samples] if max_samples else samples
    if not samples:
        raise ValueError(f"{index_path} holds no samples to evaluate")
    scene_rows = [i for i, s in enumerate(samples) if "scene_task" in s.meta.get("params", {})]
    scene_images = [samples[i].image_path for i in scene_rows]
    truths = [_ground_truth_joints(s, index_path.parent) for s in samples]
    # Commands that name no object, to be run again with another sample's scene image.
    plain = [i for i, s in enumerate(samples) if s.image_path is None][: len(scene_rows)]
    judge = G1SceneJudge()
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    well_formed: list[bool] = []
    swapped_runs = len(scene_rows) if len(scene_rows) >= 2 else 0
    total = len(samples) + len(plain) + swapped_runs
    bar = tqdm(total=total, desc="evaluate", unit="motion", disable=not progress)

    def generate(indices: list[int], images: list[Path | None]) -> list[Any]:
        pictures = [_image(path) for path in images]
        motions = model.generate_batch(
            [samples[i].text for i in indices],
            pictures if any(p is not None for p in pictures) else None,
            [_duration(truths[i], model) for i in indices],
        )
        bar.update(len(indices))
        return motions

    def score_kind(motion: Any, params: dict[str, Any], with_image: bool) -> None:
        expected = command_kind(params)
        if expected is not None:
            correct = float(classify_motion(motion.joints, motion.fps).kind == expected)
            rows["kind_image" if with_image else "kind_no_image"].append({"correct": correct})

    for start in range(0, len(samples), batch_size):
        chunk = list(range(start, min(start + batch_size, len(samples))))
        generated = generate(chunk, [samples[i].image_path for i in chunk])
        for i, motion in zip(chunk, generated, strict=True):
            sample, param, truth = samples[i], samples[i].meta.get("params", {}), truths[i]
            rows["ground_truth"].append(_score(truth, param))
            if sample.features is not None:
                cap = model.dsft.config.max_windows * model.dsft.config.window_frames
                tokens = model.dsft.encode(sample.features[:cap])
                decoded = model.dsft.decode(tokens.base, tokens.phys).features
                rows["tokenizer"].append(_score(features_to_joints(decoded), param))
            rows["generated"].append(_score(motion.joints, param))
            well_formed.append(motion.well_formed)
            score_kind(motion, param, sample.image_path is not None)
            if "scene_task" in param:
                rows["plan"].append(_plan_errors(motion.plan, param))
                outcome = judge.judge(motion.joints, motion.fps, param)
                rows["g1_scene"].append(
                    {
                        "success": float(outcome.success),
                        "touched": float(outcome.touched),
                        "gate_passed": float(outcome.gate_passed),
                    }
                )
    # Commands that name no object, with another sample's scene image: the same motion.
    for start in range(0, len(plain), batch_size):
        chunk = plain[start : start + batch_size]
        images = [scene_images[(start + k) % len(scene_images)] for k in range(len(chunk))]
        for i, motion in zip(chunk, generate(chunk, images), strict=True):
            score_kind(motion, samples[i].meta.get("params", {}), with_image=True)
    if len(scene_rows) >= 2:
        # Each scene command gets the image of the next scene sample (a different scene).
        swapped = [scene_images[(k + 1) % len(scene_rows)] for k in range(len(scene_rows))]
        for start in range(0, len(scene_rows), batch_size):
            chunk = scene_rows[start : start + batch_size]
            motions = generate(chunk, swapped[start : start + len(chunk)])
            for i, motion in zip(chunk, motions, strict=True):
                param = samples[i].meta["params"]
                outcome = judge.judge(motion.joints, motion.fps, param)
                rows["generated_swapped_images"].append(
                    {"scene_success": scene_success(motion.joints, param)}
                )
                rows["g1_scene_swapped"].append({"success": float(outcome.success)})
    bar.close()
    return _report(rows, well_formed, samples, scene_rows, index_path)


def _report(
    rows: dict[str, list[dict[str, float]]],
    well_formed: list[bool],
    samples: list[MotionSample],
    scene_rows: list[int],
    index_path: Path,
) -> dict[str, Any]:
    motion_sources = ("ground_truth", "tokenizer", "generated", "generated_swapped_images")
    report: dict[str, Any] = {name: _mean(rows[name]) for name in motion_sources if rows[name]}
    report["generated"]["well_formed"] = float(np.mean(well_formed))
    if rows["g1_scene"]:
        report["g1_scene"] = _mean(rows["g1_scene"])
        if rows["g1_scene_swapped"]:
            report["g1_scene"]["success_swapped"] = _mean(rows["g1_scene_swapped"])["success"]
    written = [r for r in rows["plan"] if r["written"]]
    if rows["plan"]:
        report["plan"] = {"written": _mean(rows["plan"])["written"], "samples": len(rows["plan"])}
    if written:
        report["plan"] |= {
            "target_correct": _mean(written)["target_correct"],
            "distance_error_m": float(np.median([r["distance_error_m"] for r in written])),
            "bearing_error_deg": float(np.median([r["bearing_error_deg"] for r in written])),
        }
    kinds: dict[str, float] = {}
    for key in ("image", "no_image"):
        kinds[f"samples_{key}"] = len(rows[f"kind_{key}"])
        if rows[f"kind_{key}"]:
            kinds[key] = _mean(rows[f"kind_{key}"])["correct"]
    report["kind_accuracy"] = kinds
    report["num_samples"] = len(samples)
    report["num_scene_samples"] = len(scene_rows)
    report["index"] = str(index_path)
    return report


_ORDER = (
    "jitter_degree",
    "dynamic_degree",
    "foot_sliding",
    "foot_floating",
    "ground_penetration",
    "distance_rel_error",
    "heading_error_deg",
    "turn_error_deg",
    "scene_success",
    "well_formed",
)
_COLUMNS = ("ground_truth", "tokenizer", "generated", "generated_swapped_images")


def format_table(report: dict[str, Any]) -> str:
    """The report as a fixed-width table: metrics as rows, motion sources as columns."""
    columns = [c for c in _COLUMNS if c in report]
    metrics = [m for m in _ORDER if any(m in report[c] for c in columns)]
    lines = [f"{'metric':<20}" + "".join(f"{c:>26}" for c in columns)]
    for metric in metrics:
        cells = []
        for column in columns:
            value = report[column].get(metric)
            cells.append(f"{'—' if value is None else f'{value:.4f}':>26}")
        lines.append(f"{metric:<20}" + "".join(cells))
    for section in ("g1_scene", "plan", "kind_accuracy"):
        if section in report:
            values = ", ".join(f"{k} {v:.3f}" for k, v in sorted(report[section].items()))
            lines.append(f"{section}: {values}")
    lines.append(
        f"{report['num_samples']} samples ({report['num_scene_samples']} scene commands)"
    )
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path
