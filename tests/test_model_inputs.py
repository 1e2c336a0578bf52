"""Prompt and image inputs: every accepted image kind, every bad input, training examples."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionvla_model.backbone import get_family
from motionvla_model.configuration import ConfigurationError, MotionVLAConfig
from motionvla_model.images import ImagePreprocessor, InvalidImageError
from motionvla_model.modeling import build_tiny_motionvla
from motionvla_model.prompt import (
    InvalidCommandError,
    build_inputs,
    build_training_example,
    clean_command,
)

IMAGE_PAD_ID = 248056


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    return build_tiny_motionvla(family="qwen3_5")


def _scene(height=224, width=224, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("family", "tokens"), [("qwen3_5", 49), ("qwen3_vl", 49), ("qwen2_5_vl", 64)]
)
def test_224_square_image_token_counts(family, tokens):
    prepared = ImagePreprocessor(get_family(family), MotionVLAConfig(family=family))([_scene()])
    assert prepared.tokens_per_image == [tokens]
    patch = get_family(family).patch_size
    assert prepared.pixel_values.shape == (tokens * 4, 3 * 2 * patch * patch)


def test_every_accepted_image_kind_gives_the_same_patches_as_rgb():
    pre = ImagePreprocessor(get_family("qwen3_5"), MotionVLAConfig())
    gray = _scene()[:, :, 0]
    as_rgb = pre([np.repeat(gray[:, :, None], 3, axis=2)]).pixel_values
    for kind in (gray, gray[:, :, None]):
        out = pre([kind])
        torch.testing.assert_close(out.pixel_values, as_rgb)
        assert "grayscale image repeated to three channels" in out.notes
    rgb = _scene()
    opaque = np.concatenate([rgb, np.full((224, 224, 1), 255, np.uint8)], axis=2)
    torch.testing.assert_close(pre([opaque]).pixel_values, pre([rgb]).pixel_values)
    transparent = opaque.copy()
    transparent[..., 3] = 0  # fully transparent -> white
    white = np.full_like(rgb, 255)
    torch.testing.assert_close(pre([transparent]).pixel_values, pre([white]).pixel_values)
    as_float = rgb.astype(np.float32) / 255.0
    torch.testing.assert_close(pre([as_float]).pixel_values, pre([rgb]).pixel_values)


def test_large_and_odd_images_are_resized_within_the_pixel_budget():
    config = MotionVLAConfig()
    pre = ImagePreprocessor(get_family("qwen3_5"), config)
    big = np.zeros((8000, 8000, 3), np.uint8)
    out = pre([big])
    max_tokens = config.max_image_pixels // (32 * 32)
    assert out.tokens_per_image[0] <= max_tokens
    assert any("downscaled" in note for note in out.notes)
    odd = pre([_scene(37, 501)])  # not a multiple of the patch size, wide
    assert odd.tokens_per_image[0] >= 1
    t, h, w = odd.image_grid_thw[0].tolist()
    assert t == 1 and w > h


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((1, 1, 3), np.uint8), "each side"),
        (np.zeros((20, 2000, 3), np.uint8), "aspect ratio"),
        (np.zeros((64, 64, 3), np.int32), "dtype"),
        (np.zeros((64, 64, 5), np.uint8), "shape"),
        (np.zeros((2, 64, 64, 3), np.uint8), "shape"),
        (np.full((64, 64, 3), np.nan, np.float32), "NaN"),
        (np.full((64, 64, 3), 2.0, np.float32), r"\[0, 1\]"),
        ([[0, 1], [2, 3]], "numpy array"),
    ],
)
def test_bad_images_raise_a_typed_error(image, message):
    pre = ImagePreprocessor(get_family("qwen3_5"), MotionVLAConfig())
    with pytest.raises(InvalidImageError, match=message):
        pre([image])


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        (b"walk \xff\xfe forward", "UTF-8"),
        ("walk \udc80", "surrogates"),
        (42, "str"),
        (None, "str"),
    ],
)
def test_bad_commands_raise_a_typed_error(command, message):
    with pytest.raises(InvalidCommandError, match=message):
        clean_command(command, 2000)


def test_command_cleaning_and_truncation():
    assert clean_command("  walk\x00 forward \r\n", 100) == (
        "walk forward",
        ["control or private-use characters replaced by spaces"],
    )
    assert clean_command(b"wave", 100)[0] == "wave"
    text, notes = clean_command("go " * 40_000, 2000)  # ~120 KB
    assert len(text) == 2000 and "truncated" in notes[0]


def test_prompt_layout_and_mm_token_types(model):
    batch = model.prepare(["walk forward", "wave"], [_scene(), None])
    ids, mask, types = batch.input_ids, batch.attention_mask, batch.mm_token_type_ids
    # Left padding: the shorter (image-less) row is padded at the start.
    assert mask[0].all() and not mask[1, 0]
    assert (ids[0] == IMAGE_PAD_ID).sum() == 49 and (ids[1] == IMAGE_PAD_ID).sum() == 0
    torch.testing.assert_close(types, (ids == IMAGE_PAD_ID).int())
    text = model.tokenizer.decode(ids[0][mask[0].bool()])
    assert text.startswith("<|im_start|>user\n<|vision_start|><|image_pad|>")
    assert text.endswith("<|vision_end|>walk forward<|im_end|>\n<|im_start|>assistant\n")
    assert batch.image_grid_thw.tolist() == [[1, 14, 14]]
    assert batch.texts == ["walk forward", "wave"]


def test_a_100_kb_command_is_truncated_with_a_note(model):
    batch = model.prepare(["walk " * 20_000])
    assert any("truncated" in note for note in batch.notes[0])
    assert batch.input_ids.shape[1] < 1000  # 2000 characters of prompt at most


def test_bad_input_is_named_by_row(model):
    with pytest.raises(InvalidCommandError, match="command 1"):
        model.prepare(["walk", ""])
    with pytest.raises(InvalidImageError, match="image 0"):
        model.prepare(["walk"], [np.zeros((1, 1), np.uint8)])
    with pytest.raises(ConfigurationError):
        model.generate("walk", duration_s=0.0)
    with pytest.raises(ConfigurationError):
        model.generate("walk", duration_s=float("nan"))


def test_training_example_matches_inference_prompt(model):
    base, phys = np.array([1, 2, 3]), np.array([4, 5])
    example = build_training_example(
        model.tokenizer,
        model.config,
        model.token_map,
        "jump twice",
        base,
        phys,
        image=_scene(),
        image_preprocessor=model.image_preprocessor,
    )
    prompt = build_inputs(
        model.tokenizer, model.config, ["jump twice"], [_scene()], model.image_preprocessor
    )
    n = prompt.input_ids.shape[1]
    torch.testing.assert_close(example.input_ids[:n], prompt.input_ids[0])
    assert (example.labels[:n] == -100).all()
    target = torch.from_numpy(model.token_map.encode(base, phys))
    torch.testing.assert_close(example.input_ids[n:], target)
    torch.testing.assert_close(example.labels[n:], target)
    assert example.mm_token_type_ids.sum() == 49 and example.pixel_values is not None
    # The example trains: a forward pass with labels gives a finite loss.
    out = model.backbone(
        input_ids=example.input_ids[None],
        attention_mask=example.attention_mask[None],
        mm_token_type_ids=example.mm_token_type_ids[None],
        pixel_values=example.pixel_values,
        image_grid_thw=example.image_grid_thw,
        labels=example.labels[None],
    )
    assert torch.isfinite(out.loss)
