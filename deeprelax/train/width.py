"""The width of the minima (Secs. 1, 6): train LeNet (or a small net) with Entropy-SGD, HEAT,
HJ and SGD, and measure the curvature of the training loss f at the final weights.

At each net's final weights (BN re-estimated, eval mode, :func:`measure`): the top Hessian
eigenvalues (Lanczos on Hessian-vector products), the eigenvalue density (stochastic
Lanczos quadrature), tr H (Hutchinson), the invariant sharpness λ₁(diag θ·H·diag θ), f
along the top eigenvector and along random directions scaled to |θ|, and the local
entropy f_γ of eq. (11) with the curvature of f_γ along the top eigenvector (Monte
Carlo), beside the quadratic model of Example 13 / Lemma 18.

Weights: with ``weights="auto"`` the LeNet weights of the Table 1 runs at the paper's
budget (``results/weights/lenet-<algorithm>-seed<k>.pt``, written when a CPU campaign unit
or a GPU sweep finishes; :func:`export_paper_weights`) are used when all four exist; otherwise the four nets are trained here by ``engine.train`` with
the LeNet settings of ``experiments`` on a reduced, stated budget (the lr schedule
compressed in proportion, :func:`train_params`). The ``fast`` preset trains a small
mnistfc-like net (:func:`mlp7`, 878 parameters) on 1,000 images, small enough for the
exact Hessian.

:func:`run` does it all; a LeNet result is saved after each algorithm at
:func:`result_path` (the committed ``results/width-of-minima-lenet.json`` only with the
``paper`` preset's settings) and a rerun continues from it. The command line is
``python -m deeprelax width [--preset paper|fast] [name=value ...]``; chapter 13 reads
and shows the result.
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

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from torch import nn

from deeprelax import paths, results
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.runtime import DEVICE_FORMS, check_device, cpu_model, device_syntax_ok
from deeprelax.train import engine, experiments, hessian, models, table1

ALGORITHMS = experiments.ALGORITHM_ORDER      # entropy-sgd, heat, hj, sgd (the paper's order)
LABELS = table1.LABELS
FD_STEP = 1e-6         # |Δθ| of the second differences that check λ₁ (inside one ReLU piece)
COARSE_STEP = 1e-3     # |Δθ|/|θ| of the second difference that crosses ReLU kinks
SCHEMA = "deeprelax.width/1"
#: the estimator of κ_γ in a saved result (hessian.local_entropy); results without it
#: used fixed mid-stratum quantiles and are corrected on loading (:func:`load`)
KAPPA_ESTIMATOR = "stratified-uniform+control-variate"
#: ``Result.source`` of weights from the Table 1 runs (results/weights: the paper's budget,
#: from the CPU campaign or a GPU sweep); the other source is "trained here"
PAPER_RUNS = "paper runs"


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
# Weights: trained here, or the Table 1 runs' files
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
    d = experiments.mnist_tensors(P.n_train, P.n_test)
    return engine.TensorData(d.train_x.float(), d.train_y, d.test_x.float(), d.test_y,
                             name=f"mnist-{P.n_train}")


def train_params(P: Params, algorithm: str) -> engine.TrainParams:
    """The LeNet settings of ``algorithm`` (``experiments``, Sec. 8.2.2) on P's budget: the
    lr schedule's epochs scaled by effective_epochs / the paper's budget (100), seeds and
    device P's."""
    base = experiments.experiment("lenet", algorithm, "paper")
    scale = P.effective_epochs / base.effective_epochs
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
            paths.WIDTH_RUNS.mkdir(parents=True, exist_ok=True)
            tag = hashlib.sha256(repr(sorted(TP.fingerprint().items())).encode()).hexdigest()
            ckpt = paths.WIDTH_RUNS / f"lenet-{algorithm}-{P.effective_epochs}ep-{tag[:12]}.pt"
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
            dense: bool = False, progress: bool = False) -> Width:
    """Every curvature measurement of one net at its weights (BN re-estimated, eval mode);
    ``progress`` prints each stage's wall time as it ends."""
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
    clock = _Clock(progress)
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

    def __init__(self, say: bool = False):
        self.laps: dict[str, float] = {}
        self.say = say
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        self.laps[name] = round(t - self._t, 3)
        self._t = t
        if self.say:
            print(f"  {name.replace('_', ' ')}: {self.laps[name]:.1f} s", flush=True)


# ---------------------------------------------------------------------------------------
# The run: train (or load) the four nets, measure, save after each algorithm
# ---------------------------------------------------------------------------------------
@dataclass
class Result:
    """Per algorithm: the source of the weights and the measurements of each seed."""

    params: Params
    source: str                               # PAPER_RUNS (results/weights) or 'trained here'
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


def run(P: Params) -> Result:
    """Train (or load) the four nets, then measure every seed's curvature; a LeNet result
    is saved after each algorithm at :func:`result_path`, and a rerun with the same P
    continues from it."""
    with warnings.catch_warnings():       # tqdm.auto without ipywidgets; torch's own notice
        warnings.filterwarnings("ignore", message="IProgress not found")
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated")
        return _run(P)


def _run(P: Params) -> Result:
    check_device(P.device)                     # one ParamError line, before any work
    data = mnist_subset(P)
    saved = saved_seeds(P)
    R = Result(P, PAPER_RUNS if saved else "trained here", saved or P.seeds)
    R.provenance = results.provenance(P.device, cpu=cpu_model(),   # the code and machine
                                      threads=torch.get_num_threads())  # (timings need both)
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
                        models.count_parameters(nets[s]) <= 5000, progress=P.net == "lenet")
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
        return paths.WIDTH_RESULT
    tag = hashlib.sha256(repr(sorted(P.as_dict().items())).encode()).hexdigest()[:12]
    return paths.WIDTH_RUNS / f"width-{tag}.json"


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


def load(path: str | Path = paths.WIDTH_RESULT) -> Result:
    """The :class:`Result` written by :func:`save` (without the exact-Hessian checks)."""
    doc = results.read_json(path)
    if doc.get("schema") != SCHEMA:
        raise results.ResultError(f"{path}: schema {doc.get('schema')!r} is not {SCHEMA!r}")
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["params"].items()}
    legacy = doc.get("kappa_estimator") != KAPPA_ESTIMATOR
    if legacy:           # tr H came from the SLQ probes; no snapshots were taken
        raw.setdefault("trace_probes", raw.get("slq_probes"))
        raw.setdefault("matched_loss", 0.0)
    source = PAPER_RUNS if doc["source"] == "gpu" else doc["source"]   # the older name
    R = Result(Params.checked(**raw), source, tuple(doc["seeds"]))
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
    half = (mc_samples + 1) // 2
    m2 = float(np.mean(norm.ppf((np.arange(half) + 0.5) / (2 * half) + 0.5) ** 2))
    g = np.asarray(w.gammas, float)
    s2 = 1.0 / (1.0 + g * max(float(w.top[0]), 0.0))
    return np.asarray(w.kappa, float) - s2 * (1.0 - m2) / g


def load_lenet(path: str | Path = paths.WIDTH_RESULT) -> Result | None:
    """The paper preset's LeNet result if it is there and complete, else None."""
    if not Path(path).is_file():
        return None
    R = load(path)
    return R if R.complete else None


# ---------------------------------------------------------------------------------------
# Reductions over seeds and the run's tables (``python -m deeprelax width`` prints them)
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
    S = summary(R)
    where = budget_label(R)
    rows = []
    for alg in ALGORITHMS:
        rows.append({"algorithm": LABELS[alg], "weights": where, "seeds": len(R.seeds),
                     "parameters n": f"{R.widths[alg][0].n:,}",
                     "training loss f": _ms(S[alg]["loss"], ".2g"),
                     "val. error (%)": _ms(S[alg]["val_error"], ".2f")})
    return pd.DataFrame(rows).set_index("algorithm")


def eigen_frame(R: Result, k: int | None = None):
    """The top-k eigenvalues per algorithm (all measured, or the first ``k``), mean ± std
    over seeds (one row each)."""
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


def budget_label(R: Result) -> str:
    """Where the weights of ``R`` come from, in words ('Table 1 runs, 100 eff. epochs',
    'trained on the CPU (x86_64), 20 eff. epochs')."""
    if R.source == PAPER_RUNS:
        return "Table 1 runs, 100 eff. epochs"
    where = "here"
    if R.provenance.get("device_name"):
        cpu = R.provenance.get("cpu") or R.provenance["device_name"]
        where = f"on the CPU ({cpu})" \
            if R.provenance.get("device", "cpu") == "cpu" else f"on {R.provenance['device_name']}"
    return f"trained {where}, {R.params.effective_epochs} eff. epochs"


def tables_text(R: Result) -> str:
    """The run's tables as text, 120 characters wide: :func:`source_frame`,
    :func:`eigen_frame`, :func:`width_frame`."""
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        return "".join(f"{frame(R)} \n\n" for frame in (source_frame, eigen_frame, width_frame))
