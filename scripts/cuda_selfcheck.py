"""Self-check before the GPU sweep: a CUDA-graph replay gives the eager steps (short LeNet run).

    python scripts/cuda_selfcheck.py --device cuda [--out selfcheck.json]

For each algorithm (SGD, Entropy-SGD, HJ, HEAT), LeNet with the Table 1 settings trains
two seeds for 2 effective epochs on the fast preset's 1,280 MNIST images (20 gradient
evaluations, with a learning-rate change after the first effective epoch, so the graph's
learning-rate tensor is exercised), once eagerly and once with ``cuda_graph=True``; the
weights, training losses and validation errors must agree (cuDNN in deterministic mode,
so that only the graph can make them differ). On the CPU, where graphs do not exist, the
eager run is repeated instead (the same check of the code path, and of determinism).

Prints one line per algorithm and a last line ``GRAPHS ok`` or ``GRAPHS failed: ...``;
exit status 0 when every algorithm agrees, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ALGORITHMS = ("sgd", "entropy-sgd", "hj", "heat")
SCHEDULES = {"sgd": ((0, 0.1), (1, 0.02)), "heat": ((0, 0.1), (1, 0.02)),
             "entropy-sgd": ((0, 1.0), (1, 0.1)), "hj": ((0, 1.0), (1, 0.1))}
RTOL, ATOL = 1e-4, 1e-5


def train(algorithm: str, device: str, graph: bool, data):
    """The trainer after 2 effective epochs of LeNet (fast preset, two seeds)."""
    import torch

    from deeprelax.train import engine, experiments, models
    P = experiments.experiment("lenet", algorithm, "fast", device, seeds=(0, 1),
                          lr_schedule=SCHEDULES[algorithm], cuda_graph=graph)
    tr = engine.MultiSeedTrainer(lambda: models.build("lenet"), data, P)
    for _ in range(P.effective_epochs):
        tr.run_effective_epoch()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    if graph and tr._graph is None:
        raise RuntimeError("cuda_graph=True did not capture a graph")
    return tr


def compare(a, b) -> tuple[float, str | None]:
    """Largest |difference| / (atol + rtol |eager|) over the weights; why they differ."""
    import torch
    worst = 0.0
    for name, p in a.params.items():
        q = b.params[name].detach()
        p = p.detach()
        if not torch.isfinite(q).all():
            return math.inf, f"{name} is not finite"
        ratio = ((q - p).abs() / (ATOL + RTOL * p.abs())).max().item()
        worst = max(worst, ratio)
    if worst > 1:
        return worst, f"weights differ (worst |diff| = {worst:.2g} x tolerance)"
    if a.records["val_error"] != b.records["val_error"]:
        return worst, f"validation errors differ: {a.records['val_error']} vs " \
                      f"{b.records['val_error']}"
    for la, lb in zip(a.records["train_loss"], b.records["train_loss"]):
        if any(abs(x - y) > 1e-5 * max(1.0, abs(x)) for x, y in zip(la, lb)):
            return worst, f"training losses differ: {la} vs {lb}"
    return worst, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    ap.add_argument("--out", default=None, help="also write the outcome as JSON here")
    args = ap.parse_args(argv)
    import torch

    from deeprelax.train import experiments
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    data = experiments.load_data("mnist", "fast")
    rows, failed = [], []
    for alg in args.algorithms:
        t = time.perf_counter()
        try:
            eager = train(alg, args.device, False, data)
            other = train(alg, args.device, cuda, data)
            worst, why = compare(eager, other)
        except Exception as err:                        # noqa: BLE001 (report, fall back)
            worst, why = math.inf, f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
        what = "graph vs eager" if cuda else "eager vs eager (no graphs on the CPU)"
        print(f"{alg:12s} {what}: {'ok' if why is None else 'FAILED: ' + why} "
              f"(worst {worst:.2g} x tolerance, {time.perf_counter() - t:.1f} s)", flush=True)
        rows.append({"algorithm": alg, "ok": why is None, "worst": worst, "why": why})
        if why is not None:
            failed.append(f"{alg}: {why}")
    verdict = "GRAPHS ok" if not failed else "GRAPHS failed: " + "; ".join(failed)
    print(verdict if cuda else verdict.replace("GRAPHS", "EAGER"), flush=True)
    if args.out:
        from deeprelax.results import provenance, write_json
        write_json(args.out, {"check": "cuda graph replay = eager" if cuda else
                              "eager repeat (CPU)", "ok": not failed, "rows": rows,
                              "rtol": RTOL, "atol": ATOL, "provenance": provenance(args.device)})
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
