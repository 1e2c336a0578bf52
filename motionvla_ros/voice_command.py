"""The ``voice_command`` node: speech in, a command for ``motion_generator`` out.

========================  =====================================  ==========================
``audio``                 std_msgs/UInt8MultiArray               in: 16-bit LE mono PCM
``command``               std_msgs/String                        out: the recognised command
``~/transcript``          std_msgs/String (JSON)                 out: one per utterance
``~/status``              std_msgs/String (JSON)                 out: rejections, 1 Hz beat
``motion_generator/cancel`` std_srvs/Trigger (client)            "stop" / "cancel"
========================  =====================================  ==========================

Audio comes from the ``audio`` topic at ``sample_rate`` Hz (resampled to 16 kHz), or
with ``source: microphone`` from the machine's microphone through PortAudio
(``sounddevice``, optional). Voice-activity detection cuts it into utterances
(:mod:`motionvla_ros.voice_activity`); each is recognised against the grammar of the
robot's commands (:mod:`motionvla_ros.voice_grammar`,
:mod:`motionvla_ros.speech_recognition`). An utterance is sent only when it is a
sentence of the grammar heard with at least ``min_confidence``: "stop" or "cancel"
calls the generator's ``~/cancel``, anything else is published on ``command`` written
as the training captions write it
(:meth:`~motionvla_ros.voice_grammar.CommandGrammar.command_for`). Speech in audible
background noise is recognised after RNNoise (``noise_filter``). Every utterance gets a
``~/transcript`` (text, confidence, latency, accepted or why not); a rejected one is
also reported on ``~/status`` with what was heard. A wrong motion is worse than no motion.

The subscription callback only checks and queues the bytes; resampling, detection and
recognition run on one worker thread, so the node suits a single-threaded executor.
Queued audio is bounded (``max_pending_s``: the oldest is dropped and counted), and so
is an utterance (``max_utterance_s``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String, UInt8MultiArray
from std_srvs.srv import Trigger

from motionvla_ros.audio_input import AudioFormatError, StreamResampler, pcm16_from_bytes
from motionvla_ros.node_main import run_node
from motionvla_ros.parameters import ConfigError, declare_config, param
from motionvla_ros.speech_recognition import (
    NOISE_FILTERS,
    RECOGNIZERS,
    Recognition,
    RecognizerUnavailable,
    make_recognizer,
)
from motionvla_ros.voice_activity import SAMPLE_RATE, VADS, Utterance, UtteranceSegmenter, make_vad
from motionvla_ros.voice_grammar import CANCEL_WORDS, CommandGrammar

__all__ = ["VoiceCommandConfig", "VoiceCommandNode", "main"]

SOURCES = ("topic", "microphone")


def refusal(
    recognition: Recognition, grammar: CommandGrammar, min_confidence: float
) -> str | None:
    """Why ``recognition`` is not sent, or None to send it."""
    if not recognition.words:
        return "nothing recognised"
    if not recognition.in_grammar:
        unknown = grammar.unknown_names(recognition.words)
        if unknown:
            return f"no object called {' '.join(unknown)!r} can be in the scene"
        return "not a command the robot knows"
    if recognition.confidence < min_confidence:
        return (f"confidence {recognition.confidence:.2f} is below min_confidence "
                f"{min_confidence:.2f}")  # fmt: skip
    return None


@dataclass(frozen=True)
class VoiceCommandConfig:
    source: str = param("topic", "Audio source: 'topic' (the audio topic) or 'microphone'.")
    sample_rate: int = param(16000, "Sample rate of the audio topic / microphone, Hz.",
                             (8000, 96000))  # fmt: skip
    microphone_device: str = param("", "PortAudio input device name or index ('': default).")
    vad: str = param("silero", "Voice-activity detector: 'silero' or 'webrtc'.")
    vad_aggressiveness: int = param(3, "WebRTC VAD aggressiveness (3: fewest false starts).",
                                    (0, 3))  # fmt: skip
    vad_threshold: float = param(0.5, "Silero VAD speech probability threshold.", (0.05, 0.95))
    end_silence_ms: float = param(400.0, "Silence that ends an utterance, ms.", (100.0, 3000.0))
    padding_ms: float = param(300.0, "Audio kept before and after the speech, ms.",
                              (0.0, 1000.0))  # fmt: skip
    max_utterance_s: float = param(8.0, "Longer utterances are dropped, s.", (1.0, 60.0))
    recognizer: str = param("pocketsphinx", "'pocketsphinx' (grammar) or 'whisper'.")
    whisper_model_path: str = param("", "Local faster-whisper model directory (recognizer "
                                    "'whisper'; never downloaded).")  # fmt: skip
    noise_filter: str = param("rnnoise", "Noise reduction before PocketSphinx in audible "
                              "background noise: 'rnnoise' or 'none'.")  # fmt: skip
    # 0.05: 96 % of 150 clean commands sent exactly, 96.7 % of 60 other sentences refused
    # (0.1: 95.3 % and 100 %; 0.2: 92 % and 100 %; docs/voice.md).
    min_confidence: float = param(0.05, "Utterances heard with less confidence are not sent.",
                                  (0.0, 1.0))  # fmt: skip
    max_message_bytes: int = param(2_000_000, "Larger audio messages are rejected.",
                                   (2, 100_000_000))  # fmt: skip
    max_pending_s: float = param(30.0, "Audio waiting for the worker beyond this is dropped, s.",
                                 (1.0, 600.0))  # fmt: skip
    cancel_service: str = param("motion_generator/cancel", "std_srvs/Trigger called on 'stop'.")
    status_period_s: float = param(1.0, "Period of the status heartbeat, seconds.", (0.05, 60.0))

    def __post_init__(self) -> None:
        for name, value, choices in (
            ("source", self.source, SOURCES),
            ("vad", self.vad, VADS),
            ("recognizer", self.recognizer, RECOGNIZERS),
            ("noise_filter", self.noise_filter, NOISE_FILTERS),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {value!r}")


class _AudioQueue:
    """Chunks between the callback and the worker, at most ``max_samples`` (input rate)."""

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._chunks: deque[tuple[np.ndarray, float]] = deque()
        self._samples = 0
        self.dropped_samples = 0
        self._ready = threading.Condition()
        self.closed = False

    def put(self, samples: np.ndarray, received: float) -> None:
        with self._ready:
            self._chunks.append((samples, received))
            self._samples += len(samples)
            while self._samples > self.max_samples:
                old, _ = self._chunks.popleft()
                self._samples -= len(old)
                self.dropped_samples += len(old)
            self._ready.notify()

    def get(self, timeout_s: float) -> tuple[np.ndarray, float] | None:
        with self._ready:
            if not self._chunks and not self.closed:
                self._ready.wait(timeout_s)
            if not self._chunks:
                return None
            samples, received = self._chunks.popleft()
            self._samples -= len(samples)
            return samples, received

    @property
    def pending_samples(self) -> int:
        with self._ready:
            return self._samples

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()


def _import_sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as error:  # OSError: the PortAudio library is missing
        raise ConfigError(
            "source 'microphone' needs PortAudio and the sounddevice package "
            f"(apt install libportaudio2; pip install sounddevice): {error}"
        ) from error
    return sounddevice


class VoiceCommandNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("voice_command", **kwargs)
        self.config = config = declare_config(self, VoiceCommandConfig)
        # Checked first: loading the recogniser and the VAD takes seconds.
        sounddevice = _import_sounddevice() if config.source == "microphone" else None
        self._grammar = CommandGrammar()
        try:
            self._recognizer = make_recognizer(config.recognizer, self._grammar,
                                               config.whisper_model_path,
                                               noise_filter=config.noise_filter)  # fmt: skip
            vad = make_vad(config.vad, config.vad_aggressiveness, config.vad_threshold)
        except (RecognizerUnavailable, ImportError) as error:
            raise ConfigError(str(error)) from error
        self._segmenter = UtteranceSegmenter(
            vad, end_silence_ms=config.end_silence_ms, padding_ms=config.padding_ms,
            max_utterance_s=config.max_utterance_s,
        )  # fmt: skip
        self._resampler = StreamResampler(config.sample_rate, SAMPLE_RATE)
        self._queue = _AudioQueue(int(config.max_pending_s * config.sample_rate))
        self._stats = {"audio_messages": 0, "audio_rejected": 0, "utterances": 0, "commands": 0,
                       "cancels": 0, "rejected": 0}  # fmt: skip
        self._last_audio_error = ""
        # Receipt time of recent chunks by their end in the 16 kHz stream, to date speech ends.
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=4096)
        self._stream_position = 0

        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self._command_pub = self.create_publisher(String, "command", reliable)
        self._transcript_pub = self.create_publisher(String, "~/transcript", reliable)
        self._status_pub = self.create_publisher(String, "~/status", reliable)
        self._cancel = self.create_client(Trigger, config.cancel_service)
        self._microphone = None
        if config.source == "topic":
            self.create_subscription(UInt8MultiArray, "audio", self._on_audio,
                                     QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE))
        else:
            self._microphone = self._open_microphone(sounddevice)
        self.create_timer(config.status_period_s, self._heartbeat)
        self._stopping = threading.Event()
        self._worker = threading.Thread(target=self._work, name="voice-recognition", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"listening: source={config.source} rate={config.sample_rate} vad={config.vad} "
            f"recognizer={config.recognizer} min_confidence={config.min_confidence}"
        )

    # --- input ---------------------------------------------------------------------
    def _open_microphone(self, sounddevice: Any) -> Any:
        device = self.config.microphone_device
        device = int(device) if device.isdigit() else (device or None)

        def on_block(block, _frames, _time, _status) -> None:
            self._queue.put(block[:, 0].copy(), time.monotonic())

        try:
            stream = sounddevice.InputStream(samplerate=self.config.sample_rate, channels=1,
                                             dtype="int16", device=device, callback=on_block)
            stream.start()
        except Exception as error:  # PortAudioError and ValueError: no such device
            raise ConfigError(f"cannot open the microphone {device!r}: {error}") from error
        return stream

    def _on_audio(self, msg: UInt8MultiArray) -> None:
        received = time.monotonic()
        self._stats["audio_messages"] += 1
        try:
            samples = pcm16_from_bytes(msg.data, self.config.max_message_bytes)
        except AudioFormatError as error:
            self._stats["audio_rejected"] += 1
            self._last_audio_error = str(error)
            self.get_logger().warning(f"audio rejected: {error}", throttle_duration_sec=5.0)
            self._publish(self._status_pub, {"state": "audio_rejected", "reason": str(error)})
            return
        self._queue.put(samples, received)

    # --- the worker thread ---------------------------------------------------------
    def _work(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get(0.2)
            if item is None:
                continue
            samples, received = item
            try:
                resampled = self._resampler.process(samples)
                self._stream_position += len(resampled)
                self._arrivals.append((self._stream_position, received))
                for utterance in self._segmenter.push(resampled):
                    self._handle(utterance)
            except Exception as error:  # the thread must outlive any one utterance
                self.get_logger().error(f"voice processing failed: {error!r}")
                self._publish(self._status_pub, {"state": "error", "reason": repr(error)})

    def _speech_end_time(self, utterance: Utterance) -> float:
        """When the chunk holding the utterance's last speech sample was received."""
        for end, received in self._arrivals:
            if end >= utterance.speech_end_sample:
                return received
        return time.monotonic()

    def _handle(self, utterance: Utterance) -> None:
        self._stats["utterances"] += 1
        spoken_at = self._speech_end_time(utterance)
        if utterance.too_long:
            recognition = Recognition("", 0.0, False)
            reason = f"utterance longer than max_utterance_s ({self.config.max_utterance_s:g} s)"
        else:
            recognition = self._recognizer.recognize(utterance.samples)
            reason = refusal(recognition, self._grammar, self.config.min_confidence)
        text = self._grammar.command_for(recognition.words) if recognition.words else ""
        action = None
        if reason is None:
            if recognition.words in CANCEL_WORDS:
                action = "cancel"
                self._request_cancel(recognition.words)
            else:
                action = "command"
                self._command_pub.publish(String(data=text))
                self._stats["commands"] += 1
        latency_ms = round(1000.0 * (time.monotonic() - spoken_at), 1)
        transcript = {"text": text, "heard": recognition.words,
                      "confidence": recognition.confidence, "latency_ms": latency_ms,
                      "accepted": reason is None, "action": action, "reason": reason or "",
                      "duration_s": round(utterance.duration_s, 3)}  # fmt: skip
        self._publish(self._transcript_pub, transcript)
        if reason is not None:
            self._stats["rejected"] += 1
            self._publish(self._status_pub, {"state": "rejected", "heard": recognition.words,
                                             "confidence": recognition.confidence,
                                             "reason": reason})  # fmt: skip


    def _request_cancel(self, words: str) -> None:
        self._stats["cancels"] += 1
        if not self._cancel.service_is_ready():
            self._publish(self._status_pub, {"state": "cancel_failed", "heard": words,
                          "reason": f"{self.config.cancel_service} is not available"})  # fmt: skip
            return
        future = self._cancel.call_async(Trigger.Request())

        def answered(done) -> None:
            response = done.result()
            self._publish(self._status_pub, {
                "state": "cancelled" if response.success else "nothing_to_cancel",
                "heard": words, "reason": response.message})  # fmt: skip

        future.add_done_callback(answered)

    # --- status --------------------------------------------------------------------
    def _publish(self, publisher, fields: dict[str, Any]) -> None:
        if not self.context.ok():
            return
        publisher.publish(String(data=json.dumps({"node": self.get_name(), "time": time.time(),
                                                  **fields})))  # fmt: skip

    def stats(self) -> dict[str, Any]:
        rate = self.config.sample_rate
        return {
            **self._stats,
            "pending_s": round(self._queue.pending_samples / rate, 3),
            "dropped_s": round(self._queue.dropped_samples / rate, 3),
            "buffered_s": round(self._segmenter.buffered_samples() / SAMPLE_RATE, 3),
            "last_audio_error": self._last_audio_error,
        }

    def _heartbeat(self) -> None:
        state = "hearing" if self._segmenter.in_speech else "listening"
        self._publish(self._status_pub, {"state": state, "heartbeat": True, **self.stats()})

    def close(self) -> bool:
        """Stop the microphone and the worker thread; False if the worker is still busy."""
        if self._microphone is not None:
            self._microphone.stop()
            self._microphone.close()
        self._stopping.set()
        self._queue.close()
        self._worker.join(5.0)
        return not self._worker.is_alive()


def main(args: list[str] | None = None) -> int:
    return run_node(VoiceCommandNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
