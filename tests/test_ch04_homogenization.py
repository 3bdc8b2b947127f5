"""Chapter 04 (Sec. 4): the chapter's claims on a smaller run, and the tools against
closed forms on quadratics (Example 13) and exact invariants."""
import numpy as np
import pytest

from deeprelax.pde import grid, landscapes, sde
from deeprelax.chapters import ch04_homogenization as ch04
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.pde.landscapes import Quadratic
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    return ch04.compute(ch04.Params.from_preset(
        "fast", n_per_start=100, n_grid_1d=1201, n_grid_2d=161, n_rep=12, n_ou=2000))


def test_the_chapters_claims_hold_on_a_smaller_run(result):
    claims = ch04.claims(result)
    check(claims)
    assert len(by_name(claims)) >= 24
    assert sum(c.status == "corrected" for c in claims) >= 10
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "r6_convex_pattern", "el_slope_sp", "el_slope_tp", "el_divides", "el_zflat",
        "el_zfloor", "jensen_max", "jensen_resolved_min"}


def test_the_printed_first_form_of_eq12_is_minus_the_gradient(result):
    fo = result.forms
    assert np.allclose(fo.printed, -fo.cole_hopf, atol=1e-3 * np.abs(fo.cole_hopf).max())


def test_the_smoothing_table_has_one_row_per_loss_and_temperature(result):
    table = ch04.smoothing_table(result)
    assert table.shape == (2 * len(ch04.BETA_FACTORS), 4)
    assert table.loc[("Figure 1", "2"), "switch γ, heat"] == "never"


def test_gradient_forms_on_a_quadratic():
    # f = c y^2/2: <y> = x/(1 + gamma c), so both forms of (12) are x/(gamma + 1/c).
    c, gamma, bg = 2.0, 0.5, 2.0
    land = Quadratic(((c,),))
    y = np.linspace(-8, 8, 3201)
    field = grid.local_entropy_field(land, y, gamma, bg / 2)
    x = np.linspace(-2, 2, 9)
    fo = ch04.gradient_forms(land, y, field, x, gamma, bg)
    assert np.allclose(fo.mean_y, x / (1 + gamma * c), atol=1e-9)
    assert np.allclose(fo.corrected, x / (gamma + 1 / c), atol=1e-9)
    assert np.allclose(fo.rho2, x / (gamma + 1 / c), atol=1e-9)
    assert fo.rel_error("printed") == pytest.approx(2.0, abs=1e-3)


def test_elastic_as_printed_with_the_corrected_choices_is_elastic_sgd():
    land = landscapes.figure1()
    x0 = np.array([[-1.0], [0.5], [1.2]])
    args = (land.grad, x0, 0.5, 0.04, 0.2, 0.001, 1.0)
    a = sde.elastic_sgd(*args, np.random.default_rng(3), n_replicas=3)
    b = ch04.elastic_sgd_as_printed(*args, np.random.default_rng(3), n_replicas=3,
                                    sign=-1.0, couple="centre")
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="couple"):
        ch04.elastic_sgd_as_printed(*args, np.random.default_rng(3), n_replicas=3,
                                    couple="x")


@pytest.mark.parametrize("sign, couple, rate", [
    (-1.0, "centre", -1 / (0.5 + 1 / 2.0)),    # corrected: descent of f_gamma
    (+1.0, "centre", +1 / (0.5 + 1 / 2.0)),    # printed sign: ascent of f_gamma
    (-1.0, "mean", -1 / 0.5)])                 # printed (21): x relaxes to ybar -> 0
def test_elastic_variants_on_a_quadratic(sign, couple, rate):
    # f = c y^2/2, gamma = 1/2, almost no noise: x(T) = x0 exp(rate T) up to O(eps).
    land = Quadratic(((2.0,),))
    x0 = np.array([[1.0], [-0.5]])
    x = ch04.elastic_sgd_as_printed(land.grad, x0, 0.5, 0.002, 0.5, 4e-5, 1e6,
                                    np.random.default_rng(0), n_replicas=2, sign=sign,
                                    couple=couple, scheme="lm")
    assert np.allclose(x, x0 * np.exp(rate * 0.5), rtol=0.01)


def test_heat_variance_is_gamma_over_two_beta():
    land = landscapes.figure1()
    v, se = ch04.heat_variance(land, 0.5, 0.04, 1.0, 0.0008, 2.0, 4000, 0, "lm")
    assert abs(v - 0.5 / 4.0) < 4 * se and se < 0.05 * v


def test_homogenization_error_on_a_quadratic_has_order_one_half():
    # The limit is X = x0 exp(-t/(gamma + 1/c)); errors are O(sqrt(eps)) and unbiased.
    c, gamma, beta = 2.0, 0.5, 1.0
    land = Quadratic(((c,),))
    x = np.linspace(-4, 4, 801)
    ref = grid.local_entropy_field(land, x, gamma, beta)
    st = ch04.homogenization_error(sde.entropy_sgd, land, ref, [[1.0], [-1.0]], 200,
                                   (0.04, 0.01), 0.5, beta, gamma, seed=0, ratio=20,
                                   others={"wrong": grid.heat_field(land, x, gamma, beta)})
    assert 0.3 < st.order < 0.7
    assert st.bias[-1] < ch04.weak_band(st)
    assert st.others_bias["wrong"][-1] > 0.1                  # heat flow is x0 e^{-ct}
    assert set(st.flows) == {"reference", "wrong"}
    with pytest.raises(ValueError, match="multiple"):
        ch04.homogenization_error(sde.entropy_sgd, land, ref, [[1.0]], 10, (0.04, 0.01),
                                  0.33, beta, gamma, seed=0)


def test_drift_estimates_are_unbiased_on_a_quadratic():
    c, gamma, beta = 2.0, 0.5, 1.0
    land = Quadratic(((c,),))
    x = np.linspace(-4, 4, 801)
    ref = grid.local_entropy_field(land, x, gamma, beta)
    pts = np.array([[-1.0], [0.5]])
    de = ch04.drift_estimates(land, ref, pts, gamma, beta, (1, 16), (1.0, 16.0), 16,
                              burn=3.0, dt=0.01, seed=1)
    assert np.allclose(de.exact, -pts / (gamma + 1 / c), atol=1e-4)
    for which in ("spatial", "temporal"):
        mean, se = ch04.point_means(getattr(de, which)[-1])
        assert np.abs((mean - de.exact[:, 0]) / se).max() < 4.5
        rms, _ = de.rms_error(which)
        assert rms[1] < 0.5 * rms[0]                           # 16x more samples: ~1/4


def test_convexity_threshold_and_coupling_contraction():
    land = landscapes.figure1()
    x = np.linspace(-3, 3, 1201)
    lam, gstar = ch04.convexity_threshold(land, x)
    f2 = np.diff(land.on_grid(x), 2) / (x[1] - x[0]) ** 2
    assert lam == pytest.approx(f2.min(), rel=1e-3) and gstar == pytest.approx(-1 / lam)
    assert ch04.convexity_threshold(Quadratic(((1.0,),)), x) == (1.0, np.inf)
    cd = ch04.coupling_decay(land, [-1.0], [0.5 * gstar, 10 * gstar], 1.0, S=1.0,
                             dt=0.002, n_pairs=100, spread=1.0, seed=0, lam_min=lam)
    assert cd.rate_ratio[0] >= 1 - 1e-9 and cd.rates[0] >= cd.lam[0]
    assert cd.lam[1] < 0 and cd.rates[1] < cd.rates[0] and np.isnan(cd.rate_ratio[1])


def test_remark6s_bound_is_a_measured_margin_not_the_identity_at_s_0(result):
    """The slowest mean contraction rate over λ is a measurement (> 1 here), and falls below
    1 when λ is overstated; the old largest ratio |Δy(s)|/(|Δy(0)|e^{−λs}) took s = 0,
    where it is 1 by definition, so it read 1 whatever the margin."""
    c = by_name(ch04.claims(result))["r6_worst"]
    assert c.passed and c.ours > 1 + 1e-3
    land = landscapes.figure1()
    lam, gstar = ch04.convexity_threshold(land, np.linspace(-3, 3, 1201))
    cd = ch04.coupling_decay(land, [-1.0], [0.5 * gstar], 1.0, S=1.0, dt=0.002,
                             n_pairs=100, spread=1.0, seed=0, lam_min=-0.5 * lam)
    assert cd.rate_ratio[0] < 1                # λ = 1/γ + |λ_min|/2: overstated, fails


def test_smoothing_comparison_invariants():
    land = ch04.narrow_global()
    x = np.linspace(-4, 4, 801)
    comp = ch04.smoothing_comparison(land, x, np.geomspace(0.02, 2.0, 8), 5.0, 2.5)
    inside = np.abs(x) <= 2.5
    assert np.all((comp.entropy - comp.heat)[:, inside] < 0)            # Jensen
    x_star = x[np.argmin(np.where(inside, comp.f, np.inf))]
    assert np.all(comp.argmin("hj") == x_star)                          # Hopf-Lax keeps it
    assert np.all(comp.max_curvature("entropy") <= 1.01 * comp.lemma18_bound())
    basin = (-4.0, -0.2)
    assert ch04.switch_gamma(comp, "heat", basin) < ch04.switch_gamma(comp, "entropy", basin)
    lo, hi = ch04.global_basin(land, x)
    assert lo < -0.59 < hi < 0.94
    with pytest.raises(ValueError, match="1-D"):
        ch04.smoothing_comparison(landscapes.two_d(), x, [0.1], 1.0, 2.5)


def test_params_presets_and_errors():
    p = ch04.Params.from_preset("fast", eps=[0.04, 0.02, 0.01])
    assert p.eps == (0.04, 0.02, 0.01)
    assert ch04.Params.from_preset("paper").n_per_start > p.n_per_start
    with pytest.raises(ParamError, match="eps"):
        ch04.Params.from_preset("fast", eps=(0.01,))
    with pytest.raises(ParamError, match="scheme"):
        ch04.Params.from_preset("fast", scheme="rk4")
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['Gamma'\]"):
        ch04.Params.from_notebook({"preset": "fast", "Gamma": 0.5})
