"""Table 1 (Secs. 8.2-8.3): the experiment definitions, the resumable sweep and the summaries.

One experiment is a (net, algorithm) pair trained for 6 seeds by ``deeprelax.train.engine``;
its result is ``results/train/<net>-<algorithm>.json``. :func:`table1_rows` reduces each
to the paper's cell "error ± std @ effective epoch" (at the best mean validation error
over the records), and :func:`write_table1_csv` writes ``results/table1.csv`` with the
columns ``net,algorithm,error_mean,error_std,effective_epoch,n_seeds,n_diverged,note``
(rows of other nets already in the file are kept). A finished LeNet cell also leaves the
final weights of seed 0 in ``results/weights/lenet-<algorithm>-seed0.pt`` (a state_dict;
:func:`export_weights`), which the width-of-minima chapter reads.

What counts as a Table 1 cell (:func:`admission`): a complete run of the ``paper`` preset
whose hyper-parameters are the experiment's paper settings (all six seeds, the full
budget, no override other than run control such as the device or CUDA graphs). A run of
the paper preset with other settings (``--set``, ``--seeds``) is a *custom* run: its
JSON goes to ``runs/custom/<overrides>/`` (never under ``results/``) and its checkpoint
is ``runs/<net>-<algorithm>-custom-<fingerprint>.pt``, so it never blocks the paper run;
:func:`load_results` leaves it out, with the reason, unless asked for it explicitly.
Seeds that diverged (``deeprelax.train.engine``: NaN/inf or a loss above the stated bound) are
left out of a cell's mean and reported (``n_diverged``, ``note``); a run whose seeds all
diverged is not complete and never a cell.

Two presets, as in the chapters and the command line:
``paper`` (the settings below) and ``fast`` (the CPU smoke run: the same code and
settings on a 1,280-image subset for 2 effective epochs; never written under results/).
The chapter pages (tables, Figure 4) are ``deeprelax.chapters.ch08_mnist``.

Hyper-parameters (``EXPERIMENTS``), each with its source:

- SGD: Nesterov 0.9, lr 0.1 × 0.2 at epochs 30 and 60 — the authors' Lua SGD schedule
  for MNIST (the paper does not give the baseline's schedule).
- Entropy-SGD: L = 20, η_y = 0.1, α = 0.75 (Sec. 7.1); β_ex⁻¹ = 2e-8, the authors'
  noise: their std per inner step is ε·√(2η_y) with ε = 1e-4, i.e. β_ex⁻¹ = 2ε² in the
  convention σ = √(η_y β_ex⁻¹) of (32) (the paper prints "β_ex⁻¹ = 10⁸", noise of std
  ≈ 3000 per step; reading only the exponent's sign as a typo, 1e-8, would give std 0.71×
  the authors'); the outer step, momentum and inner loop of the authors' Lua code
  (``outer="lua"``: x ← x − η(x − ⟨y⟩), no outer momentum; ``inner_form="authors"``:
  Nesterov 0.9 on the raw minibatch gradient of each inner step, reset every update, with
  the coupling (y − x)/γ, weight decay and noise added after it), because the paper's
  numbers came from the authors' code, (32)–(33) have no inner momentum at all, and with
  the paper's Sec. 7.4 outer momentum the Lua schedule's η = 1 diverges (a probe recorded
  in the project's implementation notes); γ₀ = 1e4 (coupling 1e-4, the authors' value)
  scoped with γ₁ = 1e-3 (Sec. 7.5); lr schedules of the Lua code for MNIST (mnistfc: 1,
  then 0.1 after 2 epochs; LeNet: 1, 0.1, 0.01 for epochs 1–2, 3–4, 5+), in effective
  epochs. The Lua code spends L + 1 gradients per update (one at x, discarded); an
  update here costs L, the count that effective epochs use (Remark 22).
- HJ: the same (``inner_form="authors"`` too) with L = 5, no noise and the last iterate
  (Sec. 7.2), so that HJ differs from Entropy-SGD only in what Sec. 7.2 changes.
- HEAT: eq. (35) with Nesterov 0.9 on x (Sec. 7.4), L = 20, γ₀ = 1e-4 (the lower end of
  the paper's range; not tuned), lr 0.1 reduced ×0.2 every 3 epochs = 60 effective epochs
  (the Sec. 7.1 rule).
- Budgets: 200 effective epochs for mnistfc and 100 for LeNet (the paper's cells reach
  @200 and @80); batch 128; no weight decay (the paper gives none for MNIST); raw pixels.
"""
from __future__ import annotations

import csv
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from deeprelax.params import ParamError
from deeprelax.paths import (CUSTOM_DIR, RESULTS_DIR, RUNS_DIR, SMOKE_DIR, TABLE1_CSV, TRAIN_DIR,
                             UNIT_RUNS_DIR, UNITS, WEIGHTS_DIR, under)
from deeprelax.results import atomic_write, read_json

AUTO = "auto"                      # results_dir: TRAIN_DIR, or SMOKE_DIR for the fast preset
CSV_COLUMNS = ("net", "algorithm", "error_mean", "error_std", "effective_epoch", "n_seeds",
               "n_diverged", "note")
NET_ORDER = ("mnistfc", "lenet", "allcnn")
ALGORITHM_ORDER = ("entropy-sgd", "heat", "hj", "sgd")
LABELS = {"entropy-sgd": "Entropy-SGD", "heat": "HEAT", "hj": "HJ", "sgd": "SGD",
          "mnistfc": "mnistfc", "lenet": "LeNet", "allcnn": "All-CNN"}

# Table 1 of the paper: validation error (%) mean, std @ effective epochs
PAPER_TABLE1: dict[tuple[str, str], tuple[float, float, int]] = {
    ("mnistfc", "entropy-sgd"): (1.08, 0.02, 120), ("mnistfc", "heat"): (1.13, 0.02, 200),
    ("mnistfc", "hj"): (1.17, 0.04, 200), ("mnistfc", "sgd"): (1.10, 0.01, 194),
    ("lenet", "entropy-sgd"): (0.50, 0.01, 80), ("lenet", "heat"): (0.59, 0.02, 75),
    ("lenet", "hj"): (0.50, 0.01, 70), ("lenet", "sgd"): (0.50, 0.02, 67),
    ("allcnn", "entropy-sgd"): (7.96, 0.05, 160), ("allcnn", "heat"): (9.04, 0.04, 150),
    ("allcnn", "hj"): (7.89, 0.07, 145), ("allcnn", "sgd"): (7.94, 0.06, 195),
}

_SGD = dict(algorithm="sgd", L=1, momentum=0.9,
            lr_schedule=((0, 0.1), (30, 0.02), (60, 0.004)))
_LUA = dict(momentum=0.0, inner_momentum=0.9, outer="lua", inner_form="authors", gamma=1e4,
            gamma_decay=1e-3, lr_y=0.1)
_ESGD = dict(_LUA, algorithm="entropy-sgd", L=20, alpha=0.75, beta_ex_inv=2e-8)  # std ε√(2η_y)
_HJ = dict(_LUA, algorithm="hj", L=5, hj_form="prox")           # inner_form="authors" too
_HEAT = dict(algorithm="heat", L=20, momentum=0.9, gamma=1e-4, gamma_decay=1e-3)
# eval_batch 500: the BN re-estimation pass and the test in batches of 500 (the largest
# activation, LeNet's first convolution, stays below glibc's 32 MiB mmap threshold);
# threads 1: CPU sums in one fixed order, so any machine with the same kernels gives the
# same numbers and several units can run side by side
_MNIST = dict(batch_size=128, seeds=(0, 1, 2, 3, 4, 5), weight_decay=0.0, eval_every=1,
              eval_batch=500, threads=1)

EXPERIMENTS: dict[tuple[str, str], dict[str, Any]] = {
    ("mnistfc", "sgd"): dict(_MNIST, **_SGD, effective_epochs=200),
    ("lenet", "sgd"): dict(_MNIST, **_SGD, effective_epochs=100),
    ("mnistfc", "entropy-sgd"): dict(_MNIST, **_ESGD, effective_epochs=200,
                                     lr_schedule=((0, 1.0), (40, 0.1))),
    ("lenet", "entropy-sgd"): dict(_MNIST, **_ESGD, effective_epochs=100,
                                   lr_schedule=((0, 1.0), (40, 0.1), (80, 0.01))),
    ("mnistfc", "hj"): dict(_MNIST, **_HJ, effective_epochs=200,
                            lr_schedule=((0, 1.0), (40, 0.1))),
    ("lenet", "hj"): dict(_MNIST, **_HJ, effective_epochs=100,
                          lr_schedule=((0, 1.0), (40, 0.1), (80, 0.01))),
    ("mnistfc", "heat"): dict(_MNIST, **_HEAT, effective_epochs=200,
                              lr_schedule=((0, 0.1), (60, 0.02), (120, 0.004), (180, 8e-4))),
    ("lenet", "heat"): dict(_MNIST, **_HEAT, effective_epochs=100,
                            lr_schedule=((0, 0.1), (60, 0.02))),
}

# the fast preset, a CPU smoke run: the same hyper-parameters and code on a 1,280-image
# subset (10 minibatches per effective epoch), 2 seeds, 2 effective epochs: 20 gradient
# evaluations per (net, algorithm), i.e. one Entropy-SGD/HEAT update, four HJ and twenty
# SGD updates
SMOKE = dict(seeds=(0, 1), effective_epochs=2, eval_batch=640)
SMOKE_DATA = dict(n_train=1280, n_test=1000)
PRESETS = ("fast", "paper")
SMOKE_PRESETS = ("fast", "smoke")  # records of smoke runs ('smoke': older records)


def _mnist(n_train: int | None = None, n_test: int | None = None):
    """MNIST as engine tensors: raw pixels 0..255 as float (no normalisation, Sec. 8.1.1)."""
    import torch

    from deeprelax.train.data import load_mnist
    from deeprelax.train.engine import TensorData
    m = load_mnist()
    tx = torch.from_numpy(m.train_images[:n_train].copy()).unsqueeze(1)
    vx = torch.from_numpy(m.test_images[:n_test].copy()).unsqueeze(1)
    return TensorData(tx, torch.from_numpy(m.train_labels[:n_train].copy()), vx,
                      torch.from_numpy(m.test_labels[:n_test].copy()), name="mnist")


DATASETS: dict[str, Callable[..., Any]] = {"mnist": _mnist}
NET_DATASET: dict[str, str] = {"mnistfc": "mnist", "lenet": "mnist"}
_DATA_CACHE: dict[tuple, Any] = {}


def register(net: str, dataset: str, loader: Callable[..., Any] | None = None,
             experiments: dict[str, dict[str, Any]] | None = None) -> None:
    """Add a net (e.g. 'allcnn' on 'cifar10'): its dataset loader and per-algorithm settings."""
    NET_DATASET[net] = dataset
    if loader is not None:
        DATASETS[dataset] = loader
    for algorithm, values in (experiments or {}).items():
        EXPERIMENTS[(net, algorithm)] = values


def _preset(preset: str) -> str:
    if preset not in PRESETS:
        raise ParamError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
    return preset


def experiment(net: str, algorithm: str, preset: str = "paper", device: str = "cpu",
               **overrides: Any):
    """TrainParams of one Table 1 cell (``preset`` 'paper' or 'fast'); overrides win."""
    from deeprelax.train.engine import TrainParams
    if (net, algorithm) not in EXPERIMENTS:
        known = sorted({n for n, _ in EXPERIMENTS})
        raise ParamError(f"no experiment for net={net!r}, algorithm={algorithm!r}; nets: "
                         f"{known}, algorithms: {list(ALGORITHM_ORDER)}")
    values = dict(EXPERIMENTS[(net, algorithm)])
    if _preset(preset) == "fast":
        values.update(SMOKE)
    values["device"] = device
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainParams.checked(**values)


def load_data(net: str, preset: str = "paper"):
    """The dataset of ``net`` as engine tensors (a subset for the fast preset); cached."""
    if net not in NET_DATASET:
        raise ParamError(f"unknown net {net!r}; known: {sorted(NET_DATASET)} (add one with "
                         f"deeprelax.train.table1.register)")
    name = NET_DATASET[net]
    if name not in DATASETS:
        raise ParamError(f"no loader for dataset {name!r}; register one with "
                         f"deeprelax.train.table1.register")
    kw = SMOKE_DATA if _preset(preset) == "fast" else {}
    key = (name, tuple(sorted(kw.items())))
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = DATASETS[name](**kw)
    return _DATA_CACHE[key]


def result_path(net: str, algorithm: str, results_dir: str | os.PathLike = TRAIN_DIR) -> Path:
    """Where the JSON of one (net, algorithm) lives."""
    return Path(results_dir) / f"{net}-{algorithm}.json"


# ---- final weights (the width-of-minima chapter reads them) ---------------------------------
WEIGHTS_NETS = ("lenet",)          # nets whose finished cells leave their final weights
WEIGHTS_SEEDS = (0,)               # ... of these seeds (a state_dict each, 0.5 MB for LeNet)


def weights_path(net: str, algorithm: str, seed: int = 0,
                 folder: str | os.PathLike = WEIGHTS_DIR) -> Path:
    """``<folder>/<net>-<algorithm>-seed<k>.pt``, the file ``deeprelax.train.hessian.load_weights``
    reads (the same name as ``hessian.weights_path``)."""
    return Path(folder) / f"{net}-{algorithm}-seed{seed}.pt"


def weights_folder(results_folder: str | os.PathLike | None, kind: str) -> Path | None:
    """Where :func:`run` puts the final weights of a finished cell: results/weights for
    paper runs in results/train, ``<results folder>/weights`` for paper or fast runs
    elsewhere, none for custom runs (or without a results folder)."""
    if results_folder is None or kind == "custom":
        return None
    if kind == "paper" and Path(results_folder).resolve() == TRAIN_DIR.resolve():
        return WEIGHTS_DIR
    return Path(results_folder) / "weights"


def export_weights(net: str, algorithm: str, checkpoint: str | os.PathLike, P,
                   folder: str | os.PathLike = WEIGHTS_DIR,
                   seeds: tuple[int, ...] = WEIGHTS_SEEDS) -> list[Path]:
    """Write the weights of ``seeds`` held by the verified engine checkpoint of TrainParams
    ``P`` (``engine.read_checkpoint``) as one CPU state_dict per seed, atomically, at
    :func:`weights_path` (``hessian.save_weights``: verified when read); returns the paths."""
    from deeprelax.train import engine, models
    from deeprelax.train.hessian import save_weights
    state = engine.read_checkpoint(checkpoint, P.fingerprint(), map_location="cpu")
    stacked = {**state["params"], **state["buffers"]}
    keys = set(models.build(net).state_dict())
    written = []
    for seed in seeds:
        if seed not in P.seeds:
            raise ParamError(f"seed {seed} is not among the run's seeds {list(P.seeds)}")
        i = list(P.seeds).index(seed)
        one = {k: v[i].detach().cpu().clone() for k, v in stacked.items() if k in keys}
        path = weights_path(net, algorithm, seed, folder)
        save_weights(path, one)          # a header with the SHA-256, checked on load
        written.append(path)
    return written


def check_weights_folder(net: str, kind: str, out: Path | None,
                         weights_dir: str | os.PathLike | None = AUTO) -> Path | None:
    """Before any training: the folder where a finished cell of ``net`` would leave its
    weights (:func:`weights_folder`) is, or can be made, a writable folder (ParamError)."""
    from deeprelax.results import check_dir
    if weights_dir == AUTO:
        weights_dir = weights_folder(None if out is None else out.parent, kind)
    if net not in WEIGHTS_NETS or weights_dir is None:
        return None
    return check_dir(Path(weights_dir), "weights folder")


def _leave_weights(result: dict[str, Any], net: str, algorithm: str, kind: str, P,
                   ckpt: Path | None, out: Path | None,
                   weights_dir: str | os.PathLike | None) -> dict[str, Any]:
    """After a cell: the final weights of its WEIGHTS_SEEDS (not diverged) when it is a
    Table 1 cell (:func:`admission`) or a complete fast run, and nothing under results/
    for any other run; files newer than the checkpoint are kept."""
    if weights_dir == AUTO:
        weights_dir = weights_folder(None if out is None else out.parent, kind)
    admitted = admission(result) is None if kind == "paper" else \
        kind == "fast" and status_of(result) == "complete"
    if net not in WEIGHTS_NETS or weights_dir is None or not admitted or ckpt is None or \
            not ckpt.is_file() or (kind != "paper" and under(weights_dir, RESULTS_DIR)):
        return result
    diverged = dict(zip(result.get("seeds", P.seeds), result.get("diverged", [])))
    todo = tuple(s for s in WEIGHTS_SEEDS if s in P.seeds and diverged.get(s) is None and not (
        weights_path(net, algorithm, s, weights_dir).is_file() and
        weights_path(net, algorithm, s, weights_dir).stat().st_mtime >= ckpt.stat().st_mtime))
    if todo:
        export_weights(net, algorithm, ckpt, P, weights_dir, todo)
    return result


def default_results_dir(preset: str) -> Path:
    """Where a preset's result JSONs go: results/train (paper), runs/smoke (fast)."""
    return SMOKE_DIR if _preset(preset) == "fast" else TRAIN_DIR


def is_paper(P, net: str, algorithm: str) -> bool:
    """True when TrainParams ``P`` are the paper settings of (net, algorithm) up to run
    control (device, CUDA graphs, compile, checkpoint cadence, evaluation batch)."""
    from deeprelax.results import canonical_json
    return canonical_json(P.fingerprint()) == \
        canonical_json(experiment(net, algorithm, "paper").fingerprint())


def custom_tag(overrides: dict[str, Any]) -> str:
    """A folder name for a custom run from its overrides (run control left out), e.g.
    ``effective_epochs=1,seeds=0``; long ones end in a hash."""
    import hashlib
    import re

    from deeprelax.train.engine import TrainParams
    items = sorted((k, v) for k, v in overrides.items()
                   if v is not None and k not in TrainParams.RUN_CONTROL)
    text = ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in items)
    text = re.sub(r"[^A-Za-z0-9=.,+_-]+", "", text.replace("[", "").replace("]", "")) or \
        "custom"
    if len(text) > 60:
        text = text[:48] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return text


def plan(net: str, algorithm: str, preset: str = "paper", device: str = "cpu", *,
         results_dir: str | os.PathLike | None = AUTO,
         runs_dir: str | os.PathLike | None = RUNS_DIR, **overrides: Any):
    """What :func:`run` would do, checked before any work: ``(P, out, checkpoint, kind)``
    with kind 'paper', 'custom' (paper preset, other settings) or 'fast'.

    Folders: 'paper' → results/train, 'fast' → runs/smoke, 'custom' →
    runs/custom/<overrides> (:data:`AUTO`); a custom or fast run is never written under
    results/ (a ParamError). The checkpoint of a custom run carries its fingerprint in its
    name, so it never collides with the paper run's."""
    P = experiment(net, algorithm, preset, device, **overrides)
    kind = "fast" if _preset(preset) == "fast" else \
        "paper" if is_paper(P, net, algorithm) else "custom"
    if results_dir == AUTO:
        results_dir = {"paper": TRAIN_DIR, "fast": SMOKE_DIR,
                       "custom": CUSTOM_DIR / custom_tag(overrides)}[kind]
    elif results_dir is not None and kind != "paper" and under(results_dir, RESULTS_DIR):
        raise ParamError(f"{results_dir} is under {RESULTS_DIR}, which holds paper runs only; "
                         f"this {kind} run of {net} {algorithm} differs from the paper "
                         f"settings: leave out --results-dir (it then goes to "
                         f"{SMOKE_DIR if kind == 'fast' else CUSTOM_DIR}) or give another "
                         f"folder")
    out = None if results_dir is None else result_path(net, algorithm, results_dir)
    name = f"{net}-{algorithm}-{_preset(preset)}" if kind != "custom" else \
        f"{net}-{algorithm}-custom-{P.fingerprint_sha256()[:10]}"
    ckpt = None if runs_dir is None else Path(runs_dir) / f"{name}.pt"
    return P, out, ckpt, kind


def run(net: str, algorithm: str, preset: str = "paper", device: str = "cpu", *,
        results_dir: str | os.PathLike | None = AUTO,
        runs_dir: str | os.PathLike | None = RUNS_DIR, max_seconds: float | None = None,
        show_progress: bool = True, weights_dir: str | os.PathLike | None = AUTO,
        **overrides: Any) -> dict[str, Any]:
    """Train (or resume, or skip if finished) one Table 1 cell; returns its result record.

    Where it goes is :func:`plan`'s: a paper run to results/train, a custom one to
    runs/custom/<overrides>, a fast one to runs/smoke. A finished record with the same
    hyper-parameters (complete, or every seed diverged) is returned without training.
    A finished LeNet cell also leaves the final weights of seed 0 (:func:`weights_folder`:
    results/weights for a Table 1 cell; ``weights_dir=None``: none)."""
    from deeprelax.train import engine, models
    from deeprelax.results import canonical_json
    P, out, ckpt, kind = plan(net, algorithm, preset, device, results_dir=results_dir,
                              runs_dir=runs_dir, **overrides)
    check_weights_folder(net, kind, out, weights_dir)
    if out is not None and out.is_file():
        old = read_json(out)
        problem = record_problem(old)
        if problem is not None:
            from deeprelax.results import ResultError
            raise ResultError(f"{out} is in the way: {problem}. Move or delete it, then run "
                              f"the same command again")
        same = canonical_json({k: v for k, v in old.get("params", {}).items()
                               if k not in engine.TrainParams.RUN_CONTROL}) == \
            canonical_json(P.fingerprint())
        if same and old.get("status", "complete" if old.get("complete") else None) in (
                "complete", "diverged"):
            return _leave_weights(old, net, algorithm, kind, P, ckpt, out, weights_dir)
    result = engine.train(lambda: models.build(net), load_data(net, preset), P, out=out,
                          checkpoint=ckpt, max_seconds=max_seconds,
                          meta={"net": net, "dataset": NET_DATASET[net],
                                "preset": _preset(preset), "kind": kind},
                          show_progress=show_progress)
    return _leave_weights(result, net, algorithm, kind, P, ckpt, out, weights_dir)


def sweep(nets=("mnistfc", "lenet"), algorithms=ALGORITHM_ORDER, preset: str = "paper",
          device: str = "cpu", *, max_seconds: float | None = None,
          results_dir: str | os.PathLike | None = AUTO,
          runs_dir: str | os.PathLike | None = RUNS_DIR, show_progress: bool = True,
          weights_dir: str | os.PathLike | None = AUTO,
          **overrides: Any) -> list[dict[str, Any]]:
    """Run every (net, algorithm) in turn within ``max_seconds``; rerun to continue."""
    start = time.perf_counter()
    results = []
    for net in nets:
        for algorithm in algorithms:
            left = None if max_seconds is None else max_seconds - (time.perf_counter() - start)
            if left is not None and left <= 0:
                return results
            results.append(run(net, algorithm, preset, device, results_dir=results_dir,
                               runs_dir=runs_dir, max_seconds=left,
                               show_progress=show_progress, weights_dir=weights_dir,
                               **overrides))
            if status_of(results[-1]) == "incomplete":      # out of time: rerun to continue
                return results
    return results


def status_of(result: dict[str, Any]) -> str:
    """'complete', 'diverged' (every seed) or 'incomplete' (records before ``status``
    existed: from ``complete``)."""
    return result.get("status") or ("complete" if result.get("complete") else "incomplete")


def diverged_notes(result: dict[str, Any]) -> list[str]:
    """One line per diverged seed: which, when, why."""
    seeds = result.get("seeds") or list(range(len(result["diverged"])))
    return [f"seed {seed} diverged at effective epoch {d['effective_epoch']:.2f}: "
            f"{d['reason']}" for seed, d in zip(seeds, result["diverged"]) if d is not None]


# ---- summaries -----------------------------------------------------------------------------
def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Best mean validation error over the records: mean, std (ddof 1), effective epoch, seeds.

    Seeds that diverged are left out (``n_seeds`` counts the others, ``n_diverged`` them);
    records without an evaluation are skipped. Without a seed or an evaluation left the
    numbers are NaN and ``index`` None: no cell (:func:`admission` refuses such a run).
    """
    keep = [s for s, d in enumerate(result["diverged"]) if d is None]
    n_div = len(result["diverged"]) - len(keep)
    if not keep:
        return {"error_mean": math.nan, "error_std": math.nan, "effective_epoch": math.nan,
                "n_seeds": 0, "n_diverged": n_div, "index": None}
    best = None
    for k, epoch in enumerate(result["effective_epoch"]):
        errs = [result["val_error"][s][k] for s in keep]
        if any(e is None for e in errs):
            continue
        mean = statistics.fmean(errs)
        if best is None or mean < best[0]:
            std = statistics.stdev(errs) if len(errs) > 1 else 0.0
            best = (mean, std, epoch, k)
    if best is None:
        return {"error_mean": math.nan, "error_std": math.nan, "effective_epoch": math.nan,
                "n_seeds": len(keep), "n_diverged": n_div, "index": None}
    return {"error_mean": best[0], "error_std": best[1], "effective_epoch": best[2],
            "n_seeds": len(keep), "n_diverged": n_div, "index": best[3]}


def curves(result: dict[str, Any]) -> dict[str, list[float]]:
    """Mean and std over the non-diverged seeds of validation error per evaluated record."""
    keep = [s for s, d in enumerate(result["diverged"]) if d is None]
    out = {"effective_epoch": [], "mean": [], "std": [], "train_loss": []}
    for k, epoch in enumerate(result["effective_epoch"]):
        errs = [result["val_error"][s][k] for s in keep]
        if not keep or any(e is None for e in errs):
            continue
        out["effective_epoch"].append(epoch)
        out["mean"].append(statistics.fmean(errs))
        out["std"].append(statistics.stdev(errs) if len(errs) > 1 else 0.0)
        out["train_loss"].append(statistics.fmean(result["train_loss"][s][k] for s in keep))
    return out


def record_problem(result: Any) -> str | None:
    """None when ``result`` has the shape of an engine result record (per-seed curves as
    long as the records, one ``diverged`` entry per seed), else what is wrong (one line).
    A JSON file that is not such a record is refused with this, never a traceback."""
    if not isinstance(result, dict):
        return f"a JSON {type(result).__name__}, not a result record"
    for key, kind in (("algorithm", str), ("params", dict), ("seeds", list),
                      ("effective_epoch", list), ("grads", list), ("train_loss", list),
                      ("val_error", list), ("diverged", list)):
        if not isinstance(result.get(key), kind):
            return f"not a result record: '{key}' is missing or not a {kind.__name__}"
    S, K = len(result["seeds"]), len(result["effective_epoch"])
    if not S or len(result["diverged"]) != S or len(result["train_loss"]) != S or \
            len(result["val_error"]) != S:
        return f"a damaged record: {S} seeds but per-seed lists of other lengths"
    if len(result["grads"]) != K or any(not isinstance(row, list) or len(row) != K for row in
                                        result["train_loss"] + result["val_error"]):
        return f"a damaged record: curves of a length other than its {K} records"
    if any(not isinstance(e, (int, float)) for e in result["effective_epoch"]) or \
            any(b <= a for a, b in zip(result["effective_epoch"], result["effective_epoch"][1:])):
        return "a damaged record: effective epochs not increasing numbers"
    return None


def budget_status(result: dict[str, Any]) -> str:
    """The status the records themselves show (never the stored field alone): 'diverged'
    when every seed diverged, 'complete' when the records reach the budget, else
    'incomplete'."""
    if all(d is not None for d in result["diverged"]):
        return "diverged"
    budget = result["params"].get("effective_epochs")
    last = result["effective_epoch"][-1] if result["effective_epoch"] else 0.0
    return "complete" if isinstance(budget, (int, float)) and last >= budget - 1e-9 \
        else "incomplete"


def settings_difference(params: dict[str, Any], net: str, alg: str,
                        ignore: tuple[str, ...] = ()) -> list[str]:
    """The hyper-parameters (run control and ``ignore`` aside) in which stored ``params``
    differ from the paper settings of (net, alg), one 'name ours (paper: theirs)' each."""
    from deeprelax.train.engine import TrainParams
    from deeprelax.results import canonical_json
    skip = set(TrainParams.RUN_CONTROL) | set(ignore)
    theirs = json.loads(canonical_json({k: v for k, v in params.items() if k not in skip}))
    paper = json.loads(canonical_json({k: v for k, v in experiment(
        net, alg, "paper").fingerprint().items() if k not in skip}))
    return [f"{k} {_short(theirs.get(k, '(absent)'))} (paper: {_short(paper.get(k, '(absent)'))})"
            for k in sorted(set(theirs) | set(paper)) if theirs.get(k) != paper.get(k)]


def _settings_and_status(result: dict[str, Any], net: str, alg: str,
                         ignore: tuple[str, ...] = ()) -> str | None:
    """Why ``result`` is refused for its settings (not the paper's, ``ignore`` aside) or
    for a stored status its records contradict; None when neither."""
    diff = settings_difference(result["params"], net, alg, ignore)
    if diff:
        return "not the paper settings: " + "; ".join(diff)
    status = budget_status(result)
    if status != status_of(result):
        return (f"its stored status {status_of(result)!r} disagrees with its records "
                f"({status}): an edited or damaged record")
    return None


def admission(result: dict[str, Any]) -> str | None:
    """None when ``result`` is a Table 1 cell, else why not (one line).

    A cell is a complete run of the ``paper`` preset whose stored hyper-parameters equal
    the experiment's paper settings up to run control (all seeds, full budget, no
    override), with at least one seed left and evaluated. Completeness is read from the
    records (they must reach the budget), not from the stored ``status``; a cell assembled
    from single-seed units (:func:`assemble_cell`) is checked the same way."""
    why = record_problem(result)
    if why is not None:
        return why
    net, alg = result.get("net"), result.get("algorithm")
    preset = result.get("preset")
    if preset != "paper":
        return f"a {preset!r}-preset run (a code-path check, not a result)"
    if (net, alg) not in EXPERIMENTS:
        return f"no paper experiment for {net} {alg}"
    why = _settings_and_status(result, net, alg)
    if why is not None:
        return why
    status = budget_status(result)
    if status == "diverged":
        notes = diverged_notes(result)
        return f"every seed diverged ({notes[0] if notes else 'no reason stored'})"
    if status != "complete":
        return "incomplete: run the same command again to continue"
    if summarize(result)["index"] is None:
        return "no evaluated record of a seed that did not diverge"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


# ---- single-seed units (the CPU campaign) -------------------------------------------------


def unit_path(net: str, algorithm: str, seed: int,
              results_dir: str | os.PathLike = TRAIN_DIR) -> Path:
    """The record of one seed of one cell trained alone (a campaign unit)."""
    return Path(results_dir) / UNITS / f"{net}-{algorithm}-seed{seed}.json"


def unit_checkpoint(net: str, algorithm: str, seed: int,
                    runs_dir: str | os.PathLike = UNIT_RUNS_DIR) -> Path:
    """The checkpoint of a unit (under runs/, never results/)."""
    return Path(runs_dir) / f"{net}-{algorithm}-seed{seed}.pt"


def unit_params(net: str, algorithm: str, seed: int, device: str = "cpu"):
    """TrainParams of a unit: the paper settings of the cell with ``seeds=(seed,)``."""
    P = experiment(net, algorithm, "paper", device)
    if seed not in P.seeds:
        raise ParamError(f"seed {seed} is not one of the paper's seeds {list(P.seeds)}")
    return experiment(net, algorithm, "paper", device, seeds=(seed,))


def unit_admission(result: Any, net: str, algorithm: str, seed: int) -> str | None:
    """None when ``result`` is a finished unit of (net, algorithm, seed): one seed, the
    paper settings apart from the seed, records that reach the budget (or a diverged
    seed), a stored status that agrees with them. Seeds trained alone equal seeds
    trained together bit for bit on the CPU (the engine's loop; tested), so six such
    units make a cell."""
    why = record_problem(result)
    if why is not None:
        return why
    if (result.get("net"), result.get("algorithm"), result.get("preset")) != \
            (net, algorithm, "paper"):
        return (f"not a paper unit of {net} {algorithm} (it is {result.get('net')} "
                f"{result.get('algorithm')}, preset {result.get('preset')!r})")
    if result["seeds"] != [seed]:
        return f"holds seeds {result['seeds']}, not [{seed}]"
    why = _settings_and_status(result, net, algorithm, ignore=("seeds",))
    if why is not None:
        return why
    if budget_status(result) == "incomplete":
        return "incomplete: the campaign continues it"
    return None


def read_units(net: str, algorithm: str, results_dir: str | os.PathLike = TRAIN_DIR,
               refused: list | None = None) -> dict[int, dict[str, Any]]:
    """The finished, verified units of a cell keyed by seed (checksums required); files
    refused are appended to ``refused`` as (path, reason)."""
    from deeprelax.results import ResultError
    found = {}
    for seed in EXPERIMENTS[(net, algorithm)]["seeds"]:
        path = unit_path(net, algorithm, seed, results_dir)
        if not path.is_file():
            continue
        try:
            rec = read_json(path, require_checksum=True)
        except ResultError as err:
            why = str(err)
        else:
            why = unit_admission(rec, net, algorithm, seed)
        if why is None:
            found[seed] = rec
        elif refused is not None:
            refused.append((path, why))
    return found


def assemble_cell(units: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One cell record from finished units (seed → record), in seed order: the seeds'
    curves side by side, a diverged seed's padded with None after it stopped, the wall
    times summed, and each unit's provenance under ``units``."""
    seeds = sorted(units)
    recs = [units[s] for s in seeds]
    longest = max(recs, key=lambda r: len(r["effective_epoch"]))
    K = len(longest["effective_epoch"])
    for r in recs:
        if r["effective_epoch"] != longest["effective_epoch"][:len(r["effective_epoch"])]:
            raise ParamError(f"units of {r.get('net')} {r['algorithm']} record different "
                             f"effective epochs; they are not one experiment")

    def padded(r, key):
        row = r[key][0]
        return row + [None] * (K - len(row))
    params = dict(longest["params"], seeds=seeds)
    from deeprelax.train.engine import TrainParams
    P = TrainParams.checked(**{k: v for k, v in params.items()})
    first = recs[0]
    out = {k: first[k] for k in ("schema", "net", "dataset", "algorithm", "L",
                                 "steps_per_effective_epoch", "n_train", "n_test",
                                 "n_parameters", "loss_bound", "n_classes") if k in first}
    status = "diverged" if all(r["diverged"][0] is not None for r in recs) else \
        "complete" if all(status_of(r) in ("complete", "diverged") for r in recs) else \
        "incomplete"
    out.update({
        "preset": "paper", "kind": "paper", "assembled_from": UNITS,
        "complete": status == "complete", "status": status, "seeds": seeds,
        "params": P.as_dict(), "fingerprint_sha256": P.fingerprint_sha256(),
        "effective_epoch": longest["effective_epoch"], "grads": longest["grads"],
        "lr": longest.get("lr"), "gamma": longest.get("gamma"),
        "train_loss": [padded(r, "train_loss") for r in recs],
        "val_error": [padded(r, "val_error") for r in recs],
        "diverged": [r["diverged"][0] for r in recs],
        "wall_time_s": sum(float(r.get("wall_time_s", 0.0)) for r in recs),
        "units": [{"seed": s, "wall_time_s": r.get("wall_time_s"),
                   **{k: (r.get("provenance") or {}).get(k) for k in (
                       "git_sha", "device", "device_name", "cpu", "cpu_capability",
                       "threads", "host", "time_utc", "versions")}}
                  for s, r in zip(seeds, recs)],
    })
    return out


def cell_units(results_dir: str | os.PathLike = TRAIN_DIR, nets=None,
               refused: list | None = None) -> dict[tuple[str, str], dict[int, dict]]:
    """Finished units per cell under ``results_dir``/units (verified; see :func:`read_units`)."""
    out = {}
    if not (Path(results_dir) / UNITS).is_dir():
        return out
    for (net, alg) in EXPERIMENTS:
        if net in NET_DATASET and NET_DATASET[net] == "mnist" and (nets is None or net in nets):
            units = read_units(net, alg, results_dir, refused)
            if units:
                out[(net, alg)] = units
    return out


def load_results(results_dir: str | os.PathLike = TRAIN_DIR, nets=None,
                 complete_only: bool = True, include_smoke: bool = False,
                 include_custom: bool = False, refused: list | None = None
                 ) -> dict[tuple[str, str], dict[str, Any]]:
    """The Table 1 cells under ``results_dir`` keyed by (net, algorithm): records that
    :func:`admission` accepts.

    Asked for explicitly: ``include_smoke`` adds complete fast-preset runs,
    ``include_custom`` any other complete run (custom settings); ``complete_only=False``
    adds incomplete runs as well. Records left out are appended to ``refused`` (when
    given) as ``(path, reason)``."""
    from deeprelax.results import ResultError
    found = {}
    folder = Path(results_dir)
    if not folder.is_dir():
        return found
    for key, units in cell_units(folder, nets, refused).items():
        seeds = EXPERIMENTS[key]["seeds"]
        if len(units) == len(seeds):
            rec = assemble_cell(units)
            why = admission(rec)
            if why is None:
                found[key] = rec
                continue
        else:
            why = (f"{len(units)} of {len(seeds)} seeds finished (units "
                   f"{sorted(units)}); the campaign continues")
        if refused is not None:
            refused.append((folder / UNITS / f"{key[0]}-{key[1]}-seed*.json", why))
    for path in sorted(folder.glob("*.json")):
        try:
            rec = read_json(path, require_checksum=True)
        except ResultError as err:
            if refused is not None:
                refused.append((path, str(err)))
            continue
        problem = record_problem(rec)
        if problem is not None:
            if refused is not None:
                refused.append((path, problem))
            continue
        key = (rec.get("net"), rec.get("algorithm"))
        if None in key or (nets is not None and key[0] not in nets) or key in found:
            continue
        why = admission(rec)
        smoke = rec.get("preset") in SMOKE_PRESETS
        done = status_of(rec) == "complete"
        if why is None or ((done or not complete_only) and (
                (include_smoke and smoke) or (include_custom and not smoke))):
            found[key] = rec
        elif refused is not None:
            refused.append((path, why))
    return found


def table1_rows(results: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ``net,algorithm,error_mean,error_std,effective_epoch,n_seeds,n_diverged,note``
    in paper order; the note names the diverged seeds (left out of the mean) and, for a
    record that is not a Table 1 cell (included on request), why not."""
    def order(key):
        net, alg = key
        return (NET_ORDER.index(net) if net in NET_ORDER else 99,
                ALGORITHM_ORDER.index(alg) if alg in ALGORITHM_ORDER else 99, key)
    rows = []
    for key in sorted(results, key=order):
        s = summarize(results[key])
        rows.append({"net": key[0], "algorithm": key[1], "error_mean": s["error_mean"],
                     "error_std": s["error_std"],
                     "effective_epoch": s["effective_epoch"] if math.isnan(
                         s["effective_epoch"]) else round(s["effective_epoch"]),
                     "n_seeds": s["n_seeds"], "n_diverged": s["n_diverged"],
                     "note": _note(results[key], s)})
    return rows


def _note(result: dict[str, Any], s: dict[str, Any]) -> str:
    parts = []
    why = admission(result) if "preset" in result else None
    if why is not None:
        parts.append(f"{NOT_A_CELL}: {why}")
    if s["n_diverged"]:
        n = s["n_diverged"]
        parts.append(f"{n} of {n + s['n_seeds']} seeds diverged, left out of the mean: "
                     + "; ".join(diverged_notes(result)))
    return " | ".join(parts)


NOT_A_CELL = "NOT A TABLE 1 CELL"


def write_table1_csv(rows: list[dict[str, Any]], path: str | os.PathLike = TABLE1_CSV) -> Path:
    """Write/merge ``results/table1.csv`` atomically (rows of other (net, algorithm) are kept).

    A table under ``results/`` holds Table 1 cells only: a row marked "NOT A TABLE 1
    CELL" (a smoke or custom run included on request) is refused there (ParamError), and
    such rows already in the file are dropped."""
    path = Path(path)
    official = under(path.parent, RESULTS_DIR)
    bad = [f"{r['net']} {r['algorithm']}" for r in rows if NOT_A_CELL in str(r.get("note"))]
    if official and bad:
        raise ParamError(f"{path} is under {RESULTS_DIR}, which holds Table 1 cells only; "
                         f"{', '.join(bad)} are not: write them to a --csv elsewhere")
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    if path.is_file():
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                if not (official and NOT_A_CELL in str(row.get("note"))):
                    merged[(row["net"], row["algorithm"])] = row
    for row in rows:
        merged[(row["net"], row["algorithm"])] = row
    keys = sorted(merged, key=lambda k: (NET_ORDER.index(k[0]) if k[0] in NET_ORDER else 99,
                                         ALGORITHM_ORDER.index(k[1]) if k[1] in
                                         ALGORITHM_ORDER else 99, k))
    with atomic_write(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for k in keys:
            row = dict(merged[k])
            for col in ("error_mean", "error_std"):
                v = row[col]
                row[col] = f"{float(v):.4f}" if v not in ("", None) else ""
            w.writerow({c: row.get(c, "") for c in CSV_COLUMNS})
    return path


def comparison(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our cells beside the paper's: differences in % points and in units of the combined std."""
    out = []
    for row in rows:
        paper = PAPER_TABLE1.get((row["net"], row["algorithm"]))
        if paper is None or not math.isfinite(float(row["error_mean"])):
            continue                                   # no number, no comparison
        diff = float(row["error_mean"]) - paper[0]
        scale = math.hypot(float(row["error_std"]), paper[1]) or float("nan")
        out.append({**row, "paper_mean": paper[0], "paper_std": paper[1],
                    "paper_epoch": paper[2], "diff": diff, "diff_sigma": diff / scale})
    return out


def total_wall_time(results: dict[tuple[str, str], dict[str, Any]]) -> float:
    """Sum of the runs' wall times in seconds (device time of the sweep)."""
    return sum(float(r.get("wall_time_s", 0.0)) for r in results.values())
