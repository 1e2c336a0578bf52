"""Training options, SFT record format and the command-line flags: fast checks, no model."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from training.config import PhaseConfig, TrainingConfigError, load_phase_config, phase1_defaults
from training.sft_data import SFTRecordError, motion_string, parse_motion_string, read_sft_records
from training.tokenize_dataset import held_out


def test_defaults_follow_the_published_recipe():
    one, two = phase1_defaults(), load_phase_config("phase2")
    assert (one.learning_rate, one.max_steps) == (1e-3, 500)
    assert (two.learning_rate, two.scheduler, two.warmup_ratio, two.epochs) == (
        2e-4,
        "cosine",
        0.03,
        3.0,
    )
    assert (two.lora_r, two.lora_alpha, two.vision) == (32, 64, "frozen")


@pytest.mark.parametrize(
    "changes",
    [
        {"learning_rate": 0.0},
        {"scheduler": "exponential"},
        {"mixed_precision": "fp8"},
        {"batch_size": 0},
        {"warmup_ratio": 1.0},
        {"vision": "half"},
        {"loss_vocabulary": "text"},
        {"max_steps": 0, "epochs": 0.0},
        {"weight_decay": -0.1},
        {"language_model": "half"},
        {"language_model": "full", "vision": "lora"},
    ],
)
def test_bad_options_raise_typed_errors(changes):
    with pytest.raises(TrainingConfigError):
        PhaseConfig(**changes)


def test_yaml_sections_and_flag_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("phase1:\n  max_steps: 7\nphase2:\n  learning_rate: 0.001\n  batch_size: 2\n")
    assert load_phase_config("phase1", path).max_steps == 7
    two = load_phase_config("phase2", path, batch_size=6, epochs=None)
    assert (two.learning_rate, two.batch_size, two.epochs) == (1e-3, 6, 3.0)
    path.write_text("learning_rat: 0.1\n")
    with pytest.raises(TrainingConfigError, match="learning_rat"):
        load_phase_config("phase2", path)


def test_every_option_is_a_command_line_flag():
    import argparse

    from training.cli import _add_phase_flags

    parser = argparse.ArgumentParser()
    _add_phase_flags(parser)
    args = parser.parse_args(["--learning-rate", "0.01", "--gradient-checkpointing"])
    assert args.learning_rate == 0.01 and args.gradient_checkpointing is True
    names = {f.name for f in fields(PhaseConfig)} - {"phase"}
    assert names <= set(vars(args))


def test_motion_string_round_trip_and_errors():
    text = motion_string([3, 1, 4], [1, 5])
    base, phys = parse_motion_string(text)
    assert base.tolist() == [3, 1, 4] and phys.tolist() == [1, 5]
    for bad in (
        text.replace("<|m_sep|>", ""),
        text + "<|m_eos|>",
        "hello " + text,
        text.replace("<|m_base_1|>", "<|m_phys_1|>"),
    ):
        with pytest.raises(SFTRecordError):
            parse_motion_string(bad)


def test_record_files_report_their_problems(tmp_path):
    with pytest.raises(SFTRecordError, match="not found"):
        read_sft_records(tmp_path / "missing.jsonl")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n{not json\n')
    with pytest.raises(SFTRecordError, match=":2"):
        read_sft_records(path)


def test_held_out_split_is_stable_and_near_its_fraction():
    ids = [f"clip_{i}" for i in range(2000)]
    chosen = np.array([held_out(i, 0.1) for i in ids])
    assert 0.07 < chosen.mean() < 0.13
    assert [held_out(i, 0.1) for i in ids] == chosen.tolist()
    assert held_out("clip_7#2", 0.5) == held_out("clip_7", 0.5)  # captions stay with their clip
