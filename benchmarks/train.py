"""Training throughput of phase 1 and phase 2, and whether a short run learns.

Runs :func:`training.trainer.train_phase` (the real loop: accelerate, row-masked phase 1,
LoRA phase 2) on fixed data: smooth synthetic feature clips tokenised by a small DSFT
tokenizer, with captions. Reports optimizer steps and samples per second per phase with
the motion-vocabulary loss, the same for the full-vocabulary loss as the baseline peer
(``full_over_motion_*``: how many times slower the full softmax is), and ``loss_drop``:
first minus last loss of a phase 2 run that repeats one batch.

``--device cuda`` uses a randomly initialised model with the shape of Qwen3.5-2B in bf16.

    .venv/bin/python benchmarks/train.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.modeling import MotionVLA, build_tiny_motionvla, synthetic_smooth_features
from training.config import PhaseConfig, phase1_defaults, phase2_defaults
from training.sft_data import TokenizedSample, sft_record
from training.trainer import train_phase

CAPTIONS = ("walk forward two metres", "turn left", "wave with the right hand", "jump twice")


def fixed_records(model: MotionVLA, count: int) -> list[dict]:
    clips = synthetic_smooth_features(num_clips=count, num_frames=60, seed=1)
    tokens = model.dsft.encode_batch(clips)
    return [
        sft_record(
            TokenizedSample(
                f"clip{i}", CAPTIONS[i % len(CAPTIONS)], t.base.tolist(), t.phys.tolist(), 60
            )
        )
        for i, t in enumerate(tokens)
    ]


def large_model(device: str) -> MotionVLA:
    """Qwen3.5-2B-shaped backbone (random weights) with the motion vocabulary, bf16."""
    from motionvla_model.backbone import qwen3_5_2b_shaped_config
    from motionvla_model.modeling import _motion_tokenizer, _padded, _tiny_dsft, _with_vocab

    dsft = _tiny_dsft(0)
    tokenizer, token_map = _motion_tokenizer(dsft.base_vocab_size, dsft.phys_vocab_size)
    config = _with_vocab(MotionVLAConfig(), dsft, "qwen3_5-2b-shaped")
    backbone_config = qwen3_5_2b_shaped_config(_padded(len(tokenizer)))
    from transformers import Qwen3_5ForConditionalGeneration

    backbone = Qwen3_5ForConditionalGeneration._from_config(
        backbone_config, attn_implementation="sdpa", dtype=torch.bfloat16
    ).to(device)
    return MotionVLA(config, backbone, tokenizer, token_map, dsft)


def run(model_factory, records, config: PhaseConfig, out: str) -> dict:
    model = model_factory()
    result = train_phase(
        model, records, config, out, progress=False, save_model=False, final_checkpoint=False
    )
    return {
        "steps_per_s": result.steps_per_second,
        "samples_per_s": result.steps_per_second * config.batch_size,
        "losses": result.losses,
        "loss_drop": result.losses[0] - result.losses[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few steps (< 60 s on a CPU)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    torch.manual_seed(0)
    steps = 3 if args.quick else 20
    batch = 2 if args.quick else 4
    if args.device == "cuda":

        def factory() -> MotionVLA:
            return large_model("cuda")

        precision = "bf16"
    else:

        def factory() -> MotionVLA:
            return build_tiny_motionvla()

        precision = "no"
    records = fixed_records(factory(), batch)
    results: dict[str, float | str | int] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, base in (("phase1", phase1_defaults()), ("phase2", phase2_defaults())):
            for vocabulary, label in (("motion", ""), ("full", "full_vocab_")):
                config = base.replace(
                    max_steps=steps if vocabulary == "motion" else 2,
                    batch_size=batch,
                    loss_vocabulary=vocabulary,
                    mixed_precision=precision,
                    gradient_checkpointing=args.device == "cuda",
                )
                measured = run(factory, records, config, f"{tmp}/{name}-{vocabulary}")
                results[f"{name}_{label}steps_per_s"] = round(measured["steps_per_s"], 4)
                results[f"{name}_{label}samples_per_s"] = round(measured["samples_per_s"], 3)
            results[f"full_over_motion_{name}"] = round(
                results[f"{name}_steps_per_s"]
                / max(results[f"{name}_full_vocab_steps_per_s"], 1e-9),
                2,
            )
        # One batch repeated: a working loop must fit it.
        fit = phase2_defaults().replace(
            max_steps=steps * 2, batch_size=batch, learning_rate=5e-3, scheduler="constant",
            warmup_ratio=0.0, loss_vocabulary="motion", mixed_precision=precision,
        )  # fmt: skip
        measured = run(factory, records, fit, f"{tmp}/fit")
        results["loss_first"] = round(measured["losses"][0], 4)
        results["loss_last"] = round(measured["losses"][-1], 4)
        results["loss_drop"] = round(measured["loss_drop"], 4)
    results |= {
        "device": args.device,
        "quick": args.quick,
        "batch_size": batch,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "torch": torch.__version__,
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
