"""Chapter 09 (Sec. 8.3): All-CNN on CIFAR-10 through experiments/engine, result separation,
projection, the command line, and the chapter's claims on a small compute."""
import csv
import json

import numpy as np
import pytest

from deeprelax import paths, results
from deeprelax.__main__ import main
from deeprelax.book.claims import by_name, check
from deeprelax.chapters import ch09_cifar as section83
from deeprelax.params import ParamError
from deeprelax.results import write_json
from deeprelax.train import table1
from deeprelax.train import experiments, records, table1
from deeprelax.train.data import DataError


def test_allcnn_is_an_experiment_with_the_paper_row():
    assert experiments.NET_DATASET["allcnn"] == "cifar10"
    assert section83.PAPER_ROW == {"entropy-sgd": (7.96, 0.05, 160), "heat": (9.04, 0.04, 150),
                                   "hj": (7.89, 0.07, 145), "sgd": (7.94, 0.06, 195)}
    for alg in section83.ALGORITHMS:
        P = experiments.experiment("allcnn", alg, "paper")
        assert P.batch_size == 128 and P.seeds == (0, 1, 2, 3, 4, 5)
        assert P.weight_decay == 1e-3 and P.eval_every == 5 and P.effective_epochs == 200
        assert P.L == {"sgd": 1, "entropy-sgd": 20, "hj": 5, "heat": 20}[alg]
        assert P.effective_epochs >= section83.PAPER_ROW[alg][2]


def test_bad_arguments_are_refused():
    with pytest.raises(ParamError, match="unknown data set 'cifar100'"):
        experiments.load_data("cifar100")
    with pytest.raises(ParamError, match="net 'allcnn' does not train on data set 'mnist'"):
        experiments.plan("allcnn", "sgd", dataset="mnist")
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        experiments.cifar_tensors("cifar10-subset", n_train=0)
    with pytest.raises(ParamError, match="max_minutes must be > 0"):
        section83.Params.from_preset("fast", max_minutes=-1.0)
    with pytest.raises(ParamError, match="train must be one of"):
        section83.Params.from_preset("fast", train="everything")
    for old in ("subset", "results", "smoke"):       # one vocabulary: fast / paper
        with pytest.raises(ParamError, match=f"unknown preset '{old}'"):
            section83.Params.from_preset(old)


def test_full_row_without_data_gives_one_clear_message(tmp_path, capsys):
    before = sorted(paths.TRAIN_DIR.glob("allcnn-*")) + sorted(paths.RUNS_DIR.glob("allcnn-*"))
    with pytest.raises(DataError, match="(?s)CIFAR-10 could not be loaded.*cifar-10-python"):
        experiments.run_row(section83.FULL, str(tmp_path), "cpu", show_progress=False)
    assert main(["cifar", "row", "--data-dir", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "CIFAR-10 could not be loaded" in err
    assert "Traceback" not in err
    assert main(["cifar", "subset", "--preset", "huge"]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
    after = sorted(paths.TRAIN_DIR.glob("allcnn-*")) + sorted(paths.RUNS_DIR.glob("allcnn-*"))
    assert after == before                                 # nothing written


@pytest.mark.slow
def test_smoke_run_through_the_engine_on_real_subset_pixels():
    r = experiments.run("allcnn", "entropy-sgd", "fast", "cpu", dataset=section83.SUBSET,
                        results_dir=None, runs_dir=None, show_progress=False)
    assert r["complete"] and r["dataset"] == section83.SUBSET
    assert r["n_train"] == 8 and r["n_test"] == 16
    assert r["n_parameters"] == 1_667_166 and r["L"] == 2 and r["seeds"] == [0, 1]
    loss = np.array(r["train_loss"], float)
    assert np.isfinite(loss).all() and np.all(np.abs(loss - np.log(10)) < 1.0)  # near chance
    err = np.array(r["val_error"], float)
    assert err.shape == (2, 1) and np.all((err >= 0) & (err <= 100))
    assert np.all(err * 16 / 100 == np.round(err * 16 / 100))                 # k/16 images


def _fake_result(alg, dataset, errors, complete=True):
    """A result record in the engine's schema: val_error[seed][record]; a paper run (the
    paper settings stored: only those make a Table 1 cell)."""
    errs = np.asarray(errors, float)
    P = experiments.experiment("allcnn", alg)
    K = errs.shape[1]                          # records every 5 effective epochs up to the
    epochs = [P.effective_epochs - 5.0 * (K - 1 - k) for k in range(K)]   # budget (200)
    return {"schema": "deeprelax.train/1", "net": "allcnn", "dataset": dataset,
            "algorithm": alg, "complete": complete, "seeds": list(range(errs.shape[0])),
            "status": "complete" if complete else "incomplete",
            "preset": "paper", "params": P.as_dict(), "effective_epoch": epochs,
            "grads": [391 * e for e in epochs],
            "train_loss": (errs / 100).tolist(), "val_error": errs.tolist(),
            "diverged": [None] * errs.shape[0], "wall_time_s": 1.0}


def test_subset_and_full_results_are_kept_apart(tmp_path, monkeypatch):
    full, sub = tmp_path / "train", tmp_path / "cifar10-subset"
    for folder in (full, sub):
        folder.mkdir()
    errs = [[9.0, 8.0, 8.5], [9.2, 8.2, 8.4]]
    write_json(full / "allcnn-sgd.json", _fake_result("sgd", "cifar10", errs))
    write_json(sub / "allcnn-sgd.json", _fake_result("sgd", "cifar10-subset",
                                                     [[40.0], [41.0]]))
    # a subset result misplaced in the full-data folder is not taken for a Table 1 cell
    write_json(full / "allcnn-hj.json", _fake_result("hj", "cifar10-subset", errs))
    got_full = section83.load_row(section83.FULL, full)
    got_sub = section83.load_row(section83.SUBSET, sub)
    assert list(got_full) == ["sgd"] and list(got_sub) == ["sgd"]
    s = records.summarize(got_full["sgd"])
    assert s["error_mean"] == pytest.approx(8.1) and s["effective_epoch"] == 195.0
    assert s["error_std"] == pytest.approx(np.std([8.0, 8.2], ddof=1))


def test_a_row_goes_into_table1_only_for_the_full_data(tmp_path, monkeypatch):
    """The chapter's training merges the four cells into the table1.csv beside its results
    folder when they are Table 1 cells (full data only); the subset's never."""
    csv_path = tmp_path / "table1.csv"
    results = {alg: _fake_result(alg, "cifar10", [[10.0 + i, 9.0 + i], [10.5 + i, 9.5 + i]])
               for i, alg in enumerate(section83.ALGORITHMS)}
    monkeypatch.setattr(experiments, "run_row", lambda *a, **k: list(results.values()))
    P = section83.Params.from_preset("fast", results_dir=str(tmp_path))
    section83.train_row(section83.SUBSET, P)
    assert not csv_path.exists()
    assert table1.write_row([dict(results["sgd"], preset="fast")], csv_path) is None
    assert not csv_path.exists()
    section83.train_row(section83.FULL, P)
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["algorithm"] for r in rows] == list(section83.ALGORITHMS)
    assert list(rows[0]) == list(table1.CSV_COLUMNS) and {r["net"] for r in rows} == {"allcnn"}
    assert rows[1]["error_mean"] == "10.2500" and rows[1]["effective_epoch"] == "200"
    assert rows[1]["n_seeds"] == "2"


def test_projection_is_the_stated_arithmetic(tmp_path):
    p = section83.projected_row_seconds(1.0, n_seeds=6)
    # per algorithm: 200 epochs x 6 seeds, plus 40 evaluations x 6 seeds x (60k/50k)/3
    assert p["sgd"] == pytest.approx(1200 + 40 * 6 * 1.2 / 3) == pytest.approx(1296.0)
    assert p["total"] == pytest.approx(4 * 1296.0)
    with pytest.raises(ValueError, match="must be positive"):
        section83.projected_row_seconds(0.0)
    (tmp_path / "benchmark-h100.json").write_text(json.dumps(
        [{"net": "lenet", "engine_s_per_epoch": 0.1, "eager_s_per_epoch": 1.4, "ratio": 14,
          "device": "H100"},
         {"net": "allcnn", "engine_s_per_epoch": 0.3, "eager_s_per_epoch": 1.9,
          "ratio": 6.3, "device": "H100"}]))
    (tmp_path / "benchmark-h100-details.json").write_text("[]")
    e = section83.benchmark_entry(tmp_path)
    assert e["engine_s_per_epoch"] == 0.3 and e["file"] == "benchmark-h100.json"
    assert section83.benchmark_entry(tmp_path / "nothing") is None


def test_row_frame_and_figure5_from_results():
    import matplotlib
    matplotlib.use("Agg")
    results = {alg: _fake_result(alg, "cifar10-subset", [[40.0 + i, 35.0 + i, 36.0 + i],
                                                        [41.0 + i, 36.0 + i, 35.0 + i]])
               for i, alg in enumerate(section83.ALGORITHMS)}
    frame = section83.row_frame(results)
    assert list(frame.index) == ["Entropy-SGD", "HEAT", "HJ", "SGD"]
    assert frame.loc["HJ", "error (%)"] == "37.50 ± 0.71"
    assert frame.loc["HJ", "@ effective epoch"] == 195 and frame.loc["HJ", "seeds"] == 2
    cmp = section83.comparison_frame(results)
    assert cmp.loc["HJ", "paper (%)"] == "7.89 ± 0.07 @ 145"
    assert cmp.loc["HJ", "ours (%)"] == "37.50 ± 0.71 @ 195"
    assert cmp.loc["HJ", "difference"].startswith("+29.61 (")
    R = _result(full=results)
    fig = section83.figure_5(R)
    loss_ax, err_ax = fig.axes
    ours = [ln for ln in err_ax.lines if ln.get_label().startswith("ours")]
    assert len(ours) == 4 and len([ln for ln in loss_ax.lines
                                   if ln.get_label().startswith("ours")]) == 4
    np.testing.assert_allclose(ours[0].get_ydata(), [40.5, 35.5, 35.5])
    np.testing.assert_allclose(loss_ax.lines[3].get_ydata(), [0.435, 0.385, 0.385])
    pending_fig = section83.figure_5(_result())          # same layout, the paper marked
    assert len(pending_fig.axes) == 2 and "pending" in pending_fig.axes[1].get_title()
    assert [ln.get_ydata()[0] for ln in pending_fig.axes[0].lines] == [0.046]     # HJ


def test_presets_and_result_folders():
    P = section83.Params.from_preset("paper")
    assert (P.smoke, P.train) == (False, "none")
    assert section83.Params.from_preset("fast").smoke is True
    assert section83.Params.from_preset("paper", train="subset").train == "subset"
    assert P.results_for(section83.FULL) == paths.RESULTS_DIR / "train" == paths.TRAIN_DIR
    assert P.results_for(section83.SUBSET) == paths.SUBSET_RESULTS
    P = section83.Params.from_preset("paper", results_dir="/tmp/r")
    assert str(P.results_for(section83.SUBSET)) == "/tmp/r/cifar10-subset"


def _result(full=None, subset=None, smoke=None):
    """A Result with the subset's real whitening figures replaced by their ideal values."""
    zca = {"n_retained": 3071, "lam_min": 1e-5, "lam_max": 475.0, "pred_min": 0.994,
           "var_train_min": 1 - 1 / 3072, "var_train_max": 0.9993, "var_test_mean": 4.0,
           "asym": 0.0}
    return section83.Result(section83.Params.from_preset("paper"), "CIFAR-10 SUBSET",
                            5438, 1017, [5000] * 10, {}, [], zca, section83.PAPER_PARAMS,
                            smoke, subset or {}, full or {})


def test_claims_are_pending_until_the_full_row_exists_then_checked_in_sigma():
    claims = section83.claims(_result())
    check(claims)
    named = by_name(claims)
    assert [n for n, c in named.items() if c.status == "pending"] == [
        "cell_allcnn_entropysgd", "cell_allcnn_heat", "cell_allcnn_hj", "cell_allcnn_sgd",
        "hj_best", "heat_worst", "hj_lowest_train_loss"]
    note = section83.pending_note(_result())
    assert note.count("```{admonition}") == 1 and section83.COMMANDS["full"] in note
    # a full row at the paper's cells: every claim real, all pass, nothing pending
    row = {a: _fake_result(a, "cifar10", [[m + 0.01 * (s - 2.5)] for s in range(6)])
           for a, (m, _, _) in section83.PAPER_ROW.items()}
    for a, r in row.items():      # HJ with the lowest training loss, as the paper says
        r["train_loss"] = [[0.046 if a == "hj" else 0.1]] * 6
    named = by_name(section83.claims(_result(full=row)))
    assert all(c.status == "reproduced" and c.passed for n, c in named.items()
               if n.startswith("cell_") or n in ("hj_best", "heat_worst"))
    assert named["hj_lowest_train_loss"].passed
    assert named["cell_allcnn_hj"].ours == pytest.approx(0.0, abs=1e-9)
    # HEAT 1.5 points better than the paper: its cell and the rankings are decided
    # 'differs' (saying so, with the other side of the same bound), the rest unchanged
    row["heat"] = _fake_result("heat", "cifar10", [[7.50 + 0.01 * s] for s in range(6)])
    named = by_name(section83.claims(_result(full=row)))
    assert named["cell_allcnn_heat"].status == named["heat_worst"].status == "differs"
    assert named["cell_allcnn_heat"].lo == table1.SIGMA_TOL and named["cell_allcnn_heat"].ours > 3
    assert "higher validation error than HEAT" in named["heat_worst"].statement
    assert [n for n, c in named.items() if c.status == "differs"] == [
        "cell_allcnn_heat", "hj_best", "heat_worst"]          # HEAT is now the best too
    check(section83.claims(_result(full=row)))


def test_cli_fast_preset_runs_the_smoke_row_of_the_chapter(tmp_path, capsys):
    """``python -m deeprelax cifar subset --preset fast``: the chapter's CPU smoke run."""
    pytest.importorskip("torch")
    out = tmp_path / "smoke"
    assert main(["cifar", "subset", "--preset", "fast", "--results-dir", str(out),
                 "--no-progress", "--set", "seeds=[0]"]) == 0
    text = capsys.readouterr().out
    assert "4/4 complete" in text and "on cifar10-subset:" in text
    rec = results.read_json(out / "allcnn-hj.json")
    assert rec["preset"] == "fast" and rec["n_train"] == 8 and rec["L"] == 2
    assert experiments.load_results(out) == {}              # a smoke run is never a result
