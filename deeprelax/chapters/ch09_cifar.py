"""Sec. 8.3: the All-CNN row of Table 1 and Figure 5 on CIFAR-10, through ``deeprelax.table1``.

This module only adds CIFAR-10 to the MNIST machinery: it registers the net ``allcnn``
(``deeprelax.models.allcnn``, All-CNN-C + BN) with a GCN+ZCA-whitened CIFAR-10 loader and
per-algorithm hyper-parameters (``deeprelax.table1.register``); training is
``deeprelax.table1.run`` / ``sweep`` → ``deeprelax.engine.train`` (no loop of its own).

Data sets (``use_data``): ``cifar10`` — the full 50,000/10,000 images, md5-checked, from
``data_dir`` or $DEEPRELAX_DATA (results in ``results/train/``, rows of Table 1);
``cifar10-subset`` — the genuine-bytes SUBSET (5,438/1,017 images), a small-data
experiment whose results live apart, in ``results/cifar10-subset/``, never in Table 1.

Hyper-parameters (``EXPERIMENTS``) and their sources (the paper gives few for All-CNN):

- all: batch 128, 6 seeds, weight decay 1e-3 (the authors' All-CNN setting, implementation
  notes; applied by every optimizer, also SGD), GCN+ZCA inputs, no augmentation (Sec. 8.1.1),
  BN statistics re-estimated on the whole training set before each evaluation, one
  evaluation every 5 effective epochs (the paper's cells are all multiples of 5);
  a budget of 200 effective epochs (the paper's cells lie at 145–195).
- SGD: Nesterov 0.9, lr 0.1 × 0.2 every 60 epochs (the authors' Lua SGD schedule for CIFAR).
- Entropy-SGD: as the MNIST rows (``outer="lua"``, inner Nesterov 0.9, no outer momentum,
  L = 20, η_y = 0.1, α = 0.75, β_ex⁻¹ = 1e-8) with the authors' All-CNN coupling
  g₀ = 0.03 scoped by g₁ = 1e-4, i.e. γ₀ = 1/0.03 and γ₁ = 1e-4 (their notes; the paper's
  γ₁ = 1e-3 is the alternative), lr 1 / 0.2 / 0.04 switching at epochs 3 and 6 (their Lua
  CIFAR schedule) = effective epochs 60 and 120.
- HJ: the same with L = 5, no noise, the last iterate (Sec. 7.2), on the same effective-epoch
  schedule.
- HEAT: eq. (35), Nesterov 0.9, L = 20, γ₀ = 1e-4 scoped by 1e-3 (as the MNIST rows; not
  tuned), lr 0.1 × 0.2 every 60 effective epochs.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from dataclasses import dataclass

from .. import table1
from ..params import ParamError, Params, knob, parse_overrides
from ..results import RESULTS_DIR, benchmarks

NET = "allcnn"
ALGORITHMS = table1.ALGORITHM_ORDER
PAPER_ROW = {a: table1.PAPER_TABLE1[(NET, a)] for a in ALGORITHMS}
FULL, SUBSET = "cifar10", "cifar10-subset"
SUBSET_RESULTS = RESULTS_DIR / "cifar10-subset"
SUBSET_RUNS = table1.RUNS_DIR / "cifar10-subset"
EVAL_EVERY = 5
SEEDS = (0, 1, 2, 3, 4, 5)

_COMMON = dict(batch_size=128, seeds=SEEDS, weight_decay=1e-3, eval_every=EVAL_EVERY,
               eval_batch=1000, bn_batches=0, effective_epochs=200)
_LUA = dict(momentum=0.0, inner_momentum=0.9, outer="lua", gamma=1 / 0.03, gamma_decay=1e-4,
            lr_y=0.1, lr_schedule=((0, 1.0), (60, 0.2), (120, 0.04)))
EXPERIMENTS: dict[str, dict[str, Any]] = {
    "sgd": dict(_COMMON, algorithm="sgd", L=1, momentum=0.9,
                lr_schedule=((0, 0.1), (60, 0.02), (120, 0.004), (180, 8e-4))),
    "entropy-sgd": dict(_COMMON, **_LUA, algorithm="entropy-sgd", L=20, alpha=0.75,
                        beta_ex_inv=1e-8),
    "hj": dict(_COMMON, **_LUA, algorithm="hj", L=5, hj_form="prox"),
    "heat": dict(_COMMON, algorithm="heat", L=20, momentum=0.9, gamma=1e-4, gamma_decay=1e-3,
                 lr_schedule=((0, 0.1), (60, 0.02), (120, 0.004), (180, 8e-4))),
}

# CPU smoke run (the chapter's default): the same code path on 8 training / 16 test images
# of the SUBSET, 2 seeds, batch 4, one effective epoch (2 gradient evaluations), L = 2 for
# the relaxations, BN re-estimated on one batch. It checks that everything runs, not numbers.
SMOKE_DATA = dict(n_train=8, n_test=16)
SMOKE = dict(seeds=(0, 1), effective_epochs=1, batch_size=4, eval_batch=8, bn_batches=1,
             eval_every=1)
SMOKE_L = {"sgd": 1, "entropy-sgd": 2, "hj": 2, "heat": 2}


def tensors(dataset: str = FULL, data_dir: str | os.PathLike | None = None,
            device: str = "cpu", n_train: int | None = None, n_test: int | None = None):
    """GCN+ZCA-whitened CIFAR-10 (Sec. 8.1.1) as ``engine.TensorData`` (first n images if given)."""
    import torch

    from .. import cifar
    from ..engine import TensorData
    for n, what in ((n_train, "n_train"), (n_test, "n_test")):
        if n is not None and (not isinstance(n, int) or n < 1):
            raise ValueError(f"{what} must be a positive integer or None, got {n!r}")
    w = cifar.preprocess(cifar.load(dataset, data_dir), device=device)
    t = lambda a, n: torch.from_numpy(a[:n].copy())  # noqa: E731
    return TensorData(t(w.train_x, n_train), t(w.train_y, n_train), t(w.test_x, n_test),
                      t(w.test_y, n_test), name=w.name)


def use_data(dataset: str = FULL, data_dir: str | os.PathLike | None = None,
             device: str = "cpu", n_train: int | None = None,
             n_test: int | None = None) -> str:
    """Point ``allcnn`` at a CIFAR-10 data set for ``table1.run``; returns its registered name.

    The name carries the sizes (e.g. ``cifar10-subset[16/32]``), so runs on different data
    never share a cached tensor set; the sizes given here override ``table1``'s generic
    smoke sizes (All-CNN-C costs ~30× LeNet per image).
    """
    if dataset not in (FULL, SUBSET):
        raise ValueError(f"dataset must be {FULL!r} or {SUBSET!r}, got {dataset!r}")
    name = dataset if n_train is None and n_test is None else \
        f"{dataset}[{n_train or 'all'}/{n_test or 'all'}]"

    def loader(**_generic_sizes):
        return tensors(dataset, data_dir, device, n_train, n_test)
    table1.register(NET, name, loader, EXPERIMENTS)
    return name


use_data()      # importing this module makes `allcnn` a Table 1 net on the full CIFAR-10


@dataclass(frozen=True)
class ChapterParams(Params):
    """Knobs of the Sec. 8.3 chapter: what to train (CPU smoke, subset or full row) and where."""

    train: str = knob("smoke", choices=("smoke", "subset", "full", "none", "auto"),
                      doc="smoke: a CPU check of the code path; subset: the small-data "
                          "experiment; full: the All-CNN row on the full CIFAR-10; none; "
                          "auto: full when data_dir is given, else none (read results)")
    device: str = knob("cpu", doc="'cpu' or 'cuda[:N]' (subset/full need a GPU in practice)")
    data_dir: str | None = knob(None, doc="folder with the full CIFAR-10 (cifar-10-batches-py/ "
                                          "or cifar-10-python.tar.gz); None: $DEEPRELAX_DATA")
    max_minutes: float | None = knob(None, doc="stop training after this many minutes "
                                     "(> 0; resumable: run again to continue); None: no limit")
    results_dir: str | None = knob(None, doc="folder of the results read and written (its "
                                   "train/ and cifar10-subset/); None: results/")
    n_show: int = knob(6, lo=1, hi=12, doc="subset images shown raw / GCN / GCN+ZCA")

    PRESETS = {"fast": dict(train="smoke"), "subset": dict(train="subset"),
               "paper": dict(train="auto"), "results": dict(train="none")}

    @property
    def mode(self) -> str:
        """What the chapter trains: ``train`` with 'auto' resolved (full iff data_dir is given)."""
        if self.train != "auto":
            return self.train
        return "full" if self.data_dir is not None else "none"

    def results_for(self, dataset: str) -> Path:
        """Folder of the All-CNN results on ``dataset`` under ``results_dir``."""
        return results_folder(dataset, self.results_dir)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ParamError(f"ChapterParams.max_minutes must be > 0 or None, got "
                             f"{self.max_minutes!r}")


def results_folder(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """Where the All-CNN results on ``dataset`` live: ``train/`` (the full data, Table 1)
    or ``cifar10-subset/`` under ``root`` (default ``results/``)."""
    root = RESULTS_DIR if root is None else Path(root)
    return root / (table1.TRAIN_DIR.name if dataset == FULL else SUBSET_RESULTS.name)


def smoke_overrides(algorithm: str) -> dict[str, Any]:
    """TrainParams overrides of the Sec. 8.3 CPU smoke run of ``algorithm``."""
    return dict(SMOKE, L=SMOKE_L[algorithm])


def run_row(dataset: str = FULL, data_dir: str | os.PathLike | None = None,
            device: str = "cuda", *, max_minutes: float | None = None,
            results_dir: str | os.PathLike | None = None,
            runs_dir: str | os.PathLike | None = None, show_progress: bool = True,
            **overrides: Any) -> list[dict[str, Any]]:
    """Train (resumably) the four All-CNN cells on ``dataset``; full data: merge table1.csv rows.

    Call again after ``max_minutes`` to continue. On the full data set, when all four
    cells are complete their rows are merged into ``table1.csv`` beside ``results_dir``
    (``results/table1.csv`` by default).
    """
    full = dataset == FULL
    if results_dir is None:
        results_dir = results_folder(dataset)
    if runs_dir is None:
        runs_dir = table1.RUNS_DIR if full else SUBSET_RUNS
    use_data(dataset, data_dir, device)
    results = table1.sweep((NET,), ALGORITHMS, "paper", device,
                           max_seconds=None if max_minutes is None else 60 * max_minutes,
                           results_dir=results_dir, runs_dir=runs_dir,
                           show_progress=show_progress, **overrides)
    if full and len(results) == len(ALGORITHMS) and all(r["complete"] for r in results):
        rows = table1.table1_rows({(NET, r["algorithm"]): r for r in results})
        table1.write_table1_csv(rows, Path(results_dir).parent / table1.TABLE1_CSV.name)
    return results


def load_row(dataset: str = FULL, results_dir: str | os.PathLike | None = None
             ) -> dict[str, dict[str, Any]]:
    """Complete All-CNN results on ``dataset`` keyed by algorithm (subset and full kept apart)."""
    if results_dir is None:
        results_dir = results_folder(dataset)
    found = table1.load_results(results_dir, nets=(NET,))
    return {alg: rec for (_, alg), rec in found.items() if rec.get("dataset") == dataset}


def row_frame(results: dict[str, dict[str, Any]]):
    """The All-CNN row as in Table 1 (pandas): error ± std at the best mean, epoch, seeds."""
    import pandas as pd
    rows = table1.table1_rows({(NET, a): r for a, r in results.items()})
    return pd.DataFrame([{"algorithm": table1.LABELS[r["algorithm"]],
                          "error (%)": f"{r['error_mean']:.2f} ± {r['error_std']:.2f}",
                          "@ effective epoch": r["effective_epoch"], "seeds": r["n_seeds"]}
                         for r in rows]).set_index("algorithm")


def comparison_frame(results: dict[str, dict[str, Any]]):
    """Our full-data row beside the paper's (Table 1): cells, difference in points and in σ."""
    frame = table1.comparison_frame({(NET, a): r for a, r in results.items()})
    return frame.droplevel("net")


def figure5(results: dict[str, dict[str, Any]], title: str = "CIFAR-10"):
    """Figure 5: (a) training loss, (b) validation error vs effective epochs, mean ± std."""
    import matplotlib.pyplot as plt

    from ..plotting import ALGORITHM_COLORS as colors, epoch_axis, mean_band
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for alg in ALGORITHMS:
        if alg not in results:
            continue
        c = table1.curves(results[alg])
        s = table1.summarize(results[alg])
        x = c["effective_epoch"]
        axes[0].plot(x, c["train_loss"], color=colors[alg], lw=1.3, label=table1.LABELS[alg])
        mean_band(axes[1], x, c["mean"], c["std"], colors[alg],
                  f"{table1.LABELS[alg]} ({s['error_mean']:.2f}%)")
    axes[0].set_yscale("log")
    for ax, panel, ylabel in zip(axes, "ab", ("training cross-entropy", "validation error (%)")):
        epoch_axis(ax, ylabel, f"({panel}) All-CNN, {title}")
    fig.tight_layout()
    return fig


def benchmark_entry(results_dir: str | os.PathLike = RESULTS_DIR) -> dict[str, Any] | None:
    """All-CNN-C (Sec. 8.3) entry of the newest GPU benchmark file, or None."""
    found = [e for e in benchmarks(results_dir) if e.get("net") == NET]
    return found[-1] if found else None


def projected_row_seconds(engine_s_per_epoch: float, n_seeds: int = len(SEEDS),
                          n_train: int = 50_000, n_test: int = 10_000) -> dict[str, float]:
    """Projected device time of the full All-CNN row from the benchmark's s/eff. epoch/seed.

    Training: effective epochs × s per effective epoch per seed × seeds, per algorithm
    (the benchmark times SGD steps; the relaxations cost the same per gradient evaluation
    up to their cheap element-wise inner updates). Evaluation every ``eval_every``
    effective epochs: a BN pass over the training set and a test pass, forward only,
    counted as 1/3 of a training step per image.
    """
    if not engine_s_per_epoch > 0:
        raise ValueError(f"engine_s_per_epoch must be positive, got {engine_s_per_epoch!r}")
    out = {}
    for alg, cfg in EXPERIMENTS.items():
        epochs = cfg["effective_epochs"]
        train = epochs * engine_s_per_epoch * n_seeds
        evals = math.ceil(epochs / cfg["eval_every"])
        evaluate = evals * engine_s_per_epoch * n_seeds * (n_train + n_test) / n_train / 3
        out[alg] = train + evaluate
    out["total"] = sum(out[a] for a in EXPERIMENTS)
    return out


COMMANDS = {
    "subset": "python -m deeprelax.section83 subset --device cuda --max-minutes 9",
    "full": "python -m deeprelax.section83 row --data-dir /path/to/data --device cuda "
            "--max-minutes 9",
    "benchmark": "python benchmarks/bench_engine.py --device cuda",
    "project": "python benchmarks/project_cifar_row.py",
    "notebook": "papermill -k python3 notebooks/09_cifar.ipynb /tmp/09_cifar.ipynb "
                "-p preset paper -p device cuda -p data_dir /path/to/data -p max_minutes 9",
}


def main(argv: list[str] | None = None) -> int:
    """``python -m deeprelax.section83 {row,subset}``: run the All-CNN row resumably."""
    ap = argparse.ArgumentParser(
        prog="python -m deeprelax.section83",
        description="Train the All-CNN row (Sec. 8.3) in resumable chunks; rerun the same "
                    "command until it reports 4/4 complete. 'row' uses the full CIFAR-10 "
                    "and then writes its rows of results/table1.csv; 'subset' runs the "
                    "small-data experiment on the CIFAR-10 SUBSET (results/cifar10-subset/).")
    ap.add_argument("what", choices=("row", "subset"))
    ap.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py/ "
                    "or cifar-10-python.tar.gz (default: $DEEPRELAX_DATA)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--download", action="store_true",
                    help="let torchvision download the full data set into --data-dir")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a TrainParams field (JSON value), e.g. cuda_graph=true")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        over = parse_overrides(args.set)
    except ParamError as err:
        ap.error(str(err))
    dataset = FULL if args.what == "row" else SUBSET
    if args.download and dataset == FULL:
        from .. import cifar
        cifar.load_cifar10(args.data_dir, download=True)
    results = run_row(dataset, args.data_dir, args.device, max_minutes=args.max_minutes,
                      show_progress=not args.no_progress, **over)
    for res in results:
        s = table1.summarize(res)
        state = "complete" if res["complete"] else "INCOMPLETE"
        print(f"allcnn {res['algorithm']} on {res.get('dataset')}: {state}; best mean "
              f"validation error {s['error_mean']:.2f} ± {s['error_std']:.2f} % @ "
              f"{s['effective_epoch']} effective epochs ({s['n_seeds']} seeds)")
    done = sum(r["complete"] for r in results)
    print(f"{done}/{len(ALGORITHMS)} complete"
          + ("" if done == len(ALGORITHMS) else "; run the same command again to continue"))
    return 0 if done == len(ALGORITHMS) else 3


if __name__ == "__main__":
    sys.exit(main())
