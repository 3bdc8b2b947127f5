"""Sec. 5 tools against closed forms: Cole-Hopf (Remark 10), the linear-quadratic Riccati
solution of (HJB), Theorem 12 on an Ornstein-Uhlenbeck process, and invariants of (26)."""
import numpy as np
import pytest

from deeprelax import landscapes
from deeprelax.chapters import ch05_stochastic_control as control
from deeprelax.fokker_planck import mass
from deeprelax.landscapes import Quadratic
from deeprelax.local_entropy import local_entropy
from deeprelax.params import ParamError


def riccati(k, c, beta, tau):
    """u(x, T - tau) = P x^2/2 + r for f = k x^2/2, V = c x^2/2 (time-to-go tau)."""
    q0 = c / (c + 2 * k)
    q = q0 * np.exp(-2 * k * tau)
    return 2 * k * q / (1 - q), np.log((1 - q) / (1 - q0)) / (2 * beta)


def test_hjb_without_drift_is_cole_hopf():
    # Remark 10: with f = 0, (HJB) is (viscous-HJ) in the time-to-go; Cole-Hopf solves it.
    x = np.linspace(-4, 4, 801)
    V = landscapes.figure1().on_grid(x)
    sol = control.solve_hjb(Quadratic(((0.0,),)), V, x, 1.0, 2.0, n_times=4)
    inside = np.abs(x) <= 2.5
    for k, t in enumerate(sol.times):
        exact = local_entropy(V, x, 1.0 - t, 2.0)
        assert np.abs(sol.u[k] - exact)[inside].max() < 0.02
    assert np.allclose(sol.u[-1], V)


def test_hjb_matches_the_riccati_solution():
    k, c, beta, T = 1.0, 3.0, 2.0, 1.0
    x = np.linspace(-4, 4, 801)
    sol = control.solve_hjb(Quadratic(((k,),)), 0.5 * c * x**2, x, T, beta, n_times=2)
    P, r = riccati(k, c, beta, T)
    inside = np.abs(x) <= 1.5
    assert np.abs(sol.u[0] - (0.5 * P * x**2 + r))[inside].max() < 0.02
    a = sol.control(np.array([[1.0]]), 0.0)
    assert a[0, 0] == pytest.approx(P, rel=0.02)                        # alpha = grad u


def test_theorem12_on_an_ou_process_matches_closed_forms():
    k, c, beta, T, x0 = 1.0, 3.0, 2.0, 1.0, 1.5
    land, V = Quadratic(((k,),)), Quadratic(((c,),))
    x = np.linspace(-5, 5, 801)
    sol = control.solve_hjb(land, V.on_grid(x), x, T, beta, n_times=40)
    r = control.theorem12(land, V.value, sol, [x0], 20000, 2e-3, seed=0)
    P, rr = riccati(k, c, beta, T)
    u = 0.5 * P * x0**2 + rr
    v = 0.5 * c * (x0**2 * np.exp(-2 * k * T) + (1 - np.exp(-2 * k * T)) / (2 * k * beta))
    assert r.u_pde == pytest.approx(u, abs=0.02)
    assert r.EV_sgd[0] == pytest.approx(v, abs=r.EV_sgd[1] + 0.01)
    assert r.margin[0] - r.margin[1] > 0                                 # Theorem 12
    assert r.margin[0] == pytest.approx(v - u, abs=r.margin[1] + 0.02)  # margin = v - u
    assert r.cost_csgd[0] == pytest.approx(u, abs=r.cost_csgd[1] + 0.02)
    assert r.u_cole_hopf[0] == pytest.approx(u, abs=r.u_cole_hopf[1] + 0.02)
    # certainty equivalence: in the LQ case the control P x does not depend on beta
    other = control.solve_hjb(land, V.on_grid(x), x, T, 0.25, n_times=40)
    pts = np.array([[-1.0], [0.5]])
    assert np.allclose(other.control(pts, 0.0), sol.control(pts, 0.0), rtol=0.02)


def test_a_control_for_the_wrong_generator_costs_more():
    # Non-quadratic f: solving (HJB) with the proof's beta = 1 for SDEs at beta = 8 is worse.
    land = landscapes.figure1()
    x = np.linspace(-3.5, 3.5, 561)
    V = land.on_grid(x)
    runs = [control.theorem12(land, land.value, control.solve_hjb(land, V, x, 1.0, b, 80),
                              [-1.4], 2000, 2e-3, seed=3, beta=8.0) for b in (8.0, 1.0)]
    assert runs[0].cost_csgd[0] + runs[0].cost_csgd[1] < runs[1].cost_csgd[0] - runs[1].cost_csgd[1]


def test_forward_backward_conserves_mass_and_closes_the_identity():
    k, c, beta, T = 1.0, 3.0, 2.0, 1.0
    land = Quadratic(((k,),))
    x = np.linspace(-5, 5, 501)
    V = 0.5 * c * x**2
    rho0 = np.exp(-0.5 * ((x - 1.0) / 0.3) ** 2)
    rho0 /= mass(rho0, x)
    fb = control.forward_backward(land, control.solve_hjb(land, V, x, T, beta, 80), V, rho0)
    assert fb.mass_error < 1e-12 and fb.rho_csgd.min() >= 0
    assert abs(fb.identity_gap) < 0.02 and fb.margin > 0
    # E V under SGD from the OU law N(m e^{-kT}, s^2 e^{-2kT} + (1 - e^{-2kT})/(2 k beta))
    m2 = np.exp(-2 * k * T) * (1.0 + 0.09) + (1 - np.exp(-2 * k * T)) / (2 * k * beta)
    assert fb.EV_sgd == pytest.approx(0.5 * c * m2, rel=0.03)
    with pytest.raises(ValueError, match="mass 1"):
        control.forward_backward(land, control.solve_hjb(land, V, x, T, beta, 4), V, 2 * rho0)


def test_scoping_tools():
    land = landscapes.figure1()
    x = np.linspace(-3.5, 3.5, 701)
    table = control.entropy_table(land, x, 1.0, 2.0, n_gamma=6)
    pts = np.linspace(-2, 2, 7)[:, None]
    assert np.allclose(table.grad(pts, 0.0), land.grad(pts), atol=0.05)
    g1 = local_entropy(land.on_grid(x), x, 1.0, 2.0)
    assert np.allclose(table.grad(pts, 1.0)[:, 0], np.interp(pts[:, 0], x, np.gradient(g1, x)),
                       atol=1e-3)
    lin, ex = control.linear_scope(2.0, 4.0), control.exponential_scope(2.0, 0.5)
    assert lin(0) == 2.0 and lin(2.0) == 1.0 and lin(5.0) == 0.0
    assert ex(2.0) == pytest.approx(2.0 / np.e)
    left, right = control.global_basin(land, x)
    assert left < 0.5 < right and left > -1.19                           # between the maxima
    X0 = np.random.default_rng(0).normal(-1.4, 0.35, (300, 1))
    sc = control.scoping(land, table, {"sgd": 0.0, "scoped": lin}, X0, 4.0, 5e-3, 20.0, 1, x)
    assert sc.fraction("scoped")[0] > sc.fraction("sgd")[0] + 0.5
    assert 0 < sc.fraction("sgd")[1] < 0.1
    with pytest.raises(ValueError, match="gamma must be"):
        control.scoping(land, table, {"bad": -1.0}, X0, 1.0, 5e-3, 20.0, 1, x)


def test_params_and_errors():
    p = control.ControlParams.from_preset("fast", n_paths=500)
    assert p.n_paths == 500 and control.ControlParams.from_preset("paper").n_paths > 500
    with pytest.raises(ParamError, match="betas"):
        control.ControlParams.from_preset("fast", betas=(-1.0,))
    with pytest.raises(ParamError, match="unknown"):
        control.ControlParams.from_preset("fast", nonsense=1)
    x = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="match the grid"):
        control.solve_hjb(Quadratic(((1.0,),)), np.zeros(5), x, 1.0, 1.0)
    with pytest.raises(ValueError, match="T > 0"):
        control.solve_hjb(Quadratic(((1.0,),)), np.zeros(11), x, 0.0, 1.0)
