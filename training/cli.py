"""Command lines: ``motionvla-train tokenizer|phase1|phase2|default`` and ``motionvla-eval``.

Every :class:`~training.config.PhaseConfig` field is a flag (``--learning-rate``,
``--max-steps``, ``--mixed-precision``, ``--gradient-checkpointing``, …); ``--config`` reads
the same names (with underscores) from a YAML mapping, optionally split into ``phase1:`` and
``phase2:`` sections, and flags override the file. Multi-GPU / multi-node runs start the
same command under ``accelerate launch`` or ``torchrun``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

__all__ = ["eval_main", "train_main"]


def _add_phase_flags(parser: argparse.ArgumentParser) -> None:
    from training.config import PhaseConfig

    group = parser.add_argument_group("training options (override --config)")
    for spec in fields(PhaseConfig):
        if spec.name == "phase":
            continue
        flag = "--" + spec.name.replace("_", "-")
        if spec.type in ("bool", bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            kind = {"int": int, "float": float, "str": str}[str(spec.type)]
            group.add_argument(flag, type=kind, default=None)


def _add_default_model_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per scalar field of the recipe; unset flags keep the recipe's values."""
    from training.default_model import DefaultModelConfig

    group = parser.add_argument_group("recipe (defaults: the shipped model's)")
    for spec in fields(DefaultModelConfig):
        flag = "--" + spec.name.replace("_", "-")
        if spec.type in ("bool", bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif str(spec.type) in ("int", "float"):
            kind = {"int": int, "float": float}[str(spec.type)]
            group.add_argument(flag, type=kind, default=None, help=f"default {spec.default}")


def _phase_overrides(args: argparse.Namespace) -> dict:
    from training.config import PhaseConfig

    return {f.name: getattr(args, f.name) for f in fields(PhaseConfig) if f.name != "phase"}


def _load_model(args: argparse.Namespace):
    from motionvla_model.configuration import MotionVLAConfig
    from motionvla_model.dsft import DSFTTokenizer
    from motionvla_model.modeling import CONFIG_FILE, MotionVLA

    source = Path(args.model) if args.model != "tiny" else None
    if source is not None and (source / CONFIG_FILE).is_file():
        return MotionVLA.from_pretrained(source, device=args.device, dtype="float32")
    if args.dsft is None:
        raise SystemExit("--dsft is needed to start from a backbone or the tiny model")
    dsft = DSFTTokenizer.from_pretrained(args.dsft)
    config = MotionVLAConfig(
        family=args.family,
        plan_targets=_plan_targets(args.plan_targets),
        image_token_norm=bool(args.image_token_norm),
        **({"max_image_pixels": args.max_image_pixels} if args.max_image_pixels else {}),
    )
    if source is None:
        return MotionVLA.build(
            config,
            dsft,
            seed=args.seed or 0,
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            device=args.device if args.device != "auto" else "cpu",
            dtype="float32",
        )
    from transformers import AutoConfig

    # A backbone folder says which family it is; the other settings come from the flags.
    family = AutoConfig.from_pretrained(source, local_files_only=True).model_type
    return MotionVLA.from_backbone(
        source, dsft, replace(config, family=family), device=args.device, dtype="float32"
    )


def _plan_targets(value: str | None) -> tuple[str, ...]:
    """``--plan-targets``: ``scene`` (every label of the simulator's scenes) or a
    comma-separated list of labels; none: the model answers with motion only."""
    if not value:
        return ()
    if value == "scene":
        from sim.scene import OBJECT_LABELS

        return OBJECT_LABELS
    return tuple(label.strip() for label in value.split(",") if label.strip())


def _cmd_tokenizer(args: argparse.Namespace) -> int:
    from motionvla_model.dsft import DSFTConfig
    from training.tokenize_dataset import build_sft_files, load_motion_samples, train_dsft

    samples = load_motion_samples(args.data)
    config = DSFTConfig(
        base_vocab_size=args.base_vocab_size,
        phys_vocab_size=args.phys_vocab_size,
        window_frames=args.window_frames,
    )
    out = Path(args.out)
    tokenizer = train_dsft(samples, config, out / "dsft", progress=not args.no_progress)
    train, evaluation = build_sft_files(
        samples, out / "dsft", out / "sft", eval_fraction=args.eval_fraction,
        workers=args.workers, progress=not args.no_progress,
    )  # fmt: skip
    print(
        json.dumps(
            {
                "dsft": str(out / "dsft"),
                "sft_train": str(train),
                "sft_eval": str(evaluation),
                "base_vocab_size": tokenizer.base_vocab_size,
                "phys_vocab_size": tokenizer.phys_vocab_size,
                "tokens_per_second": tokenizer.tokens_per_second,
            }
        )
    )
    return 0


def _cmd_phase(args: argparse.Namespace) -> int:
    from training.config import load_phase_config
    from training.sft_data import read_sft_records
    from training.trainer import train_phase

    config = load_phase_config(args.command, args.config, **_phase_overrides(args))
    model = _load_model(args)
    records = [record for path in args.train for record in read_sft_records(path)]
    result = train_phase(
        model,
        records,
        config,
        args.out,
        eval_records=read_sft_records(args.eval) if args.eval else (),
        resume_from=args.resume,
        progress=not args.no_progress,
    )
    print(
        json.dumps({"model": str(result.model_dir), "steps": result.steps, "evals": result.evals})
    )
    return 0


def _cmd_default(args: argparse.Namespace) -> int:
    from training.default_model import DefaultModelConfig, build_default_model

    given = {
        f.name: getattr(args, f.name)
        for f in fields(DefaultModelConfig)
        if getattr(args, f.name, None) is not None
    }
    config = DefaultModelConfig(**given)
    if args.phase1_steps is not None or args.phase2_steps is not None:
        config = replace(
            config,
            phase1=config.phase1.replace(max_steps=args.phase1_steps or config.phase1.max_steps),
            phase2=config.phase2.replace(max_steps=args.phase2_steps or config.phase2.max_steps),
        )
    model_dir = build_default_model(
        config, args.out, evaluate=not args.no_eval, progress=not args.no_progress
    )
    print(json.dumps({"model": str(model_dir)}))
    return 0


def train_main(argv: list[str] | None = None) -> int:
    """``motionvla-train``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="motionvla-train", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    workers = max(1, (os.cpu_count() or 1) - 1)

    tok = commands.add_parser("tokenizer", help="train the DSFT tokenizer and write SFT records")
    sources = "index .jsonl/.json, humanml3d:<root>[:split] or bvh:<folder>"
    tok.add_argument("--data", nargs="+", required=True, help=sources)
    tok.add_argument("--out", required=True, help="writes <out>/dsft and <out>/sft/*.jsonl")
    tok.add_argument("--base-vocab-size", type=int, default=4096)
    tok.add_argument("--phys-vocab-size", type=int, default=4096)
    tok.add_argument("--window-frames", type=int, default=20)
    tok.add_argument("--eval-fraction", type=float, default=0.05)
    tok.add_argument("--workers", type=int, default=workers)
    tok.set_defaults(run=_cmd_tokenizer)

    for phase, help_text in (
        ("phase1", "train the motion-token rows of the embedding and LM head"),
        ("phase2", "LoRA SFT of the language model"),
    ):
        sub = commands.add_parser(phase, help=help_text)
        start = "MotionVLA folder, a local Qwen backbone folder, or 'tiny'"
        sub.add_argument("--model", required=True, help=start)
        sub.add_argument("--dsft", help="DSFT folder (for a backbone or 'tiny')")
        sub.add_argument(
            "--train", required=True, nargs="+",
            help="SFT record files (sft_train.jsonl, grounding.jsonl, ...), used together",
        )  # fmt: skip
        sub.add_argument("--eval", help="held-out SFT records")
        sub.add_argument("--out", required=True)
        sub.add_argument("--config", help="YAML file of training options")
        sub.add_argument("--resume", help="checkpoint folder, or 'latest'")
        sub.add_argument("--device", default="auto")
        sub.add_argument("--family", default="qwen3_5", help="family of the 'tiny' model")
        sub.add_argument("--hidden-size", type=int, default=64, help="width of the 'tiny' model")
        sub.add_argument("--num-layers", type=int, default=2, help="layers of the 'tiny' model")
        sub.add_argument(
            "--plan-targets",
            help="a new model writes grounded plans naming these objects: 'scene' (every "
            "object label of the simulator's scenes) or 'red box,green ball,...'",
        )
        sub.add_argument(
            "--image-token-norm", action="store_true",
            help="a new model standardises its image tokens (for random-weight backbones)",
        )  # fmt: skip
        sub.add_argument("--max-image-pixels", type=int, help="a new model's image budget")
        _add_phase_flags(sub)
        sub.set_defaults(run=_cmd_phase)

    default = commands.add_parser("default", help="build the bundled default model end to end")
    default.add_argument("--out", help="output folder (default: the default-model cache)")
    _add_default_model_flags(default)
    default.add_argument("--phase1-steps", type=int, help="phase 1 optimizer steps")
    default.add_argument("--phase2-steps", type=int, help="phase 2 optimizer steps")
    default.add_argument("--no-eval", action="store_true")
    default.set_defaults(run=_cmd_default)
    for sub in commands.choices.values():
        sub.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return args.run(args)


def _t2m_evaluator(args: argparse.Namespace, parser: argparse.ArgumentParser):
    from training.t2m_evaluator import EvaluatorFileError, T2MEvaluator, release_paths

    explicit = {
        "checkpoint": args.t2m_checkpoint, "mean": args.t2m_mean, "std": args.t2m_std,
        "glove_dir": args.t2m_glove,
    }  # fmt: skip
    paths = release_paths(args.t2m_evaluator) if args.t2m_evaluator else {}
    paths |= {name: path for name, path in explicit.items() if path is not None}
    if len(paths) < len(explicit):
        parser.error("--t2m-evaluator DIR, or all of --t2m-checkpoint/-mean/-std/-glove, needed")
    try:
        return T2MEvaluator.from_files(**paths, device=args.device)
    except EvaluatorFileError as error:  # missing files included: a message, not a trace
        raise SystemExit(f"motionvla-eval: {error}") from None


def eval_main(argv: list[str] | None = None) -> int:
    """``motionvla-eval``: score a model on a dataset index and/or the HumanML3D benchmark;
    JSON report + printed tables."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="motionvla-eval", description=eval_main.__doc__)
    parser.add_argument("--model", required=True, help="MotionVLA checkpoint folder")
    parser.add_argument("--data", help="dataset index (.jsonl) to evaluate on")
    parser.add_argument("--out", help="write the JSON report here")
    parser.add_argument("--max-samples", type=int)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-progress", action="store_true")
    t2m = parser.add_argument_group(
        "HumanML3D benchmark (R-precision, FID, ...) with the text-to-motion evaluator "
        "of Guo et al. 2022; see docs/t2m_evaluation.md"
    )
    t2m.add_argument("--t2m-data", help="HumanML3D root folder to run the benchmark on")
    t2m.add_argument("--t2m-split", default="test")
    t2m.add_argument("--t2m-evaluator", help="folder laid out like the evaluator release")
    t2m.add_argument("--t2m-checkpoint", help="text_mot_match finest.tar (overrides the folder)")
    t2m.add_argument("--t2m-mean", help="evaluator mean.npy (overrides the folder)")
    t2m.add_argument("--t2m-std", help="evaluator std.npy (overrides the folder)")
    t2m.add_argument("--t2m-glove", help="folder of our_vab_*.npy/pkl (overrides the folder)")
    t2m.add_argument("--mm-repeats", type=int, default=0, help="generations per MM caption")
    t2m.add_argument("--mm-samples", type=int, default=100, help="captions for MultiModality")
    t2m.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    t2m_files = (args.t2m_evaluator, args.t2m_checkpoint, args.t2m_mean, args.t2m_std)
    if args.t2m_data is None and any(f is not None for f in (*t2m_files, args.t2m_glove)):
        parser.error("the --t2m-* evaluator files need --t2m-data, the HumanML3D root to score")
    if args.data is None and args.t2m_data is None:
        parser.error("--data (a dataset index) or --t2m-data (a HumanML3D root) is needed")

    from motionvla_model.modeling import MotionVLA
    from training.evaluate import evaluate_model, format_table, write_report

    evaluator = _t2m_evaluator(args, parser) if args.t2m_data else None
    model = MotionVLA.from_pretrained(args.model, device=args.device)
    report: dict = {}
    if args.data:
        report = evaluate_model(
            model, args.data, max_samples=args.max_samples, batch_size=args.batch_size,
            progress=not args.no_progress,
        )  # fmt: skip
        print(format_table(report), file=sys.stderr)
    if evaluator is not None:
        from training.t2m_benchmark import BenchmarkConfig, format_benchmark_table, run_benchmark

        config = BenchmarkConfig(
            split=args.t2m_split, max_samples=args.max_samples, batch_size=args.batch_size,
            mm_repeats=args.mm_repeats, mm_samples=args.mm_samples, seed=args.seed,
        )  # fmt: skip
        report["t2m"] = run_benchmark(
            model, evaluator, args.t2m_data, config, progress=not args.no_progress
        )
        print(format_benchmark_table(report["t2m"]), file=sys.stderr)
    if args.out:
        write_report(report, args.out)
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())
