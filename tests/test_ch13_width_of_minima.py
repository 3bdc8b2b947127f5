"""Chapter 13: the width measurements on the small net (one seed), and the weights files."""
import math

import numpy as np
import pytest
import torch

from deeprelax import engine, hessian, table1
from deeprelax.chapters import ch13_width_of_minima as ch13
from deeprelax.claims import by_name, check
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    return ch13.compute(ch13.Params.from_preset("fast", seeds=(0,), effective_epochs=20,
                                                slq_probes=4, mc_samples=32))


def test_the_chapters_claims_hold_for_one_seed(result):
    claims = ch13.claims(result)
    check(claims)
    named = by_name(claims)
    assert named["esgd_over_sgd"].status == "pending"
    assert len(named) == 14


def test_measurements_are_consistent(result):
    for alg, ws in result.widths.items():
        w = ws[0]
        assert w.n == 878
        assert np.all(np.diff(w.top) <= 0)                    # descending
        eig = w.dense["eigenvalues"]
        assert w.ritz_min >= eig[0] - 1e-4 * eig[-1]           # Ritz values inside the spectrum
        # the quadratic model's gap at the smallest γ is ½β⁻¹ tr log + descent term
        assert w.f_gamma_quadratic[0] == pytest.approx(w.dense["quadratic_gap"][0], rel=0.1)
        assert np.all(w.kappa <= 1 / w.gammas + 1e-12)
        j = len(w.alphas_top) // 2
        assert w.alphas_top[j] == 0 and w.slice_top[j] == pytest.approx(w.loss, rel=1e-5)
        assert w.slice_top.min() >= 0


def test_one_seed_tables_have_no_std(result):
    eig = ch13.eigen_frame(result)
    assert list(eig.index) == ["Entropy-SGD", "HEAT", "HJ", "SGD"]
    assert "±" not in eig.iloc[0, 0]
    assert ch13._ms([1.0, 3.0]) == f"2 ± {math.sqrt(2):.2g}"


def test_reduced_budget_compresses_the_schedule():
    P = ch13.Params.from_preset("paper")
    TP = ch13.train_params(P, "entropy-sgd")
    assert TP.effective_epochs == 20 and TP.seeds == (0,)
    assert TP.lr_schedule == ((0.0, 1.0), (8.0, 0.1), (16.0, 0.01))
    assert TP.L == 20 and TP.inner_form == "authors"       # table1's LeNet settings otherwise


def test_saved_weights_are_used_only_when_all_four_exist(tmp_path):
    P = ch13.Params.from_preset("paper")
    assert ch13.saved_seeds(P, tmp_path) == ()
    net = ch13.NETS["lenet"]()
    for alg in ch13.ALGORITHMS[:-1]:
        hessian.save_weights(net, hessian.weights_path("lenet", alg, 0, tmp_path))
    assert ch13.saved_seeds(P, tmp_path) == ()
    hessian.save_weights(net, hessian.weights_path("lenet", "sgd", 0, tmp_path))
    assert ch13.saved_seeds(P, tmp_path) == (0,)
    assert ch13.saved_seeds(ch13.Params.from_preset("fast"), tmp_path) == ()


def test_export_paper_weights_from_checkpoints(tmp_path):
    x = torch.zeros(8, 1, 28, 28)
    y = torch.arange(8) % 10
    data = engine.TensorData(x, y, x, y)
    states = {}
    for alg in ch13.ALGORITHMS:
        P, _, ckpt, _ = table1.plan("lenet", alg, "paper", runs_dir=tmp_path)
        trainer = engine.MultiSeedTrainer(ch13.NETS["lenet"], data, P)
        engine.save_checkpoint(ckpt, trainer.state_dict(), P.fingerprint())
        states[alg] = trainer.params
    written = ch13.export_paper_weights(tmp_path, tmp_path / "weights", seeds=(0, 2))
    assert len(written) == 8
    for alg in ch13.ALGORITHMS:
        model = hessian.load_weights(ch13.NETS["lenet"](),
                                     hessian.weights_path("lenet", alg, 2, tmp_path / "weights"))
        w = dict(model.named_parameters())["0.weight"]
        assert torch.equal(w, states[alg]["0.weight"][2].detach())


def test_bad_parameters():
    with pytest.raises(ParamError, match="net must be one of"):
        ch13.Params.from_preset("fast", net="resnet")
    with pytest.raises(ParamError, match="unknown parameter"):
        ch13.Params.from_notebook({"preset": "fast", "gamma": 1.0})
