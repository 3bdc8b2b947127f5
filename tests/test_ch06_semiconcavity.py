"""Chapter 06 (Sec. 6): the chapter's claims on coarser grids, and closed forms of its studies."""
import numpy as np
import pytest

from deeprelax.chapters import ch06_semiconcavity as ch06
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError

SMALL = dict(n_grid=1201, n_grid_l18=601, n_grid_2d=161, seeds=(0, 1, 2, 3),
             times=(0.03, 0.3), n_matrices=200, ex13_grids=(601, 201, 65))


@pytest.fixture(scope="module")
def result():
    return ch06.compute(ch06.Params.from_preset("fast", **SMALL))


def test_the_chapters_claims_hold_on_coarser_grids(result):
    claims = ch06.claims(result)
    check(claims)
    assert len(by_name(claims)) == 41                 # 1-D: Δu = u_xx, one check
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "e15_shock_at_xc", "e15_slope", "e16_n_minima", "l20_n_minima"}
    corrected = {c.name for c in claims if c.status == "corrected"}
    assert {"e13_C_big_hj", "e13_C_big_viscous", "e13_laplacian", "eq30_corrected",
            "l20_printed_hyp"} <= corrected


def test_prose_numbers_are_not_claim_names(result):
    names = {c.name for c in ch06.claims(result)}
    assert not names & set(ch06.measures(result))


def test_c_big_is_one_hundred_not_ten():
    # Example 13: c = 1e8, t = 0.01 -> C = 1/(1e-8 + 0.01) = 99.9999, printed as ~10
    cb = ch06.c_big_constant(beta=2.0)
    assert cb["exact"] == pytest.approx(1 / (1e-8 + 0.01), rel=1e-15)
    assert cb["hj"] == pytest.approx(cb["exact"], rel=1e-6)
    assert cb["viscous"] == pytest.approx(cb["exact"], rel=1e-6)
    assert cb["viscous"] > 9 * cb["printed"]


def test_rotated_quadratic_against_its_closed_form():
    # u(., t) has Hessian A = (Q^-1 + t)^-1, and dA/dt = -A^2: (30) with sum_i u_{x_i x_k}^2
    q = ch06.rotated_quadratic(2.0, 161, 6.0)
    A = np.linalg.inv(np.linalg.inv(q["Q"]) + q["t"] * np.eye(2))
    assert np.allclose(q["H"], A, atol=1e-9)
    assert np.allclose(q["w_t"], -np.diag(A @ A), rtol=1e-5)
    assert np.allclose(q["corrected"], -np.diag(A @ A), rtol=1e-8)
    assert q["printed"][0] == pytest.approx(-np.sum(np.diag(A) ** 2), rel=1e-8)
    # Lemma 20: HM of the spectrum of A against the two readings of its hypothesis
    lam = np.linalg.eigvalsh(A)
    assert q["hm_eig"] == pytest.approx(2 / np.sum(1 / lam), rel=1e-8)
    assert q["bound_corrected"] == pytest.approx(
        1 / (q["t"] + np.mean(1 / np.diag(q["Q"]))), rel=1e-12)
    assert q["hm_eig"] > q["bound_printed"]


def test_lemma20_as_printed_fails_on_example13_by_one_plus_t_over_t_plus_inv_c():
    from deeprelax.pde import semiconcavity as sc
    c, t = 4.0, 1.0
    a = 1 / (t + 1 / c)                             # every eigenvalue of D^2 u(., t)
    printed = sc.lemma20_bound([a, a], t)           # C_k = sup u_kk(., t)
    assert a / printed == pytest.approx(1 + t / (t + 1 / c))
    assert a == pytest.approx(sc.lemma20_bound([c, c], t))   # C_k = sup f_kk: attained


def test_example15_shock_study(result):
    e = result.e15
    assert e["t_star"] == pytest.approx(0.31427, rel=1e-4)
    assert e["x_shock"][0] == pytest.approx(e["x_c"], abs=0.1)
    assert np.allclose(e["characteristics"][0], np.linspace(-3.5, 3.5, 71))   # t = 0: feet
    assert e["characteristics"].shape == (e["t_lines"].size, 71)


def test_tables_and_figures_build(result):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    assert len(ch06.table_example13(result)) == len(result.e13)
    assert list(ch06.table_lemma18(result).index) == ["1D", "2D"]
    assert len(ch06.table_eq30(result)) == 2
    for name in ("example13", "example14", "example15", "shock_time", "example16",
                 "lemma18", "lemmas19_20"):
        fig = getattr(ch06, f"figure_{name}")(result)
        assert len([ax for ax in fig.axes if ax.has_data()]) <= 2
        assert 7 <= fig.get_figwidth() <= 10
        plt.close(fig)


def test_bad_parameters():
    with pytest.raises(ParamError, match="beta must lie"):
        ch06.Params.from_preset("fast", beta=-1.0)
    with pytest.raises(ValueError, match="ex16_fractions"):
        ch06.Params.from_preset("fast", ex16_fractions=(0.1, 0.5))
    with pytest.raises(ValueError, match="interior"):
        ch06.Params.from_preset("fast", interior=6.0)


def test_unknown_notebook_names_are_one_clear_error():
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['Beta'\]"):
        ch06.Params.from_notebook({"preset": "fast", "beta": None, "Beta": 3.0})
    assert ch06.Params.from_notebook({"preset": "paper", "beta": 4.0}).beta == 4.0
