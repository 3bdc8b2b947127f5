"""Sec. 7 optimizers: hand-computed steps, the two HJ forms, scoping, and the Sec. 4 limits.

On f(x) = c|x|²/2 everything is explicit: the Gibbs measure of y given x (Sec. 4.2) is
Gaussian with mean x/(1 + cγ), so the local-entropy gradient is x/(γ + 1/c); the proximal
point (eq. (14)) is the same mean, so HJ has the same gradient. For f = Σ x⁴/4, the
Gaussian smoothing of HEAT (eq. (23)) has gradient x³ + 3γx.
"""
import math

import numpy as np
import pytest
import torch

from deeprelax.train import optim
from deeprelax.params import ParamError


def quadratic_closure(opt, w, c=1.0, center=None, log=None):
    """Closure of f(w) = c|w - center|^2/2; ``log`` collects the points it is evaluated at."""
    center = torch.zeros_like(w) if center is None else center

    def closure():
        opt.zero_grad()
        if log is not None:
            log.append(w.detach().clone())
        loss = 0.5 * c * ((w - center) ** 2).sum()
        loss.backward()
        return loss
    return closure


def test_entropy_sgd_one_step_by_hand():
    # x = 1, c = 1, gamma = 0.5, eta_y = 0.1, alpha = 0.75, L = 2, no noise, no momentum
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = optim.EntropySGD([w], lr=1.0, gamma=0.5, L=2, beta_ex_inv=0.0, momentum=0.0)
    pts = []
    loss = opt.step(quadratic_closure(opt, w, log=pts))
    y1 = 1 - 0.1 * (1 + 0)                       # coupling (y - x)/gamma = 0 at y = x
    mu1 = 0.75 * 1 + 0.25 * y1
    y2 = y1 - 0.1 * (y1 + (y1 - 1) / 0.5)
    mu2 = 0.75 * mu1 + 0.25 * y2
    x1 = 1 - 1.0 * (1 - mu2) / 0.5               # eq. (33)
    assert [float(p) for p in pts] == pytest.approx([1.0, y1], abs=1e-15)
    assert w.item() == pytest.approx(x1, abs=1e-15)
    assert loss.item() == pytest.approx(0.5)     # the loss of the first call, at x
    assert x1 == pytest.approx(0.8775, abs=1e-12)


def test_lua_outer_step_and_inner_nesterov_by_hand():
    # outer='lua': x <- x - eta (x - mu); inner Nesterov 0.5 on the gradient, reset each step
    w = torch.nn.Parameter(torch.tensor([2.0], dtype=torch.float64))
    opt = optim.EntropySGD([w], lr=0.5, gamma=1e6, gamma_decay=0.0, L=2, beta_ex_inv=0.0,
                           momentum=0.0, inner_momentum=0.5, alpha=0.0, outer="lua")
    opt.step(quadratic_closure(opt, w))
    g0 = 2.0 + 0.0                               # grad + coupling at y = x
    v = g0; y1 = 2.0 - 0.1 * (g0 + 0.5 * v)
    g1 = y1 + (y1 - 2.0) / 1e6
    v = 0.5 * v + g1; y2 = y1 - 0.1 * (g1 + 0.5 * v)
    assert w.item() == pytest.approx(2.0 - 0.5 * (2.0 - y2), abs=1e-12)


def test_outer_nesterov_by_hand():
    # HEAT with gamma tiny (no perturbation to speak of) and L = 1 is SGD with Nesterov-delta
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = optim.HEAT([w], lr=0.1, gamma=1e-30, L=1, momentum=0.9)
    clo = quadratic_closure(opt, w, c=2.0)
    x, v = 1.0, 0.0
    for _ in range(3):
        opt.step(clo)
        g = 2.0 * x
        v = 0.9 * v + g
        x = x - 0.1 * (g + 0.9 * v)
        assert w.item() == pytest.approx(x, abs=1e-12)


def test_nesterov_sgd_equals_torch_sgd():
    torch.manual_seed(0)
    A = torch.randn(5, 5, dtype=torch.float64)
    A = A @ A.T + torch.eye(5, dtype=torch.float64)
    w1 = torch.nn.Parameter(torch.randn(5, dtype=torch.float64))
    w2 = torch.nn.Parameter(w1.detach().clone())
    o1 = optim.NesterovSGD([w1], lr=0.05, momentum=0.9, weight_decay=1e-2)
    o2 = torch.optim.SGD([w2], lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)
    for _ in range(20):
        for o, w in ((o1, w1), (o2, w2)):
            o.zero_grad()
            (0.5 * w @ A @ w).backward()
            o.step()
    assert torch.equal(w1, w2)


def test_heat_step_by_hand_with_given_noise():
    # eq. (35) with fixed perturbations: x+ = x - eta/L sum grad f(x + sqrt(gamma) xi_i)
    xi = [torch.tensor([0.5, -1.0], dtype=torch.float64),
          torch.tensor([-0.25, 2.0], dtype=torch.float64)]
    it = iter(xi)
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = optim.HEAT([w], lr=0.3, gamma=0.04, gamma_decay=0.0, L=2, momentum=0.0,
                     noise=lambda ts: [next(it).clone() for _ in ts])
    c = 3.0
    opt.step(quadratic_closure(opt, w, c=c))
    x = torch.tensor([1.0, -2.0], dtype=torch.float64)
    expected = x - 0.3 / 2 * sum(c * (x + 0.2 * e) for e in xi)
    assert torch.allclose(w.detach(), expected, atol=1e-14)


def test_gamma_scoping():
    w = torch.nn.Parameter(torch.ones(3))
    opt = optim.EntropySGD([w], lr=0.01, gamma=0.03, gamma_decay=1e-3, L=2, lr_y=0.01,
                           beta_ex_inv=0.0)
    clo = quadratic_closure(opt, w)
    assert opt.gamma() == pytest.approx(0.03)
    for _ in range(7):
        opt.step(clo)
    assert opt.gamma() == pytest.approx(0.03 * (1 - 1e-3) ** 7, rel=1e-6)
    assert opt.grads_per_step == 2


def _hj_run(form, L, steps=6, dim=4, lr=0.5, gamma=0.7):
    torch.manual_seed(1)
    c = torch.linspace(0.5, 2.0, dim, dtype=torch.float64)
    w = torch.nn.Parameter(torch.linspace(-1, 1.5, dim, dtype=torch.float64))
    opt = optim.HJ([w], lr=lr, gamma=gamma, L=L, lr_y=0.1, momentum=0.9,
                   gamma_decay=1e-3, form=form)
    pts, xs = [], []

    def closure():
        opt.zero_grad()
        pts.append(w.detach().clone())
        loss = 0.5 * (c * w ** 2).sum()
        loss.backward()
        return loss
    for _ in range(steps):
        opt.step(closure)
        xs.append(w.detach().clone())
    return torch.stack(pts), torch.stack(xs), c


def test_hj_two_forms_same_inner_iterates():
    # Remark 21: y = x - z, so both forms visit the same points y_0..y_{L-1} (deterministic f)
    for L in (1, 5):
        p1, _, _ = _hj_run("prox", L, steps=1)
        p2, _, _ = _hj_run("remark21", L, steps=1)
        assert torch.allclose(p1, p2, atol=1e-14, rtol=0)


def test_hj_two_forms_same_iterates_once_inner_loop_converged():
    # Both outer directions equal grad u(x) = c x/(1 + c gamma) at the proximal point (Lemma 1);
    # with L large the inner loop converges and the x-iterates of the two forms coincide.
    _, x1, c = _hj_run("prox", L=400)
    _, x2, _ = _hj_run("remark21", L=400)
    assert torch.allclose(x1, x2, atol=1e-12, rtol=0)
    # with L = 5 they are different algorithms (the difference is O((1 - eta_y k)^L))
    _, x1, _ = _hj_run("prox", L=5)
    _, x2, _ = _hj_run("remark21", L=5)
    assert (x1 - x2).abs().max() > 1e-3


def test_hj_converged_direction_is_hopf_lax_gradient():
    # one step from x with L large, no momentum: x+ = x - eta c x / (1 + c gamma)
    gamma, eta = 0.7, 0.5
    c = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    x0 = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    for form in ("prox", "remark21"):
        w = torch.nn.Parameter(x0.clone())
        opt = optim.HJ([w], lr=eta, gamma=gamma, L=400, momentum=0.0, form=form)

        def closure():
            opt.zero_grad()
            loss = 0.5 * (c * w ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        expected = x0 - eta * c * x0 / (1 + c * gamma)
        assert torch.allclose(w.detach(), expected, atol=1e-12)


def test_entropy_sgd_homogenised_limit_and_noise_scale():
    # Theorem 5 on f = c|x|^2/2 with noise: the Gibbs mean of y given x is x/(1 + c gamma), so
    # (x - <y>)/gamma -> x/(gamma + 1/c); the inner chain is a discrete OU process whose
    # stationary variance is beta^-1 / (k (2 - eta_y k)), k = c + 1/gamma (eq. (32)'s noise).
    n, c, gamma, eta_y, beta_inv = 50_000, 1.0, 1.0, 0.1, 0.05
    g = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.ones(n, dtype=torch.float64))
    opt = optim.EntropySGD([w], lr=1.0, gamma=gamma, L=100, lr_y=eta_y, alpha=0.75,
                           beta_ex_inv=beta_inv, momentum=0.0, gamma_decay=0.0,
                           generator=g)
    last = {}

    def closure():
        opt.zero_grad()
        last["y"] = w.detach().clone()
        loss = 0.5 * c * (w ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    direction = (1.0 - w.detach()).mean().item()          # x - x+ = (x - <y>)/gamma
    assert direction == pytest.approx(1.0 / (gamma + 1.0 / c), abs=5e-3)
    k = c + 1.0 / gamma
    var_y = last["y"].var().item()                          # y_{L-1}, stationary
    assert var_y == pytest.approx(beta_inv / (k * (2 - eta_y * k)), rel=0.02)


def test_heat_gradient_is_gaussian_smoothing():
    # eq. (23): E grad f(x + eps), eps ~ N(0, gamma) = x^3 + 3 gamma x for f = x^4/4
    n, gamma, L = 100_000, 0.1, 20
    g = torch.Generator().manual_seed(0)
    x0 = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    w = torch.nn.Parameter(x0.clone())
    opt = optim.HEAT([w], lr=1.0, gamma=gamma, gamma_decay=0.0, L=L, momentum=0.0,
                     generator=g)

    def closure():
        opt.zero_grad()
        loss = (w ** 4).sum() / 4
        loss.backward()
        return loss
    opt.step(closure)
    d = x0 - w.detach()
    resid = d - (x0 ** 3 + 3 * gamma * x0)
    # per-coordinate noise variance of the L-average, summed over coordinates
    var = (9 * x0 ** 4 * gamma + 36 * x0 ** 2 * gamma ** 2 + 15 * gamma ** 3) / L
    assert abs(resid.sum().item()) < 4 * math.sqrt(var.sum().item())
    assert abs((resid * x0).sum().item()) < 4 * math.sqrt((var * x0 ** 2).sum().item())
    # the smoothing term is really there: regress d - x^3 on x
    slope = ((d - x0 ** 3) * x0).sum() / (x0 ** 2).sum()
    assert slope.item() == pytest.approx(3 * gamma, rel=0.05)


@pytest.mark.parametrize("algorithm, hyper", [
    ("sgd", dict(lr=0.05)),
    ("entropy-sgd", dict(lr=1.0, gamma=1e4, outer="lua", momentum=0.0, inner_momentum=0.9,
                         L=5, lr_y=0.05)),
    ("entropy-sgd", dict(lr=0.05, gamma=1.0, L=5, lr_y=0.05)),
    ("hj", dict(lr=0.05, gamma=1.0, lr_y=0.05)),
    ("hj", dict(lr=0.05, gamma=1.0, lr_y=0.05, form="remark21")),
    ("heat", dict(lr=0.05, gamma=1e-4, L=5)),
])
def test_plain_user_loop_trains_logistic_regression(algorithm, hyper):
    torch.manual_seed(0)
    X = torch.randn(512, 10)
    y = (X @ torch.randn(10) > 0).long()
    model = torch.nn.Linear(10, 2)
    opt = optim.make(algorithm, model.parameters(), **hyper)
    batches = iter(lambda: torch.randint(0, 512, (64,)), None)

    def closure():
        idx = next(batches)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        return loss
    full = lambda: torch.nn.functional.cross_entropy(model(X), y).item()  # noqa: E731
    before = full()
    for _ in range(40):
        opt.step(closure)
    assert full() < 0.5 * before


def test_bad_parameters_are_rejected():
    w = [torch.nn.Parameter(torch.ones(2))]
    with pytest.raises(ParamError, match="L"):
        optim.EntropySGD(w, lr=0.1, gamma=1.0, L=0)
    with pytest.raises(ParamError, match="gamma"):
        optim.EntropySGD(w, lr=0.1, gamma=-1.0)
    with pytest.raises(ParamError, match="alpha"):
        optim.EntropySGD(w, lr=0.1, gamma=1.0, alpha=1.0)
    with pytest.raises(ParamError, match="outer"):
        optim.EntropySGD(w, lr=0.1, gamma=1.0, outer="paper")
    with pytest.raises(ParamError, match="form"):
        optim.HJ(w, lr=0.1, gamma=1.0, form="hopf")
    with pytest.raises(ParamError, match="remark21"):
        optim.HJ(w, lr=0.1, gamma=1.0, form="remark21", outer="lua")
    with pytest.raises(ParamError, match="momentum"):
        optim.HEAT(w, lr=0.1, gamma=1.0, momentum=1.0)
    with pytest.raises(ParamError, match="lr"):
        optim.NesterovSGD(w, lr=-1.0)
    with pytest.raises(ParamError, match="algorithm"):
        optim.make("adam", w, lr=0.1)
    with pytest.raises(ParamError, match="hyper-parameters"):
        optim.make("sgd", w, lr=0.1, gamma=1.0)
    opt = optim.HEAT(w, lr=0.1, gamma=1.0)
    with pytest.raises(ParamError, match="closure"):
        opt.step()


def test_tensor_learning_rate_gives_the_same_iterates():
    # a 0-dim tensor lr (for CUDA-graph capture) is the same as the float
    runs = []
    for lr in (0.3, torch.tensor(0.3, dtype=torch.float64)):
        w = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
        opt = optim.EntropySGD([w], lr=lr, gamma=0.5, L=3, beta_ex_inv=0.0)
        for _ in range(3):
            opt.step(quadratic_closure(opt, w))
        runs.append(w.detach().clone())
    assert torch.allclose(runs[0], runs[1], atol=1e-15)
    assert np.isfinite(runs[0].numpy()).all()
