"""Datasets without a network: locate, verify (md5) and load MNIST (Sec. 8.1).

Search order for the data root: the ``root`` argument, the ``DEEPRELAX_DATA``
environment variable, then ``../shared/data`` next to the repository. MNIST is
read from ``<root>/mnist`` (or ``<root>`` itself) as the four IDX files, gzipped or
not; every file's md5 (of the decompressed bytes) is checked against the
standard values known to the code before use (a folder's ``MD5SUMS`` may add files,
never override a known checksum: see :func:`checksums`). Where a network is
available, ``download=True`` falls back to torchvision's checksum-verified download.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from deeprelax.paths import REPO_ROOT

#: The environment variable that names the data folder (see :func:`data_root`).
ENV_VAR = "DEEPRELAX_DATA"

MNIST_MD5 = {  # md5 of the decompressed files of the standard release
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class DataError(RuntimeError):
    """A dataset is missing or corrupt; the message says what to put where."""

    def _render_traceback_(self) -> list[str]:
        """IPython (a chapter run by papermill) shows it as one line, not a traceback."""
        return [f"DataError: {self}"]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``root``, else $DEEPRELAX_DATA, else ../shared/data beside the repo."""
    if root is not None:
        path, origin = Path(root).expanduser(), "the root argument"
    elif os.environ.get(ENV_VAR):
        path, origin = Path(os.environ[ENV_VAR]).expanduser(), f"${ENV_VAR}"
    else:
        path, origin = REPO_ROOT.parent / "shared" / "data", "the default ../shared/data"
    if not path.is_dir():
        raise DataError(f"data folder {path} (from {origin}) does not exist. Pass a folder "
                        f"that holds mnist/ (and cifar-10-batches-py/ for CIFAR-10), or set "
                        f"{ENV_VAR}=/path/to/data.")
    return path


def md5_hex(data: bytes) -> str:
    """md5 hex digest of a byte string."""
    return hashlib.md5(data).hexdigest()


def read_md5sums(folder: Path) -> dict[str, str]:
    """Parse an ``MD5SUMS`` file (``<md5>  <name>`` per line, # comments) if present."""
    sums = {}
    path = Path(folder) / "MD5SUMS"
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#"):
                sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def checksums(folder: Path, known: dict[str, str]) -> dict[str, str]:
    """The md5s to check in ``folder``: the code's ``known`` values, plus files that only
    the folder's ``MD5SUMS`` lists. A MD5SUMS entry that disagrees with a known value is a
    DataError (an edited file with an edited MD5SUMS is not accepted)."""
    listed = read_md5sums(folder)
    clash = sorted(n for n in set(listed) & set(known) if listed[n] != known[n])
    if clash:
        raise DataError(f"{Path(folder) / 'MD5SUMS'} lists checksums for {clash} that differ "
                        f"from the standard release's; the files or the MD5SUMS were edited. "
                        f"Replace them with the original download.")
    return {**listed, **known}


def verify_md5(data: bytes, name: str, expected: str, where: object, note: str = "") -> bytes:
    """Return ``data`` if its md5 is ``expected``, else raise one DataError saying what to do."""
    got = md5_hex(data)
    if got != expected:
        raise DataError(f"checksum mismatch for {name} in {where}: md5 {got}, expected "
                        f"{expected}{note}. The file is corrupt or not the standard release; "
                        f"replace it with the original download.")
    return data


def read_verified(folder: Path, name: str, expected: str) -> bytes:
    """Bytes of ``name`` (or ``name.gz``, decompressed) in ``folder``, md5-checked."""
    plain, packed = folder / name, folder / f"{name}.gz"
    if plain.is_file():
        data = plain.read_bytes()
    elif packed.is_file():
        try:
            data = gzip.decompress(packed.read_bytes())
        except (OSError, EOFError) as err:
            raise DataError(f"{packed} is not a valid gzip file ({err}); replace it with "
                            f"the original download.") from None
    else:
        raise DataError(f"missing {name}(.gz) in {folder}")
    return verify_md5(data, name, expected, folder)


def parse_idx(data: bytes) -> np.ndarray:
    """Decode an IDX file (unsigned bytes) into an array of its declared shape."""
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DataError("not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"IDX body has {body.size} bytes, header says {dims}")
    return body.reshape(dims)


class MNIST(NamedTuple):
    """MNIST as uint8 images (N, 28, 28) and int64 labels (N,), raw pixels (Sec. 8.1.1)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _mnist_folder(root: Path) -> Path:
    for cand in (root / "mnist", root / "MNIST" / "raw", root):
        if any((cand / f"{n}{ext}").is_file() for n in MNIST_MD5 for ext in ("", ".gz")):
            return cand
    return root / "mnist"


def load_mnist(root: str | os.PathLike | None = None, download: bool = False) -> MNIST:
    """Load and verify MNIST (60k train, 10k test); see the module docstring for the search."""
    try:
        folder = _mnist_folder(data_root(root))
        sums = checksums(folder, MNIST_MD5)
        arrays = [parse_idx(read_verified(folder, name, sums[name])) for name in MNIST_MD5]
    except DataError as err:
        if not download:
            raise DataError(
                f"MNIST could not be loaded: {err}.\nPut train-images-idx3-ubyte.gz, "
                f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
                f"t10k-labels-idx1-ubyte.gz (gzipped or not) in <data>/mnist/, where <data> "
                f"is the root argument or ${ENV_VAR}; or pass download=True where a network "
                f"is available.") from None
        return _download_mnist(Path(root or os.environ.get(ENV_VAR) or "data"))
    tr_x, tr_y, te_x, te_y = arrays
    return MNIST(tr_x, tr_y.astype(np.int64), te_x, te_y.astype(np.int64))


def torchvision_dataset(name: str):
    """torchvision's dataset class ``name`` (for ``download=True``), or one DataError saying
    how to install it (torchvision is the optional ``download`` extra)."""
    try:
        import torchvision.datasets
    except ImportError:
        raise DataError(f"download=True needs torchvision: pip install 'deeprelax[download]', "
                        f"or put the {name} files in the data folder yourself.") from None
    return getattr(torchvision.datasets, name)


def _download_mnist(root: Path) -> MNIST:
    """torchvision's checksum-verified download into ``root/MNIST/raw``, then a verified load."""
    TVMNIST = torchvision_dataset("MNIST")
    try:
        for train in (True, False):
            TVMNIST(str(root), train=train, download=True)
    except Exception as err:  # network errors come in many types
        raise DataError(f"MNIST download into {root} failed ({err}); provide the files "
                        f"locally as described in deeprelax.train.data.") from None
    return load_mnist(root / "MNIST" / "raw", download=False)
