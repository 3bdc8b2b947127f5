"""Run-time helpers shared by simulators and training: devices, seeds, progress bars."""
from __future__ import annotations

import contextlib
import os
import random
import re

import numpy as np

from deeprelax.params import ParamError

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


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch CPU threads (``torch.set_num_threads``), then restore
    the previous count. CPU reductions are split by thread, so the count is part of what
    defines a CPU run's numbers."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3   # glibc <malloc.h>


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to keep freed memory instead of returning it to the system
    and faulting it in again at the next allocation (large activations are allocated and
    freed at every step): blocks up to 32 MiB (glibc's largest mmap threshold) come from
    the heap, which is never trimmed and grows in steps of 256 MiB. Changes no number,
    only time. Returns False where glibc is absent (nothing changed)."""
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED is not None:
        return _ALLOCATOR_TUNED
    _ALLOCATOR_TUNED = False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        ok = all(libc.mallopt(param, value) == 1 for param, value in (
            (_M_MMAP_THRESHOLD, 1 << 25), (_M_TRIM_THRESHOLD, (1 << 31) - 1),
            (_M_TOP_PAD, 1 << 28)))
        _ALLOCATOR_TUNED = bool(ok)
    except (OSError, AttributeError):
        pass
    return _ALLOCATOR_TUNED


_ALLOCATOR_TUNED: bool | None = None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``/machine."""
    import platform
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"
