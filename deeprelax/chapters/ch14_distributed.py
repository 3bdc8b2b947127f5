"""Chapter 14 (Sec. 4.3, eqs. (21)-(22), Remark 22): Elastic-SGD across processes on a real net.

Elastic-SGD with n = 1, 2, 4 replicas of LeNet on MNIST (a subset in the fast preset),
beside SGD and Entropy-SGD at equal gradient evaluations (Remark 22): the validation
error of the reference x̄ and the replicas' spread around it. The curves come from the
single-process simulation of the replicas (``distributed.simulate``); the same runs are
launched with torchrun (``distributed.launch_local``: one machine, and two local 'nodes'
with a c10d rendezvous on 127.0.0.1) and compared number for number, and their wall time
per effective epoch against n shows what this machine's cores allow.
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

from .. import distributed as D
from ..claims import Claim, fact
from ..params import Params as BaseParams, knob


@dataclass(frozen=True)
class Params(BaseParams):
    """The runs of the chapter: data, budget, replicas, coupling, launches."""

    net: str = knob("lenet", choices=D.NETS, doc="network of Sec. 8.2")
    n_train: int = knob(2560, lo=0, hi=60_000, doc="training images, a prefix (0: all)")
    n_test: int = knob(1000, lo=0, hi=10_000, doc="validation images (0: all)")
    effective_epochs: int = knob(4, lo=1, hi=1000, doc="budget of every curve (Remark 22)")
    replicas: tuple[int, ...] = knob((1, 2, 4), doc="Elastic-SGD replica counts n")
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


def elastic_params(p: Params) -> D.ElasticParams:
    """The Elastic-SGD runs: Nesterov SGD replicas, x̄ the replicas' mean (eq. (21))."""
    sched = ((0, 0.1),) if p.effective_epochs < 30 else ((0, 0.1), (30, 0.02), (60, 0.004))
    return D.params_for("fast", net=p.net, n_train=p.n_train, n_test=p.n_test,
                        effective_epochs=p.effective_epochs, lr_schedule=sched,
                        gamma=p.gamma, tau=p.tau, bn_batches=p.bn_batches, seed=p.seed,
                        device=p.device)


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
    elastic: dict          # n -> result record of distributed.simulate
    esgd: dict             # Entropy-SGD (Parle, n = 1)
    launches: dict         # n -> rank 0's JSON of a torchrun launch (n = 2: two local nodes)
    n_parameters: int
    spe: int               # gradient evaluations per effective epoch
    killed: dict | None = None   # the n = 2 launch killed in kill_round, then resumed
    load: float = math.nan       # largest 1-minute load average seen around the launches


def compute(p: Params) -> Result:
    """Simulate Elastic-SGD for every n and Entropy-SGD; launch the same runs with torchrun."""
    E = elastic_params(p)
    data = D.load_data(E)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)               # as each launched process (OMP_NUM_THREADS=1)
    try:
        elastic = {n: D.simulate(E, n, data) for n in p.replicas}
        esgd = D.simulate(esgd_params(p), 1, data)
    finally:
        torch.set_num_threads(threads)
    launches = {}
    short = D.ElasticParams.checked(**{**E.as_dict(), "effective_epochs": p.launch_epochs,
                                       "device": "cpu"})
    killed = None
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for n in p.launch_replicas:
            nodes = 2 if n == 2 else 1
            out = Path(tmp) / f"n{n}.json"
            if n == 2 and p.kill_round:
                part = D.launch_local(short, 1, out, nnodes=2, check=False,
                                      env={D.FAULT_ENV: f"1:{p.kill_round}"})
                fault = float(Path(f"{out}.fault").read_text())
                killed = {"exit": part["launch_exit"], "messages": part["launch_stderr"],
                          "status": part["status"], "error": part.get("error", ""),
                          "seconds": part.get("error_time_unix", math.nan) - fault,
                          "epochs_kept": len(part["records"]["grads"]),
                          "round": p.kill_round}
            launches[n] = D.launch_local(short, n // nodes, out, nnodes=nodes)
            load.append(os.getloadavg()[0])
    any_run = next(iter(elastic.values()))
    return Result(p, elastic, esgd, launches, any_run["n_parameters"],
                  any_run["steps_per_effective_epoch"], killed, max(load))


def _rel_diff(a: list, b: list) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def agreement(r: Result) -> dict[int, dict]:
    """Per launch: largest relative difference from the simulation over the common records."""
    out = {}
    for n, run in r.launches.items():
        ref = r.elastic.get(n)
        if ref is None:
            continue
        m = len(run["records"]["grads"])
        a, b = run["records"], {k: v[:m] for k, v in ref["records"].items()}
        out[n] = {"grads": a["grads"] == b["grads"],
                  "loss": _rel_diff(a["train_loss"], b["train_loss"]),
                  "spread": _rel_diff(a["spread"], b["spread"]) if n > 1 else
                  float(max(a["spread"]) + max(b["spread"])),
                  "error": a["val_error"] == b["val_error"],
                  "nodes": run["launch"]["nnodes"], "backend": run["launch"]["backend"]}
    return out


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


def measures(r: Result) -> dict[str, float]:
    """The prose's numbers: final errors, spreads, gaps, agreement."""
    m: dict[str, float] = {}
    sgd = r.elastic[min(r.elastic)]["records"]
    for n, run in r.elastic.items():
        rec = run["records"]
        m[f"err_{n}"] = rec["val_error"][-1]
        m[f"spread_{n}"] = rec["spread"][-1]
        m[f"rel_spread_max_{n}"] = max(s / x for s, x in zip(rec["spread"], rec["xbar_norm"]))
        m[f"gap_{n}"] = rec["val_error"][-1] - sgd["val_error"][-1]
        m[f"gap0_{n}"] = rec["val_error"][0] - sgd["val_error"][0]
    m["err_esgd"] = r.esgd["records"]["val_error"][-1]
    m["xbar_norm"] = r.elastic[max(r.elastic)]["records"]["xbar_norm"][-1]
    m["spe"] = r.spe
    m["n_parameters"] = r.n_parameters
    m["grads_total"] = sgd["grads"][-1]
    m["payload_bytes"] = r.n_parameters * 4
    m["rounds_per_epoch_max_n"] = r.spe / max(r.elastic)
    ag = agreement(r)
    m["launch_max_rel"] = max((a["loss"] for a in ag.values()), default=0.0)
    return m


def prose_numbers(r: Result) -> dict[str, float]:
    """Numbers quoted in the prose that are not claims (claims are glued by ``report``)."""
    names = {c.name for c in claims(r)}
    return {k: v for k, v in measures(r).items() if k not in names}


def claims(r: Result) -> list[Claim]:
    """The chapter's checks: the reduction to SGD, the bookkeeping, the launches, the curves."""
    m, ag = measures(r), agreement(r)
    ns = sorted(r.elastic)
    big = [n for n in ns if n > 1]
    grads = [tuple(run["records"]["grads"]) for run in r.elastic.values()]
    out = [
        fact("one_replica_no_spread", "with n = 1 the replica is x̄: its spread is 0 at "
             "every record (Elastic-SGD is SGD)",
             all(s == 0.0 for s in r.elastic[1]["records"]["spread"]) if 1 in r.elastic
             else True, paper="n_p = 1: SGD", where="eq. (21)"),
        fact("equal_gradients", "every curve is recorded at the same gradient counts, "
             "summed over all replicas", len(set(grads + [tuple(r.esgd["records"]["grads"])]))
             == 1, paper="effective epochs", where="Remark 22"),
    ]
    exact = [n for n in ag if n <= 2]
    if exact:
        out.append(fact("launch_exact", "the torchrun launch with n = 2 (two local nodes; "
                        "killed and resumed) gives the simulation's records exactly",
                        all(ag[n]["grads"] and ag[n]["error"] and ag[n]["loss"] == 0.0
                            and (ag[n]["spread"] == 0.0) for n in exact),
                        paper="—", where="Sec. 4.3"))
    rest = [n for n in ag if n > 2]
    if rest:
        out.append(Claim("launch_rel_diff", "torchrun launches with n > 2 agree with the "
                         "simulation up to the order of the all_reduce sums (float32, "
                         "relative)", max(max(ag[n]["loss"], ag[n]["spread"]) for n in rest),
                         hi=1e-5, paper="—", where="Sec. 4.3"))
    k = r.killed
    if k is not None:
        timeout = elastic_params(r.params).timeout_s
        out.append(fact("kill_one_message", f"replica 1 killed in round {k['round']}: the "
                        f"other stops with one 'replica lost' message within the "
                        f"{timeout:g} s process-group timeout; the JSON keeps its records",
                        len(k["messages"]) == 1 and "replica lost" in k["messages"][0]
                        and 0 <= k["seconds"] <= timeout and k["status"] == "incomplete"
                        and k["epochs_kept"] >= 1 and all(e != 0 for e in k["exit"]),
                        paper="—", where="—"))
    for n in big:
        out.append(Claim(f"rel_spread_max_{n}", f"n = {n}: the replicas stay close to x̄ "
                         f"(largest spread / |x̄|)", m[f"rel_spread_max_{n}"], lo=0.0,
                         hi=0.2, strict=True, paper="coupled to ȳ", where="eq. (21)"))
        out.append(Claim(f"gap_{n}", f"n = {n}: validation error of x̄ minus SGD's at equal "
                         f"gradient evaluations, at the end (points)", m[f"gap_{n}"],
                         -5.0, 5.0, paper="equivalent", where="Sec. 4.3"))
        out.append(fact(f"catch_up_{n}", f"n = {n}: the gap to SGD is smaller at the end "
                        f"than at the first record", abs(m[f"gap_{n}"]) <
                        abs(m[f"gap0_{n}"]), paper="—", where="Sec. 4.3"))
    if len(big) >= 2:
        out.append(fact("spread_grows_with_n", f"more replicas spread more around x̄ (n = "
                        f"{big[-1]} against n = {big[0]} at the end)",
                        m[f"spread_{big[-1]}"] > m[f"spread_{big[0]}"], paper="—",
                        where="eq. (21)"))
    if big:
        out.append(Claim("gap_esgd", f"n = {big[0]}: validation error of x̄ minus "
                         f"Entropy-SGD's at equal gradient evaluations, at the end (points)",
                         m[f"err_{big[0]}"] - m["err_esgd"], -5.0, 5.0,
                         paper="Elastic-SGD ≡ local entropy", where="Sec. 4.3"))
    return out


def agreement_frame(r: Result) -> pd.DataFrame:
    """The launches against the simulation, one row per n (formatted strings)."""
    rows = []
    for n, a in sorted(agreement(r).items()):
        rows.append({"replicas n": n, "nodes": a["nodes"], "backend": a["backend"],
                     "same gradient counts": "yes" if a["grads"] else "no",
                     "max rel. diff, loss": f"{a['loss']:.0e}" if a["loss"] else "0",
                     "max rel. diff, spread": f"{a['spread']:.0e}" if a["spread"] else "0",
                     "same errors": "yes" if a["error"] else "no"})
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
    """Validation error of x̄ (left) and the replicas' spread around x̄ (right) against
    effective epochs, for SGD (n = 1), Elastic-SGD (n > 1) and Entropy-SGD."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.8))
    for n, run in sorted(r.elastic.items()):
        rec = run["records"]
        label = "SGD (n = 1)" if n == 1 else f"Elastic-SGD, n = {n}"
        a.plot(rec["effective_epoch"], rec["val_error"], "o-", color=COLORS.get(n),
               label=label)
        if n > 1:
            b.plot(rec["effective_epoch"], rec["spread"], "o-", color=COLORS.get(n),
                   label=f"n = {n}")
    rec = r.esgd["records"]
    a.plot(rec["effective_epoch"], rec["val_error"], "s--", color=COLORS["esgd"],
           label=f"Entropy-SGD, L = {r.params.esgd_L}")
    a.set_yscale("log")
    a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.yaxis.set_minor_formatter(NullFormatter())
    a.set_yticks([t for t in (2, 3, 5, 10, 20, 50) if
                  min(min(run["records"]["val_error"]) for run in r.elastic.values()) / 1.5
                  <= t <= 1.5 * max(max(run["records"]["val_error"])
                                    for run in r.elastic.values())])
    a.set_xlabel("effective epochs (all replicas)", fontsize=10)
    a.set_ylabel("validation error of x̄ (%)", fontsize=10)
    a.legend(fontsize=9)
    b.set_xlabel("effective epochs", fontsize=10)
    b.set_ylabel("spread: RMS of |yᵢ − x̄|", fontsize=10)
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
