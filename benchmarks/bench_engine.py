"""Time one effective epoch per seed: the multi-seed engine vs a plain eager PyTorch loop.

    python benchmarks/bench_engine.py --device cuda            # writes results/benchmark-<gpu>.json
    python benchmarks/bench_engine.py --device cpu --steps 3 --nets mnistfc lenet --seeds 2 \\
        --no-write                                              # a quick check on the CPU
    python benchmarks/bench_engine.py --device cpu --threads 2 --steps 12 --warmup 6 \\
        --repeats 3 --nets mnistfc lenet --no-write               # the CPU table (see below)

Baseline ("eager"): one seed at a time, batch 128, fp32, a plain ``nn.Module`` from
``deeprelax.train.models`` with ``torch.optim.SGD`` (Nesterov 0.9), data resident on the device
(synthetic images; the time does not depend on the pixel values), minibatches drawn with
``torch.randint`` — the way the authors' code trains. Engine: ``deeprelax.train.engine`` with
S seeds at once (SGD; Entropy-SGD with its L = 20 inner loop is timed too), in each
configuration given by ``--configs`` (on the GPU: eager vmap, + CUDA graph, + bf16,
+ torch.compile; on the CPU: ``auto``, the engine's default, i.e. a loop over seeds with
channels_last activations for LeNet; ``loop``, the same loop in the contiguous layout;
``vmap``, the vmapped program; ``loop+compile``, the default under ``torch.compile``,
whose compilation falls in the untimed warm-up). Every measurement runs in a child
process with a timeout (a bf16 graph capture hung once on this kind of GPU). Seconds per
effective epoch per seed are (seconds per gradient evaluation) × ceil(N/128) / S with
N = 60,000 (MNIST) or 50,000 (CIFAR-10). The ratio is eager / best engine configuration
(and, printed beside it, eager / ``auto``).

On a shared machine the load changes while it runs, and two torch threads on two cores
beside another busy process run several times slower than alone: ``--repeats R``
measures eager and every configuration R times, alternating (the order reversed every
other round), and compares the fastest of the R rounds (the run least disturbed by
others, as ``timeit`` does); the table also gives the median. Each measurement records
``/proc/loadavg`` (the 1-minute load) when it starts, and the table prints the range.
glibc's allocator returns freed memory to the system and faults it in again, which
moves CPU timings by up to 20 % from run to run; for a steady table keep it::

    MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296 \\
    MALLOC_TOP_PAD_=268435456 OMP_NUM_THREADS=2 python benchmarks/bench_engine.py \\
        --device cpu --threads 2 --steps 12 --warmup 6 --repeats 3 --nets mnistfc lenet \\
        --no-write

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
import statistics
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
CPU_CONFIGS = {
    "auto": {},                                        # the engine's default choice
    "loop": {"batching": "loop", "memory_format": "contiguous"},
    "vmap": {"batching": "vmap"},
    "loop+compile": {"compile": True},
}
CONFIGS = {**CPU_CONFIGS, **GPU_CONFIGS}


def loadavg() -> float | None:
    """The 1-minute load average (None where /proc/loadavg does not exist)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _sync(device):
    import torch
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _synthetic(net: str, n: int, device: str):
    import torch

    from deeprelax.train import models
    g = torch.Generator().manual_seed(0)
    shape = models.INPUT_SHAPES[net]
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8).float()
    y = torch.randint(0, 10, (n,), generator=g)
    return x.to(device), y.to(device)


def measure_eager(net: str, device: str, steps: int, warmup: int) -> float:
    """Seconds per gradient evaluation of the plain one-seed loop."""
    import torch
    import torch.nn.functional as F

    from deeprelax.train import models
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

    from deeprelax.train import engine, experiments, models
    x, y = _synthetic(net, N_TRAIN[net] if device != "cpu" else 2048, device)
    data = engine.TensorData(x, y, x[:1000], y[:1000], name="synthetic")
    over = dict(seeds=tuple(range(seeds)), device=device, **config)
    if net in ("mnistfc", "lenet"):
        P = experiments.experiment(net, algorithm, "paper", **over)
    else:                                  # All-CNN-C: the same algorithm settings
        P = experiments.experiment("lenet", algorithm, "paper", **over)
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
    return {**spec, "s_per_grad": s, "s_per_epoch_per_seed": s * spe / seeds,
            "torch_threads": torch.get_num_threads()}


def run_child(spec: dict, timeout: float) -> dict:
    """One measurement in a child process; ``loadavg`` is the 1-minute load at its start."""
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    spec = {**spec, "loadavg": loadavg()}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"timed out after {timeout:.0f} s"}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "loadavg": spec["loadavg"]}
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
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternating rounds of every measurement (median reported)")
    ap.add_argument("--out", default=None, help="default results/benchmark-<gpu>.json "
                    "(runs/benchmark-cpu.json on the CPU)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return 0

    name, slug = device_label(args.device)
    gpu = args.device.startswith("cuda")
    configs = args.configs or (list(GPU_CONFIGS) if gpu else list(CPU_CONFIGS))
    base = dict(device=args.device, steps=args.steps, warmup=args.warmup, seeds=args.seeds,
                threads=args.threads)
    print(f"device: {name}; {args.seeds} seeds; {args.steps} timed gradient evaluations; "
          f"torch threads: {args.threads or 'default'}; {args.repeats} round(s)")
    summary, details, table = [], [], []
    for net in args.nets:
        kinds = ["eager", *configs]
        runs = {k: [] for k in kinds}
        for r in range(args.repeats):
            for kind in (kinds if r % 2 == 0 else kinds[::-1]):
                spec = dict(base, net=net, kind="eager") if kind == "eager" else \
                    dict(base, net=net, kind="engine", algorithm="sgd",
                         config=CONFIGS.get(kind, {}), config_name=kind)
                res = run_child(spec, args.timeout)
                res["round"] = r
                details.append(res)
                if "error" in res:
                    print(f"{net:8s} {kind:18s} failed: {res['error']}")
                    continue
                runs[kind].append(res)
                print(f"{net:8s} {kind:18s} {res['s_per_epoch_per_seed']:8.3f} s per effective "
                      f"epoch per seed (round {r + 1}, load {res['loadavg']})", flush=True)
        best_of = {k: min(x["s_per_epoch_per_seed"] for x in v) for k, v in runs.items() if v}
        med = {k: statistics.median(x["s_per_epoch_per_seed"] for x in v)
               for k, v in runs.items() if v}
        if "eager" not in best_of:
            continue
        e = best_of["eager"]
        for k, v in runs.items():
            if v:
                loads = [x["loadavg"] for x in v if x["loadavg"] is not None]
                table.append((net, k, best_of[k], e / best_of[k], med[k], med["eager"] / med[k],
                              len(v), f"{min(loads):.2f}–{max(loads):.2f}" if loads else "n/a"))
        engines = {k: m for k, m in best_of.items() if k != "eager"}
        if not engines:
            continue
        best = min(engines, key=engines.get)
        r = run_child(dict(base, net=net, kind="engine", algorithm="entropy-sgd",
                           config=CONFIGS.get(best, {}), config_name=best), args.timeout)
        details.append(r)
        if "error" not in r:
            print(f"{net:8s} engine Entropy-SGD (L=20, {best}) "
                  f"{r['s_per_epoch_per_seed']:8.3f} s per effective epoch per seed")
        summary.append({"net": net, "engine_s_per_epoch": engines[best], "eager_s_per_epoch": e,
                        "ratio": e / engines[best], "device": name, "config": best,
                        "repeats": args.repeats, "threads": args.threads})
        line = f"{net:8s} RATIO eager/engine = {e / engines[best]:.2f} (best: {best})"
        if "auto" in engines and best != "auto":
            line += f"; default (auto) {e / engines['auto']:.2f}"
        print(line)
    if table:
        print("\ns per effective epoch per seed: fastest of the rounds (and median)\n"
              "| net | run | s (fastest) | eager / this | s (median) | eager / this | rounds "
              "| load (1 min) |\n|---|---|---|---|---|---|---|---|")
        for net, k, b, ratio, m, mratio, n, loads in table:
            print(f"| {net} | {k} | {b:.2f} | {ratio:.2f} | {m:.2f} | {mratio:.2f} | {n} "
                  f"| {loads} |")
    if not args.no_write and summary:
        from deeprelax.paths import RESULTS_DIR, RUNS_DIR
        from deeprelax.results import read_json, write_json
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
