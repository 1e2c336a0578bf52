"""Grounding questions about rendered scenes: "where is the red box?" -> its plan.

This is the data that teaches a vision-language model to find a named object in the
head-camera image: every object of every scene is asked about, and the answer is that
object's :class:`~motionvla_model.plan.ScenePlan` (``red box: 2.4 m, 30° left``), the
same text a scene command's answer starts with. A scene (2–4 objects of distinct
colour-shape labels, placed as :meth:`sim.scene.SceneDescription.random` places them) is
rendered straight at the model's input size with
:class:`sim.render.HeadCameraRenderer`, so thousands of scenes cost minutes, and cheap
augmentations multiply each layout:

* the **mirror** image: the scene reflected across the robot's sagittal plane is the
  image flipped left to right with every bearing negated (no render);
* **recoloured** copies: the objects' colours permuted (or replaced by unused ones) in
  the scene and so in both the image and the words (one render each);
* **shape swaps**: the objects' shapes exchanged, each at its own default size (one
  render each).

The output is a file of SFT records in the chat format of :mod:`training.sft_data`
(user: image + question; assistant: the plan text), plus the images::

    out/grounding.jsonl
    out/grounding_images/<scene>.png

Scene ``i`` of seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``, so the
records do not depend on the number of worker processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from training.data.parallel import map_records
from training.data.scene_samples import mirror_scene, object_plan, render_head_camera

__all__ = ["QUESTIONS", "GroundingConfig", "grounding_records", "write_grounding_dataset"]

QUESTIONS = (
    "where is the {label}?",
    "where is the {label}",
    "Where is the {label}?",
    "how far away is the {label}?",
    "find the {label}",
    "locate the {label}",
    "where's the {label}?",
)


@dataclass(frozen=True)
class GroundingConfig:
    """How many scenes, at which image size, with which augmentations.

    Each scene gives one view per augmentation (``1 + recolourings + shape_swaps``, twice
    that with ``mirror``) and one question per object and view.
    """

    num_scenes: int = 1000
    seed: int = 0
    image_width: int = 224
    image_height: int = 168
    mirror: bool = True
    recolourings: int = 1
    shape_swaps: int = 1
    num_objects: tuple[int, int] = (2, 4)

    def __post_init__(self) -> None:
        if self.num_scenes < 1:
            raise ValueError(f"num_scenes must be >= 1, got {self.num_scenes}")
        for name in ("image_width", "image_height"):
            if not 32 <= getattr(self, name) <= 2048:
                raise ValueError(f"{name} must be in [32, 2048], got {getattr(self, name)}")
        if self.recolourings < 0 or self.shape_swaps < 0:
            raise ValueError("recolourings and shape_swaps must be >= 0")
        low, high = self.num_objects
        if not 1 <= low <= high <= 8:
            raise ValueError(f"num_objects must satisfy 1 <= low <= high <= 8, got {low, high}")


def _recoloured(scene: Any, rng: np.random.Generator) -> Any:
    """``scene`` with its objects' colours drawn anew (distinct labels kept)."""
    from sim.scene import COLOURS

    colours = list(COLOURS)
    objects = []
    for obj in scene.objects:
        taken = {(o.colour, o.shape) for o in objects}
        choices = [c for c in colours if (c, obj.shape) not in taken and c != obj.colour]
        colour = choices[int(rng.integers(len(choices)))] if choices else obj.colour
        objects.append(replace(obj, colour=colour, name=f"{colour}_{obj.shape}"))
    return replace(scene, objects=tuple(objects))


def _shape_swapped(scene: Any, rng: np.random.Generator) -> Any:
    """``scene`` with the objects' shapes permuted (each at its new shape's default size)."""
    from sim.scene import SHAPES, SceneObject

    shapes = [o.shape for o in scene.objects]
    if len(set(shapes)) < 2:  # nothing to exchange: draw other shapes instead
        shapes = [list(SHAPES)[int(k)] for k in rng.integers(len(SHAPES), size=len(shapes))]
    else:
        shapes = [shapes[int(k)] for k in rng.permutation(len(shapes))]
    objects: list[Any] = []
    for obj, shape in zip(scene.objects, shapes, strict=True):
        colour = obj.colour
        if any((o.colour, o.shape) == (colour, shape) for o in objects):
            return scene  # a permutation that would repeat a label: keep the original
        objects.append(
            SceneObject(f"{colour}_{shape}", shape, colour, obj.position[:2], yaw=obj.yaw)
        )
    return replace(scene, objects=tuple(objects))


def _record(record_id: str, image_path: str, obj: Any, question: str, view: str) -> dict:
    plan = object_plan(obj)
    return {
        "id": record_id,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": image_path},
                    {"type": "text", "text": question.format(label=obj.label)},
                ],
            },
            {"role": "assistant", "content": plan.text()},
        ],
        "params": {"grounding": {"view": view, "plan": plan.to_dict()}},
    }


def grounding_records(index: int, config: GroundingConfig, out_dir: Path) -> list[dict]:
    """Render scene ``index`` and its augmented views; return their question records."""
    from PIL import Image

    from sim.scene import SceneDescription

    rng = np.random.default_rng([config.seed, index])
    scene = SceneDescription.random(int(rng.integers(2**31)), num_objects=config.num_objects)
    views = [("", scene)]
    views += [(f"c{k}", _recoloured(scene, rng)) for k in range(config.recolourings)]
    views += [(f"s{k}", _shape_swapped(scene, rng)) for k in range(config.shape_swaps)]
    rendered = [
        (name, view, render_head_camera(view, config.image_width, config.image_height))
        for name, view in views
    ]
    if config.mirror:
        rendered += [
            (name + "m", mirror_scene(view), np.ascontiguousarray(image[:, ::-1]))
            for name, view, image in rendered
        ]
    images = out_dir / "grounding_images"
    images.mkdir(parents=True, exist_ok=True)
    records = []
    for name, view, image in rendered:
        stem = f"scene_{index:06d}{name}"
        path = images / f"{stem}.png"
        Image.fromarray(image).save(path)
        for number, obj in enumerate(view.objects):
            question = QUESTIONS[int(rng.integers(len(QUESTIONS)))]
            records.append(
                _record(f"{stem}_{number}", str(path.resolve()), obj, question, name or "original")
            )
    return records


def _records_star(args: tuple[int, GroundingConfig, Path]) -> list[dict]:
    return grounding_records(*args)


def write_grounding_dataset(
    out_dir: str | Path, config: GroundingConfig, *, workers: int = 1, progress: bool = True
) -> Path:
    """Render ``config.num_scenes`` scenes into ``out_dir``; returns ``grounding.jsonl``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(i, config, out_dir) for i in range(config.num_scenes)]
    records = map_records(_records_star, jobs, workers=workers, chunksize=16,
                          desc="grounding scenes", unit="scene", progress=progress)  # fmt: skip
    path = out_dir / "grounding.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out_dir / "grounding_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    return path
