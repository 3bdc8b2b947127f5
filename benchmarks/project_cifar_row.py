"""Projected GPU time of the full All-CNN row (Sec. 8.3) from the engine benchmark.

    python benchmarks/bench_engine.py --device cuda   # all nets -> results/benchmark-<gpu>.json
    python benchmarks/project_cifar_row.py             # prints the projection

Reads the All-CNN entry (seconds per effective epoch per seed of the multi-seed engine,
full-size 50,000-image epochs) of the newest ``results/benchmark-*.json`` and multiplies it
by the row's budgets (``deeprelax.chapters.ch09_cifar.EXPERIMENTS``: 4 algorithms × 6
seeds × 200 effective epochs) plus the BN re-estimation and test passes
(``ch09_cifar.projected_row_seconds``). The result is a projection, not a measurement
(the row itself is trained by ``python -m deeprelax cifar row``). Prints only; no timing
is asserted anywhere.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from deeprelax.chapters import ch09_cifar
    from deeprelax.results import RESULTS_DIR
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results-dir", default=str(RESULTS_DIR))
    ap.add_argument("--engine-s-per-epoch", type=float, default=None,
                    help="use this measured value instead of reading a benchmark file")
    args = ap.parse_args(argv)
    if args.engine_s_per_epoch is not None:
        s, where = args.engine_s_per_epoch, "the --engine-s-per-epoch value"
    else:
        entry = ch09_cifar.benchmark_entry(args.results_dir)
        if entry is None:
            print(f"no All-CNN entry in {args.results_dir}/benchmark-*.json; run on a GPU: "
                  f"{ch09_cifar.COMMANDS['benchmark']}", file=sys.stderr)
            return 1
        s = entry["engine_s_per_epoch"]
        where = f"{entry['file']} ({entry['device']}; engine/eager ratio {entry['ratio']:.1f})"
    proj = ch09_cifar.projected_row_seconds(s)
    print(f"All-CNN-C: {s:.3f} s per effective epoch per seed, from {where}")
    for alg, cfg in ch09_cifar.EXPERIMENTS.items():
        print(f"  {alg:>11s}: {cfg['effective_epochs']} effective epochs x "
              f"{len(cfg['seeds'])} seeds -> {proj[alg] / 60:7.1f} min (projected)")
    print(f"projected full row: {proj['total'] / 3600:.2f} GPU-hours on that device "
          f"(a projection from the benchmark, not a measured run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
