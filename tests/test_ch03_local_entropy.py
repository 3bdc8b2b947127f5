"""Chapter 03 (Sec. 3, Lemmas 1-4): the chapter's claims on smaller grids, and the
studies' closed forms and error paths."""
import numpy as np
import pytest

from deeprelax.pde import prox
from deeprelax.chapters import ch03_local_entropy as ch03
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError

SMALL = {"grids_1d": (101, 201, 401), "grids_2d": (41, 81), "n_particles": 20_000,
         "lemma3_nx": 9, "lemma3_ny0": 4, "lemma3_times": (0.1, 0.25), "fail_starts": 9}


@pytest.fixture(scope="module")
def result():
    return ch03.compute(ch03.Params.from_preset("fast", **SMALL))


@pytest.fixture(scope="module")
def land():
    return ch03.landscape_1d(1)


def test_the_chapters_claims_hold_on_smaller_grids(result):
    claims = ch03.claims(result)
    check(claims)
    assert len(by_name(claims)) == 38
    corrected = {c.name for c in claims if c.status == "corrected"}
    assert corrected == {"heat_coefficient", "heat_gap_ratio", "sign_printed",
                         "sign_corrected", "rho2_mean"}
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "l1_monotone_1d", "l1_monotone_2d", "ch_refine", "no_shock_at_t", "shock_at_t_shock",
        "p15_sides", "p15_kink", "beta_order_c", "l3_dev", "l3_n_limits", "l3_missed",
        "l4_cov_z", "l4_order_em"}


def test_lemma3s_bound_is_a_measured_margin_not_the_identity_at_s_0(result, land):
    """The claim is the margin of the slowest mean rate over λ (> 0 here), and it turns
    negative when λ is overstated; the old worst ratio |y(s) − p|/(|y(0) − p|e^{−λs}) tends
    to 1 as s → 0 whatever the margin."""
    c = by_name(ch03.claims(result))["l3_ratio"]
    assert c.passed and c.ours > 0
    assert result.lemma3["mean_rate_ratio"].min() - 1 == pytest.approx(c.ours)
    over = ch03.lemma3_rates(land, np.linspace(-2.5, 2.5, 9), np.linspace(-4, 4, 4), (0.25,),
                             result.kappa / 4)         # λ(t) overstated: the bound fails
    assert over["mean_rate_ratio"].min() < 1


def test_lemma1_errors_on_the_finest_grids(result):
    assert result.lemma1_1d["err"][-1] < 0.02 and result.lemma1_2d["err"][-1] < 0.1


def test_the_printed_heat_coefficient_misses_by_the_whole_of_v_t(result):
    # v_t = (1/2 beta) v_xx holds to O(dx^2); v_t = beta^-1 v_xx leaves a residual = v_t
    assert result.heat["resid_corrected"] < 1e-3
    assert result.heat["resid_printed"] == pytest.approx(1.0, abs=1e-2)


def test_lemma4_printed_mean_is_that_of_rho1(result):
    q = result.rho2
    assert np.allclose(q["mean"], q["sigma_p"], atol=1e-10)
    quad, x = ch03.lemma4_problem()
    assert np.allclose(q["printed"] + q["sigma_p"], x)       # rho_2 is the law of x - Y
    assert q["err_printed"] > 0.1


def test_the_prox_jump_at_the_shock(result):
    assert result.eq15_shock["jump"] > 0.5
    assert result.eq15_shock["slope_jump"] == pytest.approx(
        result.eq15_shock["jump"] / result.params.t_shock, rel=0.05)


def test_laplace_corrected_error_is_tiny(result):
    assert result.beta_limit["err_laplace"][-1] < 1e-5


def test_lemma3_threshold_and_bound(result):
    assert result.kappa == pytest.approx(3.0532, rel=1e-3)
    times = np.array(result.params.lemma3_times)
    assert np.allclose(result.lemma3["lambda"], prox.convexity_modulus(times, result.kappa))
    assert result.lemma3_fail["n_limits"] == 2


def test_lemma3_is_refused_past_the_threshold_and_unique_below(land, result):
    with pytest.raises(ValueError, match="past the threshold"):
        ch03.lemma3_rates(land, [0.0], [0.0], (0.5,), result.kappa)
    ok = ch03.lemma3_failure(land, 0.2, np.linspace(-4, 4, 9))
    assert ok["n_limits"] == 1 and ok["missed"] == 0


def test_unresolved_beta_is_rejected(land):
    with pytest.raises(ValueError, match="not resolved"):
        ch03.lemma2_beta_limit(land, 201, 0.2, (1e5, 1e6), 5.0, 3.0)


def test_neumann_series_is_third_order():
    quad, x = ch03.lemma4_problem()
    n = ch03.lemma4_neumann(quad, x, np.geomspace(10, 1000, 5))
    assert -3.05 < n["order_Sigma"] < -2.95 and -3.05 < n["order_mean"] < -2.95
    # the leading error term is gamma^-3 Q^2
    g = 1000.0
    Q = np.asarray(quad.Q)
    assert n["err_Sigma"][-1] == pytest.approx(np.linalg.norm(Q @ Q, 2) / g**3, rel=1e-2)


def test_euler_maruyama_bias_is_visible_and_shrinks_with_dt():
    quad, x = ch03.lemma4_problem()
    s = ch03.lemma4_sampling(quad, x, 2.0, 1.0, (0.2, 0.05), 40_000, seed=3)
    assert s["cov_err"][0] > 5 * s["rel_se"]                   # EM's O(dt) bias is visible
    assert s["cov_err_em"][0] / s["cov_err_em"][1] > 3             # and shrinks with dt


def test_bad_parameters():
    with pytest.raises(ParamError, match="interior"):
        ch03.Params.from_preset("fast", interior=6.0)
    with pytest.raises(ParamError, match="t must lie"):
        ch03.Params.from_preset("fast", t=-1.0)


def test_unknown_notebook_names_are_one_clear_error():
    ns = {"preset": "fast", "beta": None, "T": 0.3}
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['T'\]"):
        ch03.Params.from_notebook(ns)
    assert ch03.Params.from_notebook({"preset": "fast", "t": 0.25}).t == 0.25


def test_the_figures_have_at_most_two_panels_per_row(result):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for name in [n for n in dir(ch03) if n.startswith("figure_")]:
        fig = getattr(ch03, name)(result)
        cols = {ax.get_subplotspec().get_geometry()[1] for ax in fig.axes}
        assert max(cols) <= 2, name
        assert 7 <= fig.get_figwidth() <= 10, name
        plt.close(fig)
