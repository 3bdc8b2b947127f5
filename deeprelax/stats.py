"""Small statistics shared by the chapters: observed orders of convergence, means with CIs."""
from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054     # two-sided 95 % normal quantile


def fit_order(h, err) -> float:
    """Least-squares slope of log(err) against log(h): the observed order of convergence."""
    h, err = np.asarray(h, float), np.asarray(err, float)
    if h.size < 2 or np.any(h <= 0) or np.any(err <= 0):
        raise ValueError("need at least two positive (h, err) pairs to fit an order")
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])


def mean_ci(a, z: float = Z95) -> tuple[float, float]:
    """Sample mean and the half-width z * s / sqrt(n) of its normal confidence interval (95 % default)."""
    a = np.asarray(a, float).ravel()
    if a.size < 2:
        raise ValueError("need at least two samples for a confidence interval")
    return float(a.mean()), float(z * a.std(ddof=1) / np.sqrt(a.size))
