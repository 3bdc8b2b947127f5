"""The engine's GPU fast path (CUDA graphs, compile, bf16); skipped where no GPU is visible.

Run on a GPU machine with ``python -m pytest tests/test_engine_cuda.py``.
"""
import pytest
import torch

from deeprelax.train import engine, models

from test_engine import params, tiny_data, tiny_mlp

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _train(P, epochs=2, model_fn=tiny_mlp, data=None):
    tr = engine.MultiSeedTrainer(model_fn, data or tiny_data(), P)
    for _ in range(epochs):
        tr.run_effective_epoch()
    torch.cuda.synchronize()
    return tr


@pytest.mark.parametrize("algorithm", ["sgd", "entropy-sgd", "hj", "heat"])
def test_cuda_graph_replays_the_eager_steps(algorithm):
    eager = _train(params(algorithm, device="cuda"))
    graph = _train(params(algorithm, device="cuda", cuda_graph=True))
    assert graph._graph is not None
    for name, p in eager.params.items():
        torch.testing.assert_close(graph.params[name], p, rtol=1e-5, atol=1e-6)
    assert graph.records["val_error"] == eager.records["val_error"]
    assert graph.records["train_loss"] == pytest.approx(eager.records["train_loss"], rel=1e-5)


def test_cuda_graph_seeds_together_equal_alone():
    P = params("entropy-sgd", device="cuda", cuda_graph=True, dtype="float64")
    together = _train(P)
    alone = _train(engine.replace(P, seeds=(2,)))
    for name, p in together.params.items():
        torch.testing.assert_close(p[2], alone.params[name][0], rtol=1e-10, atol=1e-12)


def test_cuda_graph_resume(tmp_path):
    P = params("heat", device="cuda", cuda_graph=True, effective_epochs=4, checkpoint_every=100)
    full = engine.train(tiny_mlp, tiny_data(), P, show_progress=False)
    ckpt = tmp_path / "c.pt"
    engine.train(tiny_mlp, tiny_data(), P, checkpoint=ckpt, stop_after=2, show_progress=False)
    resumed = engine.train(tiny_mlp, tiny_data(), P, checkpoint=ckpt, show_progress=False)
    assert resumed["val_error"] == full["val_error"]
    assert resumed["train_loss"] == pytest.approx(full["train_loss"], rel=1e-6)


def test_loop_batching_on_the_gpu_gives_the_vmap_numbers():
    # batching is run control on the GPU too (auto is vmap there): float64, two effective
    # epochs of Entropy-SGD with keyed dropout, Philox noise, BN and evaluations
    P = params("entropy-sgd", device="cuda", dtype="float64")
    vm = _train(engine.replace(P, batching="vmap"))
    lp = _train(engine.replace(P, batching="loop"))
    assert (vm.batching, lp.batching) == ("vmap", "loop")
    for name, p in vm.params.items():
        torch.testing.assert_close(lp.params[name], p, rtol=1e-9, atol=1e-11)
    assert lp.records["val_error"] == vm.records["val_error"]


def test_cpu_and_gpu_agree():
    cpu = _train(params("hj"))
    gpu = _train(params("hj", device="cuda"))
    for name, p in cpu.params.items():
        torch.testing.assert_close(gpu.params[name].cpu(), p, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("flags", [dict(compile=True), dict(bf16=True),
                                   dict(compile=True, cuda_graph=True)])
def test_optional_fast_paths_train(flags):
    data = tiny_data(n=512, n_test=256)
    tr = _train(params("sgd", device="cuda", **flags), epochs=3, model_fn=models.lenet,
                data=data)
    errs = tr.records["val_error"][-1]
    assert all(e is not None and e < 90 for e in errs)
    # LeNet's BN amplifies round-off (see tiny_data), so exactness is checked on a net
    # without BN: the compiled step must give the eager numbers
    if not flags.get("bf16"):
        def net():
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.2),
                                       torch.nn.Linear(784, 32), torch.nn.ReLU(),
                                       torch.nn.Linear(32, 10))
        ref = _train(params("entropy-sgd", device="cuda"), model_fn=net, data=data)
        tr = _train(params("entropy-sgd", device="cuda", **flags), model_fn=net, data=data)
        for name, p in ref.params.items():
            torch.testing.assert_close(tr.params[name], p, rtol=1e-5, atol=1e-6)
