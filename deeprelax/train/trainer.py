"""The multi-seed trainer: S independent copies of a model trained together.

``MultiSeedTrainer`` stacks the seeds' models, trains them by a Sec. 7 optimizer of
``deeprelax.train.optim``, records, evaluates and saves its state. How the seeds are
batched is one of two strategies, chosen once (``resolve_layout``): ``VmapBatching``, one
vmapped program and one optimizer of the stacked tensors, or ``LoopBatching``, seed after
seed with one optimizer per seed (``SeedOptimizers``). See ``deeprelax.train.engine`` for
the whole design and the measured speeds.
"""
from __future__ import annotations

import functools
import math
import os
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from deeprelax.train import optim as _optim
from deeprelax.train.checkpoint import SCHEMA, CheckpointError, read_checkpoint
from deeprelax.train.config import TensorData, TrainParams, _check_data
from deeprelax.train.evaluate import count_wrong
from deeprelax.train.models import batchnorm_layers
from deeprelax.train.rng import (TAG_NOISE, _seed63, _Stream, keyed_permutation, random_normal,
    stream_key, swap_dropout)
from deeprelax.params import ParamError
from deeprelax.results import provenance
from deeprelax.runtime import cpu_model, resolve_device

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
# How the seeds are batched: one strategy each, chosen once by the trainer
# ---------------------------------------------------------------------------------------
class VmapBatching:
    """The seeds as one program: ``torch.func.vmap`` over ``functional_call`` (linear layers
    become batched matrix products, convolutions grouped ones); the loss is the sum over
    seeds of each seed's mean minibatch cross-entropy, so one ``backward()`` gives every
    seed its own gradient, and one optimizer updates the stacked tensors."""

    batched = True                        # the modules run under vmap (KeyedDropout)

    def __init__(self, trainer: MultiSeedTrainer):
        self.t = trainer
        self.loss_fn = torch.compile(self.loss) if trainer.P.compile else self.loss

    def optimizer(self, lr: float | Tensor, hyper: dict[str, Any],
                  noise: Callable | None) -> torch.optim.Optimizer:
        """One optimizer over the stacked tensors; ``noise`` draws every seed's at once."""
        P = self.t.P
        if _optim.OPTIMIZERS[P.algorithm].draws_noise:
            hyper["noise"] = noise
        return _optim.make(P.algorithm, self.t.param_list, lr=lr, **hyper)

    def _forward_one(self, params, buffers, x):
        return functional_call(self.t.base, (params, buffers), (x,))

    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """Logits of all seeds: x is (S, B, ...) per seed, or (B, ...) shared (``shared``)."""
        t = self.t
        randomness = "different" if t.P.rng == "torch" else "error"
        f = vmap(self._forward_one, in_dims=(0, 0, None if shared else 0),
                 randomness=randomness)
        with torch.autocast(t.device.type, dtype=torch.bfloat16, enabled=t.P.bf16):
            return f(t.params, t.buffers, x).to(t.dtype)

    def loss(self, xb: Tensor, yb: Tensor) -> Tensor:
        """(S,) mean minibatch cross-entropies of the seeds on their (S, B) minibatches."""
        logits = self.forward(xb)                                  # (S, B, C)
        S, B = yb.shape
        return F.cross_entropy(logits.reshape(S * B, -1), yb.reshape(-1),
                               reduction="none").view(S, B).mean(1)

    def backward(self, xb: Tensor, yb: Tensor) -> Tensor:
        """The (S,) losses and their gradients into the ``.grad`` of the stacked tensors."""
        losses = self.loss_fn(xb, yb)
        losses.sum().backward()
        return losses

    def run(self, n: int) -> None:
        """n outer steps of all seeds; under ``cuda_graph`` two warm-up steps on a side
        stream, then one step captured in a CUDA graph and replayed."""
        t = self.t
        if not t.P.cuda_graph:
            for _ in range(n):
                t.opt.step(t.closure)
            return
        done = 0
        if t._graph is None:              # warm up on a side stream, then capture one step
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            done = min(n, 2)
            with torch.cuda.stream(side):
                for _ in range(done):
                    t.opt.step(t.closure)
            torch.cuda.current_stream().wait_stream(side)
            if done < n:
                graph = torch.cuda.CUDAGraph()
                for gen in t._noise_gens or []:
                    graph.register_generator_state(gen)
                with torch.cuda.graph(graph):
                    t.opt.step(t.closure)
                t._graph = graph
        for _ in range(n - done):
            t._graph.replay()


class LoopBatching:
    """The seeds one after another: the plain module runs forward and backward on leaf views
    of seed s's slices of the stacked tensors, and seed s's own optimizer (one per seed,
    :class:`SeedOptimizers`) updates them in place. Each seed runs the kernels it runs
    alone, on the same shapes: seeds together equal seeds alone bit for bit."""

    batched = False                       # the modules run unbatched (KeyedDropout)

    def __init__(self, trainer: MultiSeedTrainer):
        self.t = t = trainer
        # per-seed leaf views of the stacked tensors: they share their storage, so the
        # per-seed optimizers' in-place updates (and checkpoint loads) are updates of
        # the stacked tensors; batch-norm updates its running statistics in place in
        # the stacked buffers
        self.params = [{k: v.detach()[s].requires_grad_(True) for k, v in t.params.items()}
                       for s in range(t.S)]
        self.buffers = [{k: v[s] for k, v in t.buffers.items()} for s in range(t.S)]
        self.grad_bufs = {k: torch.empty_like(v) for k, v in t.params.items()}
        self.loss_fn = torch.compile(self.loss) if t.P.compile else self.loss

    def optimizer(self, lr: float | Tensor, hyper: dict[str, Any],
                  noise: Callable | None) -> SeedOptimizers:
        """One optimizer per seed over its views; ``noise`` draws seed s's (row s)."""
        P = self.t.P
        opts = []
        for s in range(self.t.S):
            if _optim.OPTIMIZERS[P.algorithm].draws_noise and noise is not None:
                hyper["noise"] = functools.partial(noise, s=s)
            opts.append(_optim.make(P.algorithm, list(self.params[s].values()), lr=lr,
                                    **hyper))
        return SeedOptimizers(opts)

    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """Logits of all seeds: x is (S, B, ...) per seed, or (B, ...) shared (``shared``)."""
        return torch.stack([self.forward_seed(self.params[s], self.buffers[s],
                                              x if shared else x[s])
                            for s in range(self.t.S)])

    def forward_seed(self, params: dict[str, Tensor], buffers: dict[str, Tensor],
                     x: Tensor) -> Tensor:
        """Logits of one seed: the plain module on that seed's views."""
        t = self.t
        if t.channels_last and x.dim() == 4:
            # empty_like, not .contiguous(): with one input channel both layouts are
            # "contiguous", and only explicit channels_last strides make the first
            # convolution (and everything after it) run in channels_last
            x = torch.empty_like(x, memory_format=torch.channels_last).copy_(x)
        with torch.autocast(t.device.type, dtype=torch.bfloat16, enabled=t.P.bf16):
            return functional_call(t.base, (params, buffers), (x,)).to(t.dtype)

    def loss(self, params: dict[str, Tensor], buffers: dict[str, Tensor], xb: Tensor,
             yb: Tensor) -> Tensor:
        """Mean minibatch cross-entropy of one seed (the seed's tensors are arguments, so
        that ``torch.compile`` makes one graph for all seeds)."""
        return F.cross_entropy(self.forward_seed(params, buffers, xb), yb,
                               reduction="none").mean()

    def seed_backward(self, s: int, xb: Tensor, yb: Tensor) -> Tensor:
        """Seed s's loss on (xb, yb) and its gradient into the ``.grad`` of its views;
        returns the detached loss."""
        views = self.params[s]
        for v in views.values():
            v.grad = None
        loss = self.loss_fn(views, self.buffers[s], xb, yb)
        loss.backward()
        return loss.detach()

    def backward(self, xb: Tensor, yb: Tensor) -> Tensor:
        """Forward and backward seed by seed (each seed's activations are still in cache
        for its backward), then the per-seed gradients stacked into the ``.grad`` of the
        stacked tensors. Returns the (S,) losses."""
        losses = [self.seed_backward(s, xb[s], yb[s]) for s in range(self.t.S)]
        for k, p in self.t.params.items():
            grads = [views[k].grad for views in self.params]
            if all(g is None for g in grads):
                continue                   # a parameter without gradient, as under vmap
            grads = [torch.zeros_like(views[k]) if g is None else g
                     for g, views in zip(grads, self.params)]
            p.grad = torch.stack(grads, out=self.grad_bufs[k])
        return torch.stack(losses)

    def run(self, n: int) -> None:
        """n outer steps of every seed: seed after seed, all n steps of one seed (n·L
        gradient evaluations and their updates; at most an effective epoch) while its
        weights, gradients and state are in cache: the seeds are independent, so the order
        is free. The gradient counter restarts at g0 for each seed and ends at g0 + n·L."""
        t = self.t
        g0 = t.g_t.clone()
        for s, opt in enumerate(t.opt.opts):
            t.g_t.copy_(g0)
            closure = functools.partial(t._seed_closure, s)
            for _ in range(n):
                opt.step(closure)


BATCHERS = {"vmap": VmapBatching, "loop": LoopBatching}


# ---------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------
class MultiSeedTrainer:
    """S independent copies of ``model_fn()`` trained together by one Sec. 7 optimizer.

    Built in steps: the data on the device, the counters and random streams, the seeds'
    models (stacked), the batching strategy (``batcher``), the optimizers, empty records.
    """

    def __init__(self, model_fn: Callable[[], nn.Module], data: TensorData, params: TrainParams):
        _check_data(data)
        if not isinstance(params, TrainParams):
            raise ParamError("params must be a deeprelax.train.engine.TrainParams")
        self.P = P = params
        self.device = resolve_device(P.device)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = P.tf32
            torch.backends.cudnn.allow_tf32 = P.tf32
        self.S = len(P.seeds)
        self._place_data(data)
        self._start_streams()
        self._build_models(model_fn)
        self.batching, self.channels_last = resolve_layout(P, self.device, self.base)
        self.batcher = BATCHERS[self.batching](self)
        self.stream.batched = self.batcher.batched
        self._build_optimizers()
        self._start_records()
        if P.rng == "torch":              # the global generator, seeded once per run
            torch.manual_seed(min(P.seeds) * 7919 + self.S)

    def _place_data(self, data: TensorData) -> None:
        """The data on the device, float pixels as given (no normalisation here), and the
        bookkeeping they set: N, the classes C, the divergence bound, ceil(N/b) gradients per
        effective epoch (Remark 22) and the data epochs one chunk of steps may touch."""
        P, dev = self.P, self.device
        self.dtype = dt = getattr(torch, P.dtype)
        self.train_x = data.train_x.to(dev, dt)
        self.train_y = data.train_y.to(dev, torch.int64)
        self.test_x = data.test_x.to(dev, dt)
        self.test_y = data.test_y.to(dev, torch.int64)
        self.N = self.train_x.shape[0]
        self.n_classes = int(max(self.train_y.max(), self.test_y.max())) + 1
        self.loss_bound = P.diverge_factor * math.log(max(self.n_classes, 2))
        self.spe = math.ceil(self.N / P.batch_size)               # gradients per eff. epoch
        self.n_slots = 2 + P.L // self.spe

    def _start_streams(self) -> None:
        """The counters (gradient evaluations g, host mirror and device tensor; data epoch
        e0), the keyed random streams they drive, the per-seed permutations of the data
        epochs ahead and the noise generators (one Philox generator per seed)."""
        P, dev, S = self.P, self.device, self.S
        self.g = 0
        self.g_t = torch.zeros((), dtype=torch.int64, device=dev)
        self.e0_t = torch.zeros((), dtype=torch.int64, device=dev)
        self._e0 = None
        self.stream = _Stream(P.rng, self.g_t)
        self.seed_t = torch.tensor(P.seeds, dtype=torch.int64, device=dev)
        self._noise_gens = None
        if P.rng == "keyed" and P.noise_rng == "philox":
            self._noise_gens = [torch.Generator(device=dev).manual_seed(_seed63(s, TAG_NOISE))
                                for s in P.seeds]
        self._noise_buf = None
        self.loss_acc = torch.zeros(S, dtype=self.dtype, device=dev)
        self.perms = torch.empty(S, self.n_slots * self.N, dtype=torch.int64, device=dev)
        self._batch_ar = torch.arange(P.batch_size, device=dev, dtype=torch.int64)

    def _build_models(self, model_fn: Callable[[], nn.Module]) -> None:
        """Seed s's model is ``model_fn()`` after ``torch.manual_seed(s)``, its dropout keyed
        (``swap_dropout``); the S models stacked (``stack_module_state``)."""
        P = self.P
        nets = []
        for s in P.seeds:
            torch.manual_seed(s)
            net = model_fn()
            if not isinstance(net, nn.Module):
                raise ParamError("model_fn() must return a torch.nn.Module")
            swap_dropout(net, s, self.stream)
            nets.append(net.to(self.device, self.dtype))
        self.base = nets[0]
        if batchnorm_layers(self.base) and (P.eval_batch == 1 or (
                P.bn_batches == 0 and self.N % P.eval_batch == 1)):
            raise ParamError(f"TrainParams.eval_batch={P.eval_batch} leaves a batch of one "
                             f"training image in the batch-norm re-estimation ({self.N} "
                             f"images), which has no variance; choose another eval_batch")
        params_, buffers = stack_module_state(nets)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params_.items()}
        self.buffers = buffers
        self.param_list = list(self.params.values())
        self._sizes = [p[0].numel() for p in self.param_list]
        self.n_params = sum(self._sizes)

    def _build_optimizers(self) -> None:
        """The Sec. 7 optimizer of ``algorithm`` as the batching runs it (one over the stacked
        tensors, or one per seed), its lr a device tensor under ``cuda_graph``."""
        P = self.P
        lr0 = P.lr_at(0.0)
        self.lr_t = torch.tensor(lr0, dtype=torch.float32, device=self.device) \
            if P.cuda_graph else None
        noise = self._noise if P.rng == "keyed" else None
        self.opt = self.batcher.optimizer(self.lr_t if P.cuda_graph else lr0,
                                          P.optimizer_hyper(), noise)
        self._graph = None                # vmap with cuda_graph: one outer step, captured

    def _start_records(self) -> None:
        """Empty records: per effective epoch the curves, per seed divergence (the rule of
        the engine docstring), the wall time and the provenance."""
        self.records: dict[str, list] = {"effective_epoch": [], "grads": [], "lr": [],
                                         "gamma": [], "train_loss": [], "val_error": []}
        self.diverged: list[dict | None] = [None] * self.S
        self.above = [0] * self.S         # consecutive records above loss_bound, per seed
        self.wall_s = 0.0
        self.provenance: dict[str, Any] | None = None

    # ---- the seeds' model ----------------------------------------------------------------
    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """Logits of all seeds: x is (S, B, ...) per seed, or (B, ...) shared (``shared``)."""
        return self.batcher.forward(x, shared)

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
        losses = self.batcher.backward(xb, yb)
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
        loss = self.batcher.seed_backward(s, self.train_x[idx], self.train_y[idx])
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
            self.batcher.run(m)
            self.g += m * self.P.L
            n -= m

    # ---- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> Tensor:
        """Validation error (%) per seed at x, after BN re-estimation on the training set
        (:func:`deeprelax.train.evaluate.count_wrong`, all seeds at once)."""
        wrong = count_wrong(self.base, self.train_x, self.test_x, self.test_y,
                            self.P.eval_batch, self.P.bn_batches,
                            forward=lambda xb: self.forward(xb, shared=True))  # (S,)
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
