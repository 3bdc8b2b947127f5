"""``inner_form="authors"``: Entropy-SGD and HJ step for step against the authors' Lua update.

``lua_step`` below is this project's own transcription, in NumPy float64 on one flat
weight vector, of one call of the Entropy-SGD update of the authors' Lua code
(``entropyoptim.lua`` driven by ``train.lua``: Nesterov with dampening 0, coupling
``gamma`` scoped by ``(1 + scoping)^t``). Its logic, one outer step:

1. evaluate one minibatch gradient at x — it feeds only the outer momentum buffer, and
   the whole outer direction is zeroed afterwards when L > 0 (so an update costs L + 1
   gradients); then t ← t + 1 and the coupling is g = gamma·(1 + scoping)^t;
2. x′ = μ = x, the inner buffer v = 0; L times: d = ∇f_mb(x′) (the raw minibatch
   gradient); v ← mom·v + d; d ← d + mom·v (Nesterov); then d ← d − g(x − x′) + wd·x′
   + noise/√(lclr/2)·η with η standard normal; x′ ← x′ − lclr·d;
   μ ← 0.75μ + 0.25x′ (beta1);
3. x ← x − lr·(x − μ): no outer momentum, no γ⁻¹.

The Lua code cannot itself run with the inner momentum off (it asserts mom > 0 for
Nesterov, and without Nesterov it steps along the buffer, which stays 0 when mom = 0);
"momentum 0" below is the Nesterov branch with mom = 0, i.e. plain Langevin steps.

Mapping to ``deeprelax.train.optim`` (all exact in real arithmetic): lr → ``lr`` with
``outer="lua"`` and ``momentum=0``; lclr → ``lr_y``; beta1 → ``alpha``; mom →
``inner_momentum``; wd → ``weight_decay``; noise ε → ``beta_ex_inv = 2ε²`` and the
project's ξ = −η (the Lua subtracts its noise term, the project adds σξ); coupling
g₀(1+g₁)^(k+1) at outer step k → ``gamma = 1/(g₀(1+g₁))``, ``gamma_decay = g₁/(1+g₁)``.
Minibatches: inner step j of outer step k sees batch (kL + j) mod B in both; the Lua's
discarded gradient at x is drawn outside that stream (in the Lua every draw is an
i.i.d. uniform minibatch, so this changes no distribution).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from deeprelax.train import engine, optim
from deeprelax.params import ParamError

N_DIM, N_BATCH = 10, 3
SHAPES = ((4,), (2, 3))                  # the project sees two tensors, the Lua one vector


def problem(seed: int = 0):
    """Minibatch losses f_b(w) = Σ a_b (w − c_b)²/2 + s_b cos(w), b = 0..B−1, and x₀."""
    r = np.random.RandomState(seed)
    a = r.uniform(0.05, 0.5, (N_BATCH, N_DIM))   # weak curvature, minima far from x₀:
    c = 3.0 * r.normal(size=(N_BATCH, N_DIM))     # the weights keep moving for 5 updates
    s = r.uniform(0.0, 0.3, (N_BATCH, N_DIM))
    x0 = r.normal(size=N_DIM)
    return a, c, s, x0


def grad_np(w, b, a, c, s):
    """∇f_b(w) in closed form (NumPy; the transcription's minibatch gradient)."""
    return a[b] * (w - c[b]) - s[b] * np.sin(w)


def lua_step(x, state, cfg, prob, etas):
    """One call of the authors' Lua Entropy-SGD update (this project's transcription)."""
    a, c, s, _ = prob
    L, lclr, mom, wd, eps = cfg["L"], cfg["lclr"], cfg["mom"], cfg["wd"], cfg["eps"]
    xc = x.copy()
    grad_np(x, 0, a, c, s)                        # the (L+1)-th gradient: discarded
    state["t"] += 1
    g = cfg["g0"] * (1.0 + cfg["g1"]) ** state["t"]
    lx, lmx, mdfdx = xc.copy(), xc.copy(), np.zeros_like(xc)
    for j in range(L):
        d = grad_np(lx, state["batch"] % N_BATCH, a, c, s)
        state["batch"] += 1
        mdfdx = mom * mdfdx + d                   # dampening 0 (train.lua)
        d = d + mom * mdfdx                       # Nesterov on the raw gradient only
        eta = etas[state["draw"]]
        state["draw"] += 1
        d = d - g * (xc - lx) + wd * lx + eps / math.sqrt(0.5 * lclr) * eta
        lx = lx - lclr * d
        lmx = cfg["beta1"] * lmx + (1.0 - cfg["beta1"]) * lx
    return xc - cfg["lr"] * (xc - lmx)


def lua_run(cfg, n_outer, prob, etas):
    """x₀, x₁, …, x_n of the transcription (float64)."""
    x = prob[3].copy()
    state = {"t": 0, "batch": 0, "draw": 0}
    xs = [x.copy()]
    for _ in range(n_outer):
        x = lua_step(x, state, cfg, prob, etas)
        xs.append(x.copy())
    return np.array(xs)


def config(g0, mom=0.9, L=20, wd=0.0, eps=0.0, beta1=0.75, lr=1.0, lclr=0.1, g1=1e-3):
    return dict(g0=g0, g1=g1, mom=mom, L=L, wd=wd, eps=eps, beta1=beta1, lr=lr, lclr=lclr)


def etas_for(cfg, n_outer, seed=1):
    return np.random.RandomState(seed).normal(size=(n_outer * cfg["L"], N_DIM))


def project_run(cfg, n_outer, prob, etas, inner_form, algorithm="entropy-sgd"):
    """x₀, …, x_n of ``deeprelax.train.optim`` on the same minibatches and noise (float64)."""
    a, c, s, x0 = (torch.from_numpy(v) for v in prob)
    ws = [nn.Parameter(t.clone().view(shape))
          for t, shape in zip(x0.split([math.prod(sh) for sh in SHAPES]), SHAPES)]
    draws = iter(torch.from_numpy(-etas))         # the project's ξ is the Lua's −η
    calls = [0]

    def noise(tensors):
        z = next(draws)
        return [p.view_as(t).clone() for p, t in zip(z.split([t.numel() for t in tensors]),
                                                     tensors)]
    g0, g1 = cfg["g0"], cfg["g1"]
    hyper = dict(lr=cfg["lr"], gamma=1.0 / (g0 * (1.0 + g1)), gamma_decay=g1 / (1.0 + g1),
                 L=cfg["L"], lr_y=cfg["lclr"], momentum=0.0, inner_momentum=cfg["mom"],
                 weight_decay=cfg["wd"], outer="lua", inner_form=inner_form)
    if algorithm == "entropy-sgd":
        opt = optim.EntropySGD(ws, alpha=cfg["beta1"], beta_ex_inv=2.0 * cfg["eps"] ** 2,
                               noise=noise, **hyper)
    else:
        assert cfg["beta1"] == 0.0 and cfg["eps"] == 0.0     # HJ: last iterate, no noise
        opt = optim.HJ(ws, **hyper)

    def closure():
        b = calls[0] % N_BATCH
        calls[0] += 1
        opt.zero_grad()
        w = torch.cat([p.view(-1) for p in ws])
        loss = (0.5 * a[b] * (w - c[b]) ** 2 + s[b] * torch.cos(w)).sum()
        loss.backward()
        return loss

    xs = [x0.numpy().copy()]
    for _ in range(n_outer):
        opt.step(closure)
        xs.append(torch.cat([p.detach().view(-1) for p in ws]).numpy().copy())
    assert calls[0] == n_outer * cfg["L"]         # L gradients per update here (L + 1 there)
    return np.array(xs)


def step_errors(cfg, n_outer=5, inner_form="authors", algorithm="entropy-sgd", seed=0):
    """Per outer step k = 1..n: max|x_k(project) − x_k(Lua)| and max|x_k − x₀| (Lua)."""
    prob = problem(seed)
    etas = etas_for(cfg, n_outer)
    ref = lua_run(cfg, n_outer, prob, etas)
    got = project_run(cfg, n_outer, prob, etas, inner_form, algorithm)
    err = np.abs(got - ref).max(axis=1)[1:]
    move = np.abs(ref - ref[0]).max(axis=1)[1:]
    return err, move


# ---- the authors' form is the Lua update --------------------------------------------------
@pytest.mark.parametrize("g0", [1e-4, 1.0])
@pytest.mark.parametrize("wd, eps", [(0.0, 0.0), (1e-2, 0.0), (0.0, 1e-2), (1e-2, 1e-2)])
def test_authors_form_is_the_lua_update_step_for_step(g0, wd, eps):
    err, move = step_errors(config(g0, wd=wd, eps=eps))
    assert move.min() > 0.05                      # the weights really move
    assert err.max() < 1e-14, err                 # float64 round-off only


@pytest.mark.parametrize("g0, lo, hi", [(1e-4, 1e-5, 1e-3), (1.0, 0.1, 10.0)])
def test_paper_form_drifts_from_the_lua_update_with_inner_momentum(g0, lo, hi):
    # the paper form puts the coupling into the Nesterov buffer: a real difference, of
    # order coupling × (momentum amplification) relative to the movement of the weights
    err, move = step_errors(config(g0), inner_form="paper")
    rel = (err / move).max()
    assert lo < rel < hi, rel


@pytest.mark.parametrize("g0", [1e-4, 1.0])
def test_without_inner_momentum_the_two_forms_are_the_same_and_are_the_lua_update(g0):
    cfg = config(g0, mom=0.0, wd=1e-2, eps=1e-2)
    prob, etas = problem(), etas_for(cfg, 5)
    ref = lua_run(cfg, 5, prob, etas)
    paper = project_run(cfg, 5, prob, etas, "paper")
    authors = project_run(cfg, 5, prob, etas, "authors")
    assert np.array_equal(paper, authors)         # the same arithmetic, bit for bit
    assert np.abs(authors - ref).max() < 1e-14


@pytest.mark.parametrize("g0", [1e-4, 1.0])
def test_hj_authors_form_is_the_lua_update_with_the_last_iterate(g0):
    # HJ = the Lua update with beta1 = 0 (<y> = the last iterate), no noise, L = 5
    cfg = config(g0, L=5, beta1=0.0, wd=1e-2)
    err, move = step_errors(cfg, algorithm="hj")
    assert move.min() > 0.05 and err.max() < 1e-14, err
    err_paper, _ = step_errors(cfg, algorithm="hj", inner_form="paper")
    assert err_paper.max() > 1e3 * max(err.max(), 1e-16)


def test_noise_std_is_eps_sqrt_2_lr_y():
    # beta_ex_inv = 2 eps^2 gives the Lua's noise: one inner step from a flat loss moves y
    # by exactly sigma * xi with sigma = eps * sqrt(2 eta_y) (here eps = 1e-4: 2e-8)
    w = nn.Parameter(torch.zeros(100_000, dtype=torch.float64))
    xi = torch.randn(100_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    opt = optim.EntropySGD([w], lr=1.0, gamma=1e4, L=1, lr_y=0.1, alpha=0.0, momentum=0.0,
                           inner_momentum=0.9, beta_ex_inv=2e-8, outer="lua",
                           inner_form="authors", noise=lambda ts: [xi.clone()])

    def closure():
        opt.zero_grad()
        w.grad = torch.zeros_like(w)
        return torch.zeros(())
    opt.step(closure)
    sigma = 1e-4 * math.sqrt(2 * 0.1)
    torch.testing.assert_close(w.detach(), sigma * xi, rtol=1e-15, atol=0)


def test_bad_inner_form_is_rejected():
    w = [nn.Parameter(torch.ones(2))]
    with pytest.raises(ParamError, match="inner_form"):
        optim.EntropySGD(w, lr=0.1, gamma=1.0, inner_form="lua")
    with pytest.raises(ParamError, match="inner_form"):
        optim.HJ(w, lr=0.1, gamma=1.0, inner_form="torch")
    with pytest.raises(ParamError, match="inner_form"):
        engine.TrainParams(algorithm="entropy-sgd", L=2, inner_form="lua")


# ---- the engine passes the knob through, and seeds stay independent -------------------------
def _net():
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))


def _data(n=96, n_test=48):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n + n_test, 20, generator=g)
    y = (x @ torch.randn(20, 4, generator=g)).argmax(1)
    return engine.TensorData(x[:n], y[:n], x[n:], y[n:], name="tiny-authors")


def _params(algorithm, inner_form, **kw):
    base = dict(algorithm=algorithm, seeds=(0, 1, 2), effective_epochs=2, batch_size=16,
                eval_batch=48, dtype="float64", momentum=0.0, inner_momentum=0.9,
                outer="lua", gamma=1.0, lr_schedule=((0, 0.5),), lr_y=0.05,
                inner_form=inner_form)
    if algorithm == "entropy-sgd":
        base.update(L=3, beta_ex_inv=2e-4)
    else:
        base.update(L=2)
    base.update(kw)
    return engine.TrainParams(**base)


@pytest.mark.parametrize("algorithm", ["entropy-sgd", "hj"])
def test_engine_authors_form_seeds_together_equal_seeds_alone(algorithm):
    data = _data()
    together = engine.MultiSeedTrainer(_net, data, _params(algorithm, "authors"))
    alone = engine.MultiSeedTrainer(_net, data, _params(algorithm, "authors", seeds=(1,)))
    paper = engine.MultiSeedTrainer(_net, data, _params(algorithm, "paper"))
    assert together.opt.param_groups[0]["inner_form"] == "authors"
    assert paper.opt.param_groups[0]["inner_form"] == "paper"
    for _ in range(2):
        for tr in (together, alone, paper):
            tr.run_effective_epoch()
    for name, p in together.params.items():
        torch.testing.assert_close(p[1], alone.params[name][0], rtol=1e-10, atol=1e-12)
    assert together.records["val_error"][1][1] == alone.records["val_error"][1][0]
    # the knob reaches the optimizer: at coupling 1 the two forms differ visibly
    w, w_paper = together.params["3.weight"], paper.params["3.weight"]
    assert (w - w_paper).abs().max() > 1e-4
