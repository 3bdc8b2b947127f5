"""Command line: ``python -m deeprelax {train,sweep,campaign,table1,cifar,describe}``.

Presets, as in the chapters: ``paper`` (the paper's runs, a GPU) and ``fast`` (the CPU
smoke run of the same code, seconds; written under runs/smoke, never results/).

Examples::

    python -m deeprelax train --net lenet --algorithm entropy-sgd --device cuda
    python -m deeprelax sweep --nets mnistfc lenet --device cuda --max-minutes 9 \\
        --set cuda_graph=true          # rerun the same command until it says "complete"
    python -m deeprelax campaign --max-minutes 150   # the CPU campaign (resumes)
    python -m deeprelax table1         # results/train/*.json -> results/table1.csv
    python -m deeprelax cifar subset --device cuda --max-minutes 9   # Sec. 8.3 subset
    python -m deeprelax cifar row --data-dir /path/to/data --device cuda --max-minutes 9
    python -m deeprelax train --net lenet --algorithm sgd --preset fast    # CPU check

``--set name=value`` overrides any ``deeprelax.train.engine.TrainParams`` field (values are JSON,
e.g. ``--set 'lr_schedule=[[0,0.1],[30,0.02]]'``, else strings); the device, net,
algorithm and seeds have their own flags.

Where results go: a ``paper`` run with the paper settings (run control such as
``--device`` or ``--set cuda_graph=true`` aside) to ``results/train``; a ``paper`` run
with other settings (``--set``, ``--seeds``) is a custom run, written to
``runs/custom/<overrides>/`` and never counted as a Table 1 cell; a ``fast`` run to
``runs/smoke``. ``table1`` summarises paper runs only (``--include-custom`` /
``--include-smoke`` add others to a table you name with ``--csv``).

Every argument, the device and the output folders are checked before any training
starts. Exit status: 0 done; 2 bad input (one line on stderr: an unknown name, a missing
device, an unwritable or wrong-kind folder, a corrupt checkpoint or result); 3
incomplete (run the same command again to continue); 4 a cell whose seeds all diverged.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_DIVERGED = 2, 3, 4
# TrainParams fields with a flag of their own: --set NAME=... is refused for them
OWN_FLAGS = {"device": "--device", "algorithm": "--algorithm / --algorithms"}


def _print_result(res: dict, label: str | None = None) -> None:
    from deeprelax.train.table1 import diverged_notes, status_of, summarize
    s = summarize(res)
    status = status_of(res)
    state = {"complete": "complete",
             "diverged": "DIVERGED in every seed (not a result)",
             "incomplete": "INCOMPLETE (run the same command again)"}[status]
    label = label or f"{res.get('net')} {res['algorithm']}"
    numbers = (f"; best mean validation error {s['error_mean']:.3f} ± {s['error_std']:.3f} % "
               f"@ {s['effective_epoch']:.1f} effective epochs over {s['n_seeds']} seeds"
               if s["index"] is not None else "; no seed left to summarise")
    print(f"{label}: {state}{numbers}; wall {res['wall_time_s']:.0f} s")
    if res.get("kind") == "custom":
        print("  a custom run (not the paper settings): never a Table 1 cell")
    for note in diverged_notes(res):
        print(f"  {note}")


def _exit_status(results: list[dict], n_total: int) -> tuple[int, str]:
    from deeprelax.train.table1 import status_of
    states = [status_of(r) for r in results]
    done, diverged = states.count("complete"), states.count("diverged")
    text = f"{done}/{n_total} complete"
    if diverged:
        text += f"; {diverged} diverged in every seed (see above)"
    if done + diverged < n_total:
        text += "; run the same command again to continue"
        return EXIT_INCOMPLETE, text
    return (EXIT_DIVERGED if diverged else 0), text


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deeprelax`` / the ``deeprelax`` script."""
    from deeprelax.train.data import DataError
    from deeprelax.params import ParamError
    from deeprelax.results import ResultError
    rest = sys.argv[1:] if argv is None else list(argv)
    if rest[:1] == ["elastic"]:          # torchrun ... -m deeprelax elastic (own parser)
        from deeprelax.train.distributed import main as elastic_main
        return elastic_main(rest[1:])
    try:
        return _main(argv)
    except (ParamError, DataError, ResultError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept: run the same command again to "
              "continue", file=sys.stderr)
        return 130


def _check_run_args(args, over: dict) -> None:
    """Checks shared by train, sweep and cifar, before any work (ParamError, one line)."""
    from deeprelax.params import ParamError
    from deeprelax.runtime import check_device
    from deeprelax.train.table1 import _preset
    _preset(args.preset)
    check_device(args.device)
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise ParamError(f"--max-minutes must be > 0, got {args.max_minutes}")
    for name, flag in OWN_FLAGS.items():
        if name in over:
            raise ParamError(f"--set {name}=... is not allowed: use {flag}")


def _check_outputs(plans) -> None:
    """Every (P, out, checkpoint, kind) of :func:`table1.plan`: folders writable and of
    the right kind, before any work."""
    from deeprelax.params import ParamError
    from deeprelax.results import check_dir
    for _, out, ckpt, _ in plans:
        for path, flag in ((out, "--results-dir"), (ckpt, "--runs-dir")):
            if path is None:
                continue
            if path.is_dir():
                raise ParamError(f"{flag}: {path} is a folder where a file belongs; remove it")
            check_dir(path.parent, flag)


def _note_custom(plans) -> None:
    from deeprelax.train.table1 import CUSTOM_DIR
    if any(kind == "custom" for *_, kind in plans):
        print(f"note: not the paper settings; results go to {CUSTOM_DIR}/... and are not "
              f"Table 1 cells", file=sys.stderr)


def _main(argv: list[str] | None) -> int:
    from deeprelax.train import table1
    from deeprelax.params import parse_overrides
    ap = argparse.ArgumentParser(prog="python -m deeprelax", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (>= 1)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, many: bool):
        if many:
            p.add_argument("--nets", nargs="+", default=["mnistfc", "lenet"])
            p.add_argument("--algorithms", nargs="+", default=list(table1.ALGORITHM_ORDER))
        else:
            p.add_argument("--net", required=True)
            p.add_argument("--algorithm", required=True)
        p.add_argument("--preset", default="paper", help="paper (GPU) or fast (CPU check)")
        p.add_argument("--device", default="cpu")
        p.add_argument("--seeds", nargs="+", type=int, default=None)
        p.add_argument("--max-minutes", type=float, default=None,
                       help="stop (resumably) after this much wall time")
        p.add_argument("--results-dir", default=table1.AUTO,
                       help="default: results/train (paper) or runs/smoke (fast)")
        p.add_argument("--runs-dir", default=str(table1.RUNS_DIR), help="checkpoints")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
        p.add_argument("--no-progress", action="store_true")

    common(sub.add_parser("train", help="train one (net, algorithm), all seeds at once"), False)
    common(sub.add_parser("sweep", help="train every (net, algorithm) in turn, resumably"),
           True)
    t = sub.add_parser("table1", help="summarise results/train/*.json into results/table1.csv")
    t.add_argument("--results-dir", default=str(table1.TRAIN_DIR))
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
    c.add_argument("--preset", default="paper", help="paper (GPU) or fast (CPU check)")
    c.add_argument("--device", default="cpu")
    c.add_argument("--max-minutes", type=float, default=None,
                   help="stop (resumably) after this much wall time")
    c.add_argument("--results-dir", default=None, help="default: results/train (row), "
                   "results/cifar10-subset (subset), runs/smoke (fast)")
    c.add_argument("--download", action="store_true",
                   help="let torchvision download the full data set into --data-dir")
    c.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    c.add_argument("--no-progress", action="store_true")
    k = sub.add_parser("campaign", help="the MNIST half of Table 1 on the CPU: the next "
                       "unfinished single-seed units (LeNet first), resumably; see "
                       "deeprelax.train.campaign")
    k.add_argument("--max-minutes", type=float, default=None,
                   help="stop cleanly (checkpoint written) before this much wall time")
    k.add_argument("--status", action="store_true",
                   help="print where every cell stands and the projection; train nothing")
    k.add_argument("--no-measure", action="store_true",
                   help="project from finished units only (no speed measurement)")
    k.add_argument("--no-progress", action="store_true")
    sub.add_parser("describe", help="list the training parameters and the presets")
    sub.add_parser("elastic", add_help=False, help="Elastic-SGD / Parle, one replica per "
                   "process, under torchrun (see deeprelax.train.distributed)")
    args = ap.parse_args(argv)

    if args.threads is not None:
        if args.threads < 1:
            from deeprelax.params import ParamError
            raise ParamError(f"--threads must be >= 1, got {args.threads}")
        import torch
        torch.set_num_threads(args.threads)
    if args.cmd == "cifar":
        return _cifar(args, parse_overrides(args.set))
    if args.cmd == "describe":
        from deeprelax.chapters import ch09_cifar  # noqa: F401  (registers All-CNN on CIFAR-10)
        from deeprelax.train.engine import TrainParams
        print(TrainParams.describe())
        print(f"\npresets: {', '.join(table1.PRESETS)}; fast overrides: {table1.SMOKE}")
        for key, values in table1.EXPERIMENTS.items():
            print(f"\n{key[0]} {key[1]}: {values}")
        return 0
    if args.cmd == "table1":
        return _table1(args)
    if args.cmd == "campaign":
        return _campaign(args)

    over = parse_overrides(args.set)
    _check_run_args(args, over)
    if args.seeds:
        if "seeds" in over:
            from deeprelax.params import ParamError
            raise ParamError("give the seeds once: --seeds or --set seeds=..., not both")
        over["seeds"] = tuple(args.seeds)
    cells = [(args.net, args.algorithm)] if args.cmd == "train" else \
        [(n, a) for n in args.nets for a in args.algorithms]
    plans = [table1.plan(n, a, args.preset, args.device, results_dir=args.results_dir,
                         runs_dir=args.runs_dir, **over) for n, a in cells]
    _check_outputs(plans)
    for (net, _), (_, out, _, kind) in zip(cells, plans):
        table1.check_weights_folder(net, kind, out)
    _note_custom(plans)
    kw = dict(preset=args.preset, device=args.device, results_dir=args.results_dir,
              runs_dir=args.runs_dir, show_progress=not args.no_progress,
              max_seconds=None if args.max_minutes is None else 60 * args.max_minutes, **over)
    start = time.perf_counter()
    if args.cmd == "train":
        results = [table1.run(args.net, args.algorithm, **kw)]
    else:
        results = table1.sweep(args.nets, args.algorithms, **kw)
    for res in results:
        _print_result(res)
    code, text = _exit_status(results, len(cells))
    print(f"{text} after {time.perf_counter() - start:.0f} s")
    return code


def _campaign(args) -> int:
    """``campaign``: the next units of the CPU campaign, or ``--status``."""
    from deeprelax.train import campaign
    from deeprelax.params import ParamError
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
                  f"{row['cpu_hours']:.2f} CPU-hours")
        units = campaign.states()
        speeds = {} if args.no_measure else campaign.measure_speeds(list(dict.fromkeys(
            (u.net, u.algorithm) for u in units if u.state != "done")))
        print(campaign.progress_line(units, speeds))
        return 0
    return campaign.run(args.max_minutes, measure=not args.no_measure,
                        show_progress=not args.no_progress)


def _table1(args) -> int:
    """``table1``: the paper cells under --results-dir into the CSV; the rest listed."""
    from deeprelax.train import table1
    from deeprelax.chapters import ch09_cifar  # noqa: F401  (registers All-CNN's experiments)
    from deeprelax.chapters.ch08_mnist import verdict
    from deeprelax.params import ParamError
    from deeprelax.results import check_dir
    folder = Path(args.results_dir)
    if folder.exists() and not folder.is_dir():
        raise ParamError(f"--results-dir {folder} is a file, not a folder")
    if args.csv is None and (args.include_smoke or args.include_custom):
        raise ParamError(f"{table1.TABLE1_CSV} holds paper cells only; with --include-smoke "
                         f"or --include-custom give --csv PATH for the other table")
    csv_path = Path(args.csv) if args.csv is not None else table1.TABLE1_CSV
    if csv_path.is_dir():
        raise ParamError(f"--csv {csv_path} is a folder; give a file name")
    check_dir(csv_path.parent, "--csv folder")
    refused: list = []
    results = table1.load_results(folder, include_smoke=args.include_smoke,
                                  include_custom=args.include_custom, refused=refused)
    for path, why in refused:
        print(f"not a Table 1 cell, left out: {path}: {why}")
    if not results:
        print(f"no Table 1 cells under {folder}", file=sys.stderr)
        return 1
    rows = table1.table1_rows(results)
    path = table1.write_table1_csv(rows, csv_path)
    for c in table1.comparison(rows):
        print(verdict(c))
    for row in rows:
        if row["note"]:
            print(f"  {row['net']} {row['algorithm']}: {row['note']}")
    print(f"wrote {path}; total wall time of these runs: "
          f"{table1.total_wall_time(results) / 60:.1f} min")
    return 0


def _cifar(args, over: dict) -> int:
    """``cifar row|subset``: the four All-CNN cells, resumably (chapter 09's settings)."""
    from deeprelax.train import table1
    from deeprelax.chapters import ch09_cifar as ch09
    _check_run_args(args, over)
    dataset = ch09.FULL if args.what == "row" else ch09.SUBSET
    fast = args.preset == "fast"
    extra = {a: dict(ch09.smoke_overrides(a), **over) if fast else over
             for a in ch09.ALGORITHMS}
    runs_dir = table1.RUNS_DIR if dataset == ch09.FULL else ch09.SUBSET_RUNS
    results_dir = args.results_dir
    if results_dir is None and not fast:
        custom = [a for a in ch09.ALGORITHMS if not table1.is_paper(
            table1.experiment(ch09.NET, a, "paper", args.device, **over), ch09.NET, a)]
        results_dir = ch09.results_folder(dataset) if not custom else \
            table1.CUSTOM_DIR / table1.custom_tag(over) / ch09.results_folder(dataset).name
    plans = [table1.plan(ch09.NET, a, args.preset, args.device,
                         results_dir=table1.AUTO if results_dir is None else results_dir,
                         runs_dir=runs_dir, **extra[a]) for a in ch09.ALGORITHMS]
    _check_outputs(plans)
    _note_custom(plans)
    if args.download and dataset == ch09.FULL:
        from deeprelax.train import cifar
        cifar.load_cifar10(args.data_dir, download=True)
    results = ch09.run_row(dataset, args.data_dir, args.device, preset=args.preset,
                           max_minutes=args.max_minutes, results_dir=results_dir,
                           show_progress=not args.no_progress, **over)
    for res in results:
        _print_result(res, f"allcnn {res['algorithm']} on {res.get('dataset')}")
    code, text = _exit_status(results, len(ch09.ALGORITHMS))
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
