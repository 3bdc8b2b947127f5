"""Chapter 08 (Sec. 8.2): mnistfc and LeNet on MNIST — Figure 4 and the MNIST rows of Table 1.

The training layer (``deeprelax.train.experiments``) defines the eight experiments, trains them
(``sweep``) and reduces each to a Table 1 cell (``summarize``). This module is the
chapter: :class:`Params` (what to read, what to train), :func:`compute` (the parameter
counts, the complete cells found under ``results/`` (six seeds each, from one run or
from the CPU campaign's single-seed units), the finished units of the cells still
incomplete, the CPU smoke run of all eight cells, the GPU benchmark, the measured noise
of one Entropy-SGD inner step), :func:`claims` (the paper's cells as pending claims until
our cell is complete, then checks in units of the combined standard deviation), the
tables and :func:`figure_4` (complete cells as solid curves, incomplete ones dashed and
marked provisional).
"""
from __future__ import annotations

import math
import statistics
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deeprelax import paths

from deeprelax.train import campaign, experiments, records, table1
from deeprelax.book.claims import Claim, close_to, decided, decided_fact, fact, pending
from deeprelax.params import ParamError, Params as BaseParams, knob
from deeprelax.results import benchmarks
from deeprelax.book.glue import not_yet
from deeprelax.book.plotting import ALGORITHM_COLORS as colors, epoch_axis, mean_band
from deeprelax.train import models
from deeprelax.train import optim

NETS = ("mnistfc", "lenet")
ALGORITHMS = experiments.ALGORITHM_ORDER
CELLS = tuple((n, a) for n in NETS for a in ALGORITHMS)
N_SEEDS = 6
SIGMA_TOL = table1.SIGMA_TOL   # a cell agrees within this many combined std
PAPER_PARAMS = {"mnistfc": 1_867_786, "lenet": 131_220}   # "1.86 million"; LeNet's n
AUTHORS_NOISE = 1e-4 * math.sqrt(2 * 0.1)   # the authors' code: std 1e-4·√(2η_y), η_y = 0.1
PRINTED_BETA_EX_INV = 1e8                   # Sec. 7.1 as printed
NOISE_N = 200_000                           # weights whose one-step noise is measured

COMMANDS = {
    "campaign": "python -m deeprelax campaign --max-minutes 150",
    "sweep": "python -m deeprelax sweep --nets mnistfc lenet --device cuda "
             "--max-minutes 9 --set cuda_graph=true",
    "table": "python -m deeprelax table1",
    "benchmark": "python benchmarks/bench_engine.py --device cuda",
    "notebook": "papermill notebooks/08_mnist.ipynb out.ipynb -p preset paper "
                "-p device cuda -p train True",
}

# the settings table: one row per experiment key, in this order, with these labels;
# keys not listed here (new TrainParams fields) follow under their own names
SETTING_LABELS = {
    "L": "L (gradients per update)",
    "lr_schedule": "lr η (→ new value @ eff. epoch)",
    "momentum": "Nesterov momentum on x",
    "inner_momentum": "Nesterov momentum on y",
    "inner_form": "inner momentum form",
    "outer": "outer step",
    "gamma": "γ₀",
    "gamma_decay": "γ₁ (scoping)",
    "lr_y": "η_y",
    "alpha": "α",
    "beta_ex_inv": "β_ex⁻¹",
    "hj_form": "HJ form",
    "batch_size": "batch",
    "weight_decay": "weight decay",
    "effective_epochs": "budget (eff. epochs)",
    "eval_every": "evaluate every (eff. epochs)",
    "seeds": "seeds",
    "bn_batches": "BN re-estimation batches (0: all)",
    "eval_batch": "evaluation batch",
}


@dataclass(frozen=True)
class Params(BaseParams):
    """Knobs of chapter 08: what to read, what to train, and where."""

    device: str = knob("cpu", doc="'cpu' or 'cuda[:N]' for train (CPU: the campaign)")
    train: bool = knob(False, doc="train the paper sweep first (resumable)")
    smoke: bool = knob(True, doc="run the CPU smoke run of the 8 cells")
    max_minutes: float | None = knob(None, doc="stop the sweep after this long (None: never)")
    results_dir: str | None = knob(None, doc="result JSONs (None: results/train)")

    PRESETS = {"fast": dict(smoke=True), "paper": dict(smoke=False)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ParamError(f"Params.max_minutes must be > 0 or None, got "
                             f"{self.max_minutes!r}")

    @property
    def folder(self) -> Path:
        """Where the result JSONs are read (and written by ``train``)."""
        return Path(self.results_dir) if self.results_dir else paths.TRAIN_DIR


@dataclass
class Result:
    """Everything the chapter shows."""

    params: Params
    n_params: dict[str, int]                       # parameter count per net
    results: dict[tuple[str, str], dict[str, Any]]  # complete cells by (net, algorithm)
    smoke_runs: list[dict[str, Any]] | None         # the CPU smoke run (None: not run)
    bench: list[dict[str, Any]] = field(default_factory=list)  # GPU benchmark entries
    noise: dict[str, float] = field(default_factory=dict)      # std of one inner step
    units: list[dict[str, Any]] = field(default_factory=list)  # the CPU campaign, per cell
    partial: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # ^ incomplete cells: their finished units assembled (drawn as provisional, no claim)

    @property
    def complete(self) -> bool:
        """True when all eight cells are complete (six seeds each)."""
        return all(c in self.results for c in CELLS)


# ---- computation ---------------------------------------------------------------------------
def inner_noise_std(beta_ex_inv: float | None = None, net: str = "lenet",
                    n: int = NOISE_N) -> float:
    """Measured standard deviation of the noise one Entropy-SGD inner step adds to a weight,
    with the chapter's hyper-parameters (β_ex⁻¹ replaced when given):
    ``optim.inner_noise_std``."""
    hyper = experiments.experiment(net, "entropy-sgd").optimizer_hyper()
    if beta_ex_inv is not None:
        hyper["beta_ex_inv"] = beta_ex_inv
    return optim.inner_noise_std(n, **hyper)


def smoke_sweep(device: str = "cpu") -> list[dict[str, Any]]:
    """The CPU smoke run: every cell with its paper settings on 1,280 images, 2 seeds, 2
    effective epochs, in a temporary folder (never under results/; removed afterwards,
    also on failure), on one thread."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # fast, and the same numbers from build to build
    try:
        with tempfile.TemporaryDirectory(prefix="deeprelax-smoke-") as tmp:
            return experiments.sweep(experiments.plans(
                NETS, ALGORITHMS, "fast", device, results_dir=Path(tmp) / "train",
                runs_dir=Path(tmp) / "runs"), show_progress=False)
    finally:
        torch.set_num_threads(threads)


def compute(P: Params) -> Result:
    """Parameter counts, the complete cells (a GPU sweep after ``P.train``, or the CPU
    campaign's units), the smoke run, the benchmark and the inner-step noise."""
    with warnings.catch_warnings():       # tqdm.auto in a kernel without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        return _compute(P)


def _compute(P: Params) -> Result:
    counts = {n: models.count_parameters(models.build(n)) for n in NETS}
    if P.train:
        experiments.sweep(experiments.plans(NETS, ALGORITHMS, "paper", P.device,
                                            results_dir=P.folder),
                          max_seconds=None if P.max_minutes is None else 60 * P.max_minutes,
                          show_progress=False)
    found = {k: r for k, r in experiments.load_results(P.folder, nets=NETS).items()
             if r.get("preset") == "paper"}
    smoke = smoke_sweep() if P.smoke else None
    bench = [b for b in benchmarks(P.folder.parent) if b.get("net") in NETS]
    noise = {"ours": inner_noise_std(), "printed": inner_noise_std(PRINTED_BETA_EX_INV),
             "authors": AUTHORS_NOISE}
    units = campaign.status_table(P.folder, runs_dir=None)     # finished units only
    partial = {k: records.assemble_cell(u) for k, u in
               experiments.cell_units(P.folder, NETS).items() if k not in found}
    return Result(P, counts, found, smoke, bench, noise, units, partial)


def measures(R: Result) -> dict[str, float]:
    """Numbers the prose quotes."""
    out = {f"params_{n}": R.n_params[n] for n in NETS}
    out.update({f"noise_{k}": v for k, v in R.noise.items()})
    out["beta_ex_inv"] = experiments.EXPERIMENTS[("lenet", "entropy-sgd")]["beta_ex_inv"]
    out["n_cells_found"] = sum(c in R.results for c in CELLS)
    out["n_units_done"] = sum(r["seeds_done"] for r in R.units)
    out["cpu_hours"] = sum(r["cpu_hours"] for r in R.units)
    return out


def provisional(R: Result, net: str, alg: str) -> str:
    """The best mean validation error of an incomplete cell's finished seeds so far
    ('error ± std @ effective epoch (provisional)'; one seed has no std), '—' without
    any; a complete cell's is in Table 1."""
    rec = R.partial.get((net, alg))
    if rec is None:
        return "—"
    s = records.summarize(rec)
    if s["index"] is None:
        return "—"
    spread = f" ± {s['error_std']:.2f}" if s["n_seeds"] > 1 else ""
    return f"{s['error_mean']:.2f}{spread} @ {s['effective_epoch']:.0f} (provisional)"


def campaign_frame(R: Result):
    """Where the CPU campaign stands (pandas): per cell the seeds finished (of six; the
    committed units), their CPU-hours, the machines they ran on and, while the cell is
    incomplete, the best mean validation error of the seeds finished so far (provisional:
    no claim reads it)."""
    import pandas as pd
    return pd.DataFrame([{
        "net": table1.LABELS.get(r["net"], r["net"]),
        "algorithm": table1.LABELS.get(r["algorithm"], r["algorithm"]),
        "seeds finished": f"{r['seeds_done']} of {r['seeds']}"
                          + (f" ({', '.join(map(str, r['done']))})" if r["done"] else ""),
        "CPU-hours": f"{r['cpu_hours']:.2f}",
        "machines (units)": campaign.machines_label(r["machines"]),
        "best so far (%)": "in Table 1" if (r["net"], r["algorithm"]) in R.results
        else provisional(R, r["net"], r["algorithm"])} for r in R.units]).set_index(
        ["net", "algorithm"])


# ---- Table 1 cells ------------------------------------------------------------------------
def _paper_cell(net: str, alg: str, unit: str = "") -> str:
    mean, std, epoch = table1.PAPER_TABLE1[(net, alg)]
    return f"{mean:.2f} ± {std:.2f}{unit} @ {epoch}"


def comparison_rows(results: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """``table1.comparison`` of the cells in ``results`` (ours beside the paper's)."""
    return table1.comparison(table1.table1_rows(results))


def comparison_frame(results: dict[tuple[str, str], dict[str, Any]]):
    """Our Table 1 cells beside the paper's (pandas, indexed by net and algorithm): both
    cells as 'mean ± std @ effective epoch', the difference in points and in σ, seeds."""
    import pandas as pd
    return pd.DataFrame([{
        "net": c["net"], "algorithm": table1.LABELS.get(c["algorithm"], c["algorithm"]),
        "ours (%)": f"{c['error_mean']:.2f} ± {c['error_std']:.2f} @ {c['effective_epoch']}",
        "paper (%)": f"{c['paper_mean']:.2f} ± {c['paper_std']:.2f} @ {c['paper_epoch']}",
        "difference": table1.difference(c), "seeds": c["n_seeds"]}
        for c in comparison_rows(results)]).set_index(["net", "algorithm"])


def paper_frame(nets=NETS):
    """The paper's Table 1 cells for ``nets`` (pandas): 'mean ± std @ effective epoch'."""
    import pandas as pd
    return pd.DataFrame([{"net": n, "algorithm": table1.LABELS.get(a, a),
                          "paper (%)": _paper_cell(n, a)}
                         for n in nets for a in ALGORITHMS
                         if (n, a) in table1.PAPER_TABLE1]).set_index(["net", "algorithm"])


def table1_frame(results: dict[tuple[str, str], dict[str, Any]], nets=NETS):
    """Table 1 in the paper's layout (pandas): one column per algorithm; per net the
    paper's cell, ours ('pending' until the cell is complete), the difference in points and
    in combined σ, the seeds kept and the measured wall time of our run (its seeds
    together)."""
    import pandas as pd
    found = {(c["net"], c["algorithm"]): c for c in comparison_rows(
        {k: r for k, r in results.items() if k[0] in nets})}
    what = ("paper (%)", "ours (%)", "ours − paper", "seeds", "wall time (min)")
    index, rows = [], []
    for n in nets:
        cols = {}
        for a in ALGORITHMS:
            c, rec = found.get((n, a)), results.get((n, a))
            cols[table1.LABELS[a]] = [
                _paper_cell(n, a),
                "pending" if c is None else
                f"{c['error_mean']:.2f} ± {c['error_std']:.2f} @ {c['effective_epoch']}",
                "—" if c is None else table1.difference(c),
                "—" if c is None else str(c["n_seeds"]),
                "—" if rec is None or rec.get("wall_time_s") is None
                else f"{float(rec['wall_time_s']) / 60:.1f} (measured)"]
        index += [(table1.LABELS.get(n, n), w) for w in what]
        rows += [[cols[table1.LABELS[a]][k] for a in ALGORITHMS] for k in range(len(what))]
    return pd.DataFrame(rows, columns=[table1.LABELS[a] for a in ALGORITHMS],
                        index=pd.MultiIndex.from_tuples(index, names=["net", ""]))


def deviation_notes(R: Result) -> str:
    """A sentence per complete cell on how it differs from the paper's (MyST markdown list;
    :func:`deeprelax.train.table1.verdict`), or a line saying no cell is complete."""
    rows = comparison_rows(R.results)
    if not rows:
        return "*No cell is complete yet: the sentences on each cell follow its sixth seed.*"
    return "\n".join(f"- {table1.verdict(c, SIGMA_TOL)}" for c in rows)


# ---- settings, smoke run, benchmark tables ------------------------------------------------
def format_setting(key: str, value: Any) -> str:
    """A setting for the table: schedules in full, small and large numbers in scientific
    notation (1e-08, 1e+04), seeds as a list."""
    if value is None:
        return "—"
    if key == "lr_schedule":          # 0.1 → 0.02 @60 → 0.004 @120: value @ from-epoch
        return " → ".join(format_setting("", lr) + (f" @{e:g}" if e else "")
                          for e, lr in value)
    if key == "seeds" and list(value) == list(range(value[0], value[0] + len(value))):
        return f"{value[0]}–{value[-1]}"
    if isinstance(value, (tuple, list)):
        return ", ".join(format_setting("", v) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    v = float(value)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        mantissa, exponent = f"{v:.3e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"
    return f"{v:.4g}"


def settings_frame(net: str):
    """The settings of the Table 1 cells of ``net`` (pandas): one row per setting, one
    column per algorithm, read from ``experiments.EXPERIMENTS``; '—' where a cell has none."""
    import pandas as pd
    cells = {a: experiments.EXPERIMENTS[(net, a)] for a in ALGORITHMS
             if (net, a) in experiments.EXPERIMENTS}
    keys = [k for k in SETTING_LABELS if any(k in v for v in cells.values())]
    keys += sorted({k for v in cells.values() for k in v} - set(SETTING_LABELS)
                   - {"algorithm"})
    return pd.DataFrame(
        {table1.LABELS[a]: [format_setting(k, v.get(k)) for k in keys]
         for a, v in cells.items()},
        index=pd.Index([SETTING_LABELS.get(k, k) for k in keys],
                       name=f"{table1.LABELS.get(net, net)}: setting"))


def smoke_frame(runs: list[dict[str, Any]] | None):
    """What a smoke sweep did (pandas): updates, effective epochs, last validation error per
    seed, mean last training loss — a code-path check, not a result (a line saying it did
    not run when ``runs`` is None)."""
    import pandas as pd

    if runs is None:
        return not_yet("the CPU smoke run (not part of this preset)",
                       "papermill notebooks/08_mnist.ipynb out.ipynb -p preset fast")
    return pd.DataFrame([{
        "net": table1.LABELS.get(r["net"], r["net"]),
        "algorithm": table1.LABELS.get(r["algorithm"], r["algorithm"]), "L": r["L"],
        "updates": r["grads"][-1] // r["L"],
        "records (eff. epoch)": ", ".join(f"{e:g}" for e in r["effective_epoch"]),
        "val. error (%) per seed": ", ".join(f"{e[-1]:.1f}" for e in r["val_error"]),
        "train loss": f"{statistics.fmean(t[-1] for t in r['train_loss']):.3f}"}
        for r in runs]).set_index(["net", "algorithm"])


def benchmark_frame(R: Result):
    """The GPU benchmark of the engine (measured), or what to run while there is none."""
    import pandas as pd

    if not R.bench:
        return not_yet("the engine's GPU benchmark", COMMANDS["benchmark"])
    return pd.DataFrame([{
        "file": b.get("file", "—"), "net": table1.LABELS.get(b["net"], b["net"]),
        "device": b.get("device", "—"),
        "engine (s / eff. epoch / seed)": f"{b['engine_s_per_epoch']:.3f}",
        "eager loop (s / eff. epoch / seed)": f"{b['eager_s_per_epoch']:.3f}",
        "ratio": f"{b['ratio']:.1f}"} for b in R.bench]).set_index(["file", "net"])


def missing(R: Result) -> list[tuple[str, str]]:
    """(what is missing, the command that fills it)."""
    out = []
    n = sum(c in R.results for c in CELLS)
    if n < len(CELLS):
        out.append((f"Figure 4 and our Table 1 cells ({n} of {len(CELLS)} cells complete; "
                    "the CPU campaign trains them seed by seed, LeNet first, and stops "
                    "resumably: repeat it until it prints 48/48)", COMMANDS["campaign"]))
        out.append(("or, on a GPU, all seeds of a cell at once", COMMANDS["sweep"]))
        out.append(("`results/table1.csv`, from the runs", COMMANDS["table"]))
    if not R.bench:
        out.append(("the engine's GPU benchmark (`results/benchmark-<gpu>.json`)",
                    COMMANDS["benchmark"]))
    return out


def pending_note(R: Result) -> str:
    """The one admonition (MyST markdown) that says what needs a GPU run, or ''."""
    items = missing(R)
    if not items:
        return ""
    intro = ("No cell of this chapter is complete yet, so the page shows the paper's "
             "numbers, marks our cells *pending* and draws Figure 4 without our curves; "
             "the table of the CPU campaign below says how far each cell is. The CPU "
             "smoke run at the end exercises the same code." if not R.results else
             "Some cells of this chapter are not complete yet; the page marks them "
             "*pending*." if not R.complete else
             "The engine's GPU benchmark has not run yet.")
    lines = ["```{admonition} Pending: training runs", ":class: note", intro + " Run:", ""]
    for what, cmd in items:
        lines += [f"- {what}:", "", f"  `{cmd}`", ""]
    lines += ["The chapter then reads `results/` and checks every cell against the "
              "paper's.", "```"]
    return "\n".join(lines)


def _of_seeds(rec: dict[str, Any], net: str, alg: str) -> str:
    return f"{len(rec['seeds'])} of {len(experiments.EXPERIMENTS[(net, alg)]['seeds'])} seeds"


def figure_state(R: Result) -> str:
    """A sentence for Figure 4's caption: which of our runs are drawn (MyST markdown)."""
    n = sum(c in R.results for c in CELLS)
    if n == len(CELLS):
        return ""
    drawn = [f"{table1.LABELS[a]} on {table1.LABELS[net]} ({_of_seeds(rec, net, a)})"
             for (net, a), rec in sorted(R.partial.items())]
    part = (" Dashed curves are cells still incomplete, drawn from the seeds finished so "
            "far: " + ", ".join(drawn) + "; they are provisional and no claim reads them."
            if drawn else "")
    return (f"**Pending:** {n} of our {len(CELLS)} cells complete (see the note at the "
            "top); a panel without our curves shows only the paper's cells." + part)


FIGURE_RC = {"font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10,
             "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9}
FIGSIZE = (7.6, 3.6)     # two panels at the text width


# ---- Figure 4 -----------------------------------------------------------------------------
def mark_paper_cells(ax, net: str, algorithms=ALGORITHMS) -> None:
    """The paper's Table 1 cells of ``net``: error ± std (bar) at the reported epoch."""
    for alg in algorithms:
        mean, std, epoch = table1.PAPER_TABLE1[(net, alg)]
        ax.errorbar([epoch], [mean], yerr=[std], fmt="D", ms=6, mfc="white",
                    color=colors[alg], capsize=4, lw=1.3,
                    label=f"paper {table1.LABELS[alg]} ({mean:.2f}%)")


def figure_4(R: Result, nets=NETS, ylims=None):
    """Figure 4: validation error vs effective epochs, mean ± std over seeds, per net, with
    the paper's cells marked; an incomplete cell's finished seeds dashed (provisional);
    empty axes (titled pending) where no run exists."""
    import matplotlib.pyplot as plt
    ylims = ylims or {"mnistfc": (0.9, 2.0), "lenet": (0.35, 1.2)}
    with plt.rc_context(FIGURE_RC):
        return _figure_4(R, nets, ylims)


def _figure_4(R: Result, nets, ylims):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(nets), figsize=FIGSIZE, squeeze=False)
    for ax, net, panel in zip(axes[0], nets, "abcdef"):
        have = [a for a in ALGORITHMS if (net, a) in R.results or (net, a) in R.partial]
        for alg in have:
            rec = R.results.get((net, alg))
            part = rec is None
            rec = R.partial[(net, alg)] if part else rec
            c, s = records.curves(rec), records.summarize(rec)
            label = f"ours {table1.LABELS[alg]} ({s['error_mean']:.2f}%" + (
                f", {_of_seeds(rec, net, alg)})" if part else ")")
            mean_band(ax, c["effective_epoch"], c["mean"], c["std"], colors[alg], label,
                      ls="--" if part else "-")
        mark_paper_cells(ax, net)
        ax.set_xlim(0, 1.05 * max(experiments.EXPERIMENTS[(net, a)]["effective_epochs"]
                                  for a in ALGORITHMS))
        if net in ylims:
            ax.set_ylim(*ylims[net])
        title = f"({panel}) {table1.LABELS.get(net, net)}"
        epoch_axis(ax, "validation error (%)", title if have else title + ": pending")
        ax.legend(loc="upper right", framealpha=0.9)
        if not have:
            ax.text(0.5, 0.45, "our runs: pending\n(no finished seed yet)", ha="center",
                    transform=ax.transAxes, fontsize=11, color="0.4")
    fig.tight_layout()
    return fig


# ---- claims -------------------------------------------------------------------------------
def _cell_claims(R: Result) -> list[Claim]:
    """Each Table 1 cell once complete: within SIGMA_TOL combined σ of the paper's
    (reproduced) or not (differs, with the complementary bound); pending before."""
    cmp = {(c["net"], c["algorithm"]): c for c in comparison_rows(R.results)}
    out = []
    for net, alg in CELLS:
        name = f"cell_{net}_{alg.replace('-', '')}"
        label = f"{table1.LABELS[net]}/{table1.LABELS[alg]}"
        what = (f"{label}: our cell agrees with the paper's (|ours − paper| in combined σ)")
        paper = _paper_cell(net, alg, " %")
        if (net, alg) in cmp:
            out.append(decided(name, what, abs(cmp[(net, alg)]["diff_sigma"]), hi=SIGMA_TOL,
                               differs=f"{label}: our cell differs from the paper's "
                                       f"(|ours − paper| in combined σ)",
                               paper=paper, where="Table 1"))
        else:
            out.append(pending(name, what, paper=paper, where="Table 1"))
    return out


def _section_claims(R: Result) -> list[Claim]:
    """Sec. 8.2's statements about the whole table (pending until all 8 cells exist),
    each decided by our cells: reproduced, or differs saying what we found."""
    names = [("all_seeds_kept", "every cell keeps its six seeds (none diverged)",
              "some seed diverged", "6 seeds", "Sec. 8.1.3")]
    names += [(f"lenet_beats_mnistfc_{a.replace('-', '')}",
               f"{table1.LABELS[a]}: LeNet's error is below mnistfc's",
               f"{table1.LABELS[a]}: LeNet's error is not below mnistfc's", "LeNet better",
               "Sec. 8.2.2") for a in ALGORITHMS]
    names += [("mnistfc_below_2", "every mnistfc cell is below 2 % (all errors small)",
               "some mnistfc cell is at 2 % or above", "1.08–1.17 %", "Table 1")]
    if not R.complete:
        return [pending(n, s, paper=p, where=w) for n, s, _, p, w in names]
    rows = {(r["net"], r["algorithm"]): r for r in table1.table1_rows(R.results)}
    n, s, d, p, w = names[0]
    out = [decided_fact(n, s, all(r["n_seeds"] == N_SEEDS for r in rows.values()),
                        differs=d, paper=p, where=w)]
    for (n, s, d, p, w), a in zip(names[1:5], ALGORITHMS):
        out.append(decided_fact(n, s, rows[("lenet", a)]["error_mean"]
                                < rows[("mnistfc", a)]["error_mean"], differs=d, paper=p,
                                where=w))
    worst = max(rows[("mnistfc", a)]["error_mean"] for a in ALGORITHMS)
    n, s, d, p, w = names[5]
    out.append(decided(n, s, worst, hi=2.0, strict=True, differs=d, paper=p, where=w))
    return out


def _smoke_claims(runs: list[dict[str, Any]]) -> list[Claim]:
    """The smoke run's code-path checks (all eight cells)."""
    def expected(r):            # records at the first update after each whole eff. epoch
        return [1.0, 2.0] if r["L"] < 10 else [2.0]
    errs = {(r["net"], r["algorithm"]): [e[-1] for e in r["val_error"]] for r in runs}
    non_heat = [e for (_, a), es in errs.items() if a != "heat" for e in es]
    heat = [e for (_, a), es in errs.items() if a == "heat" for e in es]
    return [
        fact("smoke_complete", "smoke run: all 8 cells complete, seeds 0 and 1, 1,280 images",
             len(runs) == len(CELLS) and all(r["complete"] and r["seeds"] == [0, 1]
                                             and r["n_train"] == 1280 for r in runs),
             paper="—", where="code path", status="check"),
        fact("smoke_no_divergence", "smoke run: no seed diverged",
             all(d is None for r in runs for d in r["diverged"]), paper="—",
             where="code path", status="check"),
        fact("smoke_records", "smoke run: one record after each whole effective epoch",
             all(r["effective_epoch"] == expected(r) for r in runs), paper="—",
             where="Remark 22", status="check"),
        fact("smoke_seeds_differ", "smoke run: the two seeds of each cell differ",
             all(r["val_error"][0] != r["val_error"][1]
                 or r["train_loss"][0] != r["train_loss"][1] for r in runs),
             paper="independent seeds", where="Sec. 8.1.3", status="check"),
        Claim("smoke_error", "smoke run: 20 gradients bring every net far below chance "
              "(max val. error %, not HEAT)", max(non_heat), hi=30.0, strict=True,
              paper="—", where="code path", status="check"),
        Claim("smoke_error_heat", "smoke run: HEAT's single update moves below chance "
              "(max val. error %)", max(heat), hi=80.0, strict=True, paper="—",
              where="code path", status="check"),
    ]


def claims(R: Result) -> list[Claim]:
    """The chapter's checks: parameter counts, the noise reading of β_ex⁻¹, the eight
    Table 1 cells and Sec. 8.2's statements (pending until all 8 cells are complete), the
    smoke run."""
    out = [close_to(f"n_params_{n}", f"{table1.LABELS[n]} has the paper's number of "
                    f"parameters", R.n_params[n], PAPER_PARAMS[n], 0,
                    paper=f"{PAPER_PARAMS[n]:,}" if n == "lenet" else "1.86 million",
                    where="Sec. 8.2") for n in NETS]
    beta = format_setting("", experiments.EXPERIMENTS[("lenet", "entropy-sgd")]["beta_ex_inv"])
    # the std is measured on NOISE_N draws: its relative standard error is 1/√(2N)
    se = 1.0 / math.sqrt(2 * NOISE_N)
    out.append(Claim("noise_ratio", f"β_ex⁻¹ = {beta}: one inner step's noise std equals "
                     "the authors' 1e-4·√(2η_y) (ratio, within 5 standard errors of the "
                     "measured std)", R.noise["ours"] / R.noise["authors"], 1 - 5 * se,
                     1 + 5 * se,
                     paper="β_ex⁻¹ = 10⁸ (ratio %.0e)" % (R.noise["printed"]
                                                        / R.noise["authors"]),
                     where="Sec. 7.1", status="corrected"))
    out += _cell_claims(R) + _section_claims(R)
    if R.smoke_runs is not None:
        out += _smoke_claims(R.smoke_runs)
    return out
