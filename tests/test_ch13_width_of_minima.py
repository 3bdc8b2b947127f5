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


def test_a_saved_result_loads_back_with_the_same_numbers(result, tmp_path):
    path = ch13.save(result, tmp_path / "w.json")
    back = ch13.load(path)
    assert back.params == result.params and back.complete and back.seeds == result.seeds
    assert back.provenance["versions"]["torch"] == torch.__version__
    for alg in ch13.ALGORITHMS:
        a, b = result.widths[alg][0], back.widths[alg][0]
        np.testing.assert_array_equal(a.top, b.top)
        np.testing.assert_array_equal(a.slices_random, b.slices_random)
        np.testing.assert_array_equal(a.slq_weights, b.slq_weights)
        assert b.dense is None and set(b.timings) >= {"hvp", "lanczos", "slq"}
        assert b.loss == a.loss and b.theta_norm == a.theta_norm
    assert ch13.ratios(back) == ch13.ratios(result)
    # without the exact Hessian the dense checks drop out, the rest is the same
    named_a, named_b = by_name(ch13.claims(result)), by_name(ch13.claims(back))
    for name in ("lanczos_residual", "near_zero_min", "not_a_minimum", "slices_rayleigh"):
        assert named_b[name].ours == named_a[name].ours
    # a partial result (three algorithms) is not offered as the LeNet comparison
    partial = ch13.Result(result.params, result.source, result.seeds,
                          {a: result.widths[a] for a in ch13.ALGORITHMS[:3]})
    ch13.save(partial, tmp_path / "p.json")
    assert ch13.load_lenet(tmp_path / "p.json") is None
    assert ch13.load_lenet(tmp_path / "absent.json") is None


def test_thesis_claims_come_from_the_lenet_result(result, tmp_path):
    pend = by_name(ch13.thesis_claims(None))
    assert pend["esgd_over_sgd"].status == "pending"
    other = ch13.load(ch13.save(result, tmp_path / "w.json"))   # stands in for LeNet
    named = by_name(ch13.claims(result, lenet=other))
    r = ch13.ratios(result)
    assert named["esgd_over_sgd"].ours == r["ratio_scaled_entropy_sgd"]
    assert named["hj_over_sgd"].ours == r["ratio_scaled_hj"]
    # a net trained here (not the GPU sweep's): the claims assert the CPU run's finding
    assert named["hj_over_sgd"].status == "differs" and named["hj_over_sgd"].lo == 1.0
    assert named["sgd_flattest"].ours == float(ch13.sgd_flattest(result))
    assert named["lenet_near_zero_min"].statement.startswith("LeNet: ")
    assert "lenet_slice_curvature_error" not in named
