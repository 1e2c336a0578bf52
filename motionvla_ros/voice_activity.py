"""Voice-activity detection and utterance cutting on a 16 kHz stream.

A :class:`VoiceActivityDetector` says, frame by frame, whether a frame holds speech:
:class:`WebRtcVad` (``webrtcvad-wheels``: WebRTC's GMM detector, 30 ms frames,
aggressiveness 0-3) or :class:`SileroVad` (``silero-vad``: a small neural network,
shipped in the wheel, run with torch on 32 ms frames; speech when its probability is
at least ``threshold``). ``benchmarks/voice.py`` measures both; docs/voice.md has the
numbers behind the default.

:class:`UtteranceSegmenter` turns the frame decisions into utterances: speech starts
after ``start_ms`` of speech frames, ends after ``end_silence_ms`` of non-speech, and
an utterance keeps ``padding_ms`` of audio on either side of its speech. Memory is
bounded: before speech only the padding is kept, and an utterance that reaches
``max_utterance_s`` is cut and returned marked ``too_long`` (the caller drops it: a
command cut in the middle is not the command that was said); the detector then waits
for silence before it starts another.
"""

from __future__ import annotations

import abc
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SAMPLE_RATE",
    "VADS",
    "SileroVad",
    "Utterance",
    "UtteranceSegmenter",
    "VoiceActivityDetector",
    "WebRtcVad",
    "make_vad",
]

SAMPLE_RATE = 16000
VADS = ("webrtc", "silero")


class VoiceActivityDetector(abc.ABC):
    """Speech / non-speech per frame of ``frame_samples`` 16 kHz samples."""

    frame_samples: int

    @abc.abstractmethod
    def is_speech(self, frame: np.ndarray) -> bool:
        """Whether ``frame`` (``int16 [frame_samples]``) holds speech."""

    def reset(self) -> None:  # noqa: B027  (stateless detectors keep this no-op)
        """Forget any state carried from frame to frame (at the end of an utterance)."""


class WebRtcVad(VoiceActivityDetector):
    frame_samples = 480  # 30 ms

    def __init__(self, aggressiveness: int = 3) -> None:
        if aggressiveness not in range(4):
            raise ValueError(f"webrtc aggressiveness must be 0..3, got {aggressiveness}")
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: np.ndarray) -> bool:
        return bool(self._vad.is_speech(frame.astype("<i2").tobytes(), SAMPLE_RATE))


class SileroVad(VoiceActivityDetector):
    frame_samples = 512  # 32 ms: the model's frame at 16 kHz

    def __init__(self, threshold: float = 0.5) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"silero threshold must be in (0, 1), got {threshold}")
        import torch
        from silero_vad import load_silero_vad

        self._torch = torch
        self._model = load_silero_vad()
        self.threshold = threshold

    def is_speech(self, frame: np.ndarray) -> bool:
        samples = self._torch.from_numpy(frame.astype(np.float32) / 32768.0)
        with self._torch.inference_mode():
            return float(self._model(samples, SAMPLE_RATE)) >= self.threshold

    def reset(self) -> None:
        self._model.reset_states()


def make_vad(name: str, aggressiveness: int = 3, threshold: float = 0.5) -> VoiceActivityDetector:
    if name == "webrtc":
        return WebRtcVad(aggressiveness)
    if name == "silero":
        return SileroVad(threshold)
    raise ValueError(f"vad must be one of {VADS}, got {name!r}")


@dataclass(frozen=True)
class Utterance:
    """Audio of one utterance (``int16``, 16 kHz) and where it lies in the stream (16 kHz
    sample positions: its first sample, and the end of its last speech frame)."""

    samples: np.ndarray
    start_sample: int
    speech_end_sample: int
    too_long: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


class UtteranceSegmenter:
    """Cuts a 16 kHz stream into utterances with a :class:`VoiceActivityDetector`."""

    def __init__(
        self,
        vad: VoiceActivityDetector,
        *,
        start_ms: float = 90.0,
        end_silence_ms: float = 400.0,
        padding_ms: float = 300.0,
        max_utterance_s: float = 8.0,
    ) -> None:
        if max_utterance_s <= 0 or end_silence_ms <= 0 or start_ms <= 0 or padding_ms < 0:
            raise ValueError("segmenter times must be positive (padding may be 0)")
        self.vad = vad
        frame_ms = 1000.0 * vad.frame_samples / SAMPLE_RATE
        self._start_frames = max(1, round(start_ms / frame_ms))
        self._end_frames = max(1, round(end_silence_ms / frame_ms))
        self._padding_frames = round(padding_ms / frame_ms)
        self._max_frames = max(1, round(1000.0 * max_utterance_s / frame_ms))
        self._pending = np.zeros(0, np.int16)
        self._before: deque[np.ndarray] = deque(maxlen=self._padding_frames + self._start_frames)
        self._frames: list[np.ndarray] = []
        self._in_speech = False
        self._waiting_for_silence = False  # after a too-long cut
        self._speech_run = 0
        self._silence_run = 0
        self._position = 0  # stream samples consumed
        self._last_speech_end = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def buffered_samples(self) -> int:
        """Samples held (bounded by ``max_utterance_s`` plus padding)."""
        held = sum(len(f) for f in self._frames) + sum(len(f) for f in self._before)
        return held + len(self._pending)

    def push(self, samples: np.ndarray) -> list[Utterance]:
        """Feed 16 kHz samples; returns the utterances they complete."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.int16)])
        size = self.vad.frame_samples
        whole = len(data) // size * size
        self._pending = data[whole:]
        done = []
        for start in range(0, whole, size):
            utterance = self._frame(data[start : start + size])
            if utterance is not None:
                done.append(utterance)
        return done

    def _frame(self, frame: np.ndarray) -> Utterance | None:
        speech = self.vad.is_speech(frame)
        self._position += len(frame)
        if speech:
            self._last_speech_end = self._position
        if not self._in_speech:
            self._before.append(frame)
            self._speech_run = self._speech_run + 1 if speech else 0
            if self._waiting_for_silence:
                if not speech:
                    self._silence_run += 1
                    if self._silence_run >= self._end_frames:
                        self._waiting_for_silence = False
                else:
                    self._silence_run = 0
                return None
            if self._speech_run >= self._start_frames:
                self._in_speech = True
                self._frames = list(self._before)
                self._before.clear()
                self._silence_run = 0
            return None
        self._frames.append(frame)
        self._silence_run = 0 if speech else self._silence_run + 1
        if self._silence_run >= self._end_frames:
            dropped = max(0, self._silence_run - self._padding_frames)
            return self._finish(self._frames[: len(self._frames) - dropped], too_long=False,
                                end=self._position - dropped * len(frame))  # fmt: skip
        if len(self._frames) >= self._max_frames:
            self._waiting_for_silence = True
            return self._finish(self._frames, too_long=True, end=self._position)
        return None

    def _finish(self, frames: list[np.ndarray], too_long: bool, end: int) -> Utterance:
        self._in_speech = False
        self._frames = []
        self._speech_run = 0
        self._silence_run = 0
        self.vad.reset()
        samples = np.concatenate(frames)
        return Utterance(samples, end - len(samples), self._last_speech_end, too_long)
