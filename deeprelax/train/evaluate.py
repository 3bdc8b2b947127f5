"""The validation error as the authors test: batch-norm statistics re-estimated on the
training set at the current weights (dropout off), then the test set classified.

Shared by the multi-seed trainer (all seeds at once, through its batched forward) and the
distributed trainer (x̄ of Elastic-SGD / Parle, a plain module).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from deeprelax.train.models import reestimate_bn


@torch.no_grad()
def count_wrong(model: nn.Module, train_x: Tensor, test_x: Tensor, test_y: Tensor,
                eval_batch: int, bn_batches: int = 0,
                forward: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Misclassified test images after BN re-estimation (:func:`reestimate_bn`) on the
    first ``bn_batches`` batches of ``eval_batch`` training images (0: all of them).

    ``forward`` (default ``model``) maps a batch to logits (..., b, C): with leading axes
    (e.g. the seeds of the trainer) the count is one per leading index. The counts are
    integers, exact in any order; the model is left in training mode."""
    forward = model if forward is None else forward
    N, eb = int(train_x.shape[0]), eval_batch
    n_bn = math.ceil(N / eb) if bn_batches == 0 else min(bn_batches, math.ceil(N / eb))
    reestimate_bn(model, (train_x[i * eb:(i + 1) * eb] for i in range(n_bn)), forward=forward)
    model.eval()
    wrong = 0
    for xb, yb in zip(test_x.split(eb), test_y.split(eb)):
        wrong = wrong + (forward(xb).argmax(-1) != yb).sum(-1)
    model.train()
    return wrong
