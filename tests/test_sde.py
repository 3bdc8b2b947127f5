"""The SDE simulators against closed forms: OU moments, Gibbs laws and quadratic homogenisation.

On f = c|x|^2/2 everything is explicit: the local entropy (Example 13) has gradient
x/(gamma + 1/c) at every temperature, so Entropy-SGD, Entropy-SGD-2 and Elastic-SGD
all homogenise to X(t) = x0 exp(-t/(gamma + 1/c)); Gaussian smoothing leaves the
gradient cx unchanged, so (HEAT) homogenises to x0 exp(-ct).
"""
import numpy as np
import pytest

from deeprelax.pde import sde
from deeprelax.pde.landscapes import Quadratic
from deeprelax.pde.sde import euler_maruyama


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


@pytest.mark.parametrize("scheme, factor", [("em", None), ("lm", 1.0)])
def test_stationary_ou_variance_of_both_schemes(scheme, factor):
    # With a large step h, EM's stationary variance of dX = -kX + sigma dW is
    # sigma^2/(k(2 - kh)) (inflated by 1/(1 - kh/2)); Leimkuhler-Matthews' is exact.
    k, sigma, h, n = 1.0, 1.0, 0.5, 100_000
    x = sde.SCHEMES[scheme](lambda x, s: -k * x, np.zeros((n, 1)), h, 200, sigma,
                            np.random.default_rng(2))
    exact = sigma**2 / (2 * k)
    expected = exact if factor else sigma**2 / (k * (2 - k * h))
    assert abs(x.var() / expected - 1) < 0.02
    if not factor:
        assert x.var() / exact > 1.25                     # EM's bias is visible


def test_sgd_is_an_ou_process_on_a_quadratic():
    k, beta, T, n = 1.5, 4.0, 1.0, 40_000
    land = Quadratic(((k,),))
    x = sde.sgd(land.grad, np.ones((n, 1)), T, 2e-3, beta, np.random.default_rng(3))
    var = (1 / beta) * (1 - np.exp(-2 * k * T)) / (2 * k)
    assert abs(x.mean() - np.exp(-k * T)) < 4 * np.sqrt(var / n) + 3e-3
    assert abs(x.var() / var - 1) < 0.03


def test_gibbs_beta_and_inner_chain_law():
    # Frozen x: rho_1(y; x) ~ exp(-2 beta (c y^2/2 + (y - x)^2/(2 gamma))) (factor 2: noise
    # beta^{-1/2}), i.e. N(x/(1 + c gamma), 1/(2 beta (c + 1/gamma))).
    c, gamma, beta, x = 2.0, 0.5, 1.5, 1.0
    assert sde.gibbs_beta(beta) == 3.0
    y = sde.inner_chain(Quadratic(((c,),)).grad, [[x]], gamma, np.zeros((50_000, 1)), 5.0,
                        0.02, beta, np.random.default_rng(4), scheme="lm")
    mean, var = x / (1 + c * gamma), 1 / (2 * beta * (c + 1 / gamma))
    assert abs(y.mean() - mean) < 4 * np.sqrt(var / y.size)
    assert abs(y.var() / var - 1) < 0.03
    assert abs(y.var() / (2 * var) - 1) > 0.4             # the printed exp(-beta H) is off


@pytest.mark.parametrize("name", ["entropy_sgd", "entropy_sgd2", "elastic_sgd"])
def test_quadratic_homogenisation_to_local_entropy_flow(name):
    # grad f_gamma(x) = x/(gamma + 1/c): X(T) = x0 exp(-T/(gamma + 1/c)) (Example 13).
    c, gamma, beta, eps, T, x0, n = 2.0, 0.5, 1.0, 0.005, 1.0, 1.0, 2000
    land = Quadratic(((c,),))
    extra = {"n_replicas": 3} if name == "elastic_sgd" else {}
    x = getattr(sde, name)(land.grad, np.full((n, 1), x0), gamma, eps, T, eps / 20, beta,
                           np.random.default_rng(5), scheme="lm", **extra)
    target = x0 * np.exp(-T / (gamma + 1 / c))
    se = x.std() / np.sqrt(n)
    assert abs(x.mean() - target) < 4 * se + 2 * eps
    assert x.std() < 0.2                                  # fluctuations are O(sqrt(eps))


def test_heat_sgd_follows_the_heat_flow_and_its_y_law():
    # Gaussian smoothing keeps grad(cx^2/2) = cx; y ~ N(0, gamma/(2 beta)) at stationarity.
    c, gamma, beta, eps, T, n = 2.0, 0.5, 2.0, 0.005, 1.0, 4000
    land = Quadratic(((c,),))
    x, z = sde.heat_sgd(land.grad, np.ones((n, 1)), gamma, eps, T, eps / 20, beta,
                        np.random.default_rng(6), scheme="lm", return_state=True)
    assert abs(x.mean() - np.exp(-c * T)) < 4 * x.std() / np.sqrt(n) + 2 * eps
    var = gamma / (2 * beta)
    assert abs(z[:, 1].var() / var - 1) < 0.06


def test_elastic_replicas_average_out_the_fluctuations():
    # n_p replicas at eps fluctuate like one chain at eps/n_p: the spread drops ~ n_p^{-1/2}.
    land = Quadratic(((2.0,),))
    spread = []
    for n_p in (1, 8):
        x = sde.elastic_sgd(land.grad, np.ones((1000, 1)), 0.5, 0.04, 1.0, 0.002, 1.0,
                            np.random.default_rng(7), n_replicas=n_p, scheme="lm")
        spread.append(x.std())
    assert 0.25 < spread[1] / spread[0] < 0.5             # 8^{-1/2} = 0.354


def test_csgd_with_constant_control_shares_the_noise_of_sgd():
    land = Quadratic(((0.0,),))                           # f = 0: x(T) = x0 - a T + noise
    a, T, beta = 0.7, 1.0, 3.0
    x_sgd, cost0 = sde.csgd(land.grad, None, np.zeros((500, 1)), T, 0.01, beta,
                            np.random.default_rng(8))
    x_c, cost = sde.csgd(land.grad, lambda x, s: np.full_like(x, a), np.zeros((500, 1)), T,
                         0.01, beta, np.random.default_rng(8))
    assert np.allclose(x_c, x_sgd - a * T) and np.allclose(cost, a * a * T)
    assert np.all(cost0 == 0)


def test_scoped_gamma_schedule_and_path_recording():
    land = Quadratic(((2.0,),))
    x, path = sde.entropy_sgd(land.grad, np.ones((10, 1)), lambda s: 0.5 * (1 - s) + 0.01,
                              0.01, 1.0, 0.001, 1.0, np.random.default_rng(9),
                              record_every=100)
    assert path.shape == (11, 10, 1) and np.allclose(path[-1], x)


def test_clear_errors():
    g = Quadratic(((1.0,),)).grad
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="fast time scale"):
        sde.entropy_sgd(g, np.zeros((2, 1)), 0.5, 0.01, 1.0, 0.01, 1.0, rng)
    with pytest.raises(ValueError, match="scheme"):
        sde.entropy_sgd(g, np.zeros((2, 1)), 0.5, 0.01, 1.0, 0.001, 1.0, rng, scheme="rk")
    with pytest.raises(ValueError, match="x0"):
        sde.sgd(g, np.zeros(2), 1.0, 0.1, 1.0, rng)
    with pytest.raises(ValueError, match="beta"):
        sde.sgd(g, np.zeros((2, 1)), 1.0, 0.1, -1.0, rng)
    with pytest.raises(ValueError, match="gamma"):
        sde.heat_sgd(g, np.zeros((2, 1)), 0.0, 0.01, 1.0, 0.001, 1.0, rng)
    with pytest.raises(ValueError, match="n_replicas"):
        sde.elastic_sgd(g, np.zeros((2, 1)), 0.5, 0.01, 1.0, 0.001, 1.0, rng, n_replicas=0)


def test_elastic_replicas_keep_the_order_eps_lag_of_one_chain():
    # On f = c x^2/2 the particle mean obeys the linear two-time-scale ODE
    #   m_x' = -(m_x - m_y)/gamma,  m_y' = -[c m_y + (m_y - m_x)/gamma]/eps
    # for every number of replicas (the noise has mean zero), so Elastic-SGD keeps the
    # O(eps) lag of the mean behind the homogenised flow X = x0 exp(-t/(gamma + 1/c))
    # however many replicas it averages, while its spread shrinks like n_p^{-1/2}.
    from scipy.linalg import expm
    c, gamma, beta, eps, T, n = 2.0, 0.5, 1.0, 0.1, 1.0, 3000
    M = np.array([[-1 / gamma, 1 / gamma], [1 / (eps * gamma), -(c + 1 / gamma) / eps]])
    mean_T = (expm(M * T) @ np.ones(2))[0]
    X_T = np.exp(-T / (gamma + 1 / c))
    lag = mean_T - X_T
    assert 0.01 < abs(lag) < 0.05                         # an O(eps) lag
    land = Quadratic(((c,),))
    spreads = []
    for n_p in (1, 8):
        x = sde.elastic_sgd(land.grad, np.ones((n, 1)), gamma, eps, T, eps / 100, beta,
                            np.random.default_rng(11), n_replicas=n_p, scheme="lm")
        se = x.std() / np.sqrt(n)
        assert abs(x.mean() - mean_T) < 4 * se + 5e-4, (n_p, x.mean(), mean_T)
        assert abs(x.mean() - X_T) > 0.5 * abs(lag) + 4 * se   # the lag is resolved
        spreads.append(x.std())
    assert 0.25 < spreads[1] / spreads[0] < 0.5
