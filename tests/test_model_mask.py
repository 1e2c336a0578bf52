"""The phase-aware logit mask: every sampled sequence is well-formed, in every batch row."""

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionvla_model.logits import MotionPhaseLogitsProcessor
from motionvla_model.modeling import build_tiny_motionvla
from motionvla_model.motion_vocab import MotionTokenMap

# A small synthetic vocabulary: ids 0-9 text, 10-14 Base, 15-17 Phys, 18 BOS, 19 SEP, 20 EOS.
MAP = MotionTokenMap(np.arange(10, 15), np.arange(15, 18), 18, 19, 20)
PAD, VOCAB, PROMPT = 0, 24, 3


def _allowed(generated, base=(2, 3), phys=(1, 2)):
    processor = MotionPhaseLogitsProcessor(MAP, PROMPT, base, phys, PAD)
    ids = torch.tensor([[1, 2, 3, *generated]])
    scores = processor(ids, torch.zeros(1, VOCAB))
    return set(torch.nonzero(torch.isfinite(scores[0])).flatten().tolist())


BASE, PHYS = set(range(10, 15)), set(range(15, 18))


@pytest.mark.parametrize(
    ("generated", "expected"),
    [
        ([], {18}),
        ([18], BASE),
        ([18, 10], BASE),
        ([18, 10, 11], BASE | {19}),
        ([18, 10, 11, 12], {19}),
        ([18, 10, 11, 19], PHYS),
        ([18, 10, 11, 19, 15], PHYS | {20}),
        ([18, 10, 11, 19, 15, 16], {20}),
        ([18, 10, 11, 19, 15, 20], {PAD}),
        ([18, 10, 11, 19, 15, 20, PAD], {PAD}),
    ],
)
def test_each_phase_allows_exactly_its_tokens(generated, expected):
    assert _allowed(generated) == expected


def test_rows_of_a_batch_are_in_their_own_phase():
    processor = MotionPhaseLogitsProcessor(
        MAP, PROMPT, torch.tensor([[1, 1], [2, 4]]), torch.tensor([[1, 1], [1, 1]]), PAD
    )
    ids = torch.tensor([[1, 2, 3, 18, 10], [1, 2, 3, 18, 10]])
    scores = processor(ids, torch.zeros(2, VOCAB))
    assert set(torch.nonzero(torch.isfinite(scores[0])).flatten().tolist()) == {19}
    assert set(torch.nonzero(torch.isfinite(scores[1])).flatten().tolist()) == BASE


def test_invalid_bounds_and_small_vocabularies_are_rejected():
    with pytest.raises(ValueError, match="bounds"):
        MotionPhaseLogitsProcessor(MAP, PROMPT, (3, 2), (1, 1), PAD)
    with pytest.raises(ValueError, match="bounds"):
        MotionPhaseLogitsProcessor(MAP, PROMPT, (0, 2), (1, 1), PAD)
    processor = MotionPhaseLogitsProcessor(MAP, PROMPT, (1, 2), (1, 1), PAD)
    with pytest.raises(ValueError, match="logits"):
        processor(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 16))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    return build_tiny_motionvla(family="qwen3_5")


def _check_well_formed(model, motion, duration):
    (b_lo, b_hi), (p_lo, p_hi) = model.stream_bounds(duration)
    assert motion.stop_reason == "complete"
    assert motion.well_formed
    ids = motion.token_ids
    assert ids[0] == model.token_map.bos_id and ids[-1] == model.token_map.eos_id
    assert b_lo <= len(motion.base_tokens) <= b_hi and p_lo <= len(motion.phys_tokens) <= p_hi
    assert len(ids) == len(motion.base_tokens) + len(motion.phys_tokens) + 3


@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    temperature=st.floats(0.05, 5.0),
    top_p=st.floats(0.01, 1.0),
)
def test_sampling_always_gives_well_formed_sequences(model, seed, temperature, top_p):
    motion = model.generate(
        "walk in a circle", duration_s=1.0, seed=seed, temperature=temperature, top_p=top_p
    )
    _check_well_formed(model, motion, 1.0)
    assert np.isfinite(motion.joints).all()


def test_batch_rows_keep_their_own_lengths(model):
    durations = [0.5, 2.0]
    motions = model.generate_batch(
        ["step", "run forward"], durations_s=durations, seed=3, temperature=1.0
    )
    for motion, duration in zip(motions, durations, strict=True):
        _check_well_formed(model, motion, duration)


def test_without_the_mask_a_random_model_is_ill_formed(model):
    motions = model.generate_batch(
        ["walk", "jump"], durations_s=[1.0, 1.0], seed=0, phase_mask=False, max_new_tokens=12
    )
    assert not any(motion.well_formed for motion in motions)
    # Decoding still returns a finite motion and says what it repaired.
    for motion in motions:
        assert np.isfinite(motion.features).all() and motion.repairs
