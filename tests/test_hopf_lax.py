"""Lemmas 2-3: Hopf-Lax refined to round-off, the gradient (15), the beta -> oo limit, dynamics (16)."""
import numpy as np
import pytest

from deeprelax import hopf_lax, landscapes, prox
from deeprelax.chapters import ch03_local_entropy as section3


@pytest.fixture(scope="module")
def land():
    return section3.landscape_1d(1)


def test_exact_hopf_lax_is_below_the_grid_minimum_by_O_dx2(land):
    x = np.linspace(-5, 5, 1001)
    u, ys = prox.hopf_lax_exact(land, x, 0.6)
    ug = hopf_lax.hopf_lax(land.on_grid(x), x, 0.6)
    dx = x[1] - x[0]
    gap = ug - u
    assert gap.min() > -1e-12                        # the grid minimum cannot beat the true one
    assert gap.max() < 2 * dx**2 * (1 / 0.6 + 10)    # half a cell away: (phi'' max) dx^2 / 8
    # first-order condition of the prox (14), at every grid point
    g = land.grad(ys)[:, 0] + (ys[:, 0] - x) / 0.6
    assert np.abs(g).max() < 1e-10


def test_eq15_and_the_shock(land):
    e = section3.lemma2_prox_gradient(land, 2001, 0.2, 5.0, 3.0)
    dx = 10 / 2000
    assert e["err_prox_grad"] < 1e-10 and len(e["shocks"]) == 0
    assert e["err_fd_smooth"] < 50 * dx**2
    k = section3.lemma2_prox_gradient(land, 2001, 0.6, 5.0, 3.0)
    assert len(k["shocks"]) >= 1 and k["jump"] > 0.5
    assert max(k["err_left"], k["err_right"]) < 20 * dx
    assert k["slope_jump"] == pytest.approx(k["jump"] / 0.6, abs=20 * dx)


def test_branch_selection_in_2d_near_shocks():
    # no convex kinks: sup of second differences of u_HL stays below 1/(1/C + t) (+ O(dx^2))
    land = landscapes.random_fourier(2, seed=5)
    x = np.linspace(-6, 6, 161)
    u, _ = prox.hopf_lax_exact(land, (x, x), 1.0)
    d2 = (u[2:, 1:-1] - 2 * u[1:-1, 1:-1] + u[:-2, 1:-1]) / (x[1] - x[0]) ** 2
    X = landscapes.grid_points((x, x))
    C = land.hess(X)[..., 0, 0].max()
    inside = np.abs(x[1:-1]) <= 3
    assert d2[np.ix_(inside, inside)].max() <= 1 / (1 / C + 1.0) * 1.1


def test_beta_to_infinity_with_laplace_correction(land):
    b = section3.lemma2_beta_limit(land, 2001, 0.2, (30.0, 100.0, 300.0, 1000.0), 5.0, 3.0)
    assert -1.1 < b["order"] < -0.9
    assert -2.2 < b["order_laplace"] < -1.8
    assert b["err_laplace"][-1] < 1e-5


def test_unresolved_beta_is_rejected(land):
    with pytest.raises(ValueError, match="not resolved"):
        section3.lemma2_beta_limit(land, 201, 0.2, (1e5, 1e6), 5.0, 3.0)


def test_lemma3_bound_and_local_rates(land):
    x = np.linspace(-5, 5, 2001)
    kappa = prox.semiconvexity(land, x)
    assert kappa == pytest.approx(3.0532, rel=1e-3)
    r = section3.lemma3_rates(land, np.linspace(-2, 2, 9), np.linspace(-3, 3, 4), (0.1, 0.25),
                              kappa)
    assert np.all(r["worst_ratio"] <= 1 + 1e-6)
    assert np.all(r["converged"] == 1) and np.all(r["rate_rel_dev"] < 1e-3)
    assert np.allclose(r["lambda"], prox.convexity_modulus(np.array([0.1, 0.25]), kappa))
    with pytest.raises(ValueError, match="past the threshold"):
        section3.lemma3_rates(land, [0.0], [0.0], (0.5,), kappa)


def test_lemma3_fails_past_the_threshold(land):
    fail = section3.lemma3_failure(land, 0.6, np.linspace(-4, 4, 9))
    assert fail["n_limits"] == 2 and 0 < fail["missed"] < 1
    ok = section3.lemma3_failure(land, 0.2, np.linspace(-4, 4, 9))
    assert ok["n_limits"] == 1 and ok["missed"] == 0


def test_prox_newton_errors():
    quad = landscapes.Quadratic(Q=((2.0,),))
    y = prox.prox_newton(quad, np.array([[1.0]]), 0.5, np.array([[0.0]]))
    assert y[0, 0] == pytest.approx(1.0 / (1 + 2 * 0.5))       # prox of q y^2/2: x/(1 + q t)
    with pytest.raises(ValueError, match="t must be"):
        prox.prox_newton(quad, np.array([[1.0]]), 0.0, np.array([[0.0]]))
    with pytest.raises(ValueError, match="kappa"):
        prox.convexity_modulus(0.1, -1.0)
    with pytest.raises(ValueError):
        prox.dynamics16(quad, np.array([[0.0]]), np.array([[0.0]]), 0.1, -1.0, 0.1)
