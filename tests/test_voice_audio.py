"""Audio in: PCM checks, the streaming resampler, speech synthesis and utterance cutting."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from scipy.signal import resample_poly

from motionvla_ros.audio_input import AudioFormatError, StreamResampler, pcm16_from_bytes
from motionvla_ros.speech_synthesis import Voice, synthesize
from motionvla_ros.voice_activity import (
    SAMPLE_RATE,
    UtteranceSegmenter,
    WebRtcVad,
    make_vad,
)


def test_pcm_bytes_decode_little_endian_and_refuse_odd_counts_and_oversize():
    assert pcm16_from_bytes(b"\x01\x00\xff\xff", 10).tolist() == [1, -1]
    with pytest.raises(AudioFormatError, match="even count"):
        pcm16_from_bytes(b"\x01\x00\x02", 10)
    with pytest.raises(AudioFormatError, match="exceeds the limit"):
        pcm16_from_bytes(bytes(12), 10)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(22050, 16000), (48000, 16000), (8000, 16000)])
def test_stream_resampler_is_chunking_independent_and_matches_resample_poly(rate_in, rate_out):
    x = np.random.default_rng(0).normal(0, 3000, rate_in).astype(np.int16)
    whole = StreamResampler(rate_in, rate_out).process(x)
    chunked_resampler = StreamResampler(rate_in, rate_out)
    sizes = np.random.default_rng(1).integers(1, 2000, 100)
    bounds = np.minimum(np.cumsum(np.concatenate([[0], sizes])), len(x))
    chunked = np.concatenate([chunked_resampler.process(x[a:b]) for a, b in pairwise(bounds)])
    n = min(len(whole), len(chunked))
    assert n >= rate_out - 10
    assert np.abs(whole[:n].astype(int) - chunked[:n]).max() <= 1
    reference = resample_poly(x.astype(np.float64), *_ratio(rate_in, rate_out))
    delay = int(np.argmax([np.dot(whole[k : k + 4000], reference[:4000]) for k in range(40)]))
    error = whole[delay : delay + 10000] - reference[: min(10000, len(whole) - delay)]
    assert np.sqrt(np.mean(error**2)) < 0.01 * np.std(reference)


def _ratio(rate_in: int, rate_out: int) -> tuple[int, int]:
    from math import gcd

    g = gcd(rate_in, rate_out)
    return rate_out // g, rate_in // g


def test_speech_synthesis_speaks_and_validates():
    samples, rate = synthesize("walk forward", Voice("en-us+f1", 200))
    assert rate == 22050 and samples.dtype == np.int16
    assert 0.4 < len(samples) / rate < 2.0 and np.abs(samples).max() > 1000
    with pytest.raises(ValueError, match="empty"):
        synthesize("  ")
    with pytest.raises(ValueError, match="words_per_minute"):
        Voice("en-us", 20)


def _speech(text: str = "walk to the red box") -> np.ndarray:
    samples, rate = synthesize(text)
    return StreamResampler(rate, SAMPLE_RATE).process(samples)


@pytest.mark.parametrize("vad", ["silero", "webrtc"])
def test_an_utterance_in_silence_is_cut_once_with_its_speech(vad):
    speech = _speech()
    pause = np.zeros(SAMPLE_RATE, np.int16)
    stream = np.concatenate([pause, speech, pause])
    segmenter = UtteranceSegmenter(make_vad(vad))
    cuts = [u for i in range(0, len(stream), 1600) for u in segmenter.push(stream[i : i + 1600])]
    assert len(cuts) == 1 and not cuts[0].too_long
    start, end = cuts[0].start_sample, cuts[0].start_sample + len(cuts[0].samples)
    assert start <= SAMPLE_RATE + 800 and end >= SAMPLE_RATE + len(speech) - 1600
    assert cuts[0].duration_s < len(speech) / SAMPLE_RATE + 1.0


@pytest.mark.parametrize("vad", ["silero", "webrtc"])
def test_garbage_makes_no_utterance_and_continuous_sound_stays_bounded(vad):
    rng = np.random.default_rng(0)
    segmenter = UtteranceSegmenter(make_vad(vad), max_utterance_s=2.0)
    silence = np.zeros(10 * SAMPLE_RATE, np.int16)
    assert segmenter.push(silence) == []
    # A loud square wave, clipped: continuous "sound" for a minute.
    square = np.where(np.sin(np.arange(60 * SAMPLE_RATE) * 0.05) > 0, 32767, -32768)
    cuts = []
    for i in range(0, len(square), 8000):
        cuts += segmenter.push(square[i : i + 8000].astype(np.int16))
        assert segmenter.buffered_samples() <= (2.0 + 0.5) * SAMPLE_RATE
    assert all(u.too_long for u in cuts)  # never an ordinary utterance
    noise = np.round(rng.normal(0, 2000, 30 * SAMPLE_RATE)).astype(np.int16)
    cuts = [u for i in range(0, len(noise), 8000) for u in segmenter.push(noise[i : i + 8000])]
    assert all(u.too_long or u.duration_s < 1.5 for u in cuts)


def test_vad_arguments_are_checked():
    with pytest.raises(ValueError, match="aggressiveness"):
        WebRtcVad(5)
    with pytest.raises(ValueError, match="vad must be one of"):
        make_vad("energy")
