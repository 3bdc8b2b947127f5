"""Run-time helpers shared by simulators and training: devices, seeds, progress bars."""
from __future__ import annotations

import os
import random
import re

import numpy as np

from .params import ParamError

PROGRESS_ENV = "DEEPRELAX_PROGRESS"


def progress(iterable=None, **kwargs):
    """A tqdm progress bar (with ETA); silenced when $DEEPRELAX_PROGRESS is '0' (book builds)."""
    from tqdm.auto import tqdm
    disable = bool(kwargs.pop("disable", False)) or os.environ.get(PROGRESS_ENV, "1") == "0"
    return tqdm(iterable, disable=disable, **kwargs)


DEVICE_FORMS = "'cpu', 'cuda' or 'cuda:N'"


def device_syntax_ok(device: str) -> bool:
    """True for 'cpu', 'cuda' and 'cuda:N' (says nothing about what this machine has)."""
    return re.fullmatch(r"cpu|cuda(:\d+)?", str(device)) is not None


def check_device(device: str = "cpu") -> str:
    """``device`` if this machine has it, else a one-line ParamError saying what it has."""
    name = str(device)
    if not device_syntax_ok(name):
        raise ParamError(f"device must be {DEVICE_FORMS}, got {device!r}")
    if name == "cpu":
        return name
    import torch
    if not torch.cuda.is_available():
        raise ParamError(f"device {name!r} was requested but no CUDA GPU is visible to "
                         f"torch {torch.__version__}; use device 'cpu'")
    index = int(name.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        raise ParamError(f"device {name!r} was requested but this machine has {count} CUDA "
                         f"GPU(s): cuda:0 .. cuda:{count - 1}")
    return name


def resolve_device(device: str = "cpu"):
    """``torch.device`` for 'cpu' / 'cuda' / 'cuda:N'; a one-line ParamError (a ValueError)
    if the name is malformed or the device absent (:func:`check_device`)."""
    import torch
    return torch.device(check_device(device))


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
