"""Where an effective epoch of each Table 1 MNIST cell goes on this CPU, and the campaign's cost.

    python benchmarks/bench_breakdown.py                       # the eight cells, 3 rounds
    python benchmarks/bench_breakdown.py --cells lenet:sgd mnistfc:entropy-sgd --repeats 1
    python benchmarks/bench_breakdown.py --before               # also the settings of 42b31b0

For each cell, with its paper settings for one seed and one thread (a campaign unit,
``deeprelax.train.experiments.unit_params``), on the real MNIST tensors:

- ``grad``: one gradient evaluation alone (the closure: minibatch, forward, backward);
- ``step``: one gradient evaluation inside the optimizer's steps (``outer_steps``), so
  ``opt = step / grad − 1`` is the optimizer's own work (inner loop, noise, coupling,
  momentum, scoping) relative to its gradients — goal ≤ 0.15;
- ``noise``: of that own work, the Gaussian draws (Entropy-SGD's Langevin noise, HEAT's
  perturbations: one normal per weight per gradient, from the seed's ``torch.Generator``)
  relative to the gradient; ``opt − noise`` is what fusing or batching the updates could cut;
- ``eval``: the evaluation after every effective epoch (BN re-estimation over the 60,000
  training images and the 10,000 test images), as a share of the effective epoch
  ``eval / (spe·step + eval)`` — goal ≤ 0.10; ``floor``: the share the authors' protocol
  cannot go below when a forward pass costs its FLOPs at the training step's rate, i.e.
  70,000 forwards against 60,000 gradients (forward + backward), from the FLOP counts;
- ``flop``: the SGD gradient's floating-point operations (``torch.utils.flop_counter``)
  over the machine's float32 matmul rate measured first (a 2048² product, one thread):
  the fraction of that limit the gradient reaches (goal for mnistfc ≥ 0.7);
- ``bf16``: the gradient under bfloat16 autocast, as a speed-up (an option only: Table 1
  trains in float32).

Each time is the fastest of ``--repeats`` rounds (the least disturbed by other work; the
1-minute load average is printed). ``--before`` adds the settings of commit 42b31b0 for
comparison (evaluation batch 1000, the torch default thread count, glibc's default
allocator behaviour cannot be undone in-process and is noted). Nothing is written; the
last lines project the CPU-hours of the 48 campaign units from these speeds.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from deeprelax.train import engine, experiments, models  # noqa: E402
from deeprelax.runtime import cpu_model, keep_freed_memory  # noqa: E402

CELLS = [(n, a) for n in ("lenet", "mnistfc") for a in ("sgd", "entropy-sgd", "hj", "heat")]


def _fastest(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_rate(n: int = 2048, repeats: int = 3) -> float:
    """float32 GFLOP/s of an n×n matrix product on the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    return 2 * n ** 3 / _fastest(lambda: a @ b, repeats) / 1e9


def grad_flops(trainer) -> float:
    """FLOPs of one gradient evaluation (forward + backward) of seed 0."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        trainer._seed_closure(0)
    return float(counter.get_total_flops())


def eval_floor(trainer) -> float:
    """FLOP share of the evaluation in an effective epoch (the protocol's floor): forward
    FLOPs over the BN pass and the test set against the gradients of the epoch."""
    from torch.utils.flop_counter import FlopCounterMode
    eb = trainer.P.eval_batch
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        trainer.forward(trainer.train_x[:eb], shared=True)
    fwd = counter.get_total_flops() / eb * (trainer.N + trainer.test_x.shape[0])
    train = grad_flops(trainer) * trainer.spe           # one gradient per minibatch
    return fwd / (fwd + train)


def noise_time(trainer, repeats: int, draws: int = 10) -> float:
    """Seconds for the Gaussian draws of one gradient (one normal per weight; 0 for an
    optimizer without noise)."""
    from deeprelax.train import optim
    if not optim.OPTIMIZERS[trainer.P.algorithm].draws_noise:
        return 0.0
    loop = hasattr(trainer.batcher, "params")          # loop batching: seed 0's views
    views = list((trainer.batcher.params[0] if loop else trainer.params).values())
    kw = {"s": 0} if loop else {}

    def run():
        for _ in range(draws):
            trainer._noise(views, **kw)
    return _fastest(run, repeats) / draws


def measure(net: str, alg: str, repeats: int, grads: int, **over) -> dict:
    P = experiments.unit_params(net, alg, 0)
    if over:
        P = engine.replace(P, **over)
    torch.set_num_threads(P.threads)
    trainer = engine.MultiSeedTrainer(lambda: models.build(net), experiments.load_data(experiments.NET_DATASET[net]), P)
    trainer._set_lr(P.lr_at(0.0))
    steps = max(1, math.ceil(grads / P.L))
    trainer.outer_steps(1)                                 # warm-up
    step = _fastest(lambda: trainer.outer_steps(steps), repeats) / (steps * P.L)
    trainer._refresh_perms()

    def closures():
        for _ in range(steps * P.L):
            trainer._seed_closure(0)
    grad = _fastest(closures, repeats) / (steps * P.L)
    ev = _fastest(trainer.evaluate, max(1, repeats - 1))
    return {"P": P, "trainer": trainer, "grad": grad, "step": step, "eval": ev,
            "noise": noise_time(trainer, repeats),
            "spe": trainer.spe, "budget": P.effective_epochs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", nargs="+", default=[f"{n}:{a}" for n, a in CELLS])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--grads", type=int, default=60, help="gradient evaluations per timing")
    ap.add_argument("--before", action="store_true",
                    help="also time the settings of 42b31b0 (eval_batch 1000, 2 threads)")
    args = ap.parse_args(argv)
    keep_freed_memory()
    torch.set_num_threads(1)
    rate = matmul_rate()
    print(f"CPU {cpu_model()}, torch {torch.__version__} "
          f"({torch.backends.cpu.get_cpu_capability()}), load "
          f"{os.getloadavg()[0]:.1f}; float32 matmul {rate:.0f} GFLOP/s on one thread")
    head = (f"{'cell':22s} {'grad ms':>8s} {'step ms':>8s} {'opt':>6s} {'noise':>6s} "
            f"{'eval s':>7s} {'eval%':>6s} {'floor':>6s} {'s/epoch':>8s} {'flop':>6s} "
            f"{'bf16×':>6s}")
    print(head)
    total_h = 0.0
    for cell in args.cells:
        net, alg = cell.split(":")
        m = measure(net, alg, args.repeats, args.grads)
        epoch = m["spe"] * m["step"] + m["eval"]
        flop = ""
        if alg == "sgd":
            flops = grad_flops(m["trainer"])
            flop = f"{flops / (rate * 1e9) / m['grad']:.2f}"
        b = measure(net, alg, args.repeats, min(args.grads, 20), bf16=True)
        print(f"{net + ' ' + alg:22s} {m['grad'] * 1e3:8.1f} {m['step'] * 1e3:8.1f} "
              f"{m['step'] / m['grad'] - 1:6.2f} {m['noise'] / m['grad']:6.2f} "
              f"{m['eval']:7.2f} {m['eval'] / epoch:6.2f} {eval_floor(m['trainer']):6.2f} "
              f"{epoch:8.2f} {flop:>6s} "
              f"{m['grad'] / b['grad']:6.2f}", flush=True)
        total_h += 6 * m["budget"] * epoch / 3600
        if args.before:
            o = measure(net, alg, args.repeats, args.grads, eval_batch=1000, threads=2)
            e2 = o["spe"] * o["step"] + o["eval"]
            print(f"{'  (42b31b0 settings)':22s} {o['grad'] * 1e3:8.1f} {o['step'] * 1e3:8.1f} "
                  f"{o['step'] / o['grad'] - 1:6.2f} {o['eval']:7.2f} {o['eval'] / e2:6.2f} "
                  f"{e2:8.2f}", flush=True)
    print(f"projected campaign ({len(args.cells)} cells × 6 seeds, one thread per unit): "
          f"{total_h:.1f} CPU-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
