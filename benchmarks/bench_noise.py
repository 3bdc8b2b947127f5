"""Nanoseconds per standard normal of the Gaussian sources an optimizer's noise could use,
on one thread, for one draw of every weight of mnistfc (1.87 million normals).

    python benchmarks/bench_noise.py [--n 1870000] [--repeats 5]

- ``torch generator``: ``torch.randn(n, generator=g, out=buf)``, torch's CPU generator
  (what Entropy-SGD's Langevin noise and HEAT's perturbations draw on the CPU: the
  engine's default ``noise_rng``);
- ``hash``: ``rng.random_normal`` keyed by (seed, gradient counter) like the dropout masks
  (``noise_rng="hash"``);
- ``numpy ziggurat``: ``Generator.standard_normal(dtype=float32)`` (for comparison only);
- ``memory pass``: one in-place add over the same buffer, the cost floor of touching it.

The sources are timed in turn, ``--repeats`` rounds, and the fastest round of each is
printed with its ratio to torch's, so a loaded machine slows all of them alike.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deeprelax.train.rng import random_normal, stream_key  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_870_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    n = args.n
    gen = torch.Generator().manual_seed(0)
    buf = torch.empty(n)
    key = stream_key(torch.tensor(0), 1, 7)
    rng = np.random.default_rng(0)
    out = np.empty(n, np.float32)
    sources = {"torch generator": lambda: torch.randn(n, generator=gen, out=buf),
               "hash": lambda: random_normal(key, n),
               "numpy ziggurat": lambda: rng.standard_normal(n, dtype=np.float32, out=out),
               "memory pass": lambda: buf.add_(1.0)}
    best = {name: float("inf") for name in sources}
    for _ in range(args.repeats):
        for name, draw in sources.items():
            draw()
            t0 = time.perf_counter()
            draw()
            best[name] = min(best[name], time.perf_counter() - t0)
    base = best["torch generator"]
    print(f"{n:,} normals, one thread, fastest of {args.repeats} rounds")
    for name, t in best.items():
        print(f"{name:16s} {t / n * 1e9:6.2f} ns per number   {t / base:5.2f}× torch's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
