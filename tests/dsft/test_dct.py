"""Windowed DCT and how windows are joined at their seams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motionvla_model.dsft.dct import (
    boundary_acceleration_ratio,
    frame_windows,
    num_windows,
    smooth_seams,
    smooth_window_boundaries,
    window_dct,
    window_idct,
)


@settings(max_examples=50, deadline=None)
@given(frames=st.integers(1, 90), window=st.integers(2, 30), channels=st.integers(1, 5))
def test_full_windowed_dct_inverts_exactly(frames, window, channels):
    x = np.random.default_rng(frames).normal(size=(frames, channels))
    windows = frame_windows(x, window)
    assert windows.shape == (num_windows(frames, window), window, channels)
    back = window_idct(window_dct(windows, window), window).reshape(-1, channels)
    np.testing.assert_allclose(back[:frames], x, atol=1e-10)
    # The padding repeats the last frame, so the signal stays smooth.
    np.testing.assert_allclose(back[frames:], np.repeat(x[-1:], len(back) - frames, 0), atol=1e-10)


def test_truncated_dct_is_energy_preserving_and_low_passes():
    t = np.arange(40)[:, None] / 20.0
    slow, fast = np.sin(2 * np.pi * 0.5 * t), 0.1 * np.sin(2 * np.pi * 8 * t)
    windows = frame_windows(slow + fast, 20)
    coefficients = window_dct(windows, 20)
    np.testing.assert_allclose((coefficients**2).sum(), (windows**2).sum())
    # Keeping 8 of 20 coefficients removes most of the 8 Hz ripple (rms 0.071).
    low = window_idct(coefficients[:, :8], 20).reshape(-1, 1)
    assert np.sqrt(((low - slow) ** 2).mean()) < 0.025


def test_dct_rejects_bad_shapes():
    with pytest.raises(ValueError):
        frame_windows(np.zeros(5), 4)
    with pytest.raises(ValueError):
        window_dct(np.zeros((1, 4, 2)), 5)
    with pytest.raises(ValueError):
        window_idct(np.zeros((1, 6, 2)), 4)


def test_boundary_smoothing_ramps_a_step_and_keeps_smooth_signals():
    t = np.arange(47, dtype=np.float64)[:, None]
    ramp = np.hstack([2.0 * t, np.full_like(t, 3.0)])
    np.testing.assert_allclose(smooth_window_boundaries(ramp, 20, 2), ramp, atol=1e-12)
    # A step of 1 at the boundary of frame 20 becomes a ramp: half of it moved to each
    # side of frames 19 | 20, a quarter to 18 | 21; far frames and the length unchanged.
    step = (t >= 20).astype(np.float64)
    smoothed = smooth_window_boundaries(step, 20, 2)[:, 0]
    np.testing.assert_allclose(smoothed[17:23], [0, 0.25, 0.5, 0.5, 0.75, 1])
    assert smoothed.shape == (47,) and smoothed[40:].tolist() == [1.0] * 7
    np.testing.assert_array_equal(smooth_window_boundaries(step, 20, 0), step)
    # One window, or a last window of one frame (no slope after it): nothing to smooth.
    np.testing.assert_array_equal(smooth_window_boundaries(step[:21], 20, 2), step[:21])


def test_boundary_smoothing_rejects_bad_arguments():
    with pytest.raises(ValueError):
        smooth_window_boundaries(np.zeros(5), 4, 1)
    with pytest.raises(ValueError):
        smooth_window_boundaries(np.zeros((8, 1)), 4, 3)


@settings(max_examples=40, deadline=None)
@given(
    windows=st.integers(1, 8),
    polynomial=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    jumps=st.lists(st.floats(-1.0, 1.0), min_size=8, max_size=8),
    seed=st.integers(0, 2**16),
)
def test_seam_smoothing_keeps_slow_motion_and_never_adds_jerk(windows, polynomial, jumps, seed):
    """A constant-acceleration signal passes unchanged whatever the window count; windows
    that meet with arbitrary steps come out with less jerk, and acceleration at the seams
    bounded by the steps."""
    t = np.arange(windows * 20, dtype=float) / 20
    a, b, c = polynomial
    parabola = (a + b * t + c * t**2)[:, None]
    np.testing.assert_allclose(smooth_seams(parabola, 20), parabola, atol=1e-8)

    steps = np.repeat(np.cumsum(jumps[:windows]), 20)[:, None]
    x = parabola + steps + 0.01 * np.random.default_rng(seed).normal(size=parabola.shape)
    y = smooth_seams(x, 20)
    jerk = [np.square(np.diff(v, n=3, axis=0)).sum() for v in (y, x)]
    assert jerk[0] <= jerk[1] * (1 + 1e-9) + 1e-12
    # Each step is spread over the frames around its seam: a step s gives at most
    # about s / 4 per frame² of acceleration there, where the raw step gives 2 s.
    if windows > 1:
        bound = 0.3 * max(abs(j) for j in jumps[1:windows]) + 0.1 + abs(c) / 200
        assert np.abs(np.diff(y, n=2, axis=0)).max() <= bound


def test_seam_smoothing_removes_the_acceleration_spikes_of_coded_windows():
    t = np.arange(200)[:, None] / 20.0
    x = np.sin(2 * np.pi * 0.7 * t + np.arange(4)) + 0.1 * t
    zero_filled = window_idct(window_dct(frame_windows(x, 20), 5), 20).reshape(-1, 4)
    smooth = smooth_seams(zero_filled, 20)
    assert boundary_acceleration_ratio(x, 20) == pytest.approx(1.0, abs=0.05)
    assert boundary_acceleration_ratio(zero_filled, 20) > 3.0
    assert boundary_acceleration_ratio(smooth, 20) < 1.15
    # Rebuilding the edge frames from the interiors is also the better estimate.
    assert np.sqrt(((smooth - x) ** 2).mean()) < 0.8 * np.sqrt(((zero_filled - x) ** 2).mean())
    # Interior frames of a window move little.
    interior = np.isin(np.arange(200) % 20, range(4, 16))
    assert np.abs(smooth - zero_filled)[interior].max() < 0.02
    with pytest.raises(ValueError, match="stiffness"):
        smooth_seams(zero_filled, 20, stiffness=0.0)
