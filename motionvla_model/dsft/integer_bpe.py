"""Byte-pair encoding of small-integer sequences with the ``tokenizers`` library.

Each integer symbol ``s`` in ``[0, num_symbols)`` becomes the character
``chr(SYMBOL_OFFSET + s)`` (a CJK code point, so no normaliser or pre-tokeniser ever
treats it as whitespace or punctuation). A BPE model trained on these strings merges
frequent runs (typically long runs of zero coefficients) into single tokens.

Token ids come from outside (a language model), so :meth:`IntegerBPE.decode` accepts
any integer sequence: ids outside the vocabulary are dropped and counted, never raised.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

import numpy as np
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

__all__ = ["MAX_SYMBOLS", "SYMBOL_OFFSET", "IntegerBPE", "as_token_ids"]

SYMBOL_OFFSET = 0x4E00
# Up to the start of the UTF-16 surrogate range: every symbol stays one code point.
MAX_SYMBOLS = 0xD800 - SYMBOL_OFFSET


def as_token_ids(ids: object, vocab_size: int, name: str) -> tuple[np.ndarray, int]:
    """Valid ids of ``ids`` as int64 and how many were dropped (outside ``[0, vocab_size)``).

    Raises ``TypeError`` only when ``ids`` is not a one-dimensional sequence of integers.
    """
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1 or ids.dtype.kind not in "iub":
            raise TypeError(f"{name} must be a 1-D integer array, got {ids.dtype} {ids.shape}")
        wide = ids.astype(np.int64) if ids.dtype.kind != "u" else ids
        valid = (wide >= 0) & (wide < vocab_size)
        return wide[valid].astype(np.int64), int((~valid).sum())
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {type(ids).__name__}")
    values = list(ids)
    for value in values:
        if not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must hold integers, found {type(value).__name__}")
    # Plain Python comparison: ids beyond int64 must be dropped, not overflow.
    kept = [int(v) for v in values if 0 <= v < vocab_size]
    return np.asarray(kept, dtype=np.int64), len(values) - len(kept)


def _to_text(symbols: np.ndarray) -> str:
    return (symbols.astype(np.uint32) + SYMBOL_OFFSET).tobytes().decode("utf-32-le")


def _to_symbols(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64) - (
        SYMBOL_OFFSET
    )


class IntegerBPE:
    """A trained BPE over ``num_symbols`` integer symbols; ``chunk`` bounds merges.

    With ``chunk = C`` the pre-tokeniser cuts every string into pieces of ``C`` symbols,
    so no token spans two pieces (one DCT window each); ``None`` lets merges run over the
    whole string.
    """

    def __init__(self, tokenizer: Tokenizer, num_symbols: int) -> None:
        self.tokenizer = tokenizer
        self.num_symbols = num_symbols
        vocab = tokenizer.get_vocab()
        table = np.empty(len(vocab), dtype=object)
        for token, index in vocab.items():
            table[index] = token
        self._id_to_text = table

    @classmethod
    def train(
        cls,
        sequences: Iterable[np.ndarray],
        num_symbols: int,
        vocab_size: int,
        chunk: int | None = None,
        progress: bool = False,
    ) -> IntegerBPE:
        if not 1 <= num_symbols <= MAX_SYMBOLS:
            raise ValueError(f"num_symbols must be in [1, {MAX_SYMBOLS}], got {num_symbols}")
        if vocab_size < num_symbols:
            raise ValueError(f"vocab_size {vocab_size} is below the alphabet of {num_symbols}")
        tokenizer = Tokenizer(models.BPE())
        if chunk is not None:
            tokenizer.pre_tokenizer = pre_tokenizers.Split(
                Regex(f".{{1,{chunk}}}"), behavior="isolated"
            )
        alphabet = [chr(SYMBOL_OFFSET + s) for s in range(num_symbols)]
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=2,
            initial_alphabet=alphabet,
            limit_alphabet=num_symbols,
            show_progress=progress,
        )
        tokenizer.train_from_iterator((_to_text(s) for s in sequences), trainer=trainer)
        return cls(tokenizer, num_symbols)

    @property
    def vocab_size(self) -> int:
        return len(self._id_to_text)

    def encode_batch(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Symbol arrays (values in ``[0, num_symbols)``) -> token id arrays (int64)."""
        texts = [_to_text(s) for s in sequences]
        return [np.asarray(e.ids, dtype=np.int64) for e in self.tokenizer.encode_batch(texts)]

    def decode(self, ids: np.ndarray) -> np.ndarray:
        """Valid token ids (see :func:`as_token_ids`) -> symbols (int64)."""
        if ids.size == 0:
            return np.zeros(0, dtype=np.int64)
        return _to_symbols("".join(self._id_to_text[ids]))

    def to_str(self) -> str:
        return self.tokenizer.to_str()

    @classmethod
    def from_str(cls, text: str, num_symbols: int) -> IntegerBPE:
        return cls(Tokenizer.from_str(text), num_symbols)
