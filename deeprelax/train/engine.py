"""Multi-seed training engine: all seeds of one (net, algorithm) train at once, independently.

Optimizers never load data, models know no dataset; the engine composes them::

    from deeprelax.train import engine, models
    data = engine.TensorData(train_x, train_y, test_x, test_y, name="mnist")  # tensors
    P = engine.TrainParams(algorithm="entropy-sgd", L=20, lr_schedule=((0, 1.0), (40, 0.1)),
                           gamma=1e4, outer="lua", momentum=0.0, inner_momentum=0.9,
                           effective_epochs=100, seeds=(0, 1, 2, 3, 4, 5), device="cuda")
    result = engine.train(models.lenet, data, P, out="results/x.json", checkpoint="runs/x.pt")

This module holds :func:`train`; its pieces, one concern each, are re-exported here:
``deeprelax.train.rng`` (the keyed random streams), ``.config`` (``TrainParams``,
``TensorData``), ``.checkpoint`` (verified checkpoint files, the SIGTERM unwinding, the run
lock) and ``.trainer`` (``MultiSeedTrainer`` and its two batching strategies).

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
:class:`~deeprelax.train.checkpoint.CheckpointError` (a ``results.ResultError``) and one made with other
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

import os
import time
from pathlib import Path
from typing import Any, Callable

from torch import nn

# the pieces, re-exported: ``deeprelax.train.engine`` stays the one import of the engine
from deeprelax.train.checkpoint import (CHECKPOINT_MAGIC, SCHEMA, CheckpointError,  # noqa: F401
    RunLockedError, _prepare_output, _save, _Terminated, _unwind_on_sigterm, read_checkpoint,
    run_lock, save_checkpoint)
from deeprelax.train.config import (BATCHINGS, MEMORY_FORMATS, LrSchedule,  # noqa: F401
    TensorData, TrainParams, _check_data, replace)
from deeprelax.train.rng import (TAG_DROPOUT, TAG_NOISE, TAG_SHUFFLE, KeyedDropout,  # noqa: F401
    _Stream, dropout_keep, keyed_permutation, random_normal, random_uniform16, random_words,
    stream_key, swap_dropout)
from deeprelax.train.trainer import (MultiSeedTrainer, SeedOptimizers,  # noqa: F401
    _cpu_capability, resolve_layout)
from deeprelax.results import remove_stale_temps, write_json
from deeprelax.runtime import keep_freed_memory, progress, torch_threads  # noqa: F401

_clock = time.monotonic                            # wall clock of checkpoint_seconds


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
    ``checkpoint``, an existing file is verified and resumed (:func:`~deeprelax.train.checkpoint.read_checkpoint`),
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
