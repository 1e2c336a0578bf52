"""The recognisers without ROS: PocketSphinx on eSpeak NG speech, and the open-vocabulary
backend's error paths."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from motionvla_ros.audio_input import StreamResampler
from motionvla_ros.noise_reduction import RNNoiseFilter
from motionvla_ros.speech_recognition import (
    PocketSphinxRecognizer,
    Recognition,
    RecognizerUnavailable,
    WhisperRecognizer,
    make_recognizer,
)
from motionvla_ros.speech_synthesis import Voice, synthesize
from motionvla_ros.voice_activity import SAMPLE_RATE
from motionvla_ros.voice_grammar import CommandGrammar


@pytest.fixture(scope="module")
def grammar() -> CommandGrammar:
    return CommandGrammar()


@pytest.fixture(scope="module")
def recognizer(grammar) -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer(grammar, noise_filters=(RNNoiseFilter(),))


def _said(text: str) -> np.ndarray:
    samples, rate = synthesize(text, Voice("en-us", 175))
    pause = np.zeros(rate // 5, np.int16)
    return StreamResampler(rate, SAMPLE_RATE).process(np.concatenate([pause, samples, pause]))


@pytest.mark.parametrize(
    "text",
    ["walk forward two meters", "turn left ninety degrees", "walk to the red box",
     "wave with your left hand", "sit down", "stop"],
)  # fmt: skip
def test_commands_are_recognised_exactly_in_grammar(recognizer, text):
    heard = recognizer.recognize(_said(text))
    assert heard.words == text and heard.in_grammar
    assert 0.0 <= heard.confidence <= 1.0


def _in_noise(samples: np.ndarray, snr_db: float = 10.0, seed: int = 0) -> np.ndarray:
    power = np.mean(samples[np.abs(samples) > 0].astype(np.float64) ** 2)
    noise = np.random.default_rng(seed).normal(0, np.sqrt(power / 10 ** (snr_db / 10)),
                                               len(samples))  # fmt: skip
    return np.clip(np.round(samples + noise), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("text", ["walk forward two meters", "wave with your left hand"])
def test_commands_in_noise_are_recognised(recognizer, text):
    heard = recognizer.recognize(_in_noise(_said(text)))
    assert heard.words == text and heard.in_grammar


def test_only_audio_with_an_audible_background_goes_through_the_noise_filters(grammar):
    seen = []

    def garble(samples):  # a filter whose output is no sentence
        seen.append("garble")
        return np.zeros_like(samples)

    def keep(samples):
        seen.append("keep")
        return samples

    recognizer = PocketSphinxRecognizer(grammar, noise_filters=(garble, keep))
    assert recognizer.recognize(_said("sit down")).words == "sit down" and not seen
    noisy = _in_noise(_said("sit down"))
    assert recognizer.recognize(noisy).words == "sit down" and seen == ["garble", "keep"]
    seen.clear()
    recognizer = PocketSphinxRecognizer(grammar, noise_filters=(keep, garble))
    assert recognizer.recognize(noisy).words == "sit down" and seen == ["keep"]
    with pytest.raises(ValueError, match="min_noise_rms"):
        PocketSphinxRecognizer(grammar, min_noise_rms=-1.0)


def test_make_recognizer_builds_the_noise_filters_asked_for(grammar):
    filters = make_recognizer("pocketsphinx", grammar).noise_filters
    assert [f.input_share for f in filters] == [0.05, 0.0]
    assert make_recognizer("pocketsphinx", grammar, noise_filter="none").noise_filters == ()
    with pytest.raises(ValueError, match="noise_filter"):
        make_recognizer("pocketsphinx", grammar, noise_filter="wiener")


def test_refusals_say_why(grammar):
    from motionvla_ros.voice_command import refusal

    def why(words, confidence, in_grammar):
        return refusal(Recognition(words, confidence, in_grammar), grammar, 0.05)

    assert why("", 0.0, False) == "nothing recognised"
    assert "no object called 'pink'" in why("walk to the pink box", 0.5, False)
    assert why("walk to the", 0.5, False) == "not a command the robot knows"
    assert "below min_confidence" in why("sit down", 0.04, True)
    assert why("sit down", 0.05, True) is None


def test_silence_and_short_audio_are_nothing(recognizer):
    assert recognizer.recognize(np.zeros(800, np.int16)).words == ""
    heard = recognizer.recognize(np.zeros(SAMPLE_RATE, np.int16))
    assert not (heard.in_grammar and heard.words)


def test_a_grammar_word_without_a_pronunciation_is_refused():
    grammar = CommandGrammar(colours=("red", "zzyzxq"))
    with pytest.raises(ValueError, match="zzyzxq"):
        PocketSphinxRecognizer(grammar)


def test_whisper_needs_a_local_model_directory(grammar, tmp_path):
    with pytest.raises(RecognizerUnavailable, match="nothing is downloaded"):
        WhisperRecognizer(grammar, "")
    with pytest.raises(RecognizerUnavailable, match="nothing is downloaded"):
        make_recognizer("whisper", grammar, str(tmp_path / "absent"))


def test_whisper_without_its_package_says_what_to_install(grammar, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if absent
    with pytest.raises(RecognizerUnavailable, match="pip install faster-whisper"):
        WhisperRecognizer(grammar, str(tmp_path))


def test_whisper_text_is_read_aloud_and_held_to_the_grammar(grammar, tmp_path, monkeypatch):
    """The interface with a stand-in model object (faster-whisper's transcribe() shape):
    "Walk forward 2 meters." becomes grammar words; other text is out of grammar."""

    class Segment:
        def __init__(self, text: str) -> None:
            self.text, self.avg_logprob = text, -0.1

    class Model:
        def __init__(self, *args, **kwargs) -> None:
            self.answer = ""

        def transcribe(self, audio, **kwargs):
            assert audio.dtype == np.float32 and np.abs(audio).max() <= 1.0
            return iter([Segment(self.answer)]), None

    module = type(sys)("faster_whisper")
    module.WhisperModel = Model
    monkeypatch.setitem(sys.modules, "faster_whisper", module)
    recognizer = WhisperRecognizer(grammar, str(tmp_path))
    recognizer._model.answer = " Walk forward 2 meters."
    heard = recognizer.recognize(np.zeros(SAMPLE_RATE, np.int16))
    assert heard.words == "walk forward two meters" and heard.in_grammar
    assert heard.confidence == pytest.approx(np.exp(-0.1), abs=1e-3)
    recognizer._model.answer = "Please open the door!"
    assert not recognizer.recognize(np.zeros(SAMPLE_RATE, np.int16)).in_grammar


def test_unknown_recognizer_is_refused(grammar):
    with pytest.raises(ValueError, match="recognizer must be one of"):
        make_recognizer("vosk", grammar)
