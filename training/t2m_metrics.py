r"""HumanML3D benchmark metrics from evaluator embeddings (Guo et al. 2022 protocol).

All metrics take embeddings of :class:`~training.t2m_evaluator.T2MEvaluator` (rows are
samples); text row *i* describes motion row *i*. With :math:`d(a, b) = \lVert a - b\rVert_2`:

**R-precision (top-k)** and **Matching score** (:func:`retrieval_scores`). The samples are
shuffled (seeded) and cut into batches of :math:`B = 32` (an incomplete last batch is
dropped, as the published loader does). Within a batch, with
:math:`D_{ij} = d(t_i, m_j)`, text *i* is a top-k hit when its own motion is among the *k*
motions nearest to it:
:math:`\mathrm{hit}_k(i) = [\,|\{j : D_{ij} < D_{ii}\}| < k\,]` (ties broken by a stable
sort). R-precision top-k is the mean of :math:`\mathrm{hit}_k` over all batched samples;
for unrelated embeddings it is about :math:`k / B`. The Matching score is the mean
:math:`D_{ii}`, the distance of each text to its own motion (lower is better).

**FID** (:func:`fid`): fit a Gaussian to each set, :math:`\mu = \bar x`,
:math:`\Sigma = \frac{1}{n-1}\sum (x - \mu)(x - \mu)^\top`, and take the Fréchet distance

.. math:: \mathrm{FID} = \lVert\mu_1 - \mu_2\rVert^2 + \operatorname{tr}\Sigma_1
          + \operatorname{tr}\Sigma_2 - 2\operatorname{tr}\bigl(\Sigma_1\Sigma_2\bigr)^{1/2}.

The matrix square root is ``scipy.linalg.sqrtm``; if it is not finite (a nearly singular
product) :math:`\epsilon I` with :math:`\epsilon = 10^{-6}` is added to both covariances,
and an imaginary part left by rounding is dropped when it is negligible (otherwise
:class:`MetricInputError`).

**Diversity** (:func:`diversity`): draw two index sets of size
:math:`S = \min(300, n)` without replacement, independently, and average
:math:`d(x_{a_s}, x_{b_s})`. **MultiModality** (:func:`multimodality`): for embeddings
``[C, R, D]`` of *R* generations for each of *C* captions, the same with
:math:`S = \min(10, R)` index pairs shared by all captions, averaged over pairs and captions.
Both are the published estimators, which can pair a sample with itself (probability
:math:`1/n`, resp. :math:`1/R`), so they sit slightly below the mean pairwise distance; kept
for comparability with published tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

__all__ = [
    "DIVERSITY_PAIRS",
    "MULTIMODALITY_PAIRS",
    "R_PRECISION_BATCH",
    "MetricInputError",
    "RetrievalScores",
    "activation_statistics",
    "diversity",
    "euclidean_distances",
    "fid",
    "frechet_distance",
    "multimodality",
    "retrieval_scores",
]

R_PRECISION_BATCH = 32
DIVERSITY_PAIRS = 300
MULTIMODALITY_PAIRS = 10
_FID_EPS = 1e-6
_IMAGINARY_TOLERANCE = 1e-3


class MetricInputError(ValueError):
    """Embeddings of the wrong shape or count for a metric."""


def _matrix(x: np.ndarray, name: str, min_rows: int = 1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise MetricInputError(f"{name} must be [N, D], got shape {x.shape}")
    if len(x) < min_rows:
        raise MetricInputError(f"{name} needs at least {min_rows} rows, got {len(x)}")
    if not np.isfinite(x).all():
        raise MetricInputError(f"{name} holds NaN or infinite values")
    return x


def euclidean_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[N1, N2]`` distances between the rows of ``a`` and of ``b``."""
    a, b = _matrix(a, "a"), _matrix(b, "b")
    if a.shape[1] != b.shape[1]:
        raise MetricInputError(f"widths differ: {a.shape[1]} and {b.shape[1]}")
    squared = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    # Rounding can push a zero distance slightly below 0; sqrt would give NaN.
    return np.sqrt(np.maximum(squared, 0.0))


@dataclass(frozen=True)
class RetrievalScores:
    """R-precision for k = 1..len(r_precision), Matching score, and what they counted."""

    r_precision: tuple[float, ...]
    matching_score: float
    num_samples: int
    batch_size: int


def retrieval_scores(
    text: np.ndarray,
    motion: np.ndarray,
    *,
    top_k: int = 3,
    batch_size: int = R_PRECISION_BATCH,
    seed: int = 0,
) -> RetrievalScores:
    """R-precision top-1..``top_k`` and Matching score in shuffled batches (module docstring)."""
    text, motion = _matrix(text, "text"), _matrix(motion, "motion")
    if text.shape != motion.shape:
        raise MetricInputError(f"text {text.shape} and motion {motion.shape} must match")
    if not 1 <= top_k <= batch_size:
        raise MetricInputError(f"need 1 <= top_k <= batch_size, got {top_k}, {batch_size}")
    if len(text) < batch_size:
        raise MetricInputError(
            f"{len(text)} samples do not fill one R-precision batch of {batch_size}"
        )
    order = np.random.default_rng(seed).permutation(len(text))
    num_batches = len(text) // batch_size
    hits = np.zeros(top_k)
    matching = 0.0
    for batch in order[: num_batches * batch_size].reshape(num_batches, batch_size):
        distances = euclidean_distances(text[batch], motion[batch])
        ranking = np.argsort(distances, axis=1, kind="stable")
        rank_of_own = np.argmax(ranking == np.arange(batch_size)[:, None], axis=1)
        hits += (rank_of_own[:, None] < np.arange(1, top_k + 1)[None, :]).sum(0)
        matching += float(np.trace(distances))
    counted = num_batches * batch_size
    return RetrievalScores(
        r_precision=tuple(float(h) / counted for h in hits),
        matching_score=matching / counted,
        num_samples=counted,
        batch_size=batch_size,
    )


def activation_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` of the rows."""
    x = _matrix(x, "embeddings", min_rows=2)
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Fréchet distance of two Gaussians (module docstring), with the usual safeguards."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise MetricInputError(
            f"Gaussians differ in dimension: {mu1.shape}/{sigma1.shape} "
            f"vs {mu2.shape}/{sigma2.shape}"
        )
    if sigma1.shape != (len(mu1), len(mu1)):
        raise MetricInputError(f"covariance {sigma1.shape} does not fit mean {mu1.shape}")
    root = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(root).all():
        offset = np.eye(len(mu1)) * _FID_EPS
        root = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(root):
        if not np.allclose(np.diagonal(root).imag, 0.0, atol=_IMAGINARY_TOLERANCE):
            raise MetricInputError(
                f"covariance product has a square root with imaginary part "
                f"{np.max(np.abs(root.imag)):.3g}; too few samples for the dimension?"
            )
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))


def fid(reference: np.ndarray, other: np.ndarray) -> float:
    """FID between two embedding sets (each needs at least 2 rows)."""
    return frechet_distance(*activation_statistics(reference), *activation_statistics(other))


def diversity(x: np.ndarray, *, num_pairs: int = DIVERSITY_PAIRS, seed: int = 0) -> float:
    """Mean distance of ``min(num_pairs, N)`` random pairs (module docstring)."""
    x = _matrix(x, "embeddings", min_rows=2)
    if num_pairs < 1:
        raise MetricInputError(f"num_pairs must be >= 1, got {num_pairs}")
    rng = np.random.default_rng(seed)
    size = min(num_pairs, len(x))
    first = rng.choice(len(x), size, replace=False)
    second = rng.choice(len(x), size, replace=False)
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def multimodality(x: np.ndarray, *, num_pairs: int = MULTIMODALITY_PAIRS, seed: int = 0) -> float:
    """Mean distance between generations for one caption, ``x`` of shape ``[C, R, D]``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] < 2:
        raise MetricInputError(
            f"multimodality needs [captions, repeats >= 2, D] embeddings, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise MetricInputError("embeddings hold NaN or infinite values")
    if num_pairs < 1:
        raise MetricInputError(f"num_pairs must be >= 1, got {num_pairs}")
    rng = np.random.default_rng(seed)
    size = min(num_pairs, x.shape[1])
    first = rng.choice(x.shape[1], size, replace=False)
    second = rng.choice(x.shape[1], size, replace=False)
    return float(np.linalg.norm(x[:, first] - x[:, second], axis=2).mean())
