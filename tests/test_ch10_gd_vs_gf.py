"""Chapter 10 (GD vs GF): the chapter's claims on a smaller data set, and closed forms of
derivatives, Lanczos, flows, the bounds, SGD noise and local entropy."""
import itertools

import numpy as np
import pytest
import torch

from deeprelax import stats
from deeprelax.chapters import ch10_gd_vs_gf as gdgf
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    """The chapter at the fast preset on 500 MNIST images and a coarser two-weight grid."""
    torch.set_num_threads(1)
    p = gdgf.Params.from_preset("fast", n_train=500, smooth_n_grid=201, smooth_n_times=81)
    return gdgf.compute(p)


def test_the_chapters_claims_hold_on_a_smaller_problem(result):
    claims = gdgf.claims(result)
    check(claims)
    assert len(by_name(claims)) == 34
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "flip_growth", "gap_growth", "gron_minus_ec", "int_change", "int_rel",
        "lanczos_rel", "lmax_rel", "nfev_ratio", "noise_factor", "ref_ratio", "ritz_shift",
        "slope_sde", "slope_sgd", "spline_hess_error", "t_probe_frac", "tight_lin"}
    paper = {"ratio_lo", "ratio_hi", "lmin_step"}
    assert {c.name for c in claims if c.source == "paper"} == paper    # the rest:
    assert {c.source for c in claims if c.source != "paper"} == {"companion", "ours"}


def test_measures_are_consistent_with_the_runs(result):
    m = gdgf.measures(result)
    lin = result.lin
    # the gap at T over eta, and the fitted order of the gap at T, from the raw runs
    assert abs(m["gap_over_eta"] - lin.gaps[-1, -1] / lin.etas[-1]) < 1e-15
    assert abs(m["slope_lin"] - stats.fit_order(lin.etas, lin.gaps[:, -1])) < 1e-12
    # the runs start at the same point: zero gap and zero distance travelled at t = 0
    assert np.all(lin.gaps[:, 0] == 0) and lin.travelled[0] == 0
    assert set(gdgf.prose_values(result)).isdisjoint(c.name for c in gdgf.claims(result))
    assert m["surfaces"] == 2 * result.params.hidden * result.params.n_train


def test_growth_phase_stops_when_the_gap_levels_off():
    g = np.array([0.0, 1.0, 2.0, 4.0, 4.1, 8.0])
    assert list(gdgf.growth_phase(g)) == [1, 2, 3]


def test_tables_have_one_row_per_run(result):
    assert len(gdgf.linear_frame(result)) == len(result.lin.etas)
    assert len(gdgf.flips_frame(result)) == len(result.relu.etas)
    cf = gdgf.curvature_frame(result)
    assert len(cf) == len(result.lin.times) and (cf["λ_min ReLU"] == "—").sum() == 1
    assert len(gdgf.smoothing_frame(result)) == len(result.smoothing.gammas)


def tiny_net(activation="linear", n=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    y = rng.integers(0, 4, n)
    return gdgf.FlatNet([5, 3, 3, 4], activation, X, y)


class Quadratic:
    """f(x) = x'Ax/2 with the attributes dop853_flow / gradient_descent use."""

    torch = torch
    device = torch.device("cpu")
    dtype = torch.float64

    def __init__(self, A):
        self.A = torch.as_tensor(A, dtype=torch.float64)

    def grad(self, x):
        return self.A @ x


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_gradient_and_hvp_match_finite_differences(activation):
    net = tiny_net(activation)
    x = net.xavier_init(1)
    u = torch.randn(net.n_params, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    eps = 1e-6
    f = lambda v: float(net.per_sample_losses(v).mean())          # noqa: E731
    fd_grad = torch.tensor([(f(x + eps * e) - f(x - eps * e)) / (2 * eps)
                            for e in torch.eye(net.n_params, dtype=torch.float64)],
                           dtype=torch.float64)
    assert torch.allclose(net.grad(x), fd_grad, atol=1e-8)
    fd_hvp = (net.grad(x + eps * u) - net.grad(x - eps * u)) / (2 * eps)
    assert torch.allclose(net.hvp(x, u), fd_hvp, atol=1e-6)


def test_weighted_and_minibatch_gradients_are_linear_in_the_samples():
    net = tiny_net()
    x = net.xavier_init(0)
    G = torch.stack([net.grad(x, torch.tensor([i])) for i in range(net.N)])   # per-sample
    w = torch.linspace(-1, 2, net.N, dtype=torch.float64)
    assert torch.allclose(net.weighted_grad(x, w), G.T @ w, atol=1e-12)
    assert torch.allclose(net.grad(x), G.mean(0), atol=1e-12)
    assert torch.allclose(net.grad(x, torch.tensor([1, 4])), G[[1, 4]].mean(0), atol=1e-12)


def test_lanczos_extremes_of_a_known_spectrum():
    rng = np.random.default_rng(0)
    Qm, _ = np.linalg.qr(rng.standard_normal((60, 60)))
    lam = np.r_[-3.0, np.linspace(-0.5, 2.0, 58), 7.5]
    M = torch.tensor(Qm @ np.diag(lam) @ Qm.T)
    v0 = torch.tensor(rng.standard_normal(60))
    ritz = gdgf.lanczos(lambda u: M @ u, v0, 40)
    assert abs(ritz[0] + 3.0) < 1e-8 and abs(ritz[-1] - 7.5) < 1e-8
    short = gdgf.lanczos(lambda u: M @ u, v0, 5)       # Ritz values lie inside the spectrum
    assert short[0] >= -3.0 - 1e-12 and short[-1] <= 7.5 + 1e-12


def test_gradient_flow_and_descent_on_a_quadratic():
    a = np.array([0.5, 2.0, 5.0])
    q = Quadratic(np.diag(a))
    x0 = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    times = np.array([0.0, 0.5, 1.0, 2.0])
    gf, nfev = gdgf.dop853_flow(q, x0, times)
    exact = np.exp(-np.outer(times, a)) * x0.numpy()
    assert np.abs(gf.numpy() - exact).max() < 1e-10 and nfev > 0
    eta = 0.01
    gd = gdgf.gradient_descent(q, x0, eta, times)
    steps = np.round(times / eta)
    assert np.abs(gd.numpy() - (1 - eta * a) ** steps[:, None] * x0.numpy()).max() < 1e-12
    # leading-order gap: (1 - eta a)^(t/eta) = e^{-a t}(1 - eta a^2 t / 2 + O(eta^2))
    etas = np.array([4e-3, 2e-3, 1e-3])
    gaps = [float((gdgf.gradient_descent(q, x0, e, [2.0])[-1] - gf[-1]).norm()) for e in etas]
    assert 0.98 < stats.fit_order(etas, gaps) < 1.02
    pred = np.linalg.norm(0.5 * a**2 * 2.0 * np.exp(-2.0 * a) * x0.numpy())
    assert abs(gaps[-1] / etas[-1] - pred) < 0.01 * pred
    with pytest.raises(ValueError, match="multiples"):
        gdgf.gradient_descent(q, x0, 0.3, [1.0])


def test_gronwall_bound_is_exact_for_a_one_dimensional_quadratic():
    # f = a x^2/2: lambda_min = a, |H grad f|(s) = a^2 x0 e^{-a s}; the bound is
    # a^2 t e^{-a t} x0 / 2, which is also the exact leading-order gap.
    a, x0 = 1.5, 2.0
    t = np.linspace(0.0, 3.0, 3001)
    b = gdgf.gap_bounds(t, np.full_like(t, a), a**2 * x0 * np.exp(-a * t))
    exact = 0.5 * a**2 * t * np.exp(-a * t) * x0
    assert np.abs(b["gronwall"] - exact).max() < 1e-6
    assert np.all(b["int_lambda_minus"] == 0) and np.all(b["ec"] >= b["gronwall"] - 1e-12)
    neg = gdgf.gap_bounds(t, np.full_like(t, -0.5), np.ones_like(t))
    assert abs(neg["int_lambda_minus"][-1] + 1.5) < 1e-12
    assert abs(neg["gronwall"][-1] - (np.exp(1.5) - 1)) < 1e-5     # int_0^3 e^{(3-s)/2}/2 ds


def test_flow_budget_reports_how_far_it_got():
    q = Quadratic(np.diag([1.0, 400.0]))
    x0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    with pytest.raises(gdgf.FlowBudgetExceeded) as info:
        gdgf.dop853_flow(q, x0, [0.0, 50.0], max_nfev=30)
    assert 0 < info.value.t_reached < 50 and info.value.nfev == 30


def test_sgd_one_step_covariance_and_its_sde_model():
    net = tiny_net(n=10)
    x = net.xavier_init(3)
    eta, B = 0.1, 3
    G = torch.stack([net.grad(x, torch.tensor([i])) for i in range(net.N)]).numpy()
    g = G.mean(0)
    Sigma_tr = np.mean(np.sum((G - g) ** 2, axis=1))
    c = (net.N - B) / (net.N - 1)
    # exact second moment of the SGD step over all C(10, 3) batches
    sq = [np.sum((G[list(s)].mean(0) - g) ** 2) for s in itertools.combinations(range(net.N), B)]
    assert abs(eta**2 * np.mean(sq) - eta**2 * c * Sigma_tr / B) < 1e-12
    rng = np.random.default_rng(0)
    steps = np.array([(gdgf.sgd_sde(net, x, eta, B, [eta], rng)[-1] - x).numpy()
                      for _ in range(3000)])
    assert np.abs(steps.mean(0) + eta * g).max() < 4 * eta * np.sqrt(c * Sigma_tr / B / 3000)
    second = np.mean(np.sum((steps + eta * g) ** 2, axis=1))
    assert abs(second / (eta**2 * c * Sigma_tr / B) - 1) < 0.08


def test_flip_counter_counts_sign_changes():
    net = tiny_net("relu", n=20)
    x0, x1 = net.xavier_init(0), net.xavier_init(1)
    fc = gdgf.FlipCounter(net, x0)
    fc(x1)
    fc(x0)
    expected = 2 * int((fc._pattern(x0) != fc._pattern(x1)).sum())
    s = fc.summary()
    assert s["total"] == expected > 0 and s["surfaces"] == 2 * 3 * 20


def test_checkpoints_are_multiples_of_the_step():
    t = gdgf.checkpoint_times(1.0, 0.01, 12, extra=(0.5,))
    k = t / 0.01
    assert t[0] == 0 and abs(t[-1] - 1.0) < 1e-12 and 0.5 in np.round(t, 12)
    assert np.all(np.abs(k - np.round(k)) < 1e-9) and np.all(np.diff(t) > 0)


def test_mnist_subset_is_every_50th_image_normalised():
    from deeprelax.train.data import load_mnist
    X, y = gdgf.mnist_subset(1000)
    m = load_mnist()
    assert X.shape == (1000, 784) and y.shape == (1000,)
    assert np.allclose(X[7], (m.train_images[350].reshape(-1) / 255 - 0.1307) / 0.3081)
    assert y[999] == m.train_labels[49950]
    with pytest.raises(ValueError, match="do not fit"):
        gdgf.mnist_subset(2000)


def test_params_reject_bad_values():
    with pytest.raises(ParamError, match="increasing"):
        gdgf.Params.from_preset("fast", ratios=(4, 2))
    with pytest.raises(ParamError, match="divide"):
        gdgf.Params.from_preset("fast", eta0=0.03)
    with pytest.raises(ParamError, match="exceeds"):
        gdgf.Params.from_preset("fast", sgd_batch=500, n_train=100)
    with pytest.raises(ParamError, match="unknown preset"):
        gdgf.Params.from_preset("huge")
    with pytest.raises(ParamError, match="inside"):
        gdgf.Params.from_preset("fast", smooth_w0=(5.0, 0.0))
    with pytest.raises(ParamError, match="increase from 0"):
        gdgf.Params.from_preset("fast", smooth_gammas=(0.5, 1.0))
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['t'\]"):
        gdgf.Params.from_notebook({"preset": "fast", "t": 5.0})
    with pytest.raises(ValueError, match="activation"):
        gdgf.FlatNet([2, 2], "tanh", np.zeros((1, 2)), [0])


def test_tiny_net_derivatives():
    tiny = gdgf.TinyNet()
    w = np.array([0.7, -0.4])
    eps = 1e-6
    fd = np.array([(tiny.value(*(w + eps * e)) - tiny.value(*(w - eps * e))) / (2 * eps)
                   for e in np.eye(2)])
    assert np.abs(tiny.grad(w) - fd).max() < 1e-9
    fdh = np.array([(tiny.grad(w + eps * e) - tiny.grad(w - eps * e)) / (2 * eps)
                    for e in np.eye(2)])
    assert np.abs(tiny.hess(w) - fdh).max() < 1e-7


def test_local_entropy_of_a_quadratic_has_the_closed_form_hessian():
    # u(x, t) for f = a x^2/2 is a x^2 / (2(1 + a t)) + log(1 + a t)/(2 beta): curvature a/(1 + a t)
    a, b, gamma, beta = 1.0, 3.0, 0.5, 4.0
    ax = np.linspace(-4, 4, 321)
    W1, W2 = np.meshgrid(ax, ax, indexing="ij")
    u = gdgf.local_entropy_2d(0.5 * (a * W1**2 + b * W2**2), (ax, ax), gamma, beta)
    for w in ([0.0, 0.0], [0.8, -0.5]):
        exact = np.diag([a / (1 + a * gamma), b / (1 + b * gamma)])
        assert np.abs(u.hess(np.array(w)) - exact).max() < 1e-4
    assert abs(u(np.zeros(2)) - (np.log(1 + a * gamma) + np.log(1 + b * gamma)) / (2 * beta)) < 1e-6
