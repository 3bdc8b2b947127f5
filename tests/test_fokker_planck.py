"""The finite-volume Fokker-Planck scheme: mass, positivity, OU mean and stationary law."""
import numpy as np
import pytest

from deeprelax.pde.fokker_planck import face_drift, fokker_planck, mass


def _gauss(x, m, s):
    r = np.exp(-0.5 * ((x - m) / s) ** 2)
    return r / mass(r, x)


def test_ou_mean_and_stationary_density():
    # dx = -x ds + beta^-1/2 dW: E x(t) = x0 e^{-t}; stationary law N(0, 1/(2 beta)).
    x = np.linspace(-4, 4, 801)
    beta = 2.0
    rho0 = _gauss(x, 1.0, 0.2)
    drift = face_drift(x**2 / 2, x)
    rho1, (rho_half,) = fokker_planck(rho0, x, drift, 1.0, beta, snapshots=[0.5])
    dx = x[1] - x[0]
    assert abs((x * rho_half).sum() * dx - np.exp(-0.5)) < 5 * dx     # first-order scheme
    assert abs((x * rho1).sum() * dx - np.exp(-1.0)) < 5 * dx
    rho_inf = fokker_planck(rho0, x, drift, 12.0, beta)
    exact = _gauss(x, 0.0, np.sqrt(1 / (2 * beta)))
    assert np.abs(rho_inf - exact).max() < 0.02 * exact.max()


def test_mass_is_conserved_and_density_stays_nonnegative():
    x = np.linspace(-3, 3, 301)
    f = np.cos(4 * x) + x**2 / 4
    rho0 = _gauss(x, -1.0, 0.5)
    rho = fokker_planck(rho0, x, face_drift(f, x), 5.0, 10.0)
    assert abs(mass(rho, x) - 1.0) < 1e-12
    assert rho.min() >= 0


def test_time_dependent_drift_and_2d():
    x = np.linspace(-2, 2, 81)
    rho0 = np.outer(_gauss(x, 0.0, 0.3), _gauss(x, 0.0, 0.3))
    ones = (np.ones((80, 81)), np.ones((81, 80)))
    rho = fokker_planck(rho0, (x, x), lambda s: tuple(s * b for b in ones), 1.0, 50.0)
    dx = x[1] - x[0]
    mean = (x[:, None] * rho).sum() * dx * dx                # drift s: mean moves by 1/2
    assert abs(mass(rho, (x, x)) - 1) < 1e-12 and abs(mean - 0.5) < 3 * dx


def test_errors():
    x = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="non-negative"):
        fokker_planck(-np.ones(11), x, face_drift(x, x), 1.0, 1.0)
    with pytest.raises(ValueError, match="snapshot"):
        fokker_planck(np.ones(11), x, face_drift(x, x), 1.0, 1.0, snapshots=[2.0])
    with pytest.raises(ValueError, match="uniform"):
        fokker_planck(np.ones(3), np.array([0, 1, 3.0]), (np.ones(2),), 1.0, 1.0)
