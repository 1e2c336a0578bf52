"""The grounded plan: its text, its token grammar on the real Qwen3.5 tokenizer, its mask."""

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionvla_model.logits import MotionPhaseLogitsProcessor
from motionvla_model.motion_vocab import MotionTokenMap
from motionvla_model.plan import PlanFormatError, PlanGrammar, ScenePlan
from motionvla_model.text_tokenizer import load_qwen3_5_tokenizer

TARGETS = tuple(
    f"{colour} {shape}"
    for colour in ("red", "green", "blue", "yellow", "orange", "purple", "white", "black")
    for shape in ("box", "ball", "cylinder", "chair")
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_qwen3_5_tokenizer()


@pytest.fixture(scope="module")
def grammar(tokenizer):
    return PlanGrammar(tokenizer, TARGETS)


def test_plan_text_round_trips_and_rounds():
    plan = ScenePlan("red box", 2.43, 30.4)
    assert plan.text() == "red box: 2.4 m, 30° left"
    assert ScenePlan.parse(plan.text()) == ScenePlan("red box", 2.4, 30.0)
    assert ScenePlan("green ball", 1.0, -7.6).text() == "green ball: 1.0 m, 8° right"
    assert ScenePlan("green ball", 1.0, -0.2).text() == "green ball: 1.0 m, 0° left"
    forward, left = ScenePlan("red box", 2.0, 90.0).ground_point()
    assert forward == pytest.approx(0.0, abs=1e-9) and left == pytest.approx(2.0)


@pytest.mark.parametrize(
    "text",
    ["red box 2.4 m, 30° left", "red box: 2.4m, 30° left", "Red box: 2.4 m, 30° left",
     "red box: 12.4 m, 30° left", "red box: 2.4 m, 030° left", "red box: 2.4 m, 30° up", ""],
)  # fmt: skip
def test_malformed_plan_texts_are_rejected(text):
    with pytest.raises(PlanFormatError):
        ScenePlan.parse(text)


def test_out_of_range_plans_are_rejected():
    for bad in (("red box", -0.1, 0.0), ("red box", 10.0, 0.0), ("red box", 1.0, 181.0),
                ("red box", float("nan"), 0.0), ("Red Box", 1.0, 0.0)):  # fmt: skip
        with pytest.raises(PlanFormatError):
            ScenePlan(*bad)


@settings(max_examples=30, deadline=None)
@given(
    target=st.sampled_from(TARGETS),
    distance=st.floats(0.0, 9.949),
    bearing=st.floats(-180.0, 180.0),
)
def test_canonical_ids_are_the_tokenizers_and_every_prefix_is_allowed(
    tokenizer, grammar, target, distance, bearing
):
    plan = ScenePlan(target, distance, bearing)
    ids = grammar.encode(plan)
    assert ids == tokenizer(plan.text(), add_special_tokens=False)["input_ids"]
    for k in range(len(ids)):
        allowed, complete = grammar.next_tokens(ids[:k])
        assert ids[k] in allowed and not complete
    assert grammar.next_tokens(ids) == (frozenset(), True)
    assert grammar.decode(ids, tokenizer) == ScenePlan.parse(plan.text())
    assert set(ids) <= grammar.vocabulary


def test_grammar_rejects_what_is_not_a_plan(tokenizer, grammar):
    ids = grammar.encode(ScenePlan("red box", 2.4, 0.0))
    # after the angle "0" only the degree sign may follow (no leading zero)
    allowed, _ = grammar.next_tokens(ids[:11])
    assert allowed == set(tokenizer("°", add_special_tokens=False)["input_ids"])
    assert grammar.next_tokens(ids + ids[:1]) == (frozenset(), False)
    unknown = tokenizer("pink box", add_special_tokens=False)["input_ids"]
    assert grammar.next_tokens(unknown) == (frozenset(), False)
    with pytest.raises(PlanFormatError, match="incomplete"):
        grammar.decode(ids[:-1], tokenizer)
    with pytest.raises(PlanFormatError, match="not one of"):
        grammar.encode(ScenePlan("pink box", 1.0, 0.0))
    with pytest.raises(PlanFormatError, match="prefix"):
        PlanGrammar(tokenizer, ("red", "red box"))


# The mask: a small vocabulary stands in for the motion tokens; the plan tokens are real.
MAP = MotionTokenMap(np.arange(248_300, 248_305), np.arange(248_305, 248_308), 248_308, 248_309,
                     248_310)  # fmt: skip
VOCAB, PROMPT, PAD = 248_320, 3, 0


def _allowed(grammar, generated):
    processor = MotionPhaseLogitsProcessor(MAP, PROMPT, (1, 3), (1, 3), PAD, plan_grammar=grammar)
    ids = torch.tensor([[1, 2, 3, *generated]])
    scores = processor(ids, torch.zeros(1, VOCAB))
    return set(torch.nonzero(torch.isfinite(scores[0])).flatten().tolist())


def test_mask_offers_a_plan_or_the_motion_first_and_follows_the_grammar(grammar):
    first_words = grammar.next_tokens([])[0]
    assert _allowed(grammar, []) == set(first_words) | {MAP.bos_id}
    ids = grammar.encode(ScenePlan("white chair", 1.6, -45.0))
    for k in range(1, len(ids)):
        assert _allowed(grammar, ids[:k]) == set(grammar.next_tokens(ids[:k])[0])
    assert _allowed(grammar, ids) == {MAP.bos_id}
    assert _allowed(grammar, [*ids, MAP.bos_id]) == set(MAP.base_ids.tolist())
    # without a grammar the motion starts at once, as before
    processor = MotionPhaseLogitsProcessor(MAP, PROMPT, (1, 3), (1, 3), PAD)
    scores = processor(torch.tensor([[1, 2, 3]]), torch.zeros(1, VOCAB))
    assert set(torch.nonzero(torch.isfinite(scores[0])).flatten().tolist()) == {MAP.bos_id}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_sampling_under_the_mask_always_gives_a_plan_then_a_motion(tokenizer, grammar, seed):
    processor = MotionPhaseLogitsProcessor(MAP, PROMPT, (1, 3), (1, 3), PAD, plan_grammar=grammar)
    generator = torch.Generator().manual_seed(seed)
    ids = torch.tensor([[1, 2, 3]])
    for _ in range(40):
        # the largest of random scores: a uniformly drawn allowed token
        token = processor(ids, torch.rand(1, VOCAB, generator=generator)).argmax(-1, keepdim=True)
        ids = torch.cat([ids, token], 1)
        if token.item() == MAP.eos_id:
            break
    generated = ids[0, PROMPT:].tolist()
    assert MAP.eos_id in generated
    bos = generated.index(MAP.bos_id)
    if bos:
        grammar.decode(generated[:bos], tokenizer)  # a whole, well-formed plan
    parsed = MAP.parse(np.array(generated[bos:]))
    assert parsed.well_formed
