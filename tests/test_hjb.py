"""deeprelax.pde.hjb against closed forms: Cole-Hopf (Remark 10), the linear-quadratic Riccati
solution of (HJB), and the invariants of the forward-backward system (26)."""
import numpy as np
import pytest

from deeprelax.pde import landscapes
from deeprelax.pde.fokker_planck import mass
from deeprelax.pde.hjb import forward_backward, solve_hjb
from deeprelax.pde.landscapes import Quadratic
from deeprelax.pde.local_entropy import local_entropy


def riccati(k, c, beta, tau):
    """u(x, T - tau) = P x^2/2 + r for f = k x^2/2, V = c x^2/2 (time-to-go tau)."""
    q0 = c / (c + 2 * k)
    q = q0 * np.exp(-2 * k * tau)
    return 2 * k * q / (1 - q), np.log((1 - q) / (1 - q0)) / (2 * beta)


def test_hjb_without_drift_is_cole_hopf():
    # Remark 10: with f = 0, (HJB) is (viscous-HJ) in the time-to-go; Cole-Hopf solves it.
    x = np.linspace(-4, 4, 801)
    V = landscapes.figure1().on_grid(x)
    sol = solve_hjb(Quadratic(((0.0,),)), V, x, 1.0, 2.0, n_times=4)
    inside = np.abs(x) <= 2.5
    for k, t in enumerate(sol.times):
        exact = local_entropy(V, x, 1.0 - t, 2.0)
        assert np.abs(sol.u[k] - exact)[inside].max() < 0.02
    assert np.allclose(sol.u[-1], V)


def test_hjb_matches_the_riccati_solution():
    k, c, beta, T = 1.0, 3.0, 2.0, 1.0
    x = np.linspace(-4, 4, 801)
    sol = solve_hjb(Quadratic(((k,),)), 0.5 * c * x**2, x, T, beta, n_times=2)
    P, r = riccati(k, c, beta, T)
    inside = np.abs(x) <= 1.5
    assert np.abs(sol.u[0] - (0.5 * P * x**2 + r))[inside].max() < 0.02
    a = sol.control(np.array([[1.0]]), 0.0)
    assert a[0, 0] == pytest.approx(P, rel=0.02)                        # alpha = grad u


def test_certainty_equivalence_in_the_lq_case():
    # the LQ control P x does not depend on beta (only the constant r does)
    land, x = Quadratic(((1.0,),)), np.linspace(-5, 5, 801)
    V = 1.5 * x**2
    pts = np.array([[-1.0], [0.5]])
    a, b = (solve_hjb(land, V, x, 1.0, beta, n_times=40).control(pts, 0.0)
            for beta in (2.0, 0.25))
    assert np.allclose(a, b, rtol=0.02)


def test_forward_backward_conserves_mass_and_closes_the_identity():
    k, c, beta, T = 1.0, 3.0, 2.0, 1.0
    land = Quadratic(((k,),))
    x = np.linspace(-5, 5, 501)
    V = 0.5 * c * x**2
    rho0 = np.exp(-0.5 * ((x - 1.0) / 0.3) ** 2)
    rho0 /= mass(rho0, x)
    fb = forward_backward(land, solve_hjb(land, V, x, T, beta, 80), V, rho0)
    assert fb.mass_error < 1e-12 and fb.rho_csgd.min() >= 0
    assert abs(fb.identity_gap) < 0.02 and fb.margin > 0
    # E V under SGD from the OU law N(m e^{-kT}, s^2 e^{-2kT} + (1 - e^{-2kT})/(2 k beta))
    m2 = np.exp(-2 * k * T) * (1.0 + 0.09) + (1 - np.exp(-2 * k * T)) / (2 * k * beta)
    assert fb.EV_sgd == pytest.approx(0.5 * c * m2, rel=0.03)
    with pytest.raises(ValueError, match="mass 1"):
        forward_backward(land, solve_hjb(land, V, x, T, beta, 4), V, 2 * rho0)


def test_bad_input():
    x = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="match the grid"):
        solve_hjb(Quadratic(((1.0,),)), np.zeros(5), x, 1.0, 1.0)
    with pytest.raises(ValueError, match="T > 0"):
        solve_hjb(Quadratic(((1.0,),)), np.zeros(11), x, 0.0, 1.0)
