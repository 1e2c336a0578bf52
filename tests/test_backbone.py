"""Backbones built from random weights: the Gated DeltaNet layers must carry context."""

from __future__ import annotations

import math

import pytest
import torch

from motionvla_model.backbone import init_linear_attention_memory
from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.modeling import MotionVLA, build_tiny_motionvla, tiny_dsft_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _first_layer_output(model, command: str) -> torch.Tensor:
    """The input of the second layer at the prompt's last token (after one DeltaNet layer)."""
    batch = model.prepare([command])
    with torch.no_grad():
        out = model.backbone(
            **batch.model_kwargs(model.device, model.dtype), output_hidden_states=True
        )
    return out.hidden_states[1][0, -1]


def _relative_change(model) -> float:
    red = _first_layer_output(model, "walk to the red box")
    blue = _first_layer_output(model, "walk to the blue box")
    return float((red - blue).norm() / red.norm())


def test_a_built_model_reads_the_command_through_its_linear_attention_layer():
    model = build_tiny_motionvla(family="qwen3_5")
    # The colour word is 5 tokens before the last prompt token; its effect must arrive.
    assert _relative_change(model) > 1e-3


def test_the_stock_initialisation_forgets_the_command_and_ours_does_not():
    model = build_tiny_motionvla(family="qwen3_5")
    layers = [m for m in model.backbone.modules() if hasattr(m, "dt_bias")]
    # A seeded draw: with the tiny model's few heads, an unlucky one (A < 0.1) would keep
    # some memory by chance and the comparison would depend on the test order.
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # transformers' own initialisation of these two parameters
        for layer in layers:
            layer.dt_bias.fill_(1.0)
            a = torch.empty(layer.A_log.shape).uniform_(0.01, 16, generator=generator)
            layer.A_log.copy_(a.log())
    # Decay e^{-A softplus(1)} per token: with A ~ U(0.01, 16) the word is forgotten.
    forgetful = _relative_change(model)
    assert init_linear_attention_memory(model.backbone, torch.Generator().manual_seed(0)) == len(
        layers
    )
    assert _relative_change(model) > 100 * forgetful


def test_time_steps_and_decay_rates_lie_in_the_mamba2_ranges():
    model = MotionVLA.build(MotionVLAConfig(), tiny_dsft_tokenizer(), num_layers=4)
    layers = [m for m in model.backbone.modules() if hasattr(m, "dt_bias")]
    assert len(layers) == 2  # the hybrid pattern: linear, full, linear, full
    for layer in layers:
        dt = torch.nn.functional.softplus(layer.dt_bias.detach())
        assert ((dt > 1e-3 * (1 - 1e-4)) & (dt < 1e-1 * (1 + 1e-4))).all()
        a = layer.A_log.detach().exp()
        assert ((a >= 1.0 - 1e-5) & (a <= 16.0 + 1e-5)).all()
        assert math.isfinite(float(dt.sum()))


def test_models_without_linear_attention_are_left_alone():
    model = build_tiny_motionvla(family="qwen3_vl")
    assert init_linear_attention_memory(model.backbone, torch.Generator()) == 0


def _scene_image(seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    image = np.full((96, 128, 3), 90, dtype=np.uint8)
    top, left = rng.integers(0, 60), rng.integers(0, 90)
    image[top : top + 30, left : left + 30] = rng.integers(0, 255, 3)
    return image


def _image_tokens(model, seeds) -> torch.Tensor:
    batch = model.prepare(["where is it?"] * len(seeds), [_scene_image(s) for s in seeds])
    kwargs = batch.model_kwargs(model.device, model.dtype)
    per_image = model.backbone.model.get_image_features(
        kwargs["pixel_values"], kwargs["image_grid_thw"]
    ).pooler_output
    return torch.cat(per_image)


def test_image_token_norm_standardises_and_its_statistics_follow_the_tower_only_when_it_trains():
    config = MotionVLAConfig(image_token_norm=True)
    model = MotionVLA.build(config, tiny_dsft_tokenizer(), num_layers=2, dtype="float32")
    norm = model.backbone.model.visual.token_norm
    model.backbone.train()
    tokens = _image_tokens(model, range(4))
    # While the tower trains: each channel of the batch's tokens has mean 0 (nothing shared by
    # every token is left) and variance 1, less what the epsilon takes from channels that a
    # random tower barely varies.
    assert tokens.mean(0).abs().max() < 1e-4
    variance = tokens.var(0, unbiased=False)
    assert variance.max() < 1 + 1e-4 and variance.mean() > 0.5
    assert norm.running_mean.abs().sum() > 0  # the running statistics moved
    frozen_mean = norm.running_mean.clone()
    norm.requires_grad_(False)  # a frozen tower: running statistics, which stay put
    _image_tokens(model, range(4, 8))
    assert torch.equal(norm.running_mean, frozen_mean)
    model.backbone.eval()
    one = _image_tokens(model, [11])
    assert torch.equal(one, _image_tokens(model, [11]))  # inference does not depend on a batch
    plain = MotionVLA.build(MotionVLAConfig(), tiny_dsft_tokenizer(), num_layers=2, dtype="float32")
    assert not hasattr(plain.backbone.model.visual, "token_norm")
