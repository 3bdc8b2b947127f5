"""Run-time helpers shared by simulators and training: devices, seeds, progress bars."""
from __future__ import annotations

import os
import random

import numpy as np

PROGRESS_ENV = "DEEPRELAX_PROGRESS"


def progress(iterable=None, **kwargs):
    """A tqdm progress bar (with ETA); silenced when $DEEPRELAX_PROGRESS is '0' (book builds)."""
    from tqdm.auto import tqdm
    disable = bool(kwargs.pop("disable", False)) or os.environ.get(PROGRESS_ENV, "1") == "0"
    return tqdm(iterable, disable=disable, **kwargs)


def resolve_device(device: str = "cpu"):
    """``torch.device`` for 'cpu' / 'cuda' / 'cuda:N' with a clear error if unavailable."""
    import torch
    name = str(device)
    if not (name == "cpu" or name.startswith("cuda")):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} was requested but no CUDA GPU is visible "
                           f"to torch {torch.__version__}; use device='cpu'.")
    return torch.device(name)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch; return a NumPy Generator for explicit use."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:
        pass
    return np.random.default_rng(seed)
