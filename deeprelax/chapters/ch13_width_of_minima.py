"""Chapter 13 (Secs. 1, 6): the width of the minima SGD, Entropy-SGD, HJ and HEAT find.

At the final weights of each trained net: the top Hessian eigenvalues of the training
loss (Lanczos on Hessian-vector products), the eigenvalue density (stochastic Lanczos
quadrature), the loss along the top eigenvector and along random directions scaled to
the weights, and the local entropy f_γ of eq. (11) with the curvature of f_γ along the
top eigenvector (Monte Carlo), compared with Example 13 / Lemma 18 for a quadratic.

Weights: with ``weights="auto"`` the LeNet weights of the GPU sweep
(``results/weights/lenet-<algorithm>-seed<k>.pt``, :func:`export_paper_weights`) are
used when all four exist; otherwise the four nets are trained here by
``deeprelax.train.engine.train`` with the ``deeprelax.train.table1`` settings of LeNet on a reduced,
stated budget (the lr schedule compressed in proportion). The ``fast`` preset trains a
small mnistfc-like net (7×7 average-pooled MNIST, one hidden layer of 14 with BN and
dropout; 878 parameters) on 1,000 images, small enough for the exact Hessian.
:func:`compute` does it all; :func:`claims`, the ``*_frame`` tables and the ``figure_*``
functions read the result.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import math
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from deeprelax.train import engine, experiments, hessian, models, table1
from deeprelax import paths, results
from deeprelax.book.claims import Claim, fact, pending
from deeprelax.params import Params as BaseParams, knob
from deeprelax.book.plotting import ALGORITHM_COLORS, styled

ALGORITHMS = experiments.ALGORITHM_ORDER          # entropy-sgd, heat, hj, sgd (the paper's order)
LABELS = table1.LABELS
PAPER_BUDGET = 100                            # LeNet's effective epochs in table1
FIGURE_RC = {"font.size": 10.5, "axes.titlesize": 11, "axes.labelsize": 10.5,
             "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
FIGSIZE = (7.6, 3.6)
FD_STEP = 1e-6         # |Δθ| of the second differences that check λ₁ (inside one ReLU piece)
COARSE_STEP = 1e-3     # |Δθ|/|θ| of the second difference that crosses ReLU kinks
ESS_MIN = 5            # Monte Carlo points with a smaller effective sample size: hollow
LENET_RESULT = paths.WIDTH_RESULT   # the paper preset's run
LENET_RUNS = paths.WIDTH_RUNS       # its training checkpoints (resumable, ignored)
SCHEMA = "deeprelax.width/1"
#: the estimator of κ_γ in a saved result (hessian.local_entropy); results without it
#: used fixed mid-stratum quantiles and are corrected on loading (:func:`load`)
KAPPA_ESTIMATOR = "stratified-uniform+control-variate"


def mlp7() -> nn.Sequential:
    """The fast preset's net: 7×7 mean-pooled MNIST → drop 0.2 → fc 14 → ReLU → BN → drop
    0.2 → fc 10 (mnistfc's layer order at 878 parameters)."""
    return nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Dropout(0.2), nn.Linear(49, 14),
                         nn.ReLU(), nn.BatchNorm1d(14), nn.Dropout(0.2), nn.Linear(14, 10))


NETS = {"lenet": models.lenet, "mlp7": mlp7}


@dataclass(frozen=True)
class Params(BaseParams):
    """What to measure at the final weights of the four algorithms, and on which nets."""

    net: str = knob("mlp7", choices=tuple(NETS), doc="'lenet' (Sec. 8.2.2) or 'mlp7' (small)")
    weights: str = knob("train", choices=("auto", "train"),
                        doc="'auto': results/weights if all four exist")
    seeds: tuple[int, ...] = knob((0, 1, 2), doc="seeds trained here (mean ± std)")
    n_train: int = knob(1000, lo=100, hi=60000, doc="training images (the first n)")
    n_test: int = knob(1000, lo=100, hi=10000, doc="validation images (the first n)")
    effective_epochs: int = knob(40, lo=1, hi=1000,
                                 doc="budget when trained here (schedule compressed)")
    hessian_images: int = knob(1000, lo=100, hi=60000,
                               doc="fixed training subset of the loss f (the first n)")
    chunk: int = knob(1000, lo=10, hi=60000, doc="images per HVP chunk (memory)")
    top_k: int = knob(5, lo=1, hi=50, doc="top eigenvalues reported")
    lanczos_steps: int = knob(30, lo=5, hi=500, doc="Lanczos steps for the top-k")
    slq_probes: int = knob(6, lo=1, hi=100, doc="Rademacher probes of the SLQ density")
    trace_probes: int = knob(40, lo=2, hi=10000,
                             doc="Rademacher probes of tr H (Hutchinson, one HVP each)")
    slq_steps: int = knob(30, lo=5, hi=500, doc="Lanczos steps per SLQ probe")
    near_zero: float = knob(0.01, lo=1e-6, hi=0.5, doc="'near zero': |λ| < this × λ₁")
    gammas: tuple[float, ...] = knob((0.01, 0.1, 1.0, 10.0),
                                     doc="γ of the local entropy f_γ (eq. (11))")
    beta: float = knob(1e4, lo=1.0, hi=1e9, doc="β of f_γ (heat-kernel variance γ/β)")
    mc_samples: int = knob(64, lo=4, hi=10000, doc="Monte Carlo samples of f_γ")
    slice_points: int = knob(41, lo=5, hi=401, doc="points of each 1-D slice")
    slice_top: float = knob(0.2, lo=1e-3, hi=10.0, doc="half-width |Δθ|/|θ|, eigenvector")
    slice_random: float = knob(1.0, lo=1e-3, hi=10.0, doc="half-width |Δθ|/|θ|, random")
    n_random: int = knob(3, lo=1, hi=50, doc="random directions per net")
    dense_check: bool = knob(True, doc="check against the exact Hessian (n ≤ 5000)")
    matched_loss: float = knob(1.1, lo=0.0, hi=100.0,
                               doc="f* (0: off): also measure at the first f ≤ f*")
    snapshot_every: int = knob(2, lo=1, hi=1000,
                               doc="effective epochs between snapshots of f")
    device: str = knob("cpu", doc="'cpu' or 'cuda' (training and curvature)")

    def __post_init__(self) -> None:
        super().__post_init__()
        from deeprelax.params import ParamError
        from deeprelax.runtime import DEVICE_FORMS, device_syntax_ok
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds or \
                min(self.seeds) < 0:
            raise ParamError(f"Params.seeds must be distinct seeds ≥ 0, got "
                             f"{list(self.seeds)}")
        if not self.gammas or not all(math.isfinite(g) and g > 0 for g in self.gammas):
            raise ParamError(f"Params.gammas must be positive numbers (γ of f_γ, eq. (11)), "
                             f"got {list(self.gammas)}")
        if not device_syntax_ok(self.device):
            raise ParamError(f"Params.device must be {DEVICE_FORMS}, got {self.device!r}")

    PRESETS = {
        "fast": {},
        "paper": {"net": "lenet", "weights": "auto", "seeds": (0,), "n_train": 60000,
                  "n_test": 10000, "effective_epochs": 20, "hessian_images": 5000,
                  "top_k": 10, "lanczos_steps": 40, "slq_probes": 3, "slq_steps": 40,
                  "trace_probes": 100,
                  "beta": 1e6, "mc_samples": 64,
                  "slice_top": 0.05, "slice_random": 0.5, "n_random": 2, "chunk": 1000,
                  "dense_check": False, "matched_loss": 0.02, "snapshot_every": 1},
    }


# ---------------------------------------------------------------------------------------
# Weights: trained here, or the GPU sweep's files
# ---------------------------------------------------------------------------------------
def _state_of(stacked: dict[str, torch.Tensor], index: int, keys: set[str]) -> dict:
    """Seed ``index``'s state dict from the engine's stacked tensors (only ``keys``)."""
    return {k: v[index].detach().cpu().clone() for k, v in stacked.items() if k in keys}


def models_from_checkpoint(state: dict, net: str, seeds: tuple[int, ...]) -> dict:
    """{seed: model} from a verified engine checkpoint state (``engine.read_checkpoint``)."""
    out = {}
    stacked = {**state["params"], **state["buffers"]}
    for i, seed in enumerate(seeds):
        model = NETS[net]()
        model.load_state_dict(_state_of(stacked, i, set(model.state_dict())))
        out[seed] = model
    return out


def export_paper_weights(runs_dir: str | Path = paths.RUNS_DIR,
                         folder: str | Path = paths.WEIGHTS_DIR,
                         seeds: tuple[int, ...] = (0,)) -> list[Path]:
    """Write results/weights/lenet-<algorithm>-seed<k>.pt from the paper runs'
    checkpoints (``runs/lenet-<algorithm>-paper.pt``) by ``experiments.export_weights``, which
    the sweep calls itself when a LeNet cell finishes."""
    written = []
    for alg in ALGORITHMS:
        p = experiments.plan("lenet", alg, "paper", runs_dir=runs_dir)
        P, ckpt = p.params, p.checkpoint
        written += experiments.export_weights("lenet", alg, ckpt, P, folder, seeds)
    return written


def saved_seeds(P: Params, folder: str | Path = paths.WEIGHTS_DIR) -> tuple[int, ...]:
    """The seeds of P.seeds (at least seed 0) whose LeNet weights exist for all four."""
    if P.weights != "auto" or P.net != "lenet":
        return ()
    ok = tuple(s for s in sorted(set(P.seeds) | {0})
               if all(paths.weights_path("lenet", a, s, folder).is_file()
                      for a in ALGORITHMS))
    return ok if 0 in ok else ()


def mnist_subset(P: Params) -> engine.TensorData:
    """The first n_train training and n_test validation images (raw pixels, Sec. 8.1.1)."""
    from deeprelax.train.data import load_mnist
    m = load_mnist()
    t = lambda a, n: torch.from_numpy(a[:n].copy())          # noqa: E731
    return engine.TensorData(t(m.train_images, P.n_train).unsqueeze(1).float(),
                             t(m.train_labels, P.n_train),
                             t(m.test_images, P.n_test).unsqueeze(1).float(),
                             t(m.test_labels, P.n_test), name=f"mnist-{P.n_train}")


def train_params(P: Params, algorithm: str) -> engine.TrainParams:
    """table1's LeNet settings of ``algorithm``, on P's budget: the lr schedule's epochs
    are scaled by effective_epochs / 100 (the paper budget), seeds and device are P's."""
    base = experiments.experiment("lenet", algorithm, "paper")
    scale = P.effective_epochs / PAPER_BUDGET
    sched = tuple((round(e * scale, 6), lr) for e, lr in base.lr_schedule)
    sched = tuple(dict(sched).items())                      # steps that collapse: keep the last
    return experiments.experiment("lenet", algorithm, "paper", device=P.device, seeds=P.seeds,
                             effective_epochs=P.effective_epochs, lr_schedule=sched,
                             eval_every=max(1, P.effective_epochs // 10),
                             checkpoint_seconds=1e7, checkpoint_every=100_000)


def train_here(P: Params, data: engine.TensorData, algorithm: str
               ) -> tuple[dict, dict, dict]:
    """Train ``algorithm`` with the engine; returns ({seed: model}, the engine's record,
    {seed: (effective epoch, f, model)} at the first snapshot with f ≤ P.matched_loss).

    With ``matched_loss`` > 0 the run stops every ``snapshot_every`` effective epochs
    (``stop_after``; the engine resumes it bit for bit) and f is evaluated at each
    stop, BN re-estimated as in :func:`measure`. A LeNet run resumed from a finished
    checkpoint has no snapshots (then no matched-loss measurement)."""
    TP = train_params(P, algorithm)
    matched: dict[int, tuple[float, float, nn.Module]] = {}
    with contextlib.ExitStack() as stack:
        if P.net == "lenet":    # minutes per net: a checkpoint that a rerun resumes
            LENET_RUNS.mkdir(parents=True, exist_ok=True)
            tag = hashlib.sha256(repr(sorted(TP.fingerprint().items())).encode()).hexdigest()
            ckpt = LENET_RUNS / f"lenet-{algorithm}-{P.effective_epochs}ep-{tag[:12]}.pt"
            TP = engine.replace(TP, checkpoint_seconds=60.0)
        else:
            ckpt = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "final.pt"
        step = P.snapshot_every if P.matched_loss > 0 else None
        while True:
            record = engine.train(NETS[P.net], data, TP, checkpoint=ckpt, stop_after=step,
                                  show_progress=P.net == "lenet",
                                  meta={"net": P.net, "chapter": "13"})
            state = engine.read_checkpoint(ckpt, TP.fingerprint())
            if record.get("status") == "complete" or step is None:
                break
            epoch = float(int(state["g"]) // math.ceil(data.train_x.shape[0] / TP.batch_size))
            for seed, model in models_from_checkpoint(state, P.net, TP.seeds).items():
                if seed not in matched:
                    f = loss_at(model, data, P)
                    if f <= P.matched_loss:
                        matched[seed] = (epoch, f, model)
    return models_from_checkpoint(state, P.net, TP.seeds), record, matched


def loss_at(model: nn.Module, data: engine.TensorData, P: Params) -> float:
    """f at the model's weights, as :func:`measure` defines it (BN re-estimated)."""
    dev = torch.device(P.device)
    model = model.to(dev)
    models.reestimate_bn(model, [b.to(dev) for b in data.train_x.split(P.chunk)])
    return hessian.Objective(model, data.train_x[:P.hessian_images],
                             data.train_y[:P.hessian_images], chunk=P.chunk).loss()


def measure_matched(model: nn.Module, data: engine.TensorData, P: Params,
                    seed: int = 0) -> tuple[float, float]:
    """λ₁ and the invariant sharpness λ₁(diag θ·H·diag θ) at a snapshot (Lanczos)."""
    dev = torch.device(P.device)
    model = model.to(dev)
    models.reestimate_bn(model, [b.to(dev) for b in data.train_x.split(P.chunk)])
    ob = hessian.Objective(model, data.train_x[:P.hessian_images],
                           data.train_y[:P.hessian_images], chunk=P.chunk)
    theta = ob.theta.double().cpu().numpy()
    lam = hessian.top_eigenpairs(ob.matvec, ob.n, 1, P.lanczos_steps, seed=seed)
    sharp = hessian.scaled_top_eigenpairs(ob.matvec, theta, 1, P.lanczos_steps,
                                          seed=seed + 500)
    return float(lam["values"][0]), float(sharp["values"][0])


# ---------------------------------------------------------------------------------------
# Measurements at one set of weights
# ---------------------------------------------------------------------------------------
@dataclass
class Width:
    """The curvature measurements of one trained net (one algorithm, one seed)."""

    n: int
    loss: float                  # f at the weights (eval-mode BN, dropout off)
    grad_norm: float
    theta_norm: float
    top: np.ndarray              # top-k eigenvalues (Lanczos), descending
    residuals: np.ndarray        # their residual bounds
    ritz_min: float              # lowest Ritz value (≥ λ_min; < 0 proves λ_min < 0)
    slq_nodes: np.ndarray
    slq_weights: np.ndarray
    trace_probes: np.ndarray     # per-probe estimates of tr H (Hutchinson)
    alphas_top: np.ndarray
    slice_top: np.ndarray        # f along the top eigenvector, |Δθ|/|θ| = α
    alphas_random: np.ndarray
    slices_random: np.ndarray    # (n_random, points)
    curv_top_fd: float           # second difference along v₁, |Δθ| = FD_STEP
    curv_top_coarse: float       # the same with |Δθ| = COARSE_STEP·|θ| (crosses kinks)
    curv_random_fd: np.ndarray   # the same along the random directions
    gammas: np.ndarray
    f_gamma: np.ndarray          # local entropy (Monte Carlo)
    f_gamma_quadratic: np.ndarray   # the quadratic model's f_γ − f
    width_term: np.ndarray       # its width term ½β⁻¹ tr log(I + γH)
    kappa: np.ndarray            # curvature of f_γ along v₁ (Monte Carlo)
    ess: np.ndarray              # effective sample size of the MC weights
    dense: dict | None = None    # exact Hessian checks (small nets)
    timings: dict = field(default_factory=dict)   # seconds: hvp (one), lanczos, slq, ...
    kappa_se: np.ndarray | None = None   # standard error of kappa (NaN: not measured)
    sharpness: float = float("nan")      # top eigenvalue of diag(θ)·H·diag(θ)
    sharpness_residual: float = float("nan")   # its residual bound
    matched_epoch: float = float("nan")   # first snapshot with f ≤ matched_loss (epoch)
    matched_f: float = float("nan")       # f there
    matched_lambda1: float = float("nan")     # λ₁ there
    matched_sharpness: float = float("nan")   # λ₁(diag θ·H·diag θ) there


def _second_difference(losses, theta, d, step: float) -> float:
    """(f(θ+hd) − 2f(θ) + f(θ−hd)) / h² / |d|² with |hd| = ``step`` (use float64)."""
    dn = float(np.linalg.norm(d))
    h = step / dn
    f = hessian.slice_1d(losses, theta, d, np.array([-h, 0.0, h]))
    return float((f[0] - 2 * f[1] + f[2]) / h ** 2 / dn ** 2)


def _quadratic_terms(nodes, weights, n, gamma, beta, g_nodes, g_weights, g2
                     ) -> tuple[float, float]:
    """f_γ − f of the quadratic model at the weights, as its two terms: the width term
    ½β⁻¹ tr log(I + γH) and the descent term −(γ/2) gᵀ(I + γH)⁻¹g, by Gauss quadrature
    (NaN where 1 + γλ ≤ 0 at some node: the quadratic model has no f_γ there)."""
    if (1 + gamma * nodes[weights > 0]).min() <= 0 or (1 + gamma * g_nodes).min() <= 0:
        return float("nan"), float("nan")
    logdet = hessian.slq_sum(nodes, weights, lambda t: np.log1p(gamma * t), n)
    quad = g2 * float(np.sum(g_weights / (1 + gamma * g_nodes)))
    return 0.5 * logdet / beta, -0.5 * gamma * quad


def _dense_checks(ob64: hessian.Objective, ob: hessian.Objective, top: dict) -> dict:
    """Exact Hessian in float64: its spectrum, Lanczos' top-k error, HVP vs differences."""
    Hd = ob64.dense_hessian().cpu().numpy()
    eig = np.linalg.eigvalsh(0.5 * (Hd + Hd.T))
    k = len(top["values"])
    lan_err = float(np.max(np.abs(top["values"] - eig[::-1][:k])) / eig[-1])
    v = torch.from_numpy(np.random.default_rng(1).standard_normal(ob64.n))
    hv = ob64.hvp(v).numpy()
    h, th = 1e-6, ob64.theta
    fd = ((ob64.grad(th + h * v) - ob64.grad(th - h * v)) / (2 * h)).numpy()
    rel = lambda a: float(np.linalg.norm(a - hv) / np.linalg.norm(hv))   # noqa: E731
    return {"eigenvalues": eig, "lanczos_rel_error": lan_err, "hvp_fd_rel_error": rel(fd),
            "hvp_dense_rel_error": rel(Hd @ v.numpy()),
            "hvp32_rel_error": rel(ob.matvec(v.numpy())), "trace": float(np.trace(Hd))}


def measure(model: nn.Module, data: engine.TensorData, P: Params, seed: int = 0,
            dense: bool = False) -> Width:
    """Every curvature measurement of one net at its weights (BN re-estimated, eval mode)."""
    dev = torch.device(P.device)
    model = model.to(dev)
    x = data.train_x[:P.hessian_images]
    y = data.train_y[:P.hessian_images]
    models.reestimate_bn(model, [b.to(dev) for b in data.train_x.split(P.chunk)])
    ob = hessian.Objective(model, x, y, chunk=P.chunk)
    ob64 = hessian.Objective(copy.deepcopy(model).double(), x, y, chunk=P.chunk)
    theta = ob.theta.double().cpu().numpy()
    tnorm = float(np.linalg.norm(theta))
    g = ob.grad().double().cpu().numpy()
    clock = _Clock()
    ob.matvec(g)
    clock.lap("hvp")
    top = hessian.top_eigenpairs(ob.matvec, ob.n, P.top_k, P.lanczos_steps, seed=seed)
    lam1, v1 = float(top["values"][0]), top["vectors"][0]
    clock.lap("lanczos")
    nodes, weights = hessian.slq(ob.matvec, ob.n, P.slq_steps, P.slq_probes,
                                 seed=seed + 100, matmat=ob.matmat)
    clock.lap("slq")
    trace_probes = hessian.hutchinson(ob.matmat, ob.n, P.trace_probes, seed=seed + 400)
    clock.lap("trace")
    scaled = hessian.scaled_top_eigenpairs(ob.matvec, theta, 1, P.lanczos_steps,
                                           seed=seed + 500)
    clock.lap("scaled_lanczos")
    g_alpha, g_beta, g_Q = hessian.lanczos(ob.matvec, g, P.slq_steps)
    g_nodes, U = np.linalg.eigh(hessian._tridiagonal(g_alpha, g_beta))
    g_weights, g2 = U[0] ** 2, float(g @ g)
    clock.lap("gradient_lanczos")
    # 1-D slices, directions scaled to |θ|
    d_top = hessian.normalised_direction(v1, theta)
    rng = np.random.default_rng(seed + 200)
    d_rand = [hessian.normalised_direction(rng.standard_normal(ob.n), theta)
              for _ in range(P.n_random)]
    a_top = np.linspace(-P.slice_top, P.slice_top, P.slice_points)
    a_rand = np.linspace(-P.slice_random, P.slice_random, P.slice_points)
    s_top = hessian.slice_1d(ob.losses, theta, d_top, a_top)
    s_rand = np.array([hessian.slice_1d(ob.losses, theta, d, a_rand) for d in d_rand])
    curv_top = _second_difference(ob64.losses, theta, d_top, FD_STEP)
    curv_coarse = _second_difference(ob64.losses, theta, d_top, COARSE_STEP * tnorm)
    curv_rand = np.array([_second_difference(ob64.losses, theta, d, FD_STEP)
                          for d in d_rand])
    clock.lap("slices")
    # local entropy and its curvature along v1
    fg, quad, kap, kap_se, ess = [], [], [], [], []
    for gamma in P.gammas:
        shift = -gamma * hessian.resolvent_times(g_alpha, g_beta, g_Q, math.sqrt(g2), gamma)
        le = hessian.local_entropy(ob.losses, theta, gamma, P.beta, P.mc_samples, v=v1,
                                   seed=seed + 300, shift=shift, eigvecs=top["vectors"],
                                   eigvals=top["values"])
        fg.append(le["f_gamma"])
        kap.append(le["curvature"])
        kap_se.append(le["curvature_se"])
        ess.append(le["ess"])
        quad.append(_quadratic_terms(nodes, weights, ob.n, gamma, P.beta, g_nodes,
                                     g_weights, g2))
    clock.lap("local_entropy")
    checks = _dense_checks(ob64, ob, top) if dense else None
    if checks is not None:      # SLQ quadrature of the gap with the exact spectrum instead
        checks["quadratic_gap"] = np.array([sum(
            _quadratic_terms(checks["eigenvalues"][None, :], np.full((1, ob.n), 1.0 / ob.n),
                             ob.n, gm, P.beta, g_nodes, g_weights, g2)) for gm in P.gammas])
    return Width(ob.n, ob.loss(), float(np.linalg.norm(g)), tnorm, top["values"],
                 top["residuals"], float(top["ritz"].min()), nodes, weights, trace_probes,
                 a_top, s_top, a_rand, s_rand, curv_top, curv_coarse, curv_rand,
                 np.asarray(P.gammas, float), np.array(fg), np.array(quad).sum(1),
                 np.array(quad)[:, 0], np.array(kap),
                 np.array(ess), checks, clock.laps, np.array(kap_se),
                 float(scaled["values"][0]), float(scaled["residuals"][0]))


class _Clock:
    """Wall-clock laps (seconds) of the stages of :func:`measure`."""

    def __init__(self):
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        self.laps[name] = round(t - self._t, 3)
        self._t = t


# ---------------------------------------------------------------------------------------
# The chapter's computation
# ---------------------------------------------------------------------------------------
@dataclass
class Result:
    """Per algorithm: the source of the weights and the measurements of each seed."""

    params: Params
    source: str                               # 'gpu' (results/weights) or 'trained here'
    seeds: tuple[int, ...]
    widths: dict[str, list[Width]] = field(default_factory=dict)
    records: dict[str, dict] = field(default_factory=dict)   # engine records (trained here)
    val_error: dict[str, list[float]] = field(default_factory=dict)
    train_s: dict[str, float] = field(default_factory=dict)    # training wall time
    provenance: dict = field(default_factory=dict)             # of a loaded result
    complete: bool = True
    derived: list[str] = field(default_factory=list)   # quantities derived on loading
    kappa_stored: dict[str, list] = field(default_factory=dict)   # κ as saved, if derived


@torch.no_grad()
def validation_error(model: nn.Module, data: engine.TensorData, device: str) -> float:
    """Validation error (%) with eval-mode BN (statistics as loaded/re-estimated)."""
    model = model.to(device).eval()
    wrong = sum(int((model(xb.to(device)).argmax(1) != yb.to(device)).sum())
                for xb, yb in zip(data.test_x.split(1000), data.test_y.split(1000)))
    return 100.0 * wrong / data.test_x.shape[0]


def compute(P: Params) -> Result:
    """Train (or load) the four nets, then measure every seed's curvature."""
    with warnings.catch_warnings():       # tqdm.auto without ipywidgets; torch's own notice
        warnings.filterwarnings("ignore", message="IProgress not found")
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated")
        return _compute(P)


def _compute(P: Params) -> Result:
    from deeprelax.runtime import check_device
    check_device(P.device)                     # one ParamError line, before any work
    data = mnist_subset(P)
    saved = saved_seeds(P)
    R = Result(P, "gpu" if saved else "trained here", saved or P.seeds)
    R.provenance = results.provenance(P.device)       # the code and machine of this run
    done = _resumable(P, R.source)
    if done is not None and done.widths:
        R.provenance["resumes"] = done.provenance     # the run that measured the first nets
    for alg in ALGORITHMS:
        if done is not None and alg in done.widths:       # measured by an earlier run
            for what in ("widths", "records", "val_error", "train_s"):
                if alg in getattr(done, what):
                    getattr(R, what)[alg] = getattr(done, what)[alg]
            continue
        t0 = time.perf_counter()
        matched = {}
        if saved:
            nets = {s: hessian.load_weights(NETS[P.net](), paths.weights_path(P.net, alg, s))
                    for s in saved}
        else:
            nets, R.records[alg], matched = train_here(P, data, alg)
            R.train_s[alg] = float(R.records[alg].get("wall_time_s", time.perf_counter() - t0))
        R.widths[alg] = []
        R.val_error[alg] = []
        for i, s in enumerate(R.seeds):
            if P.net == "lenet":
                print(f"{LABELS[alg]}, seed {s}: measuring the curvature", flush=True)
            w = measure(nets[s], data, P, seed=s, dense=P.dense_check and i == 0 and
                        models.count_parameters(nets[s]) <= 5000)
            if s in matched:             # the same net at the matched training loss
                w.matched_epoch, w.matched_f, snapshot = matched[s]
                w.matched_lambda1, w.matched_sharpness = measure_matched(snapshot, data, P, s)
            R.widths[alg].append(w)
            R.val_error[alg].append(validation_error(nets[s], data, P.device))
        if result_path(P) is not None:       # nothing lost if a later algorithm dies
            save(R, result_path(P))
    return R


def is_paper_run(P: Params) -> bool:
    """True when P has the ``paper`` preset's settings (any device)."""
    return dataclasses.replace(P, device="cpu") == Params.from_preset("paper")


def result_path(P: Params) -> Path | None:
    """Where a LeNet run is saved after each algorithm (and resumed from): the committed
    ``results/width-of-minima-lenet.json`` for the ``paper`` preset's settings only,
    ``runs/ch13/width-<hash of the settings>.json`` for any other LeNet run; None for
    the small net (seconds; not saved)."""
    if P.net != "lenet":
        return None
    if is_paper_run(P):
        return LENET_RESULT
    tag = hashlib.sha256(repr(sorted(P.as_dict().items())).encode()).hexdigest()[:12]
    return LENET_RUNS / f"width-{tag}.json"


def _resumable(P: Params, source: str) -> Result | None:
    """The saved LeNet result of an earlier, interrupted run of the same parameters."""
    path = result_path(P)
    if path is None or not path.is_file():
        return None
    try:
        R = load(path)
    except (results.ResultError, KeyError, TypeError, ValueError):
        return None
    return R if R.params == P and R.source == source and not R.derived else None


# ---------------------------------------------------------------------------------------
# Saving and loading a result (the paper preset's LeNet run lives in results/)
# ---------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """JSON-ready copy: arrays to lists, NaN/inf to None."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


_ARRAYS = {f.name for f in dataclasses.fields(Width)} - {"n", "loss", "grad_norm",
                                                          "theta_norm", "ritz_min",
                                                          "curv_top_fd", "curv_top_coarse",
                                                          "dense", "timings", "sharpness",
                                                          "sharpness_residual",
                                                          "matched_epoch", "matched_f",
                                                          "matched_lambda1",
                                                          "matched_sharpness"}


def _array(v) -> np.ndarray:
    return np.array(v, dtype=float)            # None (a saved NaN) becomes NaN


def save(R: Result, path: str | Path) -> Path:
    """Write ``R`` as JSON (with provenance; engine records reduced to their curves);
    ``complete`` says whether all four algorithms are in."""
    widths = {a: [{k: v for k, v in dataclasses.asdict(w).items() if k != "dense"}
                  for w in ws] for a, ws in R.widths.items()}
    curves = {a: {k: rec.get(k) for k in ("effective_epoch", "val_error", "train_loss",
                                          "wall_time_s", "provenance") if k in rec}
              for a, rec in R.records.items()}
    doc = {"schema": SCHEMA, "kappa_estimator": KAPPA_ESTIMATOR,
           "params": R.params.as_dict(), "source": R.source,
           "seeds": list(R.seeds), "complete": set(R.widths) == set(ALGORITHMS),
           "widths": widths, "val_error": R.val_error, "train_s": R.train_s,
           "records": curves,
           "provenance": R.provenance or results.provenance(R.params.device)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return results.write_json(path, _plain(doc))


def load(path: str | Path = LENET_RESULT) -> Result:
    """The :class:`Result` written by :func:`save` (without the exact-Hessian checks)."""
    doc = results.read_json(path)
    if doc.get("schema") != SCHEMA:
        raise results.ResultError(f"{path}: schema {doc.get('schema')!r} is not {SCHEMA!r}")
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["params"].items()}
    legacy = doc.get("kappa_estimator") != KAPPA_ESTIMATOR
    if legacy:           # tr H came from the SLQ probes; no snapshots were taken
        raw.setdefault("trace_probes", raw.get("slq_probes"))
        raw.setdefault("matched_loss", 0.0)
    R = Result(Params.checked(**raw), doc["source"], tuple(doc["seeds"]))
    for alg, ws in doc["widths"].items():
        R.widths[alg] = [Width(**{k: (_array(v) if k in _ARRAYS else
                                      (np.nan if v is None else v))
                                  for k, v in w.items()}) for w in ws]
        for w in R.widths[alg]:
            if w.kappa_se is None:
                w.kappa_se = np.full(len(w.gammas), np.nan)
            if legacy:
                R.kappa_stored.setdefault(alg, []).append(np.asarray(w.kappa, float))
                w.kappa = legacy_kappa(w, R.params.mc_samples)
    if legacy:
        R.derived.append("kappa")
    R.val_error = doc["val_error"]
    R.train_s = doc.get("train_s", {})
    R.records = doc.get("records", {})
    R.provenance = doc.get("provenance", {})
    R.complete = bool(doc.get("complete"))
    return R


def legacy_kappa(w: Width, mc_samples: int) -> np.ndarray:
    """κ_γ of a result saved by the old estimator (fixed mid-stratum quantiles c, mean
    square m₂ < 1, no control variate), as the control-variate estimator would give it
    on the same samples: κ − s₁²(1 − m₂)/γ with s₁² = 1/(1 + γλ₁₊), since v₁ is the first
    of the proposal's eigenvectors and so vᵀu = const ± s₁c exactly."""
    from scipy.stats import norm
    half = (mc_samples + 1) // 2
    m2 = float(np.mean(norm.ppf((np.arange(half) + 0.5) / (2 * half) + 0.5) ** 2))
    g = np.asarray(w.gammas, float)
    s2 = 1.0 / (1.0 + g * max(float(w.top[0]), 0.0))
    return np.asarray(w.kappa, float) - s2 * (1.0 - m2) / g


def load_lenet(path: str | Path = LENET_RESULT) -> Result | None:
    """The paper preset's LeNet result if it is there and complete, else None."""
    if not Path(path).is_file():
        return None
    R = load(path)
    return R if R.complete else None


def lenet_result(R: Result) -> Result:
    """The LeNet result the page discusses: ``R`` itself when it is LeNet (the ``paper``
    preset), else the saved run ``results/width-of-minima-lenet.json``."""
    if R.params.net == "lenet":
        return R
    L = load_lenet()
    if L is None:
        from deeprelax.params import ParamError
        raise ParamError(f"{LENET_RESULT} is missing or incomplete: run `python -m "
                         "deeprelax.chapters.ch13_width_of_minima --preset paper` (about "
                         "an hour on two CPU cores; it resumes if stopped)")
    return L


def lenet_measures(L: Result) -> dict[str, float]:
    """The LeNet numbers the prose quotes: :func:`measures`, validation errors, and the
    wall-clock times of training and of the curvature stages (seed 0)."""
    out = measures(L)
    t = [L.widths[a][0].timings for a in ALGORITHMS]
    out.update({"hvp_s": float(np.mean([x["hvp"] for x in t])),
                "lanczos_s": float(np.mean([x["lanczos"] for x in t])),
                "slq_s": float(np.mean([x["slq"] for x in t])),
                "curvature_min": float(np.mean([sum(x.values()) for x in t]) / 60),
                "train_min_max": float(max(L.train_s.values(), default=float("nan")) / 60),
                "train_min_min": float(min(L.train_s.values(), default=float("nan")) / 60),
                "effective_epochs": L.params.effective_epochs,
                "hessian_images": L.params.hessian_images,
                "lanczos_steps": L.params.lanczos_steps})
    for alg in ALGORITHMS:
        out[f"val_error_{alg.replace('-', '_')}"] = float(np.mean(L.val_error[alg]))
    return out


# ---------------------------------------------------------------------------------------
# Reductions, tables, claims
# ---------------------------------------------------------------------------------------
def _ms(values, fmt: str = ".3g") -> str:
    """'mean ± std' over seeds (just the value for one seed)."""
    v = np.asarray(values, float)
    if v.size == 1:
        return format(float(v[0]), fmt)
    return f"{format(float(v.mean()), fmt)} ± {float(v.std(ddof=1)):.2g}"


def near_zero_mass(w: Width, P: Params) -> tuple[float, float]:
    """SLQ mass of |λ| < near_zero·λ₁ (Gaussian-broadened, width near_zero·λ₁/4) and the
    standard error over the probes."""
    eps = P.near_zero * w.top[0]
    per = np.array([hessian.smoothed_mass(nd, wt, eps, eps / 4)
                    for nd, wt in zip(w.slq_nodes, w.slq_weights)])
    se = per.std(ddof=1) / math.sqrt(per.size) if per.size > 1 else float("nan")
    return float(per.mean()), float(se)


def trace_mean(w: Width) -> tuple[float, float]:
    """tr H / n from the probes, and its standard error (std / √probes)."""
    t = np.asarray(w.trace_probes, float) / w.n
    return float(t.mean()), float(t.std(ddof=1) / math.sqrt(t.size))


def trace_seed_mean(ws: list[Width]) -> tuple[float, float]:
    """tr H / n averaged over the seeds, and the probes' standard error of that mean."""
    per = [trace_mean(w) for w in ws]
    return (float(np.mean([m for m, _ in per])),
            float(math.sqrt(sum(se ** 2 for _, se in per)) / len(per)))


def trace_z(R: Result, alg: str, other: str = "sgd") -> float:
    """(tr H/n of ``alg`` − that of ``other``, seed means) / the probes' standard error
    of the difference: |z| < 2 means the probes do not order the two."""
    (a, sa), (b, sb) = trace_seed_mean(R.widths[alg]), trace_seed_mean(R.widths[other])
    return float((a - b) / math.hypot(sa, sb))


def sharpness(w: Width) -> float:
    """The scale-invariant sharpness, top eigenvalue of diag(θ)·H·diag(θ) (NaN where the
    run did not measure it)."""
    return float(w.sharpness)


def summary(R: Result) -> dict[str, dict[str, np.ndarray]]:
    """Per algorithm, arrays over seeds of the numbers the tables and prose use."""
    P, out = R.params, {}
    for alg, ws in R.widths.items():
        out[alg] = {
            "lambda1": np.array([w.top[0] for w in ws]),
            "lambda1_scaled": np.array([w.top[0] * w.theta_norm ** 2 for w in ws]),
            "trace_mean": np.array([trace_mean(w)[0] for w in ws]),
            "trace_se": np.array([trace_mean(w)[1] for w in ws]),
            "sharpness": np.array([sharpness(w) for w in ws]),
            "near_zero": np.array([near_zero_mass(w, P)[0] for w in ws]),
            "ritz_min": np.array([w.ritz_min for w in ws]),
            "theta_norm": np.array([w.theta_norm for w in ws]),
            "loss": np.array([w.loss for w in ws]),
            "val_error": np.array(R.val_error[alg]),
            "gap": np.array([w.f_gamma - w.loss for w in ws]),       # (seeds, gammas)
            "kappa": np.array([w.kappa for w in ws]),
            "width_term": np.array([w.width_term for w in ws]),
            "coarse": np.array([w.curv_top_coarse / w.top[0] for w in ws]),
        }
    return out


def source_frame(R: Result):
    """Where each net's weights come from, its budget, loss and validation error."""
    import pandas as pd
    S = summary(R)
    where = budget_label(R)
    rows = []
    for alg in ALGORITHMS:
        rows.append({"algorithm": LABELS[alg], "weights": where, "seeds": len(R.seeds),
                     "parameters n": f"{R.widths[alg][0].n:,}",
                     "training loss f": _ms(S[alg]["loss"], ".3f"),
                     "val. error (%)": _ms(S[alg]["val_error"], ".2f")})
    return pd.DataFrame(rows).set_index("algorithm")


def eigen_frame(R: Result, k: int | None = None):
    """The top-k eigenvalues per algorithm (all measured, or the first ``k``), mean ± std
    over seeds (one row each)."""
    import pandas as pd
    rows = []
    for alg in ALGORITHMS:
        tops = np.array([w.top for w in R.widths[alg]])
        row = {"algorithm": LABELS[alg]}
        row.update({f"λ{i + 1}": _ms(tops[:, i]) for i in range(min(k or tops.shape[1],
                                                                  tops.shape[1]))})
        rows.append(row)
    return pd.DataFrame(rows).set_index("algorithm")


def _pm(mean: float, se: float, fmt: str = ".3g") -> str:
    """'mean ± se' (just the mean where the standard error is not known)."""
    if not math.isfinite(se):
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {se:.1g}"


def width_frame(R: Result):
    """Width measures per algorithm (mean ± std over seeds): λ₁|θ|², the invariant
    sharpness λ₁(diag θ·H·diag θ), tr H/n ± the probes' standard error, the SLQ mass
    near zero, the lowest Ritz value (≥ λ_min) over λ₁, and the width term at the middle
    γ."""
    import pandas as pd
    P, S = R.params, summary(R)
    j = len(P.gammas) // 2
    rows = []
    for alg in ALGORITHMS:
        s = S[alg]
        sharp = s["sharpness"]
        rows.append({"algorithm": LABELS[alg],
                     "|θ|": _ms(s["theta_norm"]), "λ₁|θ|²": _ms(s["lambda1_scaled"]),
                     "λ₁(θHθ)": _ms(sharp) if np.all(np.isfinite(sharp)) else "—",
                     f"tr H / n ± SE ({P.trace_probes} probes)":
                         _pm(*trace_seed_mean(R.widths[alg])),
                     f"|λ| < {P.near_zero:g}λ₁": _ms(s["near_zero"], ".2f"),
                     "lowest Ritz / λ₁": _ms(s["ritz_min"] / s["lambda1"], ".2g"),
                     f"width term, γ={P.gammas[j]:g}": _ms(s["width_term"][:, j])})
    return pd.DataFrame(rows).set_index("algorithm")


def entropy_frame(R: Result):
    """f_γ − f and the curvature κ_γ of f_γ along v₁ (Monte Carlo, means over seeds)
    against the quadratic model, with the smallest effective sample size."""
    import pandas as pd
    num = lambda v: "—" if not np.isfinite(v) else f"{v:.3g}"        # noqa: E731
    rows = []
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        lam = np.mean([w.top[0] for w in ws])
        for j, gm in enumerate(R.params.gammas):
            rows.append({"algorithm": LABELS[alg], "γ": f"{gm:g}",
                         "f_γ − f": num(np.mean([w.f_gamma[j] - w.loss for w in ws])),
                         "quadratic": num(np.mean([w.f_gamma_quadratic[j] for w in ws])),
                         "κ_γ": num(np.mean([w.kappa[j] for w in ws])),
                         "± SE": num(math.sqrt(np.mean([w.kappa_se[j] ** 2 for w in ws])
                                               / len(ws))),
                         "λ₁/(1+γλ₁)": num(lam / (1 + gm * lam)),
                         "ESS": f"{min(w.ess[j] for w in ws):.0f}"})
    return pd.DataFrame(rows).set_index(["algorithm", "γ"])


def ratios(R: Result) -> dict[str, float]:
    """λ₁, λ₁|θ|², the invariant sharpness and the training loss of each algorithm over
    SGD's (seed means; the sharpness ratio NaN where it was not measured)."""
    S = summary(R)
    out = {}
    for alg in ("entropy-sgd", "hj", "heat"):
        key = alg.replace("-", "_")
        for name, what in (("ratio", "lambda1"), ("ratio_scaled", "lambda1_scaled"),
                           ("ratio_sharpness", "sharpness"), ("ratio_loss", "loss")):
            out[f"{name}_{key}"] = float(S[alg][what].mean() / S["sgd"][what].mean())
    return out


def ordered_like_loss(R: Result) -> bool:
    """True when the four seed-mean λ₁ are in the order of the four training losses."""
    S = summary(R)
    lam = [S[a]["lambda1"].mean() for a in ALGORITHMS]
    loss = [S[a]["loss"].mean() for a in ALGORITHMS]
    return bool(np.array_equal(np.argsort(lam), np.argsort(loss)))


SHORT = {"entropy-sgd": "esgd", "heat": "heat", "hj": "hj", "sgd": "sgd"}   # glue names


def measures(R: Result) -> dict[str, float]:
    """The numbers the prose quotes (claims are glued by ``report``)."""
    S = summary(R)
    all_w = [w for ws in R.widths.values() for w in ws]
    out = {"n_params": all_w[0].n, "n_seeds": len(R.seeds),
           "lambda1_sgd": float(S["sgd"]["lambda1"].mean()),
           "lambda1_esgd": float(S["entropy-sgd"]["lambda1"].mean()),
           "lambda1_hj": float(S["hj"]["lambda1"].mean()),
           "lambda1_heat": float(S["heat"]["lambda1"].mean()),
           "trace_mean_sgd": float(S["sgd"]["trace_mean"].mean()),
           "trace_se_sgd": trace_seed_mean(R.widths["sgd"])[1],
           "trace_z_esgd": trace_z(R, "entropy-sgd"),
           "trace_z_hj": trace_z(R, "hj"),
           "trace_z_heat": trace_z(R, "heat"),
           "trace_probes": R.params.trace_probes,
           "matched_loss": R.params.matched_loss,
           "min_ess": float(min(w.ess.min() for w in all_w)),
           "coarse_min": float(min(S[a]["coarse"].min() for a in ALGORITHMS)),
           "coarse_max": float(max(S[a]["coarse"].max() for a in ALGORITHMS)),
           **{f"kappa_{short}": float(np.mean([w.kappa[0] for w in R.widths[a]]))
              for a, short in SHORT.items()},
           **{f"kappa_stored_{short}": float(np.mean([k[0] for k in R.kappa_stored.get(
               a, [w.kappa for w in R.widths[a]])])) for a, short in SHORT.items()},
           **{f"kappa_quadratic_{short}": float(np.mean([w.top[0] / (1 + w.gammas[0] * w.top[0])
                                                        for w in R.widths[a]]))
              for a, short in SHORT.items()},
           "max_relative_shift": float(max(math.sqrt(R.params.gammas[-1] / R.params.beta
                                                     * w.n) / w.theta_norm for w in all_w))}
    out.update(ratios(R))
    return out


def _dense_widths(R: Result) -> list[Width]:
    return [ws[0] for ws in R.widths.values() if ws[0].dense is not None]


def claims(R: Result, lenet: Result | None = None) -> list[Claim]:
    """The checks of this chapter: our machinery against exact values (status "check"),
    Sec. 6.3's spectrum statement, where Lemma 20's hypotheses fail, and the wide-valley
    thesis of the Entropy-SGD paper (a companion paper) on LeNet (``R`` itself when it is
    LeNet, else ``lenet``; pending without either)."""
    P, S = R.params, summary(R)
    all_w = [w for ws in R.widths.values() for w in ws]
    out: list[Claim] = []
    dw = _dense_widths(R)
    if dw:
        out += [
            Claim("hvp_fd_error", "Hessian-vector product = central difference of "
                  "gradients (float64, relative error)",
                  max(w.dense["hvp_fd_rel_error"] for w in dw), hi=1e-6, status="check"),
            Claim("hvp_dense_error", "Hessian-vector product = exact Hessian times v "
                  "(float64, relative error)",
                  max(w.dense["hvp_dense_rel_error"] for w in dw), hi=1e-10,
                  status="check"),
            Claim("lanczos_dense_error", f"Lanczos top-{P.top_k} = dense eigenvalues "
                  "(float32 HVPs; max error / λ₁)",
                  max(w.dense["lanczos_rel_error"] for w in dw), hi=1e-4, status="check"),
        ]
        z = []
        for w in dw:
            mean, se = trace_mean(w)
            z.append(abs(mean * w.n - w.dense["trace"]) / (se * w.n))
        out.append(Claim("trace_z", f"Hutchinson tr H ({P.trace_probes} probes) = exact "
                         "trace, within 3 standard errors (largest |z|)", max(z), hi=3.0,
                         status="check"))
        zm = []
        for w in dw:
            eps = P.near_zero * w.top[0]
            exact = hessian.smoothed_mass(w.dense["eigenvalues"],
                                          np.full(w.n, 1.0 / w.n), eps, eps / 4)
            m, se = near_zero_mass(w, P)
            zm.append(abs(m - exact) / max(se, 0.01))
        out.append(Claim("slq_near_zero_z", "SLQ mass near zero = exact (same broadening), "
                         "within 3 standard errors (floor 0.01; largest |z|)", max(zm),
                         hi=3.0, status="check"))
    out.append(Claim("lanczos_residual", "Lanczos top eigenvalues converged (largest "
                     "residual bound / λ₁)",
                     max(float(w.residuals.max() / w.top[0]) for w in all_w), hi=1e-2,
                     status="check"))
    if P.net != "lenet":      # on LeNet a step of 1e-6 crosses a max-pool/ReLU switch
        out.append(Claim("slice_curvature_error", "second difference of f along v₁ "
                         "(|Δθ| = 1e-6) = λ₁ (largest relative error)",
                         max(abs(w.curv_top_fd / w.top[0] - 1) for w in all_w), hi=1e-3,
                         status="check"))
    out += [
        Claim("near_zero_min", f"most eigenvalues lie near zero (smallest SLQ mass with "
              f"|λ| < {P.near_zero:g}λ₁)",
              float(min(S[a]["near_zero"].min() for a in ALGORITHMS)), lo=0.5,
              paper="a very large proportion of eigenvalues close to zero",
              where="Sec. 6.3"),
        fact("not_a_minimum", "the final weights are not a local minimum (as Lemmas 19–20 "
             "assume): a Ritz value < 0 proves λ_min < 0", all(w.ritz_min < 0 for w in all_w),
             status="check"),
    ]
    gap_err = []
    for w in all_w:
        q = w.dense["quadratic_gap"] if w.dense is not None else w.f_gamma_quadratic
        gap_err.append(abs((w.f_gamma[0] - w.loss) / q[0] - 1))
    out.append(Claim("gap_quadratic_error", f"Monte Carlo f_γ − f at γ = {P.gammas[0]:g} "
                     "= the quadratic model ½β⁻¹ tr log(I + γH) − (γ/2) gᵀ(I + γH)⁻¹g "
                     "(largest relative error)", max(gap_err), hi=0.2, status="check"))
    if lenet is not None and lenet is not R:        # the same checks on the LeNet run
        out += [dataclasses.replace(c, name="lenet_" + c.name,
                                    statement="LeNet: " + c.statement)
                for c in claims(lenet) if c.name in LENET_CHECKS]
    out += thesis_claims(R if P.net == "lenet" else lenet)
    return out


LENET_CHECKS = ("lanczos_residual", "near_zero_min", "not_a_minimum", "gap_quadratic_error")
# (not slice_curvature_error: on LeNet a step of 1e-6 along v₁ crosses a max-pooling or
# ReLU switch for two of the four nets, the chapter's prose)
WIDE_VALLEYS = "Entropy-SGD paper, Sec. 1"    # where the wide-valley thesis is stated


def budget_label(R: Result) -> str:
    """Where the weights of ``R`` come from, in words ('GPU sweep, 100 eff. epochs', ...)."""
    if R.source == "gpu":
        return "GPU sweep, 100 eff. epochs"
    where = "here"
    if R.provenance.get("device_name"):
        where = f"on the CPU ({R.provenance['device_name']})" \
            if R.provenance.get("device", "cpu") == "cpu" else f"on {R.provenance['device_name']}"
    return f"trained {where}, {R.params.effective_epochs} eff. epochs"


def thesis_claims(lenet: Result | None) -> list[Claim]:
    """The wide-valley thesis on LeNet, a statement of the Entropy-SGD paper (source
    "companion"; this paper states no Hessian result at the algorithms' outputs):
    Entropy-SGD's and HJ's minima sharper than SGD's by the invariant sharpness
    λ₁(diag θ·H·diag θ), or by λ₁|θ|² where a run did not measure it (pending without a
    LeNet result). With the GPU sweep's weights (the paper's budget) the claims are the
    thesis; for the CPU run at a fifth of the budget they assert what that run measured,
    SGD's minimum the flattest (status "differs"), at the same budget: the λ₁ there are
    ordered like the training losses (``lambda1_ordered_like_loss``)."""
    if lenet is None:
        return [pending(name, f"{label}'s minimum is wider than SGD's on the paper's LeNet "
                        "(sharpness ratio < 1)", paper="wide valleys", where=WIDE_VALLEYS,
                        source="companion")
                for name, label in (("esgd_over_sgd", "Entropy-SGD"), ("hj_over_sgd", "HJ"))]
    r, b = ratios(lenet), budget_label(lenet)
    out = []
    for name, alg in (("esgd_over_sgd", "entropy_sgd"), ("hj_over_sgd", "hj")):
        label = LABELS[alg.replace("_", "-")]
        invariant = math.isfinite(r[f"ratio_sharpness_{alg}"])
        ratio = r[f"ratio_sharpness_{alg}"] if invariant else r[f"ratio_scaled_{alg}"]
        what = "λ₁(diag θ·H·diag θ)" if invariant else "λ₁|θ|²"
        if lenet.source == "gpu":
            out.append(Claim(name, f"{label}'s minimum is wider than SGD's on LeNet "
                             f"({what} ratio < 1; {b})", ratio, hi=1.0, paper="wide valleys",
                             where=WIDE_VALLEYS, source="companion"))
        else:
            out.append(Claim(name, f"{label}'s minimum is not wider than SGD's on LeNet at "
                             f"the same budget: {what} ratio ≥ 1 ({b})", ratio, lo=1.0,
                             paper="wide valleys", where=WIDE_VALLEYS, status="differs",
                             source="companion"))
    matched = {a: np.mean([w.matched_sharpness for w in lenet.widths[a]])
               for a in ALGORITHMS}
    for name, alg in (("esgd_over_sgd_matched", "entropy-sgd"), ("hj_over_sgd_matched", "hj")):
        label = LABELS[alg]
        if not (math.isfinite(matched[alg]) and math.isfinite(matched["sgd"])):
            out.append(pending(name, f"{label}'s minimum is wider than SGD's on LeNet at "
                               "matched training loss (λ₁(diag θ·H·diag θ) ratio < 1); "
                               "needs a run with snapshots", paper="wide valleys",
                               where=WIDE_VALLEYS, source="companion"))
            continue
        ratio = float(matched[alg] / matched["sgd"])
        wider = lenet.source == "gpu" or ratio < 1
        out.append(Claim(name, f"{label}'s minimum is {'' if wider else 'not '}wider than "
                         f"SGD's on LeNet at matched training loss: λ₁(diag θ·H·diag θ) ratio "
                         f"{'<' if wider else '≥'} 1, each net at its first f ≤ "
                         f"{lenet.params.matched_loss:g} ({b})", ratio,
                         hi=1.0 if wider else None, lo=None if wider else 1.0,
                         paper="wide valleys", where=WIDE_VALLEYS, source="companion",
                         status="reproduced" if wider else "differs"))
    if lenet.source != "gpu":
        out.append(fact("sgd_flattest", f"SGD's minimum is the flattest of the four on "
                        f"LeNet at the same budget: the smallest λᵢ for every i ≤ "
                        f"{lenet.params.top_k} ({b})", sgd_flattest(lenet),
                        paper="wide valleys", where=WIDE_VALLEYS, status="differs",
                        source="companion"))
    out.append(fact("lambda1_ordered_like_loss", "the four λ₁ are in the order of the four "
                    f"training losses ({b})", ordered_like_loss(lenet), status="check"))
    return out


def matched_frame(R: Result):
    """Each net at its first snapshot with f ≤ matched_loss (seed means): the effective
    epoch, f there, λ₁ and λ₁(diag θ·H·diag θ), beside the final f and λ₁."""
    import pandas as pd
    num = lambda v: "—" if not np.isfinite(v) else f"{v:.3g}"        # noqa: E731
    rows = []
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        mean = lambda key: float(np.mean([getattr(w, key) for w in ws]))   # noqa: E731
        rows.append({"algorithm": LABELS[alg], "epoch": num(mean("matched_epoch")),
                     "f there": num(mean("matched_f")),
                     "λ₁ there": num(mean("matched_lambda1")),
                     "λ₁(θHθ) there": num(mean("matched_sharpness")),
                     "final f": num(mean("loss")),
                     "final λ₁": num(float(np.mean([w.top[0] for w in ws])))})
    return pd.DataFrame(rows).set_index("algorithm")


def sgd_flattest(R: Result) -> bool:
    """SGD's seed-mean top-k eigenvalues (Lanczos, converged) are each the smallest of
    the four (the SLQ trace and width terms do not resolve an order with a few probes)."""
    tops = {a: np.mean([w.top for w in R.widths[a]], axis=0) for a in ALGORITHMS}
    return all(bool(np.all(tops["sgd"] < tops[a])) for a in ALGORITHMS if a != "sgd")


def timing_frame(R: Result):
    """Wall-clock seconds of training and of each curvature stage, per algorithm (seed 0)."""
    import pandas as pd
    rows = []
    for alg in ALGORITHMS:
        t = R.widths[alg][0].timings
        row = {"algorithm": LABELS[alg]}
        if R.train_s.get(alg) is not None:
            row["training (s)"] = f"{R.train_s[alg]:.0f}"
        sec = lambda key, fmt=".0f": format(t[key], fmt) if key in t else "—"  # noqa: E731
        P = R.params
        row.update({"one HVP (s)": sec("hvp", ".2f"),
                    f"top-{P.top_k}, {P.lanczos_steps} steps (s)": sec("lanczos"),
                    f"SLQ {P.slq_probes}×{P.slq_steps} (s)": sec("slq"),
                    f"tr H, {P.trace_probes} probes (s)": sec("trace"),
                    "λ₁(θHθ) (s)": sec("scaled_lanczos"),
                    "Lanczos on ∇f (s)": sec("gradient_lanczos"),
                    "slices (s)": sec("slices"), "f_γ (s)": sec("local_entropy")})
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("algorithm")
    return frame.loc[:, (frame != "—").any()]          # stages a run did not have


def pending_note(R: Result, lenet: Result | None = None) -> str:
    """An admonition (MyST) saying which numbers come from which weights and budget."""
    P = R.params
    if R.source == "gpu":
        return ""
    if P.net == "lenet":
        first = (f"The numbers on this page come from LeNet {budget_label(R)}, a fifth of "
                 "the paper's budget, not from the paper's runs.")
    else:
        first = ("The first sections measure the small net `mlp7` on 1,000 MNIST images "
                 "(the `fast` preset, computed when the page is built); ")
        first += ("the section *On the paper's LeNet* reads the `paper` preset's run, "
                  f"LeNet {budget_label(lenet)} (`{LENET_RESULT.relative_to(paths.REPO_ROOT)}`)."
                  if lenet is not None else
                  "the LeNet comparison is pending until the `paper` preset has run.")
    return "\n".join([
        "```{admonition} Which weights",
        ":class: note",
        first + " With the LeNet weights of the GPU sweep in `results/weights/` (100 "
        "effective epochs), the `paper` preset measures those instead.",
        "```"])


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------
def _plain_log(ax, axis: str = "y") -> None:
    """Tick labels of a log axis as plain numbers (0.5, 2, 10) rather than 5×10⁻¹."""
    import matplotlib.ticker as mticker
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(mticker.NullFormatter())


def _legend_below(fig, axes, ncol=4):
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)


@styled(FIGURE_RC)
def figure_top_eigenvalues(R: Result):
    """Top-k eigenvalues per algorithm (mean ± std over seeds): raw and times |θ|²."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        ws = R.widths[alg]
        tops = np.array([w.top for w in ws])
        scaled = np.array([w.top * w.theta_norm ** 2 for w in ws])
        i = np.arange(1, tops.shape[1] + 1)
        for ax, vals in zip(axes, (tops, scaled)):
            err = vals.std(0, ddof=1) if vals.shape[0] > 1 else None
            ax.errorbar(i, vals.mean(0), yerr=err, marker="o", ms=4, capsize=3, lw=1.2,
                        color=ALGORITHM_COLORS[alg], label=LABELS[alg])
    for ax, lab in zip(axes, ("eigenvalue $\\lambda_i$ of $\\nabla^2 f$",
                              "$\\lambda_i\\,|\\theta|^2$")):
        ax.set_yscale("log")
        _plain_log(ax)
        ax.set_xlabel("index $i$")
        ax.set_ylabel(lab)
        ax.grid(alpha=0.3, which="both")
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_density(R: Result):
    """SLQ eigenvalue density (seed 0) of each algorithm, and the spectral mass within
    |λ| < ε as a function of ε/λ₁; the exact spectrum dashed where it is known."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        w = R.widths[alg][0]
        lam1 = w.top[0]
        grid = np.linspace(-0.15 * lam1, 1.1 * lam1, 600)
        width = 0.03 * lam1
        axes[0].semilogy(grid / lam1, lam1 * hessian.slq_density(w.slq_nodes,
                                                                 w.slq_weights, grid, width),
                         color=ALGORITHM_COLORS[alg], lw=1.3, label=LABELS[alg])
        eps = np.geomspace(1e-4, 1, 40)
        mass = [np.mean([hessian.smoothed_mass(nd, wt, e * lam1, e * lam1 / 4)
                         for nd, wt in zip(w.slq_nodes, w.slq_weights)]) for e in eps]
        axes[1].semilogx(eps, mass, color=ALGORITHM_COLORS[alg], lw=1.3, label=LABELS[alg])
        if w.dense is not None:
            ev = w.dense["eigenvalues"]
            axes[0].semilogy(grid / lam1, lam1 * hessian.broadened(ev, np.full(ev.size,
                             1 / ev.size), grid, width), color=ALGORITHM_COLORS[alg],
                             lw=0.9, ls="--")
            exact = [hessian.smoothed_mass(ev, np.full(ev.size, 1 / ev.size), e * lam1,
                                           e * lam1 / 4) for e in eps]
            axes[1].semilogx(eps, exact, color=ALGORITHM_COLORS[alg], lw=0.9, ls="--")
    axes[0].set_ylim(1e-2, None)
    axes[0].set_xlabel("$\\lambda / \\lambda_1$")
    axes[0].set_ylabel("density of $\\lambda/\\lambda_1$ (log)")
    axes[1].set_xlabel("$\\varepsilon / \\lambda_1$")
    axes[1].set_ylabel("mass of $|\\lambda| < \\varepsilon$")
    for ax in axes:
        ax.grid(alpha=0.3)
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_slices(R: Result):
    """f(θ + α d), |d| = |θ|: along the top eigenvector (left) and random directions
    (right, one thin line each), for every algorithm (seed 0)."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    for alg in ALGORITHMS:
        w, c = R.widths[alg][0], ALGORITHM_COLORS[alg]
        axes[0].plot(w.alphas_top, w.slice_top, color=c, lw=1.4, label=LABELS[alg])
        for k, s in enumerate(w.slices_random):
            axes[1].plot(w.alphas_random, s, color=c, lw=1.0, alpha=0.8,
                         label=LABELS[alg] if k == 0 else None)
    axes[0].set_title("top eigenvector $v_1$")
    axes[1].set_title("random directions")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("$\\alpha = |\\Delta\\theta| / |\\theta|$")
        ax.set_ylabel("training loss $f$")
        ax.grid(alpha=0.3, which="both")
    _legend_below(fig, axes)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


@styled(FIGURE_RC)
def figure_local_entropy(R: Result):
    """f_γ − f against γ (MC, with the quadratic model dashed) and the curvature of f_γ
    along v₁ against Example 13's λ₁/(1+γλ₁) (dotted) and the bound 1/γ (grey)."""
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE)
    g = np.asarray(R.params.gammas, float)
    for alg in ALGORITHMS:
        ws, c = R.widths[alg], ALGORITHM_COLORS[alg]
        gap = np.array([w.f_gamma - w.loss for w in ws]).mean(0)
        quad = np.array([w.f_gamma_quadratic for w in ws]).mean(0)
        kap = np.array([w.kappa for w in ws]).mean(0)
        lam = np.mean([w.top[0] for w in ws])
        ess = np.array([w.ess for w in ws]).min(0)
        axes[0].plot(g, gap, "-", color=c, lw=1.3, label=LABELS[alg])
        axes[0].plot(g[ess >= ESS_MIN], gap[ess >= ESS_MIN], "o", color=c, ms=5)
        axes[0].plot(g[ess < ESS_MIN], gap[ess < ESS_MIN], "o", color=c, ms=5, mfc="white")
        axes[0].plot(g, quad, "--", color=c, lw=0.9)
        kap = np.maximum(kap, 1e-6)
        axes[1].loglog(g, kap, "-", color=c, lw=1.3, label=LABELS[alg])
        axes[1].plot(g[ess >= ESS_MIN], kap[ess >= ESS_MIN], "o", color=c, ms=5)
        axes[1].plot(g[ess < ESS_MIN], kap[ess < ESS_MIN], "o", color=c, ms=5, mfc="white")
        gg = np.geomspace(g[0], g[-1], 50)
        axes[1].loglog(gg, lam / (1 + gg * lam), ":", color=c, lw=1.0)
    gg = np.geomspace(g[0], g[-1], 50)
    axes[1].loglog(gg, 1 / gg, color="0.6", lw=2, alpha=0.6, label="$1/\\gamma$")
    axes[0].set_xscale("log")
    axes[0].set_yscale("symlog", linthresh=1e-3)
    axes[0].set_ylabel("$f_\\gamma - f$ (symlog)")
    axes[1].set_ylabel("$v_1^\\top \\nabla^2 f_\\gamma\\, v_1$")
    for ax in axes:
        ax.set_xlabel("$\\gamma$")
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


# ---------------------------------------------------------------------------------------
# Command line: the paper preset's LeNet run (minutes per net; resumable)
# ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m deeprelax.chapters.ch13_width_of_minima [--preset paper] [name=value ...]``:
    run :func:`compute` and print the tables; a LeNet result is saved after each
    algorithm (a rerun continues) at :func:`result_path`: the committed
    ``results/width-of-minima-lenet.json`` only with the paper preset's settings, else
    under ``runs/ch13/``. Bad settings are one line (exit status 2)."""
    import argparse

    from deeprelax.params import ParamError, parse_overrides
    ap = argparse.ArgumentParser(prog="python -m deeprelax.chapters.ch13_width_of_minima",
                                 description=main.__doc__.split("\n")[0])
    ap.add_argument("--preset", default="paper", choices=tuple(Params.PRESETS))
    ap.add_argument("overrides", nargs="*", help="name=value, e.g. effective_epochs=20")
    args = ap.parse_args(argv)
    from deeprelax.runtime import check_device
    try:
        P = Params.from_preset(args.preset, **parse_overrides(args.overrides))
        check_device(P.device)
    except ParamError as err:
        ap.error(str(err))
    t0 = time.perf_counter()
    R = compute(P)
    import pandas as pd
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        for frame in (source_frame, eigen_frame, width_frame):
            print(frame(R), "\n")
    path = result_path(P)
    print(f"done in {time.perf_counter() - t0:.0f} s"
          + (f"; saved {path}" if path is not None else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
