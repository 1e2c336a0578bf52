"""Reference motion tokenizers that DSFT is measured against (benchmarks/tokenizer.py).

Both quantise DCT coefficients as ``round(c * scale)``, shift the integers by the
training minimum so they become symbols ``>= 0`` and compress with BPE
(:class:`~motionvla_model.dsft.integer_bpe.IntegerBPE`). They reproduce the published
designs, faults included, so that the comparison is honest:

* :class:`WholeClipTokenizer` is the published MotionVLA scheme: Base ``[3:193]`` and
  Phys ``[0:3] ∪ [193:263]`` streams, no normalisation, one DCT over the *whole* clip
  keeping the first ``K_base = 5`` / ``K_phys = 25`` coefficients per dimension. Decoding
  needs the frame count from outside; a coefficient below the training minimum makes
  encoding fail (``clamp=True`` clamps instead and counts it); a short token sequence is
  padded with symbol 0, i.e. the most negative value; a long one or an unknown id fails.
* :class:`FASTTokenizer` is FAST (Pertsch et al., 2025) over all dims as one stream:
  per-dimension quantile scaling to ``[-1, 1]``, every DCT coefficient of fixed 1-s
  chunks, flattened low frequencies first. As in FAST, a chunk that does not decode
  falls back to zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionvla_model.dsft.dct import frame_windows, num_windows, window_dct, window_idct
from motionvla_model.dsft.integer_bpe import IntegerBPE, as_token_ids
from motionvla_model.motion.layouts import FeatureLayout, get_layout

__all__ = ["BaselineDecodeError", "BaselineEncodeError", "FASTTokenizer", "WholeClipTokenizer"]


class BaselineEncodeError(ValueError):
    """A coefficient lies below the training minimum (the published encoder's failure)."""


class BaselineDecodeError(ValueError):
    """The token sequence does not parse (the published decoder's failure)."""


@dataclass
class _ShiftedQuantiser:
    """``symbol = round(c * scale) - minimum``; ``minimum`` is learned on training data."""

    scale: float
    minimum: int = 0
    num_symbols: int = 1

    def fit(self, coefficients: np.ndarray) -> None:
        levels = np.rint(coefficients * self.scale)
        self.minimum = int(levels.min())
        self.num_symbols = int(levels.max()) - self.minimum + 1

    def symbols(self, coefficients: np.ndarray, clamp: bool) -> tuple[np.ndarray, int]:
        shifted = np.rint(coefficients * self.scale).astype(np.int64) - self.minimum
        outside = int(np.count_nonzero((shifted < 0) | (shifted >= self.num_symbols)))
        if outside and not clamp:
            raise BaselineEncodeError(f"{outside} coefficient(s) outside the training range")
        return np.clip(shifted, 0, self.num_symbols - 1), outside

    def values(self, symbols: np.ndarray) -> np.ndarray:
        return (symbols + self.minimum) / self.scale


class WholeClipTokenizer:
    """The published MotionVLA whole-clip DCT + BPE tokenizer (see the module docstring)."""

    def __init__(
        self,
        k_base: int = 5,
        k_phys: int = 25,
        scale: float = 10.0,
        base_vocab_size: int = 4096,
        phys_vocab_size: int = 2048,
        layout: str = "humanml3d",
    ) -> None:
        self.layout: FeatureLayout = get_layout(layout)
        self.keep = {"base": k_base, "phys": k_phys}
        self.vocab = {"base": base_vocab_size, "phys": phys_vocab_size}
        self.dims = {"base": self.layout.base_dims, "phys": self.layout.phys_dims}
        self.quantiser = {s: _ShiftedQuantiser(scale) for s in self.keep}
        self.bpe: dict[str, IntegerBPE] = {}

    def _coefficients(self, x: np.ndarray, stream: str) -> np.ndarray:
        keep = self.keep[stream]
        signal = x[:, self.dims[stream]][None]
        if len(x) < keep:  # the DCT of T frames has only T coefficients
            signal = np.concatenate([signal, np.zeros((1, keep - len(x), signal.shape[2]))], 1)
        return window_dct(signal, keep)[0]

    def train(self, clips: Sequence[np.ndarray]) -> WholeClipTokenizer:
        for stream in self.keep:
            coefficients = [self._coefficients(x, stream) for x in clips]
            self.quantiser[stream].fit(np.concatenate(coefficients))
            symbols = [
                self.quantiser[stream].symbols(c, clamp=True)[0].ravel() for c in coefficients
            ]
            num_symbols = self.quantiser[stream].num_symbols
            self.bpe[stream] = IntegerBPE.train(
                symbols, num_symbols, max(self.vocab[stream], num_symbols)
            )
        return self

    def encode(self, x: np.ndarray, clamp: bool = False) -> tuple[dict[str, np.ndarray], int]:
        """Features ``[T, D]`` -> token ids per stream and the count of clamped coefficients."""
        ids, clamped = {}, 0
        for stream in self.keep:
            symbols, outside = self.quantiser[stream].symbols(self._coefficients(x, stream), clamp)
            clamped += outside
            ids[stream] = self.bpe[stream].encode_batch([symbols.ravel()])[0]
        return ids, clamped

    def decode(self, base: Sequence[int], phys: Sequence[int], num_frames: int) -> np.ndarray:
        """Token ids + the frame count (not in the tokens) -> features ``[num_frames, D]``."""
        out = np.zeros((num_frames, self.layout.dim))
        for stream, tokens in (("base", base), ("phys", phys)):
            valid, dropped = as_token_ids(tokens, self.bpe[stream].vocab_size, stream)
            if dropped:
                raise BaselineDecodeError(f"{dropped} unknown {stream} token id(s)")
            symbols = self.bpe[stream].decode(valid)
            width = self.keep[stream] * len(self.dims[stream])
            if symbols.size > width:
                raise BaselineDecodeError(f"{symbols.size} {stream} coefficients, expected {width}")
            # Padding in the shifted space: symbol 0 is the most negative coefficient.
            symbols = np.concatenate([symbols, np.zeros(width - symbols.size, dtype=np.int64)])
            coefficients = self.quantiser[stream].values(symbols.reshape(self.keep[stream], -1))
            if num_frames < self.keep[stream]:
                coefficients = coefficients[:num_frames]
            out[:, self.dims[stream]] = window_idct(coefficients[None], num_frames)[0]
        return out


class FASTTokenizer:
    """FAST over all feature dims as one stream, in chunks of ``chunk_frames``."""

    def __init__(
        self,
        scale: float = 10.0,
        chunk_frames: int = 20,
        vocab_size: int = 8192,
        layout: str = "humanml3d",
    ) -> None:
        self.layout = get_layout(layout)
        self.chunk_frames = chunk_frames
        self.quantiser = _ShiftedQuantiser(scale)
        self.vocab_size = vocab_size
        self.low = np.zeros(self.layout.dim)
        self.high = np.ones(self.layout.dim)
        self.bpe: IntegerBPE | None = None

    @property
    def symbols_per_chunk(self) -> int:
        return self.chunk_frames * self.layout.dim

    def _chunks(self, x: np.ndarray) -> np.ndarray:
        """``[T, D]`` -> DCT of each chunk ``[n, W, D]``, rows = frequencies (low first)."""
        span = np.maximum(self.high - self.low, 1e-8)
        scaled = 2 * (x - self.low) / span - 1
        return window_dct(frame_windows(scaled, self.chunk_frames), self.chunk_frames)

    def train(self, clips: Sequence[np.ndarray]) -> FASTTokenizer:
        frames = np.concatenate(clips)
        self.low, self.high = np.quantile(frames, [0.01, 0.99], axis=0)
        chunks = np.concatenate([self._chunks(x) for x in clips])
        self.quantiser.fit(chunks)
        symbols, _ = self.quantiser.symbols(chunks, clamp=True)
        self.bpe = IntegerBPE.train(
            list(symbols.reshape(len(symbols), -1)),
            self.quantiser.num_symbols,
            max(self.vocab_size, self.quantiser.num_symbols),
            chunk=self.symbols_per_chunk,
        )
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        symbols, _ = self.quantiser.symbols(self._chunks(x), clamp=True)
        return self.bpe.encode_batch([symbols.ravel()])[0]

    def decode(self, tokens: Sequence[int]) -> np.ndarray:
        """Token ids -> features ``[n_chunks * chunk_frames, D]``; unparsable chunks are zero."""
        valid, _ = as_token_ids(tokens, self.bpe.vocab_size, "tokens")
        symbols = self.bpe.decode(valid)
        n = max(num_windows(symbols.size, self.symbols_per_chunk), 1)
        whole = symbols.size // self.symbols_per_chunk
        coefficients = np.zeros((n, self.chunk_frames, self.layout.dim))
        parsed = symbols[: whole * self.symbols_per_chunk]
        shape = (whole, self.chunk_frames, self.layout.dim)
        coefficients[:whole] = self.quantiser.values(parsed).reshape(shape)
        scaled = window_idct(coefficients, self.chunk_frames).reshape(-1, self.layout.dim)
        # FAST falls back to zeros (the mid-range value) for a chunk that fails.
        scaled[whole * self.chunk_frames :] = 0.0
        return (scaled + 1) / 2 * np.maximum(self.high - self.low, 1e-8) + self.low
