"""Grid fields, the RK4 gradient flow and the order fit against closed forms (Example 13)."""
import numpy as np
import pytest

from deeprelax.pde import grid
from deeprelax import stats
from deeprelax.pde.landscapes import Quadratic


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


def test_uniform_axes():
    axes = grid.uniform_axes(5, 2.0, 3)
    assert len(axes) == 3 and all(np.allclose(a, [-2, -1, 0, 1, 2]) for a in axes)


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


def test_mean_ci_is_the_normal_interval():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    m, half = stats.mean_ci(a)
    assert m == 2.5 and half == pytest.approx(stats.Z95 * a.std(ddof=1) / 2)
    assert stats.mean_ci(a, z=1.0)[1] == pytest.approx(a.std(ddof=1) / 2)
