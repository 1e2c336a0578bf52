"""Motion tokens in the text vocabulary: named Base and Phys codes plus M_BOS, M_SEP, M_EOS.

The DSFT tokenizer emits two integer streams, Base codes ``0 … B-1`` and Phys codes
``0 … P-1``. Each code becomes a named special token (``<|m_base_17|>``,
``<|m_phys_3|>``) added to the text tokenizer; their ids are whatever the tokenizer assigns
and are always looked up by name, never computed from an offset, so the map survives any
tokenizer whose vocabulary size differs. A motion is the token sequence

    M_BOS  b_1 … b_N  M_SEP  p_1 … p_M  M_EOS

The id map is saved with the checkpoint (``motion_tokens.json``) and checked against the
tokenizer when loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerBase

__all__ = [
    "M_BOS",
    "M_EOS",
    "M_SEP",
    "MotionTokenMap",
    "MotionVocabularyError",
    "ParsedMotion",
    "add_motion_tokens",
    "base_token",
    "phys_token",
]

M_BOS = "<|m_bos|>"
M_SEP = "<|m_sep|>"
M_EOS = "<|m_eos|>"


def base_token(code: int) -> str:
    return f"<|m_base_{code}|>"


def phys_token(code: int) -> str:
    return f"<|m_phys_{code}|>"


class MotionVocabularyError(ValueError):
    """The motion-token map and the tokenizer disagree, or a map file is malformed."""


@dataclass(frozen=True)
class ParsedMotion:
    """Codes read back from generated ids, with notes on anything that was not well-formed."""

    base_codes: np.ndarray
    phys_codes: np.ndarray
    well_formed: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MotionTokenMap:
    """Token ids of the motion vocabulary inside one text tokenizer."""

    base_ids: np.ndarray
    phys_ids: np.ndarray
    bos_id: int
    sep_id: int
    eos_id: int

    def __post_init__(self) -> None:
        all_ids = np.concatenate([self.base_ids, self.phys_ids, [self.bos_id, self.sep_id]])
        all_ids = np.append(all_ids, self.eos_id)
        if len(np.unique(all_ids)) != len(all_ids):
            raise MotionVocabularyError("motion token ids must be distinct")
        if all_ids.min() < 0:
            raise MotionVocabularyError("motion token ids must be non-negative")

    @property
    def base_vocab_size(self) -> int:
        return len(self.base_ids)

    @property
    def phys_vocab_size(self) -> int:
        return len(self.phys_ids)

    @property
    def max_id(self) -> int:
        return int(max(self.base_ids.max(), self.phys_ids.max(), self.bos_id, self.eos_id))

    def encode(self, base_codes: np.ndarray, phys_codes: np.ndarray) -> np.ndarray:
        """Codes -> the full id sequence ``[M_BOS, base…, M_SEP, phys…, M_EOS]``."""
        base = np.asarray(base_codes, dtype=np.int64)
        phys = np.asarray(phys_codes, dtype=np.int64)
        for name, codes, size in (
            ("base", base, self.base_vocab_size),
            ("phys", phys, self.phys_vocab_size),
        ):
            if codes.ndim != 1 or (codes.size and (codes.min() < 0 or codes.max() >= size)):
                raise MotionVocabularyError(f"{name} codes must be 1-D integers in [0, {size})")
        return np.concatenate(
            [[self.bos_id], self.base_ids[base], [self.sep_id], self.phys_ids[phys], [self.eos_id]]
        ).astype(np.int64)

    def parse(self, ids: np.ndarray) -> ParsedMotion:
        """Generated ids -> codes. Never raises: anything out of place is skipped with a note.

        Base codes are read up to M_SEP (or to the end when M_SEP is missing), Phys codes
        after it up to M_EOS; ids that belong to no motion token are dropped.
        """
        ids = np.asarray(ids, dtype=np.int64).ravel()
        notes: list[str] = []
        if ids.size == 0 or ids[0] != self.bos_id:
            notes.append("sequence does not start with M_BOS")
        eos_at = np.flatnonzero(ids == self.eos_id)
        if eos_at.size:
            ids = ids[: eos_at[0]]
        else:
            notes.append("sequence has no M_EOS (stopped early)")
        sep_at = np.flatnonzero(ids == self.sep_id)
        if sep_at.size:
            head, tail = ids[: sep_at[0]], ids[sep_at[0] + 1 :]
        else:
            notes.append("sequence has no M_SEP; no Phys codes")
            head, tail = ids, ids[:0]
        base_lookup = {int(token): code for code, token in enumerate(self.base_ids)}
        phys_lookup = {int(token): code for code, token in enumerate(self.phys_ids)}
        base = [base_lookup[int(t)] for t in head if int(t) in base_lookup]
        phys = [phys_lookup[int(t)] for t in tail if int(t) in phys_lookup]
        stray = len(head) - len(base) - int(head.size > 0 and head[0] == self.bos_id)
        stray += len(tail) - len(phys)
        if stray:
            notes.append(f"dropped {stray} token(s) that are not codes of their stream")
        return ParsedMotion(
            base_codes=np.asarray(base, dtype=np.int64),
            phys_codes=np.asarray(phys, dtype=np.int64),
            well_formed=not notes,
            notes=notes,
        )

    def check_against(self, tokenizer: PreTrainedTokenizerBase) -> None:
        """Raise unless every motion token name resolves to the stored id in ``tokenizer``."""
        expected = _lookup(tokenizer, self.base_vocab_size, self.phys_vocab_size)
        if expected != self:
            raise MotionVocabularyError(
                "motion-token map does not match the tokenizer (was it saved with another one?)"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MotionTokenMap):
            return NotImplemented
        return (
            np.array_equal(self.base_ids, other.base_ids)
            and np.array_equal(self.phys_ids, other.phys_ids)
            and (self.bos_id, self.sep_id, self.eos_id)
            == (other.bos_id, other.sep_id, other.eos_id)
        )

    __hash__ = None  # type: ignore[assignment]

    def to_json(self, path: str | Path) -> None:
        data = {
            "base_ids": self.base_ids.tolist(),
            "phys_ids": self.phys_ids.tolist(),
            "bos_id": self.bos_id,
            "sep_id": self.sep_id,
            "eos_id": self.eos_id,
        }
        Path(path).write_text(json.dumps(data) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> MotionTokenMap:
        try:
            data = json.loads(Path(path).read_text())
            return cls(
                base_ids=np.asarray(data["base_ids"], dtype=np.int64),
                phys_ids=np.asarray(data["phys_ids"], dtype=np.int64),
                bos_id=int(data["bos_id"]),
                sep_id=int(data["sep_id"]),
                eos_id=int(data["eos_id"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise MotionVocabularyError(f"{path}: malformed motion-token map ({error})") from error


def _lookup(tokenizer: PreTrainedTokenizerBase, base_size: int, phys_size: int) -> MotionTokenMap:
    names = [base_token(i) for i in range(base_size)] + [phys_token(i) for i in range(phys_size)]
    names += [M_BOS, M_SEP, M_EOS]
    ids = tokenizer.convert_tokens_to_ids(names)
    unknown = [
        n for n, i in zip(names, ids, strict=True) if i is None or i == tokenizer.unk_token_id
    ]
    if unknown:
        raise MotionVocabularyError(f"tokenizer lacks motion tokens, e.g. {unknown[:3]}")
    ids = np.asarray(ids, dtype=np.int64)
    return MotionTokenMap(
        base_ids=ids[:base_size],
        phys_ids=ids[base_size : base_size + phys_size],
        bos_id=int(ids[-3]),
        sep_id=int(ids[-2]),
        eos_id=int(ids[-1]),
    )


def add_motion_tokens(
    tokenizer: PreTrainedTokenizerBase, base_vocab_size: int, phys_vocab_size: int
) -> MotionTokenMap:
    """Add the motion vocabulary to ``tokenizer`` (in place; a no-op when already there)."""
    if base_vocab_size <= 0 or phys_vocab_size <= 0:
        raise MotionVocabularyError("motion vocabulary sizes must be positive")
    names = [base_token(i) for i in range(base_vocab_size)]
    names += [phys_token(i) for i in range(phys_vocab_size)]
    names += [M_BOS, M_SEP, M_EOS]
    # Special tokens are never split by the BPE and are skipped when decoding text.
    tokenizer.add_tokens(names, special_tokens=True)
    return _lookup(tokenizer, base_vocab_size, phys_vocab_size)
