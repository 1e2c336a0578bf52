"""The reference tokenizers of the benchmark: faithful behaviour, faults included."""

from __future__ import annotations

import numpy as np
import pytest

from motionvla_model.dsft.baselines import (
    BaselineDecodeError,
    BaselineEncodeError,
    FASTTokenizer,
    WholeClipTokenizer,
)
from motionvla_model.motion.features import joints_to_features
from motionvla_model.motion.human_clips import load_omomo
from motionvla_model.motion.resample import resample


@pytest.fixture(scope="module")
def clips() -> list[np.ndarray]:
    out = []
    for name in ("omomo/sub3_largebox_003", "omomo/sub10_largebox_049"):
        clip = load_omomo(name)
        features = joints_to_features(resample(clip.joints, clip.fps, 20.0), fps=20.0)
        out += [features[:60], features[60:120], features[-60:]]
    return out


def test_whole_clip_round_trip_needs_the_frame_count(clips):
    tokenizer = WholeClipTokenizer(scale=100.0).train(clips)
    x = clips[0]
    ids, clamped = tokenizer.encode(x)
    assert clamped == 0
    decoded = tokenizer.decode(ids["base"], ids["phys"], len(x))
    assert decoded.shape == x.shape
    # Low-passed to 5 / 25 coefficients over the clip, but close on a 3-s clip.
    base = tokenizer.layout.base_dims
    assert np.abs(decoded[:, base] - x[:, base]).mean() < np.abs(x[:, base]).mean()
    # The token stream carries no length: any frame count decodes.
    assert tokenizer.decode(ids["base"], ids["phys"], 7).shape == (7, 263)


def test_whole_clip_keeps_the_published_faults(clips):
    tokenizer = WholeClipTokenizer().train(clips)
    far = clips[0] - 100.0
    with pytest.raises(BaselineEncodeError):
        tokenizer.encode(far)
    ids, clamped = tokenizer.encode(far, clamp=True)
    assert clamped > 0
    with pytest.raises(BaselineDecodeError):
        tokenizer.decode([*ids["base"].tolist(), 10**6], ids["phys"], 60)
    with pytest.raises(BaselineDecodeError):
        tokenizer.decode(np.concatenate([ids["base"]] * 3), ids["phys"], 60)
    # A truncated stream is padded with the most negative value, not the mean.
    good, _ = tokenizer.encode(clips[0])
    base = tokenizer.layout.base_dims
    full = tokenizer.decode(good["base"], good["phys"], 60)[:, base]
    short = tokenizer.decode(good["base"][:1], good["phys"], 60)[:, base]
    assert short.mean() < full.mean() - 0.5


def test_fast_round_trip_and_zero_fallback(clips):
    tokenizer = FASTTokenizer(scale=30.0).train(clips)
    x = clips[1]
    decoded = tokenizer.decode(tokenizer.encode(x))
    assert decoded.shape == x.shape
    assert np.abs(decoded - x).mean() < 0.1 * np.abs(x).mean()
    fallback = tokenizer.decode([])
    assert fallback.shape == (20, 263) and np.isfinite(fallback).all()
