"""CIFAR-10 (Sec. 8.1.1, 8.3): verified loading, the SUBSET, GCN + ZCA on real pixels."""
import hashlib
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from deeprelax.train import cifar
from deeprelax.train.data import DataError


@pytest.fixture(scope="module")
def subset():
    return cifar.load_cifar10_subset()


# ------------------------------------------------------------------------ the subset

def test_subset_is_genuine_and_named_as_subset(subset):
    assert subset.is_subset and "SUBSET" in subset.name and "5,438 train" in subset.name
    assert subset.train_images.shape == (5438, 3, 32, 32) and subset.train_images.dtype == np.uint8
    assert subset.test_images.shape == (1017, 3, 32, 32)
    # public facts of the standard release: the first labels of data_batch_1 and test_batch
    assert subset.train_labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert subset.test_labels[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    z = cifar.subset_arrays()
    train = np.concatenate([z[f"{b}_labels"] for b in cifar.TRAIN_BATCHES])
    assert np.bincount(train).tolist() == [5000] * 10           # all 50,000 labels
    assert np.bincount(z["test_batch_labels"]).tolist() == [1000] * 10
    # the fingerprints used to verify the binary layout come from these genuine bytes
    for b in cifar.BATCHES:
        imgs = z[f"{b}_images_prefix"].reshape(-1, 3, 32, 32)
        cifar.check_fingerprint(b, imgs, z[f"{b}_labels"], "subset")


def test_subset_md5_is_checked(tmp_path):
    src = cifar.data_root() / cifar.SUBSET_DIR / cifar.SUBSET_FILE
    raw = bytearray(src.read_bytes())
    raw[len(raw) // 2] ^= 1
    (tmp_path / cifar.SUBSET_DIR).mkdir()
    (tmp_path / cifar.SUBSET_DIR / cifar.SUBSET_FILE).write_bytes(bytes(raw))
    with pytest.raises(DataError, match="checksum mismatch for cifar10_subset.npz"):
        cifar.load_cifar10_subset(tmp_path)


# ----------------------------------------------------------- full-data layouts and errors

def _py_batch_bytes(images, labels, protocol=2):
    """A batch pickled like the release: dict with uint8 'data' (N, 3072) and 'labels' list."""
    obj = {"batch_label": "synthetic", "data": images.reshape(len(images), -1),
           "labels": [int(v) for v in labels], "filenames": ["x.png"] * len(labels)}
    return pickle.dumps(obj, protocol=protocol)


def _write_py_layout(folder, subset_arrays):
    """cifar-10-batches-py/ with each batch = the subset's prefix; returns {name: md5}."""
    folder.mkdir(parents=True)
    sums = {}
    for b in cifar.BATCHES:
        imgs = subset_arrays[f"{b}_images_prefix"][:50]
        data = _py_batch_bytes(imgs, subset_arrays[f"{b}_labels"][:50])
        (folder / b).write_bytes(data)
        sums[b] = hashlib.md5(data).hexdigest()
    return sums


@pytest.fixture(scope="module")
def zarr():
    return cifar.subset_arrays()


def test_full_data_missing_gives_one_clear_message(tmp_path):
    with pytest.raises(DataError) as info:
        cifar.load_cifar10(tmp_path)
    msg = str(info.value)
    assert msg.startswith("CIFAR-10 could not be loaded: no cifar-10-batches-py/")
    for needed in ("cifar-10-python.tar.gz", cifar.PY_TAR_MD5, "DEEPRELAX_DATA",
                   "download=True", "load_cifar10_subset"):
        assert needed in msg
    # the shared data folder holds only the subset: it is never used as a silent fallback
    with pytest.raises(DataError, match="CIFAR-10 could not be loaded"):
        cifar.load_cifar10()


def test_python_layout_is_md5_checked_before_unpickling(tmp_path, zarr, monkeypatch):
    sums = _write_py_layout(tmp_path / cifar.PY_DIR, zarr)
    calls = []
    real_load = cifar._BatchUnpickler.load
    monkeypatch.setattr(cifar._BatchUnpickler, "load",
                        lambda self: calls.append(1) or real_load(self))
    # standard checksums: our synthetic batches do not match, and nothing is unpickled
    with pytest.raises(DataError, match="checksum mismatch for data_batch_1 .*not unpickled"):
        cifar.load_cifar10(tmp_path)
    assert calls == []
    # with checksums that match, the same files load through the restricted unpickler
    monkeypatch.setattr(cifar, "PY_MD5", sums)
    ds = cifar.load_cifar10(tmp_path)
    assert len(calls) == 6 and not ds.is_subset and ds.name == "CIFAR-10"
    assert ds.train_images.shape == (250, 3, 32, 32) and ds.test_images.shape == (50, 3, 32, 32)
    np.testing.assert_array_equal(ds.train_images[:50].reshape(50, -1),
                                  zarr["data_batch_1_images_prefix"][:50])
    np.testing.assert_array_equal(ds.test_labels, zarr["test_batch_labels"][:50])


def test_python_layout_missing_and_corrupt_batch(tmp_path, zarr, monkeypatch):
    folder = tmp_path / cifar.PY_DIR
    monkeypatch.setattr(cifar, "PY_MD5", _write_py_layout(folder, zarr))
    raw = bytearray((folder / "data_batch_2").read_bytes())
    raw[-40] ^= 1                                    # one bit of one pixel
    (folder / "data_batch_2").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="checksum mismatch for data_batch_2"):
        cifar.load_cifar10(tmp_path)
    (folder / "data_batch_2").unlink()
    with pytest.raises(DataError, match=r"(?s)could not be loaded: missing data_batch_2 .*"
                                        r"cifar-10-python.tar.gz"):
        cifar.load_cifar10(tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.getpid, ())


def test_restricted_unpickler_refuses_other_globals(tmp_path, zarr, monkeypatch):
    sums = _write_py_layout(tmp_path / cifar.PY_DIR, zarr)
    evil = pickle.dumps({"data": _Evil(), "labels": []}, protocol=2)
    (tmp_path / cifar.PY_DIR / "data_batch_3").write_bytes(evil)
    sums["data_batch_3"] = hashlib.md5(evil).hexdigest()   # even with a matching md5
    monkeypatch.setattr(cifar, "PY_MD5", sums)
    with pytest.raises(DataError, match="data_batch_3: global posix.getpid is not allowed"):
        cifar.load_cifar10(tmp_path)
    # and a well-formed pickle of the wrong shape is rejected after loading
    with pytest.raises(DataError, match="unexpected contents"):
        cifar.unpickle_batch(pickle.dumps({"data": np.zeros((2, 5), np.uint8),
                                           "labels": [0, 1]}, protocol=2), "x")


def test_python_tarball_is_read_without_extracting(tmp_path, zarr, monkeypatch):
    sums = _write_py_layout(tmp_path / "src" / cifar.PY_DIR, zarr)
    tar_path = tmp_path / "data" / cifar.PY_TAR
    tar_path.parent.mkdir()
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(tmp_path / "src" / cifar.PY_DIR, arcname=cifar.PY_DIR)
    with pytest.raises(DataError, match=f"checksum mismatch for .*{cifar.PY_TAR}"):
        cifar.load_cifar10(tmp_path / "data")
    monkeypatch.setattr(cifar, "PY_MD5", sums)
    monkeypatch.setattr(cifar, "PY_TAR_MD5", hashlib.md5(tar_path.read_bytes()).hexdigest())
    ds = cifar.load_cifar10(tmp_path / "data")
    assert ds.train_labels.shape == (250,)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [cifar.PY_TAR]


def _bin_batch(zarr, b):
    """A binary-release batch: the 10,000 genuine labels, genuine prefix images, zeros after."""
    images = np.zeros((cifar.BATCH_SIZE, cifar.IMAGE_BYTES), np.uint8)
    prefix = zarr[f"{b}_images_prefix"]
    images[:len(prefix)] = prefix
    return np.concatenate([zarr[f"{b}_labels"][:, None], images], axis=1).tobytes()


def test_binary_layout_fingerprints(tmp_path, zarr):
    folder = tmp_path / cifar.BIN_DIR
    folder.mkdir()
    for b in cifar.BATCHES:
        (folder / f"{b}.bin").write_bytes(_bin_batch(zarr, b))
    ds = cifar.load_cifar10(tmp_path)
    assert ds.train_images.shape == (50000, 3, 32, 32) and ds.test_labels.shape == (10000,)
    assert np.bincount(ds.train_labels).tolist() == [5000] * 10
    np.testing.assert_array_equal(ds.test_images[:1017].reshape(1017, -1),
                                  zarr["test_batch_images_prefix"])
    raw = bytearray((folder / "data_batch_4.bin").read_bytes())
    raw[5 * 3073] = (raw[5 * 3073] + 1) % 10                  # relabel image 5
    (folder / "data_batch_4.bin").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="data_batch_4 .*its labels differ from the standard"):
        cifar.load_cifar10(tmp_path)
    raw[5 * 3073] = zarr["data_batch_4_labels"][5]
    raw[3 * 3073 + 17] ^= 4                                    # one pixel of image 3
    (folder / "data_batch_4.bin").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="its first 1017 images differ"):
        cifar.load_cifar10(tmp_path)
    (folder / "data_batch_4.bin").write_bytes(bytes(raw[:-1]))
    with pytest.raises(DataError, match="data_batch_4.bin has 30729999 bytes"):
        cifar.load_cifar10(tmp_path)


def test_failed_download_gives_one_clear_error(monkeypatch, tmp_path):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.raises(DataError, match="CIFAR-10 download into .* failed.*name resolution"):
        cifar.load_cifar10(tmp_path, download=True)


def test_load_dispatch_rejects_unknown_names():
    assert cifar.load("cifar10-subset").is_subset
    with pytest.raises(ValueError, match="'cifar10' or 'cifar10-subset'"):
        cifar.load("cifar100")


# ------------------------------------------------------------------ GCN + ZCA, real pixels

def test_gcn_matches_definition(subset):
    x = subset.train_images[:64].reshape(64, -1).astype(np.float64)
    ref = (x - x.mean(1, keepdims=True)) / x.std(1, ddof=1, keepdims=True)
    got = cifar.gcn(subset.train_images[:64]).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.std(1, ddof=1), 1.0, atol=1e-12)
    flat = np.full((1, 3, 32, 32), 77, np.uint8)              # constant image: std 0 -> 1
    assert np.all(cifar.gcn(flat).numpy() == 0.0)


def test_fit_zca_rejects_bad_input():
    with pytest.raises(ValueError, match="N >= 2"):
        cifar.fit_zca(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="eps must be positive"):
        cifar.fit_zca(np.eye(3), eps=0.0)


@pytest.fixture(scope="module")
def whitened(subset, tmp_path_factory):
    """The subset pre-processed once (float64 torch on the CPU), through the disk cache."""
    return cifar.preprocess(subset, cache=tmp_path_factory.mktemp("cache"))


@pytest.mark.slow
def test_zca_whitens_real_pixels(whitened):
    w, D = whitened, cifar.IMAGE_BYTES
    lam = w.eigvals
    # GCN removes each image's mean: the constant direction has zero variance, the other
    # 3,071 directions are retained (smallest eigenvalue ~1e-5 on the subset)
    assert lam[0] < 1e-12 * lam[-1] and lam[1] > 1e-6
    y = w.train_x.reshape(len(w.train_x), -1).astype(np.float64)
    assert np.abs(y.mean(0)).max() < 1e-5                    # float32 storage of the data
    cov = torch.from_numpy(y.T @ y / (len(y) - 1))
    ev = torch.linalg.eigvalsh(cov).numpy()
    s = np.sqrt(lam[1])
    predicted_min = (s / (s + cifar.ZCA_EPS)) ** 2            # the 1e-5 regulariser's effect
    assert ev[0] < 1e-8                                        # the discarded direction
    assert abs(ev[1] - predicted_min) < 1e-5 and 1 - predicted_min < 0.01
    assert np.abs(ev[1:] - 1).max() < 0.01                    # identity on the retained part
    ones = np.full(D, 1 / np.sqrt(D))
    np.testing.assert_allclose(cov.numpy(), np.eye(D) - np.outer(ones, ones), atol=2e-3)


@pytest.mark.slow
def test_zca_is_symmetric_positive_and_keeps_the_picture(whitened, subset):
    W = whitened.W
    assert W.dtype == np.float64 and np.array_equal(W, W.T)
    assert np.linalg.eigvalsh(W[:512, :512]).min() > 0        # a principal block of an SPD
    g = cifar.gcn(subset.train_images).numpy()
    y = whitened.train_x.reshape(len(g), -1)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(g[:200], y[:200])]
    assert np.mean(corr) > 0.25          # ZCA (unlike PCA) stays close to the image itself


@pytest.mark.slow
def test_test_set_uses_training_statistics(whitened, subset):
    w = whitened
    g = cifar.gcn(subset.test_images).numpy()
    expect = (g - w.mean) @ w.W
    got = w.test_x.reshape(len(g), -1)
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-4)
    # a refit on the test set would centre it exactly; the training mean does not
    assert np.abs(got.mean(0)).max() > 0.05
    # one image alone gives its row of the batch (no batch statistics at test time)
    one = (cifar.gcn(subset.test_images[7:8]).numpy() - w.mean) @ w.W
    np.testing.assert_allclose(one[0], expect[7], rtol=0, atol=1e-10)


@pytest.mark.slow
def test_cache_is_keyed_by_input_and_constants(whitened, subset, tmp_path, monkeypatch):
    cache = tmp_path / "c"
    cache.mkdir()
    path = cache / f"cifar10-gcn-zca-{whitened.key[:24]}.npz"
    np.savez(path, key=np.array(whitened.key), train_x=whitened.train_x,
             test_x=whitened.test_x, mean=whitened.mean, W=whitened.W,
             eigvals=whitened.eigvals)
    monkeypatch.setattr(cifar, "whiten", lambda *a, **k: pytest.fail("cache not used"))
    again = cifar.preprocess(subset, cache=cache)
    assert again.key == whitened.key and np.array_equal(again.test_x, whitened.test_x)
    assert again.is_subset and "SUBSET" in again.name
    # one changed pixel, or a changed constant, gives another key
    other = subset.train_images.copy()
    other[0, 0, 0, 0] ^= 1
    assert cifar.cache_key(subset._replace(train_images=other)) != whitened.key
    monkeypatch.setattr(cifar, "ZCA_EPS", 1e-4)
    assert cifar.cache_key(subset) != whitened.key
    # an unreadable cache file is recomputed, not trusted
    monkeypatch.setattr(cifar, "ZCA_EPS", 1e-5)
    path.write_bytes(b"garbage")
    calls = []
    monkeypatch.setattr(cifar, "whiten", lambda ds, device: calls.append(1) or whitened)
    assert cifar.preprocess(subset, cache=cache).key == whitened.key and calls == [1]
    with np.load(path) as z:
        assert str(z["key"]) == whitened.key
    # a truncated cache file (a zip cut short: BadZipFile) is recomputed as well
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert cifar.preprocess(subset, cache=cache).key == whitened.key and calls == [1, 1]


# ------------------------------------------- All-CNN-C and BN re-estimation on real pixels

def test_allcnn_parameter_count_and_real_forward(subset):
    from deeprelax.train import models
    torch.manual_seed(0)
    net = models.allcnn()
    assert models.count_parameters(net) == 1_667_166            # the paper: "1.67 million"
    x = cifar.gcn(subset.test_images[:4]).float().reshape(4, 3, 32, 32)
    assert net.eval()(x).shape == (4, 10)


@pytest.mark.slow
def test_inner_loop_moves_bn_statistics_and_reestimation_restores_them(whitened):
    """HEAT with lr 0 returns the weights to x, yet its perturbed forwards move the BN stats."""
    from deeprelax.train import models, optim
    torch.manual_seed(0)
    net = models.allcnn()
    x_tr = torch.from_numpy(whitened.train_x[:96])
    y_tr = torch.from_numpy(whitened.train_y[:96])
    batches = [x_tr[:32], x_tr[32:64]]
    bn = net[2]                                            # BN after the first convolution
    assert models.reestimate_bn(net, batches) == 2
    with torch.no_grad():                                  # closed form: conv1 on undropped input
        h = [net[1](b) for b in batches]
    mean = torch.stack([t.mean((0, 2, 3)) for t in h]).mean(0)
    var = torch.stack([t.var((0, 2, 3), unbiased=True) for t in h]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-5, atol=1e-6)
    stats_x = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    weights = [p.detach().clone() for p in net.parameters()]

    heat = optim.HEAT(net.parameters(), lr=0.0, gamma=1e-3, L=2, momentum=0.0,
                      gamma_decay=0.0, generator=torch.Generator().manual_seed(1))

    def closure():
        heat.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x_tr[64:80]), y_tr[64:80])
        loss.backward()
        return loss

    net.train()
    heat.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(weights, net.parameters()))
    moved = max((net.state_dict()[k] - v).abs().max().item() for k, v in stats_x.items())
    assert moved > 1e-2                                    # the inner loop moved the stats
    models.reestimate_bn(net, batches)
    for k, v in stats_x.items():
        torch.testing.assert_close(net.state_dict()[k], v, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_bn_reestimation_repairs_a_perturbed_models_evaluation(whitened):
    """Scaling a conv before BN keeps the train-mode function; stale statistics break eval."""
    from deeprelax.train import models
    from torch import nn
    x_tr, y_tr = torch.from_numpy(whitened.train_x), torch.from_numpy(whitened.train_y)
    x_te, y_te = torch.from_numpy(whitened.test_x), torch.from_numpy(whitened.test_y)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 32, 5, stride=2, padding=2), nn.BatchNorm2d(32), nn.ReLU(),
                        nn.AvgPool2d(4), nn.Flatten(), nn.Linear(32 * 16, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        idx = torch.randint(0, len(x_tr), (64,), generator=gen)
        loss = nn.functional.cross_entropy(net(x_tr[idx]), y_tr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    @torch.no_grad()
    def error():
        net.eval()
        err = (net(x_te).argmax(1) != y_te).double().mean().item()
        net.train()
        return err

    err_x = error()
    assert err_x < 0.65                                    # well above chance (0.9)
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[0].bias.add_(1.0)
    err_stale = error()
    models.reestimate_bn(net, [x_tr[i:i + 512] for i in range(0, 5120, 512)])
    err_re = error()
    assert err_stale > err_x + 0.08                        # stale statistics: much worse
    assert abs(err_re - err_x) <= 0.01                     # re-estimated: as good as before
