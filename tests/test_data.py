"""Dataset location, md5 verification and the error paths of deeprelax.train.data."""
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from deeprelax.train import data
from deeprelax.train.data import DataError


def test_mnist_from_shared_data():
    m = data.load_mnist()
    assert m.train_images.shape == (60000, 28, 28) and m.train_images.dtype == np.uint8
    assert m.test_images.shape == (10000, 28, 28)
    assert set(np.unique(m.train_labels)) == set(range(10))
    # known facts of the standard release: label counts of the test set
    assert np.bincount(m.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958,
                                                   1028, 974, 1009]


def test_env_var_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.data_root() == tmp_path
    with pytest.raises(DataError, match="(?s)MNIST could not be loaded.*mnist/"):
        data.load_mnist()


def test_missing_root_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="does not exist.*DEEPRELAX_DATA"):
        data.load_mnist(tmp_path / "nowhere")


def _copy_mnist(dst):
    src = data.data_root() / "mnist"
    shutil.copytree(src, dst / "mnist")
    return dst / "mnist"


def test_corrupt_file_is_rejected(tmp_path):
    folder = _copy_mnist(tmp_path)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[100] ^= 1                                   # flip one bit of one label
    target.chmod(0o644)
    target.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="checksum mismatch for t10k-labels-idx1-ubyte"):
        data.load_mnist(tmp_path)


def test_truncated_gzip_is_rejected(tmp_path):
    folder = _copy_mnist(tmp_path)
    target = folder / "train-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(DataError, match="not a valid gzip file"):
        data.load_mnist(tmp_path)


def test_decompressed_files_are_accepted(tmp_path):
    folder = _copy_mnist(tmp_path)
    for gz in folder.glob("*.gz"):
        (folder / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.chmod(0o644)
        gz.unlink()
    assert data.load_mnist(tmp_path).test_labels.shape == (10000,)


def test_parse_idx_rejects_garbage():
    with pytest.raises(DataError, match="not an IDX"):
        data.parse_idx(b"\x01\x02\x03\x04")
    header = b"\x00\x00\x08\x01" + (5).to_bytes(4, "big")
    assert data.parse_idx(header + bytes(range(5))).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(DataError, match="header says"):
        data.parse_idx(header + bytes(3))


def test_failed_download_gives_one_clear_error(monkeypatch, tmp_path):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError, match="MNIST download into .* failed.*name resolution"):
        data.load_mnist(tmp_path, download=True)


def test_a_folders_md5sums_cannot_override_the_known_checksums(tmp_path):
    """An edited label file with an edited MD5SUMS is refused: the code's checksums rule."""
    folder = _copy_mnist(tmp_path)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(target.read_bytes()))
    raw[100] ^= 1
    target.chmod(0o644)
    target.write_bytes(gzip.compress(bytes(raw)))
    sums = folder / "MD5SUMS"
    sums.chmod(0o644)
    edited = hashlib.md5(bytes(raw)).hexdigest()
    sums.write_text(f"{edited}  t10k-labels-idx1-ubyte\n")
    with pytest.raises(DataError, match="differ from the standard release"):
        data.load_mnist(tmp_path)


def test_md5sums_may_add_files_it_does_not_override():
    listed = {"extra.bin": "0" * 32}
    folder = Path(__file__).parent
    known = {"a": "1" * 32}
    assert data.checksums(folder, known) == known        # no MD5SUMS in tests/
    import unittest.mock as mock
    with mock.patch.object(data, "read_md5sums", return_value=listed):
        assert data.checksums(folder, known) == {**listed, **known}


def test_download_without_torchvision_says_how_to_install_it(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "torchvision", None)       # import fails
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    with pytest.raises(DataError, match=r"pip install 'deeprelax\[download\]'"):
        data.load_mnist(tmp_path, download=True)
