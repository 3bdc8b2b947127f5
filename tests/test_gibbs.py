"""Gibbs measures (13): the two gradient forms (12) of the local entropy and Lemma 4."""
import numpy as np
import pytest

from deeprelax.pde import fd, gibbs, landscapes
from deeprelax.chapters import ch03_local_entropy as ch03
from deeprelax.pde.local_entropy import local_entropy


@pytest.fixture(scope="module")
def one_d():
    land = ch03.landscape_1d(1)
    x = np.linspace(-5, 5, 401)
    return land, x, land.on_grid(x)


def test_both_forms_agree_and_match_the_gradient_of_u(one_d):
    land, x, f = one_d
    t, beta = 0.2, 2.0
    g1 = gibbs.grad_u_rho1(f, x, t, beta)[:, 0]
    g2 = gibbs.grad_u_rho2(f, land.grad(x[:, None]), x, t, beta)[:, 0]
    du = fd.gradient(local_entropy(f, x, t, beta), x)[:, 0]
    m = np.abs(x) <= 3
    assert np.abs(g1 - g2)[m].max() < 1e-10
    dx = x[1] - x[0]
    assert 1e-6 < np.abs(g1 - du)[m].max() < 2 * dx**2        # centred difference: O(dx^2)


def test_printed_sign_of_the_first_form_gives_minus_grad_u(one_d):
    land, x, f = one_d
    g1 = gibbs.grad_u_rho1(f, x, 0.2, 2.0)[:, 0]
    printed = (gibbs.mean_rho1(f, x, 0.2, 2.0)[:, 0] - x) / 0.2          # E[(y - x)/t]
    m = (np.abs(x) <= 3) & (np.abs(g1) > 0.1)
    assert np.allclose(printed[m], -g1[m], rtol=1e-12)


def test_expectation_of_constants_and_of_y(one_d):
    _, x, f = one_d
    e = gibbs.expectation_rho1(f, x, 0.5, 1.0, np.full(x.shape, -3.0))
    assert np.allclose(e, -3.0, atol=1e-12)
    m = gibbs.mean_rho1(f, x, 0.5, 1.0)[:, 0]
    assert np.allclose(gibbs.expectation_rho1(f, x, 0.5, 1.0, x), m, atol=1e-10)


def test_lemma4_on_the_grid_for_a_quadratic():
    # f = 1/2 q x^2 + b x in 1-D: rho_1(.; x) = N(x - Sigma p, Sigma / beta), Sigma = 1/(q + 1/t)
    q, b, t, beta = 1.5, 0.4, 0.5, 3.0
    quad = landscapes.Quadratic(Q=((q,),), b=(b,))
    x = np.linspace(-8, 8, 801)
    f = quad.on_grid(x)
    mean = gibbs.mean_rho1(f, x, t, beta)[:, 0]
    var = gibbs.expectation_rho1(f, x, t, beta, x**2) - mean**2
    m = np.abs(x) <= 3
    S = 1 / (q + 1 / t)
    assert np.allclose(mean[m], (x - S * (q * x + b))[m], atol=1e-10)
    assert np.allclose(var[m], S / beta, atol=1e-10)
    ex = gibbs.quadratic_gibbs([[q]], q * 1.0 + b, 1.0, 1 / t, beta)
    assert ex["mean_rho1"][0] == pytest.approx(1.0 - S * (q + b))
    assert ex["mean_rho2"][0] == pytest.approx(S * (q + b))
    assert ex["cov"][0, 0] == pytest.approx(S / beta)


def test_em_covariance_solves_the_discrete_lyapunov_equation():
    Q = np.array([[2.0, 1.2], [1.2, 0.1]])
    gamma, beta, dt = 2.0, 0.7, 0.15
    C = gibbs.em_stationary_covariance(Q, gamma, beta, dt)
    M = np.eye(2) - dt * (Q + gamma * np.eye(2))
    assert np.allclose(C, M @ C @ M.T + 2 * dt / beta * np.eye(2), atol=1e-13)
    Sigma = gibbs.quadratic_gibbs(Q, 0.0, 0.0, gamma, beta)["cov"]
    assert np.allclose(gibbs.em_stationary_covariance(Q, gamma, beta, 1e-7), Sigma, rtol=1e-6)


def test_bad_parameters():
    x = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="t must be > 0"):
        gibbs.mean_rho1(x**2, x, 0.0, 1.0)
    with pytest.raises(ValueError, match="beta must be > 0"):
        gibbs.grad_u_rho1(x**2, x, 1.0, -1.0)
    with pytest.raises(ValueError, match="not positive definite"):
        gibbs.quadratic_gibbs([[-3.0]], 0.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="symmetric"):
        gibbs.quadratic_gibbs([[1.0, 2.0], [0.0, 1.0]], 0.0, 0.0, 2.0)
    with pytest.raises(ValueError, match="dt"):
        gibbs.em_stationary_covariance([[1.0]], 1.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="grad_values"):
        gibbs.grad_u_rho2(x**2, 2 * x, x, 1.0, 1.0)
