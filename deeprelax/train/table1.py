"""Table 1 of the paper (Secs. 8.2–8.3): its cells, our rows beside them, the CSV.

Each cell is "error ± std @ effective epoch" at the best mean validation error over the
records (``records.summarize``) of a run that ``experiments.admission`` accepts;
:func:`write_table1_csv` writes ``results/table1.csv`` with the columns
``net,algorithm,error_mean,error_std,effective_epoch,n_seeds,n_diverged,note`` (rows of
other nets already in the file are kept); :func:`comparison` sets our cells beside the
paper's in units of the combined standard deviation. Seeds that diverged are left out of
a cell's mean and reported (``n_diverged``, ``note``). The experiments themselves (nets,
data, settings, runs) are ``deeprelax.train.experiments``; the chapter pages (tables,
Figure 4) ``deeprelax.chapters.ch08_mnist`` and ``ch09_cifar``.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

from deeprelax import paths
from deeprelax.params import ParamError
from deeprelax.results import atomic_write
from deeprelax.train.experiments import ALGORITHM_ORDER, NET_ORDER, admission
from deeprelax.train.records import diverged_notes, summarize

CSV_COLUMNS = ("net", "algorithm", "error_mean", "error_std", "effective_epoch", "n_seeds",
               "n_diverged", "note")
LABELS = {"entropy-sgd": "Entropy-SGD", "heat": "HEAT", "hj": "HJ", "sgd": "SGD",
          "mnistfc": "mnistfc", "lenet": "LeNet", "allcnn": "All-CNN"}

#: A cell agrees with the paper's when |ours − paper| is within this many combined standard
#: deviations √(σ_ours² + σ_paper²) (chapters 08 and 09 decide their cells with it).
SIGMA_TOL = 3.0

# Table 1 of the paper: validation error (%) mean, std @ effective epochs
PAPER_TABLE1: dict[tuple[str, str], tuple[float, float, int]] = {
    ("mnistfc", "entropy-sgd"): (1.08, 0.02, 120), ("mnistfc", "heat"): (1.13, 0.02, 200),
    ("mnistfc", "hj"): (1.17, 0.04, 200), ("mnistfc", "sgd"): (1.10, 0.01, 194),
    ("lenet", "entropy-sgd"): (0.50, 0.01, 80), ("lenet", "heat"): (0.59, 0.02, 75),
    ("lenet", "hj"): (0.50, 0.01, 70), ("lenet", "sgd"): (0.50, 0.02, 67),
    ("allcnn", "entropy-sgd"): (7.96, 0.05, 160), ("allcnn", "heat"): (9.04, 0.04, 150),
    ("allcnn", "hj"): (7.89, 0.07, 145), ("allcnn", "sgd"): (7.94, 0.06, 195),
}


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


def write_table1_csv(rows: list[dict[str, Any]], path: str | os.PathLike | None = None
                     ) -> Path:
    """Write/merge ``results/table1.csv`` atomically (rows of other (net, algorithm) are kept).

    A table under ``results/`` holds Table 1 cells only: a row marked "NOT A TABLE 1
    CELL" (a smoke or custom run included on request) is refused there (ParamError), and
    such rows already in the file are dropped."""
    path = Path(paths.TABLE1_CSV if path is None else path)
    official = paths.under(path.parent, paths.RESULTS_DIR)
    bad = [f"{r['net']} {r['algorithm']}" for r in rows if NOT_A_CELL in str(r.get("note"))]
    if official and bad:
        raise ParamError(f"{path} is under {paths.RESULTS_DIR}, which holds Table 1 cells only; "
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


def write_row(results: list[dict[str, Any]], path: str | os.PathLike | None = None
              ) -> Path | None:
    """Merge the rows of ``results`` into ``path`` (default results/table1.csv) when every
    one is a Table 1 cell (e.g. the All-CNN row once its four cells are complete); None
    (nothing written) otherwise."""
    if not results or any(admission(r) is not None for r in results):
        return None
    rows = table1_rows({(r["net"], r["algorithm"]): r for r in results})
    return write_table1_csv(rows, paths.TABLE1_CSV if path is None else path)


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


def signed(x: float, digits: int) -> str:
    """``x`` with its sign to ``digits`` decimals ('+0.12', '-0.04'); one that rounds to
    zero without a sign ('0.00', not '-0.00')."""
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def difference(c: dict[str, Any]) -> str:
    """A row of :func:`comparison` as 'ours − paper in points (in combined σ)'."""
    return f"{signed(c['diff'], 2)} ({signed(c['diff_sigma'], 1)} σ)"


def verdict(c: dict[str, Any], tol: float = SIGMA_TOL) -> str:
    """One sentence on a cell's deviation from the paper (a row of :func:`comparison`):
    within ``tol`` combined standard deviations it agrees, else by how much it is worse or
    better; and where the best mean comes against the paper's effective epoch."""
    name = f"{LABELS.get(c['net'], c['net'])}/" \
           f"{LABELS.get(c['algorithm'], c['algorithm'])}"
    ours = f"{float(c['error_mean']):.2f} ± {float(c['error_std']):.2f} % @ " \
           f"{float(c['effective_epoch']):.0f}"
    paper = f"{c['paper_mean']:.2f} ± {c['paper_std']:.2f} % @ {c['paper_epoch']}"
    sign, sigma = "lower" if c["diff"] < 0 else "higher", signed(c["diff_sigma"], 1)
    points = "equal to two decimals" if signed(c["diff"], 2) == "0.00" else \
        f"{abs(c['diff']):.2f} points {sign}"
    if abs(c["diff_sigma"]) <= tol:
        how = (f"agrees with the paper within {tol:g} combined standard deviations "
               f"({points}, {sigma} σ)")
    elif c["diff"] > 0:
        how = f"is {c['diff']:.2f} points worse than the paper ({sigma} σ)"
    else:
        how = f"is {-c['diff']:.2f} points better than the paper ({sigma} σ)"
    return f"{name}: ours {ours} vs the paper's {paper}; it {how}."
