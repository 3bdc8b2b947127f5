"""Table 1 (Secs. 8.2-8.3): the experiment definitions, the resumable sweep and the summaries.

One experiment is a (net, algorithm) pair trained for 6 seeds by ``deeprelax.engine``;
its result is ``results/train/<net>-<algorithm>.json``. :func:`table1_rows` reduces each
to the paper's cell "error ± std @ effective epoch" (at the best mean validation error
over the records), and :func:`write_table1_csv` writes ``results/table1.csv`` with the
columns ``net,algorithm,error_mean,error_std,effective_epoch,n_seeds`` (rows of other
nets already in the file are kept).

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

from .data import REPO_ROOT
from .params import ParamError
from .results import RESULTS_DIR, atomic_write, read_json

TRAIN_DIR = RESULTS_DIR / "train"
RUNS_DIR = REPO_ROOT / "runs"
SMOKE_DIR = RUNS_DIR / "smoke"     # fast (smoke) runs never write under results/
AUTO = "auto"                      # results_dir: TRAIN_DIR, or SMOKE_DIR for the fast preset
TABLE1_CSV = RESULTS_DIR / "table1.csv"
CSV_COLUMNS = ("net", "algorithm", "error_mean", "error_std", "effective_epoch", "n_seeds")
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
_MNIST = dict(batch_size=128, seeds=(0, 1, 2, 3, 4, 5), weight_decay=0.0, eval_every=1)

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

    from .data import load_mnist
    from .engine import TensorData
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
    from .engine import TrainParams
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
                         f"deeprelax.table1.register)")
    name = NET_DATASET[net]
    if name not in DATASETS:
        raise ParamError(f"no loader for dataset {name!r}; register one with "
                         f"deeprelax.table1.register")
    kw = SMOKE_DATA if _preset(preset) == "fast" else {}
    key = (name, tuple(sorted(kw.items())))
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = DATASETS[name](**kw)
    return _DATA_CACHE[key]


def result_path(net: str, algorithm: str, results_dir: str | os.PathLike = TRAIN_DIR) -> Path:
    """Where the JSON of one (net, algorithm) lives."""
    return Path(results_dir) / f"{net}-{algorithm}.json"


def default_results_dir(preset: str) -> Path:
    """Where a preset's result JSONs go: results/train (paper), runs/smoke (fast)."""
    return SMOKE_DIR if _preset(preset) == "fast" else TRAIN_DIR


def run(net: str, algorithm: str, preset: str = "paper", device: str = "cpu", *,
        results_dir: str | os.PathLike | None = AUTO,
        runs_dir: str | os.PathLike | None = RUNS_DIR, max_seconds: float | None = None,
        show_progress: bool = True, **overrides: Any) -> dict[str, Any]:
    """Train (or resume, or skip if complete) one Table 1 cell; returns its result record."""
    from . import engine, models
    P = experiment(net, algorithm, preset, device, **overrides)
    if results_dir == AUTO:
        results_dir = default_results_dir(preset)
    out = None if results_dir is None else result_path(net, algorithm, results_dir)
    ckpt = None if runs_dir is None else Path(runs_dir) / f"{net}-{algorithm}-{_preset(preset)}.pt"
    if out is not None and out.is_file():
        old = read_json(out)
        same = {k: v for k, v in old.get("params", {}).items()
                if k not in engine.TrainParams.RUN_CONTROL} == \
            json.loads(json.dumps(P.fingerprint()))
        if old.get("complete") and same:
            return old
    return engine.train(lambda: models.build(net), load_data(net, preset), P, out=out,
                        checkpoint=ckpt, max_seconds=max_seconds,
                        meta={"net": net, "dataset": NET_DATASET[net],
                              "preset": _preset(preset)},
                        show_progress=show_progress)


def sweep(nets=("mnistfc", "lenet"), algorithms=ALGORITHM_ORDER, preset: str = "paper",
          device: str = "cpu", *, max_seconds: float | None = None,
          results_dir: str | os.PathLike | None = AUTO,
          runs_dir: str | os.PathLike | None = RUNS_DIR, show_progress: bool = True,
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
                               show_progress=show_progress, **overrides))
            if not results[-1]["complete"]:
                return results
    return results


# ---- summaries -----------------------------------------------------------------------------
def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Best mean validation error over the records: mean, std (ddof 1), effective epoch, seeds.

    Seeds that diverged are left out (``n_seeds`` counts the others); records without an
    evaluation are skipped.
    """
    keep = [s for s, d in enumerate(result["diverged"]) if d is None]
    if not keep:
        return {"error_mean": math.nan, "error_std": math.nan, "effective_epoch": math.nan,
                "n_seeds": 0, "index": None}
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
                "n_seeds": len(keep), "index": None}
    return {"error_mean": best[0], "error_std": best[1], "effective_epoch": best[2],
            "n_seeds": len(keep), "index": best[3]}


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


def load_results(results_dir: str | os.PathLike = TRAIN_DIR, nets=None,
                 complete_only: bool = True, include_smoke: bool = False
                 ) -> dict[tuple[str, str], dict[str, Any]]:
    """The result records under ``results_dir`` keyed by (net, algorithm)."""
    found = {}
    folder = Path(results_dir)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        rec = read_json(path)
        key = (rec.get("net"), rec.get("algorithm"))
        if None in key or (nets is not None and key[0] not in nets):
            continue
        if complete_only and not rec.get("complete"):
            continue
        if rec.get("preset") in SMOKE_PRESETS and not include_smoke:
            continue                   # a smoke run is a code-path check, never a result
        found[key] = rec
    return found


def table1_rows(results: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ``net,algorithm,error_mean,error_std,effective_epoch,n_seeds`` in paper order."""
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
                     "n_seeds": s["n_seeds"]})
    return rows


def write_table1_csv(rows: list[dict[str, Any]], path: str | os.PathLike = TABLE1_CSV) -> Path:
    """Write/merge ``results/table1.csv`` atomically (rows of other (net, algorithm) are kept)."""
    path = Path(path)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    if path.is_file():
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
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
            w.writerow({c: row[c] for c in CSV_COLUMNS})
    return path


def comparison(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our cells beside the paper's: differences in % points and in units of the combined std."""
    out = []
    for row in rows:
        paper = PAPER_TABLE1.get((row["net"], row["algorithm"]))
        if paper is None:
            continue
        diff = float(row["error_mean"]) - paper[0]
        scale = math.hypot(float(row["error_std"]), paper[1]) or float("nan")
        out.append({**row, "paper_mean": paper[0], "paper_std": paper[1],
                    "paper_epoch": paper[2], "diff": diff, "diff_sigma": diff / scale})
    return out


def total_wall_time(results: dict[tuple[str, str], dict[str, Any]]) -> float:
    """Sum of the runs' wall times in seconds (device time of the sweep)."""
    return sum(float(r.get("wall_time_s", 0.0)) for r in results.values())
