"""Write a synthetic captioned motion dataset: random commands → motion → features + index.

Draw ``i`` of a dataset with seed ``s`` comes from ``numpy.random.default_rng([s, i])``,
so the dataset is the same whatever the number of worker processes. A draw is one
command sample, or a rendered scene with one or more scene commands about it (see
:class:`SyntheticDatasetConfig`). The output
directory is a ViMoGen-style JSONL dataset that
:class:`~training.data.vimogen.JsonlMotionDataset` reads back::

    out/
      index.jsonl                 one entry per sample (see below)
      features/<id>.npy           float32 [T-1, 263] HumanML3D features (20 fps)
      joints/<id>.npy             float32 [T, 22, 3] the generated joints (m, Y up)
      images/<draw>.png           head-camera image of a scene draw (shared by its samples)

Each entry holds ``id``, ``text`` (the training caption), ``captions`` (other
phrasings of the same command), ``motion_path``, ``joints_path``, ``image_path`` (or
null), ``fps`` and ``params``: the commands with their parameters, the pelvis
displacement and heading change achieved, and for scene samples the target object
and the scene, so evaluation can measure command fidelity.

Command line (``motionvla-synth-data``)::

    motionvla-synth-data --out data/synthetic --num-samples 2000 --seed 0 --workers 2 \\
        --scene-fraction 0.2 --distractor-image-fraction 0.3 --grounding-scenes 1000

``--grounding-scenes N`` also writes ``grounding.jsonl``: "where is the <object>?"
questions about every object of ``N`` rendered scenes, answered with grounded plans
(:mod:`training.data.grounding`), ready for ``motionvla-train phase2 --train``.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from motionvla_model.motion.features import joints_to_features
from training.data.captions import caption
from training.data.commands import (
    Command,
    Jump,
    RaiseArms,
    Run,
    SitDown,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
)
from training.data.parallel import map_records
from training.data.synthetic_motion import synthesize
from training.data.vimogen import write_jsonl_index

__all__ = [
    "SyntheticDatasetConfig",
    "generate_entries",
    "main",
    "sample_commands",
    "write_synthetic_dataset",
]


@dataclass(frozen=True)
class SyntheticDatasetConfig:
    """What to generate.

    ``num_samples`` draws are made; a draw is a scene with probability ``scene_fraction``
    and then yields up to ``tasks_per_scene`` samples (different objects or actions about
    one rendered image), twice that with ``mirror_scenes`` (each also reflected left to
    right, image flipped), so a dataset with scenes holds more samples than draws.
    ``lowercase_fraction`` of the captions are written the way commands are typed, in
    lower case without a full stop. ``distractor_image_fraction`` of the other draws (a
    command that names no object) carry the image of a random scene all the same: a
    robot's camera is always on, and the motion must follow the words whatever it shows.
    """

    num_samples: int = 1000
    seed: int = 0
    fps: float = 20.0
    combination_probability: float = 0.25
    scene_fraction: float = 0.0
    image_width: int = 320
    image_height: int = 240
    alternative_captions: int = 3
    tasks_per_scene: int = 1
    mirror_scenes: bool = False
    lowercase_fraction: float = 0.0
    distractor_image_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.fps != 20.0:
            raise ValueError("features follow HumanML3D at 20 fps; fps must be 20")
        for name in (
            "combination_probability",
            "scene_fraction",
            "lowercase_fraction",
            "distractor_image_fraction",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in ("image_width", "image_height"):
            if not 32 <= getattr(self, name) <= 2048:
                raise ValueError(f"{name} must be in [32, 2048], got {getattr(self, name)}")
        if self.alternative_captions < 0:
            raise ValueError("alternative_captions must be >= 0")
        if self.tasks_per_scene < 1:
            raise ValueError(f"tasks_per_scene must be >= 1, got {self.tasks_per_scene}")


def _pick(rng: np.random.Generator, options: list[Any], weights: list[float] | None = None) -> Any:
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    return options[int(rng.choice(len(options), p=p))]


def _random_command(rng: np.random.Generator, *, allow_sit: bool) -> Command:
    kinds = ["walk", "run", "turn", "step", "jump", "squat", "wave", "raise", "sit"]
    weights = [0.24, 0.08, 0.13, 0.08, 0.08, 0.08, 0.11, 0.12, 0.08 if allow_sit else 0.0]
    kind = _pick(rng, kinds, weights)
    side = _pick(rng, ["left", "right"])
    turn = _pick(rng, [0.0, 45.0, 90.0], [0.75, 0.15, 0.10]) * _pick(rng, [1, -1])
    if kind == "walk":
        if rng.random() < 0.15:
            return Walk(_pick(rng, [0.5, 1.0, 1.5, 2.0]), "backward", speed_mps=0.8)
        speed = _pick(rng, [1.2, 0.8, 1.5], [0.6, 0.2, 0.2])
        return Walk(_pick(rng, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]), speed_mps=speed, turn_deg=turn)
    if kind == "run":
        return Run(_pick(rng, [2.0, 3.0, 4.0, 5.0]), speed_mps=_pick(rng, [2.5, 3.0, 4.0]))
    if kind == "turn":
        return Turn(
            _pick(rng, [45.0, 90.0, 135.0, 180.0, 360.0], [2, 4, 1, 3, 1]) * _pick(rng, [1, -1])
        )
    if kind == "step":
        return StepSideways(side, _pick(rng, [0.3, 0.5, 1.0]))
    if kind == "jump":
        distance = _pick(rng, [0.0, 0.5, 1.0], [0.6, 0.2, 0.2])
        return Jump(distance, _pick(rng, [0.2, 0.3, 0.4]))
    if kind == "squat":
        return Squat(_pick(rng, [1, 2, 3]), _pick(rng, [0.35, 0.45]))
    if kind == "wave":
        return Wave(_pick(rng, ["left", "right", "both"], [0.45, 0.45, 0.1]), _pick(rng, [2, 3, 4]))
    if kind == "raise":
        arms = _pick(rng, ["both", "left", "right"], [0.5, 0.25, 0.25])
        return RaiseArms(arms, _pick(rng, ["up", "forward", "sideways"], [0.5, 0.25, 0.25]),
                         _pick(rng, [0.5, 1.0, 1.5]))  # fmt: skip
    return SitDown(_pick(rng, [0.4, 0.45, 0.5]))


def sample_commands(
    rng: np.random.Generator, combination_probability: float = 0.25
) -> list[Command]:
    """One or (with ``combination_probability``) two commands; sitting only comes last."""
    count = 2 if rng.random() < combination_probability else 1
    commands: list[Command] = []
    for index in range(count):
        commands.append(_random_command(rng, allow_sit=index == count - 1))
    return commands


def _typed(text: str, rng: np.random.Generator, lowercase_fraction: float) -> str:
    """``text`` as a sentence, or (with ``lowercase_fraction``) as commands are typed."""
    phrase = text.rstrip(".")
    if rng.random() < lowercase_fraction:
        return phrase.lower()
    return phrase[0].upper() + phrase[1:] + "."


def _entry(
    sample_id: str,
    texts: list[str],
    commands: list[Command],
    params: dict[str, Any],
    image_path: str | None,
    config: SyntheticDatasetConfig,
    out_dir: Path,
) -> dict[str, Any]:
    """Synthesise ``commands``, write the arrays and return the index entry."""
    clip = synthesize(commands, fps=config.fps)
    features = joints_to_features(clip.joints, clip.fps)
    np.save(out_dir / "features" / f"{sample_id}.npy", features.astype(np.float32))
    np.save(out_dir / "joints" / f"{sample_id}.npy", clip.joints.astype(np.float32))
    params = params | {"commands": [c.params() for c in commands]} | clip.meta
    return {
        "id": sample_id,
        "text": texts[0],
        "captions": texts[1 : 1 + config.alternative_captions],
        "motion_path": f"features/{sample_id}.npy",
        "joints_path": f"joints/{sample_id}.npy",
        "image_path": image_path,
        "fps": clip.fps,
        "num_frames": clip.num_frames,
        "params": params,
    }


def _scene_entries(
    index: int, rng: np.random.Generator, config: SyntheticDatasetConfig, out_dir: Path
) -> list[dict[str, Any]]:
    from PIL import Image

    from training.data.scene_samples import (
        mirror_scene,
        random_scene,
        render_head_camera,
        scene_captions,
        scene_tasks,
    )

    scene = random_scene(int(rng.integers(2**31)))
    image = render_head_camera(scene, config.image_width, config.image_height)
    views = [("", scene, image)]
    if config.mirror_scenes:
        views.append(("m", mirror_scene(scene), np.ascontiguousarray(image[:, ::-1])))
    entries = []
    for suffix, view, pixels in views:
        image_path = f"images/synthetic_{index:06d}{suffix}.png"
        (out_dir / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(out_dir / image_path)
        for number, task in enumerate(scene_tasks(view, rng, config.tasks_per_scene)):
            options = scene_captions(task.action, task.target["label"])
            texts = [_typed(options[k], rng, config.lowercase_fraction)
                     for k in rng.permutation(len(options))]  # fmt: skip
            sample_id = f"synthetic_{index:06d}{suffix}" + (f"_{number}" if number else "")
            params = {"scene_task": task.params(), "scene": view.to_dict()}
            entries.append(
                _entry(sample_id, texts, list(task.commands), params, image_path, config, out_dir)
            )
    return entries


def generate_entries(
    index: int, config: SyntheticDatasetConfig, out_dir: Path
) -> list[dict[str, Any]]:
    """Generate draw ``index``: write its arrays (and image) and return its index entries."""
    rng = np.random.default_rng([config.seed, index])
    if rng.random() < config.scene_fraction:
        return _scene_entries(index, rng, config, out_dir)
    commands = sample_commands(rng, config.combination_probability)
    texts = [caption(commands, rng) for _ in range(1 + config.alternative_captions)]
    texts = list(dict.fromkeys(_typed(t, rng, config.lowercase_fraction) for t in texts))
    sample_id = f"synthetic_{index:06d}"
    image_path = None
    if rng.random() < config.distractor_image_fraction:
        image_path = _write_scene_image(rng, config, out_dir, sample_id)
    return [_entry(sample_id, texts, commands, {}, image_path, config, out_dir)]


def _write_scene_image(
    rng: np.random.Generator, config: SyntheticDatasetConfig, out_dir: Path, stem: str
) -> str:
    """Render a random scene to ``images/<stem>.png``; returns the path in the index."""
    from PIL import Image

    from training.data.scene_samples import random_scene, render_head_camera

    image = render_head_camera(
        random_scene(int(rng.integers(2**31))), config.image_width, config.image_height
    )
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(out_dir / "images" / f"{stem}.png")
    return f"images/{stem}.png"


def _generate_star(args: tuple[int, SyntheticDatasetConfig, Path]) -> list[dict[str, Any]]:
    return generate_entries(*args)


def write_synthetic_dataset(
    out_dir: str | Path,
    config: SyntheticDatasetConfig,
    *,
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Generate ``config.num_samples`` draws into ``out_dir``; return the index path.

    ``workers > 1`` spreads the samples over processes; the result is identical.
    """
    out_dir = Path(out_dir)
    for folder in ("features", "joints"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    jobs = [(i, config, out_dir) for i in range(config.num_samples)]
    entries = map_records(_generate_star, jobs, workers=workers, chunksize=8,
                          desc="synthetic motion", unit="draw", progress=progress)  # fmt: skip
    (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    index = out_dir / "index.jsonl"
    write_jsonl_index(index, entries)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output dataset directory")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1) - 1))
    parser.add_argument(
        "--scene-fraction", type=float, default=0.0, help="fraction of samples with a scene image"
    )
    parser.add_argument("--combination-probability", type=float, default=0.25)
    parser.add_argument("--image-width", type=int, default=320)
    parser.add_argument("--image-height", type=int, default=240)
    parser.add_argument(
        "--tasks-per-scene", type=int, default=1, help="samples per rendered scene image"
    )
    parser.add_argument(
        "--mirror-scenes", action="store_true", help="add each scene mirrored (image flipped)"
    )
    parser.add_argument(
        "--lowercase-fraction", type=float, default=0.0,
        help="fraction of captions in lower case without a full stop",
    )  # fmt: skip
    parser.add_argument(
        "--distractor-image-fraction", type=float, default=0.0,
        help="fraction of commands naming no object that still carry a scene image",
    )  # fmt: skip
    parser.add_argument(
        "--grounding-scenes", type=int, default=0,
        help="also write grounding.jsonl: questions about every object of this many scenes",
    )  # fmt: skip
    parser.add_argument("--grounding-recolourings", type=int, default=1)
    parser.add_argument("--grounding-shape-swaps", type=int, default=1)
    parser.add_argument("--no-grounding-mirror", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    config = SyntheticDatasetConfig(
        num_samples=args.num_samples,
        seed=args.seed,
        scene_fraction=args.scene_fraction,
        combination_probability=args.combination_probability,
        image_width=args.image_width,
        image_height=args.image_height,
        tasks_per_scene=args.tasks_per_scene,
        mirror_scenes=args.mirror_scenes,
        lowercase_fraction=args.lowercase_fraction,
        distractor_image_fraction=args.distractor_image_fraction,
    )
    index = write_synthetic_dataset(
        args.out, config, workers=args.workers, progress=not args.no_progress
    )
    count = len(index.read_text().splitlines())
    print(f"wrote {count} samples from {config.num_samples} draws to {index}")
    if args.grounding_scenes:
        from training.data.grounding import GroundingConfig, write_grounding_dataset

        grounding = GroundingConfig(
            num_scenes=args.grounding_scenes,
            seed=args.seed,
            image_width=args.image_width,
            image_height=args.image_height,
            mirror=not args.no_grounding_mirror,
            recolourings=args.grounding_recolourings,
            shape_swaps=args.grounding_shape_swaps,
        )
        path = write_grounding_dataset(
            args.out, grounding, workers=args.workers, progress=not args.no_progress
        )
        questions = len(path.read_text().splitlines())
        print(f"wrote {questions} questions about {grounding.num_scenes} scenes to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
