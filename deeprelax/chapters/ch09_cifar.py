"""Chapter 09 (Sec. 8.3): the All-CNN row of Table 1 and Figure 5 on CIFAR-10.

The chapter: :class:`Params`, :func:`compute` (the subset's GCN + ZCA statistics, the
parameter count, the CPU smoke run, the GPU results found under ``results/``, the
benchmark and the projected GPU time of the row), :func:`claims` (the paper's row as
pending claims until GPU results exist), the tables and the figures. The experiments
themselves (All-CNN-C + BN on GCN+ZCA-whitened CIFAR-10, each algorithm's settings and
their sources) are ``deeprelax.train.experiments``; training goes through the command
line, ``python -m deeprelax cifar subset|row`` (``experiments.run_row``). Results on the
full data are rows of Table 1 (``results/train/``); the genuine-bytes subset (5,438/1,017
images) is a small-data experiment kept apart, in ``results/cifar10-subset/``.
"""
from __future__ import annotations

import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deeprelax import paths
from deeprelax.book.claims import Claim, close_to, decided, decided_fact, fact, pending
from deeprelax.book.glue import not_yet
from deeprelax.book.plotting import ALGORITHM_COLORS as colors, epoch_axis, mean_band
from deeprelax.chapters import ch08_mnist as ch08
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.results import benchmarks
from deeprelax.train import cifar, experiments, models, records, table1

NET = "allcnn"
ALGORITHMS = experiments.ALGORITHM_ORDER
PAPER_ROW = {a: table1.PAPER_TABLE1[(NET, a)] for a in ALGORITHMS}
FULL, SUBSET = experiments.CIFAR10, experiments.CIFAR10_SUBSET
EXPERIMENTS = {a: experiments.EXPERIMENTS[(NET, a)] for a in ALGORITHMS}
SEEDS = EXPERIMENTS["sgd"]["seeds"]
SMOKE_DATA = experiments.SMOKE_DATA[SUBSET]


@dataclass(frozen=True)
class Params(BaseParams):
    """Knobs of chapter 09: the CPU smoke run, what to train on a GPU, and where."""

    device: str = knob("cpu", doc="'cpu' or 'cuda[:N]' (training needs a GPU)")
    smoke: bool = knob(True, doc="run the CPU smoke run of the 4 cells")
    train: str = knob("none", choices=("none", "subset", "full"),
                      doc="GPU training first: none, subset or full (row)")
    data_dir: str | None = knob(None, doc="full CIFAR-10 (None: $DEEPRELAX_DATA)")
    max_minutes: float | None = knob(None, doc="stop training after this long (None: never)")
    results_dir: str | None = knob(None, doc="results folder (None: results/)")
    n_show: int = knob(6, lo=1, hi=12, doc="subset images shown raw / GCN / GCN+ZCA")

    PRESETS = {"fast": dict(smoke=True), "paper": dict(smoke=False)}

    def results_for(self, dataset: str) -> Path:
        """Folder of the All-CNN results on ``dataset`` under ``results_dir``."""
        return results_folder(dataset, self.results_dir)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ParamError(f"Params.max_minutes must be > 0 or None, got "
                             f"{self.max_minutes!r}")


def results_folder(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """Where the All-CNN results on ``dataset`` live: ``train/`` (the full data, Table 1)
    or ``cifar10-subset/`` under ``root`` (default ``results/``)."""
    root = paths.RESULTS_DIR if root is None else Path(root)
    return root / (paths.TRAIN_DIR.name if dataset == FULL else paths.SUBSET_RESULTS.name)


def train_row(dataset: str, P: "Params") -> list[dict[str, Any]]:
    """Train the four cells on ``dataset`` (``experiments.run_row``) into
    ``P.results_for(dataset)``; a complete full-data row goes into the table1.csv beside."""
    folder = P.results_for(dataset)
    results = experiments.run_row(dataset, P.data_dir, P.device, max_minutes=P.max_minutes,
                                  results_dir=folder, show_progress=False)
    if dataset == FULL:
        table1.write_row(results, folder.parent / paths.TABLE1_CSV.name)
    return results


def load_row(dataset: str = FULL, results_dir: str | os.PathLike | None = None
             ) -> dict[str, dict[str, Any]]:
    """Complete All-CNN results on ``dataset`` keyed by algorithm (subset and full kept apart)."""
    if results_dir is None:
        results_dir = results_folder(dataset)
    found = experiments.load_results(results_dir, nets=(NET,))
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
    frame = ch08.comparison_frame({(NET, a): r for a, r in results.items()})
    return frame.droplevel("net")


def benchmark_entry(results_dir: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """All-CNN-C (Sec. 8.3) entry of the newest GPU benchmark file, or None."""
    found = [e for e in benchmarks(paths.RESULTS_DIR if results_dir is None else results_dir)
             if e.get("net") == NET]
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
    "subset": "python -m deeprelax cifar subset --device cuda --max-minutes 9",
    "full": "python -m deeprelax cifar row --data-dir /path/to/data --device cuda "
            "--max-minutes 9",
    "benchmark": "python benchmarks/bench_engine.py --device cuda",
    "project": "python benchmarks/project_cifar_row.py",
    "notebook": "papermill notebooks/09_cifar.ipynb out.ipynb -p preset paper "
                "-p device cuda -p train full -p data_dir /path/to/data",
}
PAPER_PARAMS = 1_667_166          # "1.67 million"
PAPER_HJ_TRAIN_LOSS = 0.046       # Sec. 8.3: HJ's training cross-entropy


@dataclass
class Result:
    """Everything the chapter shows."""

    params: Params
    subset_name: str
    n_train: int                       # subset images with pixels
    n_test: int
    label_counts: list[int]            # per class, all 50,000 training labels
    images: dict[str, np.ndarray]      # raw / GCN / GCN + ZCA, n_show × 3 × 32 × 32
    image_classes: list[str]
    zca: dict[str, float]              # the whitening statistics (zca_stats)
    n_params: int
    smoke_runs: list[dict[str, Any]] | None
    subset_results: dict[str, dict[str, Any]]
    full_results: dict[str, dict[str, Any]]
    bench: dict[str, Any] | None = None
    projection: dict[str, float] = field(default_factory=dict)   # seconds, projected

    @property
    def complete(self) -> bool:
        """True when the four full-data cells have complete GPU results."""
        return len(self.full_results) == len(ALGORITHMS)


def zca_stats(w) -> dict[str, float]:
    """What whitening achieves on a preprocessed set ``w`` (``cifar.preprocess``)."""
    lam = w.eigvals
    retained = lam > 1e-12 * lam[-1]
    s_min = np.sqrt(lam[retained].min())
    y_train = w.train_x.reshape(len(w.train_x), -1).astype(np.float64)
    y_test = w.test_x.reshape(len(w.test_x), -1).astype(np.float64)
    var_train = y_train.var(0, ddof=1)
    var_test = (y_test - y_test.mean(0)).var(0, ddof=1)
    return {"n_retained": int(retained.sum()), "lam_min": float(lam[retained].min()),
            "lam_max": float(lam[-1]),
            "pred_min": float((s_min / (s_min + _zca_eps())) ** 2),
            "var_train_min": float(var_train.min()), "var_train_max": float(var_train.max()),
            "var_test_mean": float(var_test.mean()),
            "asym": float(np.abs(w.W - w.W.T).max())}


def _zca_eps() -> float:
    return cifar.ZCA_EPS


def smoke_row(device: str = "cpu") -> list[dict[str, Any]]:
    """The CPU smoke run of the four cells on 8 subset images, in a temporary folder
    (removed afterwards, also on failure)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="deeprelax-smoke-") as tmp:
            return experiments.run_row(SUBSET, device=device, preset="fast",
                                       results_dir=Path(tmp) / "train",
                                       runs_dir=Path(tmp) / "runs", show_progress=False)
    finally:
        torch.set_num_threads(threads)


def compute(P: Params) -> Result:
    """The subset, its GCN + ZCA, the parameter count, the smoke run, any training asked
    for, the results under ``results/``, the benchmark and the projected row time."""
    with warnings.catch_warnings():       # tqdm.auto in a kernel without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        return _compute(P)


def _compute(P: Params) -> Result:
    sub = cifar.load_cifar10_subset()
    labels = cifar.subset_arrays()
    all_train = np.concatenate([labels[f"{b}_labels"] for b in cifar.TRAIN_BATCHES])
    w = cifar.preprocess(sub, device=P.device)
    n = P.n_show
    images = {"raw": sub.train_images[:n].astype(float),
              "GCN": cifar.gcn(sub.train_images[:n]).numpy().reshape(n, 3, 32, 32),
              "GCN + ZCA": w.train_x[:n].astype(float)}
    smoke = smoke_row(P.device) if P.smoke else None
    if P.train != "none":
        dataset = SUBSET if P.train == "subset" else FULL
        train_row(dataset, P)
    bench = benchmark_entry(P.results_for(FULL).parent)
    proj = {} if bench is None else projected_row_seconds(bench["engine_s_per_epoch"])
    return Result(P, sub.name, len(sub.train_images), len(sub.test_images),
                  np.bincount(all_train, minlength=10).tolist(), images,
                  [cifar.CLASSES[c] for c in sub.train_labels[:n]], zca_stats(w),
                  models.count_parameters(models.allcnn()), smoke,
                  load_row(SUBSET, P.results_for(SUBSET)), load_row(FULL, P.results_for(FULL)),
                  bench, proj)


def measures(R: Result) -> dict[str, float]:
    """Numbers the prose quotes."""
    out = {f"zca_{k}": v for k, v in R.zca.items()}
    out.update(n_subset_train=R.n_train, n_subset_test=R.n_test, params_allcnn=R.n_params,
               budget_epochs=sum(c["effective_epochs"] for c in EXPERIMENTS.values()))
    return out


# ---- tables -------------------------------------------------------------------------------
def table1_frame(R: Result):
    """The All-CNN row: the paper's cells beside ours ('pending' without GPU runs)."""
    frame = ch08.table1_frame({(NET, a): r for a, r in R.full_results.items()}, nets=(NET,))
    return frame.droplevel("net")


def smoke_frame(R: Result):
    """What the smoke run did (pandas), or a line saying it did not run (the paper preset)."""
    if R.smoke_runs is None:
        return not_yet("the CPU smoke run (not part of this preset)",
                       "papermill notebooks/09_cifar.ipynb out.ipynb -p preset fast")
    return ch08.smoke_frame(R.smoke_runs).droplevel("net")


def subset_frame(R: Result):
    """The small-data experiment's cells (pandas), or what to run while they do not exist."""
    if not R.subset_results:
        return not_yet("the CIFAR-10 SUBSET experiment",
                       "python -m deeprelax cifar subset --device cuda --max-minutes 9")
    return row_frame(R.subset_results)


def benchmark_frame(R: Result):
    """The measured All-CNN benchmark and, from it, the projected GPU time of the row
    (what to run while it does not exist)."""
    import pandas as pd

    if R.bench is None:
        return not_yet("the All-CNN benchmark on a GPU",
                       "python benchmarks/bench_engine.py --device cuda --nets allcnn")
    b = R.bench
    rows = [{"quantity": "engine, s per effective epoch per seed (measured)",
             "value": f"{b['engine_s_per_epoch']:.3f}"},
            {"quantity": "engine / eager-loop speed-up (measured)",
             "value": f"{b['ratio']:.1f}x"}]
    rows += [{"quantity": f"{table1.LABELS[a]}: 6 seeds × "
              f"{EXPERIMENTS[a]['effective_epochs']} eff. epochs (projected, min)",
              "value": f"{R.projection[a] / 60:.0f}"} for a in ALGORITHMS]
    rows.append({"quantity": "the whole row (projected, GPU-hours)",
                 "value": f"{R.projection['total'] / 3600:.1f}"})
    return pd.DataFrame(rows).set_index("quantity").rename_axis(
        f"{b.get('file', 'benchmark')} ({b.get('device', '?')})")


def missing(R: Result) -> list[tuple[str, str]]:
    """(what is missing, the command that fills it)."""
    out = []
    if not R.complete:
        out.append((f"Figure 5 and the All-CNN row of Table 1 ({len(R.full_results)} of 4 "
                    "cells exist; needs the full CIFAR-10 and a GPU; repeat until it prints "
                    "4/4 complete, which also writes results/table1.csv)", COMMANDS["full"]))
    if len(R.subset_results) < len(ALGORITHMS):
        out.append((f"the small-data experiment on the subset ({len(R.subset_results)} of "
                    "4 cells exist)", COMMANDS["subset"]))
    if R.bench is None:
        out.append(("the engine benchmark for All-CNN-C, then the projected GPU time of "
                    "the row", f"{COMMANDS['benchmark']}` and `{COMMANDS['project']}"))
    return out


def pending_note(R: Result) -> str:
    """The one admonition (MyST markdown) that says what needs a GPU run, or ''."""
    items = missing(R)
    if not items:
        return ""
    lines = ["```{admonition} Pending: GPU runs", ":class: note",
             "Some results of this chapter need a GPU and do not exist yet: the page "
             "marks them *pending*, shows the paper's numbers and draws Figure 5 as "
             "empty axes. On a GPU, run:", ""]
    for what, cmd in items:
        lines += [f"- {what}:", "", f"  `{cmd}`", ""]
    lines += ["The chapter then reads `results/` and checks the row against the paper's.",
              "```"]
    return "\n".join(lines)


def figure_state(R: Result) -> str:
    """A sentence for Figure 5's caption: which of our runs are drawn (MyST markdown)."""
    if R.complete:
        return ""
    return (f"**Pending:** {len(R.full_results)} of our 4 runs exist (see the note at the "
            "top); the empty axes show only the paper's values.")


# ---- figures ------------------------------------------------------------------------------
def mosaic(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Rows of C × H × W images as one RGB picture, each image rescaled to [0, 1], white gaps."""
    def join(parts, axis):
        out = parts[0]
        for part in parts[1:]:
            shape = list(out.shape)
            shape[axis] = gap
            out = np.concatenate([out, np.ones(shape), part], axis=axis)
        return out
    lines = [join([(im - im.min()) / (im.max() - im.min()) for im in
                   (x.transpose(1, 2, 0) for x in imgs)], 1) for imgs in rows]
    return join(lines, 0)


def figure_preprocessing(R: Result):
    """The first subset images raw, after GCN and after GCN + ZCA (each rescaled to [0, 1])."""
    import matplotlib.pyplot as plt
    mosaic_ = mosaic(list(R.images.values()))
    n = len(R.image_classes)
    fig, ax = plt.subplots(figsize=(7.6, 3.9))
    ax.imshow(mosaic_, interpolation="nearest")
    ax.set_xticks([16 + 36 * k for k in range(n)], R.image_classes, fontsize=10.5)
    ax.set_yticks([16 + 36 * k for k in range(len(R.images))], list(R.images), fontsize=10.5)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    fig.tight_layout()
    return fig


def _curves_panel(axes, results: dict[str, dict[str, Any]], prefix: str = "") -> None:
    for alg in ALGORITHMS:
        if alg not in results:
            continue
        c = records.curves(results[alg])
        s = records.summarize(results[alg])
        x = c["effective_epoch"]
        axes[0].plot(x, c["train_loss"], color=colors[alg], lw=1.3,
                     label=f"{prefix}{table1.LABELS[alg]}")
        mean_band(axes[1], x, c["mean"], c["std"], colors[alg],
                  f"{prefix}{table1.LABELS[alg]} ({s['error_mean']:.2f}%)")


def figure_5(R: Result):
    """Figure 5: (a) training loss, (b) validation error vs effective epochs (mean ± std),
    on the full CIFAR-10, with the paper's values marked; empty axes while pending."""
    import matplotlib.pyplot as plt
    with plt.rc_context(ch08.FIGURE_RC):
        return _figure_5(R)


def _figure_5(R: Result):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=ch08.FIGSIZE)
    _curves_panel(axes, R.full_results, "ours ")
    axes[0].axhline(PAPER_HJ_TRAIN_LOSS, color="C0", ls="--", lw=1.2,
                    label=f"paper HJ ({PAPER_HJ_TRAIN_LOSS})")
    ch08.mark_paper_cells(axes[1], NET)
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.01, 3.0)
    axes[1].set_ylim(6.0, 14.0)
    tag = "" if R.full_results else ": pending"
    for ax, panel, ylabel in zip(axes, "ab", ("training cross-entropy",
                                               "validation error (%)")):
        ax.set_xlim(0, 210)
        epoch_axis(ax, ylabel, f"({panel}) All-CNN, CIFAR-10{tag}")
        ax.legend(loc="upper right", framealpha=0.9)
        if not R.full_results:
            ax.text(0.5, 0.45, "our runs: pending\n(no GPU run yet)", ha="center",
                    transform=ax.transAxes, fontsize=11, color="0.4")
    fig.tight_layout()
    return fig


def figure_subset(R: Result):
    """The small-data experiment in Figure 5's layout, or None while it does not exist."""
    import matplotlib.pyplot as plt

    if not R.subset_results:
        return None
    with plt.rc_context(ch08.FIGURE_RC):
        fig, axes = plt.subplots(1, 2, figsize=ch08.FIGSIZE)
        _curves_panel(axes, R.subset_results)
        axes[0].set_yscale("log")
        for ax, panel, ylabel in zip(axes, "ab", ("training cross-entropy",
                                                   "validation error (%)")):
            epoch_axis(ax, ylabel, f"({panel}) All-CNN, CIFAR-10 SUBSET")
            ax.legend(loc="upper right")
        fig.tight_layout()
    return fig


# ---- claims -------------------------------------------------------------------------------
def _row_claims(R: Result) -> list[Claim]:
    """The four cells (in combined σ) and Sec. 8.3's statements about the row."""
    out = []
    cmp = {c["algorithm"]: c for c in ch08.comparison_rows(
        {(NET, a): r for a, r in R.full_results.items()})}
    for alg in ALGORITHMS:
        name = f"cell_allcnn_{alg.replace('-', '')}"
        what = (f"All-CNN/{table1.LABELS[alg]}: our cell agrees with the paper's "
                "(|ours − paper| in combined σ)")
        paper = "%.2f ± %.2f %% @ %d" % PAPER_ROW[alg]
        out.append(decided(name, what, abs(cmp[alg]["diff_sigma"]), hi=table1.SIGMA_TOL,
                           differs=f"All-CNN/{table1.LABELS[alg]}: our cell differs from "
                                   "the paper's (|ours − paper| in combined σ)",
                           paper=paper, where="Table 1") if alg in cmp
                   else pending(name, what, paper=paper, where="Table 1"))
    said = [("hj_best", "HJ has the lowest validation error of the four", "HJ 7.89 %"),
            ("heat_worst", "HEAT has the highest validation error of the four",
             "HEAT 9.04 %"),
            ("hj_lowest_train_loss", "HJ reaches the lowest training loss of the four",
             f"HJ {PAPER_HJ_TRAIN_LOSS}")]
    differs = ["another algorithm has a lower validation error than HJ",
               "another algorithm has a higher validation error than HEAT",
               "another algorithm reaches a lower training loss than HJ"]
    if not R.complete:
        return out + [pending(n, s, paper=p, where="Sec. 8.3") for n, s, p in said]
    err = {a: records.summarize(r)["error_mean"] for a, r in R.full_results.items()}
    loss = {a: min(records.curves(r)["train_loss"]) for a, r in R.full_results.items()}
    holds = [min(err, key=err.get) == "hj", max(err, key=err.get) == "heat",
             min(loss, key=loss.get) == "hj"]
    return out + [decided_fact(n, s, h, differs=d, paper=p, where="Sec. 8.3")
                  for (n, s, p), h, d in zip(said, holds, differs)]


def claims(R: Result) -> list[Claim]:
    """The chapter's checks: the subset, GCN + ZCA, the parameter count, the smoke run,
    and the All-CNN row (pending without GPU runs)."""
    z = R.zca
    out = [
        fact("subset_labelled", "the data set in use is labelled as the SUBSET",
             "SUBSET" in R.subset_name, paper="—", where="Sec. 8.1", status="check"),
        fact("labels_balanced", "the 50,000 training labels hold 5,000 per class",
             R.label_counts == [5000] * 10, paper="50,000 training images",
             where="Sec. 8.1", status="check"),
        close_to("whiten_n_retained", "GCN removes one direction: 3,071 eigenvalues retained",
                 z["n_retained"], 3071, 0, paper="—", where="Sec. 8.1.1", status="check"),
        Claim("whiten_symmetric", "the ZCA matrix W is symmetric (max |W − Wᵀ|)", z["asym"],
              hi=0.0, paper="ZCA", where="Sec. 8.1.1", status="check"),
        Claim("whiten_smallest", "whitened variance at the smallest retained eigenvalue",
              z["pred_min"], lo=0.99, paper="whitened", where="Sec. 8.1.1", status="check"),
        close_to("whiten_var_min", "smallest whitened per-pixel training variance "
                 "≈ 1 − 1/3072", z["var_train_min"], 1 - 1 / 3072, 0.01, paper="whitened",
                 where="Sec. 8.1.1", status="check"),
        Claim("whiten_var_max", "largest whitened per-pixel training variance",
              z["var_train_max"], hi=1.0, paper="whitened", where="Sec. 8.1.1",
              status="check"),
        close_to("n_params_allcnn", "All-CNN-C + BN has the paper's number of parameters",
                 R.n_params, PAPER_PARAMS, 0, paper="1.67 million", where="Sec. 8.3"),
    ]
    if R.smoke_runs is not None:
        runs = R.smoke_runs
        out += [
            fact("smoke_complete", "smoke run: all four cells complete with finite losses "
                 "and errors", len(runs) == len(ALGORITHMS) and all(
                     r["complete"] and np.isfinite(np.array(r["train_loss"], float)).all()
                     and np.isfinite(np.array(r["val_error"], float)).all() for r in runs),
                 paper="—", where="code path", status="check"),
            fact("smoke_sizes", "smoke run: 8 training images and 2 seeds per cell",
                 all(r["n_train"] == SMOKE_DATA["n_train"] and len(r["seeds"]) == 2
                     for r in runs), paper="—", where="code path", status="check"),
        ]
    return out + _row_claims(R)
