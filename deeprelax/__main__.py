"""Command line: ``python -m deeprelax
{train,sweep,campaign,table1,cifar,describe,elastic,width}``.

Presets, as in the chapters: ``paper`` (the paper's runs) and ``fast`` (the CPU smoke run
of the same code, seconds; written under runs/smoke, never results/).

Examples::

    python -m deeprelax train --net lenet --algorithm entropy-sgd --device cuda
    python -m deeprelax sweep --nets mnistfc lenet --device cuda --max-minutes 9 \\
        --set cuda_graph=true          # rerun the same command until it says "complete"
    python -m deeprelax campaign --max-minutes 150   # the CPU campaign (resumes)
    python -m deeprelax table1         # results/train/*.json -> results/table1.csv
    python -m deeprelax cifar subset --device cuda --max-minutes 9   # Sec. 8.3 subset
    python -m deeprelax cifar row --data-dir /path/to/data --device cuda --max-minutes 9
    python -m deeprelax train --net lenet --algorithm sgd --preset fast    # CPU check
    python -m deeprelax elastic --nproc-per-node 4 --preset fast     # Elastic-SGD, torchrun
    python -m deeprelax width --preset paper    # chapter 13's LeNet widths (resumes)

``--set name=value`` overrides any ``deeprelax.train.engine.TrainParams`` field (values
are JSON, e.g. ``--set 'lr_schedule=[[0,0.1],[30,0.02]]'``, else strings); the device,
net, algorithm and seeds have their own flags.

Where results go (``deeprelax.train.experiments.plan``): a ``paper`` run with the paper
settings (run control such as ``--device`` or ``--set cuda_graph=true`` aside) to
``results/train``; a ``paper`` run with other settings (``--set``, ``--seeds``) is a
custom run, written to ``runs/custom/<overrides>/`` and never counted as a Table 1 cell; a
``fast`` run to ``runs/smoke``. ``table1`` summarises paper runs only
(``--include-custom`` / ``--include-smoke`` add others to a table you name with ``--csv``).

Every argument, the device and the output folders are checked before any training
starts (each run is planned once, ``experiments.plan``, and then executed). Exit status:
0 done; 2 bad input (one line on stderr: an unknown name, a missing device, an unwritable
or wrong-kind folder, a corrupt checkpoint or result); 3 incomplete (run the same command
again to continue); 4 a cell whose seeds all diverged; ``elastic`` also 5 (a replica lost).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from deeprelax import paths
from deeprelax.params import ParamError, parse_overrides
from deeprelax.results import ResultError, check_dir
from deeprelax.train import campaign, cifar, distributed, experiments, records, table1, width
from deeprelax.train.checkpoint import EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INCOMPLETE
from deeprelax.train.data import DataError
from deeprelax.train.engine import TrainParams

# TrainParams fields with a flag of their own: --set NAME=... is refused for them
OWN_FLAGS = {"device": "--device", "algorithm": "--algorithm / --algorithms"}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deeprelax`` / the ``deeprelax`` script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser().parse_args(argv)
        if args.cmd == "elastic":            # its own exit statuses and messages
            return distributed.main(args, argv[argv.index("elastic") + 1:])
        return COMMANDS[args.cmd](args)
    except (ParamError, DataError, ResultError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept: run the same command again to "
              "continue", file=sys.stderr)
        return 130


# ---- the one parser --------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    """Every command and its flags."""
    ap = argparse.ArgumentParser(prog="python -m deeprelax", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (>= 1)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    _run_flags(sub.add_parser("train", help="train one (net, algorithm), all seeds at once"),
               many=False)
    _run_flags(sub.add_parser("sweep", help="train every (net, algorithm) in turn, "
                              "resumably"), many=True)
    t = sub.add_parser("table1", help="summarise results/train/*.json into "
                       "results/table1.csv")
    t.add_argument("--results-dir", default=None, help="default: results/train")
    t.add_argument("--csv", default=None, help="default: results/table1.csv (paper cells "
                   "only; with --include-* a --csv is required)")
    t.add_argument("--include-smoke", action="store_true",
                   help="also summarise smoke runs (pipeline checks; never for results/)")
    t.add_argument("--include-custom", action="store_true",
                   help="also summarise custom runs (not the paper settings)")
    c = sub.add_parser("cifar", help="train the All-CNN row (Sec. 8.3) resumably: 'row' on "
                       "the full CIFAR-10 (then its rows of results/table1.csv), 'subset' the "
                       "small-data experiment (results/cifar10-subset/)")
    c.add_argument("what", choices=("row", "subset"))
    c.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py/ "
                   "or cifar-10-python.tar.gz (default: $DEEPRELAX_DATA)")
    c.add_argument("--download", action="store_true",
                   help="let torchvision download the full data set into --data-dir")
    _run_flags(c, many=None)
    k = sub.add_parser("campaign", help="the MNIST half of Table 1 on the CPU: the next "
                       "unfinished single-seed units (LeNet first), resumably; see "
                       "deeprelax.train.campaign")
    k.add_argument("--max-minutes", type=float, default=None,
                   help="stop cleanly (checkpoint written) before this much wall time")
    k.add_argument("--status", action="store_true",
                   help="print where every cell stands and the projection; train nothing")
    k.add_argument("--no-measure", action="store_true",
                   help="project from finished units only (no speed measurement)")
    k.add_argument("--whole-units", action="store_true",
                   help="start or continue a unit only if it is projected to finish within "
                        "--max-minutes (where runs/ does not outlive the call)")
    k.add_argument("--no-progress", action="store_true")
    sub.add_parser("describe", help="list the training parameters and the presets")
    _elastic_flags(sub.add_parser("elastic", usage=distributed.USAGE,
                                  help="Elastic-SGD / Parle, one replica per process, "
                                  "under torchrun (see deeprelax.train.distributed)"))
    w = sub.add_parser("width", help="chapter 13: train the four nets, measure the width of "
                       "their minima, print the tables; a LeNet run is saved after each "
                       "algorithm and resumes (see deeprelax.train.width)")
    w.add_argument("--preset", default="paper", help="paper (LeNet; the committed result "
                   "with its settings) or fast (the small net mlp7)")
    w.add_argument("overrides", nargs="*", metavar="NAME=VALUE",
                   help="any width.Params field, e.g. effective_epochs=20 (JSON values)")
    return ap


def _run_flags(p: argparse.ArgumentParser, many: bool | None) -> None:
    """Flags of a training command: one cell (train), several (sweep), or the All-CNN
    row (cifar: ``many=None``)."""
    if many:
        p.add_argument("--nets", nargs="+", default=["mnistfc", "lenet"])
        p.add_argument("--algorithms", nargs="+",
                       default=list(experiments.ALGORITHM_ORDER))
    elif many is False:
        p.add_argument("--net", required=True)
        p.add_argument("--algorithm", required=True)
    p.add_argument("--preset", default="paper", help="paper or fast (CPU check)")
    p.add_argument("--device", default="cpu")
    if many is not None:
        p.add_argument("--seeds", nargs="+", type=int, default=None)
        p.add_argument("--runs-dir", default=experiments.AUTO, help="checkpoints "
                       "(default: runs/)")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop (resumably) after this much wall time")
    p.add_argument("--results-dir", default=experiments.AUTO,
                   help="default: results/train (paper), runs/smoke (fast), "
                   "results/cifar10-subset (cifar subset)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--no-progress", action="store_true")


def _elastic_flags(ap: argparse.ArgumentParser) -> None:
    """Flags of ``elastic`` (``deeprelax.train.distributed``); the launch flags start
    torchrun and are not passed on to the ranks."""
    D = distributed
    ap.add_argument("--algorithm", default="elastic", choices=D.ALGORITHMS)
    ap.add_argument("--net", choices=D.NETS, help="network (default lenet)")
    ap.add_argument("--preset", default="fast", choices=sorted(D.ElasticParams.PRESETS))
    ap.add_argument("--tau", type=int, help="communication period (rounds per all_reduce)")
    ap.add_argument("--gamma", type=float, help="γ₀ of the elastic coupling (ρ = 1/γ)")
    ap.add_argument("--reference", choices=D.REFERENCES)
    ap.add_argument("--backend", choices=D.BACKENDS)
    ap.add_argument("--device", choices=("cpu", "cuda"))
    ap.add_argument("--timeout", type=float, help="process-group timeout in seconds")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                    help="any other ElasticParams field (JSON values)")
    ap.add_argument("--out", help="result JSON (default runs/elastic/<label>.json)")
    ap.add_argument("--checkpoint-dir", help="checkpoint folder (default: beside --out)")
    ap.add_argument("--stop-after", type=int, help="stop after this many effective epochs")
    ap.add_argument("--nproc-per-node", type=int, help="start torchrun with N processes "
                    "here and exit with the ranks' outcome (without torchrun)")
    ap.add_argument("--nnodes", type=int, default=1, help="with --nproc-per-node: machines "
                    "(the same command on each, with --rdzv-endpoint)")
    ap.add_argument("--rdzv-endpoint", help="with --nproc-per-node: HOST:PORT of the c10d "
                    "rendezvous (default: --standalone on one machine)")
    ap.add_argument("--rdzv-id", default="deeprelax", help="with --rdzv-endpoint: run id")
    ap.add_argument("--join-timeout", type=int, default=60,
                    help="with --rdzv-endpoint: seconds for the rendezvous to form")


# ---- training commands: plan every run, then execute ---------------------------------------
def _overrides(args) -> dict:
    """``--set`` (and ``--seeds``) as TrainParams overrides, checked (ParamError)."""
    if args.threads is not None:
        if args.threads < 1:
            raise ParamError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ParamError(f"--max-minutes must be > 0, got {args.max_minutes}")
    over = parse_overrides(args.set)
    for name, flag in OWN_FLAGS.items():
        if name in over:
            raise ParamError(f"--set {name}=... is not allowed: use {flag}")
    if getattr(args, "seeds", None):
        if "seeds" in over:
            raise ParamError("give the seeds once: --seeds or --set seeds=..., not both")
        over["seeds"] = tuple(args.seeds)
    return over


def _train(args) -> int:
    """``train`` / ``sweep``: the cells' plans (all checked first), then each in turn."""
    over = _overrides(args)
    nets, algs = ([args.net], [args.algorithm]) if args.cmd == "train" else \
        (args.nets, args.algorithms)
    plans = experiments.plans(nets, algs, args.preset, args.device,
                              results_dir=args.results_dir, runs_dir=args.runs_dir, **over)
    return _execute(plans, args)


def _cifar(args) -> int:
    """``cifar row|subset``: the four All-CNN cells, resumably; a complete full-data row
    goes into table1.csv beside its results folder."""
    over = _overrides(args)
    dataset = experiments.CIFAR10 if args.what == "row" else experiments.CIFAR10_SUBSET
    plans = experiments.plans(("allcnn",), experiments.ALGORITHM_ORDER, args.preset,
                              args.device, dataset=dataset, data_dir=args.data_dir,
                              results_dir=args.results_dir, **over)
    if args.download and dataset == experiments.CIFAR10:
        cifar.load_cifar10(args.data_dir, download=True)
    return _execute(plans, args, lambda r: f"allcnn {r['algorithm']} on {r.get('dataset')}")


def _execute(plans: list[experiments.Plan], args, label=None) -> int:
    """Run ``plans`` in turn within --max-minutes; print each outcome; the exit status."""
    if any(p.kind == "custom" for p in plans):
        print(f"note: not the paper settings; results go to {paths.CUSTOM_DIR}/... and are "
              f"not Table 1 cells", file=sys.stderr)
    start = time.perf_counter()
    results = experiments.sweep(
        plans, max_seconds=None if args.max_minutes is None else 60 * args.max_minutes,
        show_progress=not args.no_progress)
    for res in results:
        _print_result(res, label(res) if label else None)
    if args.cmd == "cifar" and plans[0].dataset == experiments.CIFAR10 and \
            plans[0].out is not None:
        table1.write_row(results, plans[0].out.parent.parent / paths.TABLE1_CSV.name)
    code, text = _exit_status(results, len(plans))
    print(f"{text} after {time.perf_counter() - start:.0f} s")
    return code


def _print_result(res: dict, label: str | None = None) -> None:
    s = records.summarize(res)
    state = {"complete": "complete",
             "diverged": "DIVERGED in every seed (not a result)",
             "incomplete": "INCOMPLETE (run the same command again)"}[records.status_of(res)]
    label = label or f"{res.get('net')} {res['algorithm']}"
    numbers = (f"; best mean validation error {s['error_mean']:.3f} ± {s['error_std']:.3f} % "
               f"@ {s['effective_epoch']:.1f} effective epochs over {s['n_seeds']} seeds"
               if s["index"] is not None else "; no seed left to summarise")
    print(f"{label}: {state}{numbers}; wall {res['wall_time_s']:.0f} s")
    if res.get("kind") == "custom":
        print("  a custom run (not the paper settings): never a Table 1 cell")
    for note in records.diverged_notes(res):
        print(f"  {note}")


def _exit_status(results: list[dict], n_total: int) -> tuple[int, str]:
    states = [records.status_of(r) for r in results]
    done, diverged = states.count("complete"), states.count("diverged")
    text = f"{done}/{n_total} complete"
    if diverged:
        text += f"; {diverged} diverged in every seed (see above)"
    if done + diverged < n_total:
        text += "; run the same command again to continue"
        return EXIT_INCOMPLETE, text
    return (EXIT_DIVERGED if diverged else 0), text


# ---- the other commands ----------------------------------------------------------------------
def _campaign(args) -> int:
    """``campaign``: the next units of the CPU campaign, or ``--status``."""
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ParamError(f"--max-minutes must be > 0, got {args.max_minutes}")
    if args.threads is not None:
        raise ParamError("--threads does not apply to the campaign: every unit trains with "
                         "the thread count of the paper settings (TrainParams.threads)")
    if args.status:
        for row in campaign.status_table():
            extra = f"; in progress: {', '.join(row['in_progress'])}" \
                if row["in_progress"] else ""
            print(f"{row['net']:8s} {row['algorithm']:12s} seeds done "
                  f"{row['seeds_done']}/{row['seeds']} {row['done']}{extra}; "
                  f"{row['cpu_hours']:.2f} CPU-hours"
                  + (f" on {campaign.machines_label(row['machines'])}" if row["machines"] else ""))
        units = campaign.states()
        speeds = {} if args.no_measure else campaign.measure_speeds(list(dict.fromkeys(
            (u.net, u.algorithm) for u in units if u.state != "done")))
        print(campaign.progress_line(units, speeds))
        return 0
    if args.whole_units and args.max_minutes is None:
        raise ParamError("--whole-units needs --max-minutes (the time a unit must fit in)")
    return campaign.run(args.max_minutes, measure=not args.no_measure,
                        show_progress=not args.no_progress, whole_units=args.whole_units)


def _table1(args) -> int:
    """``table1``: the paper cells under --results-dir into the CSV; the rest listed."""
    folder = Path(args.results_dir) if args.results_dir else paths.TRAIN_DIR
    if folder.exists() and not folder.is_dir():
        raise ParamError(f"--results-dir {folder} is a file, not a folder")
    if args.csv is None and (args.include_smoke or args.include_custom):
        raise ParamError(f"{paths.TABLE1_CSV} holds paper cells only; with --include-smoke "
                         f"or --include-custom give --csv PATH for the other table")
    csv_path = Path(args.csv) if args.csv is not None else paths.TABLE1_CSV
    if csv_path.is_dir():
        raise ParamError(f"--csv {csv_path} is a folder; give a file name")
    check_dir(csv_path.parent, "--csv folder")
    refused: list = []
    results = experiments.load_results(folder, include_smoke=args.include_smoke,
                                       include_custom=args.include_custom, refused=refused)
    for path, why in refused:
        print(f"not a Table 1 cell, left out: {path}: {why}")
    if not results:
        print(f"no Table 1 cells under {folder}", file=sys.stderr)
        return 1
    rows = table1.table1_rows(results)
    path = table1.write_table1_csv(rows, csv_path)
    for c in table1.comparison(rows):
        print(table1.verdict(c))
    for row in rows:
        if row["note"]:
            print(f"  {row['net']} {row['algorithm']}: {row['note']}")
    print(f"wrote {path}; total wall time of these runs: "
          f"{table1.total_wall_time(results) / 60:.1f} min")
    return 0


def _describe(args) -> int:
    """``describe``: the training parameters, the presets and every experiment."""
    print(TrainParams.describe())
    print(f"\npresets: {', '.join(experiments.PRESETS)}; fast overrides: {experiments.SMOKE} "
          f"(All-CNN: {experiments.SMOKE_CIFAR})")
    for key, values in experiments.EXPERIMENTS.items():
        print(f"\n{key[0]} {key[1]}: {values}")
    return 0


def _width(args) -> int:
    """``width``: ``width.run`` with the preset and NAME=VALUE overrides (all checked before
    any work), then its tables; a LeNet result is saved after each algorithm at
    ``width.result_path`` (``results/width-of-minima-lenet.json`` only with the paper
    preset's settings, else under runs/ch13/), and the same command again continues."""
    if args.threads is not None:
        if args.threads < 1:
            raise ParamError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    P = width.Params.from_preset(args.preset, **parse_overrides(args.overrides, "width"))
    start = time.perf_counter()
    print(width.tables_text(width.run(P)), end="")
    path = width.result_path(P)
    print(f"done in {time.perf_counter() - start:.0f} s"
          + (f"; saved {path}" if path is not None else ""))
    return 0


COMMANDS = {"train": _train, "sweep": _train, "cifar": _cifar, "campaign": _campaign,
            "table1": _table1, "describe": _describe, "width": _width}


if __name__ == "__main__":
    sys.exit(main())
