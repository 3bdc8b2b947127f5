"""Operator launches per gradient evaluation of the engine's training step (torch.profiler).

    python benchmarks/count_ops.py                      # the table, 6 seeds, vmap batching
    python benchmarks/count_ops.py --us-per-launch 8 --json runs/count_ops.json

On the GPU, a step of these small nets is launch-bound: its time is about (kernels per
gradient evaluation) × (cost of one launch), whatever the arithmetic. This counts, on the
CPU, the operators that would each be one kernel launch on the GPU, through the engine's
own step (``MultiSeedTrainer.outer_steps``, the Table 1 paper settings of each cell, the
GPU's ``vmap`` batching): the outermost ATen operator of each computation in the
profiler's event tree, beneath the autograd engine's and the composite operators'
wrappers, leaving out those that launch nothing (views, allocations, vmap's batch-dim
bookkeeping); a ``_foreach_*`` operator is one multi-tensor-apply launch on the GPU
(where the CPU runs it as a loop), a convolution's backward is counted as one
(cuDNN runs two or three kernels). The split: ``closure`` is one gradient evaluation
(minibatch indices, gather, forward, loss, backward, loss accumulation),
``optimizer`` the rest of an outer step spread over its L gradient evaluations.

The launch-bound time per effective epoch (469 gradient evaluations, all seeds together)
is ops × the cost of one launch, an assumption given by ``--eager-us`` (PyTorch's eager
dispatch, some 5–20 µs per operator on the host; default 10) and ``--graph-us`` (a
CUDA-graph replay, about 1–2 µs per kernel; default 2); "sweep min" is that time over the
cell's budget (200 effective epochs for mnistfc, 100 for LeNet). The GPU benchmark
(``bench_engine.py``) measures the real numbers.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("KINETO_LOG_LEVEL", "5")      # the profiler's own chatter off
sys.path.insert(0, str(ROOT))

ALGORITHMS = ("sgd", "entropy-sgd", "hj", "heat")
NETS = ("mnistfc", "lenet")
SPE = 469                                   # MNIST: ceil(60000 / 128)
# ATen operators that launch no kernel on the GPU (metadata, views, allocation)
NO_KERNEL = {
    "aten::empty", "aten::empty_strided", "aten::empty_like", "aten::view", "aten::_unsafe_view",
    "aten::_reshape_alias", "aten::as_strided", "aten::as_strided_", "aten::t",
    "aten::transpose", "aten::permute", "aten::expand", "aten::expand_as", "aten::squeeze",
    "aten::unsqueeze", "aten::select", "aten::slice", "aten::unbind", "aten::split",
    "aten::split_with_sizes", "aten::chunk", "aten::narrow", "aten::detach", "aten::detach_",
    "aten::alias", "aten::lift_fresh", "aten::resolve_conj", "aten::resolve_neg",
    "aten::numel", "aten::size", "aten::stride", "aten::result_type", "aten::view_as",
    "aten::unflatten", "aten::set_", "aten::diagonal", "aten::_add_batch_dim",
    "aten::_remove_batch_dim", "aten::requires_grad_", "aten::unfold", "aten::movedim",
    "aten::new_empty", "aten::new_empty_strided", "aten::resize_", "aten::broadcast_tensors",
    "aten::is_same_size", "aten::_has_compatible_shallow_copy_type", "aten::is_nonzero",
}
# ATen operators made of other operators (their parts are counted, not they)
COMPOSITE = {
    "aten::linear", "aten::matmul", "aten::reshape", "aten::flatten", "aten::contiguous",
    "aten::cross_entropy_loss", "aten::log_softmax", "aten::softmax", "aten::nll_loss",
    "aten::nll_loss_nd", "aten::batch_norm", "aten::_batch_norm_impl_index",
    "aten::__and__", "aten::__or__", "aten::__xor__",
    "aten::to", "aten::_to_copy", "aten::type_as", "aten::zeros", "aten::ones", "aten::full",
    "aten::zeros_like", "aten::ones_like", "aten::full_like", "aten::clone", "aten::randn",
    "aten::rand", "aten::randn_like", "aten::rand_like", "aten::dropout", "aten::max_pool2d",
    "aten::conv2d", "aten::convolution", "aten::_convolution", "aten::stack",
}


def launches(events) -> Counter:
    """Kernel launches in a profiler event list: the outermost ATen operator of each
    computation (not a view, allocation or composite; a ``_foreach_*`` once), beneath
    the autograd engine's and the composites' wrappers."""
    found: Counter = Counter()

    def visit(ev) -> int:
        name = ev.name
        if name.startswith("aten::"):
            if name in NO_KERNEL:
                return 0
            if name not in COMPOSITE:
                found[name] += 1             # one kernel; its children allocate or convert
                return 1
        n = sum(visit(k) for k in ev.cpu_children)
        if n == 0 and name in COMPOSITE and name not in ("aten::to", "aten::contiguous",
                                                          "aten::reshape", "aten::flatten"):
            found[name] += 1                 # computed in place of its parts (CPU kernel)
            n = 1
        return n
    for ev in events:
        if ev.cpu_parent is None:
            visit(ev)
    return found


def _data(net: str, n: int = 60_000):
    import torch

    from deeprelax.train import engine, models
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, *models.INPUT_SHAPES[net]), generator=g,
                      dtype=torch.uint8).float()        # MNIST's size: a data epoch is
    # 469 gradient evaluations, so the reshuffles are as rare as in the sweep
    y = torch.randint(0, 10, (n,), generator=g)
    return engine.TensorData(x, y, x[:256], y[:256], name="synthetic")


def count(net: str, algorithm: str, seeds: int = 6, batching: str = "vmap",
          outer: int | None = None) -> dict:
    """Launches per gradient evaluation of one Table 1 cell's step (all seeds together)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from deeprelax.train import engine, experiments, models
    over = {"seeds": tuple(range(seeds))}
    if "batching" in {f.name for f in dataclasses.fields(engine.TrainParams)}:
        over["batching"] = batching
    P = experiments.experiment(net, algorithm, "paper", "cpu", **over)
    tr = engine.MultiSeedTrainer(lambda: models.build(net), _data(net), P)
    torch.manual_seed(0)
    tr.outer_steps(1)                       # lazy optimizer state, permutations
    n = outer or max(1, math.ceil(4 / P.L))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        tr.outer_steps(n)
    total = launches(prof.events())
    k = 4
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(k):
            tr.closure()
    closure = launches(prof.events())
    grads = n * P.L
    per_grad = sum(total.values()) / grads
    per_closure = sum(closure.values()) / k
    opt = total - Counter({name: c * grads // k for name, c in closure.items()})
    return {"net": net, "algorithm": algorithm, "L": P.L, "seeds": seeds,
            "batching": getattr(tr, "batching", batching), "per_grad": per_grad,
            "closure": per_closure, "optimizer": per_grad - per_closure,
            "top_closure": {k_: v / k for k_, v in closure.most_common(8)},
            "top_optimizer": {k_: v / grads for k_, v in opt.most_common(8) if v > 0}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", nargs="+", default=list(NETS))
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--batching", default="vmap", choices=("vmap", "loop"),
                    help="vmap: the GPU's batching (default); loop: the CPU's for conv nets")
    ap.add_argument("--eager-us", type=float, default=10.0,
                    help="assumed cost of one eager operator (µs)")
    ap.add_argument("--graph-us", type=float, default=2.0,
                    help="assumed cost of one kernel in a CUDA-graph replay (µs)")
    ap.add_argument("--details", action="store_true", help="the most frequent operators")
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from deeprelax.train import experiments
    rows = []
    print(f"{'net':8s} {'algorithm':12s} {'L':>3s} {'per grad':>9s} {'closure':>8s} "
          f"{'optimizer':>9s} | s per eff. epoch: {'eager':>6s} {'graph':>6s} | sweep min: "
          f"{'eager':>6s} {'graph':>6s}")
    for net in args.nets:
        for alg in args.algorithms:
            r = count(net, alg, args.seeds, args.batching)
            epochs = experiments.EXPERIMENTS[(net, alg)]["effective_epochs"]
            for how, us in (("eager", args.eager_us), ("graph", args.graph_us)):
                r[f"s_per_effective_epoch_{how}"] = r["per_grad"] * SPE * us * 1e-6
                r[f"sweep_minutes_{how}"] = r[f"s_per_effective_epoch_{how}"] * epochs / 60
            rows.append(r)
            print(f"{net:8s} {alg:12s} {r['L']:3d} {r['per_grad']:9.1f} {r['closure']:8.1f} "
                  f"{r['optimizer']:9.1f} | {'':17s} {r['s_per_effective_epoch_eager']:6.2f} "
                  f"{r['s_per_effective_epoch_graph']:6.2f} | {'':10s} "
                  f"{r['sweep_minutes_eager']:6.1f} {r['sweep_minutes_graph']:6.1f}",
                  flush=True)
            if args.details:
                print("    closure:  ", ", ".join(f"{k} {v:g}" for k, v in
                                                   r["top_closure"].items()))
                print("    optimizer:", ", ".join(f"{k} {v:.2f}" for k, v in
                                                   r["top_optimizer"].items()))
    for how, us in (("eager", args.eager_us), ("graph", args.graph_us)):
        total = sum(r[f"sweep_minutes_{how}"] for r in rows)
        print(f"launch-bound time of these cells' budgets, {how} at {us:g} µs per launch: "
              f"{total:.1f} min ({args.seeds} seeds together, {args.batching})")
    if args.json:
        from deeprelax.results import write_json
        write_json(args.json, {"eager_us": args.eager_us, "graph_us": args.graph_us,
                               "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
