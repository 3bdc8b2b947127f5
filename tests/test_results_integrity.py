"""Nothing wrong gets into results: forged or foreign records, settings that change the
numbers, NaN parameters, smoke rows in the official table, unwritable folders."""
import json
import math

import pytest
import torch

from deeprelax import __main__ as cli
from deeprelax import paths
from deeprelax.train import engine, experiments, models, records, table1
from deeprelax.params import ParamError
from deeprelax.results import write_json


def _record(net="lenet", alg="sgd", epochs=(1.0,), status="complete"):
    """A record of the shape the engine writes, with the paper settings of (net, alg)."""
    P = experiments.experiment(net, alg, "paper")
    S, K = len(P.seeds), len(epochs)
    return {"schema": engine.SCHEMA, "net": net, "dataset": "mnist", "preset": "paper",
            "kind": "paper", "algorithm": alg, "complete": status == "complete",
            "status": status, "seeds": list(P.seeds), "params": P.as_dict(),
            "effective_epoch": list(epochs), "grads": [469 * e for e in epochs],
            "lr": [0.1] * K, "gamma": [None] * K, "train_loss": [[0.1] * K] * S,
            "val_error": [[1.2] * K] * S, "diverged": [None] * S, "wall_time_s": 1.0}


def test_a_cell_edited_to_complete_after_one_of_100_epochs_is_refused(tmp_path):
    write_json(tmp_path / "lenet-sgd.json", _record(epochs=(1.0,), status="complete"))
    refused = []
    assert experiments.load_results(tmp_path, refused=refused) == {}
    assert "disagrees with its records (incomplete)" in refused[0][1]
    full = _record(epochs=tuple(float(e) for e in range(1, 101)))
    assert experiments.admission(full) is None                  # the same, honestly complete


def test_a_record_without_a_checksum_is_refused(tmp_path):
    (tmp_path / "lenet-sgd.json").write_text(json.dumps(_record(
        epochs=tuple(float(e) for e in range(1, 101)))))
    refused = []
    assert experiments.load_results(tmp_path, refused=refused) == {}
    assert "carries no checksum" in refused[0][1]


@pytest.mark.parametrize("obj,why", [([1, 2], "a JSON list, not a result record"),
                                     ({"net": "lenet"}, "not a result record")])
def test_json_that_is_not_a_record_is_refused_not_a_traceback(tmp_path, obj, why, capsys):
    write_json(tmp_path / "lenet-sgd.json", obj)
    refused = []
    assert experiments.load_results(tmp_path, refused=refused) == {}
    assert why in refused[0][1]
    rec = _record(epochs=(1.0,))
    rec["val_error"] = [[1.2]]                              # a short val_error
    assert "per-seed lists of other lengths" in records.record_problem(rec)
    # train refuses to start over such a file, with one line and exit 2
    bad = tmp_path / "smoke"
    bad.mkdir()
    write_json(bad / "mnistfc-sgd.json", obj)
    code = cli.main(["train", "--net", "mnistfc", "--algorithm", "sgd", "--preset", "fast",
                     "--results-dir", str(bad), "--runs-dir", str(tmp_path / "runs"),
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "is in the way" in err


def test_eval_batch_is_part_of_the_paper_settings():
    assert "eval_batch" not in engine.TrainParams.RUN_CONTROL
    assert experiments.plan("lenet", "sgd", "paper", eval_batch=1000).kind == "custom"
    assert experiments.plan("lenet", "sgd", "paper").kind == "paper"


def test_an_eval_batch_that_leaves_one_image_for_batch_norm_stops_before_training():
    g = torch.Generator().manual_seed(0)
    data = engine.TensorData(torch.rand(7, 1, 28, 28, generator=g), torch.arange(7) % 3,
                             torch.rand(4, 1, 28, 28, generator=g), torch.arange(4) % 3)
    P = engine.TrainParams(seeds=(0,), eval_batch=3, effective_epochs=1)   # 7 = 2·3 + 1
    with pytest.raises(ParamError, match="leaves a batch of one training image"):
        engine.MultiSeedTrainer(models.mnistfc, data, P)


def test_nan_parameters_are_refused_before_work(tmp_path, capsys):
    code = cli.main(["train", "--net", "mnistfc", "--algorithm", "sgd", "--preset", "fast",
                     "--set", "diverge_factor=NaN", "--results-dir", str(tmp_path),
                     "--runs-dir", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "must be finite" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    from deeprelax.chapters import ch10_gd_vs_gf as ch10
    with pytest.raises(ParamError, match="finite"):
        ch10.Params.from_preset("fast", T=math.nan)


def test_the_official_table_never_holds_smoke_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RESULTS_DIR", tmp_path)
    path = tmp_path / "table1.csv"
    good = {"net": "lenet", "algorithm": "sgd", "error_mean": 0.5, "error_std": 0.01,
            "effective_epoch": 67, "n_seeds": 6, "n_diverged": 0, "note": ""}
    smoke = dict(good, algorithm="hj", note="NOT A TABLE 1 CELL: a 'fast'-preset run")
    with pytest.raises(ParamError, match="holds Table 1 cells only"):
        table1.write_table1_csv([good, smoke], path)
    # a smoke row written by an older version is dropped at the next write
    path.write_text("net,algorithm,error_mean,error_std,effective_epoch,n_seeds,n_diverged,"
                    "note\nlenet,hj,1,0,2,2,0,NOT A TABLE 1 CELL: smoke\n")
    table1.write_table1_csv([good], path)
    assert "hj" not in path.read_text() and "lenet,sgd" in path.read_text()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other" / "t.csv"
    table1.write_table1_csv([good, smoke], elsewhere)        # allowed outside results/
    assert "NOT A TABLE 1 CELL" in elsewhere.read_text()


def test_a_weights_folder_that_is_a_file_stops_before_training(tmp_path, capsys):
    (tmp_path / "weights").write_text("in the way")
    code = cli.main(["train", "--net", "lenet", "--algorithm", "sgd", "--preset", "fast",
                     "--results-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs"),
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "weights folder" in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()                 # nothing trained


def test_the_thread_count_of_the_run_decides_the_numbers_not_the_process_setting():
    g = torch.Generator().manual_seed(1)
    data = engine.TensorData(torch.rand(512, 1, 28, 28, generator=g) * 255,
                             torch.randint(0, 10, (512,), generator=g),
                             torch.rand(100, 1, 28, 28, generator=g) * 255,
                             torch.randint(0, 10, (100,), generator=g))
    P = experiments.experiment("lenet", "entropy-sgd", "paper", seeds=(0,), effective_epochs=2,
                          eval_batch=100)
    before = torch.get_num_threads()
    runs = []
    for process_threads in (1, 2):
        torch.set_num_threads(process_threads)
        runs.append(engine.train(models.lenet, data, P, show_progress=False))
    torch.set_num_threads(before)
    assert runs[0]["train_loss"] == runs[1]["train_loss"]
    assert runs[0]["val_error"] == runs[1]["val_error"]
    assert runs[0]["provenance"]["threads"] == runs[1]["provenance"]["threads"] == 1


def test_a_chapter_without_its_data_stops_with_one_line(tmp_path):
    """Chapter 09 asked to train the full row without the data: one DataError line in the
    notebook (not a traceback from inside the loader) and a failed run."""
    import subprocess
    import sys

    import nbformat

    from conftest import ROOT
    out = tmp_path / "o.ipynb"
    run = subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
         str(ROOT / "notebooks" / "09_cifar.ipynb"), str(out), "-p", "preset", "paper",
         "-p", "train", "full", "-p", "data_dir", str(tmp_path / "nothing-here")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**__import__("os").environ, "DEEPRELAX_DATA": str(tmp_path / "no-data")})
    assert run.returncode != 0
    errors = [o for c in nbformat.read(out, as_version=4).cells
              for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "DataError"
    assert errors[0]["traceback"] == ["DataError: " + errors[0]["evalue"]]
