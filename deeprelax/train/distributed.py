"""Elastic-SGD and Parle across processes and machines, on ``torch.distributed`` (torchrun).

Each process is one replica y_i (a model and its optimizer); the replicas are coupled to
a reference x̄ formed by ``torch.distributed.all_reduce`` every τ rounds (Sec. 4.3,
eqs. (21)–(22); Zhang, Choromanska and LeCun 2015; Parle, Chaudhari et al. 2017). One
code path serves gloo (CPU) and NCCL (GPU); torchrun starts the processes, forms the
rendezvous and handles failures::

    python -m deeprelax elastic --nproc-per-node 4 --net lenet       # starts torchrun
    torchrun --standalone --nproc-per-node 4 -m deeprelax elastic --net lenet
    torchrun --nnodes 2 --nproc-per-node 2 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29400 --rdzv-id job1 --rdzv-conf join_timeout=60 \\
        -m deeprelax elastic --net lenet          # on each of the two machines

A *round* is one optimizer step of every replica on its own minibatch(es):

- ``algorithm="elastic"`` (Elastic-SGD): one Nesterov-SGD step of eq. (7) on f_mb (Sec. 7.4,
  :class:`deeprelax.train.optim.NesterovSGD`), L = 1 gradient per replica;
- ``algorithm="parle"`` (Parle): one outer step of Entropy-SGD (Sec. 7.1,
  :class:`deeprelax.train.optim.EntropySGD`: L inner Langevin steps, then the outer update).

Every τ-th round (``tau``, the communication period) the replicas' parameters are summed
by one all_reduce, ȳ = (1/n) Σ y_i, and the elastic term (y_i − x̄)/γ of (21) acts over
the τ rounds as one Euler step of size c_k = min(1, τ η_k / γ_k) (η_k the scheduled step,
γ_k = γ₀(1 − γ₁)^k scoped per round as in Sec. 7.5; ρ = 1/γ is Zhang et al.'s coupling):

- ``reference="centre"`` (the default for Elastic-SGD: Zhang et al.'s centre variable,
  the corrected form of (21)-(22) on the Errata page): every process holds the same x̄,
  moved by dx = −(x − ȳ)/γ ds, i.e. y_i ← y_i − c_k (y_i − x̄) and
  x̄ ← x̄ − c_k (x̄ − ȳ) (both from the values before the move);
- ``reference="mean"`` (eq. (21) as printed, which the Errata calls misprinted; the
  default for Parle, whose x̄ is the replicas' mean): x̄ = ȳ and
  y_i ← y_i − c_k (y_i − ȳ). The move keeps ȳ; with one replica it is exactly zero, so
  n = 1 is plain Nesterov SGD (Parle: plain Entropy-SGD). With the centre, one replica
  is still coupled to a lagging x̄ and is not SGD.

The sums over replicas (``reduction``): ``"all_reduce"`` (the default) is one
``all_reduce``, whose order of additions is the backend's (gloo's ring, NCCL's trees);
``"rank-order"`` gathers the n vectors (``all_gather``, n/2 times the ring's traffic) and
adds them in rank order, ((y_0 + y_1) + y_2) + ..., the order of :func:`simulate`. Every
other operation of a replica is the same code on the same data in both, so a rank-order
run equals the simulation bit for bit (with one thread per process, as ``launch_local``
and the simulation use); an ``all_reduce`` run differs from it by the round-off of the
sums: each differs from the exact one by at most γ_{n−1} Σ_i |y_i|, γ_k = ku/(1 − ku)
(u the unit round-off, any order of the additions; Higham, Accuracy and Stability of
Numerical Algorithms, eq. (4.4)), zero for n ≤ 2 (a + b = b + a),
and training then amplifies that difference.

The elastic move acts beside the optimizer's momentum, not inside it, as in EAMSGD.
x̄ is what is evaluated: its BN statistics are re-estimated on the training set (dropout
off) as the engine does (:func:`deeprelax.train.models.reestimate_bn`); only rank 0 evaluates.

Randomness. All replicas start from the same x̄₀ (``torch.manual_seed(seed)``, broadcast
from rank 0). Replica i draws its own minibatches and dropout masks from streams keyed by
its seed s_i = seed + 1,000,003·i and its gradient counter (``engine.keyed_permutation``,
``engine.KeyedDropout``; replica 0 draws what the engine's seed ``seed`` draws), and
Parle's Gaussian noise from its own generator. A run is therefore a pure function of
(parameters, world size): the same on 1 or 2 machines, killed and resumed or not.

Bookkeeping (Remark 22). An effective epoch is ceil(N/b) gradient evaluations summed over
all replicas: a round costs n·L of them. Records are taken at the first round boundary at
or after each whole effective epoch: the replicas' mean training loss, the spread
sqrt((1/n) Σ |y_i − x̄|²) of the replicas around x̄, their dispersion sqrt((1/n) Σ |y_i − ȳ|²)
around their mean (the same for x̄ = ȳ) and |x̄|, the validation error of
x̄, the wall time spent in rounds, and the bytes all-reduced. A world size with n·L > ceil(N/b)
(one round more than an effective epoch) is refused.

Files. Rank 0 writes one JSON record (``results.write_json``: atomic, checksummed) after
every record, with provenance (world size, nodes, backend, communication period).
Every rank checkpoints its replica every ``checkpoint_every`` effective epochs to
``<checkpoint_dir>/replica-<i>-of-<n>.round<k>.pt`` (``engine.save_checkpoint``: atomic,
SHA-256, hyper-parameter fingerprint); the previous round's file is removed only after
every rank has written the new one, so a kill at any moment leaves a round that all ranks
hold, and a restart resumes from the latest such round to identical numbers.

A result file that holds the record of another run (another world size or other
settings) is refused before any work (rerun with another ``--out``, or delete it); a
rerun of a finished run writes its record again (from the last checkpoint).

Failures. A collective that fails (a replica died: its sockets close; or hung: the
process-group timeout ``timeout_s``) raises :class:`ReplicaLost` in the others, with one
message naming the rank, the round and the wait; SIGTERM (torchrun stopping the group
after a failure) raises it too. The first of these stops the process: later SIGTERMs are
ignored while rank 0 writes the record with the error, so the record always says why the
run stopped (torchrun waits 30 s after its SIGTERM before a SIGKILL). Bad input (an
unknown backend, NCCL without a GPU, a world size larger than the data allows, a result
file of another run) is a ParamError before any process group forms. A rendezvous that
never forms is torchrun's to bound: ``--rdzv-conf join_timeout=S`` ends it after S seconds
with ``RendezvousTimeoutError``.

Exit status. Each process returns 0 (complete), 2 (bad input), 3 (incomplete:
``--stop-after``) or 5 (replica lost). Under torchrun these are the ranks' statuses:
torchrun itself exits 1 (with its own ChildFailedError report) when any rank exits
non-zero. ``python -m deeprelax elastic --nproc-per-node N`` (without torchrun) starts
torchrun itself and exits with the ranks' outcome: 2 if any rank refused its input, else
5 if any lost a replica, else 3 if any stopped early, else 0 when all completed; 1 when
torchrun failed with no rank's outcome recorded (e.g. a rendezvous that never formed),
after torchrun's last lines.

Fault injection (tests): ``DEEPRELAX_FAULT=rank:round`` makes that rank kill itself with
SIGKILL at the start of that round (0-based), after writing the time to ``<out>.fault``;
``rank:round:hang`` makes it hang there instead (the others wait ``timeout_s``).
"""
from __future__ import annotations

import copy
import datetime
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils import parameters_to_vector

from deeprelax.train import models as _models
from deeprelax.train import optim as _optim
from deeprelax.train.checkpoint import (EXIT_BAD_INPUT, EXIT_INCOMPLETE,
    EXIT_LAUNCH_FAILED, EXIT_REPLICA_LOST, SCHEMA as ENGINE_SCHEMA, _prepare_output,
    _Terminated, _unwind_on_sigterm, read_checkpoint, save_checkpoint)
from deeprelax.train.config import (LrSchedule, TensorData, TrainParams, _tuplify,
    check_lr_schedule)
from deeprelax.train.data import DataError
from deeprelax.train.evaluate import count_wrong
from deeprelax.train.experiments import mnist_tensors
from deeprelax.train.rng import _Stream, keyed_permutation, swap_dropout
from deeprelax.train.trainer import _cpu_capability
from deeprelax.params import ParamError, Params, knob, parse_overrides
from deeprelax.paths import ELASTIC_RUNS, REPO_ROOT
from deeprelax.results import (ResultError, check_dir, provenance, read_json, remove_stale_temps,
    write_json)

SCHEMA = "deeprelax.elastic/1"
ALGORITHMS = ("elastic", "parle")
REFERENCES = ("mean", "centre")
BACKENDS = ("auto", "gloo", "nccl")
NETS = ("lenet", "mnistfc")
SEED_STRIDE = 1_000_003
FAULT_ENV = "DEEPRELAX_FAULT"
REDUCTIONS = ("all_reduce", "rank-order")
EXIT_DIR_ENV = "DEEPRELAX_EXIT_DIR"          # where each rank records its exit status


@dataclass(frozen=True)
class ElasticParams(Params):
    """Hyper-parameters of one Elastic-SGD / Parle run (Secs. 4.3, 7.1, 7.4, 7.5, 8.1)."""

    algorithm: str = knob("elastic", choices=ALGORITHMS,
                          doc="elastic (Nesterov SGD replicas) or parle (Entropy-SGD ones)")
    net: str = knob("lenet", choices=NETS, doc="network of Sec. 8.2")
    n_train: int = knob(0, lo=0, hi=60_000, doc="training images, a prefix (0: all)")
    n_test: int = knob(0, lo=0, hi=10_000, doc="validation images, a prefix (0: all)")
    batch_size: int = knob(128, lo=1, hi=1 << 16, doc="minibatch per replica (Sec. 8.1.3)")
    effective_epochs: int = knob(100, lo=1, hi=100_000,
                                 doc="budget in effective epochs, all replicas (Rem. 22)")
    lr_schedule: LrSchedule = knob(((0.0, 0.1),), doc="((effective epoch, lr), ...) steps")
    momentum: float = knob(0.9, lo=0.0, hi=0.999, doc="Nesterov δ (Sec. 7.4)")
    weight_decay: float = knob(0.0, lo=0.0, hi=1.0, doc="L2 coefficient")
    gamma: float = knob(1.0, lo=1e-9, hi=1e12, doc="γ₀ of the elastic term (y−x̄)/γ; ρ = 1/γ")
    gamma_decay: float = knob(0.0, lo=0.0, hi=0.5, doc="γ₁: scoping γ₀(1−γ₁)^k per round")
    tau: int = knob(1, lo=1, hi=100_000, doc="communication period: rounds per all_reduce")
    reference: str = knob("centre", choices=REFERENCES,
                          doc="x̄ a centre variable (corrected (21)), or the replicas' mean")
    reduction: str = knob("all_reduce", choices=REDUCTIONS,
                          doc="sums over replicas: all_reduce, or gathered in rank order")
    L: int = knob(1, lo=1, hi=10_000, doc="gradients per replica step (parle; elastic: 1)")
    inner_gamma: float = knob(1e4, lo=1e-9, hi=1e12, doc="parle: Entropy-SGD's γ₀")
    inner_gamma_decay: float = knob(1e-3, lo=0.0, hi=0.5, doc="parle: Entropy-SGD's γ₁")
    lr_y: float = knob(0.1, lo=1e-8, hi=10.0, doc="parle: inner step η_y (Sec. 7.1)")
    alpha: float = knob(0.75, lo=0.0, hi=0.999, doc="parle: weight of the old ⟨y⟩")
    beta_ex_inv: float = knob(2e-8, lo=0.0, hi=1.0, doc="parle: extrinsic noise (32)")
    inner_momentum: float = knob(0.9, lo=0.0, hi=0.999, doc="parle: inner Nesterov (Lua)")
    outer: str = knob("lua", choices=("local-entropy", "lua"), doc="parle: outer step form")
    inner_form: str = knob("authors", choices=_optim.INNER_FORMS, doc="parle: inner form")
    seed: int = knob(0, lo=0, hi=1 << 30, doc="x̄₀ and the replicas' streams")
    dtype: str = knob("float32", choices=("float32", "float64"), doc="precision")
    eval_batch: int = knob(1000, lo=1, hi=1 << 20, doc="batch of BN re-estimation and test")
    bn_batches: int = knob(0, lo=0, hi=1 << 20, doc="eval batches for BN (0: all)")
    checkpoint_every: int = knob(1, lo=1, hi=100_000, doc="effective epochs per checkpoint")
    backend: str = knob("auto", choices=BACKENDS, doc="gloo (CPU), nccl (GPU); auto: by device")
    timeout_s: float = knob(120.0, lo=1.0, hi=86_400.0, doc="process-group timeout (s)")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="cpu, or cuda:LOCAL_RANK")

    # not in the fingerprint: they change no number (eval_batch does: the BN statistics
    # are re-estimated on bn_batches batches of eval_batch images)
    RUN_CONTROL = ("checkpoint_every", "backend", "timeout_s", "device")
    PRESETS = {
        "fast": dict(n_train=2560, n_test=1000, effective_epochs=4),
        "paper": dict(effective_epochs=100, lr_schedule=((0, 0.1), (30, 0.02), (60, 0.004))),
    }
    PARLE = dict(algorithm="parle", L=20, lr_schedule=((0, 1.0), (40, 0.1), (80, 0.01)),
                 momentum=0.0, gamma=10.0, reference="mean")

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_schedule", _tuplify(self.lr_schedule))
        super().__post_init__()
        sched = self.lr_schedule
        check_lr_schedule(sched, "ElasticParams.lr_schedule")
        if self.algorithm == "elastic" and self.L != 1:
            raise ParamError(f"ElasticParams.L must be 1 for elastic (one Nesterov step per "
                             f"round), got {self.L}")
        if self.reference == "centre":
            c = self.tau * max(lr for _, lr in sched) / self.gamma
            if c > 1:
                raise ParamError(f"reference='centre' needs tau·lr/gamma <= 1 (the centre "
                                 f"must not overshoot ȳ), got {c:.3g}; raise gamma")

    lr_at = TrainParams.lr_at     # the scheduled step η (piecewise constant), as the engine

    def optimizer_hyper(self) -> tuple[str, dict[str, Any]]:
        """A replica's optimizer: the ``deeprelax.train.optim`` algorithm (as
        :func:`deeprelax.train.optim.make` takes it) and its keyword arguments: Nesterov SGD
        (elastic), or Entropy-SGD with γ₀ = ``inner_gamma`` (parle)."""
        if self.algorithm == "elastic":
            return "sgd", dict(momentum=self.momentum, weight_decay=self.weight_decay)
        return "entropy-sgd", dict(
            gamma=self.inner_gamma, L=self.L, lr_y=self.lr_y, alpha=self.alpha,
            beta_ex_inv=self.beta_ex_inv, momentum=self.momentum,
            inner_momentum=self.inner_momentum, weight_decay=self.weight_decay,
            gamma_decay=self.inner_gamma_decay, outer=self.outer, inner_form=self.inner_form)

    def gamma_at(self, k: int) -> float:
        """γ_k = γ₀(1 − γ₁)^k after k rounds (Sec. 7.5)."""
        return self.gamma * (1.0 - self.gamma_decay) ** k

    def fingerprint(self) -> dict[str, Any]:
        """The values that define the numbers (everything but run control)."""
        return {k: v for k, v in self.as_dict().items() if k not in self.RUN_CONTROL}


def params_for(preset: str = "fast", algorithm: str = "elastic", **overrides) -> ElasticParams:
    """ElasticParams of ``preset`` for ``algorithm`` (Parle: the Lua Entropy-SGD settings)."""
    if preset not in ElasticParams.PRESETS:
        raise ParamError(f"unknown preset {preset!r}; choose one of "
                         f"{sorted(ElasticParams.PRESETS)}")
    values = dict(ElasticParams.PRESETS[preset])
    if algorithm == "parle":
        values.update(ElasticParams.PARLE)
        if preset == "fast":
            values["L"] = 5
    values["algorithm"] = algorithm
    values.update({k: v for k, v in overrides.items() if v is not None})
    return ElasticParams.checked(**values)


def load_data(P: ElasticParams) -> TensorData:
    """MNIST prefixes of n_train / n_test images, raw pixels 0..255 (Sec. 8.1.1), as every
    experiment loads them (:func:`deeprelax.train.experiments.mnist_tensors`)."""
    return mnist_tensors(P.n_train or None, P.n_test or None)


def steps_per_effective_epoch(P: ElasticParams, n_train: int) -> int:
    """Gradient evaluations in one effective epoch, ceil(N/b) (Remark 22)."""
    return math.ceil(n_train / P.batch_size)


def check_world(P: ElasticParams, world_size: int, n_train: int) -> None:
    """Refuse a world size whose one round (n·L gradients) exceeds an effective epoch."""
    spe = steps_per_effective_epoch(P, n_train)
    if world_size < 1:
        raise ParamError(f"world size must be >= 1, got {world_size}")
    if world_size * P.L > spe:
        raise ParamError(
            f"world size {world_size} is larger than the data allows: one round of "
            f"{world_size} replicas × L={P.L} gradients exceeds an effective epoch of "
            f"ceil({n_train}/{P.batch_size}) = {spe} gradients; use at most "
            f"{max(1, spe // P.L)} processes, or more training images (n_train)")


def resolve_backend(P: ElasticParams) -> str:
    """The process-group backend: gloo on the CPU, NCCL on GPUs (one clear error otherwise)."""
    backend = P.backend if P.backend != "auto" else ("nccl" if P.device == "cuda" else "gloo")
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ParamError(f"backend 'nccl' needs CUDA GPUs, but torch {torch.__version__} "
                             f"sees none; use --backend gloo (CPU)")
        if P.device != "cuda":
            raise ParamError("backend 'nccl' runs on GPUs: add --device cuda, or use gloo")
    if P.device == "cuda" and not torch.cuda.is_available():
        raise ParamError("device 'cuda' was requested but no CUDA GPU is visible; use cpu")
    if not getattr(torch.distributed, f"is_{backend}_available")():
        raise ParamError(f"this torch build has no {backend} backend")
    return backend


class ReplicaLost(RuntimeError):
    """A collective failed or the launcher stopped this process: another replica died or hung."""


# ---------------------------------------------------------------------------------------
# One replica: a model, its optimizer and its streams
# ---------------------------------------------------------------------------------------
class Replica:
    """Replica i: the net (x̄₀ from ``seed``), its optimizer, minibatches keyed by s_i."""

    def __init__(self, P: ElasticParams, data: TensorData, index: int, device):
        self.P, self.index, self.device = P, index, device
        dt = getattr(torch, P.dtype)
        self.train_x = data.train_x.to(device, dt)
        self.train_y = data.train_y.to(device, torch.int64)
        self.N = int(self.train_x.shape[0])
        self.spe = steps_per_effective_epoch(P, self.N)
        self.seed = P.seed + SEED_STRIDE * index
        # the engine's keyed-dropout stream: mode and gradient counter
        self.stream = _Stream("keyed", torch.zeros((), dtype=torch.int64, device=device))
        torch.manual_seed(P.seed)
        net = _models.build(P.net)
        swap_dropout(net, self.seed, self.stream)
        self.model = net.to(device, dt).train()
        self.params = list(self.model.parameters())
        self.n_params = sum(p.numel() for p in self.params)
        self.g = 0                                  # gradient evaluations of this replica
        self.loss_acc = torch.zeros((), dtype=torch.float64, device=device)
        self._perm_epoch, self._perm = None, None
        self._seed_t = torch.tensor([self.seed], dtype=torch.int64, device=device)
        algorithm, hyper = P.optimizer_hyper()
        self.generator = None
        if algorithm == "entropy-sgd":              # Parle's noise: the replica's own stream
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
            hyper["generator"] = self.generator
        self.opt = _optim.make(algorithm, self.params, lr=P.lr_at(0.0), **hyper)

    def batch_indices(self, g: int) -> Tensor:
        """Training indices of this replica's g-th gradient evaluation (keyed by s_i)."""
        epoch, pos = divmod(g, self.spe)
        if epoch != self._perm_epoch:
            self._perm = keyed_permutation(self._seed_t, epoch, self.N)[0]
            self._perm_epoch = epoch
        idx = (pos * self.P.batch_size + torch.arange(self.P.batch_size,
                                                      device=self.device)) % self.N
        return self._perm[idx]

    def closure(self) -> Tensor:
        """One gradient evaluation on the next minibatch (the optimizers' closure)."""
        idx = self.batch_indices(self.g)
        self.stream.counter.fill_(self.g)
        for p in self.params:
            p.grad = None
        loss = F.cross_entropy(self.model(self.train_x[idx]), self.train_y[idx])
        loss.backward()
        self.loss_acc += loss.detach().double()
        self.g += 1
        return loss.detach()

    def step(self, lr: float) -> None:
        """One optimizer step at step size ``lr`` (L gradient evaluations)."""
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.model.train()
        self.opt.step(self.closure)

    def flat(self) -> Tensor:
        """The parameters y_i as one vector (a copy)."""
        return parameters_to_vector(self.params).detach()

    @torch.no_grad()
    def move_toward(self, target: Tensor, c: float) -> None:
        """The elastic move y_i ← y_i − c (y_i − x̄) over the communication period."""
        y = self.flat()
        set_flat(self.params, y - c * (y - target))

    def state_dict(self) -> dict[str, Any]:
        """Everything this replica needs to continue exactly."""
        st = {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "g": self.g,
              "loss_acc": self.loss_acc.clone()}
        if self.generator is not None:
            st["generator"] = self.generator.get_state()
        return st

    def load_state_dict(self, st: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.g = int(st["g"])
        self.loss_acc.copy_(st["loss_acc"])
        if self.generator is not None:
            self.generator.set_state(st["generator"].cpu())


# ---------------------------------------------------------------------------------------
# Communication: torch.distributed in a process group, or all replicas in one process
# ---------------------------------------------------------------------------------------
class _Group:
    """Sums over replicas across processes (one local replica each): one ``all_reduce``,
    or ``all_gather`` and the sum in rank order (``reduction="rank-order"``)."""

    def __init__(self, world_size: int, rank: int, timeout_s: float,
                 reduction: str = "all_reduce"):
        self.n, self.rank, self.timeout_s = world_size, rank, timeout_s
        self.reduction = reduction
        self.bytes = 0             # payload bytes all-reduced by this process
        self.round = 0
        self.stopping = False      # a failure or SIGTERM arrived: the process is stopping

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        try:
            return fn()
        except _Terminated:
            self.stopping = True
            raise ReplicaLost(self._lost("stopped by SIGTERM from the launcher (another "
                                         "replica failed)", what, t0)) from None
        except Exception as err:                    # noqa: BLE001 (gloo/NCCL error types)
            self.stopping = True
            text = " ".join(str(err).split())
            text = re.sub(r"^\[[^\]]*\]\s*", "", text)         # gloo's source location
            first = text.split(". ")[0][:160]
            raise ReplicaLost(self._lost(f"{what} failed ({type(err).__name__}: {first})",
                                         what, t0)) from None

    def _lost(self, why: str, what: str, t0: float) -> str:
        return (f"replica lost: rank {self.rank} of {self.n} stopped in round {self.round}: "
                f"{why} after {time.monotonic() - t0:.2f} s (process-group timeout "
                f"{self.timeout_s:g} s); another replica died or hung. Files written so far "
                f"are intact; rerun the same command to resume from the last checkpoint")

    def sum(self, tensors: list[Tensor], op: str = "sum", count: bool = True) -> Tensor:
        """Σ (or min/max with ``op``) over all replicas of this process's one tensor;
        ``count`` adds its payload to :attr:`bytes` (not for bookkeeping calls)."""
        t = tensors[0].clone()
        self.bytes += t.numel() * t.element_size() * count
        if op == "sum" and self.reduction == "rank-order":
            parts = [torch.empty_like(t) for _ in range(self.n)]
            self._call("all_gather", lambda: torch.distributed.all_gather(parts, t))
            out = parts[0]
            for part in parts[1:]:                   # as _Local.sum: ((y0 + y1) + y2) + ...
                out = out + part
            return out
        red = {"sum": torch.distributed.ReduceOp.SUM, "min": torch.distributed.ReduceOp.MIN,
               "max": torch.distributed.ReduceOp.MAX}[op]
        self._call("all_reduce", lambda: torch.distributed.all_reduce(t, op=red))
        return t

    def broadcast(self, t: Tensor) -> Tensor:
        """Rank 0's ``t`` on every rank."""
        self._call("broadcast", lambda: torch.distributed.broadcast(t, 0))
        return t


class _Local:
    """Sums over replicas held in one process (the single-process simulation)."""

    def __init__(self, world_size: int):
        self.n, self.rank, self.bytes, self.round = world_size, 0, 0, 0

    def sum(self, tensors: list[Tensor], op: str = "sum", count: bool = True) -> Tensor:
        """Σ over the replicas in rank order (or min/max with ``op``)."""
        self.bytes += tensors[0].numel() * tensors[0].element_size() * count
        out = tensors[0].clone()
        for t in tensors[1:]:
            out = out + t if op == "sum" else (torch.minimum(out, t) if op == "min"
                                               else torch.maximum(out, t))
        return out

    def broadcast(self, t: Tensor) -> Tensor:
        """Nothing to do: every replica of this process starts from the same x̄₀."""
        return t


# ---------------------------------------------------------------------------------------
# The run: rounds, elastic coupling, records, checkpoints
# ---------------------------------------------------------------------------------------
class ElasticRun:
    """n replicas coupled to x̄ (``replicas`` are the ones held by this process)."""

    def __init__(self, P: ElasticParams, data: TensorData, comm, replicas: list[Replica],
                 meta: dict[str, Any]):
        self.P, self.comm, self.replicas, self.meta = P, comm, replicas, meta
        self.n = comm.n
        self.lead = comm.rank == 0                  # evaluates and writes the JSON
        rep = replicas[0]
        self.device, self.N, self.spe = rep.device, rep.N, rep.spe
        check_world(P, self.n, self.N)
        self.n_params = rep.n_params
        self.k = 0                                   # rounds done
        x0 = comm.broadcast(rep.flat().clone())
        for r in replicas:
            set_flat(r.params, x0)
        self.centre = x0.clone() if P.reference == "centre" else None
        self.records: dict[str, list] = {k: [] for k in (
            "effective_epoch", "grads", "rounds", "lr", "gamma", "train_loss", "spread",
            "dispersion", "val_error", "xbar_norm", "train_s", "bytes")}
        self.train_s = 0.0
        self.grads_window = 0
        if self.lead:
            dt = getattr(torch, P.dtype)
            self.test_x = data.test_x.to(self.device, dt)
            self.test_y = data.test_y.to(self.device, torch.int64)
            self.eval_net = copy.deepcopy(rep.model)

    # ---- counters ------------------------------------------------------------------------
    @property
    def grads(self) -> int:
        """Gradient evaluations of all replicas together (Remark 22)."""
        return self.k * self.n * self.P.L

    @property
    def effective_epochs_done(self) -> int:
        """Whole effective epochs completed, floor(grads / ceil(N/b))."""
        return self.grads // self.spe

    @property
    def finished(self) -> bool:
        """True when the budget is spent."""
        return self.effective_epochs_done >= self.P.effective_epochs

    # ---- one round -----------------------------------------------------------------------
    def _reference(self, ybar: Tensor) -> Tensor:
        return ybar if self.centre is None else self.centre

    def round(self) -> None:
        """One step of every replica; every τ-th round the all_reduce and the elastic move."""
        P = self.P
        _fault(self.comm.rank, self.k, self.meta.get("out"))
        lr = P.lr_at(self.grads / self.spe)
        gamma = P.gamma_at(self.k)
        for r in self.replicas:
            r.step(lr)
        self.k += 1
        self.comm.round = self.k
        if self.k % P.tau == 0:
            ybar = self.comm.sum([r.flat() for r in self.replicas]) / self.n
            c = min(1.0, P.tau * lr / gamma)
            target = self._reference(ybar)
            for r in self.replicas:
                r.move_toward(target, c)
            if self.centre is not None:
                self.centre = self.centre - c * (self.centre - ybar)

    # ---- records -------------------------------------------------------------------------
    def evaluate(self, xbar: Tensor) -> float:
        """Validation error (%) of x̄ after BN re-estimation on the training set
        (:func:`deeprelax.train.evaluate.count_wrong`, as the engine evaluates)."""
        net = self.eval_net
        set_flat(list(net.parameters()), xbar)
        wrong = count_wrong(net, self.replicas[0].train_x, self.test_x, self.test_y,
                            self.P.eval_batch, self.P.bn_batches)
        return 100.0 * int(wrong) / int(self.test_x.shape[0])

    def record(self, stop: bool) -> bool:
        """Losses, spread and x̄'s error at an effective-epoch boundary; returns 'stop all'."""
        P = self.P
        ybar = self.comm.sum([r.flat() for r in self.replicas]) / self.n
        xbar = self._reference(ybar)
        local = [torch.stack([r.loss_acc, ((r.flat() - xbar) ** 2).sum().double(),
                              ((r.flat() - ybar) ** 2).sum().double(),
                              torch.tensor(float(stop), dtype=torch.float64,
                                           device=self.device)])
                 for r in self.replicas]
        tot = self.comm.sum(local)
        for r in self.replicas:
            r.loss_acc.zero_()
        window = self.grads - self.grads_window
        self.grads_window = self.grads
        rec = self.records
        rec["effective_epoch"].append(self.grads / self.spe)
        rec["grads"].append(self.grads)
        rec["rounds"].append(self.k)
        rec["lr"].append(P.lr_at((self.grads - 1) / self.spe))
        rec["gamma"].append(P.gamma_at(self.k))
        rec["train_loss"].append(float(tot[0]) / window)
        rec["spread"].append(math.sqrt(float(tot[1]) / self.n))
        rec["dispersion"].append(math.sqrt(float(tot[2]) / self.n))
        rec["val_error"].append(self.evaluate(xbar) if self.lead else None)
        rec["xbar_norm"].append(float(xbar.double().norm()))
        rec["train_s"].append(self.train_s)
        rec["bytes"].append(self.comm.bytes)
        return float(tot[3]) > 0

    def run_effective_epoch(self) -> None:
        """Rounds up to the first boundary at or after the next whole effective epoch."""
        target = (self.effective_epochs_done + 1) * self.spe
        t0 = time.perf_counter()
        while self.grads < target:
            self.round()
        self.train_s += time.perf_counter() - t0

    def result(self, status: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The JSON record of the run so far (rank 0's view)."""
        P = self.P
        status = status or ("complete" if self.finished else "incomplete")
        out = {"schema": SCHEMA, "algorithm": P.algorithm, "net": P.net, "status": status,
               "complete": status == "complete", "world_size": self.n, **self.meta_public(),
               "communication_period": P.tau, "reference": P.reference, "L": P.L,
               "steps_per_effective_epoch": self.spe, "n_train": self.N,
               "n_test": P.n_test, "n_parameters": self.n_params,
               "allreduce_bytes_per_communication": self.n_params * _itemsize(P),
               "params": P.as_dict(), "records": self.records,
               "wall_time_s": self.train_s}
        if error:
            out["error"] = error
            out["error_time_unix"] = time.time()
        return out

    def meta_public(self) -> dict[str, Any]:
        """Provenance of the launch: nodes, backend, device (for the JSON)."""
        m = {k: v for k, v in self.meta.items() if k != "out"}
        return {"launch": m, "provenance": provenance(
            str(self.device), world_size=self.n, backend=m.get("backend"),
            nnodes=m.get("nnodes"), communication_period=self.P.tau,
            threads=torch.get_num_threads(),
            cpu_capability=_cpu_capability())}

    # ---- checkpoints ---------------------------------------------------------------------
    def _paths(self, folder: Path, rnd: int) -> list[Path]:
        return [folder / f"replica-{r.index}-of-{self.n}.round{rnd}.pt" for r in self.replicas]

    def _rounds_held(self, folder: Path) -> list[int]:
        """Rounds for which this process holds a checkpoint of every local replica."""
        sets = []
        for r in self.replicas:
            pat = re.compile(rf"replica-{r.index}-of-{self.n}\.round(\d+)\.pt$")
            sets.append({int(m.group(1)) for p in folder.glob(f"replica-{r.index}-of-*")
                         if (m := pat.match(p.name))})
        return sorted(set.intersection(*sets)) if sets else []

    def shared_state(self) -> dict[str, Any]:
        """State common to all replicas (x̄ centre, rounds, records, clocks)."""
        return {"k": self.k, "centre": self.centre, "records": self.records,
                "train_s": self.train_s, "grads_window": self.grads_window,
                "bytes": self.comm.bytes}

    def save(self, folder: Path) -> None:
        """Write every local replica's checkpoint of this round; drop older rounds after all
        ranks have written theirs."""
        fp = {"elastic": self.P.fingerprint(), "world_size": self.n}
        shared = self.shared_state()
        for r, path in zip(self.replicas, self._paths(folder, self.k)):
            remove_stale_temps(path)
            save_checkpoint(path, {"schema": ENGINE_SCHEMA, "elastic_schema": SCHEMA,
                                   "replica": r.state_dict(), "shared": shared}, fp)
        self.comm.sum([torch.zeros(1, device=self.device)], count=False)   # all have saved
        for rnd in self._rounds_held(folder):
            if rnd < self.k:
                for path in self._paths(folder, rnd):
                    path.unlink(missing_ok=True)

    def resume(self, folder: Path) -> bool:
        """Continue from the latest round that every rank holds; False when there is none."""
        held = self._rounds_held(folder)
        mine = torch.tensor([max(held) if held else -1], dtype=torch.int64,
                            device=self.device)
        lo = int(self.comm.sum([mine], op="min", count=False)[0])
        hi = int(self.comm.sum([mine], op="max", count=False)[0])
        if hi < 0:
            return False
        if lo < 0 or lo not in held:
            raise ParamError(f"checkpoints in {folder} do not cover every replica (this rank "
                             f"holds rounds {held}, others up to {hi}); give every process the "
                             f"same checkpoint folder, or delete it to start afresh")
        fp = {"elastic": self.P.fingerprint(), "world_size": self.n}
        for r, path in zip(self.replicas, self._paths(folder, lo)):
            st = read_checkpoint(path, json_safe(fp), map_location=self.device)
            r.load_state_dict(st["replica"])
            sh = st["shared"]
        self.k = int(sh["k"])
        self.comm.round = self.k
        self.centre = None if sh["centre"] is None else sh["centre"].to(self.device)
        self.records = sh["records"]
        self.train_s = float(sh["train_s"])
        self.grads_window = int(sh["grads_window"])
        self.comm.bytes = int(sh["bytes"])
        return True


@torch.no_grad()
def set_flat(params: list[Tensor], vec: Tensor) -> None:
    """Copy the vector ``vec`` into ``params`` in place (unlike torch's
    ``vector_to_parameters``, which makes the parameters views of ``vec``)."""
    i = 0
    for p in params:
        n = p.numel()
        p.copy_(vec[i:i + n].view_as(p))
        i += n


def json_safe(obj: Any) -> Any:
    """``obj`` after a JSON-like normalisation (tuples → lists), as checkpoints store it."""
    return json.loads(json.dumps(obj))


def _itemsize(P: ElasticParams) -> int:
    return 8 if P.dtype == "float64" else 4


def _fault(rank: int, rnd: int, out: Any) -> None:
    """Fault injection for tests: ``DEEPRELAX_FAULT=rank:round`` kills that rank there."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    r, k, how = (spec.split(":") + ["kill"])[:3]
    if int(r) == rank and int(k) == rnd:
        if out:
            Path(f"{out}.fault").write_text(f"{time.time():.6f}\n")
        if how == "hang":
            time.sleep(1e6)                       # a hung replica (SIGTERM ends it)
        os.kill(os.getpid(), signal.SIGKILL)


def _loop(run: ElasticRun, out: Path | None, ckpt: Path | None,
          stop_after: int | None) -> dict[str, Any]:
    """Effective epochs until the budget is spent or a stop is agreed; write and save."""
    done = 0
    resumed = ckpt is not None and run.resume(ckpt)
    if run.lead and out is not None and (not resumed or run.finished):
        write_json(out, run.result())            # a finished run's record, written again
    while not run.finished:
        before = run.effective_epochs_done
        run.run_effective_epoch()
        done += 1
        want_stop = stop_after is not None and done >= stop_after
        stop = run.record(want_stop)
        if run.lead and out is not None:
            write_json(out, run.result())
        k = run.effective_epochs_done
        if ckpt is not None and (run.finished or stop or
                                 k // run.P.checkpoint_every > before // run.P.checkpoint_every):
            run.save(ckpt)
        if stop:
            break
    return run.result()


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------
def simulate(P: ElasticParams, world_size: int, data: TensorData | None = None, *,
             checkpoint: str | os.PathLike | None = None,
             stop_after: int | None = None, threads: int | None = 1) -> dict[str, Any]:
    """All ``world_size`` replicas in this process, summed in rank order: the reference the
    distributed run is tested against (same streams; the same arithmetic as a rank-order
    run, and as an all_reduce run up to the order of its sums). ``threads``: torch's
    intra-op threads meanwhile (1, as each process that ``launch_local`` starts: a sum
    split across threads is added in another order; None: leave it)."""
    data = load_data(P) if data is None else data
    check_world(P, world_size, int(data.train_x.shape[0]))
    dev = torch.device("cuda" if P.device == "cuda" else "cpu")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        reps = [Replica(P, data, i, dev) for i in range(world_size)]
        run = ElasticRun(P, data, _Local(world_size), reps,
                         {"backend": "none (one process)", "nnodes": 1})
        ck = Path(checkpoint) if checkpoint is not None else None
        if ck is not None:
            ck.mkdir(parents=True, exist_ok=True)
        return _loop(run, None, ck, stop_after)
    finally:
        torch.set_num_threads(before)


def _launch_info(world: int, backend: str) -> dict[str, Any]:
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    return {"backend": backend, "nnodes": max(1, world // max(1, local)),
            "nproc_per_node": local, "torchrun": "TORCHELASTIC_RUN_ID" in os.environ,
            "rdzv_run_id": os.environ.get("TORCHELASTIC_RUN_ID")}


def check_out(P: ElasticParams, out: Path, world: int) -> None:
    """Refuse a result file that holds the record of another run (another world size or
    other settings): it would be overwritten (ParamError, before any work)."""
    if not out.is_file():
        return
    rec = read_json(out)                             # ResultError when corrupt
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        raise ParamError(f"result file {out} is not an Elastic-SGD record; give another "
                         f"--out, or delete it")
    theirs = {k: v for k, v in (rec.get("params") or {}).items()
              if k not in ElasticParams.RUN_CONTROL}
    same = json_safe(theirs) == json_safe(P.fingerprint())
    if rec.get("world_size") != world or not same:
        diff = sorted(k for k in set(theirs) | set(P.fingerprint())
                      if json_safe(theirs.get(k)) != json_safe(P.fingerprint().get(k)))
        what = (f"world size {rec.get('world_size')}, not {world}"
                if rec.get("world_size") != world else f"other settings: {', '.join(diff)}")
        raise ParamError(f"result file {out} holds the {rec.get('status', '?')} record of "
                         f"another run ({what}); give another --out, or delete it to "
                         f"replace it")


def run_distributed(P: ElasticParams, out: str | os.PathLike | None = None,
                    checkpoint: str | os.PathLike | None = None, *,
                    data: TensorData | None = None,
                    stop_after: int | None = None) -> dict[str, Any]:
    """Run this process's replica in the process group (torchrun's env://, or a group of
    one when started without torchrun); rank 0 writes ``out``. Raises ReplicaLost when
    another replica fails, ParamError on bad input (before any group forms)."""
    backend = resolve_backend(P)
    out = Path(out) if out is not None else None
    ckpt = Path(checkpoint) if checkpoint is not None else None
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    data = load_data(P) if data is None else data
    check_world(P, world, int(data.train_x.shape[0]))
    _prepare_output(out, "result file")
    if out is not None:
        check_out(P, out, world)
        if rank == 0:
            remove_stale_temps(out)
    if ckpt is not None:
        check_dir(ckpt, "checkpoint folder")
        ckpt.mkdir(parents=True, exist_ok=True)
    dev = torch.device("cpu")
    if P.device == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    timeout = datetime.timedelta(seconds=P.timeout_s)
    dist = torch.distributed
    own = not dist.is_initialized()
    if own:
        if "MASTER_ADDR" in os.environ:
            dist.init_process_group(backend, timeout=timeout,
                                    device_id=dev if dev.type == "cuda" else None)
        else:                                       # not under torchrun: a group of one
            dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1,
                                    timeout=timeout)
    world, rank = dist.get_world_size(), dist.get_rank()
    comm = _Group(world, rank, P.timeout_s, P.reduction)
    meta = {**_launch_info(world, backend), "out": str(out) if out else None}
    run = None
    try:
        # the first SIGTERM (torchrun stopping the group after a failure) is a lost
        # replica; later ones, and those after a failed collective, are ignored, so that
        # the record of why the run stopped is always written
        with _unwind_on_sigterm(comm):
            try:
                run = ElasticRun(P, data, comm, [Replica(P, data, rank, dev)], meta)
                return _loop(run, out, ckpt, stop_after)
            except (_Terminated, ReplicaLost) as stop:
                comm.stopping = True
                err = stop if isinstance(stop, ReplicaLost) else ReplicaLost(comm._lost(
                    "stopped by SIGTERM from the launcher (another replica failed)",
                    "training", time.monotonic()))
                if run is not None and run.lead and out is not None:
                    try:
                        write_json(out, run.result("incomplete", error=str(err)))
                    except OSError as werr:
                        print(f"deeprelax elastic: could not record the error in {out}: "
                              f"{werr}", file=sys.stderr)
                raise err from None
    finally:
        if own and dist.is_initialized():
            try:
                dist.destroy_process_group()
            except Exception:                        # noqa: BLE001 (a broken group)
                pass


# ---------------------------------------------------------------------------------------
# torchrun command lines (the book's commands; local runs with 'local nodes')
# ---------------------------------------------------------------------------------------
def torchrun_args(nproc: int, cli: list[str], *, nnodes: int = 1, endpoint: str =
                  "127.0.0.1:29400", run_id: str = "deeprelax", join_timeout: int = 60,
                  module: str = "deeprelax elastic") -> list[str]:
    """The torchrun command line for ``nproc`` processes on each of ``nnodes`` machines
    (c10d rendezvous at ``endpoint``; ``join_timeout`` bounds a rendezvous that never
    forms), running ``python -m <module> <cli>``."""
    mod = module.split()
    return ["torchrun", "--nnodes", str(nnodes), "--nproc-per-node", str(nproc),
            "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", run_id,
            "--rdzv-conf", f"join_timeout={join_timeout}", "-m", mod[0], *mod[1:], *cli]


def cli_args(P: ElasticParams, out: str | os.PathLike) -> list[str]:
    """``elastic`` arguments that reproduce ``P`` exactly (every field through --set)."""
    sets = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in json_safe(P.as_dict())
            .items() if k != "algorithm"]
    return ["--algorithm", P.algorithm, "--out", str(out), "--set", *sets]


def launch_local(P: ElasticParams, nproc: int, out: str | os.PathLike, *, nnodes: int = 1,
                 timeout_s: float = 300.0, env: dict[str, str] | None = None,
                 check: bool = True) -> dict[str, Any]:
    """Run ``P`` under torchrun on this machine as ``nnodes`` local 'nodes' of ``nproc``
    processes each (one torchrun agent per node, c10d rendezvous on 127.0.0.1); returns
    rank 0's JSON with the agents' exit statuses (``launch_exit``), the ranks' recorded
    ones (``rank_exit``, rank -> status; a killed rank records none) and their
    :func:`outcome` (``exit``) added. A failed launch raises RuntimeError with the agents'
    last lines, unless ``check`` is False (then the JSON as the failure left it, and
    ``launch_stderr``: our lines of every agent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = torchrun_args(nproc, cli_args(P, out), nnodes=nnodes,
                         endpoint=f"127.0.0.1:{port}", run_id=f"local{port}",
                         join_timeout=int(min(timeout_s, 60)))
    argv = [sys.executable, "-m", "torch.distributed.run", *argv[1:]]
    codes_dir = tempfile.TemporaryDirectory()
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "DEEPRELAX_PROGRESS": "0",
                EXIT_DIR_ENV: codes_dir.name, **(env or {})}
    agents = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=full_env, cwd=REPO_ROOT)
              for _ in range(nnodes)]
    deadline = time.monotonic() + timeout_s
    logs = []
    try:
        for a in agents:
            o, e = a.communicate(timeout=max(1.0, deadline - time.monotonic()))
            logs.append((a.returncode, e))
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
                a.wait()
        codes = _rank_codes(codes_dir.name)
        codes_dir.cleanup()
    bad = [(rc, e) for rc, e in logs if rc != 0]
    if bad and check:
        raise RuntimeError(f"torchrun ({nnodes} node(s) × {nproc}) failed with exit status "
                           f"{bad[0][0]}: " + " | ".join(bad[0][1].strip().splitlines()[-3:]))
    res = read_json(out)
    res["launch_exit"] = [rc for rc, _ in logs]
    res["rank_exit"] = dict(sorted(codes.items()))
    res["exit"] = outcome(codes, next((rc for rc, _ in logs if rc != 0), 0))
    res["launch_stderr"] = [ln for _, e in logs for ln in e.splitlines()
                            if ln.startswith("deeprelax elastic:")]
    return res


# ---------------------------------------------------------------------------------------
# Command line: python -m deeprelax elastic ... (under torchrun)
# ---------------------------------------------------------------------------------------
USAGE = """python -m deeprelax elastic --nproc-per-node N [options]      (starts torchrun)
   or: torchrun --standalone --nproc-per-node N -m deeprelax elastic [options]

Elastic-SGD (or Parle, --algorithm parle) with one replica per process; see
deeprelax.train.distributed. Rank 0 writes the JSON record; rerun the same command to resume.
Exit status: 0 complete, 2 bad input, 3 incomplete (--stop-after), 5 replica lost: the
command's with --nproc-per-node (1: torchrun failed before any rank said why); under
torchrun each rank's (torchrun then exits 1)."""

#: the launcher's own options (with their values), not passed on to the ranks
LAUNCH_FLAGS = ("--nproc-per-node", "--nnodes", "--rdzv-endpoint", "--rdzv-id",
                "--join-timeout")


def _settings(args) -> ElasticParams:
    """The run's ElasticParams from the command line (ParamError on bad input)."""
    over = parse_overrides(args.set)
    flags = dict(net=args.net, tau=args.tau, gamma=args.gamma, reference=args.reference,
                 backend=args.backend, device=args.device, timeout_s=args.timeout,
                 seed=args.seed)
    flags = {k: v for k, v in flags.items() if v is not None}
    both = sorted(set(flags) & set(over))
    if both:
        raise ParamError(f"{both} given twice: as a flag and in --set; give one")
    return params_for(args.preset, args.algorithm, **{**over, **flags})


def outcome(codes: dict[int, int], returncode: int) -> int:
    """The launch's exit status from the ranks' recorded ones: 2 if any rank refused its
    input, else 5 if any lost a replica, else 3 if any stopped early, else 0 when torchrun
    succeeded; 1 when torchrun failed and no rank recorded why."""
    for code in (EXIT_BAD_INPUT, EXIT_REPLICA_LOST, EXIT_INCOMPLETE):
        if code in codes.values():
            return code
    return 0 if returncode == 0 and codes else EXIT_LAUNCH_FAILED


def _rank_codes(folder: str | os.PathLike) -> dict[int, int]:
    """The exit statuses the ranks recorded in ``folder`` (:data:`EXIT_DIR_ENV`)."""
    out = {}
    for f in Path(folder).glob("rank-*"):
        try:
            out[int(f.name[5:])] = int(f.read_text())
        except ValueError:
            pass
    return out


def _record_exit(code: int) -> None:
    """Record this rank's exit status for the launcher (when it asked for it)."""
    folder = os.environ.get(EXIT_DIR_ENV)
    if folder:
        try:
            Path(folder, f"rank-{os.environ.get('RANK', '0')}").write_text(f"{code}\n")
        except OSError:
            pass


def _without_launch_flags(argv: list[str]) -> list[str]:
    """``argv`` less the launcher's options and their values."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in LAUNCH_FLAGS:
            skip = True
        elif not a.startswith(tuple(f"{f}=" for f in LAUNCH_FLAGS)):
            out.append(a)
    return out


def launch(args, argv: list[str]) -> int:
    """``--nproc-per-node N`` without torchrun: check the options, run torchrun on this
    command's other options, show the ranks' one-line messages (not torchrun's report),
    and return :func:`outcome` of the ranks' recorded statuses."""
    try:
        if "RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ:
            raise ParamError("--nproc-per-node starts torchrun; under torchrun leave it out")
        if args.nproc_per_node < 1 or args.nnodes < 1 or args.join_timeout < 1:
            raise ParamError(f"--nproc-per-node, --nnodes and --join-timeout must be >= 1, "
                             f"got {args.nproc_per_node}, {args.nnodes}, {args.join_timeout}")
        if args.nnodes > 1 and not args.rdzv_endpoint:
            raise ParamError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (the same on "
                             "every machine)")
        _settings(args)
    except (ParamError, DataError, ResultError) as err:
        print(f"deeprelax elastic: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.rdzv_endpoint:
        rdzv = ["--rdzv-backend", "c10d", "--rdzv-endpoint", args.rdzv_endpoint,
                "--rdzv-id", args.rdzv_id, "--rdzv-conf", f"join_timeout={args.join_timeout}"]
    else:
        rdzv = ["--standalone"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(args.nnodes),
           "--nproc-per-node", str(args.nproc_per_node), *rdzv, "-m", "deeprelax", "elastic",
           *_without_launch_flags(argv)]
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, EXIT_DIR_ENV: tmp})
        forward = {sig: signal.signal(sig, lambda signum, _: proc.send_signal(signum))
                   for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            _, err = proc.communicate()
        finally:
            for sig, handler in forward.items():
                signal.signal(sig, handler)
        codes = _rank_codes(tmp)
    for line in dict.fromkeys(ln for ln in err.splitlines()
                              if ln.startswith("deeprelax elastic:")):
        print(line, file=sys.stderr)
    code = outcome(codes, proc.returncode)
    if code == EXIT_LAUNCH_FAILED:
        last = " | ".join(err.strip().splitlines()[-3:])
        print(f"deeprelax elastic: torchrun failed with exit status {proc.returncode} "
              f"before any rank recorded an outcome: {last}", file=sys.stderr)
    return code


def main(args, argv: list[str]) -> int:
    """``python -m deeprelax elastic`` (parsed by ``deeprelax.__main__``): one replica of a
    torchrun group (or a group of one); with ``--nproc-per-node`` (without torchrun) the
    launcher of such a group, which starts torchrun on ``argv`` less the launch flags."""
    if args.nproc_per_node is not None:
        return launch(args, argv)
    code = _rank_main(args)
    _record_exit(code)
    return code


def _rank_main(args) -> int:
    rank = int(os.environ.get("RANK", "0"))
    try:
        P = _settings(args)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        label = (f"{P.net}-{P.algorithm}-n{world}-tau{P.tau}-{P.reference}"
                 + ("-fast" if args.preset == "fast" else ""))
        out = Path(args.out) if args.out else ELASTIC_RUNS / f"{label}.json"
        ckpt = Path(args.checkpoint_dir) if args.checkpoint_dir else \
            out.parent / f"{out.stem}.ckpt"
        res = run_distributed(P, out, ckpt, stop_after=args.stop_after)
    except (ParamError, DataError, ResultError) as err:
        if rank == 0:
            print(f"deeprelax elastic: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ReplicaLost as err:
        print(f"deeprelax elastic: {err}", file=sys.stderr)
        return EXIT_REPLICA_LOST
    if rank == 0:
        rec = res["records"]
        err = rec["val_error"][-1] if rec["val_error"] else None
        state = "complete" if res["complete"] else "INCOMPLETE (run the same command again)"
        print(f"{P.net} {P.algorithm}, {res['world_size']} replicas, tau={P.tau}: {state}; "
              f"{rec['effective_epoch'][-1]:.2f} effective epochs; validation error of x̄ "
              f"{err:.2f} %; {out}")
    return 0 if res["complete"] else EXIT_INCOMPLETE

