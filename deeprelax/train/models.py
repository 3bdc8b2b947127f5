"""The paper's networks (Sec. 8.2, 8.3) as plain ``torch.nn`` modules, and BN re-estimation.

- :func:`mnistfc` (Sec. 8.2.1): 784 → drop 0.2 → 2 × [fc 1024 → ReLU → BN → drop 0.2] → fc 10;
  1,867,786 parameters (the paper: "1.86 million").
- :func:`lenet` (Sec. 8.2.2): 2 × [conv → ReLU → max-pool → BN → drop 0.25] → fc 500 → ReLU →
  drop 0.25 → fc 10, with conv₂₀,₅,₃ and conv₅₀,₅,₂; 131,220 parameters (the paper's n).
- :func:`allcnn` (Sec. 8.3): All-CNN-C of Springenberg et al. with batch-norm after every
  convolution; 1,667,166 parameters (the paper: "1.67 million").

The layer order (ReLU before BN; BN only in the conv part of LeNet; BN + ReLU after the last
1×1 convolution of All-CNN-C) follows the authors' code (``code/models.py`` of their
research repository), because the paper's text lists the operations but not their order;
with it the parameter counts match the paper exactly. Models know no dataset: they map
image tensors to 10 logits (no softmax; the loss applies it).

Dropout layers are ordinary ``torch.nn.Dropout``; the training engine swaps in a
per-seed, counter-based dropout when it batches seeds (``deeprelax.train.engine``).
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

#: The parameter count n that the paper states for each network (Sec. 8.2, 8.3).
PAPER_PARAMETER_COUNTS = {"mnistfc": 1_867_786, "lenet": 131_220, "allcnn": 1_667_166}


def mnistfc() -> nn.Sequential:
    """mnistfc of Sec. 8.2.1: input₇₈₄ → drop₀.₂ → (fc₁₀₂₄ → drop₀.₂) × 2 → fc₁₀."""
    return nn.Sequential(
        nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(784, 1024), nn.ReLU(), nn.BatchNorm1d(1024), nn.Dropout(0.2),
        nn.Linear(1024, 1024), nn.ReLU(), nn.BatchNorm1d(1024), nn.Dropout(0.2),
        nn.Linear(1024, 10))


def lenet() -> nn.Sequential:
    """LeNet (Sec. 8.2.2): conv₂₀,₅,₃ → drop → conv₅₀,₅,₂ → drop → fc₅₀₀ → drop → fc₁₀."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(3), nn.BatchNorm2d(20), nn.Dropout(0.25),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(50), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(200, 500), nn.ReLU(), nn.Dropout(0.25), nn.Linear(500, 10))


def _conv_bn_relu(c_in: int, c_out: int, k: int = 3, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2),
            nn.BatchNorm2d(c_out), nn.ReLU()]


def allcnn() -> nn.Sequential:
    """All-CNN-C + BN (Sec. 8.3): drop → block₉₆ → block₁₉₂ → conv₁₉₂ × 2 → conv₁₀ → mean-pool."""
    return nn.Sequential(
        nn.Dropout(0.2),
        *_conv_bn_relu(3, 96), *_conv_bn_relu(96, 96), *_conv_bn_relu(96, 96, stride=2),
        nn.Dropout(0.5),
        *_conv_bn_relu(96, 192), *_conv_bn_relu(192, 192), *_conv_bn_relu(192, 192, stride=2),
        nn.Dropout(0.5),
        *_conv_bn_relu(192, 192), *_conv_bn_relu(192, 192), *_conv_bn_relu(192, 10, k=1),
        nn.AvgPool2d(8), nn.Flatten())


#: The networks by name: functions without arguments that build a fresh one.
MODELS: dict[str, Callable[[], nn.Module]] = {"mnistfc": mnistfc, "lenet": lenet,
                                              "allcnn": allcnn}
INPUT_SHAPES = {"mnistfc": (1, 28, 28), "lenet": (1, 28, 28), "allcnn": (3, 32, 32)}


def build(name: str) -> nn.Module:
    """The network called ``name`` (one of :data:`MODELS`), freshly initialised."""
    if name not in MODELS:
        raise ValueError(f"unknown network {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name]()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters n (weights, biases and BN affine; no running stats)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch-norm layers of ``model`` in order."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate_bn(model: nn.Module, batches: Iterable[torch.Tensor],
                  forward: Callable[[torch.Tensor], torch.Tensor] | None = None) -> int:
    """Recompute BN running statistics at the current weights (the authors' pre-test pass).

    The inner loops of Entropy-SGD/HJ/HEAT run forward passes at perturbed weights y,
    which move the running statistics away from those of x; before each evaluation
    the statistics are therefore re-estimated as the plain average over ``batches``
    (train-mode BN, dropout off). ``forward`` (default ``model``) lets a caller run
    the same modules functionally, e.g. vmapped over seeds; the k-th batch is folded
    in with momentum 1/k, which equals the cumulative average and needs no host sync.
    Returns the number of batches used; restores every module's mode and momentum.
    """
    forward = model if forward is None else forward
    bns = batchnorm_layers(model)
    if not bns:
        return 0
    modes = {m: m.training for m in model.modules()}
    momenta = [bn.momentum for bn in bns]
    model.eval()
    for bn in bns:
        bn.train()
    n = 0
    try:
        for n, xb in enumerate(batches, start=1):
            for bn in bns:
                bn.momentum = 1.0 / n
            forward(xb)
    finally:
        for m, mode in modes.items():
            m.train(mode)
        for bn, mom in zip(bns, momenta):
            bn.momentum = mom
    if n == 0:
        raise ValueError("reestimate_bn needs at least one batch")
    return n
