"""The distances between a reference and a current distribution, as Vertex AI Model Monitoring computes them.

Vertex AI Model Monitoring (through TensorFlow Data Validation) compares numeric features by
Jensen-Shannon divergence and categorical ones by L-infinity distance, on each side's shares:
  - JSD(P, Q) = (KL(P || M) + KL(Q || M)) / 2 with M = (P + Q) / 2, logarithms in base 2, terms of
    empty buckets left out (no smoothing), so it lies in [0, 1]; it is the divergence, the square
    of scipy's `jensenshannon(p, q, base=2)` distance;
  - L-infinity = the largest absolute difference between the two shares of any bucket.
Both accept counts (normalised here) and work along the last axis, so a whole batch of simulated
samples is measured in one call (`noise_floor`).
"""

from __future__ import annotations

import numpy as np

NOISE_DRAWS = 4_000
NOISE_QUANTILE = 0.999


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    return counts / counts.sum(axis=-1, keepdims=True)


def _kl_to(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    ratio = np.divide(p, m, out=np.ones_like(p), where=p > 0)
    return (p * np.log2(ratio)).sum(axis=-1)


def jensen_shannon_divergence(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """JSD of two count vectors (or of rows of two count matrices), in [0, 1]."""
    p, q = _shares(reference), _shares(current)
    m = (p + q) / 2
    return np.clip((_kl_to(p, m) + _kl_to(q, m)) / 2, 0.0, 1.0)


def l_infinity(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The largest difference in share of any bucket, in [0, 1]."""
    return np.abs(_shares(reference) - _shares(current)).max(axis=-1)


METRICS = {"jensen_shannon_divergence": jensen_shannon_divergence, "l_infinity": l_infinity}


def noise_floor(metric: str, reference: np.ndarray, rows: int, seed: int = 0) -> float:
    """The distance that sampling alone exceeds once in 1/(1 - NOISE_QUANTILE) comparisons.

    A parametric bootstrap: NOISE_DRAWS times, draw a reference sample of the reference's size and a
    current sample of `rows` rows, both from the reference's shares, and measure their distance. A
    batch of data from the training distribution stays below this value (in 999 of 1000 checks), so
    a threshold is never applied below it: small batches, whose shares are noisy, raise no alarm.
    """
    shares = _shares(reference)
    generator = np.random.default_rng(seed)
    simulated_reference = generator.multinomial(int(np.sum(reference)), shares, size=NOISE_DRAWS)
    simulated_current = generator.multinomial(rows, shares, size=NOISE_DRAWS)
    distances = METRICS[metric](simulated_reference, simulated_current)
    return float(np.quantile(distances, NOISE_QUANTILE))
