"""Generation speed and well-formedness of MotionVLA.

    .venv/bin/python benchmarks/generate.py [--quick] [--device cpu|cuda|auto]
        [--family qwen3_5] [--runs N] [--compare-unmasked]

Builds a tiny random-weight MotionVLA (real Qwen3.5 vocabulary, real DSFT tokenizer trained
on synthetic smooth motion) and measures, for a 4-second motion with a 224×224 scene image:
first-token latency, decode throughput (tokens per second after the first token), and
end-to-end latency (p50 over the runs). Then the bundled default model (``default_model``)
answers scene commands ("walk to the <object>") about a rendered head-camera image with
its grounded plan and a 4-second motion: the latency a user waits for on one core.
Every sequence generated with the phase mask is checked for well-formedness
(``mask_violations`` must be 0). ``--compare-unmasked`` generates the same prompts
without the mask and reports how many sequences are then ill-formed. With ``--device
cuda`` it also builds a Qwen3.5-2B-shaped backbone (random weights, config in code) and
compares eager decoding with a static KV cache + ``torch.compile``. The last line of
output is one JSON object.
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
from motionvla_model.bundled import default_model_path
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


def _default_model_with_plans(runs: int) -> dict:
    """The bundled model on scene commands: grounded plan + 4-second motion, p50 latency."""
    from sim.scene import SceneDescription
    from training.data.scene_samples import render_head_camera

    model = MotionVLA.from_pretrained(default_model_path(), device="cpu")
    scenes = [SceneDescription.random(seed, num_objects=(2, 4)) for seed in range(runs)]
    images = [render_head_camera(scene, 320, 240) for scene in scenes]
    model.generate(f"walk to the {scenes[0].objects[0].label}", images[0], DURATION_S)
    total, plans = [], 0
    for run in tqdm(range(runs), desc="default model", leave=False):
        label = scenes[run].objects[0].label
        motion = model.generate(f"walk to the {label}", images[run], DURATION_S)
        total.append(motion.timings["total_ms"])
        plans += motion.plan is not None
    return {
        "path": str(default_model_path()),
        "params": model.num_parameters,
        "latency_ms_for_plan_and_4s_motion": float(np.median(total)),
        "plans_written": plans / runs,
        "runs": runs,
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
    if device == "cpu":
        result["default_model"] = _default_model_with_plans(runs)
    if device == "cuda":
        result["qwen3_5_2b_shaped"] = _gpu_2b(runs)
    result["wall_s"] = time.perf_counter() - start
    print(json.dumps(result))


if __name__ == "__main__":
    main()
