"""Audio as it arrives: 16-bit PCM bytes checked and decoded, and resampled as a stream.

The ``audio`` topic carries ``std_msgs/UInt8MultiArray`` messages whose data is 16-bit
little-endian mono PCM (the byte layout of audio_common's ``AudioData``).
:func:`pcm16_from_bytes` refuses what cannot be that (an odd byte count, a message over
the size limit) with :class:`AudioFormatError`.

:class:`StreamResampler` converts a stream cut into arbitrary chunks from one rate to
another with a polyphase FIR filter (a Kaiser-windowed sinc, as
``scipy.signal.resample_poly``): for a rate ratio ``up/down`` in lowest terms, output
sample ``m`` is ``sum_k h[k] x_up[m*down - k]`` where ``x_up`` is the input with ``up - 1``
zeros between samples. The stream is processed in blocks of whole multiples of
``down`` input samples, each block with the ``history`` samples before it, so the
output is the same however the input was chunked (up to rounding), with a constant delay
of half the filter.
"""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import firwin, upfirdn

__all__ = ["AudioFormatError", "StreamResampler", "pcm16_from_bytes"]


class AudioFormatError(ValueError):
    """Audio bytes that are not 16-bit mono PCM, or more than the node accepts at once."""


def pcm16_from_bytes(data: bytes | bytearray | memoryview, max_bytes: int) -> np.ndarray:
    """16-bit little-endian PCM bytes -> ``int16 [n]`` (a copy)."""
    size = len(data)
    if size > max_bytes:
        raise AudioFormatError(f"audio message of {size} bytes exceeds the limit of {max_bytes}")
    if size % 2:
        raise AudioFormatError(f"audio message of {size} bytes: 16-bit PCM needs an even count")
    return np.frombuffer(bytes(data), dtype="<i2").astype(np.int16)


class StreamResampler:
    """Resample a stream of ``int16`` chunks from ``rate_in`` to ``rate_out`` Hz."""

    def __init__(self, rate_in: int, rate_out: int, half_length: int = 10) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} and {rate_out}")
        divisor = gcd(rate_in, rate_out)
        self.up, self.down = rate_out // divisor, rate_in // divisor
        self.rate_in, self.rate_out = rate_in, rate_out
        if self.up == self.down:
            self._filter = np.ones(1)
        else:
            # As scipy.signal.resample_poly: cut-off at the lower Nyquist frequency.
            cutoff = 1.0 / max(self.up, self.down)
            taps = 2 * half_length * max(self.up, self.down) + 1
            self._filter = firwin(taps, cutoff, window=("kaiser", 5.0)) * self.up
        # Input samples the filter reaches back, rounded up to whole blocks of `down`.
        reach = -(-len(self._filter) // self.up)
        self._history_len = -(-reach // self.down) * self.down
        self._history = np.zeros(self._history_len)
        self._pending = np.zeros(0)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """The output samples that ``chunk`` completes (``int16``)."""
        if self.up == self.down:
            return np.asarray(chunk, dtype=np.int16)
        pending = np.concatenate([self._pending, np.asarray(chunk, dtype=np.float64)])
        usable = len(pending) // self.down * self.down
        if usable == 0:
            self._pending = pending
            return np.zeros(0, np.int16)
        block, self._pending = pending[:usable], pending[usable:]
        signal = np.concatenate([self._history, block])
        out = upfirdn(self._filter, signal, self.up, self.down)
        first = self._history_len * self.up // self.down
        out = out[first : first + usable * self.up // self.down]
        self._history = signal[len(signal) - self._history_len :]
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
