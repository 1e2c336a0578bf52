"""``motionvla-dsft``: fit a DSFT tokenizer on feature clips, or round-trip one clip.

``motionvla-dsft train DIR a.npy b.npy ...`` fits the default configuration on ``[T, 263]``
feature files and saves it to ``DIR``; ``motionvla-dsft roundtrip DIR clip.npy`` encodes
and decodes one clip with the tokenizer in ``DIR`` and prints the token counts, the
repairs and (HumanML3D layout) the joint error as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from motionvla_model.dsft.tokenizer import DSFTTokenizer
from motionvla_model.motion.features import features_to_joints


def main(argv: Sequence[str] | None = None) -> int:
    """``motionvla-dsft {train,roundtrip} DIR clip.npy ...``."""
    parser = argparse.ArgumentParser(prog="motionvla-dsft", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fit a default tokenizer on [T, 263] .npy files")
    train.add_argument("directory", type=Path)
    train.add_argument("clips", type=Path, nargs="+")
    check = commands.add_parser("roundtrip", help="encode and decode one [T, 263] .npy clip")
    check.add_argument("directory", type=Path)
    check.add_argument("clip", type=Path)
    args = parser.parse_args(argv)

    if args.command == "train":
        clips = [np.load(path, allow_pickle=False) for path in args.clips]
        tokenizer = DSFTTokenizer.train(clips, progress=True)
        tokenizer.save_pretrained(args.directory)
        print(
            f"saved to {args.directory}: vocabularies {tokenizer.base_vocab_size} / "
            f"{tokenizer.phys_vocab_size}, tokens per second {tokenizer.tokens_per_second}"
        )
        return 0
    tokenizer = DSFTTokenizer.from_pretrained(args.directory)
    features = np.load(args.clip, allow_pickle=False)
    tokens = tokenizer.encode(features)
    decoded = tokenizer.decode(tokens.base, tokens.phys)
    seconds = len(features) / tokenizer.config.fps
    report = {
        "frames": decoded.num_frames,
        "base_tokens": len(tokens.base),
        "phys_tokens": len(tokens.phys),
        "tokens_per_second": (len(tokens.base) + len(tokens.phys)) / seconds,
        "clamped": tokens.clamped,
        "repairs": decoded.repairs,
    }
    if tokenizer.layout.name == "humanml3d":
        error = features_to_joints(decoded.features) - features_to_joints(features)
        report["mpjpe_mm"] = float(np.linalg.norm(error, axis=-1).mean() * 1e3)
    print(json.dumps(report))
    return 0

