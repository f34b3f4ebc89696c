"""Confidence intervals shared by the capabilities' reports (team, prospects, KPIs,
campaigns): one definition, so every report rounds its edges the same way."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["Z95", "wilson_interval"]

#: The 97.5 % standard normal quantile: two-sided 95 % intervals.
Z95: Final = 1.959963984540054


def wilson_interval(
    successes: Any, trials: Any, z: float = Z95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The Wilson score interval of ``successes / trials``, element-wise (NaN where 0 trials).

    The ends are exact at the edges: 0 successes give a lower end of exactly 0, and
    ``successes == trials`` an upper end of exactly 1 (rounding would leave ~1e-17).

    >>> lo, hi = wilson_interval(8, 10)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.49, 0.943)
    >>> [float(x) for x in wilson_interval(0, 10)[0:1]]
    [0.0]
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        lo = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        hi = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
        lo = np.where(n > 0, lo, np.nan)
        hi = np.where(n > 0, hi, np.nan)
    return lo, hi
