"""Euler-Maruyama against the exact moments of an Ornstein-Uhlenbeck process."""
import numpy as np
import pytest

from deeprelax.sde import euler_maruyama


def test_ou_moments_match_closed_form():
    # dX = -k X ds + sigma dW, X0 = 1: mean e^{-kT}, variance sigma^2 (1 - e^{-2kT}) / (2k)
    k, sigma, T, n = 2.0, 0.5, 1.0, 200_000
    rng = np.random.default_rng(0)
    x = euler_maruyama(lambda x, s: -k * x, np.ones((n, 1)), 1e-3, 1000, sigma, rng)
    mean, var = np.exp(-k * T), sigma**2 * (1 - np.exp(-2 * k * T)) / (2 * k)
    se_mean = np.sqrt(var / n)
    assert abs(x.mean() - mean) < 4 * se_mean + 2e-3      # MC error + O(dt) bias
    assert abs(x.var() - var) / var < 0.02


def test_record_path_shape_and_bad_args():
    rng = np.random.default_rng(1)
    x, path = euler_maruyama(lambda x, s: 0 * x, np.zeros((3, 2)), 0.1, 10, 0.0, rng,
                             record_every=5)
    assert path.shape == (3, 3, 2) and np.all(x == 0)
    with pytest.raises(ValueError):
        euler_maruyama(lambda x, s: x, np.zeros(3), 0.1, 1, 1.0, rng)
