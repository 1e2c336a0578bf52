"""Speech synthesis with eSpeak NG, offline, for tests, benchmarks and ``motionvla-say --speak``.

The ``espeakng-loader`` wheel ships ``libespeak-ng`` and its voice data; this calls the
library's C API through ctypes (``espeak_Initialize`` in synchronous mode,
``espeak_SetSynthCallback``, ``espeak_Synth``), so no program or download is needed.
eSpeak keeps one global synthesiser per process: calls are serialised by a lock.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SpeechSynthesisError", "Voice", "synthesize"]

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class SpeechSynthesisError(RuntimeError):
    """eSpeak NG is missing, refused a voice, or failed to synthesise."""


@dataclass(frozen=True)
class Voice:
    """An eSpeak NG voice (``"en-us"``, ``"en"``, with a variant: ``"en-us+f3"``, ``"en+m7"``),
    its speed in words per minute and its pitch (0-99)."""

    name: str = "en-us"
    words_per_minute: int = 175
    pitch: int = 50

    def __post_init__(self) -> None:
        if not self.name or not self.name.isascii() or " " in self.name:
            raise ValueError(f"voice must be an eSpeak voice name such as 'en-us': {self.name!r}")
        if not 80 <= self.words_per_minute <= 450:
            raise ValueError(f"words_per_minute must be in [80, 450], got {self.words_per_minute}")
        if not 0 <= self.pitch <= 99:
            raise ValueError(f"pitch must be in [0, 99], got {self.pitch}")


class _Espeak:
    """The process's eSpeak NG library, initialised once."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:
            raise SpeechSynthesisError(
                "speech synthesis needs the espeakng-loader package (pip install espeakng-loader)"
            ) from error
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                               ctypes.c_int]  # fmt: skip
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]  # fmt: skip
        data_root = Path(espeakng_loader.get_data_path()).parent  # holds espeak-ng-data/
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_root).encode(), 0
        )
        if self.sample_rate <= 0:
            raise SpeechSynthesisError(f"espeak_Initialize failed ({self.sample_rate})")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._on_samples)  # referenced: C keeps the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_samples(self, samples, count: int, _events) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0  # 0: go on synthesising

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise SpeechSynthesisError(f"eSpeak NG has no voice {voice.name!r}")
        self.lib.espeak_SetParameter(_PARAM_RATE, voice.words_per_minute, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, voice.pitch, 0)
        self._chunks = []
        encoded = text.encode() + b"\0"
        status = self.lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                       None, None)  # fmt: skip
        if status != 0:
            raise SpeechSynthesisError(f"espeak_Synth failed with status {status}")
        chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


_lock = threading.Lock()
_engine: list[_Espeak] = []


def synthesize(text: str, voice: Voice = Voice()) -> tuple[np.ndarray, int]:
    """``text`` spoken by ``voice``: (16-bit mono samples ``int16 [n]``, sample rate in Hz)."""
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    with _lock:
        if not _engine:
            _engine.append(_Espeak())
        engine = _engine[0]
        return engine.speak(text, voice), engine.sample_rate
