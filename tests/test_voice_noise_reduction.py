"""The Wiener filter in front of the recogniser: it measures the noise in the utterance's
padding, lowers it there and keeps the speech."""

from __future__ import annotations

import numpy as np
import pytest

from motionvla_ros.audio_input import StreamResampler
from motionvla_ros.noise_reduction import WienerFilter
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


def test_noise_in_the_padding_is_lowered_and_the_speech_kept():
    clean, speech = _padded_speech()
    noise = np.random.default_rng(0).normal(0.0, np.sqrt(np.mean(clean[speech] ** 2) / 10),
                                            len(clean))  # 10 dB SNR  # fmt: skip
    noisy = np.round(clean + noise).astype(np.int16)
    filtered = WienerFilter()(noisy)
    assert filtered is not None and filtered.dtype == np.int16 and len(filtered) == len(noisy)
    quiet = slice(0, int(0.25 * SAMPLE_RATE))
    assert _db(filtered[quiet]) < _db(noisy[quiet]) - 8.0  # the noise alone: >= 8 dB less
    # The speech keeps most of its power and comes closer to the clean speech.
    assert _db(filtered[speech]) > _db(clean[speech]) - 3.0
    assert _db(filtered[speech] - clean[speech]) < _db(noisy[speech] - clean[speech]) - 2.0


def test_clean_or_short_audio_is_left_alone():
    clean, _ = _padded_speech()
    dithered = np.round(clean + np.random.default_rng(1).normal(0, 8, len(clean)))
    assert WienerFilter()(dithered.astype(np.int16)) is None  # -72 dBFS: nothing to remove
    loud_but_short = np.random.default_rng(2).normal(0, 3000, 2000).astype(np.int16)
    assert WienerFilter()(loud_but_short) is None


@pytest.mark.parametrize(
    "arguments",
    [{"edge_s": 0.0}, {"edge_s": 2.0}, {"min_noise_rms": -1.0}, {"gain_floor": 0.0},
     {"gain_floor": 1.5}, {"smoothing": 1.0}, {"smoothing": -0.1}],
)  # fmt: skip
def test_filter_settings_are_checked(arguments):
    with pytest.raises(ValueError):
        WienerFilter(**arguments)
