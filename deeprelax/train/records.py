"""Reading a result record of ``deeprelax.train.engine`` (one run, or a cell assembled from
single-seed units): its shape, its status, its diverged seeds, its best mean validation
error and its curves. Nothing here knows the paper's settings (that is
``deeprelax.train.experiments``)."""
from __future__ import annotations

import math
import statistics
from typing import Any

from deeprelax import paths
from deeprelax.params import ParamError
from deeprelax.train.engine import TrainParams


def status_of(result: dict[str, Any]) -> str:
    """'complete', 'diverged' (every seed) or 'incomplete' (records before ``status``
    existed: from ``complete``)."""
    return result.get("status") or ("complete" if result.get("complete") else "incomplete")


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
    P = TrainParams.checked(**{k: v for k, v in params.items()})
    first = recs[0]
    out = {k: first[k] for k in ("schema", "net", "dataset", "algorithm", "L",
                                 "steps_per_effective_epoch", "n_train", "n_test",
                                 "n_parameters", "loss_bound", "n_classes") if k in first}
    status = "diverged" if all(r["diverged"][0] is not None for r in recs) else \
        "complete" if all(status_of(r) in ("complete", "diverged") for r in recs) else \
        "incomplete"
    out.update({
        "preset": "paper", "kind": "paper", "assembled_from": paths.UNITS,
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
