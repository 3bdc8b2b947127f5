"""Sec. 4 tools against closed forms on quadratics (Example 13) and exact invariants."""
import numpy as np
import pytest

from deeprelax import grid, stats
from deeprelax.chapters import ch04_homogenization as H
from deeprelax import landscapes, sde
from deeprelax.landscapes import Quadratic
from deeprelax.params import ParamError


def test_grid_field_is_exact_for_multilinear_functions_and_clamps():
    a, b = np.linspace(-1, 1, 21), np.linspace(-2, 2, 41)
    F = grid.GridField.from_values(np.add.outer(2 * a, 3 * b) + 1, (a, b))
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    assert np.allclose(F.value(x), 2 * x[:, 0] + 3 * x[:, 1] + 1)
    assert np.allclose(F.grad(x), [2.0, 3.0])
    assert np.allclose(F.value(np.array([[5.0, 0.0]])), 2 * 1 + 1)      # clamped to the box
    with pytest.raises(ValueError, match="last axis"):
        F.value(np.zeros((3, 1)))


@pytest.mark.parametrize("beta", [0.5, 4.0])
def test_local_entropy_and_heat_fields_on_a_quadratic(beta):
    # Example 13: grad f_gamma = x/(gamma + 1/c) at every temperature; heat keeps grad = c x.
    c, gamma = 2.0, 0.5
    land = Quadratic(((c,),))
    x = np.linspace(-6, 6, 1201)
    pts = np.linspace(-2, 2, 9)[:, None]
    le = grid.local_entropy_field(land, x, gamma, beta)
    assert np.allclose(le.grad(pts), pts / (gamma + 1 / c), atol=1e-4)
    assert np.allclose(grid.heat_field(land, x, gamma, beta).grad(pts), c * pts, atol=1e-4)


def test_gradient_flow_is_rk4_accurate():
    land = Quadratic(((1.5,),))
    path = grid.rk4_gradient_flow(land.grad, [[1.0], [-2.0]], 2.0, 0.01, record_every=50)
    t = np.linspace(0, 2, path.shape[0])
    assert np.allclose(path[..., 0], np.outer(np.exp(-1.5 * t), [1.0, -2.0]), atol=1e-9)


def test_fit_order_and_errors():
    h = np.array([0.1, 0.05, 0.025])
    assert stats.fit_order(h, 3 * h**0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        stats.fit_order([0.1, 0.2], [0.0, 1.0])


def test_homogenization_error_on_a_quadratic_has_order_one_half():
    # The limit is X = x0 exp(-t/(gamma + 1/c)); errors are O(sqrt(eps)) and unbiased.
    c, gamma, beta = 2.0, 0.5, 1.0
    land = Quadratic(((c,),))
    x = np.linspace(-4, 4, 801)
    ref = grid.local_entropy_field(land, x, gamma, beta)
    st = H.homogenization_error(sde.entropy_sgd, land, ref, [[1.0], [-1.0]], 200,
                                (0.04, 0.01), 0.5, beta, gamma, seed=0, ratio=20,
                                others={"wrong": grid.heat_field(land, x, gamma, beta)})
    assert 0.3 < st.order < 0.7
    assert st.bias[-1] < 4 * st.bias_se[-1] + 2 * 0.01
    assert st.others_bias["wrong"][-1] > 0.1                  # heat flow is x0 e^{-ct}
    with pytest.raises(ValueError, match="multiple"):
        H.homogenization_error(sde.entropy_sgd, land, ref, [[1.0]], 10, (0.04, 0.01), 0.33,
                               beta, gamma, seed=0)


def test_drift_estimates_are_unbiased_on_a_quadratic():
    c, gamma, beta = 2.0, 0.5, 1.0
    land = Quadratic(((c,),))
    x = np.linspace(-4, 4, 801)
    ref = grid.local_entropy_field(land, x, gamma, beta)
    pts = np.array([[-1.0], [0.5]])
    de = H.drift_estimates(land, ref, pts, gamma, beta, (1, 16), (1.0, 16.0), 16, burn=3.0,
                           dt=0.01, seed=1)
    assert np.allclose(de.exact, -pts / (gamma + 1 / c), atol=1e-4)
    for which in ("spatial", "temporal"):
        est = getattr(de, which)[-1]
        z = (est.mean(0) - de.exact) / (est.std(0, ddof=1) / np.sqrt(est.shape[0]))
        assert np.abs(z).max() < 4.5
        rms, _ = de.rms_error(which)
        assert rms[1] < 0.5 * rms[0]                           # 16x more samples: ~1/4


def test_convexity_threshold_and_coupling_contraction():
    land = landscapes.figure1()
    x = np.linspace(-3, 3, 1201)
    lam, gstar = H.convexity_threshold(land, x)
    f2 = np.diff(land.on_grid(x), 2) / (x[1] - x[0]) ** 2
    assert lam == pytest.approx(f2.min(), rel=1e-3) and gstar == pytest.approx(-1 / lam)
    assert H.convexity_threshold(Quadratic(((1.0,),)), x) == (1.0, np.inf)
    cd = H.coupling_decay(land, [-1.0], [0.5 * gstar, 10 * gstar], 1.0, S=1.0, dt=0.002,
                          n_pairs=100, spread=1.0, seed=0, lam_min=lam)
    assert cd.worst_ratio[0] <= 1 + 1e-9 and cd.rates[0] >= cd.lam[0]
    assert cd.lam[1] < 0 and cd.rates[1] < cd.rates[0]


def test_smoothing_comparison_invariants():
    land = H.narrow_global()
    x = np.linspace(-4, 4, 801)
    comp = H.smoothing_comparison(land, x, np.geomspace(0.02, 2.0, 8), 5.0, 2.5)
    inside = np.abs(x) <= 2.5
    assert np.all((comp.entropy - comp.heat)[:, inside] < 0)            # Jensen
    x_star = x[np.argmin(np.where(inside, comp.f, np.inf))]
    assert np.all(comp.argmin("hj") == x_star)                          # Hopf-Lax keeps it
    assert np.all(comp.max_curvature("entropy") <= 1.01 * comp.lemma18_bound())
    basin = (-4.0, -0.2)
    assert H.switch_gamma(comp, "heat", basin) < H.switch_gamma(comp, "entropy", basin)
    with pytest.raises(ValueError, match="1-D"):
        H.smoothing_comparison(landscapes.two_d(), x, [0.1], 1.0, 2.5)


def test_params_presets_and_errors():
    p = H.HomogenizationParams.from_preset("fast", eps=[0.04, 0.02, 0.01])
    assert p.eps == (0.04, 0.02, 0.01)
    assert H.HomogenizationParams.from_preset("paper").n_per_start > p.n_per_start
    with pytest.raises(ParamError, match="eps"):
        H.HomogenizationParams.from_preset("fast", eps=(0.01,))
    with pytest.raises(ParamError, match="scheme"):
        H.HomogenizationParams.from_preset("fast", scheme="rk4")
