"""Chapter 11 (maximum principle / MSA): the chapter's claims, and closed forms of the PMP
identities, MSA steps, Riccati equations and the LQ-MSA map."""
import numpy as np
import pytest
import torch

from deeprelax.chapters import ch11_max_principle as msa
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError

P = msa.Params.from_preset("fast")


@pytest.fixture(scope="module")
def result():
    """The chapter at the fast preset with half the (CSGD) Monte Carlo paths."""
    return msa.compute(msa.Params.from_preset("fast", csgd_paths=2000))


def test_the_chapters_claims_hold(result):
    claims = msa.claims(result)
    check(claims)
    assert len(by_name(claims)) == 29
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "disc_cost_err", "emsa_lq_err", "emsa_lq_rate", "emsa_vs_bp_best", "grad_scale",
        "large_vs_emsa_best", "mu_imag", "mu_min", "rate_formula_err", "slope_v"}
    paper = {"csgd_err", "csgd_mc_err", "csgd_gain"}
    assert {c.name for c in claims if c.source == "paper"} == paper    # the rest:
    assert {c.source for c in claims if c.source != "paper"} == {"companion", "ours"}


def test_measures_label_largest_and_final_weight_norms(result):
    m = msa.measures(result)
    basic = result.runs["basic MSA"]
    assert m["basic_theta_max"] == max(basic.theta_norm) >= m["basic_theta_final"]
    assert m["basic_theta_final"] == basic.theta_norm[-1]
    frame = msa.training_frame(result)
    assert frame.loc["basic MSA", "largest |θ|"] == f"{max(basic.theta_norm):.2f}"
    assert set(msa.prose_values(result)).isdisjoint(c.name for c in msa.claims(result))
    assert list(result.rho_runs) == sorted(result.rho_runs) and len(msa.rho_frame(result)) == 4


def test_contraction_rate_and_rises_on_closed_forms():
    err = 3.0 * 0.7 ** np.arange(50)
    assert abs(msa.contraction_rate(err, 10, 40) - 0.7) < 1e-12
    assert np.allclose(msa.rises([1.0, 2.0, 1.0]), [1.0, -0.5])


def test_lq_optimal_control_is_the_riccati_feedback_and_minimises_the_cost():
    lq, N = oscillator()
    x0 = np.array([1.0, 0.0])
    xs, us, Pd = msa.lq_optimal_control(lq, x0, N)
    Ab, Bb, _ = msa.discretise(lq, N)
    assert np.abs(xs[1:] - (xs[:-1] @ Ab.T + us @ Bb.T)).max() < 1e-14
    cost = msa.discrete_lq_rollout(lq, x0, us)[2]
    assert abs(cost - 0.5 * x0 @ Pd[0] @ x0) < 1e-12
    chapter_lq = msa.oscillator_lq(5.0, 0.1)
    for name in ("A", "B", "Q", "R", "QT"):
        assert np.array_equal(getattr(chapter_lq, name), getattr(lq, name)), name
    assert chapter_lq.T == lq.T


@pytest.fixture(scope="module")
def data():
    return msa.toy_data(P.n_train, P.n_test, P.width, P.seed)


def random_theta(seed, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(P.layers, P.width, P.width, generator=g, dtype=torch.float64),
            scale * torch.randn(P.layers, P.width, generator=g, dtype=torch.float64))


def test_toy_data_repeats_the_input_and_targets_sin(data):
    x_tr, y_tr, x_te, y_te = data
    assert x_tr.shape == (100, 5) and y_te.shape == (100, 1)
    assert torch.all(x_tr == x_tr[:, :1]) and torch.allclose(y_tr, torch.sin(x_tr[:, :1]))
    assert x_tr.abs().max() <= np.pi


@pytest.mark.parametrize("seed", [0, 1])
def test_costate_is_minus_dL_dx_and_grad_H_is_minus_dL_dtheta(data, seed):
    W, b = random_theta(seed)
    e = msa.pmp_identities(W, b, data[0], data[1], P.delta, P.reg)
    assert e["grad_scale"] > 1e-2
    assert e["costate"] < 1e-10 and e["hamiltonian_grad"] < 1e-10


def test_augmented_hamiltonian_equals_hamiltonian_at_the_current_weights(data):
    W, b = random_theta(3)
    xs = msa.forward(W, b, data[0], P.delta)
    ps = msa.costate(xs, W, b, data[1], P.delta)
    H = msa.hamiltonian(W, b, xs, ps, P.delta, P.reg)
    Ht = msa.augmented_hamiltonian(W, b, xs, ps, P.delta, P.reg, 7.0)
    assert torch.allclose(H, Ht, atol=1e-12, rtol=0)
    W2 = W + 0.1                                  # elsewhere both penalties are active
    assert torch.all(msa.augmented_hamiltonian(W2, b, xs, ps, P.delta, P.reg, 7.0)
                     < msa.hamiltonian(W2, b, xs, ps, P.delta, P.reg))


def test_one_emsa_step_decreases_the_loss_and_basic_msa_overshoots(data):
    W, b = msa.zeros(P.layers, P.width)
    L0 = float(msa.total_loss(W, b, data[0], data[1], P.delta, P.reg))
    We, be = msa.msa_step(W, b, data[0], data[1], P.delta, P.reg, 1.0, P.maxiter, P.perturb,
                          np.random.default_rng(0))
    Wb, bb = msa.msa_step(W, b, data[0], data[1], P.delta, P.reg, 0.0, P.maxiter, P.perturb,
                          np.random.default_rng(0))
    Le = float(msa.total_loss(We, be, data[0], data[1], P.delta, P.reg))
    assert abs(L0 - 71.41) < 0.01 and Le < 0.1 * L0
    norm = lambda W, b: torch.cat([W.flatten(), b.flatten()]).norm()      # noqa: E731
    assert norm(Wb, bb) > 5 * norm(We, be)


def test_backprop_step_is_a_gradient_step(data):
    p = msa.Params.from_preset("fast", bp_iters=1, k_early=1)
    h = msa.train_backprop(p, data, "SGD", 0.1)
    W, b = msa.zeros(P.layers, P.width)
    W.requires_grad_(True)
    b.requires_grad_(True)
    gW, gb = torch.autograd.grad(msa.total_loss(W, b, data[0], data[1], P.delta, P.reg), (W, b))
    with torch.no_grad():
        L1 = float(msa.total_loss(-0.1 * gW, -0.1 * gb, data[0], data[1], P.delta, P.reg))
    assert abs(h.loss[1] - L1) < 1e-12 and len(h.wall) == 2
    with pytest.raises(ValueError, match="method"):
        msa.train_backprop(p, data, "RMSprop", 0.1)


def scalar_lq(s=2.0, T=1.5):
    # x' = u, cost u^2/2 + s x(T)^2/2: -P' = -P^2, P(t) = 1 / (1/s + T - t)
    return msa.LQ(np.zeros((1, 1)), np.eye(1), np.zeros((1, 1)), np.eye(1), s * np.eye(1), T)


def test_riccati_closed_form_and_noise_constant():
    lq = scalar_lq()
    P_t = msa.riccati(lq)
    for t in (0.0, 0.7, 1.5):
        assert abs(P_t(t)[0, 0] - 1 / (0.5 + 1.5 - t)) < 1e-10
    # int_0^T P = log(1 + sT): c(0) = log(1 + sT) / (2 beta)
    assert abs(msa.lq_noise_constant(P_t, 1.5, 4.0) - np.log(4.0) / 8.0) < 1e-6


def oscillator(N=20):
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])
    return msa.LQ(A, np.array([[0.0], [1.0]]), 0.1 * np.eye(2), np.eye(1), np.eye(2), 5.0), N


def test_costate_equals_minus_grad_value_continuous_and_discrete():
    lq, N = oscillator()
    x0 = np.array([1.0, 0.0])
    assert msa.lq_pmp_check(lq, x0)["max_err"] < 1e-8
    Pd, K = msa.discrete_riccati(lq, N)
    Ab, Bb, _ = msa.discretise(lq, N)
    x, u = [x0], []
    for n in range(N):
        u.append(-K[n] @ x[-1])
        x.append(Ab @ x[-1] + Bb @ u[-1])
    xs, ps, cost = msa.discrete_lq_rollout(lq, x0, np.array(u))
    assert np.abs(ps + np.einsum("nij,nj->ni", Pd, xs)).max() < 1e-12
    assert abs(cost - 0.5 * x0 @ Pd[0] @ x0) < 1e-12
    v = np.random.default_rng(0).standard_normal((N, 1))
    for eps in (1e-2, 1e-3):                      # optimality: the cost is quadratic around u*
        dc = msa.discrete_lq_rollout(lq, x0, np.array(u) + eps * v)[2] - cost
        assert dc > 0 and dc < 10 * eps**2 * np.sum(v**2)


def test_lq_msa_spectrum_formula_and_convergence():
    lq, N = oscillator()
    x0 = np.array([1.0, 0.0])
    delta = lq.T / N
    mu = np.sort(-msa.lq_msa_spectrum(lq, x0, N, 0.0).real)
    assert mu[0] >= -1e-10 and mu[-1] > 1                   # basic MSA diverges here
    for rho in (3.0, 40.0):
        a = rho * delta
        ev = np.sort(msa.lq_msa_spectrum(lq, x0, N, rho).real)
        assert np.abs(ev - np.sort((a - mu) / (1 + a))).max() < 1e-8
    rho_opt = (mu[-1] + mu[0]) / (2 * delta)
    out = msa.lq_msa(lq, x0, N, rho_opt, 100)
    Pd, K = msa.discrete_riccati(lq, N)
    Ab, Bb, _ = msa.discretise(lq, N)
    x, u = x0, []
    for n in range(N):
        u.append(-K[n] @ x)
        x = Ab @ x + Bb @ u[-1]
    assert np.abs(out["u"][-1] - np.array(u)).max() < 1e-9
    assert np.all(np.diff(out["cost"]) < 1e-12)     # E-MSA at rho_opt never increases the cost
    basic = msa.lq_msa(lq, x0, N, 0.0, 10)
    assert basic["cost"][-1] > 1e6 * basic["cost"][0]


def test_validation_errors():
    with pytest.raises(ValueError, match="shape"):
        msa.LQ(np.eye(2), np.eye(2), np.eye(3), np.eye(2), np.eye(2), 1.0)
    with pytest.raises(ValueError, match="positive definite"):
        msa.LQ(np.eye(1), np.eye(1), np.eye(1), -np.eye(1), np.eye(1), 1.0)
    with pytest.raises(ParamError, match="delta"):
        msa.Params.from_preset("fast", delta=-1.0)
    with pytest.raises(ParamError, match="unknown parameter"):
        msa.Params.from_preset("fast", depth=3)
    with pytest.raises(ParamError, match="k_early"):
        msa.Params.from_preset("fast", k_early=200)
    with pytest.raises(ParamError, match="rho must lie"):
        msa.Params.from_preset("fast", rho=0.0)
