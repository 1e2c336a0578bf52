"""Write a synthetic captioned motion dataset: random commands → motion → features + index.

Sample ``i`` of a dataset with seed ``s`` is drawn from ``numpy.random.default_rng([s,
i])``, so the dataset is the same whatever the number of worker processes. The output
directory is a ViMoGen-style JSONL dataset that
:class:`~training.data.vimogen.JsonlMotionDataset` reads back::

    out/
      index.jsonl                 one entry per sample (see below)
      features/<id>.npy           float32 [T-1, 263] HumanML3D features (20 fps)
      joints/<id>.npy             float32 [T, 22, 3] the generated joints (m, Y up)
      images/<id>.png             head-camera image (scene-conditioned samples only)

Each entry holds ``id``, ``text`` (the training caption), ``captions`` (other
phrasings of the same command), ``motion_path``, ``joints_path``, ``image_path`` (or
null), ``fps`` and ``params``: the commands with their parameters, the pelvis
displacement and heading change achieved, and for scene samples the target object
and the scene, so evaluation can measure command fidelity.

Command line::

    python -m training.data.synthetic_dataset --out data/synthetic --num-samples 2000 \\
        --seed 0 --workers 2 --scene-fraction 0.2
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from motionvla_model.features import joints_to_features
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
from training.data.synthetic_motion import synthesize
from training.data.vimogen import write_jsonl_index

__all__ = [
    "SyntheticDatasetConfig",
    "generate_entry",
    "main",
    "sample_commands",
    "write_synthetic_dataset",
]


@dataclass(frozen=True)
class SyntheticDatasetConfig:
    """What to generate. ``scene_fraction`` of the samples are scene-conditioned."""

    num_samples: int = 1000
    seed: int = 0
    fps: float = 20.0
    combination_probability: float = 0.25
    scene_fraction: float = 0.0
    image_size: int = 224
    alternative_captions: int = 3

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.fps != 20.0:
            raise ValueError("features follow HumanML3D at 20 fps; fps must be 20")
        for name in ("combination_probability", "scene_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if not 64 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in [64, 1024], got {self.image_size}")
        if self.alternative_captions < 0:
            raise ValueError("alternative_captions must be >= 0")


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


def generate_entry(index: int, config: SyntheticDatasetConfig, out_dir: Path) -> dict[str, Any]:
    """Generate sample ``index``, write its arrays (and image) and return its index entry."""
    rng = np.random.default_rng([config.seed, index])
    sample_id = f"synthetic_{index:06d}"
    params: dict[str, Any] = {}
    image_path = None
    if rng.random() < config.scene_fraction:
        from training.data.scene_samples import (
            plan_scene_task,
            random_scene,
            render_head_camera,
            scene_captions,
        )

        scene = random_scene(int(rng.integers(2**31)))
        task = plan_scene_task(scene, rng)
        commands = list(task.commands)
        options = scene_captions(task.action, task.target["label"])
        order = rng.permutation(len(options))
        texts = [options[k][0].upper() + options[k][1:] + "." for k in order]
        params["scene_task"] = task.params()
        params["scene"] = scene.to_dict()
        image_path = f"images/{sample_id}.png"
        render_head_camera(scene, out_dir / image_path, config.image_size)
    else:
        commands = sample_commands(rng, config.combination_probability)
        texts = [caption(commands, rng) for _ in range(1 + config.alternative_captions)]
        texts = list(dict.fromkeys(texts))
    clip = synthesize(commands, fps=config.fps)
    features = joints_to_features(clip.joints, clip.fps)
    np.save(out_dir / "features" / f"{sample_id}.npy", features.astype(np.float32))
    np.save(out_dir / "joints" / f"{sample_id}.npy", clip.joints.astype(np.float32))
    params["commands"] = [c.params() for c in commands]
    params.update(clip.meta)
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


def _generate_star(args: tuple[int, SyntheticDatasetConfig, Path]) -> dict[str, Any]:
    return generate_entry(*args)


def write_synthetic_dataset(
    out_dir: str | Path,
    config: SyntheticDatasetConfig,
    *,
    workers: int = 1,
    progress: bool = True,
) -> Path:
    """Generate ``config.num_samples`` samples into ``out_dir``; return the index path.

    ``workers > 1`` spreads the samples over processes; the result is identical.
    """
    out_dir = Path(out_dir)
    for folder in ("features", "joints"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    jobs = [(i, config, out_dir) for i in range(config.num_samples)]
    bar = tqdm(total=len(jobs), desc="synthetic motion", unit="clip", disable=not progress)
    entries: list[dict[str, Any]] = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for entry in pool.map(_generate_star, jobs, chunksize=8):
                entries.append(entry)
                bar.update()
    else:
        for job in jobs:
            entries.append(_generate_star(job))
            bar.update()
    bar.close()
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
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    config = SyntheticDatasetConfig(
        num_samples=args.num_samples,
        seed=args.seed,
        scene_fraction=args.scene_fraction,
        combination_probability=args.combination_probability,
        image_size=args.image_size,
    )
    index = write_synthetic_dataset(
        args.out, config, workers=args.workers, progress=not args.no_progress
    )
    print(f"wrote {config.num_samples} samples to {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
