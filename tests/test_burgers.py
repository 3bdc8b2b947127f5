"""Example 15: characteristics, the shock time (29) and the measured gradient catastrophe."""
import numpy as np
import pytest

from deeprelax.pde import burgers, landscapes, prox
from deeprelax.chapters import ch06_semiconcavity as ch06


def test_shock_time_of_a_cosine():
    # f = a cos(w x): f'' = -a w^2 cos(w x), max(-f'') = a w^2 at x = 0
    land = landscapes.Fourier(amplitudes=(0.5,), frequencies=((2.0,),), phases=(0.0,))
    st = burgers.shock_time(land, np.linspace(-1, 1, 201))
    assert st["t_star"] == pytest.approx(1 / 2.0, rel=1e-12)
    assert st["y_c"] == pytest.approx(0.0, abs=1e-6) and st["x_c"] == pytest.approx(0.0, abs=1e-6)


def test_measured_shock_time_and_classical_solution():
    land = ch06.landscape_1d(11)
    x = np.linspace(-6, 6, 2401)
    st = burgers.shock_time(land, x)
    assert st["t_star"] == pytest.approx(0.31427, rel=1e-4)
    m = burgers.measured_shock_time(land, x, st["t_star"] * np.array([0.2, 0.4, 0.6, 0.8]), 4.0)
    assert m["t_star"] == pytest.approx(st["t_star"], rel=2e-3)
    assert m["slope"] == pytest.approx(-1.0, abs=2e-3)
    t = 0.5 * st["t_star"]
    _, ys = prox.hopf_lax_exact(land, x, t)
    p = burgers.burgers_classical(land, x, t)
    assert np.abs(p - (x - ys[:, 0]) / t)[np.abs(x) <= 3].max() < 1e-9
    # characteristics through the foot of the first crossing meet at x_c at t*
    xs = burgers.characteristics(land, st["y_c"] + np.array([-1e-3, 1e-3]), st["t_star"])
    assert np.all(np.abs(xs - st["x_c"]) < 1e-8)


def test_prox_is_continuous_before_and_jumps_after():
    land = ch06.landscape_1d(11)
    x = np.linspace(-6, 6, 2401)
    dx = x[1] - x[0]
    ts = burgers.shock_time(land, x)["t_star"]
    before = burgers.prox_jump(land, x, 0.9 * ts, 4.0)
    after = burgers.prox_jump(land, x, 1.2 * ts, 4.0)
    assert before["gap"] <= dx / (1 - 0.9) * (1 + 1e-6)
    assert after["gap"] > 50 * dx


def test_convex_loss_has_no_shock():
    with pytest.raises(ValueError, match="never cross"):
        burgers.shock_time(landscapes.Quadratic(Q=((1.0,),)), np.linspace(-1, 1, 11))
