"""Per-dimension feature statistics: computation, floors, JSON/safetensors round trips."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motionvla_model.motion.features import joints_to_features
from motionvla_model.motion.human_clips import OMOMO_NAMES, load_omomo
from motionvla_model.motion.normalization import DEFAULT_MIN_STD, FeatureStats, StatsFormatError
from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import MotionShapeError, NonFiniteMotionError


@pytest.fixture(scope="module")
def real_features():
    clips = [load_omomo(name) for name in OMOMO_NAMES]
    return [joints_to_features(resample(c.joints, c.fps, 20.0)) for c in clips]


def test_compute_matches_numpy_over_all_frames(real_features):
    stats = FeatureStats.compute(real_features, layout="humanml3d")
    stacked = np.concatenate(real_features).astype(np.float64)
    np.testing.assert_allclose(stats.mean, stacked.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(
        stats.std, np.maximum(stacked.std(axis=0), DEFAULT_MIN_STD), atol=1e-12
    )
    assert stats.count == len(stacked) and stats.dim == 263


def test_normalized_real_features_are_standard_and_invertible(real_features):
    stats = FeatureStats.compute(real_features)
    z = stats.normalize(np.concatenate(real_features))
    assert z.dtype == np.float32
    varying = np.concatenate(real_features).std(axis=0) > 1e-2
    np.testing.assert_allclose(z.mean(axis=0)[varying], 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0)[varying], 1.0, atol=1e-3)
    np.testing.assert_allclose(stats.denormalize(z), np.concatenate(real_features), atol=1e-5)


def test_constant_dims_are_floored_not_blown_up():
    x = np.ones((50, 3))
    x[:, 1] = np.linspace(0, 1, 50)
    stats = FeatureStats.compute([x], min_std=0.01)
    assert stats.std[0] == 0.01 and stats.std[2] == 0.01
    fresh = np.array([[1.001, 0.5, 1.0]])
    assert np.all(np.abs(stats.normalize(fresh)) < 2)


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    dim=st.integers(1, 8),
    seed=st.integers(0, 10_000),
)
def test_merging_chunks_equals_one_pass(sizes, dim, seed):
    rng = np.random.default_rng(seed)
    chunks = [rng.normal(loc=1e3, scale=rng.uniform(0.1, 5), size=(n, dim)) for n in sizes]
    stats = FeatureStats.compute(chunks, min_std=1e-9)
    whole = np.concatenate(chunks)
    np.testing.assert_allclose(stats.mean, whole.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.std, np.maximum(whole.std(axis=0), 1e-9), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("suffix", [".json", ".safetensors"])
def test_save_and_load_are_exact(tmp_path, real_features, suffix):
    stats = FeatureStats.compute(real_features, layout="humanml3d")
    path = stats.save(tmp_path / "sub" / f"stats{suffix}")
    loaded = FeatureStats.load(path)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.std, stats.std)
    assert (loaded.count, loaded.layout) == (stats.count, "humanml3d")


def test_dict_is_json_serialisable():
    stats = FeatureStats(mean=[0.0, 1.0], std=[1.0, 2.0])
    data = json.loads(json.dumps(stats.to_dict()))
    assert FeatureStats.from_dict(data).std.tolist() == [1.0, 2.0]


def test_errors(tmp_path):
    with pytest.raises(MotionShapeError, match="no frames"):
        FeatureStats.compute([])
    with pytest.raises(MotionShapeError, match=r"array 1 has shape \(3, 4\)"):
        FeatureStats.compute([np.zeros((3, 5)), np.zeros((3, 4))])
    bad = np.zeros((4, 2))
    bad[2, 1] = np.nan
    with pytest.raises(NonFiniteMotionError, match=r"frames \[2\]"):
        FeatureStats.compute([bad])
    with pytest.raises(ValueError, match="positive"):
        FeatureStats(mean=[0.0], std=[0.0])
    with pytest.raises(MotionShapeError, match="differ"):
        FeatureStats(mean=[0.0, 1.0], std=[1.0])
    stats = FeatureStats(mean=[0.0, 1.0], std=[1.0, 2.0])
    with pytest.raises(MotionShapeError, match=r"\[\.\.\., 2\]"):
        stats.normalize(np.zeros((3, 3)))
    with pytest.raises(StatsFormatError, match="format"):
        FeatureStats.from_dict({"mean": [0.0], "std": [1.0]})
    with pytest.raises(StatsFormatError, match="lack the field"):
        FeatureStats.from_dict({"format": stats.to_dict()["format"], "mean": [0.0]})
    with pytest.raises(StatsFormatError, match=r"\.json or \.safetensors"):
        stats.save(tmp_path / "stats.pkl")
    garbage = tmp_path / "stats.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(StatsFormatError, match="readable"):
        FeatureStats.load(garbage)
    (tmp_path / "x.json").write_text("{oops")
    with pytest.raises(StatsFormatError, match="valid JSON"):
        FeatureStats.load(tmp_path / "x.json")
