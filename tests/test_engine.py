"""The multi-seed engine: keyed randomness, seed independence, resume, divergence, evaluation."""
import json
import math

import pytest
import torch
from torch import nn

from deeprelax.train import engine, models
from deeprelax.params import ParamError



def tiny_mlp():
    return nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(784, 32), nn.ReLU(),
                         nn.BatchNorm1d(32), nn.Dropout(0.2), nn.Linear(32, 10))


def tiny_data(n=256, n_test=100, seed=0, scale=1.0):
    # pixels in [0, scale]; with raw 0..255 pixels a ReLU unit at the edge of activity
    # (pre-activation ~1e-8) behind BN turns fp32 round-off into O(1e-2) weight changes
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n + n_test, 1, 28, 28, generator=g)
    w = torch.randn(784, 10, generator=g)
    y = (x.flatten(1) @ w).argmax(1)                 # a learnable labelling
    x = x * scale
    return engine.TensorData(x[:n], y[:n], x[n:], y[n:], name="tiny")


ALGOS = {
    "sgd": dict(lr_schedule=((0, 0.01),)),
    "entropy-sgd": dict(L=3, gamma=1e4, outer="lua", momentum=0.0, inner_momentum=0.9,
                        beta_ex_inv=1e-4, lr_schedule=((0, 1.0),), lr_y=0.01),
    "hj": dict(L=2, gamma=1.0, lr_schedule=((0, 0.01),), lr_y=0.01),
    "heat": dict(L=3, gamma=1e-3, lr_schedule=((0, 0.01),)),
}


def params(algorithm, **kw):
    base = dict(algorithm=algorithm, seeds=(0, 1, 2), effective_epochs=3, batch_size=32,
                eval_batch=64)
    base.update(ALGOS.get(algorithm, {}))
    base.update(kw)
    return engine.TrainParams(**base)


# ---- keyed random numbers ----------------------------------------------------------------
def test_keyed_normals_and_uniforms_have_the_right_law():
    key = engine.stream_key(torch.tensor([0, 1]), 5, engine.TAG_NOISE)
    z = engine.random_normal(key, 200_000)
    assert z.shape == (2, 200_000)
    for row in z:
        assert abs(row.mean().item()) < 4 / math.sqrt(2e5)
        assert row.var().item() == pytest.approx(1.0, abs=0.015)
        assert (row.abs() > 3).float().mean().item() == pytest.approx(0.0027, abs=0.0006)
    assert abs(torch.corrcoef(z)[0, 1].item()) < 0.01        # streams of two seeds
    u = engine.random_uniform16(key[:1], 400_000).float()
    assert u.min().item() == -32768 and u.max().item() == 32767
    assert u.mean().item() == pytest.approx(-0.5, abs=100)   # uniform on [-32768, 32767]
    # deterministic: the same key gives the same numbers, a new counter new ones
    assert torch.equal(engine.random_normal(key, 10), engine.random_normal(key, 10))
    other = engine.stream_key(torch.tensor([0, 1]), 6, engine.TAG_NOISE)
    assert not torch.equal(engine.random_normal(other, 10), engine.random_normal(key, 10))


def test_keyed_permutation_is_a_permutation_per_seed_and_epoch():
    seeds = torch.tensor([0, 1, 2])
    p = engine.keyed_permutation(seeds, 0, 1000)
    assert all(torch.equal(row.sort().values, torch.arange(1000)) for row in p)
    assert not torch.equal(p[0], p[1])
    assert not torch.equal(p, engine.keyed_permutation(seeds, 1, 1000))
    assert torch.equal(p[1], engine.keyed_permutation(torch.tensor([1]), 0, 1000)[0])
    # uniformity: the position of element 0 over many epochs is spread over the range
    pos = torch.stack([(engine.keyed_permutation(seeds[:1], e, 10)[0] == 0).nonzero()[0, 0]
                       for e in range(2000)])
    counts = torch.bincount(pos, minlength=10).float()
    assert ((counts - 200).abs() < 60).all()


def test_keyed_dropout_rate_and_per_seed_masks():
    stream = engine._Stream("keyed", torch.tensor(7))
    d0 = engine.KeyedDropout(0.25, layer=0, seed=0, stream=stream).train()
    d1 = engine.KeyedDropout(0.25, layer=0, seed=1, stream=stream).train()
    x = torch.ones(200, 500)
    y0, y1 = d0(x), d1(x)
    assert (y0 == 0).float().mean().item() == pytest.approx(0.25, abs=0.005)
    assert y0.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert not torch.equal(y0, y1)
    assert torch.equal(y0, d0(x))                  # same counter, same mask
    stream.counter = torch.tensor(8)
    assert not torch.equal(y0, d0(x))
    assert torch.equal(d0.eval()(x), x)


# ---- the engine ----------------------------------------------------------------------------
@pytest.mark.parametrize("batching", ["vmap", "loop"])
@pytest.mark.parametrize("algorithm", ["sgd", "entropy-sgd", "hj", "heat"])
def test_seeds_trained_together_equal_seeds_trained_alone(algorithm, batching):
    # fp32, a few outer steps. vmap: equal up to round-off. Batched kernels sum in another
    # order (gradients differ by ~1e-7 relative), and BN behind a ReLU that is active on
    # few samples amplifies that by up to 1/sqrt(eps) ~ 300; the float64 test below shows
    # that nothing else separates the two. loop: each seed runs the same kernels on the
    # same shapes alone or beside others, so the numbers are equal bit for bit.
    data = tiny_data()
    together = engine.MultiSeedTrainer(tiny_mlp, data, params(algorithm, batching=batching))
    alone = engine.MultiSeedTrainer(tiny_mlp, data, params(algorithm, seeds=(1,),
                                                           batching=batching))
    assert together.batching == batching
    for tr in (together, alone):
        tr.outer_steps(4)
    for name, p in together.params.items():
        if batching == "loop":
            assert torch.equal(p[1], alone.params[name][0]), name
        torch.testing.assert_close(p[1], alone.params[name][0], rtol=1e-4, atol=1e-5)
    # and the seeds really differ from each other
    w = together.params["2.weight"]
    assert (w[0] - w[1]).abs().max() > 1e-2


@pytest.mark.parametrize("algorithm, noise_rng, batching", [
    ("sgd", "philox", "vmap"), ("entropy-sgd", "philox", "vmap"), ("hj", "philox", "vmap"),
    ("heat", "philox", "vmap"), ("heat", "hash", "vmap"), ("entropy-sgd", "philox", "loop"),
    ("heat", "hash", "loop")])
def test_seeds_together_and_alone_agree_to_float64_roundoff(algorithm, noise_rng, batching):
    # float64, two effective epochs with evaluations: no leak between seeds at any level
    data = tiny_data()
    kw = dict(dtype="float64", noise_rng=noise_rng, batching=batching)
    together = engine.MultiSeedTrainer(tiny_mlp, data, params(algorithm, **kw))
    alone = engine.MultiSeedTrainer(tiny_mlp, data, params(algorithm, seeds=(1,), **kw))
    for _ in range(2):
        together.run_effective_epoch()
        alone.run_effective_epoch()
    for name, p in together.params.items():
        torch.testing.assert_close(p[1], alone.params[name][0], rtol=1e-10, atol=1e-12)
    for name, b in together.buffers.items():
        torch.testing.assert_close(b[1], alone.buffers[name][0], rtol=1e-10, atol=1e-12)
    rt, ra = together.records, alone.records
    assert rt["effective_epoch"] == ra["effective_epoch"]
    for k in range(2):
        assert rt["val_error"][k][1] == ra["val_error"][k][0]
        assert rt["train_loss"][k][1] == pytest.approx(ra["train_loss"][k][0], rel=1e-12)


@pytest.mark.parametrize("batching", ["vmap", "loop"])
def test_lenet_conv_path_is_seed_independent(batching):
    # convolutions become grouped convolutions under vmap; the CPU loop runs them in
    # channels_last. Check both on the real network: the loop bit for bit in float32 (the
    # same kernels on the same shapes); vmap in float64, where another summation order
    # moves each sum by ~1e-16 relative and four steps with BN's 1/sqrt(eps) ~ 300
    # amplification leave that far below 1e-10, while any leak between seeds is O(1e-3)
    data = tiny_data(n=64, n_test=64)
    P = params("sgd", batch_size=16, effective_epochs=1, batching=batching,
               dtype="float32" if batching == "loop" else "float64")
    together = engine.MultiSeedTrainer(models.lenet, data, P)
    alone = engine.MultiSeedTrainer(models.lenet, data, engine.replace(P, seeds=(2,)))
    assert together.channels_last == (batching == "loop")
    together.run_effective_epoch()
    alone.run_effective_epoch()
    for name, p in together.params.items():
        if batching == "loop":
            assert torch.equal(p[2], alone.params[name][0]), name
        torch.testing.assert_close(p[2], alone.params[name][0], rtol=1e-10, atol=1e-12)


# ---- batching and memory layout are run control: the same numbers ------------------------
def test_auto_batching_is_the_loop_on_the_cpu_with_channels_last_for_conv_nets():
    cpu = torch.device("cpu")
    choose = engine.resolve_layout
    assert choose(params("sgd"), cpu, models.lenet()) == ("loop", True)
    assert choose(params("sgd"), cpu, models.mnistfc()) == ("loop", False)
    assert choose(params("sgd", batching="vmap"), cpu, models.lenet()) == ("vmap", False)
    assert choose(params("sgd", memory_format="contiguous"), cpu, models.lenet()) == \
        ("loop", False)
    gpu = torch.device("cuda")
    assert choose(params("sgd"), gpu, models.lenet()) == ("vmap", False)
    assert choose(params("sgd", batching="loop"), gpu, models.lenet()) == ("loop", False)
    # pure speed knobs: not part of the fingerprint (checkpoints and results stay valid)
    base = params("sgd").fingerprint()
    for kw in (dict(batching="vmap"), dict(batching="loop", memory_format="contiguous")):
        assert params("sgd", **kw).fingerprint() == base
    with pytest.raises(ParamError, match="cuda_graph=True needs batching"):
        params("sgd", batching="loop", cuda_graph=True, device="cuda")


@pytest.mark.parametrize("net, algorithm, memory_format", [
    ("mlp", "entropy-sgd", "auto"), ("mlp", "heat", "auto"),
    ("lenet", "entropy-sgd", "channels_last"), ("lenet", "sgd", "contiguous")])
def test_loop_and_vmap_batching_agree_to_float64_roundoff(net, algorithm, memory_format):
    # the same keyed dropout masks, noise, minibatches, BN statistics and evaluations:
    # the two batchings differ only in the order of floating-point sums
    model_fn = {"mlp": tiny_mlp, "lenet": models.lenet}[net]
    data = tiny_data(n=128, n_test=64)
    out = []
    for batching in ("vmap", "loop"):
        tr = engine.MultiSeedTrainer(model_fn, data, params(
            algorithm, batching=batching, memory_format=memory_format, dtype="float64"))
        for _ in range(2):
            tr.run_effective_epoch()
        out.append(tr)
    vm, lp = out
    assert lp.channels_last == (net == "lenet" and memory_format == "channels_last")
    for name, p in vm.params.items():
        torch.testing.assert_close(lp.params[name], p, rtol=1e-9, atol=1e-11)
    for name, b in vm.buffers.items():
        torch.testing.assert_close(lp.buffers[name].double(), b.double(), rtol=1e-9,
                                   atol=1e-11)
    assert lp.records["val_error"] == vm.records["val_error"]
    for a, b in zip(lp.records["train_loss"], vm.records["train_loss"]):
        assert a == pytest.approx(b, rel=1e-10)


def test_a_checkpoint_resumes_under_the_other_batching(tmp_path):
    # a checkpoint written by the vmap engine continues in the loop (and the numbers are
    # those of the uninterrupted run up to round-off): the checkpoint format is one
    data = tiny_data()
    P = params("entropy-sgd", effective_epochs=4, checkpoint_every=100, dtype="float64",
               batching="vmap")
    full = engine.train(tiny_mlp, data, P, show_progress=False)
    ckpt = tmp_path / "r.pt"
    engine.train(tiny_mlp, data, P, checkpoint=ckpt, stop_after=2, show_progress=False)
    resumed = engine.train(tiny_mlp, data, engine.replace(P, batching="loop"),
                           checkpoint=ckpt, show_progress=False)
    assert resumed["complete"] and resumed["params"]["batching"] == "loop"
    assert resumed["fingerprint_sha256"] == full["fingerprint_sha256"]
    assert resumed["val_error"] == full["val_error"]
    for a, b in zip(resumed["train_loss"], full["train_loss"]):    # float64 round-off
        assert a == pytest.approx(b, rel=1e-9)


def test_every_training_image_once_per_effective_epoch():
    data = tiny_data(n=100)
    tr = engine.MultiSeedTrainer(tiny_mlp, data, params("sgd", batch_size=32))
    tr._refresh_perms()
    seen = []
    for g in range(tr.spe):                  # 4 batches of 32 = 128 slots for 100 images
        tr.g_t.fill_(g)
        seen.append(tr._batch_indices())
    seen = torch.cat(seen, dim=1)
    for row in seen:
        assert set(row.tolist()) == set(range(100))
    assert not torch.equal(seen[0], seen[1])


def test_torch_compile_gives_the_eager_numbers():
    # the optional compile path runs the same keyed dropout masks and inner noise: in
    # float64 on a net without BN it matches eager Entropy-SGD to round-off. Fused kernels
    # sum in another order, ~1e-16 relative per operation; the bound leaves room for the
    # 80 updates to grow that by 1e6, while a different mask or draw moves the weights by
    # O(1e-2). (In float32 the same bound would leave room for a growth of only ~1e2.)
    def net():
        return nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(784, 32), nn.ReLU(),
                             nn.Linear(32, 10))
    data = tiny_data(n=512, n_test=256)
    out = []
    for flags in ({}, {"compile": True}):
        tr = engine.MultiSeedTrainer(net, data, params("entropy-sgd", effective_epochs=40,
                                                       dtype="float64", **flags))
        for _ in range(2):
            tr.run_effective_epoch()
        out.append(tr)
    eager, compiled = out
    for name, p in eager.params.items():
        torch.testing.assert_close(compiled.params[name], p, rtol=1e-10, atol=1e-12)
    assert compiled.records["val_error"] == eager.records["val_error"]


def test_effective_epoch_bookkeeping():
    # N = 256, b = 32: 8 gradients per effective epoch; HEAT with L = 3 records at the first
    # outer-step boundary past each multiple of 8 gradients: 9, 18, 24 gradients
    result = engine.train(tiny_mlp, tiny_data(), params("heat"), show_progress=False)
    assert result["steps_per_effective_epoch"] == 8
    assert result["grads"] == [9, 18, 24]
    assert result["effective_epoch"] == [9 / 8, 18 / 8, 3.0]
    assert len(result["val_error"]) == 3 and all(len(v) == 3 for v in result["val_error"])
    assert result["complete"] and result["n_parameters"] == 784 * 32 + 32 + 64 + 330


@pytest.mark.parametrize("algorithm, noise_rng, batching", [
    ("entropy-sgd", "philox", "loop"), ("heat", "hash", "loop"),
    ("entropy-sgd", "philox", "vmap")])
def test_resume_gives_the_same_numbers(tmp_path, algorithm, noise_rng, batching):
    data = tiny_data()
    P = params(algorithm, effective_epochs=4, checkpoint_every=100, noise_rng=noise_rng,
               batching=batching)
    full = engine.train(tiny_mlp, data, P, show_progress=False)
    out, ckpt = tmp_path / "r.json", tmp_path / "r.pt"
    part = engine.train(tiny_mlp, data, P, out=out, checkpoint=ckpt, stop_after=2,
                        show_progress=False)
    assert not part["complete"] and len(part["effective_epoch"]) == 2
    assert json.loads(out.read_text())["complete"] is False
    resumed = engine.train(tiny_mlp, data, P, out=out, checkpoint=ckpt, show_progress=False)
    assert resumed["complete"]
    for key in ("effective_epoch", "train_loss", "val_error", "lr", "gamma"):
        assert resumed[key] == full[key], key
    on_disk = json.loads(out.read_text())
    assert on_disk["val_error"] == full["val_error"] and on_disk["complete"]
    assert on_disk["provenance"]["git_sha"] and on_disk["params"]["algorithm"] == algorithm
    # a checkpoint made with other hyper-parameters is refused with a clear message
    with pytest.raises(ParamError, match="other hyper-parameters"):
        engine.train(tiny_mlp, data, engine.replace(P, lr_y=0.02), checkpoint=ckpt,
                      show_progress=False)


def test_a_diverging_seed_stops_with_a_record_and_the_others_go_on():
    data = tiny_data()
    tr = engine.MultiSeedTrainer(tiny_mlp, data, params("sgd", effective_epochs=3))
    tr.run_effective_epoch()
    with torch.no_grad():
        tr.params["2.weight"][1].fill_(float("nan"))
    tr.run_effective_epoch()
    tr.run_effective_epoch()
    assert tr.diverged[0] is None and tr.diverged[2] is None
    assert tr.diverged[1]["effective_epoch"] == 2.0 and "non-finite" in tr.diverged[1]["reason"]
    assert [r[1] for r in tr.records["val_error"]] == [tr.records["val_error"][0][1], None, None]
    assert all(math.isfinite(r[0]) and math.isfinite(r[2]) for r in tr.records["train_loss"])


def test_evaluation_matches_a_plain_model_with_reestimated_bn():
    data = tiny_data()
    tr = engine.MultiSeedTrainer(tiny_mlp, data, params("sgd"))
    tr.run_effective_epoch()
    errors = tr.evaluate()
    # copy seed 2 into a plain module, re-estimate BN the same way, test
    torch.manual_seed(0)
    net = tiny_mlp()
    state = {k: v[2] for k, v in {**tr.params, **tr.buffers}.items() if "seed_key" not in k}
    net.load_state_dict(state)
    models.reestimate_bn(net, data.train_x.split(64))
    net.eval()
    with torch.no_grad():
        err = (net(data.test_x).argmax(1) != data.test_y).double().mean().item() * 100
    assert errors[2].item() == pytest.approx(err, abs=1e-9)


def test_bad_inputs_are_rejected():
    with pytest.raises(ParamError, match="lr_schedule"):
        params("sgd", lr_schedule=((1, 0.1),))
    with pytest.raises(ParamError, match="seeds"):
        params("sgd", seeds=(1, 1))
    with pytest.raises(ParamError, match="L must be 1"):
        params("sgd", L=5)
    with pytest.raises(ParamError, match="cuda_graph"):
        params("sgd", cuda_graph=True)
    with pytest.raises(ParamError, match="algorithm"):
        params("adam")
    bad = engine.TensorData(torch.zeros(3, 4), torch.zeros(2), torch.zeros(1, 4),
                            torch.zeros(1))
    with pytest.raises(ParamError, match="3 images but 2 labels"):
        engine.MultiSeedTrainer(tiny_mlp, bad, params("sgd"))


def test_lr_schedule_lookup():
    P = params("sgd", lr_schedule=[[0, 0.1], [30, 0.02], [60, 0.004]])   # lists, as from JSON
    assert [P.lr_at(e) for e in (0, 29.9, 30, 59.99, 60, 1e3)] == \
        [0.1, 0.1, 0.02, 0.02, 0.004, 0.004]


def test_keyed_random_numbers_equal_the_dtype_view_they_replace():
    """random_normal/random_uniform16 avoid Tensor.view(dtype) (no vmap rule in torch 2.11)
    and give exactly the numbers of the view."""
    key = torch.tensor([3, -7, 2**62], dtype=torch.int64)
    for n in (1, 7, 1001):
        words = engine.random_words(key, (n + 3) // 4)
        assert torch.equal(engine.random_uniform16(key, n), words.view(torch.int16)[..., :n])
        w32 = engine.random_words(key, (n + 1) // 2).view(torch.int32)[..., :n]
        u = (((w32 >> 9) & 0x7FFFFF).to(torch.float32) + 0.5) * (2.0 ** -23)
        assert torch.equal(engine.random_normal(key, n), torch.special.ndtri(u))
    batched = torch.func.vmap(lambda k: engine.random_uniform16(k, 9))(key)
    assert torch.equal(batched, engine.random_uniform16(key, 9))


def test_dropout_keep_mask_is_the_same_batched_or_not():
    """dropout_keep: the int16 view (loop) and the unsigned pieces (vmap) give one mask,
    1{u ≥ round(65536 p) − 32768}, whose mean is 1 − p."""
    key = torch.tensor([3, -7, 2**62], dtype=torch.int64)
    for p in (0.2, 0.5, 0.9):
        thr = int(round(p * 65536)) - 32768
        for n in (1, 7, 1001):
            ref = engine.random_uniform16(key, n) >= thr
            assert torch.equal(engine.dropout_keep(key, n, p, batched=False), ref)
            assert torch.equal(engine.dropout_keep(key, n, p, batched=True), ref)
        vm = torch.func.vmap(lambda k: engine.dropout_keep(k, 64, p, batched=True))(key)
        assert torch.equal(vm, engine.dropout_keep(key, 64, p, batched=False))
        big = engine.dropout_keep(key[:1], 400_000, p, batched=False).float().mean()
        assert abs(float(big) - (1 - p)) < 4 * ((p * (1 - p) / 400_000) ** 0.5)
