"""Chapter 14 (Sec. 4.3, eqs. (21)-(22), Remark 22): Elastic-SGD across processes on a real net.

Elastic-SGD with n = 1, 2, 4 replicas of LeNet on MNIST (a subset in the fast preset),
beside SGD and Entropy-SGD at equal gradient evaluations (Remark 22): the validation
error of the reference x̄ and the replicas' spread around it. The replicas are coupled to
a centre variable (the corrected form of (21)-(22), Errata); the printed form, coupled to
the replicas' own mean, is run as the contrast, and replicas that are never coupled
(γ = ∞) as a control that is wrong on purpose. The curves come from the single-process
simulation of the replicas (``distributed.simulate``); the same runs are launched with
torchrun (``distributed.launch_local``: one machine, and two local 'nodes' with a c10d
rendezvous on 127.0.0.1), their sums taken in rank order, and compared number for number
(equal by construction: the same operations in the same order), and once with gloo's
all_reduce to show the round-off of another order of the sums; their wall time per
effective epoch against n shows what this machine's cores allow.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from deeprelax.train import distributed as D
from deeprelax.book.claims import Claim, fact
from deeprelax.params import Params as BaseParams, knob

UNCOUPLED_GAMMA = 1e12      # the control: c = τη/γ = 1e-13, replicas never pulled together
@dataclass(frozen=True)
class Params(BaseParams):
    """The runs of the chapter: data, budget, replicas, coupling, launches."""

    net: str = knob("lenet", choices=D.NETS, doc="network of Sec. 8.2")
    n_train: int = knob(2560, lo=0, hi=60_000, doc="training images, a prefix (0: all)")
    n_test: int = knob(1000, lo=0, hi=10_000, doc="validation images (0: all)")
    effective_epochs: int = knob(4, lo=1, hi=1000, doc="budget of every curve (Remark 22)")
    replicas: tuple[int, ...] = knob((1, 2, 4), doc="Elastic-SGD replica counts n")
    reference: str = knob("centre", choices=D.REFERENCES, doc="x̄: the centre variable "
                          "(corrected (21)); the other form is run as the contrast")
    gamma: float = knob(1.0, lo=1e-6, hi=1e6, doc="elastic γ (coupling 1/γ of (21))")
    tau: int = knob(1, lo=1, hi=1000, doc="communication period (rounds)")
    esgd_L: int = knob(5, lo=1, hi=100, doc="Entropy-SGD inner steps L")
    launch_replicas: tuple[int, ...] = knob((1, 2, 4), doc="n of the torchrun launches "
                                            "(n = 2 as two local nodes)")
    launch_epochs: int = knob(2, lo=1, hi=1000, doc="effective epochs per launch")
    kill_round: int = knob(13, lo=0, hi=10**6, doc="n = 2 launch: round where replica 1 "
                           "is killed before the resume (0: no kill)")
    bn_batches: int = knob(1, lo=0, hi=1000, doc="eval batches for BN (0: all)")
    seed: int = knob(0, lo=0, hi=1 << 30, doc="x̄₀ and the replicas' streams")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="device of the simulations")

    PRESETS = {"fast": {},
               "paper": dict(n_train=0, n_test=0, effective_epochs=100, esgd_L=20,
                             bn_batches=0, launch_replicas=(), device="cuda")}


def contrast_of(reference: str) -> str:
    """The other form of (21): the replicas' mean against the centre variable."""
    return "mean" if reference == "centre" else "centre"


def elastic_params(p: Params, n: int = 2, **over) -> D.ElasticParams:
    """The Elastic-SGD runs: Nesterov SGD replicas coupled to x̄ (``p.reference``); n = 1
    is SGD: one replica coupled to its own mean, whose move is exactly zero (eq. (21))."""
    sched = ((0, 0.1),) if p.effective_epochs < 30 else ((0, 0.1), (30, 0.02), (60, 0.004))
    values = dict(net=p.net, n_train=p.n_train, n_test=p.n_test,
                  effective_epochs=p.effective_epochs, lr_schedule=sched, gamma=p.gamma,
                  tau=p.tau, reference="mean" if n == 1 else p.reference,
                  bn_batches=p.bn_batches, seed=p.seed, device=p.device)
    return D.params_for("fast", **{**values, **over})


def esgd_params(p: Params) -> D.ElasticParams:
    """Entropy-SGD (the authors' Lua settings) as one Parle replica: no elastic term."""
    sched = ((0, 1.0),) if p.effective_epochs < 40 else ((0, 1.0), (40, 0.1), (80, 0.01))
    return D.params_for("fast", "parle", net=p.net, n_train=p.n_train, n_test=p.n_test,
                        effective_epochs=p.effective_epochs, lr_schedule=sched, L=p.esgd_L,
                        bn_batches=p.bn_batches, seed=p.seed, device=p.device)


@dataclass
class Result:
    """Records of the simulated runs and of the torchrun launches."""

    params: Params
    elastic: dict          # n -> result record of distributed.simulate (n = 1: SGD)
    contrast: dict         # n > 1 -> the other form of (21) (default: the printed mean)
    uncoupled: dict        # n > 1 -> the control: replicas never coupled (γ = ∞), x̄ = ȳ
    esgd: dict             # Entropy-SGD (Parle, n = 1)
    launches: dict         # n -> rank 0's JSON of a torchrun launch, sums in rank order
    n_parameters: int
    spe: int               # gradient evaluations per effective epoch
    killed: dict | None = None   # the n = 2 launch killed in kill_round, then resumed
    load: float = math.nan       # largest 1-minute load average seen around the launches
    all_reduce: dict | None = None   # the largest n > 2 launched again with all_reduce


def compute(p: Params) -> Result:
    """Simulate Elastic-SGD (both forms of (21) and the uncoupled control) for every n and
    Entropy-SGD; launch the same runs with torchrun (rank-order sums, and once all_reduce)."""
    data = D.load_data(elastic_params(p))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)               # as each launched process (OMP_NUM_THREADS=1)
    big = [n for n in p.replicas if n > 1]
    try:
        elastic = {n: D.simulate(elastic_params(p, n), n, data) for n in p.replicas}
        other = contrast_of(p.reference)
        contrast = {n: D.simulate(elastic_params(p, n, reference=other), n, data)
                    for n in big}
        uncoupled = {n: D.simulate(elastic_params(p, n, reference="mean",
                                                  gamma=UNCOUPLED_GAMMA), n, data)
                     for n in big}
        esgd = D.simulate(esgd_params(p), 1, data)
    finally:
        torch.set_num_threads(threads)
    launches, killed, ring = {}, None, None
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for n in p.launch_replicas:
            short = elastic_params(p, n, effective_epochs=p.launch_epochs, device="cpu",
                                   reduction="rank-order")
            nodes = 2 if n == 2 else 1
            out = Path(tmp) / f"n{n}.json"
            if n == 2 and p.kill_round:
                part = D.launch_local(short, 1, out, nnodes=2, check=False,
                                      env={D.FAULT_ENV: f"1:{p.kill_round}"})
                fault = float(Path(f"{out}.fault").read_text())
                killed = {"exit": part["exit"], "rank_exit": part["rank_exit"],
                          "messages": part["launch_stderr"], "status": part["status"],
                          "error": part.get("error", ""),
                          "seconds": part.get("error_time_unix", math.nan) - fault,
                          "epochs_kept": len(part["records"]["grads"]),
                          "round": p.kill_round}
            launches[n] = D.launch_local(short, n // nodes, out, nnodes=nodes)
            load.append(os.getloadavg()[0])
        many = [n for n in p.launch_replicas if n > 2]
        if many:
            n = max(many)
            ring = D.launch_local(elastic_params(p, n, effective_epochs=p.launch_epochs,
                                                 device="cpu"), n, Path(tmp) / "ring.json")
            ring["n"] = n
            load.append(os.getloadavg()[0])
    any_run = next(iter(elastic.values()))
    return Result(p, elastic, contrast, uncoupled, esgd, launches, any_run["n_parameters"],
                  any_run["steps_per_effective_epoch"], killed, max(load), ring)


def _rel_diff(a: list, b: list) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


RECORDED = ("grads", "train_loss", "spread", "dispersion", "val_error", "xbar_norm")


def _compare(run: dict, ref: dict) -> dict:
    """A launch against the simulation over the common records: equal (bit for bit) and
    the largest relative differences of the loss, the spread and |x̄|."""
    m = len(run["records"]["grads"])
    a, b = run["records"], {k: v[:m] for k, v in ref["records"].items()}
    return {"equal": all(a[k] == b[k] for k in RECORDED), "grads": a["grads"] == b["grads"],
            "error": a["val_error"] == b["val_error"],
            **{k: _rel_diff(a[k], b[k]) for k in ("train_loss", "spread", "xbar_norm")},
            "nodes": run["launch"]["nnodes"], "backend": run["launch"]["backend"],
            "reduction": run["params"].get("reduction", "all_reduce")}


def agreement(r: Result) -> dict:
    """Per launch (n, or (n, 'all_reduce')): the comparison with the simulation."""
    out = {n: _compare(run, r.elastic[n]) for n, run in r.launches.items() if n in r.elastic}
    if r.all_reduce is not None and r.all_reduce["n"] in r.elastic:
        n = r.all_reduce["n"]
        out[(n, "all_reduce")] = _compare(r.all_reduce, r.elastic[n])
    return out


def all_reduce_rel_diff(r: Result) -> float:
    """Largest relative difference (loss, spread, |x̄|) of the all_reduce launch (float32)
    from the simulation: round-off of the order of the sums, amplified by training."""
    ag = [a for k, a in agreement(r).items() if isinstance(k, tuple)]
    return max((max(a["train_loss"], a["spread"], a["xbar_norm"]) for a in ag),
               default=math.nan)


def seconds_per_epoch(r: Result) -> dict[int, float]:
    """Wall time of the rounds per effective epoch in each torchrun launch (rank 0's clock,
    evaluation excluded)."""
    return {n: run["records"]["train_s"][-1] / run["records"]["effective_epoch"][-1]
            for n, run in sorted(r.launches.items())}


def bytes_per_round(r: Result) -> dict[str, float]:
    """All-reduce payload per communication and each rank's ring traffic 2(n−1)/n of it."""
    payload = r.n_parameters * 4
    return {"payload": payload, **{f"ring_{n}": 2 * (n - 1) / n * payload
                                   for n in r.params.replicas}}


def coupling_ratio(r: Result, n: int) -> float:
    """Dispersion of the coupled replicas around their mean ȳ over that of the uncoupled
    control (γ = ∞, the same streams), at the end. Both forms of (21) pull every y_i − ȳ
    back by the factor 1 − c per round, c = τη/γ (an Ornstein-Uhlenbeck pull): with k
    rounds of independent steps of size σ a coupled deviation settles at about σ/sqrt(2c)
    while an uncoupled one grows like σ sqrt(k), so the ratio is about 1/sqrt(2ck) < 1
    (for 2ck > 1); a missing coupling gives 1, a coupling of the wrong sign more."""
    return (r.elastic[n]["records"]["dispersion"][-1]
            / r.uncoupled[n]["records"]["dispersion"][-1])


def predicted_coupling_ratio(r: Result, n: int) -> float:
    """1/sqrt(2ck), k = the rounds of the run, c = τη/γ (see :func:`coupling_ratio`)."""
    rec = r.elastic[n]["records"]
    c = min(1.0, r.params.tau * rec["lr"][-1] / r.params.gamma)
    return 1.0 / math.sqrt(2 * c * rec["rounds"][-1])


def measures(r: Result) -> dict[str, float]:
    """The prose's numbers: final errors, spreads, gaps, controls, agreement."""
    m: dict[str, float] = {}
    sgd = r.elastic[min(r.elastic)]["records"]
    for n, run in r.elastic.items():
        rec = run["records"]
        m[f"err_{n}"] = rec["val_error"][-1]
        m[f"spread_{n}"] = rec["spread"][-1]
        m[f"gap_{n}"] = rec["val_error"][-1] - sgd["val_error"][-1]
    for n in r.contrast:
        m[f"err_contrast_{n}"] = r.contrast[n]["records"]["val_error"][-1]
        m[f"err_uncoupled_{n}"] = r.uncoupled[n]["records"]["val_error"][-1]
        m[f"dispersion_{n}"] = r.elastic[n]["records"]["dispersion"][-1]
        m[f"dispersion_uncoupled_{n}"] = r.uncoupled[n]["records"]["dispersion"][-1]
        m[f"coupling_pred_{n}"] = predicted_coupling_ratio(r, n)
    lr = sgd["lr"][-1]
    m["c"] = min(1.0, r.params.tau * lr / r.params.gamma)
    m["centre_lag"] = (1 - m["c"]) / m["c"]
    m["err_esgd"] = r.esgd["records"]["val_error"][-1]
    m["xbar_norm"] = r.elastic[max(r.elastic)]["records"]["xbar_norm"][-1]
    m["spe"] = r.spe
    m["n_parameters"] = r.n_parameters
    m["grads_total"] = sgd["grads"][-1]
    m["payload_bytes"] = r.n_parameters * 4
    m["rounds_per_epoch_max_n"] = r.spe / max(r.elastic)
    m["all_reduce_rel_diff"] = all_reduce_rel_diff(r)
    return m


def prose_numbers(r: Result) -> dict[str, float]:
    """Numbers quoted in the prose that are not claims (claims are glued by ``report``)."""
    names = {c.name for c in claims(r)}
    return {k: v for k, v in measures(r).items() if k not in names and math.isfinite(v)}


def claims(r: Result) -> list[Claim]:
    """The chapter's checks of our software: the reduction to SGD, the bookkeeping, the
    launches, the kill, and the coupling against a control that is wrong on purpose."""
    ag = agreement(r)
    big = sorted(r.contrast)
    runs = [*r.elastic.values(), *r.contrast.values(), *r.uncoupled.values(), r.esgd]
    grads = {tuple(run["records"]["grads"]) for run in runs}
    out = [
        fact("one_replica_no_spread", "with n = 1 and x̄ the replicas' mean the elastic "
             "move is exactly zero: the spread is 0 at every record (the curve is SGD)",
             all(s == 0.0 for s in r.elastic[1]["records"]["spread"]) if 1 in r.elastic
             else True, paper="n_p = 1: SGD", where="eq. (21)", status="check"),
        fact("equal_gradients", "every curve is recorded at the same gradient counts, "
             "summed over all replicas", len(grads) == 1, paper="effective epochs",
             where="Remark 22", status="check"),
    ]
    ordered = [k for k in ag if not isinstance(k, tuple)]
    if ordered:
        out.append(fact("launch_exact", f"the torchrun launches with n = "
                        f"{', '.join(map(str, ordered))} (n = 2: two local nodes, killed and "
                        f"resumed), sums in rank order, give the simulation's records bit "
                        f"for bit", all(ag[n]["equal"] for n in ordered), paper="—",
                        where="Sec. 4.3", status="check"))
    k = r.killed
    if k is not None:
        out.append(fact("kill_one_message", f"replica 1 killed in round {k['round']}: the "
                        f"other stops with one 'replica lost' line caused by the dead peer "
                        f"(not the timeout), exits 5, and the JSON keeps its records and "
                        f"the error", len(k["messages"]) == 1
                        and "replica lost" in k["messages"][0]
                        and "replica lost" in k["error"]
                        and "timed out" not in k["error"].lower()
                        and k["rank_exit"] == {0: D.EXIT_REPLICA_LOST}
                        and k["exit"] == D.EXIT_REPLICA_LOST
                        and k["status"] == "incomplete" and k["epochs_kept"] >= 1,
                        paper="—", where="—", status="check"))
    for n in big:
        out.append(Claim(f"coupling_{n}", f"n = {n}: dispersion of the coupled replicas "
                         f"around ȳ over that of the uncoupled control (γ = ∞), at the end "
                         f"(about 1/sqrt(2ck); no coupling: 1)",
                         coupling_ratio(r, n), lo=0.0, hi=1.0, strict=True,
                         paper="coupled to x̄", where="eq. (21)", status="check"))
    return out


def agreement_frame(r: Result) -> pd.DataFrame:
    """The launches against the simulation, one row per launch (formatted strings)."""
    rows = []
    for key, a in agreement(r).items():
        n = key[0] if isinstance(key, tuple) else key
        rd = max(a["train_loss"], a["spread"], a["xbar_norm"])
        rows.append({"replicas n": n, "nodes": a["nodes"], "sums": a["reduction"],
                     "same gradient counts": "yes" if a["grads"] else "no",
                     "same errors": "yes" if a["error"] else "no",
                     "max rel. diff (loss, spread, |x̄|)": f"{rd:.1e}" if rd else "0",
                     "bit for bit": "yes" if a["equal"] else "no"})
    return pd.DataFrame(rows).set_index("replicas n")


def errors_frame(r: Result) -> pd.DataFrame:
    """Final validation errors of x̄ (%): both forms of (21), the uncoupled control, and
    the gap to SGD at equal gradient evaluations (formatted strings)."""
    sgd = r.elastic[1]["records"]["val_error"][-1] if 1 in r.elastic else math.nan
    ref, other = r.params.reference, contrast_of(r.params.reference)
    rows = []
    for n in sorted(r.contrast):
        e = r.elastic[n]["records"]["val_error"][-1]
        c = r.contrast[n]["records"]["val_error"][-1]
        u = r.uncoupled[n]["records"]["val_error"][-1]
        rows.append({"replicas n": n, f"x̄ = {ref}": f"{e:.1f}", f"x̄ = {other}": f"{c:.1f}",
                     "uncoupled (γ = ∞)": f"{u:.1f}",
                     f"gap to SGD ({ref})": f"{e - sgd:+.1f}"})
    return pd.DataFrame(rows).set_index("replicas n")


def bytes_frame(r: Result) -> pd.DataFrame:
    """Bytes all-reduced per communication, per rank (ring), and per effective epoch."""
    payload = r.n_parameters * 4
    rows = []
    for n in r.params.replicas:
        ring = 2 * (n - 1) / n * payload
        comms = math.ceil(r.spe / n) / r.params.tau
        rows.append({"replicas n": n, "payload per all_reduce": f"{payload / 1e6:.3f} MB",
                     "sent per rank (ring)": f"{ring / 1e6:.3f} MB",
                     "all_reduces per eff. epoch": f"{comms:g}",
                     "sent per rank per eff. epoch": f"{ring * comms / 1e6:.2f} MB"})
    return pd.DataFrame(rows).set_index("replicas n")


COLORS = {1: "#444444", 2: "#1f77b4", 4: "#d62728", 8: "#9467bd", "esgd": "#2ca02c"}


def figure_elastic(r: Result):
    """Validation error of x̄ (left) against effective epochs for SGD (n = 1), Elastic-SGD
    (n > 1; solid: ``reference``, dotted: the other form of (21)) and Entropy-SGD; the
    replicas' dispersion around ȳ (right), coupled and the uncoupled control."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4.2))
    other = contrast_of(r.params.reference)
    for n, run in sorted(r.elastic.items()):
        rec = run["records"]
        label = "SGD (n = 1)" if n == 1 else f"n = {n}, x̄ = {r.params.reference}"
        a.plot(rec["effective_epoch"], rec["val_error"], "o-", color=COLORS.get(n),
               label=label)
        if n > 1:
            b.plot(rec["effective_epoch"], rec["dispersion"], "o-", color=COLORS.get(n),
                   label=f"n = {n}, coupled")
            c = r.contrast[n]["records"]
            a.plot(c["effective_epoch"], c["val_error"], "o:", color=COLORS.get(n),
                   mfc="white", label=f"n = {n}, x̄ = {other}")
            u = r.uncoupled[n]["records"]
            b.plot(u["effective_epoch"], u["dispersion"], "x--", color=COLORS.get(n),
                   label=f"n = {n}, uncoupled")
    rec = r.esgd["records"]
    a.plot(rec["effective_epoch"], rec["val_error"], "s--", color=COLORS["esgd"],
           label=f"Entropy-SGD, L = {r.params.esgd_L}")
    a.set_yscale("log")
    a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.yaxis.set_minor_formatter(NullFormatter())
    curves = [*r.elastic.values(), *r.contrast.values()]
    a.set_yticks([t for t in (2, 3, 5, 10, 20, 50) if
                  min(min(run["records"]["val_error"]) for run in curves) / 1.5
                  <= t <= 1.5 * max(max(run["records"]["val_error"]) for run in curves)])
    a.set_xlabel("effective epochs (all replicas)", fontsize=10)
    a.set_ylabel("validation error of x̄ (%)", fontsize=10)
    a.legend(fontsize=9, ncol=1)
    b.set_xlabel("effective epochs", fontsize=10)
    b.set_ylabel("dispersion: RMS of |yᵢ − ȳ|", fontsize=10)
    b.set_ylim(0, None)
    b.legend(fontsize=9)
    for ax in (a, b):
        ax.tick_params(labelsize=9)
    fig.tight_layout()
    return fig


def figure_scaling(r: Result):
    """Wall time per effective epoch of the torchrun launches against n, with the ideal 1/n
    from n = 1 and this machine's core count."""
    secs = seconds_per_epoch(r)
    if not secs:
        fig, ax = plt.subplots(figsize=(7, 2))
        ax.text(0.5, 0.5, "no torchrun launches in this preset", ha="center", fontsize=10)
        ax.set_axis_off()
        return fig
    ns = sorted(secs)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar([str(n) for n in ns], [secs[n] for n in ns], color=[COLORS.get(n) for n in ns])
    for i, n in enumerate(ns):
        ax.text(i, secs[n], f"{secs[n]:.2f} s", ha="center", va="bottom", fontsize=9)
    if 1 in secs:
        ax.plot([str(n) for n in ns], [secs[1] / n for n in ns], "k--", marker="x",
                label="ideal: time(n = 1) / n")
        ax.legend(fontsize=9)
    if r.killed is not None:
        ax.text(0.02, 0.97, f"replica 1 killed in round {r.killed['round']}: the other "
                f"stopped {r.killed['seconds']:.2f} s later", transform=ax.transAxes,
                va="top", fontsize=9)
    ax.set_title(f"{os.cpu_count()} cores; 1-minute load average up to {r.load:.1f} "
                 f"during the launches", fontsize=9)
    ax.set_ylim(0, 1.25 * max(secs.values()))
    ax.set_xlabel(f"replicas n (processes; this machine has {os.cpu_count()} cores)")
    ax.set_ylabel("wall time per effective epoch (s)")
    ax.tick_params(labelsize=9)
    fig.tight_layout()
    return fig
