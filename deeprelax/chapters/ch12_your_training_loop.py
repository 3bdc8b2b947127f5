"""Chapter 12: Entropy-SGD, HJ and HEAT in a plain PyTorch training loop.

The optimizers of :mod:`deeprelax.train.optim` are ordinary ``torch.optim`` optimizers whose
``step(closure)`` calls the closure L times (Remark 22). This chapter trains the same
network from the same initialisation on an MNIST subset with Entropy-SGD, HJ, HEAT and
``torch.optim.SGD`` at the same number of gradient evaluations, in one loop that is
written out in full (:func:`minibatches`, :func:`make_closure`, :func:`evaluate`,
:func:`train`, :func:`make_optimizer`; the page shows their source). The optimizers are
built in one line each from the book's recipes (``EntropySGD.recipe(params, "mnist")``,
:data:`deeprelax.train.optim.RECIPES`), and settings that cannot work are refused
(:func:`refusals`). It checks the pitfalls the book met: outer Nesterov momentum at lr 1
diverges, the noise convention β_ex⁻¹ = 2e-8, the two inner-loop forms, γ scoping and
batch-norm re-estimation. Its claims check this software (status "check"), except the
one on the printed β_ex⁻¹ = 10⁸ (a corrected constant of Sec. 7.1).
"""
from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deeprelax.train import experiments, models, optim
from deeprelax.book.claims import Claim, close_to, fact
from deeprelax.params import ParamError, Params as BaseParams, knob

OPTIMIZERS = ("SGD", "Entropy-SGD", "HJ", "HEAT")
ALGORITHM = {"SGD": "sgd", "Entropy-SGD": "entropy-sgd", "HJ": "hj", "HEAT": "heat"}
COLORS = {"SGD": "k", "Entropy-SGD": "C3", "HJ": "C0", "HEAT": "C2"}
LOG_C = math.log(10)                  # loss of a uniform guess over the ten digits
# the Lua code's noise per inner step, written as its update does: the bracket gets
# ε/√(lclr/2)·ξ and the step is lclr·bracket, with ε = 1e-4 and lclr = η_y = 0.1
AUTHORS_NOISE = 0.1 * 1e-4 / math.sqrt(0.1 / 2)
PRINTED_BETA_EX_INV = 1e8                   # Sec. 7.1 as printed
NOISE_SAMPLES = 200_000                     # weights in the noise measurement
NOISE_SE = 1 / math.sqrt(2 * (NOISE_SAMPLES - 1))   # relative s.e. of a sample std
RECIPE = "mnist"                            # the Table 1 setting of deeprelax.train.optim.RECIPES


@dataclass(frozen=True)
class Params(BaseParams):
    """Knobs of chapter 12: the data subset, the budget and the device."""

    net: str = knob("lenet", choices=("mnistfc", "lenet"), doc="the network (Sec. 8.2)")
    n_train: int = knob(2048, lo=256, hi=60000, doc="training images (the first n)")
    n_test: int = knob(1000, lo=100, hi=10000, doc="validation images (the first n)")
    batch_size: int = knob(128, lo=2, hi=4096, doc="minibatch size (Sec. 8.1.3: 128)")
    budget: int = knob(240, lo=20, hi=1_000_000,
                       doc="gradient evaluations per optimizer (a multiple of 20)")
    eval_every: int = knob(60, lo=20, hi=1_000_000,
                           doc="gradient evaluations between evaluations (multiple of 20)")
    pitfall_budget: int = knob(800, lo=20, hi=1_000_000,
                               doc="gradient evaluations of the outer-momentum run")
    seed: int = knob(0, lo=0, hi=2**31 - 1, doc="initialisation and minibatch order")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="where the loop runs")

    PRESETS = {"fast": {},
               "paper": dict(n_train=60000, n_test=10000, budget=9380, eval_every=940,
                             pitfall_budget=1880)}

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("budget", "eval_every", "pitfall_budget"):
            if getattr(self, name) % 20:
                raise ParamError(f"Params.{name} must be a multiple of 20 (L of Entropy-SGD "
                                 f"and HEAT, a multiple of HJ's 5), got {getattr(self, name)}")


class Data:
    """The first images of MNIST's training and test sets as tensors on the device:
    raw pixels 0..255 as floats, N×1×28×28, labels as int64 (Sec. 8.1.1)."""

    def __init__(self, P: Params):
        m = experiments.mnist_tensors(P.n_train, P.n_test)
        self.train_x = m.train_x.float().to(P.device)
        self.train_y = m.train_y.long().to(P.device)
        self.test_x = m.test_x.float().to(P.device)
        self.test_y = m.test_y.long().to(P.device)


# ---- the loop (shown on the page: at most 66 columns) --------------------------------
def minibatches(x, y, batch_size, seed):
    """Shuffled minibatches of (x, y), endlessly, in a new order
    every pass."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(len(x), generator=gen).to(x.device)
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = perm[i:i + batch_size]
            yield x[idx], y[idx]


def make_closure(model, opt, batches, losses):
    """The closure ``opt.step`` calls: a fresh minibatch, zeroed
    gradients, the loss, ``backward()``. It returns the loss and
    appends it to ``losses`` (one per gradient evaluation)."""
    def closure():
        xb, yb = next(batches)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        losses.append(loss.detach())
        return loss
    return closure


@torch.no_grad()
def error(model, x, y, batch=1000):
    """Error (%) of ``model`` in eval mode on (x, y)."""
    model.eval()
    wrong = sum(int((model(xb).argmax(1) != yb).sum())
                for xb, yb in zip(x.split(batch), y.split(batch)))
    model.train()
    return 100.0 * wrong / len(y)


def evaluate(model, data, batch=1024):
    """Validation error (%): with the BN statistics re-estimated
    at the current weights on the training set, and (second) with
    the statistics that training left."""
    stale = error(model, data.test_x, data.test_y)
    models.reestimate_bn(model, data.train_x.split(batch))
    return error(model, data.test_x, data.test_y), stale


def train(model, opt, data, P, budget=None):
    """``opt.step(closure)`` until ``budget`` gradient evaluations
    are spent; an evaluation every ``P.eval_every`` of them."""
    budget = budget or P.budget
    batches = minibatches(data.train_x, data.train_y,
                          P.batch_size, P.seed)
    losses = []
    closure = make_closure(model, opt, batches, losses)
    log = {"grads": [], "loss": [], "error": [], "stale": []}
    model.train()
    while len(losses) < budget:
        opt.step(closure)      # L gradient evaluations (SGD: 1)
        n = len(losses)
        if n % P.eval_every == 0 or n >= budget:
            err, stale = evaluate(model, data)
            recent = torch.stack(losses[-P.eval_every:])
            log["grads"].append(n)
            log["loss"].append(float(recent.mean()))
            log["error"].append(err)
            log["stale"].append(stale)
    return log


def make_optimizer(name, params, **changes):
    """The four optimizers with the book's MNIST recipes (Table
    1, first learning rates); ``changes`` on top, e.g. the
    outer ``momentum`` of Entropy-SGD."""
    if name == "SGD":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9,
                               nesterov=True)
    if name == "Entropy-SGD":
        return optim.EntropySGD.recipe(params, "mnist", **changes)
    if name == "HJ":
        return optim.HJ.recipe(params, "mnist", **changes)
    if name == "HEAT":
        return optim.HEAT.recipe(params, "mnist", **changes)
    raise ValueError(f"unknown optimizer {name!r}: {OPTIMIZERS}")


SHOWN = (minibatches, make_closure, error, evaluate, train, make_optimizer)
WIDTH = 66                      # columns of code that fit the page's text width


# ---- the chapter's computation -------------------------------------------------------
def fresh_model(P: Params):
    """The network of ``P.net`` with the seed's initialisation, on the device."""
    torch.manual_seed(P.seed)
    return models.build(P.net).to(P.device)


def grads_per_step(opt) -> int:
    """Gradient evaluations one ``step`` costs: L for deeprelax's optimizers, 1 else."""
    return getattr(opt, "grads_per_step", 1)


def noise_std(beta_ex_inv: float, n: int = NOISE_SAMPLES, seed: int = 0) -> float:
    """Measured std of the noise one inner step of the chapter's Entropy-SGD adds to a
    weight (``optim.inner_noise_std``; σ = √(η_y β_ex⁻¹) by (32))."""
    return optim.inner_noise_std(n, seed, lr_y=0.1, beta_ex_inv=beta_ex_inv,
                                 inner_momentum=0.9, outer="lua", inner_form="authors")


def printed_noise_error(P: Params, data: Data) -> float:
    """Validation error (%, BN re-estimated) after one Entropy-SGD update of the recipe
    with the printed β_ex⁻¹ = 1e8 (Sec. 7.1), from the page's initialisation."""
    model = fresh_model(P)
    opt = make_optimizer("Entropy-SGD", model.parameters(),
                         beta_ex_inv=PRINTED_BETA_EX_INV)
    batches = minibatches(data.train_x, data.train_y, P.batch_size, P.seed)
    opt.step(make_closure(model, opt, batches, []))
    return evaluate(model, data)[0]


#: Settings a user might try, and what the optimizers say (:func:`refusals`).
ATTEMPTS = {
    "EntropySGD(lr=0.1, gamma=0.03, L=5)": (optim.EntropySGD, dict(lr=0.1, gamma=0.03, L=5)),
    "the same with lr_y=0.01": (optim.EntropySGD, dict(lr=0.1, gamma=0.03, L=5, lr_y=0.01)),
    "HJ(lr=1, gamma=0.3)": (optim.HJ, dict(lr=1.0, gamma=0.3, lr_y=0.01, momentum=0.0)),
    'EntropySGD.recipe(params, "mnist")': (optim.EntropySGD.recipe, {}),
    'HJ.recipe(params, "mnist")': (optim.HJ.recipe, {}),
    'HEAT.recipe(params, "mnist")': (optim.HEAT.recipe, {}),
}


def refusals(P: Params, data: Data) -> dict[str, str]:
    """What each of :data:`ATTEMPTS` does over two steps on the page's net: 'accepted',
    or the first clause of the ``ParamError`` (at construction or at the second step)."""
    out = {}
    for label, (build, kw) in ATTEMPTS.items():
        model = fresh_model(P)
        batches = minibatches(data.train_x, data.train_y, P.batch_size, P.seed)
        try:
            opt = build(model.parameters(), **kw)
            closure = make_closure(model, opt, batches, [])
            for _ in range(2):
                opt.step(closure)
            out[label] = "accepted"
        except ParamError as err:
            out[label] = str(err).split(":")[0]
    return out


def inner_form_gap(P: Params, data: Data, inner_momentum: float, L: int = 3) -> float:
    """max |x_paper − x_authors| after one Entropy-SGD step of each inner form (same
    initialisation, minibatches and dropout masks)."""
    out = []
    for form in optim.INNER_FORMS:
        model = fresh_model(P)
        opt = optim.EntropySGD(model.parameters(), lr=1.0, gamma=1e4, L=L, lr_y=0.1,
                               beta_ex_inv=0.0, momentum=0.0, outer="lua",
                               inner_momentum=inner_momentum, inner_form=form)
        batches = minibatches(data.train_x, data.train_y, P.batch_size, P.seed)
        torch.manual_seed(P.seed + 1)             # the same dropout masks
        opt.step(make_closure(model, opt, batches, []))
        out.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return float((out[0] - out[1]).abs().max())


def bn_gap(model, data: Data, batch: int = 1024) -> float:
    """max |running mean − exact mean| of the first BN layer's input after
    re-estimation: the average of the per-batch means of its input over the training
    set (train-mode BN, dropout off), relative to the largest mean."""
    bn = models.batchnorm_layers(model)[0]
    seen = []
    hook = bn.register_forward_hook(lambda m, inp, out: seen.append(
        inp[0].transpose(0, 1).flatten(1).mean(1)))
    try:
        models.reestimate_bn(model, data.train_x.split(batch))
    finally:
        hook.remove()
    exact = torch.stack(seen).mean(0)
    return float((bn.running_mean - exact).abs().max() / exact.abs().max())


@dataclass
class Result:
    """Everything the chapter shows."""

    params: Params
    data: Data                              # the MNIST subset on the device
    logs: dict[str, dict[str, list]]        # per optimizer: grads, loss, error, stale
    updates: dict[str, int]                 # weight updates taken
    grads_per_step: dict[str, int]          # L per optimizer
    settings: dict[str, dict]               # each optimizer's defaults
    gammas: dict[str, tuple[float, float]]  # (γ_k from opt.gamma(), γ₀(1−γ₁)^k)
    pitfall: dict[str, list]                # Entropy-SGD with outer momentum 0.9
    noise: dict[str, float]                 # measured std of one inner step's noise
    printed_error: float                    # val. error after one update, β_ex⁻¹ = 1e8
    refusals: dict[str, str]                # ATTEMPTS → 'accepted' or the error
    forms: dict[str, float]                 # inner-form gaps with δ′ = 0 and 0.9
    bn_gap: float                           # re-estimated vs exact running mean
    table1_settings: dict[str, bool]        # settings equal to deeprelax.train.table1's
    seconds: float = 0.0                    # wall time (not shown: nbval compares text)


def compute(P: Params) -> Result:
    """Train the four optimizers, the pitfall run, and measure noise, forms, γ, BN."""
    t0 = time.perf_counter()
    data = Data(P)
    logs, updates, steps, settings, gammas = {}, {}, {}, {}, {}
    for name in OPTIMIZERS:
        model = fresh_model(P)
        opt = make_optimizer(name, model.parameters())
        logs[name] = train(model, opt, data, P)
        steps[name] = grads_per_step(opt)
        updates[name] = P.budget // steps[name]
        settings[name] = dict(opt.defaults, L=steps[name])
        if name == "HJ":
            settings[name]["form"] = opt.form
        if hasattr(opt, "gamma"):
            g = settings[name]
            gammas[name] = (opt.gamma(), g["gamma"] * (1 - g["gamma_decay"]) ** updates[name])
        if name == "Entropy-SGD":
            gap = bn_gap(model, data)
    model = fresh_model(P)
    opt = make_optimizer("Entropy-SGD", model.parameters(), momentum=0.9)
    pitfall = train(model, opt, data, P, budget=P.pitfall_budget)
    noise = {"ours": noise_std(2e-8), "printed": noise_std(PRINTED_BETA_EX_INV, n=20_000),
             "authors": AUTHORS_NOISE, "sigma": math.sqrt(0.1 * 2e-8)}
    forms = {"no momentum": inner_form_gap(P, data, 0.0),
             "momentum 0.9": inner_form_gap(P, data, 0.9)}
    return Result(P, data, logs, updates, steps, settings, gammas, pitfall, noise,
                  printed_noise_error(P, data), refusals(P, data), forms, gap,
                  same_as_table1(settings, P.net), time.perf_counter() - t0)


def same_as_table1(settings: dict[str, dict], net: str) -> dict[str, bool]:
    """Per optimizer: are the page's settings those of Table 1 (``deeprelax.train.table1``)?"""
    out = {}
    for name, got in settings.items():
        tp = experiments.experiment(net, ALGORITHM[name])
        want = dict(tp.optimizer_hyper(), lr=tp.lr_schedule[0][1], L=tp.L)
        if name == "SGD":
            want["nesterov"] = True
        out[name] = all(k in got and got[k] == v for k, v in want.items())
    return out


# ---- what the page prints ------------------------------------------------------------
def source_text(*functions) -> str:
    """The source of ``functions`` as a fenced Python code block (Markdown), each line
    at most :data:`WIDTH` columns so that nothing is cut at the page's text width."""
    code = "\n\n".join(inspect.getsource(f).rstrip() for f in functions)
    wide = [line for line in code.splitlines() if len(line) > WIDTH]
    if wide:
        raise ValueError(f"lines wider than {WIDTH} columns: {wide}")
    return f"```python\n{code}\n```"


def source(*functions) -> "IPython.display.Markdown":  # noqa: F821
    """:func:`source_text` as a Markdown display object for the page."""
    from IPython.display import Markdown
    return Markdown(source_text(*functions))


def step_frame(opt, losses: list, gamma_before: float):
    """What one ``step`` did: gradient evaluations, the loss returned, γ before/after."""
    import pandas as pd
    return pd.DataFrame({
        "gradient evaluations (closure calls)": [len(losses)],
        "first minibatch loss": [f"{float(losses[0]):.3f}"],
        "γ before the step": [f"{gamma_before:.6g}"],
        "γ after (γ₀(1 − γ₁))": [f"{opt.gamma():.6g}"],
    }, index=[type(opt).__name__]).T


def settings_frame(R: Result):
    """The four optimizers' settings (their ``defaults``), one column each."""
    import pandas as pd
    keys = ["lr", "L", "momentum", "nesterov", "inner_momentum", "inner_form", "outer",
            "gamma", "gamma_decay", "lr_y", "alpha", "beta_ex_inv"]
    rows = {}
    for name in OPTIMIZERS:
        d = dict(R.settings[name], L=R.grads_per_step[name])
        rows[name] = {k: _cell(d.get(k)) for k in keys}
    frame = pd.DataFrame(rows)
    return frame.loc[[k for k in keys if (frame.loc[k] != "—").any()]]


def _cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def results_frame(R: Result):
    """Per optimizer: updates, gradient evaluations, last training loss, errors."""
    import pandas as pd
    rows = {}
    for name in OPTIMIZERS:
        log = R.logs[name]
        rows[name] = {"L (gradients per update)": R.grads_per_step[name],
                      "weight updates": R.updates[name],
                      "gradient evaluations": log["grads"][-1],
                      "training loss (last record)": f"{log['loss'][-1]:.3f}",
                      "validation error, BN re-estimated (%)": f"{log['error'][-1]:.2f}",
                      "validation error, BN as trained (%)": f"{log['stale'][-1]:.2f}"}
    return pd.DataFrame(rows)


def refusals_frame(R: Result):
    """Each attempted setting and what the optimizer said (:func:`refusals`)."""
    import pandas as pd
    return pd.DataFrame({"over two steps": list(R.refusals.values())},
                        index=list(R.refusals))


def noise_frame(R: Result):
    """The noise of one inner step: the printed constant, ours, the authors' code."""
    import pandas as pd
    n = R.noise
    return pd.DataFrame({
        "std per inner step": [f"√(0.1 · 1e8) = {math.sqrt(0.1 * 1e8):.4g}",
                               f"√(0.1 · 2e-8) = {n['sigma']:.4g}",
                               f"0.1 · 1e-4/√(0.1/2) = {n['authors']:.4g}"],
        "measured": [f"{n['printed']:.4g}", f"{n['ours']:.4g}", "—"],
    }, index=["β_ex⁻¹ = 1e8 (Sec. 7.1 as printed)", "β_ex⁻¹ = 2e-8 (here)",
              "the authors' code, η_y·ε/√(η_y/2), ε = 1e-4"])


def prose_numbers(R: Result) -> dict[str, float]:
    """Numbers the prose quotes (those that are not claims)."""
    log = R.logs
    out = {"budget": R.params.budget, "n_train": R.params.n_train,
           "n_test": R.params.n_test, "eval_every": R.params.eval_every,
           "pitfall_budget": R.params.pitfall_budget,
           "esgd_updates": R.updates["Entropy-SGD"], "hj_updates": R.updates["HJ"],
           "sgd_updates": R.updates["SGD"],
           "gap_forms_momentum": R.forms["momentum 0.9"],
           "pitfall_max_loss": _finite_max(R.pitfall["loss"]),
           "pitfall_final_error": R.pitfall["error"][-1],
           "gamma_k_esgd": R.gammas["Entropy-SGD"][0],
           "gamma_k_hj": R.gammas["HJ"][0],
           "printed_error": R.printed_error,
           "noise_tol_pct": 100 * 5 * NOISE_SE,
           "outer_bound_09": optim.stable_fraction(0.9)}
    for name in OPTIMIZERS:
        key = name.lower().replace("-", "")
        out[f"error_{key}"] = log[name]["error"][-1]
        out[f"stale_{key}"] = log[name]["stale"][-1]
        out[f"first_error_{key}"] = log[name]["error"][0]
        out[f"first_stale_{key}"] = log[name]["stale"][0]
    return out


def _finite_max(values) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return max(finite) if finite else float("inf")


# ---- figures ---------------------------------------------------------------------------
FIGURE_RC = {"font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
             "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
FIGSIZE = (7.6, 3.6)           # two panels at the text width


def figure_training(R: Result):
    """(a) training loss and (b) validation error against gradient evaluations."""
    import matplotlib.pyplot as plt
    with plt.rc_context(FIGURE_RC):
        fig, (a, b) = plt.subplots(1, 2, figsize=FIGSIZE)
        for name in OPTIMIZERS:
            log = R.logs[name]
            style = dict(color=COLORS[name], marker="o", ms=4, lw=1.4)
            a.plot(log["grads"], log["loss"], label=name, **style)
            b.plot(log["grads"], log["error"], label=name, **style)
        a.set(xlabel="gradient evaluations", ylabel="training loss",
              title="(a) training loss", yscale="log")
        b.set(xlabel="gradient evaluations", ylabel="validation error (%)",
              title="(b) validation error", yscale="log")
        for ax in (a, b):
            ax.grid(alpha=0.3, which="both")
        b.legend(loc="upper right", framealpha=0.9)
        fig.tight_layout()
    return fig


def figure_pitfall(R: Result):
    """Training loss of Entropy-SGD at lr 1 with outer momentum 0 and 0.9."""
    import matplotlib.pyplot as plt
    n = R.params.pitfall_budget
    base = R.logs["Entropy-SGD"]
    keep = [i for i, g in enumerate(base["grads"]) if g <= max(n, base["grads"][0])]
    with plt.rc_context(FIGURE_RC):
        fig, ax = plt.subplots(figsize=(7, 3.4))
        ax.plot([base["grads"][i] for i in keep], [base["loss"][i] for i in keep],
                color="C3", marker="o", label="outer momentum 0 (the authors' code)")
        loss = np.asarray(R.pitfall["loss"], float)
        shown = np.where(np.isfinite(loss), loss, np.nan)
        ax.plot(R.pitfall["grads"], shown, color="C1", marker="s", ls="--",
                label="outer Nesterov 0.9 (Sec. 7.4)")
        for g, v in zip(R.pitfall["grads"], loss):
            if not math.isfinite(v):
                ax.axvline(g, color="C1", lw=0.8, ls=":")
        ax.axhline(2 * LOG_C, color="0.5", lw=1, ls=":", label="2 log 10 (diverged above)")
        ax.set(xlabel="gradient evaluations", ylabel="training loss", yscale="log",
               title="Entropy-SGD at lr 1, outer='lua'")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="upper left", framealpha=0.9)
        fig.tight_layout()
    return fig


# ---- claims ----------------------------------------------------------------------------
def claims(R: Result) -> list[Claim]:
    """The page's checks: equal budgets, learning, the pitfalls, γ and BN. All check this
    software (status "check"), except ``printed_beta_fails`` (the printed constant of
    Sec. 7.1, corrected on the Errata page)."""
    P = R.params
    logs = R.logs
    ours = dict(status="check")
    out = [
        fact("equal_budget", f"every optimizer spent exactly {P.budget} gradient "
             f"evaluations (closure calls), i.e. budget/L weight updates",
             all(logs[n]["grads"][-1] == P.budget and
                 R.updates[n] * R.grads_per_step[n] == P.budget for n in OPTIMIZERS),
             paper="equal gradient evaluations", where="Remark 22", **ours),
        fact("table1_settings", "the one-line recipes build the settings of Table 1 "
             "(deeprelax.train.table1.EXPERIMENTS, first learning rates)",
             all(R.table1_settings.values()), where="Sec. 8.2", **ours),
        fact("refused_and_accepted", "the plain attempts are refused with one ParamError "
             "each, and the three recipes are accepted",
             [v == "accepted" for v in R.refusals.values()] ==
             [label.endswith('"mnist")') for label in R.refusals], where="Sec. 7", **ours),
    ]
    for name in OPTIMIZERS:
        key = name.lower().replace("-", "")
        out.append(Claim(f"learns_{key}", f"{name} learns: validation error after "
                         f"{P.budget} gradient evaluations below 15 % (chance: 90 %)",
                         logs[name]["error"][-1], hi=15.0, where="Sec. 8.2", **ours))
    out += [
        Claim("outer_momentum_diverges", f"Entropy-SGD at lr 1 with outer Nesterov 0.9 "
              f"ends at chance level: validation error after {P.pitfall_budget} gradient "
              f"evaluations ≥ 50 % (chance: 90 %)", R.pitfall["error"][-1], lo=50.0,
              paper="momentum 0.9 on x", where="Sec. 7.4", **ours),
        Claim("no_momentum_learns", "the same run without outer momentum (the authors' "
              "code): training loss at its last record below log 10 / 10",
              logs["Entropy-SGD"]["loss"][-1], hi=LOG_C / 10, where="Sec. 7.4", **ours),
        close_to("noise_std", f"one inner step of our Entropy-SGD with β_ex⁻¹ = 2e-8 "
                 f"adds noise of the std of the authors' update, "
                 f"η_y·ε/√(η_y/2) = {AUTHORS_NOISE:.3g} (within 5 standard errors of a "
                 f"std from {NOISE_SAMPLES:,} samples)",
                 R.noise["ours"], AUTHORS_NOISE, 5 * NOISE_SE * AUTHORS_NOISE,
                 where="Sec. 7.1", **ours),
        Claim("printed_beta_fails", "with the printed β_ex⁻¹ = 1e8 (noise std ≈ 3162 per "
              "weight and inner step) one Entropy-SGD update leaves the net at chance: "
              "validation error ≥ 80 % (chance: 90 %)", R.printed_error, lo=80.0,
              paper="β_ex⁻¹ = 10⁸", where="Sec. 7.1", status="corrected"),
        Claim("forms_agree_without_momentum", "inner_form 'paper' and 'authors' give "
              "the same weights, bit for bit, when the inner momentum is 0",
              R.forms["no momentum"], lo=0.0, hi=0.0, where="Sec. 7.1", **ours),
        Claim("forms_differ_with_momentum", "with inner Nesterov 0.9 the two forms "
              "give different weights after one step (max difference > 0)",
              R.forms["momentum 0.9"], lo=0.0, strict=True, where="Sec. 7.1", **ours),
    ]
    for name, (got, want) in R.gammas.items():
        key = name.lower().replace("-", "")
        out.append(close_to(f"gamma_scoping_{key}", f"{name}: opt.gamma() after "
                            f"{R.updates[name]} updates equals γ₀(1 − γ₁)^k",
                            got, want, 1e-9 * want, paper="γ₀(1 − γ₁)^(k/L)",
                            where="Sec. 7.5", **ours))
    out.append(Claim("bn_reestimated_exactly", "after re-estimation the first BN "
                     "layer's running mean equals the average of its input's batch "
                     "means over the training set (relative max difference)",
                     R.bn_gap, hi=1e-5, where="Sec. 8.1", **ours))
    return out
