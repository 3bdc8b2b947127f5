"""Time one effective epoch per seed: the multi-seed engine vs a plain eager PyTorch loop.

    python benchmarks/bench_engine.py --device cuda            # writes results/benchmark-<gpu>.json
    python benchmarks/bench_engine.py --device cpu --steps 3 --nets mnistfc lenet --seeds 2 \\
        --no-write                                              # a quick check on the CPU

Baseline ("eager"): one seed at a time, batch 128, fp32, a plain ``nn.Module`` from
``deeprelax.models`` with ``torch.optim.SGD`` (Nesterov 0.9), data resident on the device
(synthetic images; the time does not depend on the pixel values), minibatches drawn with
``torch.randint`` — the way the authors' code trains. Engine: ``deeprelax.engine`` with
S seeds at once (SGD; Entropy-SGD with its L = 20 inner loop is timed too), in each
configuration given by ``--configs`` (on the GPU: eager vmap, + CUDA graph, + bf16,
+ torch.compile). Every measurement runs in a child process with a timeout (a bf16
graph capture hung once on this kind of GPU). Seconds per effective epoch per seed are
(seconds per gradient evaluation) × ceil(N/128) / S with N = 60,000 (MNIST) or 50,000
(CIFAR-10). The ratio is eager / best engine configuration.

Output: ``results/benchmark-<gpu>.json``, a list of ``{"net", "engine_s_per_epoch",
"eager_s_per_epoch", "ratio", "device"}`` (other tools read it), and
``results/benchmark-<gpu>-details.json`` with every configuration. Entries of nets not
measured in this call are kept, so a run can be split (``--nets mnistfc lenet``, then
``--nets allcnn``) to stay under a time limit.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_TRAIN = {"mnistfc": 60_000, "lenet": 60_000, "allcnn": 50_000}
GPU_CONFIGS = {
    "vmap": {},
    "vmap+graph": {"cuda_graph": True},
    "vmap+graph+bf16": {"cuda_graph": True, "bf16": True},
    "vmap+compile": {"compile": True},
}


def _sync(device):
    import torch
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _synthetic(net: str, n: int, device: str):
    import torch

    from deeprelax import models
    g = torch.Generator().manual_seed(0)
    shape = models.INPUT_SHAPES[net]
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).float()
    y = torch.randint(0, 10, (n,), generator=g)
    return x.to(device), y.to(device)


def measure_eager(net: str, device: str, steps: int, warmup: int) -> float:
    """Seconds per gradient evaluation of the plain one-seed loop."""
    import torch
    import torch.nn.functional as F

    from deeprelax import models
    torch.manual_seed(0)
    if str(device).startswith("cuda"):      # true fp32, as the engine's default (tf32=False)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    x, y = _synthetic(net, N_TRAIN[net] if device != "cpu" else 2048, device)
    model = models.build(net).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)

    def step():
        idx = torch.randint(0, x.shape[0], (128,), device=device)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    for _ in range(warmup):
        step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - t) / steps


def measure_engine(net: str, device: str, steps: int, warmup: int, seeds: int,
                   algorithm: str, config: dict) -> float:
    """Seconds per gradient evaluation (all seeds together) of the engine."""
    import torch

    from deeprelax import engine, models, table1
    x, y = _synthetic(net, N_TRAIN[net] if device != "cpu" else 2048, device)
    data = engine.TensorData(x, y, x[:1000], y[:1000], name="synthetic")
    over = dict(seeds=tuple(range(seeds)), device=device, **config)
    if net in ("mnistfc", "lenet"):
        P = table1.experiment(net, algorithm, "paper", **over)
    else:                                  # All-CNN-C: the same algorithm settings
        P = table1.experiment("lenet", algorithm, "paper", **over)
    tr = engine.MultiSeedTrainer(lambda: models.build(net), data, P)
    L = P.L
    n_warm = max(1, math.ceil(warmup / L))
    tr.outer_steps(n_warm)              # includes the graph capture / compilation
    _sync(device)
    n = max(1, math.ceil(steps / L))
    t = time.perf_counter()
    tr.outer_steps(n)
    _sync(device)
    assert torch.isfinite(tr.loss_acc).all() or algorithm == "entropy-sgd"
    return (time.perf_counter() - t) / (n * L)


def worker(spec: dict) -> dict:
    """Run one measurement (in a child process) and return its numbers."""
    import torch
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    if spec["kind"] == "eager":
        s = measure_eager(spec["net"], spec["device"], spec["steps"], spec["warmup"])
        seeds = 1
    else:
        s = measure_engine(spec["net"], spec["device"], spec["steps"], spec["warmup"],
                           spec["seeds"], spec["algorithm"], spec["config"])
        seeds = spec["seeds"]
    spe = math.ceil(N_TRAIN[spec["net"]] / 128)
    return {**spec, "s_per_grad": s, "s_per_epoch_per_seed": s * spe / seeds}


def run_child(spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"timed out after {timeout:.0f} s"}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {**spec, "error": (out.stderr or out.stdout).strip().splitlines()[-1:]}


def device_label(device: str) -> tuple[str, str]:
    """(human-readable device name, file-name slug)."""
    if device.startswith("cuda"):
        import torch
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        import platform
        name = f"CPU ({platform.processor() or platform.machine()}, "\
               f"{os.cpu_count()} cores)"
    slug = "cpu" if not device.startswith("cuda") else \
        re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return name, slug


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--nets", nargs="+", default=["mnistfc", "lenet", "allcnn"])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=200, help="timed gradient evaluations")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--configs", nargs="+", default=None,
                    help=f"engine configurations (GPU default: {list(GPU_CONFIGS)})")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per measurement")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", default=None, help="default results/benchmark-<gpu>.json "
                    "(runs/benchmark-cpu.json on the CPU)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0

    name, slug = device_label(args.device)
    configs = args.configs or (list(GPU_CONFIGS) if args.device.startswith("cuda")
                               else ["vmap"])
    base = dict(device=args.device, steps=args.steps, warmup=args.warmup, seeds=args.seeds,
                threads=args.threads)
    print(f"device: {name}; {args.seeds} seeds; {args.steps} timed gradient evaluations")
    summary, details = [], []
    for net in args.nets:
        eager = run_child(dict(base, net=net, kind="eager"), args.timeout)
        details.append(eager)
        if "error" in eager:
            print(f"{net:8s} eager: {eager['error']}")
            continue
        e = eager["s_per_epoch_per_seed"]
        print(f"{net:8s} eager one seed            {e:8.3f} s per effective epoch per seed")
        best = None
        for cfg in configs:
            spec = dict(base, net=net, kind="engine", algorithm="sgd", config=GPU_CONFIGS.get(
                cfg, {}), config_name=cfg)
            r = run_child(spec, args.timeout)
            details.append(r)
            if "error" in r:
                print(f"{net:8s} engine {cfg:18s} failed: {r['error']}")
                continue
            s = r["s_per_epoch_per_seed"]
            print(f"{net:8s} engine {cfg:18s} {s:8.3f} s per effective epoch per seed "
                  f"(x{e / s:.1f})")
            if best is None or s < best[0]:
                best = (s, cfg)
        if best is None:
            continue
        r = run_child(dict(base, net=net, kind="engine", algorithm="entropy-sgd",
                           config=GPU_CONFIGS.get(best[1], {}), config_name=best[1]),
                      args.timeout)
        details.append(r)
        if "error" not in r:
            print(f"{net:8s} engine Entropy-SGD (L=20, {best[1]}) "
                  f"{r['s_per_epoch_per_seed']:8.3f} s per effective epoch per seed")
        summary.append({"net": net, "engine_s_per_epoch": best[0], "eager_s_per_epoch": e,
                        "ratio": e / best[0], "device": name})
        print(f"{net:8s} RATIO eager/engine = {e / best[0]:.1f} (best: {best[1]})")
    if not args.no_write and summary:
        from deeprelax.results import RESULTS_DIR, read_json, write_json
        from deeprelax.table1 import RUNS_DIR
        # a CPU timing is a check of the script, not a result: never into results/ by default
        default_dir = RESULTS_DIR if args.device.startswith("cuda") else RUNS_DIR
        out = Path(args.out) if args.out else default_dir / f"benchmark-{slug}.json"
        side = out.with_name(out.stem + "-details.json")
        nets = {row["net"] for row in summary}
        # merge: nets measured now replace their old entries (so runs can be split by net)
        old = read_json(out) if out.is_file() else []
        old_details = read_json(side) if side.is_file() else []
        write_json(out, [r for r in old if r["net"] not in nets] + summary)
        write_json(side, [r for r in old_details if r.get("net") not in nets] + details)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
