"""Lemma 2 and the prox: Hopf-Lax refined to round-off, branch selection in 2-D, prox errors."""
import numpy as np
import pytest

from deeprelax.pde import hopf_lax, landscapes, prox
from deeprelax.chapters import ch03_local_entropy as ch03


@pytest.fixture(scope="module")
def land():
    return ch03.landscape_1d(1)


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
