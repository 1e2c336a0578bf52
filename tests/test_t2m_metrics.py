"""HumanML3D benchmark metrics on embeddings with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from training.t2m_metrics import (
    MetricInputError,
    activation_statistics,
    diversity,
    euclidean_distances,
    fid,
    frechet_distance,
    multimodality,
    retrieval_scores,
)


def _closed_form_fid(mu1, s1, mu2, s2) -> float:
    # tr (S1 S2)^1/2 = tr (S1^1/2 S2 S1^1/2)^1/2, a symmetric PSD matrix: sum of the square
    # roots of its eigenvalues, computed independently of sqrtm.
    w, v = np.linalg.eigh(s1)
    half = v @ np.diag(np.sqrt(w)) @ v.T
    inner = np.linalg.eigvalsh(half @ s2 @ half)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(inner.clip(0)).sum())


def _spd(rng, dim: int) -> np.ndarray:
    a = rng.normal(size=(dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def test_distances_match_a_direct_computation_and_are_never_nan():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    direct = np.linalg.norm(a[:, None] - b[None], axis=-1)
    np.testing.assert_allclose(euclidean_distances(a, b), direct, rtol=1e-10)
    x = rng.normal(size=(3, 512)) * 1e3
    assert np.isfinite(euclidean_distances(x, x)).all()
    assert np.allclose(np.diag(euclidean_distances(x, x)), 0.0, atol=1e-3)


def test_r_precision_is_one_and_matching_zero_when_text_equals_motion():
    x = np.random.default_rng(1).normal(size=(100, 16))
    scores = retrieval_scores(x, x)
    assert scores.r_precision == (1.0, 1.0, 1.0)
    assert scores.matching_score == pytest.approx(0.0, abs=1e-6)
    assert (scores.num_samples, scores.batch_size) == (96, 32)  # the remainder is dropped


def test_matching_score_is_the_distance_to_the_own_motion():
    rng = np.random.default_rng(2)
    text = rng.normal(size=(64, 8))
    offset = rng.normal(size=(64, 8))
    offset *= 0.5 / np.linalg.norm(offset, axis=1, keepdims=True)
    assert retrieval_scores(text, text + offset).matching_score == pytest.approx(0.5)


def test_r_precision_of_unrelated_embeddings_is_k_over_the_batch():
    rng = np.random.default_rng(3)
    text, motion = rng.normal(size=(32 * 300, 8)), rng.normal(size=(32 * 300, 8))
    scores = retrieval_scores(text, motion, seed=4)
    # Binomial standard error at 9600 samples is about 0.002-0.003.
    for k, value in enumerate(scores.r_precision, start=1):
        assert value == pytest.approx(k / 32, abs=0.012)


def test_r_precision_counts_the_rank_within_the_batch():
    # Motion i lies 6 past text i, so motion i-1 (4 away) is nearer to text i than its own:
    # every text but text 0 finds its own motion second.
    text = np.arange(32, dtype=float)[:, None] * 10.0
    scores = retrieval_scores(text, text + 6.0, top_k=3)
    assert scores.r_precision == pytest.approx((1 / 32, 1.0, 1.0))
    assert scores.matching_score == pytest.approx(6.0)


def test_retrieval_rejects_bad_inputs():
    x = np.zeros((40, 4))
    with pytest.raises(MetricInputError, match="one R-precision batch"):
        retrieval_scores(x[:10], x[:10])
    with pytest.raises(MetricInputError, match="must match"):
        retrieval_scores(x, x[:, :3])
    with pytest.raises(MetricInputError, match="top_k"):
        retrieval_scores(x, x, top_k=33)
    with pytest.raises(MetricInputError, match="NaN"):
        retrieval_scores(np.full((40, 4), np.nan), x)


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(5).normal(size=(400, 32))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_equals_the_closed_form():
    rng = np.random.default_rng(6)
    # One dimension: (mu1 - mu2)^2 + (sigma1 - sigma2)^2.
    one_d = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.eye(1) * 9)
    assert one_d == pytest.approx(9.0 + 1.0)
    # Diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = rng.uniform(0.5, 3.0, 6), rng.uniform(0.5, 3.0, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    # General (non-commuting) covariances.
    s1, s2 = _spd(rng, 12), _spd(rng, 12)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        _closed_form_fid(mu1, s1, mu2, s2), rel=1e-8
    )


def test_fid_of_samples_approaches_the_distance_of_their_gaussians():
    rng = np.random.default_rng(7)
    s1, s2 = _spd(rng, 4), _spd(rng, 4)
    mu1, mu2 = np.zeros(4), np.full(4, 0.5)
    x = rng.multivariate_normal(mu1, s1, size=40000)
    y = rng.multivariate_normal(mu2, s2, size=40000)
    expected = _closed_form_fid(mu1, s1, mu2, s2)
    assert fid(x, y) == pytest.approx(expected, rel=0.05)
    mu, cov = activation_statistics(x)
    np.testing.assert_allclose(cov, np.cov(x.T), rtol=1e-12)
    assert mu.shape == (4,)


def test_fid_survives_singular_covariances():
    # Fewer samples than dimensions: both covariances are rank-deficient.
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(10, 64)) + 1.0
    value = fid(x, y)
    assert np.isfinite(value) and value > 0


def test_frechet_distance_rejects_mismatched_gaussians():
    with pytest.raises(MetricInputError, match="dimension"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(MetricInputError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))


def test_diversity_of_known_points():
    # Vertices of a scaled simplex: every two distinct points are 3 * sqrt(2) apart; the
    # published estimator pairs a point with itself with probability 1/N.
    n = 2000
    points = np.eye(n) * 3.0
    assert diversity(points, seed=9) == pytest.approx(3.0 * np.sqrt(2.0), rel=0.01)
    # Two points at distance 2: each pair is (a, a), (a, b), (b, a) or (b, b).
    assert diversity(np.array([[0.0, 0.0], [2.0, 0.0]])) in (0.0, 1.0, 2.0)
    assert diversity(np.ones((50, 3))) == 0.0
    assert diversity(points, seed=9) == diversity(points, seed=9)  # seeded


def test_diversity_of_gaussian_points_is_sqrt_two_d():
    d = 256
    x = np.random.default_rng(10).normal(size=(3000, d))
    assert diversity(x, seed=1) == pytest.approx(np.sqrt(2 * d), rel=0.02)


def test_multimodality():
    rng = np.random.default_rng(11)
    same = np.repeat(rng.normal(size=(20, 1, 8)), 30, axis=1)
    assert multimodality(same) == 0.0
    # Each caption's generations on a simplex of edge 5 * sqrt(2), placed anywhere.
    spread = np.eye(30)[None] * 5.0 + rng.normal(size=(200, 1, 30)) * 10.0
    # 10 index pairs shared by all captions; each is a self-pair (distance 0) with
    # probability 1/30, so the value is edge * (distinct pairs / 10).
    distinct_fraction = multimodality(spread, seed=3) / (5.0 * np.sqrt(2.0))
    assert distinct_fraction * 10 == pytest.approx(round(distinct_fraction * 10))
    assert distinct_fraction >= 0.7
    with pytest.raises(MetricInputError, match="repeats >= 2"):
        multimodality(rng.normal(size=(5, 1, 8)))
    with pytest.raises(MetricInputError, match="repeats >= 2"):
        multimodality(rng.normal(size=(5, 8)))


def test_the_closed_form_helper_agrees_with_sqrtm():
    rng = np.random.default_rng(12)
    s1, s2 = _spd(rng, 5), _spd(rng, 5)
    root = linalg.sqrtm(s1 @ s2)
    assert np.trace(root).real == pytest.approx(
        (_closed_form_fid(np.zeros(5), s1, np.zeros(5), s2) - np.trace(s1) - np.trace(s2)) / -2
    )
