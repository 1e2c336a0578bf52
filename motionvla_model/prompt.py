"""Prompts: one user turn (image, then the command) and the motion tokens as the answer.

The rendered prompt for a command with an image is

    <|im_start|>user\\n<|vision_start|><|image_pad|>×N<|vision_end|>{command}<|im_end|>\\n
    <|im_start|>assistant\\n

where ``N`` is the image's token count after the 2×2 merge. Without an image the vision
block is absent. The same builder makes inference inputs (:func:`build_inputs`) and
training examples (:func:`build_training_example`, prompt + target with the prompt masked
out of the loss), so training and inference can never disagree on the format.

Commands are checked by :func:`clean_command`: bytes must be UTF-8, the text must contain
something printable, control characters become spaces, and text beyond
``max_command_chars`` characters is cut (with a note). The command is tokenised with special
tokens split into plain text, so typing ``<|image_pad|>`` or a motion-token name into a
command can never inject a real image or motion token.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from .configuration import MotionVLAConfig
from .images import ImagePreprocessor, InvalidImageError
from .motion_vocab import MotionTokenMap

__all__ = [
    "IGNORE_INDEX",
    "IMAGE_PAD",
    "InvalidCommandError",
    "PromptBatch",
    "TrainingExample",
    "build_answer_example",
    "build_inputs",
    "build_training_example",
    "clean_command",
]

IMAGE_PAD = "<|image_pad|>"
_TEXT_SLOT = "\ue000command\ue000"  # private-use characters: never in a real command
IGNORE_INDEX = -100


class InvalidCommandError(ValueError):
    """A text command is empty, not text, or not valid UTF-8."""


def clean_command(text: object, max_chars: int) -> tuple[str, list[str]]:
    """Validate and normalise one command; returns the text and notes on what changed."""
    notes: list[str] = []
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidCommandError(f"command bytes are not valid UTF-8 ({error})") from None
    if not isinstance(text, str):
        raise InvalidCommandError(f"command must be str or UTF-8 bytes, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidCommandError(f"command holds unpaired surrogates ({error})") from None
    text = unicodedata.normalize("NFC", text)
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch != "\n" else ch
        for ch in text
    )
    if cleaned != text:
        notes.append("control or private-use characters replaced by spaces")
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InvalidCommandError("command is empty (nothing but whitespace)")
    if len(cleaned) > max_chars:
        notes.append(f"command truncated from {len(cleaned)} to {max_chars} characters")
        cleaned = cleaned[:max_chars]
    return cleaned, notes


@dataclass
class PromptBatch:
    """Model inputs for a left-padded batch of prompts, plus per-row notes."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mm_token_type_ids: torch.Tensor | None = None
    pixel_values: torch.Tensor | None = None
    image_grid_thw: torch.Tensor | None = None
    texts: list[str] = field(default_factory=list)
    notes: list[list[str]] = field(default_factory=list)

    def model_kwargs(self, device: torch.device | str, dtype: torch.dtype) -> dict:
        """The keyword arguments ``generate``/``forward`` take, on ``device``."""
        kwargs = {
            "input_ids": self.input_ids.to(device),
            "attention_mask": self.attention_mask.to(device),
        }
        if self.mm_token_type_ids is not None:
            kwargs["mm_token_type_ids"] = self.mm_token_type_ids.to(device)
        if self.pixel_values is not None:
            kwargs["pixel_values"] = self.pixel_values.to(device=device, dtype=dtype)
            kwargs["image_grid_thw"] = self.image_grid_thw.to(device)
        return kwargs


def _prompt_ids(
    tokenizer: PreTrainedTokenizerBase, command: str, image_tokens: int | None
) -> list[int]:
    content: list[dict] = [{"type": "image"}] if image_tokens is not None else []
    content.append({"type": "text", "text": _TEXT_SLOT})
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
    before, after = rendered.split(_TEXT_SLOT)
    if image_tokens is not None:
        before = before.replace(IMAGE_PAD, IMAGE_PAD * image_tokens)

    def encode(text: str, split_special: bool) -> list[int]:
        return tokenizer(text, add_special_tokens=False, split_special_tokens=split_special)[
            "input_ids"
        ]

    return encode(before, False) + encode(command, True) + encode(after, False)


def build_inputs(
    tokenizer: PreTrainedTokenizerBase,
    config: MotionVLAConfig,
    commands: list[object],
    images: list[np.ndarray | None] | None = None,
    image_preprocessor: ImagePreprocessor | None = None,
) -> PromptBatch:
    """Tokenised, left-padded prompts for ``commands`` (each with an optional image).

    Raises :class:`InvalidCommandError` / :class:`InvalidImageError` naming the bad row.
    """
    if not commands:
        raise InvalidCommandError("no commands given")
    images = list(images) if images is not None else [None] * len(commands)
    if len(images) != len(commands):
        raise InvalidImageError(f"{len(commands)} commands but {len(images)} images")
    if any(image is not None for image in images) and image_preprocessor is None:
        raise InvalidImageError(f"backbone family {config.family!r} takes no images")
    rows, texts, notes = [], [], []
    pixel_values, grids = [], []
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_PAD)
    for index, (command, image) in enumerate(zip(commands, images, strict=True)):
        try:
            text, row_notes = clean_command(command, config.max_command_chars)
        except InvalidCommandError as error:
            raise InvalidCommandError(f"command {index}: {error}") from None
        image_tokens = None
        if image is not None:
            try:
                prepared = image_preprocessor([image])
            except InvalidImageError as error:
                raise InvalidImageError(f"image {index}: {error}") from None
            pixel_values.append(prepared.pixel_values)
            grids.append(prepared.image_grid_thw)
            image_tokens = prepared.tokens_per_image[0]
            row_notes += prepared.notes
        rows.append(_prompt_ids(tokenizer, text, image_tokens))
        texts.append(text)
        notes.append(row_notes)
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, width - len(row) :] = torch.tensor(row)
        attention_mask[index, width - len(row) :] = 1
    batch = PromptBatch(
        input_ids=input_ids, attention_mask=attention_mask, texts=texts, notes=notes
    )
    if config.multimodal:
        # M-RoPE needs to know which positions are image tokens (text 0, image 1).
        batch.mm_token_type_ids = ((input_ids == image_token_id) & (attention_mask == 1)).int()
    if pixel_values:
        batch.pixel_values = torch.cat(pixel_values)
        batch.image_grid_thw = torch.cat(grids)
    return batch


@dataclass
class TrainingExample:
    """One supervised example: the prompt followed by the answer tokens.

    ``labels`` is ``input_ids`` with the prompt positions set to -100, so only the answer
    (a grounded plan and/or the motion tokens M_BOS … M_EOS) carries loss.
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    attention_mask: torch.Tensor
    mm_token_type_ids: torch.Tensor | None
    pixel_values: torch.Tensor | None
    image_grid_thw: torch.Tensor | None
    notes: list[str]


def build_answer_example(
    tokenizer: PreTrainedTokenizerBase,
    config: MotionVLAConfig,
    command: object,
    answer_ids: Sequence[int],
    image: np.ndarray | None = None,
    image_preprocessor: ImagePreprocessor | None = None,
) -> TrainingExample:
    """Prompt (exactly as :func:`build_inputs` makes it) + ``answer_ids``, 1-D tensors."""
    if not len(answer_ids):
        raise ValueError("a training example needs at least one answer token")
    prompt = build_inputs(
        tokenizer, config, [command], None if image is None else [image], image_preprocessor
    )
    target = torch.as_tensor(np.asarray(answer_ids, dtype=np.int64))
    input_ids = torch.cat([prompt.input_ids[0], target])
    labels = torch.cat([torch.full_like(prompt.input_ids[0], IGNORE_INDEX), target])
    mm_types = None
    if prompt.mm_token_type_ids is not None:
        mm_types = torch.cat(
            [prompt.mm_token_type_ids[0], torch.zeros_like(target, dtype=torch.int)]
        )
    return TrainingExample(
        input_ids=input_ids,
        labels=labels,
        attention_mask=torch.ones_like(input_ids),
        mm_token_type_ids=mm_types,
        pixel_values=prompt.pixel_values,
        image_grid_thw=prompt.image_grid_thw,
        notes=prompt.notes[0],
    )


def build_training_example(
    tokenizer: PreTrainedTokenizerBase,
    config: MotionVLAConfig,
    token_map: MotionTokenMap,
    command: object,
    base_codes: np.ndarray,
    phys_codes: np.ndarray,
    image: np.ndarray | None = None,
    image_preprocessor: ImagePreprocessor | None = None,
    plan_ids: Sequence[int] = (),
) -> TrainingExample:
    """Prompt + ``plan_ids`` (a grounded plan's canonical ids, if any) + the motion tokens."""
    answer = [*plan_ids, *token_map.encode(base_codes, phys_codes).tolist()]
    return build_answer_example(tokenizer, config, command, answer, image, image_preprocessor)
