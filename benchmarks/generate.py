"""Generation speed and well-formedness of MotionVLA.

    .venv/bin/python benchmarks/generate.py [--quick] [--device cpu|cuda|auto]
        [--family qwen3_5] [--runs N] [--compare-unmasked]

Builds a tiny random-weight MotionVLA (real Qwen3.5 vocabulary, real DSFT tokenizer trained
on synthetic smooth motion) and measures, for a 4-second motion with a 224×224 scene image:
first-token latency, decode throughput (tokens per second after the first token), and
end-to-end latency (p50 over the runs). Every sequence generated with the phase mask is
checked for well-formedness (``mask_violations`` must be 0). ``--compare-unmasked``
generates the same prompts without the mask and reports how many sequences are then
ill-formed. With ``--device cuda`` it also builds a Qwen3.5-2B-shaped backbone (random
weights, config in code) and compares eager decoding with a static KV cache +
``torch.compile``. The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from tqdm import tqdm

from motionvla_model.backbone import qwen3_5_2b_shaped_config
from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.modeling import MotionVLA, build_tiny_motionvla, tiny_dsft_tokenizer

DURATION_S = 4.0
COMMANDS = ("walk forward and wave", "turn left", "pick up the box", "sit down", "jump twice")


def _scene(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(224, 224, 3), dtype=np.uint8)


def _measure(model: MotionVLA, runs: int, label: str, compile: bool = False) -> dict:
    """p50 timings over ``runs`` greedy 4-second generations, after one warm-up."""
    model.compile = compile
    model.generate(COMMANDS[0], image=_scene(0), duration_s=DURATION_S)
    first, total, rates, violations = [], [], [], 0
    for run in tqdm(range(runs), desc=label, leave=False):
        motion = model.generate(
            COMMANDS[run % len(COMMANDS)], image=_scene(run), duration_s=DURATION_S
        )
        violations += not motion.well_formed
        first.append(motion.timings["first_token_ms"])
        total.append(motion.timings["total_ms"])
        steps = len(motion.token_ids) - 1
        decode_s = (motion.timings["generate_ms"] - motion.timings["first_token_ms"]) / 1e3
        rates.append(steps / decode_s if decode_s > 0 else float("nan"))
    return {
        "first_token_ms": float(np.median(first)),
        "latency_ms_for_4s_motion": float(np.median(total)),
        "tokens_per_second": float(np.median(rates)),
        "runs": runs,
        "mask_violations": violations,
    }


def _sampling_check(model: MotionVLA, samples: int, masked: bool) -> tuple[int, float]:
    """Ill-formed count among ``samples`` sampled sequences (temperature 1, top-p 0.95),
    and the decode rate in tokens per second."""
    (_, base_max), (_, phys_max) = model.stream_bounds(DURATION_S)
    ill_formed, tokens, seconds = 0, 0, 0.0
    for seed in tqdm(range(samples), desc="masked" if masked else "unmasked", leave=False):
        motion = model.generate(
            COMMANDS[seed % len(COMMANDS)],
            image=_scene(seed),
            duration_s=DURATION_S,
            seed=seed,
            temperature=1.0,
            top_p=0.95,
            phase_mask=masked,
            max_new_tokens=base_max + phys_max + 3,
        )
        ill_formed += not motion.well_formed
        tokens += len(motion.token_ids)
        seconds += motion.timings["generate_ms"] / 1e3
    return ill_formed, tokens / seconds


def _gpu_2b(runs: int) -> dict:
    """Qwen3.5-2B-shaped backbone in bfloat16: eager decoding vs static cache + compile."""
    dsft = tiny_dsft_tokenizer(0)
    tiny = build_tiny_motionvla(dsft)
    vocab = tiny.backbone.get_input_embeddings().num_embeddings
    with torch.device("cuda"):
        backbone = type(tiny.backbone)._from_config(
            qwen3_5_2b_shaped_config(vocab), dtype=torch.bfloat16, attn_implementation="sdpa"
        )
    model = MotionVLA(
        MotionVLAConfig(backbone_reference="qwen3_5-2b-shaped-random"),
        backbone,
        tiny.tokenizer,
        tiny.token_map,
        dsft,
    )
    eager = _measure(model, runs, "2B eager")
    compiled = _measure(model, runs, "2B static+compile", compile=True)
    return {
        "params": model.num_parameters,
        "dtype": "bfloat16",
        "eager": eager,
        "static_cache_compile": compiled,
        "compile_speedup_tokens_per_second": compiled["tokens_per_second"]
        / eager["tokens_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="finish in under a minute on CPU")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--family", default="qwen3_5")
    parser.add_argument("--runs", type=int, default=None, help="timed runs (at least 10)")
    parser.add_argument("--compare-unmasked", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (1 by default: a tiny model is bound by per-op overhead, "
        "and extra threads only add synchronisation, badly so on a shared machine)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = max(10, args.runs or (10 if args.quick else 30))
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    if device == "auto":
        device = "cpu"

    start = time.perf_counter()
    model = build_tiny_motionvla(family=args.family)
    model.backbone.to(device)
    build_s = time.perf_counter() - start
    result = {
        "benchmark": "generate",
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "backbone": f"tiny-{args.family} (random weights, real Qwen3.5 vocabulary)",
        "params": model.num_parameters,
        "build_s": build_s,
        "duration_s": DURATION_S,
        "stream_bounds": model.stream_bounds(DURATION_S),
    }
    result |= _measure(model, runs, "tiny")
    samples = 4 if args.quick else 20
    violations, masked_rate = _sampling_check(model, samples, masked=True)
    result["mask_violations"] += violations
    result["sequences_checked"] = runs + samples
    if args.compare_unmasked:
        ill_formed, unmasked_rate = _sampling_check(model, samples, masked=False)
        result["ill_formed_rate_unmasked"] = ill_formed / samples
        result["ill_formed_rate_masked"] = violations / samples
        # Sampling throughput with the mask relative to the same sampling without it.
        result["masked_vs_unmasked_tokens_per_second"] = masked_rate / unmasked_rate
    if device == "cuda":
        result["qwen3_5_2b_shaped"] = _gpu_2b(runs)
    result["wall_s"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
