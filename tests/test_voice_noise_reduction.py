"""RNNoise in front of the recogniser: it lowers white noise, keeps the speech in place
and in level, and the background level that decides whether it is used."""

from __future__ import annotations

import numpy as np
import pytest

from motionvla_ros import noise_reduction
from motionvla_ros.audio_input import StreamResampler
from motionvla_ros.noise_reduction import NoiseFilterUnavailable, RNNoiseFilter, background_rms
from motionvla_ros.speech_synthesis import Voice, synthesize
from motionvla_ros.voice_activity import SAMPLE_RATE


def _padded_speech() -> tuple[np.ndarray, slice]:
    """A command with 0.3 s of silence either side (as the utterance cutter keeps it) and
    where its speech lies."""
    speech, rate = synthesize("walk to the red box", Voice("en-us", 175))
    speech = StreamResampler(rate, SAMPLE_RATE).process(speech).astype(np.float64)
    pad = np.zeros(int(0.3 * SAMPLE_RATE))
    return np.concatenate([pad, speech, pad]), slice(len(pad), len(pad) + len(speech))


def _db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x.astype(np.float64) ** 2))


def _in_noise(clean: np.ndarray, speech: slice, snr_db: float = 10.0) -> np.ndarray:
    power = np.mean(clean[speech] ** 2) / 10 ** (snr_db / 10)
    noise = np.random.default_rng(0).normal(0.0, np.sqrt(power), len(clean))
    return np.round(clean + noise).astype(np.int16)


def test_noise_is_lowered_and_the_speech_kept_in_place():
    clean, speech = _padded_speech()
    noisy = _in_noise(clean, speech)
    filtered = RNNoiseFilter()(noisy)
    assert filtered.dtype == np.int16 and len(filtered) == len(noisy)
    quiet = slice(0, int(0.25 * SAMPLE_RATE))
    assert _db(filtered[quiet]) < _db(noisy[quiet]) - 15.0  # the noise alone: >= 15 dB less
    # The speech keeps most of its power and comes closer to the clean speech ...
    assert _db(filtered[speech]) > _db(clean[speech]) - 4.0
    assert _db(filtered[speech] - clean[speech]) < _db(noisy[speech] - clean[speech]) - 3.0
    # ... at the same time: RNNoise's two-frame lag is taken out.
    lags = range(-80, 81)
    shifted = (np.roll(filtered.astype(np.float64), lag)[speech] for lag in lags)
    match = [np.dot(x, clean[speech]) for x in shifted]
    assert abs(lags[int(np.argmax(match))]) <= 1


def test_input_share_puts_that_much_of_the_input_back():
    clean, speech = _padded_speech()
    noisy = _in_noise(clean, speech)
    none, some = RNNoiseFilter(input_share=0.0)(noisy), RNNoiseFilter(input_share=0.3)(noisy)
    difference = some.astype(np.float64) - none
    assert np.allclose(difference, 0.3 * noisy, atol=1.0)


def test_background_level_is_the_quieter_edge():
    clean, speech = _padded_speech()
    assert background_rms(clean.astype(np.int16)) == 0.0
    noisy = _in_noise(clean, speech)
    level = background_rms(noisy)
    assert 0.9 < level / np.std(noisy[: int(0.15 * SAMPLE_RATE)].astype(np.float64)) < 1.1
    # A cut that caught the end of a word in its last edge: the first edge still counts.
    loud_end = noisy.copy()
    loud_end[-1000:] = 20000
    assert background_rms(loud_end) == pytest.approx(level, rel=0.01)
    assert background_rms(noisy[:1000]) == 0.0  # too short to have two edges


def test_settings_are_checked_and_a_missing_library_says_what_to_install(monkeypatch):
    for share in (-0.1, 1.0):
        with pytest.raises(ValueError, match="input_share"):
            RNNoiseFilter(input_share=share)
    monkeypatch.setattr(noise_reduction.importlib.util, "find_spec", lambda name: None)
    noise_reduction._rnnoise.cache_clear()
    try:
        with pytest.raises(NoiseFilterUnavailable, match="pip install --no-deps pyrnnoise"):
            RNNoiseFilter()
    finally:
        monkeypatch.undo()
        noise_reduction._rnnoise.cache_clear()
