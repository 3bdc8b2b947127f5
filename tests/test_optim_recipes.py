"""The optimizers as a user meets them: the one-line recipes, the refused unstable settings,
parameters without a gradient, the state_dict round trip and the torch.optim conventions.

The stability bound (``optim.stable_fraction``): the outer step of Entropy-SGD/HJ moves x a
fraction h of the way to ⟨y⟩ (h = η/γ for ``outer="local-entropy"``, η for ``"lua"``);
on f = λ|y|²/2 the converged inner loop gives ⟨y⟩ = x/(1 + γλ), so one step multiplies x
by 1 − (η/γ)·γλ/(1 + γλ), which leaves [−1, 1] for stiff directions iff η/γ > 2; with
Nesterov momentum δ the bound is 2(1 + δ)/(1 + 2δ).
"""
import copy
import io
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deeprelax.train import engine, experiments, optim
from deeprelax.params import ParamError

RELAXATIONS = (optim.EntropySGD, optim.HJ, optim.HEAT)


def _hyper_of(opt) -> dict:
    """An optimizer's settings as the engine passes them (defaults, L, HJ's form)."""
    got = dict(opt.defaults, L=opt.grads_per_step)
    if isinstance(opt, optim.HJ):
        got["form"] = got.pop("hj_form", opt.form)
    return got


# ---- recipes ----------------------------------------------------------------------------
@pytest.mark.parametrize("net, setting", [("mnistfc", "mnist"), ("lenet", "mnist"),
                                          ("allcnn", "cifar10")])
@pytest.mark.parametrize("algorithm", experiments.ALGORITHM_ORDER)
def test_each_recipe_is_the_table1_setting(net, setting, algorithm):
    """recipe(params, setting) builds what the engine builds for the Table 1 cell (its
    keyword arguments, at the first learning rate of the schedule); one exception, stated:
    mnistfc's HJ scopes γ at half the rate over its 18,760 updates (experiments)."""
    tp = experiments.experiment(net, algorithm)
    if (net, algorithm) == ("mnistfc", "hj"):
        assert tp.gamma_decay == optim.RECIPES["hj"]["mnist"]["gamma_decay"] / 2
        tp = engine.replace(tp, gamma_decay=optim.RECIPES["hj"]["mnist"]["gamma_decay"])
    hyper = tp.optimizer_hyper()
    if algorithm == "hj":
        hyper["form"] = hyper.pop("form")
    w = [torch.nn.Parameter(torch.zeros(3))]
    engine_opt = optim.make(algorithm, w, lr=tp.lr_schedule[0][1], **hyper)
    recipe_opt = optim.OPTIMIZERS[algorithm].recipe(w, setting)
    assert type(recipe_opt) is type(engine_opt)
    assert _hyper_of(recipe_opt) == _hyper_of(engine_opt)
    if algorithm == "hj":
        assert recipe_opt.form == engine_opt.form == tp.hj_form


def test_a_recipe_takes_changes_and_refuses_an_unknown_setting():
    w = [torch.nn.Parameter(torch.zeros(2))]
    opt = optim.EntropySGD.recipe(w, "mnist", lr=0.5, generator=torch.Generator())
    assert opt.defaults["lr"] == 0.5 and opt.defaults["gamma"] == 1e4
    assert opt.generator is not None
    with pytest.raises(ParamError, match="no HEAT recipe 'imagenet'.*cifar10.*mnist"):
        optim.HEAT.recipe(w, "imagenet")
    with pytest.raises(TypeError):
        optim.HJ.recipe(w, "mnist", alpha=0.5)       # HJ has no alpha (Sec. 7.2: α = 0)


def _clusters(n=640, dim=32, classes=10, seed=0):
    """Ten Gaussian clusters, well separated (centres 3 apart per axis, unit noise)."""
    g = torch.Generator().manual_seed(seed)
    centres = 3.0 * torch.randn(classes, dim, generator=g)
    y = torch.arange(n) % classes
    x = centres[y] + torch.randn(n, dim, generator=g)
    return x, y


class _Net(torch.nn.Module):
    """A small net in the style of PyTorch's MNIST example (dropout, log-softmax + NLL)."""

    def __init__(self, dim=32):
        super().__init__()
        self.fc1 = torch.nn.Linear(dim, 64)
        self.drop = torch.nn.Dropout(0.25)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        return F.log_softmax(self.fc2(self.drop(F.relu(self.fc1(x)))), dim=1)


@pytest.mark.parametrize("cls", RELAXATIONS)
def test_the_one_line_recipe_trains_a_small_net_in_a_plain_loop(cls):
    """A plain loop in the style of PyTorch's MNIST example (DataLoader, a closure, StepLR
    once per epoch) with ``cls.recipe(params, "mnist")``, 100 gradient evaluations per
    epoch, 4 epochs: no warning, and the full-data loss falls from about log 10 = 2.30 (a
    fresh net) to below a quarter of it."""
    torch.manual_seed(0)
    x, y = _clusters()
    model = _Net()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=64, shuffle=True,
        generator=torch.Generator().manual_seed(0))
    batches = _cycle(loader)

    def full_loss():
        model.eval()
        with torch.no_grad():
            loss = F.nll_loss(model(x), y).item()
        model.train()
        return loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = cls.recipe(model.parameters(), "mnist")           # the one line
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)

        def closure():
            xb, yb = next(batches)
            opt.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            return loss
        before = full_loss()
        for epoch in range(4):
            for _ in range(100 // opt.grads_per_step):
                opt.step(closure)
            sched.step()
    after = full_loss()
    assert before > 0.8 * math.log(10)
    assert after < 0.25 * before


def _cycle(loader):
    while True:
        yield from loader


# ---- the stability bound ----------------------------------------------------------------
def test_stable_fraction_is_the_nesterov_bound():
    """The scalar map e ← e − h·(Nesterov-δ of e), run with the optimizers' own momentum
    (``optim._nesterov_``), decays just below 2(1+δ)/(1+2δ) and grows just above it."""
    assert optim.stable_fraction(0.0) == 2.0
    assert optim.stable_fraction(0.9) == pytest.approx(3.8 / 2.8, rel=1e-15)
    for delta in (0.0, 0.5, 0.9):
        bound = optim.stable_fraction(delta)
        for factor, grows in ((0.99, False), (1.01, True)):
            e, buf = [torch.ones((), dtype=torch.float64)], [torch.zeros((), dtype=torch.float64)]
            for _ in range(3000):
                d = optim._nesterov_(buf, [e[0].clone()], delta) if delta else [e[0].clone()]
                e[0] -= factor * bound * d[0]
            assert (abs(float(e[0])) > 1.0) == grows


def _one_outer_step(eta, x0=1.0, lam=100.0, gamma=1.0):
    """x⁺/x after one Entropy-SGD step (α = 0, no noise, no momentum) on f = λy²/2 whose
    inner loop has converged (contraction |1 − η_y(λ + 1/γ)|^L = 0.091^40 ≈ 1e-42)."""
    w = torch.nn.Parameter(torch.tensor([x0], dtype=torch.float64))
    opt = optim.EntropySGD([w], lr=eta, gamma=gamma, L=40, lr_y=0.009, alpha=0.0,
                           beta_ex_inv=0.0, momentum=0.0, gamma_decay=0.0)

    def closure():
        opt.zero_grad()
        loss = 0.5 * lam * (w ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return float(w.detach()) / x0


def test_the_outer_step_multiplies_x_by_one_minus_h_and_diverges_above_two():
    """One step multiplies x by 1 − (η/γ)·γλ/(1 + γλ) (to round-off): |·| < 1 for
    η/γ = 1.9 and > 1 for 2.1 when γλ = 100; the second step of the latter is refused."""
    r = 100.0 / 101.0
    for eta in (0.5, 1.9, 2.1):
        assert _one_outer_step(eta) == pytest.approx(1 - eta * r, abs=1e-13)
    assert abs(_one_outer_step(1.9)) < 1 < abs(_one_outer_step(2.1))
    w = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = optim.EntropySGD([w], lr=2.1, gamma=1.0, L=2, lr_y=0.009, beta_ex_inv=0.0,
                           momentum=0.0)
    clo = lambda: (opt.zero_grad(), (w ** 2).sum().backward())[0]  # noqa: E731
    opt.step(clo)                 # one step is allowed (chapter 07 reads directions so)
    with pytest.raises(ParamError, match=r"lr/gamma = 2\.1 exceeds 2: .*overshoots <y>"):
        opt.step(clo)


def test_the_settings_of_the_plain_attempt_are_refused_with_one_clear_error():
    """EntropySGD(lr=0.1, gamma=0.03, L=5), defaults otherwise (loss NaN at once before):
    the inner coupling step multiplies y − x by 1 − 0.1/0.03 = −2.33 per step."""
    w = [torch.nn.Parameter(torch.ones(3))]
    with pytest.raises(ParamError, match=r"lr_y/gamma = 3\.333 exceeds 2.*recipe"):
        optim.EntropySGD(w, lr=0.1, gamma=0.03, L=5)
    with pytest.raises(ParamError, match="lr_y/gamma"):
        optim.HJ(w, lr=0.1, gamma=0.03, form="remark21")
    # paper inner form with inner momentum 0.9: the bound is 2(1.9)/2.8 = 1.357
    with pytest.raises(ParamError, match=r"exceeds 1\.357"):
        optim.EntropySGD(w, lr=0.1, gamma=1.0, lr_y=1.4, inner_momentum=0.9)
    optim.EntropySGD(w, lr=0.1, gamma=1.0, lr_y=1.35, inner_momentum=0.9)   # accepted
    # the outer step: η/γ = 3.33 with momentum 0.9 (bound 1.357), refused at step 2
    opt = optim.EntropySGD(w, lr=0.1, gamma=0.03, L=5, lr_y=0.01, beta_ex_inv=0.0)
    clo = lambda: (opt.zero_grad(), (w[0] ** 2).sum().backward())[0]  # noqa: E731
    opt.step(clo)
    with pytest.raises(ParamError, match=r"lr/gamma = 3\.333 exceeds 1\.357"):
        opt.step(clo)


def test_an_outer_step_past_the_average_warns_and_lua_uses_lr_itself():
    w = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64))]
    opt = optim.EntropySGD(w, lr=1.5, gamma=1e4, L=1, outer="lua", momentum=0.0,
                           beta_ex_inv=0.0)
    clo = lambda: (opt.zero_grad(), (w[0] ** 2).sum().backward())[0]  # noqa: E731
    opt.step(clo)
    with pytest.warns(UserWarning, match=r"lr \(outer='lua'\) = 1\.5 > 1"):
        opt.step(clo)
    opt.param_groups[0]["lr"] = 2.5                 # as a scheduler would set it
    with pytest.raises(ParamError, match="overshoots"):
        opt.step(clo)


# ---- parameters without a gradient ------------------------------------------------------
def _three_params():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
    frozen = torch.nn.Parameter(torch.randn(4, dtype=torch.float64), requires_grad=False)
    unused = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
    return w, frozen, unused


def _make(cls, params, seed=1, **kw):
    kw = dict(dict(weight_decay=1e-2), **kw)
    if cls is optim.EntropySGD:
        return cls(params, lr=1.0, gamma=1.0, L=3, lr_y=0.1, beta_ex_inv=1e-2,
                   generator=torch.Generator().manual_seed(seed), **kw)
    if cls is optim.HEAT:
        return cls(params, lr=0.1, gamma=1e-2, L=3,
                   generator=torch.Generator().manual_seed(seed), **kw)
    if cls is optim.NesterovSGD:
        return cls(params, lr=0.1, **kw)
    return cls(params, lr=0.5, gamma=1.0, L=3, lr_y=0.1, **kw)


@pytest.mark.parametrize("cls, form", [(optim.EntropySGD, None), (optim.HJ, "prox"),
                                       (optim.HJ, "remark21"), (optim.HEAT, None),
                                       (optim.NesterovSGD, None)])
def test_parameters_without_a_gradient_are_left_alone(cls, form):
    """A frozen parameter (requires_grad=False, used by the loss) and an unused one keep
    their values bit for bit (noise, coupling and weight decay used to move them), and
    the trained parameter follows the same path as when it is the only one."""
    kw = {} if form is None else {"form": form}
    runs = []
    for with_others in (True, False):
        w, frozen, unused = _three_params()
        start = (frozen.detach().clone(), unused.detach().clone())
        opt = _make(cls, [w, frozen, unused] if with_others else [w], **kw)

        def closure():
            opt.zero_grad()
            loss = ((w - frozen) ** 2).sum() + torch.cos(w).sum()
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        runs.append(w.detach().clone())
        if with_others:
            assert torch.equal(frozen, start[0]) and torch.equal(unused, start[1])
            assert frozen.grad is None and unused.grad is None
    if cls is optim.HEAT:      # HEAT draws the unused parameter's first perturbation too
        assert not torch.equal(runs[0], runs[1])
    else:
        assert torch.equal(runs[0], runs[1])


def test_heat_draws_no_noise_for_a_frozen_parameter():
    """With only a frozen extra parameter HEAT's draws, and so its path, are unchanged."""
    runs = []
    for with_frozen in (True, False):
        w, frozen, _ = _three_params()
        opt = _make(optim.HEAT, [w, frozen] if with_frozen else [w])

        def closure():
            opt.zero_grad()
            loss = ((w - frozen) ** 2).sum() + torch.cos(w).sum()
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        runs.append(w.detach().clone())
    assert torch.equal(runs[0], runs[1])


# ---- state_dict round trip ----------------------------------------------------------------
def _batches(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 6, generator=g, dtype=torch.float64),
             torch.randint(0, 3, (16,), generator=g)) for _ in range(n * 20)]


def _mlp(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 3)).double()


def _run(cls, model, opt, data, counter, steps):
    def closure():
        xb, yb = data[counter[0]]
        counter[0] += 1
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        return loss
    for _ in range(steps):
        opt.step(closure)


def _recipe(cls, params, seed):
    gen = None if cls is optim.HJ else torch.Generator().manual_seed(seed)
    extra = {} if gen is None else {"generator": gen}
    return cls.recipe(params, "mnist", gamma_decay=1e-2, **extra)


@pytest.mark.parametrize("cls", RELAXATIONS)
def test_save_load_continue_repeats_the_uninterrupted_run_exactly(cls):
    """3 steps, torch.save of model and optimizer, a fresh model and optimizer (other
    seeds) loaded, 3 more steps: bit for bit the 6-step run (noise generator included)."""
    data = _batches()
    model = _mlp(0)
    opt = _recipe(cls, model.parameters(), seed=7)
    _run(cls, model, opt, data, [0], 6)
    straight = [p.detach().clone() for p in model.parameters()]

    def resumed(drop_generator=False):
        model = _mlp(0)
        opt = _recipe(cls, model.parameters(), seed=7)
        counter = [0]
        _run(cls, model, opt, data, counter, 3)
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
        buf.seek(0)
        saved = torch.load(buf)
        if drop_generator:
            saved["opt"].pop("generator")
        model2 = _mlp(1)
        opt2 = _recipe(cls, model2.parameters(), seed=99)
        model2.load_state_dict(saved["model"])
        opt2.load_state_dict(saved["opt"])
        _run(cls, model2, opt2, data, counter, 3)
        return [p.detach() for p in model2.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(straight, resumed()))
    assert ("generator" in opt.state_dict()) == (cls is not optim.HJ)
    if cls is not optim.HJ:     # without the generator's state the noise differs
        gap = max(float((a - b).abs().max()) for a, b in zip(straight, resumed(True)))
        assert gap > 0


def test_a_generator_state_needs_an_optimizer_with_a_generator():
    w = [torch.nn.Parameter(torch.zeros(2))]
    sd = optim.HEAT.recipe(w, "mnist", generator=torch.Generator()).state_dict()
    with pytest.raises(ParamError, match="generator=torch.Generator()"):
        optim.HEAT.recipe(w, "mnist").load_state_dict(copy.deepcopy(sd))


# ---- torch.optim conventions --------------------------------------------------------------
def _quadratic(ws, opt):
    def closure():
        opt.zero_grad()
        loss = sum(0.5 * (k + 1.0) * (w ** 2).sum() for k, w in enumerate(ws))
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("cls", RELAXATIONS)
def test_parameter_groups_keep_their_own_lr(cls):
    """Two groups with their own lr move exactly as two optimizers with those lrs (no
    noise draws: β_ex⁻¹ = 0, HEAT γ → 1e-30 with one draw per group either way)."""
    kw = {"beta_ex_inv": 0.0} if cls is optim.EntropySGD else {}
    if cls is optim.HEAT:
        kw = {"gamma": 1e-30}

    def pair():
        return [torch.nn.Parameter(torch.linspace(-1, 1, 3, dtype=torch.float64) + k)
                for k in range(2)]
    a = pair()
    opt = cls.recipe([{"params": [a[0]], "lr": 0.25}, {"params": [a[1]]}], "mnist", **kw)
    for _ in range(3):
        opt.step(_quadratic(a, opt))
    b = pair()
    o0 = cls.recipe([b[0]], "mnist", lr=0.25, **kw)
    o1 = cls.recipe([b[1]], "mnist", **kw)
    for _ in range(3):
        o0.step(_quadratic([b[0]], o0))
        o1.step(lambda: _quadratic(b, o1)())
    assert opt.param_groups[0]["lr"] == 0.25
    assert opt.param_groups[1]["lr"] == optim.RECIPES[cls.name]["mnist"]["lr"]
    assert torch.allclose(a[0], b[0], rtol=0, atol=1e-15)
    assert torch.allclose(a[1], b[1], rtol=0, atol=1e-15)
    assert not torch.allclose(a[0], a[0].new_tensor(np.linspace(-1, 1, 3)))


@pytest.mark.parametrize("cls", RELAXATIONS)
def test_step_lr_sets_the_lr_each_step_uses_and_float64_is_kept(cls):
    """StepLR halves the lr every step; each outer step uses the lr in param_groups (the
    same path as setting it by hand); float64 parameters and state stay float64."""
    kw = {"beta_ex_inv": 0.0} if cls is optim.EntropySGD else {}
    if cls is optim.HEAT:
        kw = {"gamma": 1e-30}
    paths = []
    for by_hand in (False, True):
        w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
        opt = cls.recipe([w], "mnist", **kw)
        sched = None if by_hand else torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
        lr0 = opt.param_groups[0]["lr"]
        for k in range(4):
            if by_hand:
                opt.param_groups[0]["lr"] = lr0 * 0.5 ** k
            opt.step(_quadratic([w], opt))
            if sched is not None:
                sched.step()
        paths.append(w.detach().clone())
        assert w.dtype == torch.float64
        assert all(t.dtype == torch.float64 for st in opt.state.values()
                   for t in st.values() if torch.is_tensor(t))
    assert torch.equal(paths[0], paths[1])
    if cls is not optim.HEAT:                 # StepLR's lr is not the constant one
        w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
        opt = cls.recipe([w], "mnist", **kw)
        for _ in range(4):
            opt.step(_quadratic([w], opt))
        assert not torch.equal(w.detach(), paths[0])
