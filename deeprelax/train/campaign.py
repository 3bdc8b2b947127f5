"""The MNIST half of Table 1 on the CPU: 48 single-seed units, run in a fixed order, resumably.

A *unit* is one seed of one cell (Secs. 8.2.1-8.2.2): the cell's paper settings
(``experiments.EXPERIMENTS``) with ``seeds=(k,)``, trained by ``deeprelax.train.engine`` with one
torch thread. On the CPU a seed trained alone equals the same seed trained beside the
others bit for bit (the engine's loop batching; ``tests/test_engine.py``), so six finished
units are a Table 1 cell (``records.assemble_cell``, admitted by ``experiments.admission`` like
a cell trained at once).

``python -m deeprelax campaign --max-minutes 150`` runs the next unfinished units in the
order of :data:`ORDER` — LeNet's four cells first (SGD, Entropy-SGD, HJ, HEAT), then
mnistfc's; within a net seed 0 of every cell first (chapter 13 measures the seed-0 final
weights of the four LeNet cells, and Figure 4 gets a first curve of every cell), then
seeds 1-5 cell by cell — and prints, before it starts and after every unit,
the units done of 48, the CPU-hours spent and the projected remaining CPU-hours (from the
speeds of finished units, else from a short measurement of each cell). A unit in progress
is checkpointed in ``runs/units/`` (every 60 s of training and whenever the call stops)
and its partial record kept beside it; a finished unit's record is written to
``results/train/units/<net>-<algorithm>-seed<k>.json`` (checksummed, with its commit,
device, CPU model, thread count and versions) — the only files to commit. The call stops
cleanly before ``--max-minutes`` and on SIGTERM or Ctrl-C, at the end of the effective
epoch in progress (checkpoint written); the same command continues, also on a fresh
clone, from the committed units and any checkpoint present. Two campaign processes share
the work: each unit's checkpoint is locked while it trains, and a process skips the units
another holds.
"""
from __future__ import annotations

import contextlib
import math
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deeprelax import paths
from deeprelax.results import ResultError, check_dir, read_json, write_json
from deeprelax.runtime import keep_freed_memory, torch_threads
from deeprelax.train import engine, experiments, models, records
from deeprelax.train.engine import RunLockedError

NETS = ("lenet", "mnistfc")
ALGORITHMS = ("sgd", "entropy-sgd", "hj", "heat")
SEEDS = (0, 1, 2, 3, 4, 5)
#: The campaign's units in the order they run: per net, seed 0 of each cell, then the
#: other seeds cell by cell.
ORDER: tuple[tuple[str, str, int], ...] = tuple(
    (net, alg, seed) for net in NETS for first in (True, False) for alg in ALGORITHMS
    for seed in SEEDS if (seed == SEEDS[0]) == first)
EXIT_DONE, EXIT_INCOMPLETE = 0, 3


@dataclass
class Unit:
    """Where one unit stands: 'done' (finished and verified: complete or diverged),
    'partial' (a checkpointed record), or 'todo'; its effective epochs and wall time, and
    for a finished unit the CPU it ran on (model and instruction set, from its record)."""

    net: str
    algorithm: str
    seed: int
    state: str
    epochs: float
    wall_s: float
    budget: int
    cpu: str = ""

    @property
    def label(self) -> str:
        return f"{self.net} {self.algorithm} seed {self.seed}"


def unit_state(net: str, algorithm: str, seed: int,
               results_dir: str | Path = paths.TRAIN_DIR,
               runs_dir: str | Path | None = paths.UNIT_RUNS_DIR) -> Unit:
    """The state of one unit from the files (a damaged file counts as absent: its unit is
    redone, and the damaged finished record is reported by ``experiments.load_results``); with
    ``runs_dir=None`` a unit in progress counts as not started."""
    budget = experiments.EXPERIMENTS[(net, algorithm)]["effective_epochs"]
    done = experiments.read_units(net, algorithm, results_dir)
    if seed in done:
        rec = done[seed]
        prov = rec.get("provenance", {})
        cpu = " ".join(str(prov[k]) for k in ("cpu", "cpu_capability") if prov.get(k))
        return Unit(net, algorithm, seed, "done", rec["effective_epoch"][-1],
                    float(rec.get("wall_time_s", 0.0)), budget,
                    cpu if prov.get("device", "cpu") == "cpu" else str(prov.get("device_name", "")))
    if runs_dir is None:                         # finished units only
        return Unit(net, algorithm, seed, "todo", 0.0, 0.0, budget)
    path = paths.unit_checkpoint(net, algorithm, seed, runs_dir, suffix=".json")
    with contextlib.suppress(ResultError, OSError, KeyError, IndexError, TypeError):
        rec = read_json(path, require_checksum=True)
        if records.record_problem(rec) is None and rec["effective_epoch"]:
            return Unit(net, algorithm, seed, "partial", rec["effective_epoch"][-1],
                        float(rec.get("wall_time_s", 0.0)), budget)
    return Unit(net, algorithm, seed, "todo", 0.0, 0.0, budget)


def machines_label(machines: dict[str, int]) -> str:
    """'AMD EPYC AVX2 ×6, Intel Xeon AVX512 ×2' from a cell's machine counts (the
    trademark marks and the words 'Processor'/'CPU' left out), '—' for none."""
    def short(name: str) -> str:
        for word in ("(R)", "(TM)", " Processor", " CPU"):
            name = name.replace(word, "")
        return " ".join(name.split())
    return ", ".join(f"{short(m)} ×{n}" for m, n in machines.items()) or "—"


def states(results_dir: str | Path = paths.TRAIN_DIR,
           runs_dir: str | Path | None = paths.UNIT_RUNS_DIR, order=ORDER) -> list[Unit]:
    """Every unit of ``order`` (default :data:`ORDER`) with its state."""
    return [unit_state(n, a, s, results_dir, runs_dir) for n, a, s in order]


def measure_speeds(cells, show: Callable[[str], None] = print) -> dict[tuple[str, str], float]:
    """Seconds per effective epoch of one unit of each cell, measured here: about 40
    gradient evaluations of seed 0 (after a warm-up step) scaled to an effective epoch,
    plus one evaluation (BN re-estimation and test; measured once per net). A projection,
    not a result: nothing is written."""
    keep_freed_memory()
    speeds, evals = {}, {}
    for net, alg in cells:
        P = experiments.unit_params(net, alg, 0)
        with torch_threads(P.threads):
            trainer = engine.MultiSeedTrainer(lambda: models.build(net),
                                              experiments.load_data(experiments.NET_DATASET[net]), P)
            trainer._set_lr(P.lr_at(0.0))
            steps = max(1, math.ceil(40 / P.L))
            trainer.outer_steps(1)
            t0 = time.perf_counter()
            trainer.outer_steps(steps)
            per_grad = (time.perf_counter() - t0) / (steps * P.L)
            if net not in evals:
                t0 = time.perf_counter()
                trainer.evaluate()
                evals[net] = time.perf_counter() - t0
        speeds[(net, alg)] = per_grad * trainer.spe + evals[net]
        show(f"  measured {net} {alg}: {speeds[(net, alg)]:.1f} s per effective epoch "
             f"({per_grad * 1e3:.1f} ms per gradient, evaluation {evals[net]:.1f} s)")
        del trainer
    return speeds


def cell_rate(units: list[Unit], u: Unit, speeds: dict[tuple[str, str], float]) -> float:
    """Seconds per effective epoch of ``u``'s cell: the mean over the cell's units that
    have run an effective epoch, else ``speeds``, else NaN."""
    ran = [v.wall_s / v.epochs for v in units
           if (v.net, v.algorithm) == (u.net, u.algorithm) and v.epochs >= 1]
    return sum(ran) / len(ran) if ran else speeds.get((u.net, u.algorithm), math.nan)


def projection(units: list[Unit], speeds: dict[tuple[str, str], float]) -> dict[str, float]:
    """CPU-hours spent and remaining (one thread per unit): a cell's speed is the mean of
    its units' measured s per effective epoch where some have run, else ``speeds``."""
    spent = sum(u.wall_s for u in units)
    remaining, unknown = 0.0, []
    for u in units:
        if u.state == "done":
            continue
        rate = cell_rate(units, u, speeds)
        if math.isnan(rate):
            unknown.append(f"{u.net} {u.algorithm}")
            continue
        remaining += rate * max(0.0, u.budget - u.epochs)
    unknown = list(dict.fromkeys(unknown))
    return {"done": sum(u.state == "done" for u in units), "total": len(units),
            "spent_h": spent / 3600, "remaining_h": math.nan if unknown else remaining / 3600,
            "known_h": remaining / 3600, "unmeasured": unknown}


def progress_line(units: list[Unit], speeds: dict[tuple[str, str], float]) -> str:
    """'units done k/48, CPU-hours spent x, projected remaining y'."""
    p = projection(units, speeds)
    rest = f"{p['remaining_h']:.1f}" if not p["unmeasured"] else \
        f"{p['known_h']:.1f} + {len(p['unmeasured'])} cells not measured yet"
    return (f"units done {p['done']}/{p['total']}, CPU-hours spent {p['spent_h']:.2f}, "
            f"projected remaining {rest}")


class _StopFlag:
    """Set by SIGTERM or SIGINT while the campaign runs: the unit in progress finishes its
    effective epoch, saves and stops (``engine.train(should_stop=...)``)."""

    def __init__(self):
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.signal is not None

    @contextlib.contextmanager
    def installed(self):
        def handler(signum, frame):
            self.signal = signum
        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def run_unit(net: str, algorithm: str, seed: int, *, max_seconds: float | None = None,
             should_stop: Callable[[], bool] | None = None, show_progress: bool = True,
             results_dir: str | Path = paths.TRAIN_DIR,
             runs_dir: str | Path = paths.UNIT_RUNS_DIR,
             weights_dir: str | Path | None = paths.WEIGHTS_DIR) -> dict[str, Any]:
    """Train (or continue) one unit; a finished one is written to ``results_dir``/units
    and, for LeNet seed 0, its final weights to ``weights_dir`` (chapter 13 reads them).
    Raises ``engine.RunLockedError`` when another process is training it."""
    P = experiments.unit_params(net, algorithm, seed)
    ckpt = paths.unit_checkpoint(net, algorithm, seed, runs_dir)
    partial = paths.unit_checkpoint(net, algorithm, seed, runs_dir, suffix=".json")
    res = engine.train(lambda: models.build(net), experiments.load_data(experiments.NET_DATASET[net]), P, out=partial,
                       checkpoint=ckpt, max_seconds=max_seconds, should_stop=should_stop,
                       show_progress=show_progress,
                       meta={"net": net, "dataset": experiments.NET_DATASET[net],
                             "preset": "paper", "kind": "unit"})
    if records.status_of(res) in ("complete", "diverged"):
        final = paths.unit_path(net, algorithm, seed, results_dir)
        write_json(final, res)
        if weights_dir is not None and net in experiments.WEIGHTS_NETS and \
                seed in experiments.WEIGHTS_SEEDS and res["diverged"][0] is None:
            experiments.export_weights(net, algorithm, ckpt, P, weights_dir, (seed,))
    return res


def run(max_minutes: float | None = None, *, measure: bool = True, show_progress: bool = True,
        results_dir: str | Path = paths.TRAIN_DIR,
        runs_dir: str | Path = paths.UNIT_RUNS_DIR,
        weights_dir: str | Path | None = paths.WEIGHTS_DIR,
        order=ORDER, out: Callable[[str], None] = print, whole_units: bool = False) -> int:
    """Run the next unfinished units of ``order`` until they are done, ``max_minutes``
    would be passed, or SIGTERM/SIGINT arrives; returns 0 when every unit is done, else 3.
    ``whole_units``: start or continue a unit only if it is projected to finish before
    ``max_minutes`` (its cell's speed, :func:`cell_rate`, measured here first for a cell
    that has none), for a machine whose ``runs_dir`` does not outlive the call (a partial
    unit would be lost there)."""
    for folder, what in ((Path(results_dir) / paths.UNITS, "results folder"),
                         (runs_dir, "runs folder"), (weights_dir, "weights folder")):
        if folder is not None:
            check_dir(Path(folder), what)
    start = time.perf_counter()
    deadline = None if max_minutes is None else start + 60.0 * max_minutes
    units = states(results_dir, runs_dir, order)
    todo_cells = list(dict.fromkeys((u.net, u.algorithm) for u in units if u.state != "done"))
    out(f"campaign: {progress_line(units, {})}")
    speeds: dict[tuple[str, str], float] = {}
    if measure and todo_cells:
        unmeasured = [c for c in todo_cells if not any(
            (u.net, u.algorithm) == c and u.epochs >= 1 for u in units)]
        if unmeasured:
            out("measuring the speed of the cells without a finished effective epoch "
                "(one thread):")
            speeds = measure_speeds(unmeasured, out)
        out(f"projection: {progress_line(units, speeds)} (one thread per unit)")
    flag = _StopFlag()
    with flag.installed():
        for i, (net, alg, seed) in enumerate(order):
            u = unit_state(net, alg, seed, results_dir, runs_dir)
            if u.state == "done":
                continue
            if flag():
                break
            left = None if deadline is None else deadline - time.perf_counter()
            rate = u.wall_s / u.epochs if u.epochs >= 1 else speeds.get((net, alg))
            margin = 1.5 * rate if rate else 60.0
            if left is not None and left < margin:
                out(f"stopping: {left / 60:.1f} min left of --max-minutes, less than an "
                    f"effective epoch of {u.label}")
                break
            if whole_units and left is not None:        # start only a unit that can finish
                cell_s = cell_rate(units, u, speeds)
                if math.isnan(cell_s):
                    out(f"measuring the speed of {net} {alg} (--whole-units needs it):")
                    speeds.update(measure_speeds([(net, alg)], out))
                    cell_s = speeds[(net, alg)]
                need = cell_s * max(0.0, u.budget - u.epochs)
                if need + margin > left:
                    out(f"stopping: {u.label} needs about {need / 60:.0f} min, "
                        f"{left / 60:.1f} min left of --max-minutes (--whole-units: only "
                        f"units that can finish)")
                    break
            out(f"unit {u.label}: {'continuing at' if u.state == 'partial' else 'from'} "
                f"effective epoch {u.epochs:.0f} of {u.budget}")
            try:
                res = run_unit(net, alg, seed, max_seconds=None if left is None else
                               left - margin, should_stop=flag, show_progress=show_progress,
                               results_dir=results_dir, runs_dir=runs_dir,
                               weights_dir=weights_dir)
            except RunLockedError:
                out(f"unit {u.label}: another process is training it; next unit")
                continue
            units = states(results_dir, runs_dir, order)
            s = records.summarize(res)
            err = "" if s["index"] is None else \
                f", best validation error {s['error_mean']:.2f} % @ {s['effective_epoch']:.0f}"
            out(f"unit {u.label}: {records.status_of(res)}{err}, wall "
                f"{res['wall_time_s'] / 60:.1f} min | {progress_line(units, speeds)}")
            if records.status_of(res) == "incomplete":
                break
    units = states(results_dir, runs_dir, order)
    why = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "interrupt"}.get(flag.signal)
    if why:
        out(f"stopped by {why} after saving; run the same command again to continue")
    out(f"campaign: {progress_line(units, speeds)}; this call "
        f"{(time.perf_counter() - start) / 60:.1f} min")
    return EXIT_DONE if all(u.state == "done" for u in units) else EXIT_INCOMPLETE


def status_table(results_dir: str | Path = paths.TRAIN_DIR,
                 runs_dir: str | Path | None = paths.UNIT_RUNS_DIR) -> list[dict[str, Any]]:
    """Per cell: seeds finished, the unit in progress, the wall time spent, the machines
    of the finished units (name: count). With ``runs_dir=None`` only the finished units
    count (what chapter 08 shows: the committed files, not a run in progress here)."""
    rows = []
    units = states(results_dir, runs_dir)
    for net in NETS:
        for alg in ALGORITHMS:
            mine = [u for u in units if (u.net, u.algorithm) == (net, alg)]
            done = [u.seed for u in mine if u.state == "done"]
            part = [u for u in mine if u.state == "partial"]
            rows.append({"net": net, "algorithm": alg, "seeds_done": len(done),
                         "seeds": len(mine), "done": done,
                         "in_progress": [f"seed {u.seed} @ {u.epochs:.0f}/{u.budget}"
                                         for u in part],
                         "cpu_hours": sum(u.wall_s for u in mine) / 3600,
                         "machines": dict(Counter(u.cpu or "unknown" for u in mine
                                                  if u.state == "done"))})
    return rows


if __name__ == "__main__":                      # pragma: no cover
    sys.exit(run())
