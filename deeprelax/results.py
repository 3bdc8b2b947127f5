"""Result files: atomic JSON writes and provenance (seeds, versions, git sha, device)."""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .data import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"


def git_sha() -> str:
    """The repository's commit (with '-dirty' if the tree has changes), or 'unknown'."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, text=True, capture_output=True,
                               timeout=10).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_name(device: str = "cpu") -> str:
    """Human-readable name of the compute device (GPU model or CPU)."""
    if str(device).startswith("cuda"):
        import torch
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine() or "cpu"


def provenance(device: str = "cpu", **extra: Any) -> dict[str, Any]:
    """Versions, git sha, device and time stamp to store beside every result."""
    import numpy
    versions = {"python": platform.python_version(), "numpy": numpy.__version__}
    try:
        import torch
        versions["torch"] = torch.__version__
    except ImportError:
        pass
    from . import __version__
    versions["deeprelax"] = __version__
    return {"git_sha": git_sha(), "versions": versions, "device": str(device),
            "device_name": device_name(device), "host": platform.node(),
            "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            **extra}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any):
    """Open a temporary file beside ``path``; on success fsync and rename it into place.

    A run killed mid-write leaves the previous file intact (nothing lost when a run dies).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())        # mkstemp makes 0600; give the usual mode
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON atomically (temporary file in the same folder, fsync, rename)."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=1, sort_keys=False, allow_nan=True)
        fh.write("\n")
    return Path(path)


class ResultError(RuntimeError):
    """A result or checkpoint file is unreadable, truncated or fails its checksum."""


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON result file; a truncated or unreadable one is a ResultError naming it."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultError(f"{path} is not valid JSON ({err}); it is truncated or corrupt. "
                          f"Delete it and rerun the command that wrote it.") from None


def benchmarks(results_dir: str | os.PathLike = RESULTS_DIR) -> list[dict[str, Any]]:
    """Entries of the GPU benchmark files ``results/benchmark-<gpu>.json`` (written by
    ``benchmarks/bench_engine.py``), each with the file name added, oldest file first.

    Detail files and CPU benchmarks (``benchmark-cpu*.json``) are not results and are left
    out."""
    paths = [p for p in Path(results_dir).glob("benchmark-*.json")
             if not p.stem.endswith("-details") and not p.stem.startswith("benchmark-cpu")]
    out = []
    for path in sorted(paths, key=lambda p: (p.stat().st_mtime, p.name)):
        out.extend(dict(entry, file=path.name) for entry in read_json(path))
    return out
