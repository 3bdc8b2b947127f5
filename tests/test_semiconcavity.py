"""Sec. 6: Example 13 (corrected), Examples 14 and 16, Lemmas 18-20."""
import numpy as np
import pytest

from deeprelax.chapters import ch06_semiconcavity as ch06
from deeprelax.pde import semiconcavity as sc


def test_example13_solves_viscous_hj_and_starts_from_f():
    # u_t = -|grad u|^2/2 + Delta u/(2 beta), checked by exact derivatives of the formula
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    c, beta, t, h = 3.0, 0.7, 0.4, 1e-5
    u = lambda tt: sc.example13(X, tt, c, beta)                       # noqa: E731
    u_t = (u(t + h) - u(t - h)) / (2 * h)
    a = 1 / (t + 1 / c)
    rhs = -0.5 * a**2 * np.sum(X**2, axis=-1) + 3 * a / (2 * beta)
    assert np.allclose(u_t, rhs, rtol=1e-7, atol=1e-8)
    assert np.allclose(sc.example13(X, 0.0, c, beta), c * np.sum(X**2, -1) / 2)
    # the printed constant satisfies the PDE but misses the initial condition by n/(2 beta) log c
    off = sc.example13_as_printed(X, 0.0, c, beta) - c * np.sum(X**2, -1) / 2
    assert np.allclose(off, -3 / (2 * beta) * np.log(c))


def test_example13_study_meets_1e_minus_6_and_flags_the_typos():
    rows = ch06.example13_errors((0.5, 4.0, 20.0), (601, 201, 65), (0.1, 1.0), 2.0, 6.0, 3.0)
    assert {r["n"] for r in rows} == {1, 2, 3}
    assert max(r["err_cole_hopf"] for r in rows) < 1e-6
    assert max(r["err_hopf_lax"] for r in rows if r["n"] == 1) < 1e-12
    assert all(abs(r["laplacian"] / r["laplacian_exact"] - 1) < 1e-6 for r in rows)
    assert all(abs(r["laplacian"] / r["laplacian_printed"] - 1) > 0.1 for r in rows)
    assert all(r["resolution"] >= 1 for r in rows)


def test_example14_heat_is_slow_and_hj_attains_the_bound():
    t = np.array([0.01, 0.1, 1.0])
    e = ch06.example14_rates(10.0, 2.0, t, 1201)
    assert np.allclose(e["heat"], 10 * np.exp(-t / 4), rtol=2e-4)
    assert np.allclose(e["hj"], 1 / (0.1 + t), rtol=2e-4)
    assert np.all(e["viscous"] <= e["hj_bound"] * (1 + 2e-4))
    assert e["heat"][1] > 1.9 * e["hj"][1]


def test_example16_hj_intervals_follow_the_characteristics():
    land = ch06.landscape_1d(11)
    w = ch06.example16_widths(land, (0.0, 0.15, 0.3), 2.0, 2401, 6.0, 3.0)
    assert len(w["minima"]) == 3
    dx = 12 / 2400
    for r in w["rows"]:
        assert max(abs(a - b) for a, b in zip(r["hj"], r["predicted"])) < 10 * dx**2
    first = {r["x_min"]: r for r in w["rows"] if r["t"] == 0}
    for r in w["rows"]:
        lo0, hi0 = first[r["x_min"]]["hj"]
        if r["t"] > 0:
            assert r["hj"][0] < lo0 - 0.05 and r["hj"][1] > hi0 + 0.05      # strictly wider
            assert r["viscous"][1] - r["viscous"][0] > hi0 - lo0


@pytest.mark.parametrize("dim, n", [(1, 1201), (2, 161)])
def test_lemma18_on_random_landscapes(dim, n):
    r = ch06.lemma18_ratios(dim, (0, 3), (0.03, 0.3), 2.0, n, 6.0, 3.0)
    for key in ("viscous", "viscous_lap", "hj", "hj_lap"):
        assert np.all(r[key] <= 1 + r["tol"]), key
    assert np.all(r["viscous"] < 1)
    assert np.max(r["hj"]) > 0.97           # HJ nearly attains it (up to where the grid samples)


def test_harmonic_mean_and_lemma19():
    assert sc.harmonic_mean([1.0, 4.0, 4.0]) == pytest.approx(2.0)
    assert sc.hm_ratio(np.diag([1.0, 3.0])) == pytest.approx(1.0)
    A = np.array([[2.0, 1.0], [1.0, 2.0]])              # eigenvalues 1, 3: HM 1.5; diagonal 2
    assert sc.hm_ratio(A) == pytest.approx(2.0 / 1.5)
    r = ch06.lemma19_ratios((2, 10), 300)
    assert np.all(r["min_ratio"] >= 1 - 1e-12) and np.all(r["bounds_ok"])
    assert r["median_ratio"][1] > 10
    with pytest.raises(ValueError, match="positive"):
        sc.harmonic_mean([1.0, 0.0])


def test_lemma20_at_local_minima():
    r = ch06.lemma20_check((0, 1), (0.03, 0.3), 2.0, 161, 6.0, 3.0)
    assert len(r["t"]) >= 5
    assert np.all(r["hm_eig"] <= r["bound"]) and np.all(r["hm_eig"] <= r["hm_diag"] * (1 + 1e-12))
    assert sc.lemma20_bound([2.0, 2.0], 0.5) == pytest.approx(1.0)


def test_helpers_and_errors():
    x = np.linspace(-2, 2, 401)
    lo, hi = sc.convex_interval(np.cos(np.pi * x / 2) * -1, x, 0.0)   # -cos: convex on [-1, 1]
    assert lo == pytest.approx(-1, abs=1e-4) and hi == pytest.approx(1, abs=1e-4)
    with pytest.raises(ValueError, match="not convex"):
        sc.convex_interval(np.cos(np.pi * x / 2), x, 0.0)
    v = np.zeros((5, 5))
    v[2, 2] = -1
    v[0, 4] = -2
    assert sc.grid_local_minima(v).tolist() == [[2, 2]]
    with pytest.raises(ValueError, match="C_k must be > 0"):
        sc.hessian_bound([1.0, -1.0], 0.1)
    assert sc.laplacian_bound(4.0, 2.0, 2) == pytest.approx(1 / (0.25 + 1.0))
    A = sc.random_spd(4, np.random.default_rng(0), 3.0, 5)
    assert np.all(np.linalg.eigvalsh(A) > 0) and np.allclose(A, np.swapaxes(A, -1, -2))
