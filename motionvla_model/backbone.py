"""Backbone families: which transformers classes, image geometry and tiny test configs.

A backbone is a Hugging Face causal model of a Qwen family. The vision-language families
differ only in their classes and in how an image becomes tokens: Qwen3.5 and Qwen3-VL cut
16-px patches normalised with mean = std = 0.5, Qwen2.5-VL 14-px patches with the CLIP
statistics; all merge 2×2 patches into one LLM token, so a 224×224 image is
``(224/16)² / 4 = 49`` tokens for Qwen3.5. Weights come only from a local directory
(``local_files_only``); :func:`tiny_backbone_config` builds the same architecture with a few
small layers for tests and for the bundled default.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

# Weights and tokenizers are read from local folders only; never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    PretrainedConfig,
    PreTrainedModel,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen3_5Config,
    Qwen3_5ForConditionalGeneration,
    Qwen3Config,
    Qwen3ForCausalLM,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
)

from .configuration import BACKBONE_FAMILIES, ConfigurationError
from .text_tokenizer import QWEN3_5_FIRST_SPECIAL_ID, QWEN3_5_SPECIAL_TOKENS

__all__ = [
    "BackboneFamily",
    "BackboneLoadError",
    "ImageTokenNorm",
    "attach_image_token_norm",
    "get_family",
    "init_linear_attention_memory",
    "load_backbone",
    "qwen3_5_2b_shaped_config",
    "text_config_of",
    "tiny_backbone_config",
]

_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_HALF = (0.5, 0.5, 0.5)


class BackboneLoadError(RuntimeError):
    """A backbone directory is missing, incomplete or of an unsupported architecture."""


@dataclass(frozen=True)
class BackboneFamily:
    """One supported architecture and its image geometry."""

    name: str
    config_class: type[PretrainedConfig]
    model_class: type[PreTrainedModel]
    patch_size: int = 16
    merge_size: int = 2
    temporal_patch_size: int = 2
    image_mean: tuple[float, float, float] = _HALF
    image_std: tuple[float, float, float] = _HALF

    @property
    def multimodal(self) -> bool:
        return self.name != "qwen3"

    @property
    def pixels_per_image_token(self) -> int:
        """Side length, in pixels, of the square one merged image token covers."""
        return self.patch_size * self.merge_size


_FAMILIES = {
    family.name: family
    for family in (
        BackboneFamily("qwen3_5", Qwen3_5Config, Qwen3_5ForConditionalGeneration),
        BackboneFamily("qwen3_vl", Qwen3VLConfig, Qwen3VLForConditionalGeneration),
        BackboneFamily(
            "qwen2_5_vl",
            Qwen2_5_VLConfig,
            Qwen2_5_VLForConditionalGeneration,
            patch_size=14,
            image_mean=_CLIP_MEAN,
            image_std=_CLIP_STD,
        ),
        BackboneFamily("qwen3", Qwen3Config, Qwen3ForCausalLM),
    )
}
assert tuple(_FAMILIES) == BACKBONE_FAMILIES

# A Hugging Face ``model_type`` equals the family name for every supported family.
_MODEL_TYPE_TO_FAMILY = {name: name for name in BACKBONE_FAMILIES}


def get_family(name: str) -> BackboneFamily:
    try:
        return _FAMILIES[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown backbone family {name!r}; supported: {BACKBONE_FAMILIES}"
        ) from None


def _special_id(token: str) -> int:
    return QWEN3_5_FIRST_SPECIAL_ID + QWEN3_5_SPECIAL_TOKENS.index(token)


def _vision_token_ids() -> dict[str, int]:
    # The tiny configs share the real Qwen3.5 vocabulary, so image token ids are its ids.
    return {
        "image_token_id": _special_id("<|image_pad|>"),
        "video_token_id": _special_id("<|video_pad|>"),
        "vision_start_token_id": _special_id("<|vision_start|>"),
        "vision_end_token_id": _special_id("<|vision_end|>"),
    }


def tiny_backbone_config(
    family: str, vocab_size: int, *, hidden_size: int = 64, num_layers: int = 2
) -> PretrainedConfig:
    """A few-layer, small-width config of ``family`` (random init builds in well under 1 s).

    Rotary sections are scaled with the head size so M-RoPE splits positions over
    (time, height, width) exactly as the full model does.
    """
    get_family(family)
    heads, kv_heads = 4, 2
    pad = _special_id("<|endoftext|>")
    text = {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "max_position_embeddings": 4096,
        "pad_token_id": pad,
        "eos_token_id": pad,
    }
    vision = {
        "depth": 1,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
    }
    if family == "qwen3":
        return Qwen3Config(**text, head_dim=hidden_size // heads, tie_word_embeddings=True)
    if family == "qwen3_5":
        head_dim = 2 * hidden_size // heads
        text |= {
            "head_dim": head_dim,
            "linear_key_head_dim": hidden_size // heads,
            "linear_value_head_dim": hidden_size // heads,
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            # One Gated DeltaNet layer and one full-attention layer: the hybrid pattern.
            "layer_types": ["linear_attention", "full_attention"] * (num_layers // 2)
            + ["linear_attention"] * (num_layers % 2),
            "rope_parameters": _mrope(head_dim // 4, partial_rotary_factor=0.25),
        }
        return Qwen3_5Config(
            text_config=text,
            vision_config=vision | {"num_position_embeddings": 256},
            tie_word_embeddings=True,
            **_vision_token_ids(),
        )
    head_dim = hidden_size // heads
    text["rope_parameters"] = _mrope(head_dim)
    if family == "qwen3_vl":
        return Qwen3VLConfig(
            text_config=text | {"head_dim": head_dim},
            vision_config=vision
            | {"num_position_embeddings": 256, "deepstack_visual_indexes": [0]},
            tie_word_embeddings=True,
            **_vision_token_ids(),
        )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision | {"fullatt_block_indexes": [0], "window_size": 56},
        tie_word_embeddings=True,
        **_vision_token_ids(),
    )


def _mrope(rotary_dim: int, partial_rotary_factor: float | None = None) -> dict:
    """Rotary parameters whose M-RoPE sections (t, h, w) cover ``rotary_dim // 2`` pairs."""
    pairs = rotary_dim // 2
    section = [pairs - 2 * (pairs // 4), pairs // 4, pairs // 4]
    params = {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": section}
    if partial_rotary_factor is not None:
        params["partial_rotary_factor"] = partial_rotary_factor
        params["mrope_interleaved"] = True
    return params


def qwen3_5_2b_shaped_config(vocab_size: int) -> Qwen3_5Config:
    """A config with the layer count and widths of Qwen3.5-2B (random weights, no download).

    Used to measure generation speed on a GPU at the size the published results use.
    """
    text = {
        "vocab_size": vocab_size,
        "hidden_size": 2048,
        "intermediate_size": 6144,
        "num_hidden_layers": 24,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "head_dim": 256,
        "linear_key_head_dim": 128,
        "linear_value_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 16,
        "rope_parameters": _mrope(64, partial_rotary_factor=0.25) | {"mrope_section": [11, 11, 10]},
    }
    vision = {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "out_hidden_size": 2048,
    }
    return Qwen3_5Config(
        text_config=text, vision_config=vision, tie_word_embeddings=True, **_vision_token_ids()
    )


def init_linear_attention_memory(backbone: torch.nn.Module, generator: torch.Generator) -> int:
    r"""Give the Gated DeltaNet layers of a randomly initialised backbone a long memory.

    A Gated DeltaNet layer keeps a state that decays by :math:`e^{g_t}` per token, with
    :math:`g_t = -A \cdot \mathrm{softplus}(a_t + b)`, :math:`A` per head and :math:`b` the
    ``dt_bias``. transformers initialises :math:`A \sim U(0.01, 16)` and :math:`b = 1`, so
    :math:`\mathrm{softplus}(b) \approx 1.3` and a typical head forgets by :math:`e^{-10}`
    per token: in a model trained from scratch the layer sees only its own token (measured:
    changing a word of the command changed the next layer's input by exactly 0). That init
    is never seen by a pretrained checkpoint, whose trained values replace it. The Mamba-2
    initialisation used here draws the time step :math:`\Delta = \mathrm{softplus}(b)`
    log-uniformly in :math:`[10^{-3}, 10^{-1}]` and :math:`A \sim U(1, 16)`, so the
    per-token decay :math:`A \Delta` lies in :math:`[10^{-3}, 1.6]` and the state spans
    from a few to thousands of tokens. Returns the number of layers re-initialised.
    """
    layers = [m for m in backbone.modules() if hasattr(m, "dt_bias") and hasattr(m, "A_log")]
    for layer in layers:
        heads = layer.dt_bias.numel()
        log_dt = torch.empty(heads).uniform_(math.log(1e-3), math.log(1e-1), generator=generator)
        dt = log_dt.exp()
        with torch.no_grad():
            # b = softplus^-1(dt) = dt + log(1 - exp(-dt))
            layer.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
            layer.A_log.copy_(torch.empty(heads).uniform_(1.0, 16.0, generator=generator).log())
    return len(layers)


def text_config_of(config: PretrainedConfig) -> PretrainedConfig:
    """The language-model part of a (possibly composite) config."""
    return config.get_text_config()


def load_backbone(
    path: str | os.PathLike, *, dtype: torch.dtype, attn_implementation: str
) -> tuple[str, PreTrainedModel]:
    """``(family, model)`` from a local directory (config.json + safetensors), never a hub."""
    directory = Path(path)
    if not (directory / "config.json").is_file():
        raise BackboneLoadError(f"{directory} has no config.json; expected a local model folder")
    config = AutoConfig.from_pretrained(directory, local_files_only=True)
    family = _MODEL_TYPE_TO_FAMILY.get(config.model_type)
    if family is None:
        raise BackboneLoadError(
            f"{directory}: model_type {config.model_type!r} is not supported; "
            f"supported: {sorted(_MODEL_TYPE_TO_FAMILY)}"
        )
    model = get_family(family).model_class.from_pretrained(
        directory,
        local_files_only=True,
        dtype=dtype,
        attn_implementation=attn_implementation,
        use_safetensors=True,
    )
    return family, model


class ImageTokenNorm(nn.BatchNorm1d):
    r"""Standardises each channel of the image tokens the vision tower hands the language model.

    With ``v_{i,c}`` the tokens of a batch (all images, ``i``) and ``c`` a channel,

    .. math:: \hat v_{i,c} = \gamma_c \, (v_{i,c} - \mu_c) / \sqrt{\sigma_c^2 + \epsilon} + \beta_c

    with ``μ, σ²`` the batch's statistics while the tower trains and their running averages
    otherwise (inference, or a frozen tower: its tokens then never drift with the batch).

    Why: a vision tower trained from scratch together with the language model drifts to a
    near-constant output (the default model's varied 0.4 % between scenes), and a language
    model cannot look a named object up among tokens that are nearly all the same vector:
    trained on "where is the <object>?" with the tokens as they come, a tiny Qwen3.5 stayed
    at chance after 1,500 steps, while with this standardisation the same run found the
    object (bearing median error 7° after 1,250 steps; docs/training.md). Subtracting the
    mean removes the component every token shares; dividing by the deviation keeps the
    part that differs between tokens, and so between objects, at a fixed scale. Meant for
    backbones trained from random weights: a pretrained tower's tokens are already what
    its language model reads.
    """

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        use_batch = self.training and self.weight.requires_grad and tokens.shape[0] > 1
        return F.batch_norm(
            tokens, self.running_mean, self.running_var, self.weight, self.bias,
            use_batch, self.momentum, self.eps,
        )  # fmt: skip


def attach_image_token_norm(backbone: PreTrainedModel) -> ImageTokenNorm:
    """Put an :class:`ImageTokenNorm` after the vision tower's merger of ``backbone``.

    It becomes the tower's submodule ``token_norm`` (so it moves, trains and freezes with
    the tower) and runs as a forward hook on the merger, whose output it replaces.
    """
    visual = getattr(getattr(backbone, "model", None), "visual", None)
    merger = getattr(visual, "merger", None)
    if merger is None:
        raise BackboneLoadError(
            f"{type(backbone).__name__} has no vision merger to normalise the image tokens of"
        )
    width = text_config_of(backbone.config).hidden_size
    norm = ImageTokenNorm(width).to(device=backbone.device, dtype=backbone.dtype)
    visual.add_module("token_norm", norm)

    def normalise(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise TypeError(f"the vision merger returned {type(output).__name__}, not tokens")
        return norm(output)

    merger.register_forward_hook(normalise)
    return norm
