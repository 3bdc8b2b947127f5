"""The settings of a multi-seed training run (``TrainParams``) and its data (``TensorData``)."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

from torch import Tensor

from deeprelax.train import optim as _optim
from deeprelax.params import ParamError, Params, knob
from deeprelax.results import canonical_json
from deeprelax.runtime import DEVICE_FORMS, device_syntax_ok

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


def check_lr_schedule(schedule: LrSchedule, where: str) -> None:
    """Refuse a step schedule ((0, lr0), (e1, lr1), ...) that does not start at effective
    epoch 0, whose epochs do not increase, or with a negative lr (ParamError naming
    ``where``, the field); its shape is the field's type, checked by ``Params``."""
    if not schedule or schedule[0][0] != 0 or \
            any(b[0] <= a[0] for a, b in zip(schedule, schedule[1:])):
        raise ParamError(f"{where} must be ((0, lr0), (e1, lr1), ...) with increasing "
                         f"effective epochs, got {schedule!r}")
    if any(lr < 0 for _, lr in schedule):
        raise ParamError(f"{where} has a negative lr: {schedule!r}")


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
        check_lr_schedule(self.lr_schedule, "TrainParams.lr_schedule")
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


def replace(params: TrainParams, **changes: Any) -> TrainParams:
    """A copy of ``params`` with some fields changed (validated again)."""
    return dataclasses.replace(params, **changes)
