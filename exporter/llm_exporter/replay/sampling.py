"""Random counts as a real application produces them: Poisson and binomial draws, and a
histogram's buckets filled by a multinomial draw. Pure Python (the package has no numpy);
large counts use the normal approximation, which is exact enough there and fast."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean < 30:
        # Knuth: multiply uniforms until the product falls below e^-mean.
        limit, k, p = math.exp(-mean), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    mean = n * p
    if mean < 15 and p < 0.1:  # rare events: Poisson is close and cheap
        return min(n, poisson(rng, mean))
    if n < 25:
        return sum(rng.random() < p for _ in range(n))
    if n - mean < 15:
        return n - min(n, poisson(rng, n - mean))
    return min(n, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - p))))))


def multinomial(rng: random.Random, n: int, probs: Sequence[float]) -> list[int]:
    """n draws over bins with these probabilities (summing to 1): the count in each bin."""
    out = [0] * len(probs)
    left, mass = n, 1.0
    for i, p in enumerate(probs):
        if left <= 0:
            break
        if i == len(probs) - 1 or mass <= p:
            out[i] = left
            break
        drawn = binomial(rng, left, p / mass)
        out[i] = drawn
        left -= drawn
        mass -= p
    return out


def lognormal_cdf(x: float, median: float, sigma: float) -> float:
    if x == math.inf:
        return 1.0
    if x <= 0:
        return 0.0
    return 0.5 * (1 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2))))


def bucket_probs(cdf_at: list[float]) -> list[float]:
    """Per-bin probabilities from the CDF at each upper bound (the last bound is +Inf)."""
    probs, before = [], 0.0
    for value in cdf_at:
        probs.append(max(0.0, value - before))
        before = value
    return probs


def total_of(rng: random.Random, n: int, mean: float, spread: float) -> float:
    """The sum of n draws with this mean and relative spread (normal approximation)."""
    if n <= 0:
        return 0.0
    return max(0.0, rng.gauss(n * mean, math.sqrt(n) * mean * spread))
