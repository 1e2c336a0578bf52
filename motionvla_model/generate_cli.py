"""Command line: generate a motion from a checkpoint, or write a tiny checkpoint.

    motionvla-generate --model CKPT --text "walk forward" [--image scene.png]
        [--duration 4] [--seed 0] [--temperature 0] [--top-p 1] [--out motion.npz]
    motionvla-generate --write-tiny DIR [--family qwen3_5]

The first form prints one JSON line (stop reason, frames, timings, notes, repairs) and,
with ``--out``, saves ``joints [T,22,3]``, ``features [T,263]``, ``fps`` and the token
streams to an ``.npz`` file. The second writes a randomly initialised tiny model (real
Qwen3.5 vocabulary, DSFT tokenizer trained on synthetic motion) that the ROS nodes and
tests can load like a trained checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .backbone import BackboneLoadError
from .configuration import BACKBONE_FAMILIES, ConfigurationError
from .images import InvalidImageError
from .modeling import CheckpointError, MotionVLA, build_tiny_motionvla
from .prompt import InvalidCommandError

__all__ = ["main"]


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image)
    except (OSError, UnidentifiedImageError) as error:
        raise InvalidImageError(f"cannot read image {path}: {error}") from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motionvla-generate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="MotionVLA checkpoint folder")
    parser.add_argument("--text", help="the command, e.g. 'walk forward and wave'")
    parser.add_argument("--image", type=Path, help="scene image (PNG/JPEG; RGB, gray or RGBA)")
    parser.add_argument("--duration", type=float, default=None, help="motion length in seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, help="write the motion to this .npz file")
    parser.add_argument("--write-tiny", type=Path, metavar="DIR", help="write a tiny checkpoint")
    parser.add_argument("--family", default="qwen3_5", choices=BACKBONE_FAMILIES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.write_tiny is not None:
        build_tiny_motionvla(family=args.family).save_pretrained(args.write_tiny)
        print(json.dumps({"written": str(args.write_tiny), "family": args.family}))
        return 0
    if args.model is None or args.text is None:
        parser.error("--model and --text are required (or --write-tiny DIR)")
    try:
        model = MotionVLA.from_pretrained(args.model, device=args.device)
        image = _read_image(args.image) if args.image is not None else None
        motion = model.generate(
            args.text,
            image=image,
            duration_s=args.duration,
            seed=args.seed,
            temperature=args.temperature,
            top_p=args.top_p,
        )
    except (
        BackboneLoadError,
        CheckpointError,
        ConfigurationError,
        InvalidCommandError,
        InvalidImageError,
    ) as error:
        print(f"motionvla-generate: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if args.out is not None:
        np.savez(
            args.out,
            joints=motion.joints,
            features=motion.features,
            fps=motion.fps,
            base_tokens=motion.base_tokens,
            phys_tokens=motion.phys_tokens,
        )
    summary = {
        "text": motion.text,
        "stop_reason": motion.stop_reason,
        "well_formed": motion.well_formed,
        "frames": motion.num_frames,
        "fps": motion.fps,
        "timings_ms": {k: round(v, 1) for k, v in motion.timings.items()},
        "notes": motion.notes,
        "repairs": motion.repairs,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
