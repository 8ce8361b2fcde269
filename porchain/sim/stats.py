"""Means and Student-t confidence intervals for a sweep's report, without SciPy.

The t distribution's two-sided probability for integer degrees of freedom has a finite series
(Abramowitz and Stegun 26.7.3 and 26.7.4); its quantile is found by bisection. Exact to the
float, cached per degrees of freedom, so a report over many points costs nothing to speak of.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
BISECTION_STEPS = 200
T_UPPER = 1e7  # above any 95% quantile (df = 1 gives 12.7)


@dataclass(frozen=True)
class Interval:
    """A mean with the half-width of its confidence interval (None when n < 2)."""

    mean: float
    half_width: float | None
    n: int


def t_two_sided(t: float, df: int) -> float:
    """P(|T| <= t) for Student's T with `df` degrees of freedom (A&S 26.7.3-4)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    theta = math.atan(t / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2 == 0:
        term = total = 1.0
        for k in range(2, df - 1, 2):  # 1 + c2/2 + 1*3 c2^2/(2*4) + ...
            term *= c2 * (k - 1) / k
            total += term
        return s * total
    if df == 1:
        return 2 * theta / math.pi
    term = total = 1.0
    for k in range(3, df - 1, 2):  # 1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...
        term *= c2 * (k - 1) / k
        total += term
    return 2 / math.pi * (theta + s * math.cos(theta) * total)


@functools.lru_cache(maxsize=1024)
def t_quantile(df: int, confidence: float = CONFIDENCE) -> float:
    """The t with P(|T| <= t) = confidence: the multiplier of a two-sided interval."""
    low, high = 0.0, T_UPPER
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        if t_two_sided(mid, df) < confidence:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2


def interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean and the half-width of its Student-t interval (n - 1 degrees of freedom)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n < 2:
        return Interval(mean, None, n)
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return Interval(mean, t_quantile(n - 1, confidence) * math.sqrt(variance / n), n)
