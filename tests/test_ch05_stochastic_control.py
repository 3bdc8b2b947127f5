"""Chapter 05 (Sec. 5): the chapter's claims on a smaller run, and closed forms: Theorem 12
on an Ornstein-Uhlenbeck process, (26) as printed, the scoping tools, the parameters."""
import numpy as np
import pytest

from deeprelax.pde import landscapes
from deeprelax.chapters import ch05_stochastic_control as ch05
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.pde.fokker_planck import mass
from deeprelax.pde.hjb import solve_hjb
from deeprelax.pde.landscapes import Quadratic
from deeprelax.pde.local_entropy import local_entropy
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    return ch05.compute(ch05.Params.from_preset("fast", n_paths=1200, n_scope=1000,
                                                n_grid_2d=65, seed=1))


def test_the_chapters_claims_hold_on_a_smaller_run(result):
    claims = ch05.claims(result)
    check(claims)
    named = by_name(claims)
    assert len(named) == 28
    assert {c.name for c in claims if c.status == "corrected"} == {
        "mc_vs_fp_EV_csgd", "mc_vs_fp_energy", "printed_26_misfit", "generator_gap",
        "generator_margin", "generator_u_fk", "proof_step_corrected", "proof_step_printed",
        "proof_step_sign"}
    assert labelling_errors(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "fb_mass_error", "fb_rho_min", "gap_ratio", "identity_gap_fine", "u_pde_vs_fk"}


def test_no_scoping_check_is_written_twice(result):
    """The linear and exponential schedules bring the same particles to the global basin:
    a claim per schedule reported the same number against the same bound twice."""
    assert duplicates(ch05.claims(result)) == []


def test_the_proof_step_of_theorem12_on_an_exact_solution():
    """f = 0, V = x²/2: u = x²/(2(1 + T − t)) + (β⁻¹/2) log(1 + T − t) solves (HJB); it has
    u_t + ℒu = ½|∇u|² and u_t > 0, against the printed u_t = ℒu − ½|∇u|² ≤ 0."""
    from deeprelax.pde.hjb import HJBSolution
    flat = Quadratic(((0.0,),))
    x, t, beta, T = np.linspace(-3.5, 3.5, 701), np.linspace(0, 1, 401), 2.0, 1.0
    tau = 1 + T - t[:, None]
    u = x ** 2 / (2 * tau) + np.log(tau) / (2 * beta)
    r = ch05.proof_identity(flat, HJBSolution((x,), t, u, beta))
    assert r["corrected"] < 1e-3 and r["printed"] > 1.9 and r["ut_max"] > 0.5


def test_tables_show_mean_and_interval(result):
    t12 = ch05.theorem12_frame(result)
    assert list(t12.columns)[0] == "margin E M" and len(t12) == 12
    assert all("\u00a0±\u00a0" in s for s in t12["margin E M"])
    assert len(ch05.scoping_frame(result)) == 5
    assert ch05.fb_frame(result).shape == (4, 3)
    assert ch05.pm(0.01234, 0.00056) == "0.01234\u00a0±\u00a00.00056"
    assert ch05.pm(1.5, 0.25) == "1.50\u00a0±\u00a00.25"


def test_claim_statements_fit_the_claims_table(result):
    assert all(len(c.statement) <= 50 for c in ch05.claims(result))


def riccati(k, c, beta, tau):
    """u(x, T - tau) = P x^2/2 + r for f = k x^2/2, V = c x^2/2 (time-to-go tau)."""
    q0 = c / (c + 2 * k)
    q = q0 * np.exp(-2 * k * tau)
    return 2 * k * q / (1 - q), np.log((1 - q) / (1 - q0)) / (2 * beta)


def test_theorem12_on_an_ou_process_matches_closed_forms():
    k, c, beta, T, x0 = 1.0, 3.0, 2.0, 1.0, 1.5
    land, V = Quadratic(((k,),)), Quadratic(((c,),))
    x = np.linspace(-5, 5, 801)
    sol = solve_hjb(land, V.on_grid(x), x, T, beta, n_times=40)
    r = ch05.theorem12(land, V.value, sol, [x0], 20000, 2e-3, seed=0)
    P, rr = riccati(k, c, beta, T)
    u = 0.5 * P * x0**2 + rr
    v = 0.5 * c * (x0**2 * np.exp(-2 * k * T) + (1 - np.exp(-2 * k * T)) / (2 * k * beta))
    assert r.u_pde == pytest.approx(u, abs=0.02)
    assert r.EV_sgd[0] == pytest.approx(v, abs=r.EV_sgd[1] + 0.01)
    assert r.margin[0] - r.margin[1] > 0                                 # Theorem 12
    assert r.margin[0] == pytest.approx(v - u, abs=r.margin[1] + 0.02)  # margin = v - u
    assert r.cost_csgd[0] == pytest.approx(u, abs=r.cost_csgd[1] + 0.02)
    assert r.u_cole_hopf[0] == pytest.approx(u, abs=r.u_cole_hopf[1] + 0.02)
    with pytest.raises(ValueError, match="n must be"):
        ch05.theorem12(land, V.value, sol, [x0], 1, 2e-3, seed=0)


def test_a_control_for_the_wrong_generator_costs_more():
    # Non-quadratic f: solving (HJB) with the proof's beta = 1 for SDEs at beta = 8 is worse.
    land = landscapes.figure1()
    x = np.linspace(-3.5, 3.5, 561)
    V = land.on_grid(x)
    runs = [ch05.theorem12(land, land.value, solve_hjb(land, V, x, 1.0, b, 80),
                           [-1.4], 2000, 2e-3, seed=3, beta=8.0) for b in (8.0, 1.0)]
    assert runs[0].cost_csgd[0] + runs[0].cost_csgd[1] < runs[1].cost_csgd[0] - runs[1].cost_csgd[1]


def test_printed_26_is_the_law_of_drift_plus_grad_u_with_unit_diffusion():
    # f = 0, V = c x^2/2: u(x, t) = P(t) x^2/2 with P(t) = c / (1 + c (T - t)) (Riccati),
    # so (26) as printed is dX = +P(t) X dt + sqrt(2) dW: Var' = 2 P Var + 2.
    c, T, beta = 0.5, 0.5, 2.0
    land = Quadratic(((0.0,),))
    x = np.linspace(-8, 8, 801)
    rho0 = np.exp(-0.5 * (x / 0.3) ** 2)
    rho0 /= mass(rho0, x)
    sol = solve_hjb(land, 0.5 * c * x**2, x, T, beta, n_times=40)
    rho = ch05.printed_26(land, sol, rho0)
    var = np.sum(x**2 * rho) * (x[1] - x[0])
    rate = lambda t, v: 2 * c / (1 + c * (T - t)) * v + 2  # noqa: E731
    v, h = 0.09, T / 5000
    for t in np.arange(5000) * h:                    # midpoint rule
        v += h * rate(t + h / 2, v + h / 2 * rate(t, v))
    assert mass(rho, x) == pytest.approx(1.0, abs=1e-12)
    assert var == pytest.approx(v, rel=0.01)
    assert abs(var - (0.09 + 2 * T)) > 0.1          # the +grad u drift is visible


def test_scoping_tools():
    land = landscapes.figure1()
    x = np.linspace(-3.5, 3.5, 701)
    table = ch05.entropy_table(land, x, 1.0, 2.0, n_gamma=6)
    pts = np.linspace(-2, 2, 7)[:, None]
    assert np.allclose(table.grad(pts, 0.0), land.grad(pts), atol=0.05)
    g1 = local_entropy(land.on_grid(x), x, 1.0, 2.0)
    assert np.allclose(table.grad(pts, 1.0)[:, 0], np.interp(pts[:, 0], x, np.gradient(g1, x)),
                       atol=1e-3)
    lin, ex = ch05.linear_scope(2.0, 4.0), ch05.exponential_scope(2.0, 0.5)
    assert lin(0) == 2.0 and lin(2.0) == 1.0 and lin(5.0) == 0.0
    assert ex(2.0) == pytest.approx(2.0 / np.e)
    left, right = ch05.global_basin(land, x)
    assert left < 0.5 < right and left > -1.19                           # between the maxima
    X0 = np.random.default_rng(0).normal(-1.4, 0.35, (300, 1))
    sc = ch05.scoping(land, table, {"sgd": 0.0, "scoped": lin}, X0, 4.0, 5e-3, 20.0, 1, x)
    assert sc.fraction("scoped")[0] > sc.fraction("sgd")[0] + 0.5
    assert 0 < sc.fraction("sgd")[1] < 0.1
    with pytest.raises(ValueError, match="gamma must be"):
        ch05.scoping(land, table, {"bad": -1.0}, X0, 1.0, 5e-3, 20.0, 1, x)


def test_params_and_errors():
    p = ch05.Params.from_preset("fast", n_paths=500)
    assert p.n_paths == 500 and ch05.Params.from_preset("paper").n_paths > 500
    with pytest.raises(ParamError, match="betas"):
        ch05.Params.from_preset("fast", betas=(-1.0,))
    with pytest.raises(ParamError, match="unknown"):
        ch05.Params.from_preset("fast", nonsense=1)
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['t'\]"):
        ch05.Params.from_notebook({"preset": "fast", "n_paths": None, "t": 5.0})
    assert ch05.Params.from_notebook({"preset": "fast", "seed": 3}).seed == 3
