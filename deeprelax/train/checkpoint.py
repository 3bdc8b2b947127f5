"""Verified checkpoint files and the safety of a run's writes.

A checkpoint is a header line (schema, payload length, the run's hyper-parameter
fingerprint, SHA-256 over fingerprint and payload) followed by the ``torch.save`` payload;
:func:`read_checkpoint` verifies all of it before anything is unpickled. Also here: the
SIGTERM unwinding that removes temporary files (``_unwind_on_sigterm``), the run lock
(``run_lock``), the output checks made before any work, the writes that fail as one
``ResultError`` (``_save``) and the exit statuses of a run's command.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import signal
import threading
from pathlib import Path
from typing import Any, Callable

import torch

from deeprelax.params import ParamError
from deeprelax.results import ResultError, atomic_write, canonical_json, check_dir

SCHEMA = "deeprelax.train/1"                      # of the engine's checkpoints and results

# Exit statuses of ``python -m deeprelax`` (0: complete), one definition for every command
EXIT_LAUNCH_FAILED = 1    # elastic --nproc-per-node: torchrun failed before a rank said why
EXIT_BAD_INPUT = 2        # refused in one line before any work
EXIT_INCOMPLETE = 3       # stopped early: run the same command again to continue
EXIT_DIVERGED = 4         # every seed of a cell diverged
EXIT_REPLICA_LOST = 5     # elastic: another replica died or hung

# ---------------------------------------------------------------------------------------
# Checkpoint files: header line with checksum and fingerprint, then the torch.save payload
# ---------------------------------------------------------------------------------------
CHECKPOINT_MAGIC = b"deeprelax-checkpoint/2\n"
_RESTART = ("Delete it to start this run from its beginning, or copy it again from the "
            "machine that wrote it.")


class CheckpointError(ResultError):
    """A checkpoint file is empty, truncated, changed, foreign or unreadable."""


def _digest(fingerprint: bytes, payload: bytes) -> str:
    h = hashlib.sha256(len(fingerprint).to_bytes(8, "little"))
    h.update(fingerprint)
    h.update(payload)
    return h.hexdigest()


def save_checkpoint(path: str | os.PathLike, state: dict, fingerprint: dict[str, Any]) -> Path:
    """Write ``state`` atomically with a header: schema, payload length, ``fingerprint``
    (the hyper-parameters it belongs to) and the SHA-256 of fingerprint and payload."""
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    fp = canonical_json(fingerprint)
    header = {"schema": SCHEMA, "payload_bytes": len(payload), "sha256": _digest(fp, payload),
              "fingerprint": json.loads(fp)}
    with atomic_write(path, "wb") as fh:
        fh.write(CHECKPOINT_MAGIC)
        fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        fh.write(payload)
    return Path(path)


def _differences(theirs: dict[str, Any], mine: dict[str, Any]) -> str:
    rows = []
    for k in sorted(set(theirs) | set(mine)):
        a, b = theirs.get(k, "(absent)"), mine.get(k, "(absent)")
        if a != b:
            rows.append(f"{k}: checkpoint {a!r}, now {b!r}")
    return "; ".join(rows) or "(no difference after JSON round trip)"


def read_checkpoint(path: str | os.PathLike, fingerprint: dict[str, Any] | None = None,
                    map_location: Any = "cpu") -> dict[str, Any]:
    """The verified state of a :func:`save_checkpoint` file.

    Nothing is unpickled before the length and checksum agree; then ``torch.load`` with
    ``weights_only=True``. Raises :class:`CheckpointError` (empty, truncated, changed,
    foreign or unreadable file) or, when ``fingerprint`` is given and differs from the
    stored one, ``ParamError``; every message names the file and what to do."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read ({err.strerror or err}).") \
            from None
    if not blob:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes): its write was cut off. "
                              + _RESTART)
    if not blob.startswith(CHECKPOINT_MAGIC):
        if CHECKPOINT_MAGIC.startswith(blob):
            raise CheckpointError(f"checkpoint {path} is truncated ({len(blob)} bytes). "
                                  + _RESTART)
        what = ("a checkpoint without a checksum (an older deeprelax format), which cannot be "
                "verified" if blob.startswith(b"PK") else "not a deeprelax checkpoint")
        raise CheckpointError(f"checkpoint {path} is {what}. " + _RESTART)
    line_end = blob.find(b"\n", len(CHECKPOINT_MAGIC))
    try:
        if line_end < 0:
            raise ValueError("no end of header")
        header = json.loads(blob[len(CHECKPOINT_MAGIC):line_end])
        n, stored = int(header["payload_bytes"]), str(header["sha256"])
        their_fp = header["fingerprint"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path} has a damaged header (truncated or "
                              f"changed). " + _RESTART) from None
    payload = blob[line_end + 1:]
    if len(payload) != n:
        how = (f"truncated: {len(payload)} of {n} payload bytes" if len(payload) < n else
               f"{len(payload) - n} bytes longer than its header says")
        raise CheckpointError(f"checkpoint {path} is {how}. " + _RESTART)
    if _digest(canonical_json(their_fp), payload) != stored:
        raise CheckpointError(f"checkpoint {path} fails its checksum: its content changed "
                              f"after it was written (a damaged copy or disk). " + _RESTART)
    if fingerprint is not None and canonical_json(their_fp) != canonical_json(fingerprint):
        mine = json.loads(canonical_json(fingerprint))
        raise ParamError(f"checkpoint {path} was written with other hyper-parameters "
                         f"({_differences(their_fp, mine)}); delete {path} to start afresh "
                         f"with the new ones, or rerun with the same ones.")
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as err:                           # noqa: BLE001 (any unpickling error)
        raise CheckpointError(f"checkpoint {path} passed its checksum but cannot be loaded "
                              f"by torch {torch.__version__} ({type(err).__name__}: "
                              f"{str(err)[:200]}). " + _RESTART) from None
    if not isinstance(state, dict) or state.get("schema") != SCHEMA:
        raise CheckpointError(f"checkpoint {path} holds no {SCHEMA} state. " + _RESTART)
    return state


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (temporary files are removed), then die by SIGTERM, or (a
    replica of a distributed run) record why the run stopped."""


@contextlib.contextmanager
def _unwind_on_sigterm(state: Any = None):
    """While training: SIGTERM unwinds the stack (raises :class:`_Terminated`;
    ``atomic_write`` removes its temporary file), then terminates the process as SIGTERM
    would have. With ``state`` (an object with a boolean ``stopping``: a replica of
    ``deeprelax.train.distributed``, which must write why it stopped), the first SIGTERM
    sets ``state.stopping`` and unwinds without terminating; a SIGTERM while
    ``state.stopping`` is ignored, after the block too. Only on the main thread and where
    nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        if state is None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            raise _Terminated
        if not state.stopping:
            state.stopping = True
            raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        if state is None:
            os.kill(os.getpid(), signal.SIGTERM)       # the default action now: terminate
        raise
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            stopping = state is not None and state.stopping
            signal.signal(signal.SIGTERM, signal.SIG_IGN if stopping else signal.SIG_DFL)


def _prepare_output(path: Path | None, what: str) -> None:
    """Before any work: ``path``'s folder writable and ``path`` not a folder."""
    if path is None:
        return
    if path.is_dir():
        raise ParamError(f"{what} {path} is a folder; give a file name")
    check_dir(path.parent, f"{what} {path} needs a folder, but")


class RunLockedError(ParamError):
    """Another live process is training the same run (it holds the run's lock file)."""


@contextlib.contextmanager
def run_lock(path: Path | None):
    """Hold ``.<name>.lock`` beside ``path`` (an exclusive ``flock``) while a run writes
    ``path``: a second process training the same run stops at once with
    :class:`RunLockedError` instead of both proceeding (and one deleting the other's
    temporary files). The lock is the kernel's, so a killed process never blocks a rerun;
    the file is removed when the run ends (a lock taken on a file that was removed
    meanwhile is taken again on the new one)."""
    try:
        import fcntl
    except ImportError:                 # no flock (not POSIX): no lock
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fh = open(lock, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunLockedError(f"{path} is being written by a run in progress ({holder}); "
                                 f"wait for it to finish or stop it, then run this command "
                                 f"again") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()                      # removed by its previous holder: take the new one
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {platform.node()}\n")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        fh.close()


def _save(what: str, path: Path, write: Callable[[], Any], trainer: Any):
    """Write a checkpoint or result; a failed write (a full disk, a lost folder) is one
    ResultError saying what was kept (``trainer``'s effective epochs), not a traceback."""
    try:
        write()
    except OSError as err:
        raise ResultError(f"could not write the {what} {path} ({err.strerror or err}) after "
                          f"effective epoch {trainer.effective_epochs_done}; the previous "
                          f"file is intact: free space (or fix the folder) and run the same "
                          f"command again to continue from it") from None
