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
from training.data import JsonlMotionDataset, MotionSample
from training.metrics import geometry_metrics, heading_deg

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
    scene_rows = [i for i, s in enumerate(samples) if s.image_path is not None]
    rows: dict[str, list[dict[str, float]]] = defaultdict(list)
    well_formed: list[bool] = []
    bar = tqdm(total=len(samples), desc="evaluate", unit="motion", disable=not progress)
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        truths = [_ground_truth_joints(s, index_path.parent) for s in chunk]
        params = [s.meta.get("params", {}) for s in chunk]
        durations = [min((len(j) - 1) / 20.0, model.config.max_duration_s) for j in truths]
        images = [_image(s.image_path) for s in chunk]
        generated = model.generate_batch(
            [s.text for s in chunk], images if any(i is not None for i in images) else None,
            durations,
        )  # fmt: skip
        for sample, truth, param, motion in zip(chunk, truths, params, generated, strict=True):
            rows["ground_truth"].append(_score(truth, param))
            features = sample.features if sample.features is not None else None
            if features is not None:
                tokens = model.dsft.encode(
                    features[: model.dsft.config.max_windows * model.dsft.config.window_frames]
                )
                decoded = model.dsft.decode(tokens.base, tokens.phys).features
                rows["tokenizer"].append(_score(features_to_joints(decoded), param))
            rows["generated"].append(_score(motion.joints, param))
            well_formed.append(motion.well_formed)
        bar.update(len(chunk))
    bar.close()
    if len(scene_rows) >= 2:
        # Each scene command gets the image of the next scene sample (a different scene).
        swapped = [
            samples[scene_rows[(k + 1) % len(scene_rows)]].image_path
            for k in range(len(scene_rows))
        ]
        for start in range(0, len(scene_rows), batch_size):
            chunk = scene_rows[start : start + batch_size]
            truths = [_ground_truth_joints(samples[i], index_path.parent) for i in chunk]
            generated = model.generate_batch(
                [samples[i].text for i in chunk],
                [_image(swapped[k]) for k in range(start, start + len(chunk))],
                [min((len(j) - 1) / 20.0, model.config.max_duration_s) for j in truths],
            )
            for i, motion in zip(chunk, generated, strict=True):
                rows["generated_swapped_images"].append(
                    {"scene_success": scene_success(motion.joints, samples[i].meta["params"])}
                )
    report: dict[str, Any] = {name: _mean(values) for name, values in rows.items()}
    report["generated"]["well_formed"] = float(np.mean(well_formed))
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
    lines.append(
        f"{report['num_samples']} samples ({report['num_scene_samples']} with a scene image)"
    )
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return path
