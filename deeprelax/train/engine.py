"""Multi-seed training engine: all seeds of one (net, algorithm) train at once, independently.

Optimizers never load data, models know no dataset; the engine composes them::

    from deeprelax.train import engine, models
    data = engine.TensorData(train_x, train_y, test_x, test_y, name="mnist")  # tensors
    P = engine.TrainParams(algorithm="entropy-sgd", L=20, lr_schedule=((0, 1.0), (40, 0.1)),
                           gamma=1e4, outer="lua", momentum=0.0, inner_momentum=0.9,
                           effective_epochs=100, seeds=(0, 1, 2, 3, 4, 5), device="cuda")
    result = engine.train(models.lenet, data, P, out="results/x.json", checkpoint="runs/x.pt")

How the seeds are batched. Each seed's model is built by ``model_fn()`` after
``torch.manual_seed(seed)``; the S models are stacked (``torch.func.stack_module_state``),
and the optimizers of ``deeprelax.train.optim`` update the stacked tensors element-wise, i.e.
each seed independently. The gradient evaluations run in one of two ways
(``batching``, run control: both give the same numbers up to the order of
floating-point sums, and a checkpoint of one resumes in the other):

- ``"vmap"``: one program, ``torch.func.vmap`` over ``functional_call``: linear layers
  become batched matrix products, convolutions grouped ones, batch-norm statistics stay
  per seed; the loss is the sum over seeds of each seed's mean minibatch cross-entropy,
  so one ``backward()`` gives every seed its own gradient. Fastest on the GPU (one
  kernel per layer for all seeds; CUDA graphs and ``torch.compile`` on top).
- ``"loop"``: seed after seed, all the steps up to the next record (at most an
  effective epoch): the plain module runs forward and backward on leaf views of that
  seed's slices of the stacked tensors, and that seed's own optimizer (one per seed,
  ``SeedOptimizers``, over the views) updates them in place, so each seed's
  weights, gradients and optimizer state stay in cache, as in a one-seed loop. Each seed runs exactly
  the kernels, on the same shapes, that it runs alone: seeds together equal seeds alone
  bit for bit. The optimizer state is saved in the stacked layout. With ``memory_format``
  ``"channels_last"`` the 4-d activations are in NHWC layout (the input batch is given
  channels_last strides, and the convolutions, ReLU, max-pooling, batch-norm and dropout
  keep them): on the CPU LeNet's forward convolutions take half the time,
  its max-pooling a third.

``"auto"`` (the default) is the loop on the CPU, with channels_last for networks with
2-d convolutions, and vmap on the GPU. Measured on two shared CPU cores with 6 seeds
(``benchmarks/bench_engine.py --device cpu --threads 2 --warmup 12 --steps 48
--repeats 3``, 2026-12-01; "eager" is one seed in a plain loop with ``torch.optim.SGD``):
the default trains mnistfc 1.07× and LeNet 1.19× as fast as eager per seed (Entropy-SGD
with L = 20: 7.6 and 5.2 s per effective epoch per seed). With 12 timed steps the
configurations compare as: mnistfc 1.01× (default), 1.07× (vmap), 1.32× (loop under
``torch.compile``); LeNet 1.16× (default), 1.02× (contiguous loop), 1.17× (vmap), 0.65×
(compiled). The loop is the CPU default because it is as fast as vmap there, is less
disturbed by other work in the process (vmap LeNet ran at 0.5× eager beside it) and
makes seeds together equal seeds alone exactly. ``compile=True`` pays on the CPU for
mnistfc in long runs (about a minute of compilation on two cores), not for LeNet.

Randomness is keyed by seed (``rng="keyed"``). The per-seed shuffle of each data epoch
and the dropout masks are pure functions of (seed, gradient counter, purpose, position) —
SplitMix64 evaluated with tensor integer ops on the device; the Gaussian noise of
Entropy-SGD and HEAT comes from one Philox generator per seed (``noise_rng="philox"``,
a single kernel per seed and draw) or from the same hashing (``"hash"``). A seed
therefore trains identically alone or beside others, and a resumed run repeats an
uninterrupted one exactly (counters and generator states are in the checkpoint).
``rng="torch"`` uses PyTorch's global generator instead (seeds are then independent but
not individually reproducible).

Speed. Data stay on the device; per-seed minibatch indices are computed on the device
from the gradient counter; the host synchronises once per effective epoch (to record).
Optional, off by default: ``cuda_graph`` captures one whole outer step (the L inner
gradient evaluations, the inner updates and the outer update) in a CUDA graph and
replays it (vmap batching only); ``compile`` wraps the batched loss (vmap) or the
per-seed loss (loop) in ``torch.compile``; ``bf16`` runs the forward passes under
bfloat16 autocast; ``tf32`` allows TF32 matmuls/convolutions.

Bookkeeping (Remark 22): one *effective epoch* is ceil(N/b) gradient evaluations (469 for
MNIST); an optimizer with L back-props per update advances 1/L epoch-worth of updates per
effective epoch. Records are taken at the first outer-step boundary at or after every
whole effective epoch: the mean minibatch training loss over that effective epoch (at
the points where gradients were taken: y for Entropy-SGD/HJ, x + ε for HEAT) and the
validation error at x after re-estimating the batch-norm statistics on the training set
(dropout off), as the authors do before every test.

Divergence is a state of a seed, not a number. A seed is *diverged* when its training
loss (the mean over one effective epoch) is NaN/inf, or has been above
``diverge_factor`` × log C (C the number of classes; log C is the loss of a uniform
guess: 2 × 2.303 = 4.61 for ten classes by default) for ``diverge_patience`` (5)
consecutive records, or is above it at the last record of the budget. A diverged seed
stops recording (``diverged`` says when and why); the other seeds go on. The run's
``status`` is ``"complete"`` (budget spent, at least one seed not diverged),
``"diverged"`` (every seed diverged: not complete) or ``"incomplete"`` (call again).

Checkpoints. A checkpoint file is a header line (schema, payload length, the run's
hyper-parameter fingerprint, SHA-256 over fingerprint and payload) followed by the
``torch.save`` payload. Resuming verifies all of it before anything is loaded (with
``weights_only=True``): an empty, truncated, changed or foreign file is a
:class:`CheckpointError` (a ``results.ResultError``) and one made with other
hyper-parameters a ``ParamError``; both name the file and say what to do. The state is
saved at the end of an effective epoch every ``checkpoint_every`` (10) effective epochs,
and also when ``checkpoint_seconds`` (60) of wall time have passed since the last save,
and when the call stops: a run killed at any moment repeats at most the lesser of ten
effective epochs and about a minute of training plus the effective epoch in progress.
Writes are atomic (temporary file, fsync, rename); a temporary file is removed when a
write fails or the process gets SIGTERM, and one left by a killed process is removed
when the run starts again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import platform
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from deeprelax.train import optim as _optim
from deeprelax.train.models import batchnorm_layers, reestimate_bn
from deeprelax.params import ParamError, Params, knob
from deeprelax.results import (ResultError, atomic_write, canonical_json, check_dir, provenance,
    remove_stale_temps, write_json)
from deeprelax.runtime import (DEVICE_FORMS, cpu_model, device_syntax_ok, keep_freed_memory,
    progress, resolve_device, torch_threads)

SCHEMA = "deeprelax.train/1"

# ---------------------------------------------------------------------------------------
# Keyed random numbers: SplitMix64 (Steele, Lea, Flood 2014) with int64 tensor ops.
# ---------------------------------------------------------------------------------------
_GOLDEN = -7046029254386353131          # 0x9E3779B97F4A7C15 as a signed int64
_MIX1 = -4658895280553007687            # 0xBF58476D1CE4E5B9
_MIX2 = -7723592293110705685            # 0x94D049BB133111EB
TAG_SHUFFLE, TAG_DROPOUT, TAG_NOISE = 1, 2, 3


def _lshr(z: Tensor, s: int) -> Tensor:
    """Logical right shift of int64 values (torch's >> is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix64(z: Tensor) -> Tensor:
    """The SplitMix64 output function (a bijection of 64-bit words)."""
    z = (z ^ _lshr(z, 30)) * _MIX1
    z = (z ^ _lshr(z, 27)) * _MIX2
    return z ^ _lshr(z, 31)


def stream_key(seed: Tensor, counter: Tensor | int, tag: int) -> Tensor:
    """64-bit key of the random stream (seed, counter, purpose tag); shapes broadcast."""
    if not isinstance(counter, Tensor):
        counter = torch.tensor(int(counter), dtype=torch.int64, device=seed.device)
    return _mix64(_mix64(seed * _GOLDEN + tag) + (counter + 1) * _GOLDEN)


def random_words(key: Tensor, n: int) -> Tensor:
    """n pseudo-random int64 words per key: SplitMix64 states key + i·φ (shape key.shape + (n,))."""
    i = torch.arange(1, n + 1, device=key.device, dtype=torch.int64)
    return _mix64(key.unsqueeze(-1) + i * _GOLDEN)


def _pieces(words: Tensor, bits: int) -> Tensor:
    """The little-endian signed ``bits``-wide pieces of int64 words, i.e. ``words.view(int<bits>)``
    by shifts and masks (``Tensor.view(dtype)`` has no vmap batching rule in torch 2.11)."""
    shifts = torch.arange(64 // bits, device=words.device, dtype=torch.int64) * bits
    p = (words.unsqueeze(-1) >> shifts) & ((1 << bits) - 1)
    return torch.where(p >= (1 << (bits - 1)), p - (1 << bits), p).flatten(-2)


def random_normal(key: Tensor, n: int, dtype=torch.float32) -> Tensor:
    """n standard normals per key: inverse CDF of 23-bit uniforms (tails cut at |z| ≈ 5.3)."""
    words = _pieces(random_words(key, (n + 1) // 2), 32)[..., :n]
    u = (((words >> 9) & 0x7FFFFF).to(torch.float32) + 0.5) * (2.0 ** -23)   # exact in fp32
    return torch.special.ndtri(u).to(dtype)


def random_uniform16(key: Tensor, n: int) -> Tensor:
    """n uniform integers in [-32768, 32767] per key (four per 64-bit word)."""
    return _pieces(random_words(key, (n + 3) // 4), 16)[..., :n].to(torch.int16)


def dropout_keep(key: Tensor, n: int, p: float, batched: bool = True) -> Tensor:
    """The keep mask 1{u ≥ round(65536·p) − 32768} of the n uniforms ``random_uniform16(key,
    n)`` (P(keep) = 1 − p up to 2⁻¹⁶). Unbatched, the int16 view of the words; under vmap
    (``batched``) their unsigned 16-bit pieces v, with u ≥ t ⇔ v ⊕ 0x8000 ≥ t + 32768."""
    threshold = int(round(p * 65536)) - 32768
    words = random_words(key, (n + 3) // 4)
    if not batched:
        return words.view(torch.int16)[..., :n] >= threshold
    shifts = torch.arange(4, device=words.device, dtype=torch.int64) * 16
    v = ((words.unsqueeze(-1) >> shifts) & 0xFFFF).flatten(-2)[..., :n]
    return (v ^ 0x8000) >= threshold + 32768


def _seed63(seed: int, tag: int) -> int:
    """A 63-bit generator seed derived from (seed, purpose tag) by SplitMix64."""
    return int(stream_key(torch.tensor(int(seed)), 0, tag)) & ((1 << 63) - 1)


def keyed_permutation(seed: Tensor, epoch: int, n: int) -> Tensor:
    """A uniformly random permutation of range(n) per seed for data epoch ``epoch``."""
    bits = max(1, (n - 1).bit_length())
    words = random_words(stream_key(seed, epoch, TAG_SHUFFLE), n)
    idx = torch.arange(n, device=seed.device, dtype=torch.int64)
    sort_key = ((_lshr(words, 1) >> bits) << bits) | idx      # unique keys: no ties
    return torch.argsort(sort_key, dim=-1)


class _Stream:
    """Shared random-stream state of one trainer: the mode and the gradient counter tensor."""

    def __init__(self, mode: str, counter: Tensor, batched: bool = True):
        self.mode = mode
        self.counter = counter
        self.batched = batched            # False: modules run unbatched (loop batching)


class KeyedDropout(nn.Module):
    """Dropout (inverted, as nn.Dropout) whose mask is keyed by (seed, counter, layer)."""

    def __init__(self, p: float, layer: int, seed: int = 0, stream: _Stream | None = None):
        super().__init__()
        self.p, self.layer = float(p), int(layer)
        self.register_buffer("seed_key", torch.tensor(int(seed), dtype=torch.int64))
        self.stream = stream

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.stream is None or self.stream.mode == "torch":
            return F.dropout(x, self.p, True)
        key = stream_key(self.seed_key, self.stream.counter, TAG_DROPOUT + 16 * self.layer)
        keep = dropout_keep(key, x.numel(), self.p, self.stream.batched).reshape(x.shape)
        scale = torch.full((), 1.0 / (1.0 - self.p), dtype=x.dtype, device=x.device)
        keep = torch.where(keep, scale, 0.0)                       # 0 or 1/(1-p)
        return x * keep                                # = x · 1{kept} / (1 − p), exactly

    def extra_repr(self) -> str:
        return f"p={self.p}, layer={self.layer}"


def swap_dropout(model: nn.Module, seed: int, stream: _Stream | None) -> int:
    """Replace every nn.Dropout in ``model`` by a KeyedDropout (in place); returns the count."""
    count = 0

    def visit(module: nn.Module) -> None:
        nonlocal count
        for name, child in module.named_children():
            if isinstance(child, nn.Dropout):
                setattr(module, name, KeyedDropout(child.p, count, seed, stream))
                count += 1
            else:
                visit(child)
    visit(model)
    return count


# ---------------------------------------------------------------------------------------
# Parameters and data
# ---------------------------------------------------------------------------------------
LrSchedule = tuple[tuple[float, float], ...]
BATCHINGS = ("auto", "vmap", "loop")
MEMORY_FORMATS = ("auto", "contiguous", "channels_last")


def _tuplify(value):
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


@dataclass(frozen=True)
class TrainParams(Params):
    """Hyper-parameters of one multi-seed training run (Sec. 7, 8.1)."""

    algorithm: str = knob("sgd", choices=_optim.ALGORITHMS, doc="Sec. 8.1.3 algorithm")
    seeds: tuple[int, ...] = knob((0, 1, 2, 3, 4, 5), doc="one independent model per seed")
    effective_epochs: int = knob(100, lo=1, hi=100_000, doc="budget, epochs × L (Remark 22)")
    batch_size: int = knob(128, lo=1, hi=1 << 20, doc="minibatch size (Sec. 8.1.3: 128)")
    lr_schedule: LrSchedule = knob(((0.0, 0.1),), doc="((effective epoch, lr), ...) steps; "
                                   "the first starts at 0")
    L: int = knob(1, lo=1, hi=10_000, doc="back-props per update (Remark 22)")
    momentum: float = knob(0.9, lo=0.0, hi=0.999, doc="Nesterov δ on the outer update (7.4)")
    inner_momentum: float = knob(0.0, lo=0.0, hi=0.999, doc="Nesterov on inner steps (Lua)")
    weight_decay: float = knob(0.0, lo=0.0, hi=1.0, doc="L2 coefficient on the gradient")
    gamma: float = knob(1.0, lo=1e-12, hi=1e12, doc="γ₀: PDE time (coupling 1/γ, HEAT var.)")
    gamma_decay: float = knob(1e-3, lo=0.0, hi=0.5, doc="γ₁ of scoping γ₀(1−γ₁)^k (7.5)")
    lr_y: float = knob(0.1, lo=1e-8, hi=10.0, doc="inner step η_y (7.1)")
    alpha: float = knob(0.75, lo=0.0, hi=0.999, doc="weight of the old ⟨y⟩ average (7.1)")
    beta_ex_inv: float = knob(1e-8, lo=0.0, hi=1.0, doc="extrinsic noise β_ex⁻¹ (eq. (32))")
    outer: str = knob("local-entropy", choices=("local-entropy", "lua"),
                      doc="outer step (x−⟨y⟩)/γ (eq. (33)) or x−⟨y⟩ (authors' code)")
    inner_form: str = knob("paper", choices=_optim.INNER_FORMS,
                           doc="inner Nesterov on the whole direction or on ∇f_mb only "
                               "(authors' Lua code); see deeprelax.train.optim")
    hj_form: str = knob("prox", choices=("prox", "remark21"), doc="HJ as (32)–(33) or (34)")
    eval_every: int = knob(1, lo=1, hi=100_000, doc="effective epochs between evaluations")
    eval_batch: int = knob(1000, lo=1, hi=1 << 20, doc="batch of BN re-estimation and test")
    bn_batches: int = knob(0, lo=0, hi=1 << 20, doc="eval batches for BN re-estimation "
                                                    "(0: the whole training set)")
    checkpoint_every: int = knob(10, lo=1, hi=100_000, doc="effective epochs per checkpoint")
    checkpoint_seconds: float = knob(60.0, lo=0.0, hi=1e7,
                                     doc="also checkpoint after the first effective epoch "
                                         "ending this long after the last save")
    diverge_factor: float = knob(2.0, lo=1.0, hi=1e12,
                                 doc="divergence bound on the training loss, in units "
                                     "of log C (C classes: a uniform guess)")
    diverge_patience: int = knob(5, lo=1, hi=100_000,
                                 doc="consecutive records above the bound that make a "
                                     "seed diverged (NaN/inf at once)")
    rng: str = knob("keyed", choices=("keyed", "torch"), doc="per-seed keyed or torch RNG")
    noise_rng: str = knob("philox", choices=("philox", "hash"),
                          doc="keyed mode: per-seed Philox generators or hashing for the "
                              "Gaussian noise of Entropy-SGD/HEAT")
    batching: str = knob("auto", choices=BATCHINGS,
                         doc="seeds as one vmapped program or a loop of per-seed "
                             "forward/backward passes (auto: loop on the CPU, vmap on "
                             "the GPU; see the module docstring)")
    memory_format: str = knob("auto", choices=MEMORY_FORMATS,
                              doc="layout of 4-d activations in the loop (auto: "
                                  "channels_last for convolutional nets on the CPU)")
    compile: bool = knob(False, doc="torch.compile the batched loss")
    cuda_graph: bool = knob(False, doc="capture a whole outer step in a CUDA graph")
    bf16: bool = knob(False, doc="bfloat16 autocast for forward passes")
    tf32: bool = knob(False, doc="allow TF32 matmul/conv on the GPU (False: true fp32)")
    dtype: str = knob("float32", choices=("float32", "float64"),
                      doc="parameter/data precision (float64 for exactness tests)")
    threads: int = knob(1, lo=1, hi=1024,
                        doc="torch CPU threads while training: CPU sums are split by "
                            "thread, so the numbers depend on it (part of the fingerprint)")
    device: str = knob("cpu", doc="'cpu' or 'cuda[:N]'")

    #: Fields that do not change the numbers a run produces (left out of the fingerprint).
    #: ``eval_batch`` is not among them: the BN statistics are re-estimated batch by batch.
    RUN_CONTROL = ("device", "compile", "cuda_graph", "checkpoint_every", "checkpoint_seconds",
                   "batching", "memory_format")

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr_schedule", _tuplify(self.lr_schedule))
        object.__setattr__(self, "seeds", _tuplify(self.seeds))
        super().__post_init__()
        sched = self.lr_schedule
        if not sched or sched[0][0] != 0 or any(b[0] <= a[0] for a, b in zip(sched, sched[1:])):
            raise ParamError(f"TrainParams.lr_schedule must be ((0, lr0), (e1, lr1), ...) with "
                             f"increasing effective epochs, got {sched!r}")
        if any(lr < 0 for _, lr in sched):
            raise ParamError(f"TrainParams.lr_schedule has a negative lr: {sched!r}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ParamError(f"TrainParams.seeds must be distinct non-negative integers, got "
                             f"{self.seeds!r}")
        if self.algorithm == "sgd" and self.L != 1:
            raise ParamError(f"TrainParams.L must be 1 for sgd, got {self.L}")
        if not device_syntax_ok(self.device):
            raise ParamError(f"TrainParams.device must be {DEVICE_FORMS}, got {self.device!r}")
        if self.cuda_graph and not str(self.device).startswith("cuda"):
            raise ParamError("TrainParams.cuda_graph=True needs device='cuda'")
        if self.cuda_graph and self.batching == "loop":
            raise ParamError("TrainParams.cuda_graph=True needs batching='vmap' (or 'auto', "
                             "which is vmap on the GPU)")

    def lr_at(self, effective_epoch: float) -> float:
        """The scheduled outer learning rate at ``effective_epoch`` (piecewise constant)."""
        lr = self.lr_schedule[0][1]
        for start, value in self.lr_schedule:
            if effective_epoch + 1e-9 >= start:
                lr = value
        return lr

    def optimizer_hyper(self) -> dict[str, Any]:
        """Keyword arguments of the ``deeprelax.train.optim`` class for ``algorithm``."""
        a = self.algorithm
        if a == "sgd":
            return dict(momentum=self.momentum, weight_decay=self.weight_decay)
        common = dict(gamma=self.gamma, L=self.L, momentum=self.momentum,
                      weight_decay=self.weight_decay, gamma_decay=self.gamma_decay)
        if a == "heat":
            return common
        common.update(lr_y=self.lr_y, inner_momentum=self.inner_momentum, outer=self.outer,
                      inner_form=self.inner_form)
        if a == "hj":
            return dict(common, form=self.hj_form)
        return dict(common, alpha=self.alpha, beta_ex_inv=self.beta_ex_inv)

    def fingerprint(self) -> dict[str, Any]:
        """The values that define the numbers (everything but run control)."""
        return {k: v for k, v in self.as_dict().items() if k not in self.RUN_CONTROL}

    def fingerprint_sha256(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`fingerprint` (stored with results)."""
        return hashlib.sha256(canonical_json(self.fingerprint())).hexdigest()


class TensorData(NamedTuple):
    """A classification dataset as tensors (images N×..., int labels N); any device."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    name: str = "data"


def _check_data(data: TensorData) -> None:
    if not isinstance(data, TensorData):
        raise ParamError("data must be a deeprelax.train.engine.TensorData(train_x, train_y, "
                         "test_x, test_y)")
    for xs, ys, what in ((data.train_x, data.train_y, "train"), (data.test_x, data.test_y,
                                                                  "test")):
        if not (isinstance(xs, Tensor) and isinstance(ys, Tensor)):
            raise ParamError(f"{what} images and labels must be torch tensors")
        if xs.shape[0] != ys.shape[0] or xs.shape[0] == 0:
            raise ParamError(f"{what}: {xs.shape[0]} images but {ys.shape[0]} labels")
    if data.train_x.shape[1:] != data.test_x.shape[1:]:
        raise ParamError(f"train and test images differ in shape: {tuple(data.train_x.shape)} "
                         f"vs {tuple(data.test_x.shape)}")


def resolve_layout(params: TrainParams, device: torch.device,
                   model: nn.Module) -> tuple[str, bool]:
    """(batching, channels_last) that ``params`` ask for on ``device`` for ``model``:
    'auto' is the loop on the CPU and vmap elsewhere, with channels_last activations for
    a network with 2-d convolutions in the CPU loop (the measured fastest, see the module
    docstring). Under vmap the layout stays contiguous."""
    batching = params.batching
    if batching == "auto":
        batching = "loop" if device.type == "cpu" else "vmap"
    conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    fmt = params.memory_format
    if fmt == "auto":
        fmt = "channels_last" if batching == "loop" and device.type == "cpu" and conv \
            else "contiguous"
    return batching, fmt == "channels_last" and batching == "loop"


def _seed_row(value: Any, s: int, shape: torch.Size, S: int) -> Any:
    """Seed s's own copy of a stacked optimizer-state value: row s of a per-seed tensor, a
    copy of a shared one (a step counter: each optimizer must count on its own tensor)."""
    if not isinstance(value, Tensor):
        return value
    if value.dim() > 0 and value.shape[0] == S and value.shape[1:] == shape:
        return value[s].clone()
    return value.clone()


class SeedOptimizers:
    """The S per-seed optimizers of loop batching, seen as the one optimizer of the stacked
    tensors: the same ``param_groups`` keys, ``gamma()``, and a ``state_dict`` in the
    stacked layout (per-seed state tensors stacked on a leading seed axis; the shared
    step counters once), so that a checkpoint of either batching resumes in the other."""

    def __init__(self, opts: list):
        self.opts = opts

    @property
    def param_groups(self) -> list[dict]:
        return [g for o in self.opts for g in o.param_groups]

    @property
    def grads_per_step(self) -> int:
        return self.opts[0].grads_per_step

    def gamma(self, group_index: int = 0) -> float:
        return self.opts[0].gamma(group_index)

    def _shapes(self) -> list[torch.Size]:
        return [p.shape for g in self.opts[0].param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        sds = [o.state_dict() for o in self.opts]
        shapes = self._shapes()
        state = {i: {k: torch.stack([sd["state"][i][k] for sd in sds])
                     if isinstance(v, Tensor) and v.shape == shapes[i] and v.dim() > 0 else v
                     for k, v in st.items()} for i, st in sds[0]["state"].items()}
        return {"state": state, "param_groups": sds[0]["param_groups"]}

    def load_state_dict(self, state_dict: dict) -> None:
        shapes = self._shapes()
        for s, o in enumerate(self.opts):
            st = {i: {k: _seed_row(v, s, shapes[i], len(self.opts)) for k, v in sti.items()}
                  for i, sti in state_dict["state"].items()}
            o.load_state_dict({"state": st,
                               "param_groups": [dict(g) for g in state_dict["param_groups"]]})


# ---------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------
class MultiSeedTrainer:
    """S independent copies of ``model_fn()`` trained together by one Sec. 7 optimizer."""

    def __init__(self, model_fn: Callable[[], nn.Module], data: TensorData, params: TrainParams):
        from torch.func import stack_module_state
        _check_data(data)
        if not isinstance(params, TrainParams):
            raise ParamError("params must be a deeprelax.train.engine.TrainParams")
        self.P = P = params
        self.device = dev = resolve_device(P.device)
        if dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = P.tf32
            torch.backends.cudnn.allow_tf32 = P.tf32
        self.S = S = len(P.seeds)
        # data on the device, float pixels as given (no normalisation here)
        self.dtype = dt = getattr(torch, P.dtype)
        self.train_x = data.train_x.to(dev, dt)
        self.train_y = data.train_y.to(dev, torch.int64)
        self.test_x = data.test_x.to(dev, dt)
        self.test_y = data.test_y.to(dev, torch.int64)
        self.N = N = self.train_x.shape[0]
        self.n_classes = int(max(self.train_y.max(), self.test_y.max())) + 1
        self.loss_bound = P.diverge_factor * math.log(max(self.n_classes, 2))
        self.spe = math.ceil(N / P.batch_size)                    # gradients per eff. epoch
        self.n_slots = 2 + P.L // self.spe
        # counters: gradient evaluations g (host mirror + device tensor), data epoch e0
        self.g = 0
        self.g_t = torch.zeros((), dtype=torch.int64, device=dev)
        self.e0_t = torch.zeros((), dtype=torch.int64, device=dev)
        self._e0 = None
        self.stream = _Stream(P.rng, self.g_t)
        self.seed_t = torch.tensor(P.seeds, dtype=torch.int64, device=dev)
        # per-seed models, stacked
        nets = []
        for s in P.seeds:
            torch.manual_seed(s)
            net = model_fn()
            if not isinstance(net, nn.Module):
                raise ParamError("model_fn() must return a torch.nn.Module")
            swap_dropout(net, s, self.stream)
            nets.append(net.to(dev, dt))
        self.base = nets[0]
        if batchnorm_layers(self.base) and (P.eval_batch == 1 or (
                P.bn_batches == 0 and N % P.eval_batch == 1)):
            raise ParamError(f"TrainParams.eval_batch={P.eval_batch} leaves a batch of one "
                             f"training image in the batch-norm re-estimation ({N} images), "
                             f"which has no variance; choose another eval_batch")
        params_, buffers = stack_module_state(nets)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params_.items()}
        self.buffers = buffers
        self.param_list = list(self.params.values())
        self._sizes = [p[0].numel() for p in self.param_list]
        self.n_params = sum(self._sizes)
        lr0 = P.lr_at(0.0)
        self.lr_t = torch.tensor(lr0, dtype=torch.float32, device=dev) if P.cuda_graph else None
        noise = self._noise if P.rng == "keyed" else None
        self._noise_gens = None
        if P.rng == "keyed" and P.noise_rng == "philox":
            self._noise_gens = [torch.Generator(device=dev).manual_seed(_seed63(s, TAG_NOISE))
                                for s in P.seeds]
        self._noise_buf = None
        self.loss_acc = torch.zeros(S, dtype=dt, device=dev)
        self.perms = torch.empty(S, self.n_slots * N, dtype=torch.int64, device=dev)
        self._batch_ar = torch.arange(P.batch_size, device=dev, dtype=torch.int64)
        self.batching, self.channels_last = resolve_layout(P, dev, self.base)
        self.stream.batched = self.batching == "vmap"
        hyper = P.optimizer_hyper()
        lr = self.lr_t if P.cuda_graph else lr0
        if self.batching == "vmap":
            if P.algorithm in ("entropy-sgd", "heat"):
                hyper["noise"] = noise
            self.opt = _optim.make(P.algorithm, self.param_list, lr=lr, **hyper)
        else:
            # per-seed leaf views of the stacked tensors: they share their storage, so the
            # per-seed optimizers' in-place updates (and checkpoint loads) are updates of
            # the stacked tensors; batch-norm updates its running statistics in place in
            # the stacked buffers
            self._seed_params = [{k: v.detach()[s].requires_grad_(True)
                                  for k, v in self.params.items()} for s in range(S)]
            self._seed_buffers = [{k: v[s] for k, v in self.buffers.items()}
                                  for s in range(S)]
            self._grad_bufs = {k: torch.empty_like(v) for k, v in self.params.items()}
            opts = []
            for s in range(S):
                if P.algorithm in ("entropy-sgd", "heat") and noise is not None:
                    hyper["noise"] = functools.partial(self._noise, s=s)
                opts.append(_optim.make(P.algorithm, list(self._seed_params[s].values()),
                                        lr=lr, **hyper))
            self.opt = SeedOptimizers(opts)
        self._loss_fn = self._batched_loss if self.batching == "vmap" else self._seed_loss
        if P.compile:
            self._loss_fn = torch.compile(self._loss_fn)
        self._graph = None
        # records
        self.records: dict[str, list] = {"effective_epoch": [], "grads": [], "lr": [],
                                         "gamma": [], "train_loss": [], "val_error": []}
        self.diverged: list[dict | None] = [None] * S
        self.above = [0] * S              # consecutive records above loss_bound, per seed
        self.wall_s = 0.0
        self.provenance: dict[str, Any] | None = None
        if P.rng == "torch":
            torch.manual_seed(min(P.seeds) * 7919 + S)

    # ---- batched model -----------------------------------------------------------------
    def _forward_one(self, params, buffers, x):
        from torch.func import functional_call
        return functional_call(self.base, (params, buffers), (x,))

    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """Logits of all seeds: x is (S, B, ...) per seed, or (B, ...) shared (``shared``)."""
        if self.batching == "loop":
            return torch.stack([self._forward_seed(self._seed_params[s], self._seed_buffers[s],
                                                   x if shared else x[s])
                                for s in range(self.S)])
        from torch.func import vmap
        randomness = "different" if self.P.rng == "torch" else "error"
        f = vmap(self._forward_one, in_dims=(0, 0, None if shared else 0),
                 randomness=randomness)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.P.bf16):
            return f(self.params, self.buffers, x).to(self.dtype)

    def _forward_seed(self, params: dict[str, Tensor], buffers: dict[str, Tensor],
                      x: Tensor) -> Tensor:
        """Logits of one seed (loop batching): the plain module on that seed's views."""
        from torch.func import functional_call
        if self.channels_last and x.dim() == 4:
            # empty_like, not .contiguous(): with one input channel both layouts are
            # "contiguous", and only explicit channels_last strides make the first
            # convolution (and everything after it) run in channels_last
            x = torch.empty_like(x, memory_format=torch.channels_last).copy_(x)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.P.bf16):
            return functional_call(self.base, (params, buffers), (x,)).to(self.dtype)

    def _seed_loss(self, params: dict[str, Tensor], buffers: dict[str, Tensor], xb: Tensor,
                   yb: Tensor) -> Tensor:
        """Mean minibatch cross-entropy of one seed (loop batching; the seed's tensors are
        arguments, so that ``torch.compile`` makes one graph for all seeds)."""
        return F.cross_entropy(self._forward_seed(params, buffers, xb), yb,
                               reduction="none").mean()

    def _seed_backward(self, s: int, xb: Tensor, yb: Tensor) -> Tensor:
        """Loop batching: seed s's loss on (xb, yb) and its gradient into the ``.grad`` of
        its views; returns the detached loss."""
        views = self._seed_params[s]
        for v in views.values():
            v.grad = None
        loss = self._loss_fn(views, self._seed_buffers[s], xb, yb)
        loss.backward()
        return loss.detach()

    def _loop_backward(self, xb: Tensor, yb: Tensor) -> Tensor:
        """Loop batching: forward and backward seed by seed (each seed's activations are
        still in cache for its backward), then the per-seed gradients stacked into the
        ``.grad`` of the stacked tensors, which the optimizers read. Returns the (S,)
        losses."""
        losses = [self._seed_backward(s, xb[s], yb[s]) for s in range(self.S)]
        for k, p in self.params.items():
            grads = [views[k].grad for views in self._seed_params]
            if all(g is None for g in grads):
                continue                   # a parameter without gradient, as under vmap
            grads = [torch.zeros_like(views[k]) if g is None else g
                     for g, views in zip(grads, self._seed_params)]
            p.grad = torch.stack(grads, out=self._grad_bufs[k])
        return torch.stack(losses)

    def _batched_loss(self, xb: Tensor, yb: Tensor) -> Tensor:
        logits = self.forward(xb)                                  # (S, B, C)
        S, B = yb.shape
        return F.cross_entropy(logits.reshape(S * B, -1), yb.reshape(-1),
                               reduction="none").view(S, B).mean(1)

    # ---- data ----------------------------------------------------------------------------
    def _refresh_perms(self) -> None:
        """Per-seed permutations of the data epochs this chunk may touch (on the device)."""
        e0 = self.g // self.spe
        if e0 == self._e0:
            return
        N = self.N
        for slot in range(self.n_slots):
            if self.P.rng == "keyed":
                perm = keyed_permutation(self.seed_t, e0 + slot, N)
            else:
                perm = torch.argsort(torch.rand(self.S, N, device=self.device), dim=1)
            self.perms[:, slot * N:(slot + 1) * N] = perm
        self.e0_t.fill_(e0)
        self._e0 = e0

    def _batch_indices(self, s: int | None = None) -> Tensor:
        """(S, B) training indices of gradient evaluation g (device arithmetic only); seed
        s's (B,) with ``s``."""
        g = self.g_t
        slot = torch.div(g, self.spe, rounding_mode="floor") - self.e0_t
        pos = (torch.remainder(g, self.spe) * self.P.batch_size + self._batch_ar) % self.N
        perms = self.perms if s is None else self.perms[s]
        return perms.index_select(-1, slot * self.N + pos)

    def closure(self) -> Tensor:
        """One gradient evaluation of all seeds on their next minibatches (the closure)."""
        idx = self._batch_indices()
        xb = self.train_x[idx]
        yb = self.train_y[idx]
        for p in self.param_list:
            p.grad = None
        if self.batching == "loop":
            losses = self._loop_backward(xb, yb)
        else:
            losses = self._loss_fn(xb, yb)
            losses.sum().backward()
        self.loss_acc += losses.detach()
        self.g_t += 1
        return losses.detach()

    def _noise(self, tensors: list[Tensor], s: int | None = None) -> list[Tensor]:
        """Standard normals shaped like the stacked ``tensors``, from each seed's own stream;
        with ``s`` (loop batching), shaped like seed s's own tensors: row s of the same.

        ``noise_rng="philox"``: one ``torch.randn`` per seed from that seed's generator into
        a static buffer (a few kernels; CUDA graphs register the generators);
        ``"hash"``: keyed by (seed, gradient counter) like the dropout masks.
        """
        sizes = [(t if s is not None else t[0]).numel() for t in tensors]
        M = sum(sizes)
        if self._noise_gens is None:
            seed = self.seed_t if s is None else self.seed_t[s]
            z = random_normal(stream_key(seed, self.g_t, TAG_NOISE), M, dtype=tensors[0].dtype)
        else:
            if self._noise_buf is None or self._noise_buf.shape[1] != M:
                self._noise_buf = torch.empty(self.S, M, dtype=tensors[0].dtype,
                                              device=self.device)
            for r in (range(self.S) if s is None else (s,)):
                torch.randn(M, generator=self._noise_gens[r], out=self._noise_buf[r])
            z = self._noise_buf if s is None else self._noise_buf[s]
        return [c.view(t.shape) for c, t in zip(z.split(sizes, dim=-1), tensors)]

    def _seed_closure(self, s: int) -> Tensor:
        """Loop batching: one gradient evaluation of seed ``s`` on its next minibatch (row s
        of :meth:`closure`), into the ``.grad`` of its views."""
        idx = self._batch_indices(s)
        loss = self._seed_backward(s, self.train_x[idx], self.train_y[idx])
        self.loss_acc[s] += loss
        self.g_t += 1
        return loss

    # ---- stepping ------------------------------------------------------------------------
    def _set_lr(self, lr: float) -> None:
        if self.lr_t is not None:
            self.lr_t.fill_(lr)
        else:
            for g in self.opt.param_groups:
                g["lr"] = lr

    def outer_steps(self, n: int) -> None:
        """Run n outer steps (n·L gradient evaluations) without host synchronisation."""
        self.base.train()
        while n > 0:
            self._refresh_perms()         # the permutations of the data epochs ahead
            room = ((self._e0 + self.n_slots) * self.spe - self.g) // self.P.L
            m = min(n, room)
            self._run(m)
            self.g += m * self.P.L
            n -= m

    def _run(self, n: int) -> None:
        if self.batching == "loop":
            # seed after seed, all n steps of one seed (n·L gradient evaluations and
            # their updates; at most an effective epoch) while its weights, gradients
            # and state are in cache: the seeds are independent, so the order is free.
            # The gradient counter restarts at g0 for each seed and ends at g0 + n·L.
            g0 = self.g_t.clone()
            for s, opt in enumerate(self.opt.opts):
                self.g_t.copy_(g0)
                closure = functools.partial(self._seed_closure, s)
                for _ in range(n):
                    opt.step(closure)
            return
        if not self.P.cuda_graph:
            for _ in range(n):
                self.opt.step(self.closure)
            return
        done = 0
        if self._graph is None:           # warm up on a side stream, then capture one step
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            done = min(n, 2)
            with torch.cuda.stream(side):
                for _ in range(done):
                    self.opt.step(self.closure)
            torch.cuda.current_stream().wait_stream(side)
            if done < n:
                graph = torch.cuda.CUDAGraph()
                for gen in self._noise_gens or []:
                    graph.register_generator_state(gen)
                with torch.cuda.graph(graph):
                    self.opt.step(self.closure)
                self._graph = graph
        for _ in range(n - done):
            self._graph.replay()

    # ---- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> Tensor:
        """Validation error (%) per seed at x, after BN re-estimation on the training set."""
        P = self.P
        eb = P.eval_batch
        n_bn = math.ceil(self.N / eb) if P.bn_batches == 0 else min(P.bn_batches,
                                                                    math.ceil(self.N / eb))
        batches = (self.train_x[i * eb:(i + 1) * eb] for i in range(n_bn))
        reestimate_bn(self.base, batches, forward=lambda xb: self.forward(xb, shared=True))
        self.base.eval()
        wrong = torch.zeros(self.S, dtype=torch.int64, device=self.device)
        for xb, yb in zip(self.test_x.split(eb), self.test_y.split(eb)):
            pred = self.forward(xb, shared=True).argmax(-1)        # (S, b)
            wrong += (pred != yb).sum(1)
        self.base.train()
        return wrong.double() * (100.0 / self.test_x.shape[0])

    # ---- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (tensors and plain containers only)."""
        state = {"schema": SCHEMA, "fingerprint": repr(sorted(self.P.fingerprint().items())),
                 "params": {k: v.detach() for k, v in self.params.items()},
                 "buffers": dict(self.buffers), "optimizer": self.opt.state_dict(),
                 "g": self.g, "records": self.records, "diverged": self.diverged,
                 "above": list(self.above), "wall_s": self.wall_s, "perms": self.perms,
                 "e0": self._e0}
        if self._noise_gens is not None:
            state["noise_gens"] = [gen.get_state() for gen in self._noise_gens]
        if self.P.rng == "torch":
            state["torch_rng"] = torch.get_rng_state()
            if self.device.type == "cuda":
                state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (same parameters required, except run control)."""
        if state.get("schema") != SCHEMA:
            raise ParamError(f"checkpoint schema {state.get('schema')!r} is not {SCHEMA!r}")
        if state["fingerprint"] != repr(sorted(self.P.fingerprint().items())):
            raise ParamError("the checkpoint was written with other hyper-parameters; delete it "
                             "or rerun with the same ones.\n checkpoint: "
                             f"{state['fingerprint']}\n now:        "
                             f"{sorted(self.P.fingerprint().items())!r}")
        for what, mine in (("params", self.params), ("buffers", self.buffers)):
            theirs = state[what]
            if set(theirs) != set(mine) or any(tuple(theirs[k].shape) != tuple(mine[k].shape)
                                               for k in mine):
                bad = sorted(set(theirs) ^ set(mine)) or [
                    f"{k} {tuple(theirs[k].shape)} vs {tuple(mine[k].shape)}" for k in mine
                    if tuple(theirs[k].shape) != tuple(mine[k].shape)]
                raise ParamError(f"the checkpoint holds another model or seed count ({what} "
                                 f"differ: {', '.join(map(str, bad[:3]))})")
        with torch.no_grad():
            for k, v in state["params"].items():
                self.params[k].copy_(v)
            for k, v in state["buffers"].items():
                self.buffers[k].copy_(v)
        lr_t = self.lr_t
        self.opt.load_state_dict(state["optimizer"])
        if lr_t is not None:
            for g in self.opt.param_groups:
                g["lr"] = lr_t
        self.g = int(state["g"])
        self.g_t.fill_(self.g)
        self.records = state["records"]
        self.diverged = state["diverged"]
        self.above = list(state.get("above", [0] * self.S))
        self.wall_s = float(state["wall_s"])
        self.perms.copy_(state["perms"])
        self._e0 = state["e0"]
        if self._e0 is not None:
            self.e0_t.fill_(self._e0)
        self._graph = None
        for gen, st in zip(self._noise_gens or [], state.get("noise_gens", [])):
            gen.set_state(st.cpu())
        if "torch_rng" in state:
            torch.set_rng_state(state["torch_rng"].cpu())
        if "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from the checkpoint file ``path``, verified first (:func:`read_checkpoint`);
        every refusal names the file."""
        state = read_checkpoint(path, self.P.fingerprint(), map_location=self.device)
        try:
            self.load_state_dict(state)
        except (ParamError, KeyError, RuntimeError, TypeError) as err:
            raise CheckpointError(f"checkpoint {path} does not fit this run ({err}). Delete "
                                  f"it to start this run from its beginning.") from None

    # ---- the loop ------------------------------------------------------------------------
    @property
    def effective_epochs_done(self) -> int:
        """Whole effective epochs completed so far, floor(g / (N/b))."""
        return self.g // self.spe

    @property
    def finished(self) -> bool:
        """True when the budget is spent or every seed has diverged (nothing left to do)."""
        return self.effective_epochs_done >= self.P.effective_epochs or \
            all(d is not None for d in self.diverged)

    @property
    def status(self) -> str:
        """'diverged' (every seed), 'complete' (budget spent) or 'incomplete'."""
        if all(d is not None for d in self.diverged):
            return "diverged"
        return "complete" if self.effective_epochs_done >= self.P.effective_epochs else \
            "incomplete"

    def _mark_divergence(self, losses: list[float], last: bool) -> None:
        """Mark seeds diverged by the rule of the module docstring (NaN/inf or the bound)."""
        P, bound, where = self.P, self.loss_bound, self.g / self.spe
        for s in range(self.S):
            if self.diverged[s] is not None:
                continue
            loss = losses[s]
            if not math.isfinite(loss):
                self.diverged[s] = {"effective_epoch": where,
                                    "reason": "non-finite training loss (NaN/inf); this seed "
                                              "stopped recording"}
                continue
            self.above[s] = self.above[s] + 1 if loss > bound else 0
            if self.above[s] >= P.diverge_patience or (last and self.above[s]):
                n = self.above[s]
                self.diverged[s] = {
                    "effective_epoch": where, "loss": loss, "bound": bound,
                    "reason": f"training loss {loss:.4g} above the bound {bound:.3g} "
                              f"(= {P.diverge_factor:g} × log {self.n_classes}, the loss of a "
                              f"uniform guess) for {n} consecutive record{'s' * (n > 1)}"
                              f"{' up to the end of the budget' if n < P.diverge_patience else ''}"
                              f"; this seed stopped recording"}

    def run_effective_epoch(self) -> None:
        """Train to the first outer-step boundary past the next whole effective epoch; record.

        The validation error is evaluated when the run crosses a multiple of
        ``eval_every`` effective epochs and at the end of the budget. When L exceeds the
        gradients per effective epoch (tiny datasets), one call spans several.
        """
        P = self.P
        before = self.effective_epochs_done
        lr = P.lr_at(self.g / self.spe)
        self._set_lr(lr)
        n_outer = max(1, math.ceil(((before + 1) * self.spe - self.g) / P.L))
        self.outer_steps(n_outer)
        losses = (self.loss_acc / (n_outer * P.L)).tolist()
        self.loss_acc.zero_()
        k = self.effective_epochs_done
        gamma = self.opt.gamma() if "gamma" in self.opt.param_groups[0] else None
        due = k // P.eval_every > before // P.eval_every or k >= P.effective_epochs
        errors = self.evaluate().tolist() if due else [None] * self.S
        self._mark_divergence(losses, last=k >= P.effective_epochs)
        self.records["effective_epoch"].append(self.g / self.spe)
        self.records["grads"].append(self.g)
        self.records["lr"].append(lr)
        self.records["gamma"].append(gamma)
        self.records["train_loss"].append([None if self.diverged[s] else losses[s]
                                           for s in range(self.S)])
        self.records["val_error"].append([None if self.diverged[s] else errors[s]
                                          for s in range(self.S)])

    def result(self, meta: dict[str, Any] | None = None) -> dict:
        """The result record (JSON-ready) of this run so far; ``complete`` is True only for
        status 'complete' (budget spent and at least one seed not diverged)."""
        rec = self.records
        transpose = lambda rows: [list(col) for col in zip(*rows)] if rows else \
            [[] for _ in range(self.S)]  # noqa: E731
        status = self.status
        return {"schema": SCHEMA, **(meta or {}), "algorithm": self.P.algorithm,
                "complete": status == "complete", "status": status,
                "seeds": list(self.P.seeds), "L": self.P.L,
                "steps_per_effective_epoch": self.spe, "n_train": self.N,
                "n_test": int(self.test_x.shape[0]), "n_parameters": self.n_params,
                "params": self.P.as_dict(), "fingerprint_sha256": self.P.fingerprint_sha256(),
                "loss_bound": self.loss_bound, "n_classes": self.n_classes,
                "effective_epoch": rec["effective_epoch"], "grads": rec["grads"],
                "lr": rec["lr"], "gamma": rec["gamma"],
                "train_loss": transpose(rec["train_loss"]),
                "val_error": transpose(rec["val_error"]),
                "diverged": self.diverged, "wall_time_s": self.wall_s,
                "provenance": self.provenance or self.take_provenance()}

    def take_provenance(self) -> dict[str, Any]:
        """Commit, versions, device, CPU model and capability, thread count: taken when a
        call of :func:`train` starts (the code that runs), stored with every record."""
        self.provenance = provenance(str(self.device), threads=torch.get_num_threads(),
                                     cpu=cpu_model(), cpu_capability=_cpu_capability())
        return self.provenance


def _cpu_capability() -> str:
    """The vector instruction set torch's CPU kernels use here (e.g. 'AVX2', 'AVX512')."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return "unknown"


# ---------------------------------------------------------------------------------------
# Checkpoint files: header line with checksum and fingerprint, then the torch.save payload
# ---------------------------------------------------------------------------------------
CHECKPOINT_MAGIC = b"deeprelax-checkpoint/2\n"
_RESTART = ("Delete it to start this run from its beginning, or copy it again from the "
            "machine that wrote it.")


class CheckpointError(ResultError):
    """A checkpoint file is empty, truncated, changed, foreign or unreadable."""


def _digest(fingerprint: bytes, payload: bytes) -> str:
    h = hashlib.sha256(len(fingerprint).to_bytes(8, "little"))
    h.update(fingerprint)
    h.update(payload)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, state: dict, fingerprint: dict[str, Any]) -> Path:
    """Write ``state`` atomically with a header: schema, payload length, ``fingerprint``
    (the hyper-parameters it belongs to) and the SHA-256 of fingerprint and payload."""
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    fp = canonical_json(fingerprint)
    header = {"schema": SCHEMA, "payload_bytes": len(payload), "sha256": _digest(fp, payload),
              "fingerprint": json.loads(fp)}
    with atomic_write(path, "wb") as fh:
        fh.write(CHECKPOINT_MAGIC)
        fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        fh.write(payload)
    return Path(path)


def _differences(theirs: dict[str, Any], mine: dict[str, Any]) -> str:
    rows = []
    for k in sorted(set(theirs) | set(mine)):
        a, b = theirs.get(k, "(absent)"), mine.get(k, "(absent)")
        if a != b:
            rows.append(f"{k}: checkpoint {a!r}, now {b!r}")
    return "; ".join(rows) or "(no difference after JSON round trip)"


def read_checkpoint(path: str | os.PathLike, fingerprint: dict[str, Any] | None = None,
                    map_location: Any = "cpu") -> dict[str, Any]:
    """The verified state of a :func:`save_checkpoint` file.

    Nothing is unpickled before the length and checksum agree; then ``torch.load`` with
    ``weights_only=True``. Raises :class:`CheckpointError` (empty, truncated, changed,
    foreign or unreadable file) or, when ``fingerprint`` is given and differs from the
    stored one, ``ParamError``; every message names the file and what to do."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read ({err.strerror or err}).") \
            from None
    if not blob:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): its write was cut off. "
                              + _RESTART)
    if not blob.startswith(CHECKPOINT_MAGIC):
        if CHECKPOINT_MAGIC.startswith(blob):
            raise CheckpointError(f"checkpoint {path} is truncated ({len(blob)} bytes). "
                                  + _RESTART)
        what = ("a checkpoint without a checksum (an older deeprelax format), which cannot be "
                "verified" if blob.startswith(b"PK") else "not a deeprelax checkpoint")
        raise CheckpointError(f"checkpoint {path} is {what}. " + _RESTART)
    line_end = blob.find(b"\n", len(CHECKPOINT_MAGIC))
    try:
        if line_end < 0:
            raise ValueError("no end of header")
        header = json.loads(blob[len(CHECKPOINT_MAGIC):line_end])
        n, stored = int(header["payload_bytes"]), str(header["sha256"])
        their_fp = header["fingerprint"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path} has a damaged header (truncated or "
                              f"changed). " + _RESTART) from None
    payload = blob[line_end + 1:]
    if len(payload) != n:
        how = (f"truncated: {len(payload)} of {n} payload bytes" if len(payload) < n else
               f"{len(payload) - n} bytes longer than its header says")
        raise CheckpointError(f"checkpoint {path} is {how}. " + _RESTART)
    if _digest(canonical_json(their_fp), payload) != stored:
        raise CheckpointError(f"checkpoint {path} fails its checksum: its content changed "
                              f"after it was written (a damaged copy or disk). " + _RESTART)
    if fingerprint is not None and canonical_json(their_fp) != canonical_json(fingerprint):
        mine = json.loads(canonical_json(fingerprint))
        raise ParamError(f"checkpoint {path} was written with other hyper-parameters "
                         f"({_differences(their_fp, mine)}); delete {path} to start afresh "
                         f"with the new ones, or rerun with the same ones.")
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as err:                           # noqa: BLE001 (any unpickling error)
        raise CheckpointError(f"checkpoint {path} passed its checksum but cannot be loaded "
                              f"by torch {torch.__version__} ({type(err).__name__}: "
                              f"{str(err)[:200]}). " + _RESTART) from None
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        raise CheckpointError(f"checkpoint {path} holds no {SCHEMA} state. " + _RESTART)
    return state


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (temporary files are removed), then die by SIGTERM."""


@contextlib.contextmanager
def _unwind_on_sigterm():
    """While training: SIGTERM unwinds the stack (``atomic_write`` removes its temporary
    file), then terminates the process as SIGTERM would have. Only on the main thread and
    where nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        os.kill(os.getpid(), signal.SIGTERM)       # the default action now: terminate
        raise
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


_clock = time.monotonic                            # wall clock of checkpoint_seconds


def _prepare_output(path: Path | None, what: str) -> None:
    """Before any work: ``path``'s folder writable and ``path`` not a folder."""
    if path is None:
        return
    if path.is_dir():
        raise ParamError(f"{what} {path} is a folder; give a file name")
    check_dir(path.parent, f"{what} {path} needs a folder, but")


class RunLockedError(ParamError):
    """Another live process is training the same run (it holds the run's lock file)."""


@contextlib.contextmanager
def run_lock(path: Path | None):
    """Hold ``.<name>.lock`` beside ``path`` (an exclusive ``flock``) while a run writes
    ``path``: a second process training the same run stops at once with
    :class:`RunLockedError` instead of both proceeding (and one deleting the other's
    temporary files). The lock is the kernel's, so a killed process never blocks a rerun;
    the file is removed when the run ends (a lock taken on a file that was removed
    meanwhile is taken again on the new one)."""
    try:
        import fcntl
    except ImportError:                 # no flock (not POSIX): no lock
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fh = open(lock, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunLockedError(f"{path} is being written by a run in progress ({holder}); "
                                 f"wait for it to finish or stop it, then run this command "
                                 f"again") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()                      # removed by its previous holder: take the new one
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {platform.node()}\n")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        fh.close()


def _save(what: str, path: Path, write: Callable[[], Any], trainer: "MultiSeedTrainer"):
    """Write a checkpoint or result; a failed write (a full disk, a lost folder) is one
    ResultError saying what was kept, not a traceback."""
    try:
        write()
    except OSError as err:
        raise ResultError(f"could not write the {what} {path} ({err.strerror or err}) after "
                          f"effective epoch {trainer.effective_epochs_done}; the previous "
                          f"file is intact: free space (or fix the folder) and run the same "
                          f"command again to continue from it") from None


def train(model_fn: Callable[[], nn.Module], data: TensorData, params: TrainParams, *,
          out: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
          max_seconds: float | None = None, stop_after: int | None = None,
          meta: dict[str, Any] | None = None, show_progress: bool = True,
          should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train all seeds of ``params`` together; resumable (``checkpoint``), atomic JSON (``out``).

    Returns the result record (also written to ``out``, with its checksum): per effective
    epoch the training loss and validation error of every seed, the hyper-parameters and
    their fingerprint, ``status`` and ``diverged``, provenance and the wall time. The
    folders of ``out`` and ``checkpoint`` are checked (writable) before any work. With
    ``checkpoint``, an existing file is verified and resumed (:func:`read_checkpoint`),
    and the state is saved every ``checkpoint_every`` effective epochs, when
    ``checkpoint_seconds`` have passed since the last save, and when the call stops.
    ``max_seconds`` stops the call after the effective epoch that exceeds it;
    ``stop_after`` after that many effective epochs in this call, ``should_stop()`` (asked
    after every effective epoch, e.g. a SIGTERM flag) when it returns True: all three save
    and leave status 'incomplete' (call again to continue). The run holds a lock
    (``run_lock``) on its checkpoint (else its result file): a second process on the
    same run stops with ``RunLockedError`` (a ParamError). Training uses
    ``params.threads`` torch threads (restored afterwards) and glibc keeps freed memory
    (``runtime.keep_freed_memory``); a failed write is a ``ResultError``.
    """
    ckpt = Path(checkpoint) if checkpoint is not None else None
    out = Path(out) if out is not None else None
    _prepare_output(out, "result file")
    _prepare_output(ckpt, "checkpoint")
    keep_freed_memory()
    with _unwind_on_sigterm(), run_lock(ckpt if ckpt is not None else out), \
            torch_threads(params.threads):
        for path in (out, ckpt):
            if path is not None:
                remove_stale_temps(path)
        return _train_locked(model_fn, data, params, out, ckpt, max_seconds, stop_after,
                             meta, show_progress, should_stop)


def _train_locked(model_fn, data, params, out, ckpt, max_seconds, stop_after, meta,
                  show_progress, should_stop) -> dict[str, Any]:
    """:func:`train` once the lock is held and the thread count set."""
    trainer = MultiSeedTrainer(model_fn, data, params)
    trainer.take_provenance()
    if ckpt is not None and ckpt.exists():
        trainer.resume(ckpt)
    P = params
    start = time.perf_counter()
    last_save = _clock()
    done_here = 0
    label = f"{(meta or {}).get('net', 'model')} {P.algorithm}"
    bar = progress(total=P.effective_epochs, initial=trainer.effective_epochs_done,
                   desc=label, unit="eff.epoch", disable=not show_progress)
    try:
        while not trainer.finished:
            t0 = time.perf_counter()
            before = trainer.effective_epochs_done
            trainer.run_effective_epoch()
            trainer.wall_s += time.perf_counter() - t0
            done_here += 1
            k = trainer.effective_epochs_done
            errs = [e for e in trainer.records["val_error"][-1] if e is not None]
            if errs:
                bar.set_postfix(val_err=f"{sum(errs) / len(errs):.2f}%")
            bar.update(min(k, P.effective_epochs) - min(before, P.effective_epochs))
            stop = (max_seconds is not None and
                    time.perf_counter() - start >= max_seconds) or \
                (stop_after is not None and done_here >= stop_after) or \
                (should_stop is not None and bool(should_stop()))
            if trainer.finished or stop or \
                    k // P.checkpoint_every > before // P.checkpoint_every or \
                    _clock() - last_save >= P.checkpoint_seconds:
                if ckpt is not None:
                    _save("checkpoint", ckpt, lambda: save_checkpoint(
                        ckpt, trainer.state_dict(), P.fingerprint()), trainer)
                if out is not None:
                    _save("result file", out, lambda: write_json(
                        out, trainer.result(meta)), trainer)
                last_save = _clock()
            if stop:
                break
        result = trainer.result(meta)
        if out is not None:
            _save("result file", out, lambda: write_json(out, result), trainer)
    finally:
        bar.close()
    return result


def replace(params: TrainParams, **changes: Any) -> TrainParams:
    """A copy of ``params`` with some fields changed (validated again)."""
    return dataclasses.replace(params, **changes)
