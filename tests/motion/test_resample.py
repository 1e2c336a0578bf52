"""Frame-rate conversion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motionvla_model.motion.human_clips import OMOMO_NAMES, load_omomo
from motionvla_model.motion.resample import resample, resampled_length
from motionvla_model.motion.skeleton import MotionShapeError


def test_length_rule():
    assert resampled_length(196, 30, 20) == 131
    assert resampled_length(121, 120, 20) == 21
    assert resampled_length(1, 30, 20) == 1
    assert resampled_length(2, 20, 60) == 4


def test_linear_signal_is_reproduced_exactly():
    t = np.arange(31) / 30.0
    x = np.stack([3 * t, -t + 1], axis=1)
    y = resample(x, 30, 20)
    t_out = np.arange(len(y)) / 20.0
    np.testing.assert_allclose(y, np.stack([3 * t_out, -t_out + 1], axis=1), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    frames=st.integers(1, 200),
    src=st.sampled_from([20.0, 24.0, 30.0, 50.0, 60.0, 120.0]),
    dst=st.sampled_from([10.0, 20.0, 30.0, 33.3]),
    seed=st.integers(0, 1000),
)
def test_endpoints_span_and_range(frames, src, dst, seed):
    x = np.random.default_rng(seed).normal(size=(frames, 4, 3)).astype(np.float32)
    y = resample(x, src, dst)
    assert y.dtype == np.float32
    assert y.shape == (resampled_length(frames, src, dst), 4, 3)
    np.testing.assert_array_equal(y[0], x[0])
    assert (len(y) - 1) / dst <= (frames - 1) / src + 1e-9
    assert (len(y)) / dst > (frames - 1) / src - 1e-9  # no whole output frame is left out
    assert np.all(y <= x.max(axis=0) + 1e-6) and np.all(y >= x.min(axis=0) - 1e-6)


def test_same_rate_is_a_copy_and_round_trip_of_an_upsample():
    x = np.random.default_rng(0).normal(size=(40, 5))
    same = resample(x, 20, 20)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    np.testing.assert_allclose(resample(resample(x, 20, 60), 60, 20), x, atol=1e-12)


def test_real_clip_to_20_fps():
    clip = load_omomo(OMOMO_NAMES[0])
    joints = resample(clip.joints, clip.fps, 20.0)
    assert joints.shape == (131, 22, 3)
    np.testing.assert_allclose(joints[-1], clip.joints[-1], atol=1e-6)  # 195/30 s = 130/20 s
    np.testing.assert_allclose(joints[2], clip.joints[3], atol=1e-6)


def test_errors():
    with pytest.raises(MotionShapeError, match="empty"):
        resample(np.zeros((0, 3)), 30, 20)
    with pytest.raises(MotionShapeError, match="scalar"):
        resample(np.float32(1.0), 30, 20)
    with pytest.raises(ValueError, match="src_fps"):
        resample(np.zeros((3, 3)), 0, 20)
    with pytest.raises(ValueError, match="dst_fps"):
        resample(np.zeros((3, 3)), 30, float("nan"))
