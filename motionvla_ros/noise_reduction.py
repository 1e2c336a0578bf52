"""Noise reduction for one utterance before recognition: a Wiener filter whose noise is
measured in the utterance's own non-speech padding.

The utterance cutter keeps ``padding_ms`` of audio before the detected speech and after
it (:mod:`motionvla_ros.voice_activity`), so its first and last ``edge_s`` hold the
background without the voice. The noise power spectrum is the smaller, per frequency, of
the mean power over the two edges (an edge that caught the start or end of a word then
does not count), and the gain per time-frequency cell is the Wiener gain
``xi / (1 + xi)`` with the a-priori SNR ``xi`` estimated by the decision-directed rule
(Ephraim and Malah, 1984), which leaves less "musical" residual noise than plain
spectral subtraction. The gain is floored at ``gain_floor`` so that no cell is erased.

On eSpeak-spoken commands at 10 dB SNR of white noise, recognising the filtered audio
*instead of* the raw audio lost commands; recognising it *beside* the raw audio, and
refusing an utterance where the two give different commands, sent fewer than half the
wrong commands at the same exact rate (:mod:`motionvla_ros.speech_recognition`;
docs/voice.md has the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from motionvla_ros.voice_activity import SAMPLE_RATE

__all__ = ["WienerFilter"]

_FRAME = 512  # 32 ms at 16 kHz
_HOP = 128


@dataclass(frozen=True)
class WienerFilter:
    """``edge_s``: seconds at either end of an utterance taken as noise (within the
    cutter's 300 ms padding); ``min_noise_rms``: below this noise level (16-bit steps,
    50 is -56 dBFS) the audio is left alone: it is clean enough, and the caller skips a
    second recognition; ``gain_floor``: the smallest gain; ``smoothing``: the
    decision-directed weight of the previous frame's estimate."""

    edge_s: float = 0.15
    min_noise_rms: float = 50.0
    gain_floor: float = 0.1
    smoothing: float = 0.98

    def __post_init__(self) -> None:
        if not 0.0 < self.edge_s <= 1.0:
            raise ValueError(f"edge_s must be in (0, 1] s, got {self.edge_s}")
        if self.min_noise_rms < 0.0:
            raise ValueError(f"min_noise_rms must be >= 0, got {self.min_noise_rms}")
        if not 0.0 < self.gain_floor <= 1.0:
            raise ValueError(f"gain_floor must be in (0, 1], got {self.gain_floor}")
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing}")

    def __call__(self, samples: np.ndarray) -> np.ndarray | None:
        """``samples`` (``int16``, 16 kHz) with the noise reduced, or None where there is
        too little noise to reduce (or too little audio to measure it)."""
        edge = max(1, round(self.edge_s * SAMPLE_RATE / _HOP))
        if len(samples) < 2 * (edge * _HOP + _FRAME):
            return None
        _, _, spectrum = signal.stft(samples.astype(np.float64), nperseg=_FRAME,
                                     noverlap=_FRAME - _HOP, boundary="even")  # fmt: skip
        power = np.abs(spectrum) ** 2
        noise = np.minimum(power[:, :edge].mean(axis=1), power[:, -edge:].mean(axis=1))
        # stft scales by the window sum; Parseval over the one-sided spectrum gives the rms.
        window = signal.get_window("hann", _FRAME)
        rms = np.sqrt(2.0 * noise.sum() * window.sum() ** 2 / (window**2).sum() / _FRAME)
        if rms < self.min_noise_rms:
            return None
        posterior = power / (noise[:, None] + 1e-9)
        gains = np.empty_like(power)
        previous = np.ones(len(noise))  # the previous frame's gain
        for frame in range(power.shape[1]):
            prior = self.smoothing * previous**2 * posterior[:, max(frame - 1, 0)] + (
                1.0 - self.smoothing
            ) * np.maximum(posterior[:, frame] - 1.0, 0.0)
            previous = np.maximum(prior / (1.0 + prior), self.gain_floor)
            gains[:, frame] = previous
        _, filtered = signal.istft(spectrum * gains, nperseg=_FRAME, noverlap=_FRAME - _HOP)
        return np.clip(np.round(filtered[: len(samples)]), -32768, 32767).astype(np.int16)
