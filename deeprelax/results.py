"""Result files: atomic JSON writes, content checksums and provenance (seeds, versions,
git sha, device); checks of output folders before work starts.

A result record (a JSON object) is written with the SHA-256 of its content under
``content_sha256`` (:data:`CHECKSUM_KEY`); :func:`read_json` verifies it and refuses a
changed, truncated or unreadable file with a :class:`ResultError` that names the file and
says what to do. Files without the key (older records, hand-made test files) are read
unverified. Temporary files (``.<name>.*.tmp``) of :func:`atomic_write` are removed when a
write fails, and :func:`remove_stale_temps` removes the ones a killed process left.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from deeprelax.params import ParamError
from deeprelax.paths import REPO_ROOT, RESULTS_DIR
from deeprelax import __version__

CHECKSUM_KEY = "content_sha256"


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


def canonical_json(obj: Any) -> bytes:
    """The bytes a checksum is taken over: sorted keys, no spaces, NaN allowed, after one
    JSON round trip (tuples are lists, keys strings), so a record and its file agree."""
    plain = json.loads(json.dumps(obj, allow_nan=True))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=True,
                      ensure_ascii=True).encode()


def content_sha256(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write JSON atomically (temporary file in the same folder, fsync, rename).

    A dict is stored with the checksum of its content under :data:`CHECKSUM_KEY`."""
    if isinstance(obj, dict):
        body = {k: v for k, v in obj.items() if k != CHECKSUM_KEY}
        obj = {**body, CHECKSUM_KEY: content_sha256(body)}
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=1, sort_keys=False, allow_nan=True)
        fh.write("\n")
    return Path(path)


class ResultError(RuntimeError):
    """A result or checkpoint file is unreadable, truncated or fails its checksum."""

    def _render_traceback_(self) -> list[str]:
        """IPython (a chapter run by papermill) shows it as one line, not a traceback."""
        return [f"ResultError: {self}"]


def read_json(path: str | os.PathLike, require_checksum: bool = False) -> Any:
    """Read a JSON result file; a truncated, unreadable or changed one is a ResultError
    naming it. A stored checksum (:data:`CHECKSUM_KEY`) is verified and dropped; with
    ``require_checksum`` a file without one (not written by :func:`write_json`, or an
    object that is not a record) is a ResultError too."""
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultError(f"{path} is not valid JSON ({err}); it is truncated or corrupt. "
                          f"Delete it and rerun the command that wrote it.") from None
    except OSError as err:
        raise ResultError(f"{path} cannot be read ({err.strerror or err}).") from None
    if require_checksum and not (isinstance(obj, dict) and CHECKSUM_KEY in obj):
        what = "carries no checksum" if isinstance(obj, dict) else \
            f"is a JSON {type(obj).__name__}, not a result record"
        raise ResultError(f"{path} {what}: it was not written by deeprelax (or was edited "
                          f"by hand) and cannot be verified. Delete it and rerun the "
                          f"command that writes it.")
    if isinstance(obj, dict) and CHECKSUM_KEY in obj:
        stored = obj.pop(CHECKSUM_KEY)
        if stored != content_sha256(obj):
            raise ResultError(f"{path} fails its checksum: its content changed after it was "
                              f"written (a damaged copy or an edit). Delete it and rerun the "
                              f"command that wrote it, or copy it again from its source.")
    return obj


def check_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Make sure ``path`` is, or can be created as, a folder this process can write;
    otherwise a one-line ParamError naming ``what`` and the path. Nothing is created: a
    probe file is written to (and removed from) ``path`` or its nearest existing parent
    (as root, permission bits alone do not tell)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParamError(f"{what} {path} is not a folder (it is a file); give a folder")
    base = path if path.exists() else next((a for a in path.parents if a.exists()), None)
    if base is None or not base.is_dir():
        raise ParamError(f"{what} {path} cannot be created: {base} is a file; give a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=base, prefix=".deeprelax-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ParamError(f"{what} {path} is not writable ({err.strerror or err}); give a "
                         f"folder you can write") from None
    return path


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed :func:`atomic_write` of ``path`` left beside
    it (``.<name>.*.tmp``); returns them."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


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
