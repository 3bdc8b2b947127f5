"""Command line: ``python -m deeprelax {train,sweep,table1,cifar,describe}``.

Presets, as in the chapters: ``paper`` (the paper's runs, a GPU) and ``fast`` (the CPU
smoke run of the same code, seconds; written under runs/smoke, never results/).

Examples::

    python -m deeprelax train --net lenet --algorithm entropy-sgd --device cuda
    python -m deeprelax sweep --nets mnistfc lenet --device cuda --max-minutes 9 \\
        --set cuda_graph=true          # rerun the same command until it says "complete"
    python -m deeprelax table1         # results/train/*.json -> results/table1.csv
    python -m deeprelax cifar subset --device cuda --max-minutes 9   # Sec. 8.3 subset
    python -m deeprelax cifar row --data-dir /path/to/data --device cuda --max-minutes 9
    python -m deeprelax train --net lenet --algorithm sgd --preset fast    # CPU check

``--set name=value`` overrides any ``deeprelax.engine.TrainParams`` field (values are JSON,
e.g. ``--set 'lr_schedule=[[0,0.1],[30,0.02]]'``, else strings).
"""
from __future__ import annotations

import argparse
import sys
import time


def _print_result(res: dict) -> None:
    from .table1 import summarize
    s = summarize(res)
    state = "complete" if res["complete"] else "INCOMPLETE (run the same command again)"
    print(f"{res.get('net')} {res['algorithm']}: {state}; best mean validation error "
          f"{s['error_mean']:.3f} ± {s['error_std']:.3f} % @ {s['effective_epoch']:.1f} "
          f"effective epochs over {s['n_seeds']} seeds; wall {res['wall_time_s']:.0f} s")
    for seed, d in zip(res["seeds"], res["diverged"]):
        if d is not None:
            print(f"  seed {seed} diverged at effective epoch {d['effective_epoch']:.2f}: "
                  f"{d['reason']}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deeprelax`` / the ``deeprelax`` script."""
    from .data import DataError
    from .params import ParamError
    try:
        return _main(argv)
    except (ParamError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    from . import table1
    from .params import parse_overrides
    ap = argparse.ArgumentParser(prog="python -m deeprelax", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
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
    t.add_argument("--csv", default=str(table1.TABLE1_CSV))
    t.add_argument("--include-smoke", action="store_true",
                   help="also summarise smoke runs (pipeline checks; never for results/)")
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
    sub.add_parser("describe", help="list the training parameters and the presets")
    args = ap.parse_args(argv)

    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    if args.cmd == "cifar":
        return _cifar(args, parse_overrides(args.set))
    if args.cmd == "describe":
        from .chapters import ch09_cifar  # noqa: F401  (registers All-CNN on CIFAR-10)
        from .engine import TrainParams
        print(TrainParams.describe())
        print(f"\npresets: {', '.join(table1.PRESETS)}; fast overrides: {table1.SMOKE}")
        for key, values in table1.EXPERIMENTS.items():
            print(f"\n{key[0]} {key[1]}: {values}")
        return 0
    if args.cmd == "table1":
        from .chapters.ch08_mnist import verdict
        results = table1.load_results(args.results_dir, include_smoke=args.include_smoke)
        if not results:
            print(f"no complete results under {args.results_dir}", file=sys.stderr)
            return 1
        rows = table1.table1_rows(results)
        path = table1.write_table1_csv(rows, args.csv)
        for c in table1.comparison(rows):
            print(verdict(c))
        print(f"wrote {path}; total wall time of these runs: "
              f"{table1.total_wall_time(results) / 60:.1f} min")
        return 0

    over = parse_overrides(args.set)
    if args.seeds:
        over["seeds"] = tuple(args.seeds)
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
    n_total = len(args.nets) * len(args.algorithms) if args.cmd == "sweep" else 1
    done = sum(r["complete"] for r in results)
    print(f"{done}/{n_total} complete after {time.perf_counter() - start:.0f} s"
          + ("" if done == n_total else "; run the same command again to continue"))
    return 0 if done == n_total else 3


def _cifar(args, over: dict) -> int:
    """``cifar row|subset``: the four All-CNN cells, resumably (chapter 09's settings)."""
    from .chapters import ch09_cifar as ch09
    from .table1 import summarize
    dataset = ch09.FULL if args.what == "row" else ch09.SUBSET
    if args.download and dataset == ch09.FULL:
        from . import cifar
        cifar.load_cifar10(args.data_dir, download=True)
    results = ch09.run_row(dataset, args.data_dir, args.device, preset=args.preset,
                           max_minutes=args.max_minutes, results_dir=args.results_dir,
                           show_progress=not args.no_progress, **over)
    for res in results:
        s = summarize(res)
        state = "complete" if res["complete"] else "INCOMPLETE"
        print(f"allcnn {res['algorithm']} on {res.get('dataset')}: {state}; best mean "
              f"validation error {s['error_mean']:.2f} ± {s['error_std']:.2f} % @ "
              f"{s['effective_epoch']} effective epochs ({s['n_seeds']} seeds)")
    n = len(ch09.ALGORITHMS)
    done = sum(r["complete"] for r in results)
    print(f"{done}/{n} complete"
          + ("" if done == n else "; run the same command again to continue"))
    return 0 if done == n else 3


if __name__ == "__main__":
    sys.exit(main())
