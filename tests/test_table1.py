"""Table 1 presets, summaries, the results CSV and the command line."""
import csv
import math
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from deeprelax import results

from deeprelax import paths

from deeprelax.train import experiments, records, table1
from deeprelax.__main__ import main
from deeprelax.chapters import ch08_mnist as ch08
from deeprelax.book.claims import by_name, check
from deeprelax.params import ParamError



def test_presets_follow_the_paper_and_the_authors_code():
    for net in ("mnistfc", "lenet"):
        es = experiments.experiment(net, "entropy-sgd")
        assert (es.L, es.lr_y, es.alpha, es.beta_ex_inv, es.batch_size) == (20, 0.1, 0.75,
                                                                             2e-8, 128)
        assert (es.outer, es.momentum, es.inner_momentum) == ("lua", 0.0, 0.9)
        assert es.inner_form == "authors"
        assert es.gamma_decay == 1e-3 and es.seeds == (0, 1, 2, 3, 4, 5)
        hj = experiments.experiment(net, "hj")
        assert (hj.L, hj.hj_form, hj.inner_form) == (5, "prox", "authors")
        assert hj.optimizer_hyper().get("beta_ex_inv") is None      # HJ: no noise at all
        heat = experiments.experiment(net, "heat")
        assert (heat.L, heat.momentum, heat.gamma) == (20, 0.9, 1e-4)
        sgd = experiments.experiment(net, "sgd")
        assert sgd.lr_schedule == ((0, 0.1), (30, 0.02), (60, 0.004)) and sgd.L == 1
    assert experiments.experiment("mnistfc", "sgd").effective_epochs == 200
    assert experiments.experiment("lenet", "sgd").effective_epochs == 100
    smoke = experiments.experiment("lenet", "heat", "fast", device="cpu")
    assert smoke.seeds == (0, 1) and smoke.L == 20 and smoke.effective_epochs == 2
    assert experiments.experiment("lenet", "sgd", seeds=(3,)).seeds == (3,)
    with pytest.raises(ParamError, match="no experiment"):
        experiments.experiment("resnet", "sgd")
    with pytest.raises(ParamError, match=r"preset 'huge'; choose one of \['fast', 'paper'\]"):
        experiments.experiment("lenet", "sgd", "huge")
    with pytest.raises(ParamError, match="unknown preset 'smoke'"):
        experiments.experiment("lenet", "sgd", "smoke")       # one vocabulary: fast / paper


def fake_result(errors, diverged=None, epochs=None):
    n_seeds, n_rec = len(errors), len(errors[0])
    epochs = epochs or [float(k + 1) for k in range(n_rec)]
    return {"net": "lenet", "algorithm": "hj", "complete": True,
            "seeds": list(range(n_seeds)), "params": {}, "grads": [469 * e for e in epochs],
            "effective_epoch": epochs,
            "val_error": errors, "train_loss": [[1.0] * n_rec for _ in range(n_seeds)],
            "diverged": diverged or [None] * n_seeds, "wall_time_s": 10.0}


def test_summarize_picks_the_best_mean_and_skips_diverged_seeds():
    res = fake_result([[1.0, 0.6, 0.7], [1.2, 0.8, 0.5], [9.0, 9.0, 9.0]],
                      diverged=[None, None, {"effective_epoch": 0.5, "reason": "x"}],
                      epochs=[1.0, 2.02, 3.0])
    s = records.summarize(res)
    # means over seeds 0,1: 1.1, 0.7, 0.6 -> record 2 (epoch 3.0), std of (0.7, 0.5)
    assert s["error_mean"] == pytest.approx(0.6)
    assert s["error_std"] == pytest.approx(math.sqrt(0.02))
    assert s["effective_epoch"] == 3.0 and s["n_seeds"] == 2
    c = records.curves(res)
    assert c["mean"] == pytest.approx([1.1, 0.7, 0.6])
    gone = fake_result([[1.0]], diverged=[{"effective_epoch": 1.0, "reason": "x"}])
    assert records.summarize(gone)["n_seeds"] == 0


def test_table1_csv_columns_and_merge(tmp_path):
    path = tmp_path / "table1.csv"
    path.write_text("net,algorithm,error_mean,error_std,effective_epoch,n_seeds\n"
                    "allcnn,sgd,7.9,0.1,190,6\nlenet,hj,9,9,9,9\n")
    rows = table1.table1_rows({("lenet", "hj"): fake_result([[0.6, 0.5], [0.5, 0.55]]),
                               ("mnistfc", "sgd"): fake_result([[1.2], [1.0]])})
    table1.write_table1_csv(rows, path)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == table1.CSV_COLUMNS
        got = list(reader)
    assert [(r["net"], r["algorithm"]) for r in got] == [("mnistfc", "sgd"), ("lenet", "hj"),
                                                          ("allcnn", "sgd")]
    assert got[1]["error_mean"] == "0.5250" and got[1]["effective_epoch"] == "2"
    assert got[1]["n_seeds"] == "2" and got[2]["error_mean"] == "7.9000"
    cmp = table1.comparison(rows)
    lenet = [c for c in cmp if c["net"] == "lenet"][0]
    assert lenet["diff"] == pytest.approx(0.525 - 0.50)
    assert "agrees with the paper" in table1.verdict(lenet)
    far = dict(lenet, diff=0.3, diff_sigma=10.0, error_mean=0.8)
    assert "0.30 points worse" in table1.verdict(far)
    assert table1.difference(far) == "+0.30 (+10.0 σ)"
    # a difference that rounds to zero has no sign (LeNet/HJ: -0.003 points, -0.1 σ)
    same = dict(lenet, diff=-0.0033, diff_sigma=-0.104)
    assert table1.difference(same) == "0.00 (-0.1 σ)"
    assert "(equal to two decimals, -0.1 σ)" in table1.verdict(same)
    assert table1.signed(-0.04, 2) == "-0.04" and table1.signed(-0.004, 2) == "0.00"


def test_frames_for_the_chapter():
    results = {("lenet", "hj"): fake_result([[0.6, 0.5], [0.5, 0.55]]),
               ("mnistfc", "sgd"): fake_result([[1.2], [1.0]])}
    cmp = ch08.comparison_frame(results)
    assert list(cmp.index) == [("mnistfc", "SGD"), ("lenet", "HJ")]
    # lenet hj: best mean 0.525 at record 2 (epoch 2), std of (0.5, 0.55); paper 0.50 ± 0.01
    assert cmp.loc[("lenet", "HJ"), "ours (%)"] == "0.53 ± 0.04 @ 2"
    assert cmp.loc[("lenet", "HJ"), "paper (%)"] == "0.50 ± 0.01 @ 70"
    assert cmp.loc[("lenet", "HJ"), "difference"] == "+0.03 (+0.7 σ)"
    paper = ch08.paper_frame(("allcnn",))
    assert paper["paper (%)"].tolist() == ["7.96 ± 0.05 @ 160", "9.04 ± 0.04 @ 150",
                                           "7.89 ± 0.07 @ 145", "7.94 ± 0.06 @ 195"]
    table = ch08.table1_frame(results)
    assert table.loc[("LeNet", "ours (%)"), "HJ"] == "0.53 ± 0.04 @ 2"
    assert table.loc[("LeNet", "ours (%)"), "SGD"] == "pending"
    assert table.loc[("LeNet", "paper (%)"), "SGD"] == "0.50 ± 0.02 @ 67"
    assert table.loc[("LeNet", "wall time (min)"), "HJ"] == "0.2 (measured)"   # 10 s
    run = dict(fake_result([[50.0, 20.0], [60.0, 25.0]]), L=5, grads=[10, 20])
    smoke = ch08.smoke_frame([run])
    assert smoke.loc[("LeNet", "HJ"), "updates"] == 4
    assert smoke.loc[("LeNet", "HJ"), "val. error (%) per seed"] == "20.0, 25.0"
    assert smoke.loc[("LeNet", "HJ"), "train loss"] == "1.000"


def test_settings_are_read_from_the_experiments_one_row_per_setting():
    settings = ch08.settings_frame("lenet")
    assert list(settings.columns) == ["Entropy-SGD", "HEAT", "HJ", "SGD"]
    beta = experiments.EXPERIMENTS[("lenet", "entropy-sgd")]["beta_ex_inv"]
    assert settings.loc["β_ex⁻¹", "Entropy-SGD"] == ch08.format_setting("", beta)
    assert settings.loc["γ₀", "Entropy-SGD"] == "1e+04"
    assert settings.loc["η_y", "SGD"] == "—"
    assert settings.loc["lr η (→ new value @ eff. epoch)", "SGD"] == "0.1 → 0.02 @30 → 0.004 @60"
    assert settings.loc["seeds", "HJ"] == "0–5"
    heat = ch08.settings_frame("mnistfc").loc["lr η (→ new value @ eff. epoch)", "HEAT"]
    assert heat == "0.1 → 0.02 @60 → 0.004 @120 → 8e-04 @180" and len(heat) < 50
    assert [ch08.format_setting("", v) for v in (1e-8, 2e-8, 1e4, 10000.0, 0.0, 0.75,
                                                1 / 0.03)] == [
        "1e-08", "2e-08", "1e+04", "1e+04", "0", "0.75", "33.33"]
    # a key no label knows (a new TrainParams field) still gets its row, '—' elsewhere
    experiments.EXPERIMENTS[("lenet", "hj")]["new_knob"] = 7
    try:
        row = ch08.settings_frame("lenet").loc["new_knob"]
        assert row.tolist() == ["—", "—", "7", "—"]
    finally:
        del experiments.EXPERIMENTS[("lenet", "hj")]["new_knob"]


def test_measured_inner_noise_is_the_convention_of_eq_32():
    """One inner step of deeprelax.train.optim's Entropy-SGD adds noise of std √(η_y β_ex⁻¹)."""
    for beta in (1e-8, 2e-8, 1e8):
        assert ch08.inner_noise_std(beta) == pytest.approx(math.sqrt(0.1 * beta), rel=0.01)


def test_chapter_claims_without_gpu_results():
    R = ch08.Result(ch08.Params.from_preset("paper"), dict(ch08.PAPER_PARAMS), {}, None,
                    noise={"ours": ch08.inner_noise_std(), "printed": 3162.0,
                           "authors": ch08.AUTHORS_NOISE})
    claims = ch08.claims(R)
    check(claims)
    named = by_name(claims)
    assert {c.status for n, c in named.items() if n.startswith("cell_")} == {"pending"}
    assert len([n for n in named if n.startswith("cell_")]) == 8
    assert named["noise_ratio"].status == "corrected" and named["noise_ratio"].passed
    assert named["lenet_beats_mnistfc_heat"].status == "pending"
    note = ch08.pending_note(R)
    assert note.count("```{admonition}") == 1 and ch08.COMMANDS["campaign"] in note


def test_chapter_claims_with_complete_cells_check_each_cell_in_sigma():
    def rec(net, alg, shift):
        mean = table1.PAPER_TABLE1[(net, alg)][0] + shift
        return dict(fake_result([[mean + 0.01 * (s - 2.5)] for s in range(6)]), net=net,
                    algorithm=alg)
    results = {k: rec(*k, 0.0) for k in ch08.CELLS}
    R = ch08.Result(ch08.Params.from_preset("paper"), dict(ch08.PAPER_PARAMS), results,
                    None, noise={"ours": 1.0, "printed": 1e8, "authors": 1.0})
    assert "GPU benchmark has not run yet" in ch08.pending_note(R)   # only it is missing
    R.bench = [{"net": "lenet", "engine_s_per_epoch": 0.1, "eager_s_per_epoch": 1.4,
                "ratio": 14.0}]
    claims = ch08.claims(R)
    check(claims)
    assert all(c.status != "pending" for c in claims) and ch08.pending_note(R) == ""
    results[("lenet", "hj")] = rec("lenet", "hj", 0.2)     # 0.2 points off: ~14 σ
    named = by_name(ch08.claims(R))
    assert named["cell_lenet_hj"].status == "differs" and named["cell_lenet_hj"].passed
    assert (named["cell_lenet_hj"].lo, named["cell_lenet_hj"].hi) == (ch08.SIGMA_TOL, None)
    assert named["cell_lenet_sgd"].status == "reproduced" and named["cell_lenet_sgd"].passed
    assert named["cell_lenet_hj"].ours == pytest.approx(0.2 / math.hypot(
        statistics.stdev([0.01 * (s - 2.5) for s in range(6)]), 0.01), rel=1e-6)


def test_params_refuse_unknown_presets_and_names():
    with pytest.raises(ParamError, match="unknown preset 'smoke'"):
        ch08.Params.from_preset("smoke")
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['trian'\]"):
        ch08.Params.from_notebook({"preset": "fast", "trian": True})
    with pytest.raises(ParamError, match="max_minutes must be > 0"):
        ch08.Params.from_preset("paper", max_minutes=0.0)
    assert ch08.Params.from_preset("paper").smoke is False


def test_cli_trains_a_smoke_cell_resumes_nothing_and_writes_the_table(tmp_path, capsys):
    res_dir, runs = tmp_path / "train", tmp_path / "runs"
    argv = ["train", "--net", "lenet", "--algorithm", "sgd", "--preset", "fast",
            "--results-dir", str(res_dir), "--runs-dir", str(runs), "--no-progress",
            "--seeds", "0", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "lenet sgd: complete" in out and "1/1 complete" in out
    rec = results.read_json(res_dir / "lenet-sgd.json")
    assert rec["complete"] and rec["net"] == "lenet" and rec["dataset"] == "mnist"
    assert rec["n_train"] == 1280 and rec["n_parameters"] == 131_220
    assert len(rec["val_error"]) == 2 and len(rec["val_error"][0]) == 2
    assert all(0 <= e < 90 for e in rec["val_error"][0])      # below chance after 20 steps
    # a second call finds the complete result and does not train again
    assert main(argv) == 0
    assert results.read_json(res_dir / "lenet-sgd.json")["provenance"] == rec["provenance"]
    csv_path = tmp_path / "t.csv"
    table_argv = ["table1", "--results-dir", str(res_dir), "--csv", str(csv_path)]
    assert main(table_argv) == 1 and not csv_path.exists()   # smoke runs are not results
    assert main(table_argv + ["--include-smoke"]) == 0
    assert csv_path.read_text().splitlines()[0] == ",".join(table1.CSV_COLUMNS)


def test_cli_bad_set_gives_one_clear_error(tmp_path, capsys):
    base = ["train", "--net", "lenet", "--algorithm", "sgd", "--preset", "fast",
            "--results-dir", str(tmp_path), "--runs-dir", str(tmp_path), "--no-progress"]
    for bad, said in (("cuda_graph", "NAME=VALUE"), ("no_such_knob=1", "no_such_knob")):
        assert main(base + ["--set", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and "Traceback" not in err
    assert main(base[:6] + ["smoke"] + base[7:]) == 2      # the old name: one clear error
    assert "unknown preset 'smoke'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())          # nothing was trained or written


def test_python_m_deeprelax_runs():
    out = subprocess.run([sys.executable, "-m", "deeprelax", "describe"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "lr_schedule" in out.stdout and "lenet hj" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "deeprelax", "train", "--net", "lenet",
                          "--algorithm", "adam"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "no experiment" in bad.stderr


def test_smoke_runs_never_land_in_results(tmp_path):
    from deeprelax.results import write_json
    assert experiments.results_folder("mnist", "fast") == paths.SMOKE_DIR
    assert experiments.results_folder("mnist", "paper") == paths.TRAIN_DIR
    assert paths.RESULTS_DIR not in paths.SMOKE_DIR.parents
    for preset in ("fast", "smoke"):                  # 'smoke': records of older runs
        rec = dict(fake_result([[1.0]]), algorithm="sgd", preset=preset)
        write_json(tmp_path / "lenet-sgd.json", rec)
        assert experiments.load_results(tmp_path) == {}
        assert list(experiments.load_results(tmp_path, include_smoke=True)) == [("lenet", "sgd")]


# ---- Table 1 admits only paper runs; divergence is reported, never a number ----------------
def paper_record(errors, diverged=None, **kw):
    """A complete lenet/hj record with the paper settings stored (a Table 1 cell)."""
    n_rec = len(errors[0])                  # the last record at the budget, 100
    rec = dict(fake_result(errors, diverged, [100.0 - n_rec + k + 1 for k in range(n_rec)]),
               preset="paper", status="complete", seeds=list(range(len(errors))),
               params=experiments.experiment("lenet", "hj").as_dict())
    rec.update(kw)
    return rec


BOUND = {"effective_epoch": 5.0, "loss": 1665.0, "bound": 4.61,
         "reason": "training loss 1665 above the bound 4.61 (= 2 × log 10, the loss of a "
                   "uniform guess) for 5 consecutive records; this seed stopped recording"}


def test_a_cell_with_a_diverged_seed_reports_it_and_leaves_it_out_of_the_mean(tmp_path):
    errs = [[0.6, 0.5]] * 5 + [[90.0, None]]         # seed 5: loss 1665, 90 % error
    rec = paper_record(errs, diverged=[None] * 5 + [BOUND])
    assert experiments.admission(rec) is None
    (row,) = table1.table1_rows({("lenet", "hj"): rec})
    assert row["error_mean"] == pytest.approx(0.5) and row["error_std"] == 0.0
    assert (row["n_seeds"], row["n_diverged"]) == (5, 1)
    assert row["note"].startswith("1 of 6 seeds diverged, left out of the mean: seed 5 "
                                  "diverged at effective epoch 5.00: training loss 1665")
    path = table1.write_table1_csv([row], tmp_path / "t.csv")
    with open(path, newline="") as fh:
        (got,) = list(csv.DictReader(fh))
    assert got["n_diverged"] == "1" and "seed 5 diverged" in got["note"]
    assert got["error_mean"] == "0.5000"


@pytest.mark.parametrize("style", ["engine", "old"])
def test_a_cell_whose_seeds_all_diverged_is_never_a_row(tmp_path, capsys, style):
    from deeprelax.results import write_json
    gone = [dict(BOUND, reason="non-finite training loss (NaN/inf)")] * 2
    rec = paper_record([[None], [None]], diverged=gone)
    if style == "engine":
        rec.update(status="diverged", complete=False)
    else:                                  # as written before: 'complete', no status
        del rec["status"]
    write_json(tmp_path / "lenet-hj.json", rec)
    refused = []
    assert experiments.load_results(tmp_path, refused=refused) == {}
    assert refused[0][1] == ("every seed diverged (seed 0 diverged at effective epoch 5.00: "
                             "non-finite training loss (NaN/inf))" if style == "engine" else
                             "its stored status 'complete' disagrees with its records "
                             "(diverged): an edited or damaged record")
    csv_path = tmp_path / "t.csv"
    assert main(["table1", "--results-dir", str(tmp_path), "--csv", str(csv_path)]) == 1
    out = capsys.readouterr().out
    assert "nan" not in out and "better than the paper" not in out and "left out" in out
    assert not csv_path.exists()
    assert table1.comparison([{"net": "lenet", "algorithm": "hj", "error_mean": math.nan,
                               "error_std": math.nan}]) == []


def test_admission_names_what_differs_from_the_paper_settings():
    ok = paper_record([[0.6], [0.5]])
    assert experiments.admission(ok) is None
    for change, said in (
            (dict(preset="fast"), "a 'fast'-preset run"),
            (dict(params=None), "'params' is missing"),
            (dict(status="incomplete", complete=False), "incomplete"),
            (dict(params=dict(ok["params"], effective_epochs=1, seeds=[0])),
             "not the paper settings: effective_epochs 1 (paper: 100); seeds [0] (paper: "
             "[0,1,2,3,4,5])"),
            (dict(params=dict(ok["params"], bf16=True)), "bf16 true (paper: false)"),
            (dict(net="resnet"), "no paper experiment")):
        assert said in experiments.admission(dict(ok, **change)), change
    # run control does not matter: the device, CUDA graphs, checkpoint cadence
    ctrl = dict(ok["params"], device="cuda", cuda_graph=True, checkpoint_every=1)
    assert experiments.admission(dict(ok, params=ctrl)) is None


# ---- 6. the chapters' smoke runs leave nothing behind ---------------------------------------
@pytest.mark.parametrize("fail", [False, True])
def test_smoke_runs_remove_their_temporary_folder(tmp_path, monkeypatch, fail):
    import tempfile

    from deeprelax.chapters import ch09_cifar as ch09
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def fake(*args, results_dir, runs_dir, **kw):
        for folder in (Path(results_dir), Path(runs_dir)):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "lenet-sgd.x").write_bytes(b"0" * 1000)
        if fail:
            raise RuntimeError("a cell failed")
        return [{"ok": 1}]
    monkeypatch.setattr(experiments, "plans", fake)
    monkeypatch.setattr(experiments, "sweep", lambda plans, **kw: plans)
    monkeypatch.setattr(experiments, "run_row", fake)
    for smoke in (ch08.smoke_sweep, ch09.smoke_row):
        if fail:
            with pytest.raises(RuntimeError, match="a cell failed"):
                smoke()
        else:
            assert smoke() == [{"ok": 1}]
        assert list(tmp_path.iterdir()) == [], f"{smoke.__name__} left a folder behind"


def test_the_noise_claim_fails_for_the_sign_typo_reading():
    """β_ex⁻¹ = 1e-8 (reading only the exponent's sign as a typo) gives 0.71 × the authors'
    noise: the claim must fail there, not only at the printed 1e8."""
    for beta, ok in ((2e-8, True), (1e-8, False), (4e-8, False)):
        R = ch08.Result(ch08.Params.from_preset("paper"), dict(ch08.PAPER_PARAMS), {}, None,
                        noise={"ours": ch08.inner_noise_std(beta), "printed": 3162.0,
                               "authors": ch08.AUTHORS_NOISE})
        assert by_name(ch08.claims(R))["noise_ratio"].passed is ok, beta


def test_every_paper_cell_keeps_the_inner_step_stable_to_its_last_update(monkeypatch):
    """Scoping shrinks γ at every update (Sec. 7.5): the inner coupling step of (32) must stay
    below its stability bound η_y/γ ≤ 2 up to the budget's last update, in every cell. The
    paper's γ₁ = 1e-3 fails this for mnistfc's HJ (18,760 updates): the check catches it."""
    from deeprelax.train import optim
    for (net, alg), values in experiments.EXPERIMENTS.items():
        if alg in ("entropy-sgd", "hj"):
            delta = values["inner_momentum"] if values.get("inner_form") == "paper" else 0.0
            assert experiments.inner_step_ratio(net, alg) <= optim.stable_fraction(delta), \
                (net, alg)
    # LeNet's HJ: 100 × 469 / 5 = 9,380 updates, η_y/γ = 0.1/(1e4 (1 − 1e-3)^9380)
    assert experiments.inner_step_ratio("lenet", "hj") == pytest.approx(
        0.1 / (1e4 * (1 - 1e-3) ** 9380), rel=1e-12)
    paper = dict(experiments.EXPERIMENTS[("mnistfc", "hj")], gamma_decay=1e-3)
    monkeypatch.setitem(experiments.EXPERIMENTS, ("mnistfc", "hj"), paper)
    assert experiments.inner_step_ratio("mnistfc", "hj") > 1e3
