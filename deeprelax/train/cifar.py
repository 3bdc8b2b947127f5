"""CIFAR-10 for Sec. 8.3: verified loading, the genuine-bytes SUBSET, GCN + ZCA (Sec. 8.1.1).

Full data (50,000 train / 10,000 test) is looked for under the data root (see
:func:`deeprelax.train.data.data_root`), in this order:

1. ``cifar-10-batches-py/`` (the standard python release, or the root itself when it holds
   ``data_batch_1``): every batch's md5 is checked against the standard checksums
   **before** it is unpickled, and unpickling uses a restricted loader that accepts only
   NumPy arrays, lists and strings (no other global can be called);
2. ``cifar-10-python.tar.gz`` (md5 c58f30108f718f92721af3b95e74349a): the archive's md5,
   then each member's md5, are checked; members are read in memory, nothing is extracted;
3. ``cifar-10-batches-bin/`` (binary release, fixed 3,073-byte records) or
   ``cifar-10-binary.tar.gz`` (md5 c32a1d4ab5d03f1284b67883e8d87530). The per-file md5s of
   the binary release are not published, so each file is checked by size and by
   fingerprints of genuine content: the SHA-256 of all 10,000 labels and of the first
   1,017 images of each batch (taken from the genuine subset below). No pickle is involved.

``download=True`` falls back to torchvision's checksum-verified download of the python
release where a network exists. The subset (:func:`load_cifar10_subset`) holds genuine bytes
of the standard release — all 60,000 labels and the first 5,438 train / 1,017 test images —
and is named as a SUBSET in every object it produces; it is never used as a silent fallback.

Pre-processing (Sec. 8.1.1 and the authors' ``process_cifar.py``): per-image global contrast
normalisation (subtract the image mean, divide by its ddof=1 standard deviation; a standard
deviation below 1e-8 is replaced by 1), then ZCA fitted on the training set over all 3,072
dimensions, ``W = U diag(1/(S + 1e-5)) Uᵀ`` with ``S = √λ`` the singular values of the centred
data scaled by 1/√(N−1) (λ the eigenvalues of the ddof=1 covariance); the test set is whitened
with the training mean and matrix. Computed in float64 with torch (on the GPU when asked),
cached on disk under a key hashing the input bytes and these constants.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
import json
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from deeprelax.paths import CACHE_DIR
from deeprelax.results import atomic_write
from deeprelax.train.data import (ENV_VAR, DataError, data_root, read_md5sums,
    torchvision_dataset, verify_md5)
from deeprelax.runtime import resolve_device

if TYPE_CHECKING:        # annotations only; torch is imported where it is used
    import torch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
BATCHES = TRAIN_BATCHES + (TEST_BATCH,)
IMAGE_SHAPE = (3, 32, 32)
IMAGE_BYTES = 3 * 32 * 32
BATCH_SIZE = 10_000

PY_DIR, BIN_DIR = "cifar-10-batches-py", "cifar-10-batches-bin"
PY_TAR, BIN_TAR = "cifar-10-python.tar.gz", "cifar-10-binary.tar.gz"
PY_TAR_MD5 = "c58f30108f718f92721af3b95e74349a"
BIN_TAR_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
PY_MD5 = {  # md5 of the standard cifar-10-batches-py files (Krizhevsky 2009; torchvision)
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
# Genuine-content fingerprints per batch (from the subset): SHA-256 of the 10,000 label bytes
# and of the first FINGERPRINT_IMAGES images (channel-major bytes, as in the release).
FINGERPRINT_IMAGES = 1017
FINGERPRINTS = {
    "data_batch_1": ("d829dbdf32167c9d7b3687cee66d92d80d46c441308b5aca0d11e8b69e27dac9",
                     "0eff582f8523c74d8a229f30a2eea4f6a7a92d230131e82e1058a5ccec27b4b1"),
    "data_batch_2": ("5d18f7371ed35ea9ade77952fe958b0660a45cd6c8b8a8970030f21612cfd7e3",
                     "be4efe840ac6563002fcf34b6ff42d17807bd9d0ba0375058d8e899e655c2f40"),
    "data_batch_3": ("32cf77b0ee2e790b1c4384d2d82e42dc1571b87e67f6da8f444b2725b2973f65",
                     "b03970c8989714f90ff65d2a58c5da52ee0adad2ead71f36c24740c5d67d7220"),
    "data_batch_4": ("d2815e3f8f656272864920fc0edde56b04ec9cf81bf397c0dd3069f4aea51aeb",
                     "3846fa9d4bb48a7c6bf32dedaee9a765c90bf238a1a3c8e4f2b5e33b2b3b0627"),
    "data_batch_5": ("2ddf3ab27d5d04409c94ce7b56849c243129c10de1058ae0bfe14c77e934800c",
                     "bbc3fc83172a758471c8d1903c42028eb514dab3e4aaf20853be20e7aecebbde"),
    "test_batch": ("cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5",
                   "2c64b81a519186681be7080da632757a9e060e16b6a4bfe963ef342b6ba0f15c"),
}

SUBSET_DIR, SUBSET_FILE = "cifar10-subset", "cifar10_subset.npz"
SUBSET_MD5 = "a5b3dab4784d1ab60108cfe4b62d31b5"
SUBSET_NAME = "CIFAR-10 SUBSET"

GCN_EPS = 1e-8          # std below this is replaced by 1 (authors' process_cifar.py)
GCN_DDOF = 1            # per-image standard deviation with ddof = 1
ZCA_EPS = 1e-5          # added to the singular values S = sqrt(lambda)
CACHE_ENV = "DEEPRELAX_CACHE"
_CACHE_VERSION = "gcn-zca-v1"

HOW_TO_PROVIDE = (
    "Provide the full CIFAR-10 as the standard python release: put cifar-10-python.tar.gz "
    f"(https://www.cs.toronto.edu/~kriz/cifar.html, md5 {PY_TAR_MD5}) or its extracted "
    f"{PY_DIR}/ folder (or the binary release {BIN_TAR} / {BIN_DIR}/) in <data>, where <data> "
    f"is the root/data_dir argument or ${ENV_VAR}; or pass download=True where a network is "
    f"available. For a small experiment on real pixels use load_cifar10_subset() (a SUBSET: "
    f"5,438 train / 1,017 test images, not Table 1 material).")


class CIFAR10(NamedTuple):
    """CIFAR-10 (Sec. 8.1): uint8 images (N, 3, 32, 32), int64 labels; ``name`` flags a SUBSET."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    name: str
    is_subset: bool


# ----------------------------------------------------------------------------- loading

class _BatchUnpickler(pickle.Unpickler):
    """Unpickler for CIFAR-10 batches (Sec. 8.1) resolving only NumPy array/dtype globals."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def unpickle_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode one md5-verified CIFAR-10 python batch (Sec. 8.1), restricted: (images, labels)."""
    try:
        obj = _BatchUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as err:  # UnpicklingError, EOFError, ValueError, ... from bad bytes
        raise DataError(f"refused or failed to unpickle {name}: {err}") from None
    if not isinstance(obj, dict) or "data" not in obj or "labels" not in obj:
        raise DataError(f"{name} is not a CIFAR-10 batch (no 'data'/'labels' entries)")
    images, labels = obj["data"], np.asarray(obj["labels"])
    if not (isinstance(images, np.ndarray) and images.dtype == np.uint8
            and images.ndim == 2 and images.shape[1] == IMAGE_BYTES
            and labels.shape == (images.shape[0],)):
        raise DataError(f"{name} has unexpected contents: data "
                        f"{getattr(images, 'shape', '?')}, labels {labels.shape}")
    return images.reshape(-1, *IMAGE_SHAPE), labels.astype(np.int64)


def parse_binary_batch(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode a CIFAR-10 binary batch (Sec. 8.1): 10,000 records of 1 label + 3,072 pixels."""
    if len(data) != BATCH_SIZE * (IMAGE_BYTES + 1):
        raise DataError(f"{name} has {len(data)} bytes, expected "
                        f"{BATCH_SIZE * (IMAGE_BYTES + 1)} (10,000 records of 3,073 bytes)")
    records = np.frombuffer(data, dtype=np.uint8).reshape(BATCH_SIZE, IMAGE_BYTES + 1)
    labels, images = records[:, 0].astype(np.int64), records[:, 1:]
    return np.ascontiguousarray(images).reshape(-1, *IMAGE_SHAPE), labels


def check_fingerprint(batch: str, images: np.ndarray, labels: np.ndarray, where: str) -> None:
    """Check a CIFAR-10 batch (Sec. 8.1) against fingerprints of the genuine release."""
    want_labels, want_images = FINGERPRINTS[batch]
    got_labels = hashlib.sha256(labels.astype(np.uint8).tobytes()).hexdigest()
    got_images = hashlib.sha256(
        np.ascontiguousarray(images[:FINGERPRINT_IMAGES]).tobytes()).hexdigest()
    if got_labels != want_labels or got_images != want_images:
        what = "labels" if got_labels != want_labels else f"first {FINGERPRINT_IMAGES} images"
        raise DataError(f"{batch} in {where}: its {what} differ from the standard release; "
                        f"the file is corrupt or not CIFAR-10.")


def _verified(data: bytes, name: str, expected: str, where: str) -> bytes:
    return verify_md5(data, name, expected, where, note="; it was not unpickled")


def _file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_member(tar: tarfile.TarFile, member: str, where: str) -> bytes:
    try:
        fh = tar.extractfile(member)
    except KeyError:
        fh = None
    if fh is None:
        raise DataError(f"missing {member} in {where}")
    return fh.read()


def _assemble(parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> CIFAR10:
    train_x = np.concatenate([parts[b][0] for b in TRAIN_BATCHES])
    train_y = np.concatenate([parts[b][1] for b in TRAIN_BATCHES])
    test_x, test_y = parts[TEST_BATCH]
    for y in (train_y, test_y):
        if y.min() < 0 or y.max() > 9:
            raise DataError("CIFAR-10 labels must lie in 0..9")
    return CIFAR10(train_x, train_y, test_x, test_y, "CIFAR-10", False)


def _load_py_dir(folder: Path) -> CIFAR10:
    parts = {}
    for b in BATCHES:
        path = folder / b
        if not path.is_file():
            raise DataError(f"missing {b} in {folder}")
        parts[b] = unpickle_batch(_verified(path.read_bytes(), b, PY_MD5[b], str(folder)), b)
    return _assemble(parts)


def _load_py_tar(path: Path) -> CIFAR10:
    got = _file_md5(path)
    if got != PY_TAR_MD5:
        raise DataError(f"checksum mismatch for {path}: md5 {got}, expected {PY_TAR_MD5}; "
                        f"replace it with the original download.")
    parts = {}
    with tarfile.open(path, "r:gz") as tar:
        for b in BATCHES:
            data = _read_member(tar, f"{PY_DIR}/{b}", str(path))
            parts[b] = unpickle_batch(_verified(data, b, PY_MD5[b], str(path)), b)
    return _assemble(parts)


def _load_bin(read, where: str) -> CIFAR10:
    parts = {}
    for b in BATCHES:
        images, labels = parse_binary_batch(read(f"{b}.bin"), f"{b}.bin")
        check_fingerprint(b, images, labels, where)
        parts[b] = images, labels
    return _assemble(parts)


def _load_bin_dir(folder: Path) -> CIFAR10:
    def read(name):
        if not (folder / name).is_file():
            raise DataError(f"missing {name} in {folder}")
        return (folder / name).read_bytes()
    return _load_bin(read, str(folder))


def _load_bin_tar(path: Path) -> CIFAR10:
    got = _file_md5(path)
    if got != BIN_TAR_MD5:
        raise DataError(f"checksum mismatch for {path}: md5 {got}, expected {BIN_TAR_MD5}; "
                        f"replace it with the original download.")
    with tarfile.open(path, "r:gz") as tar:
        return _load_bin(lambda name: _read_member(tar, f"{BIN_DIR}/{name}", str(path)),
                         str(path))


def find_full_cifar10(root: Path):
    """The first CIFAR-10 (Sec. 8.1) layout under ``root``: (path, loader) or None."""
    candidates = [
        (root / PY_DIR, Path.is_dir, _load_py_dir),
        (root, lambda p: (p / "data_batch_1").is_file(), _load_py_dir),
        (root / PY_TAR, Path.is_file, _load_py_tar),
        (root / BIN_DIR, Path.is_dir, _load_bin_dir),
        (root, lambda p: (p / "data_batch_1.bin").is_file(), _load_bin_dir),
        (root / BIN_TAR, Path.is_file, _load_bin_tar),
    ]
    for path, present, loader in candidates:
        if present(path):
            return path, loader
    return None


def load_cifar10(root: str | os.PathLike | None = None, download: bool = False) -> CIFAR10:
    """Load the FULL CIFAR-10 (Sec. 8.1), md5/fingerprint-verified; see the module docstring."""
    try:
        base = data_root(root)
        found = find_full_cifar10(base)
        if found is None:
            raise DataError(f"no {PY_DIR}/, {PY_TAR}, {BIN_DIR}/ or {BIN_TAR} in {base}")
        path, loader = found
        return loader(path)
    except DataError as err:
        if not download:
            raise DataError(f"CIFAR-10 could not be loaded: {err}.\n{HOW_TO_PROVIDE}") from None
    return _download_cifar10(Path(root or os.environ.get(ENV_VAR) or "data"))


def _download_cifar10(root: Path) -> CIFAR10:
    """torchvision's checksum-verified download of the python release, then a verified load."""
    TVCIFAR10 = torchvision_dataset("CIFAR10")
    try:
        TVCIFAR10(str(root), train=True, download=True)
    except Exception as err:  # network errors come in many types
        raise DataError(f"CIFAR-10 download into {root} failed ({err}). "
                        f"{HOW_TO_PROVIDE}") from None
    return load_cifar10(root, download=False)


def _subset_path(root: str | os.PathLike | None) -> Path:
    base = data_root(root)
    for cand in (base / SUBSET_DIR / SUBSET_FILE, base / SUBSET_FILE):
        if cand.is_file():
            return cand
    raise DataError(f"the CIFAR-10 subset {SUBSET_DIR}/{SUBSET_FILE} is not in {base}; "
                    f"it ships in ../shared/data (or set ${ENV_VAR}).")


def subset_arrays(root: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """The md5-verified arrays of the SUBSET file (``<batch>_labels``, ``_images_prefix``)."""
    path = _subset_path(root)
    expected = read_md5sums(path.parent).get(SUBSET_FILE, SUBSET_MD5)
    if expected != SUBSET_MD5:
        raise DataError(f"{path.parent}/MD5SUMS lists {expected} for {SUBSET_FILE}, not the "
                        f"known {SUBSET_MD5}; this is not the deeprelax CIFAR-10 subset.")
    data = _verified(path.read_bytes(), SUBSET_FILE, SUBSET_MD5, str(path.parent))
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_cifar10_subset(root: str | os.PathLike | None = None) -> CIFAR10:
    """The CIFAR-10 SUBSET: first 5,438 train / 1,017 test images of the release (genuine bytes)."""
    z = subset_arrays(root)
    parts = {}
    for b in BATCHES:
        images = z[f"{b}_images_prefix"]
        parts[b] = images.reshape(-1, *IMAGE_SHAPE), z[f"{b}_labels"][:len(images)]
    full = _assemble(parts)
    name = (f"{SUBSET_NAME} (first {len(full.train_labels):,} train / "
            f"{len(full.test_labels):,} test images)")
    return full._replace(name=name, is_subset=True)


def load(dataset: str, data_dir: str | os.PathLike | None = None,
         download: bool = False) -> CIFAR10:
    """Dispatch by name: 'cifar10' (the full set, Table 1) or 'cifar10-subset' (small-data)."""
    if dataset == "cifar10":
        return load_cifar10(data_dir, download=download)
    if dataset == "cifar10-subset":
        return load_cifar10_subset(data_dir)
    raise ValueError(f"dataset must be 'cifar10' or 'cifar10-subset', got {dataset!r}")


# ------------------------------------------------------------------ GCN + ZCA (Sec. 8.1.1)

def gcn(x, eps: float = GCN_EPS):
    """Global contrast normalisation (Sec. 8.1.1): per image, minus mean, over ddof=1 std."""
    import torch
    x = torch.as_tensor(x)
    flat = x.reshape(x.shape[0], -1).to(torch.float64)
    flat = flat - flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, correction=GCN_DDOF, keepdim=True)
    return flat / torch.where(std < eps, torch.ones_like(std), std)


@dataclass(frozen=True)
class ZCA:
    """ZCA whitening (Sec. 8.1.1): y = (x − mean) W, W = U diag(1/(√λ+ε)) Uᵀ symmetric."""

    mean: "torch.Tensor"      # (D,) training mean after GCN
    W: "torch.Tensor"         # (D, D), symmetric
    eigvals: "torch.Tensor"   # (D,) eigenvalues λ of the ddof=1 training covariance, ascending
    eigvecs: "torch.Tensor"   # (D, D) orthonormal U (columns)
    eps: float = ZCA_EPS

    def __call__(self, x):
        """Whiten rows of ``x`` (N, D) with the fitted (training) mean and matrix."""
        import torch
        x = torch.as_tensor(x).to(self.W.device, torch.float64)
        return (x - self.mean) @ self.W


def fit_zca(x, eps: float = ZCA_EPS) -> ZCA:
    """Fit ZCA (Sec. 8.1.1) on rows of ``x`` (N, D): S = √λ, W = U diag(1/(S+ε)) Uᵀ."""
    import torch
    x = torch.as_tensor(x).to(torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fit_zca needs an (N, D) array with N >= 2, got shape {tuple(x.shape)}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    mean = x.mean(dim=0)
    xc = x - mean
    cov = (xc.T @ xc) / (x.shape[0] - 1)
    del xc
    lam, U = torch.linalg.eigh(cov)
    S = lam.clamp_min(0).sqrt()
    W = (U / (S + eps)) @ U.T
    W = 0.5 * (W + W.T)          # symmetric to the last bit
    return ZCA(mean, W, lam, U, eps)


class Whitened(NamedTuple):
    """GCN+ZCA-whitened CIFAR-10 (Sec. 8.1.1), float32 N×3×32×32, the transform, cache key."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    name: str
    is_subset: bool
    mean: np.ndarray          # (3072,) float64
    W: np.ndarray             # (3072, 3072) float64, symmetric
    eigvals: np.ndarray       # (3072,) float64
    key: str


def cache_dir() -> Path:
    """Cache folder of the Sec. 8.1.1 pre-processing: $DEEPRELAX_CACHE, else build/cache."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else CACHE_DIR


def cache_key(ds: CIFAR10) -> str:
    """Cache key of Sec. 8.1.1 pre-processing: SHA-256 of the input bytes and constants."""
    h = hashlib.sha256()
    consts = {"version": _CACHE_VERSION, "gcn_eps": GCN_EPS, "gcn_ddof": GCN_DDOF,
              "zca_eps": ZCA_EPS, "dtype": "float64"}
    h.update(json.dumps(consts, sort_keys=True).encode())
    for arr in (ds.train_images, ds.train_labels, ds.test_images, ds.test_labels):
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _save_npz(path: Path, **arrays) -> None:
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)


def whiten(ds: CIFAR10, device: str = "cpu") -> Whitened:
    """Sec. 8.1.1 uncached: GCN on every image, ZCA fitted on train, applied to train and test."""
    dev = resolve_device(device)
    import torch
    tr = gcn(torch.from_numpy(np.ascontiguousarray(ds.train_images)).to(dev), eps=GCN_EPS)
    zca = fit_zca(tr, eps=ZCA_EPS)
    train_x = zca(tr).to(torch.float32).reshape(-1, *IMAGE_SHAPE).cpu().numpy()
    del tr
    te = gcn(torch.from_numpy(np.ascontiguousarray(ds.test_images)).to(dev), eps=GCN_EPS)
    test_x = zca(te).to(torch.float32).reshape(-1, *IMAGE_SHAPE).cpu().numpy()
    return Whitened(train_x, ds.train_labels, test_x, ds.test_labels, ds.name, ds.is_subset,
                    zca.mean.cpu().numpy(), zca.W.cpu().numpy(),
                    zca.eigvals.cpu().numpy(), cache_key(ds))


def preprocess(ds: CIFAR10, device: str = "cpu", cache: str | os.PathLike | None | bool = None
               ) -> Whitened:
    """GCN + ZCA (Sec. 8.1.1) with an on-disk cache keyed by :func:`cache_key`.

    ``cache``: a folder, ``None`` for :func:`cache_dir`, or ``False`` for no cache.
    """
    if cache is False:
        return whiten(ds, device)
    key = cache_key(ds)
    path = Path(cache_dir() if cache is None else cache) / f"cifar10-gcn-zca-{key[:24]}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    return Whitened(z["train_x"], ds.train_labels, z["test_x"], ds.test_labels,
                                    ds.name, ds.is_subset, z["mean"], z["W"], z["eigvals"], key)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass                      # unreadable cache file: recompute and overwrite it
    out = whiten(ds, device)
    _save_npz(path, key=np.array(key), train_x=out.train_x, test_x=out.test_x, mean=out.mean,
              W=out.W, eigvals=out.eigvals)
    return out
