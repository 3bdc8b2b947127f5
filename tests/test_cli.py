"""``python -m deeprelax``: bad input refused before any work (one line, exit 2), custom
runs kept out of results/, divergence as an exit status, corrupt checkpoints named."""
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from deeprelax import results

from deeprelax import paths

from deeprelax.train import experiments, table1
from deeprelax.__main__ import main

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import tiny_data  # noqa: E402


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """results/ and runs/ under ``.root`` (tmp_path); 'mnist' is a tiny learnable stand-in
    (256 training, 128 test images); ``.loads`` counts data loads (work started)."""
    res, runs = tmp_path / "results", tmp_path / "runs"
    for name, value in (("RESULTS_DIR", res), ("TRAIN_DIR", res / "train"),
                        ("TABLE1_CSV", res / "table1.csv"), ("RUNS_DIR", runs),
                        ("SMOKE_DIR", runs / "smoke"), ("CUSTOM_DIR", runs / "custom"),
                        ("WEIGHTS_DIR", res / "weights"), ("UNIT_RUNS_DIR", runs / "units")):
        monkeypatch.setattr(paths, name, value)
    loads = []

    def tiny_mnist(n_train=None, n_test=None):
        loads.append(1)
        return tiny_data(n=256, n_test=128)
    monkeypatch.setattr(experiments, "mnist_tensors", tiny_mnist)
    monkeypatch.setattr(experiments, "_DATA_CACHE", {})
    tmp_path.joinpath("a_file").write_text("x")
    return SimpleNamespace(root=tmp_path, loads=loads)


TRAIN = ["train", "--net", "lenet", "--algorithm", "sgd", "--no-progress"]


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---- 5. every bad input: one line, exit 2, before any work ---------------------------------
BAD = [
    (TRAIN + ["--preset", "fast", "--results-dir", "{tmp}/a_file"], "--results-dir"),
    (TRAIN + ["--preset", "fast", "--runs-dir", "{tmp}/a_file"], "--runs-dir"),
    (TRAIN + ["--preset", "fast", "--runs-dir", "{tmp}/a_file/sub"], "a_file is a file"),
    (TRAIN + ["--runs-dir", "/proc/deeprelax-no"], "not writable"),
    (TRAIN + ["--device", "tpu"], "device must be 'cpu', 'cuda' or 'cuda:N'"),
    (TRAIN + ["--set", "device=cpu"], "use --device"),
    (TRAIN + ["--set", "algorithm=hj"], "use --algorithm"),
    (TRAIN + ["--set", "device"], "NAME=VALUE"),
    (TRAIN + ["--max-minutes", "0"], "--max-minutes must be > 0"),
    (TRAIN + ["--seeds", "0", "--set", "seeds=[1]"], "give the seeds once"),
    (["--threads", "0"] + TRAIN, "--threads must be >= 1"),
    (["sweep", "--nets", "lenet", "resnet", "--preset", "fast"], "no experiment"),
    (["sweep", "--nets", "lenet", "--algorithms", "sgd", "adam"], "no experiment"),
    (TRAIN + ["--set", "effective_epochs=1", "--results-dir", "{tmp}/results/train"],
     "holds paper runs only"),
    (["cifar", "subset", "--device", "tpu"], "device must be"),
    (["cifar", "subset", "--set", "algorithm=sgd"], "use --algorithm"),
    (["cifar", "subset", "--max-minutes", "-1"], "--max-minutes must be > 0"),
    (["cifar", "subset", "--set", "no_such_knob=1"], "no_such_knob"),
    (["cifar", "row", "--results-dir", "{tmp}/a_file"], "--results-dir"),
    (["cifar", "row", "--data-dir", "{tmp}/a_file"], "CIFAR-10 could not be loaded"),
    (["table1", "--csv", "{tmp}/a_file/t.csv"], "a_file is not a folder"),
    (["table1", "--results-dir", "{tmp}/a_file"], "is a file, not a folder"),
    (["table1", "--include-custom"], "give --csv PATH"),
    (["campaign", "--whole-units"], "--whole-units needs --max-minutes"),
]


@pytest.mark.parametrize("argv, said", BAD, ids=[" ".join(a[4:] if a[0] == "train" else a)
                                                 for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_before_any_work(sandbox, capsys, argv, said):
    argv = [a.replace("{tmp}", str(sandbox.root)) for a in argv]
    before = _files(sandbox.root)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and said in err, err
    assert "Traceback" not in err, err
    # one line; the data module's message adds a second: how to provide CIFAR-10
    assert len(err.splitlines()) == (2 if "CIFAR-10 could not" in said else 1), err
    assert sandbox.loads == [], "data were loaded (work started) before the check"
    assert _files(sandbox.root) == before, "something was written"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("cmd", [TRAIN, ["sweep", "--nets", "lenet"], ["cifar", "subset"]])
def test_a_missing_gpu_is_one_line_exit_2(sandbox, capsys, cmd):
    assert main(cmd + ["--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no CUDA GPU is visible" in err
    assert sandbox.loads == []


# ---- 2. a run with other settings is a custom run, never a Table 1 cell ---------------------
CUSTOM = TRAIN + ["--set", "effective_epochs=1", "--seeds", "0"]


def test_a_custom_run_never_lands_in_results(sandbox, capsys):
    assert main(CUSTOM) == 0
    out = capsys.readouterr()
    assert not (sandbox.root / "results" / "train" / "lenet-sgd.json").exists()
    rec = results.read_json(sandbox.root / "runs/custom/effective_epochs=1,seeds=0/lenet-sgd.json")
    assert rec["kind"] == "custom" and rec["seeds"] == [0] and rec["complete"]
    assert "not the paper settings" in out.err and "never a Table 1 cell" in out.out
    assert not list((sandbox.root / "runs").glob("lenet-sgd-paper.pt"))


def test_table1_refuses_a_custom_run_found_in_results(sandbox, capsys):
    elsewhere = sandbox.root / "elsewhere"
    assert main(CUSTOM + ["--results-dir", str(elsewhere)]) == 0
    train = sandbox.root / "results" / "train"
    train.mkdir(parents=True)
    shutil.copy(elsewhere / "lenet-sgd.json", train)       # copied there by hand
    capsys.readouterr()
    assert main(["table1"]) == 1                      # no Table 1 cell at all
    out = capsys.readouterr().out
    assert "not a Table 1 cell" in out and "not the paper settings" in out
    assert "effective_epochs 1 (paper: 100)" in out and "seeds [0] (paper: [0,1,2,3,4,5])" \
        in out
    assert "σ" not in out and not (sandbox.root / "results" / "table1.csv").exists()
    # asked for explicitly, it is summarised, marked, into a table of its own
    assert main(["table1", "--include-custom", "--csv", str(sandbox.root / "mine.csv")]) == 0
    text = (sandbox.root / "mine.csv").read_text()
    assert "NOT A TABLE 1 CELL: not the paper settings" in text


def test_a_custom_checkpoint_does_not_block_the_paper_run(sandbox, capsys):
    assert main(CUSTOM + ["--max-minutes", "1e-6"]) == 0        # one epoch: done
    # the paper run starts (and stops at once, resumably): not refused by that checkpoint
    assert main(TRAIN + ["--max-minutes", "1e-6"]) == 3
    out = capsys.readouterr()
    assert "INCOMPLETE" in out.out and "error" not in out.err
    names = sorted(p.name for p in (sandbox.root / "runs").glob("*.pt"))
    assert len(names) == 2 and names[0].startswith("lenet-sgd-custom-") and \
        names[1] == "lenet-sgd-paper.pt"
    rec = results.read_json(sandbox.root / "results" / "train" / "lenet-sgd.json")
    assert rec["kind"] == "paper" and rec["seeds"] == [0, 1, 2, 3, 4, 5]


def test_run_control_keeps_a_paper_run_and_anything_else_makes_it_custom():
    kind = lambda **kw: experiments.plan("lenet", "sgd", **kw).kind  # noqa: E731
    assert kind() == "paper"
    assert kind(eval_batch=500, checkpoint_every=1, checkpoint_seconds=5.0) == "paper"
    assert kind(seeds=(0, 1, 2, 3, 4, 5)) == "paper"          # the paper's own values
    for change in (dict(effective_epochs=1), dict(seeds=(0,)), dict(bf16=True),
                   dict(lr_schedule=((0, 0.05),)), dict(diverge_factor=10.0)):
        assert kind(**change) == "custom", change
    assert kind(preset="fast") == "fast"
    p = experiments.plan("lenet", "sgd", effective_epochs=1, seeds=(0,))
    P, out, ckpt = p.params, p.out, p.checkpoint
    assert out.parent == paths.CUSTOM_DIR / "effective_epochs=1,seeds=0"
    assert ckpt.name == f"lenet-sgd-custom-{P.fingerprint_sha256()[:10]}.pt"


# ---- 4. divergence is an exit status --------------------------------------------------------
def test_a_run_whose_seeds_all_diverge_exits_4_and_says_so(sandbox, capsys):
    argv = TRAIN + ["--preset", "fast", "--set", "lr_schedule=[[0,1e30]]"]
    assert main(argv) == 4
    out = capsys.readouterr().out
    assert "DIVERGED in every seed" in out and "seed 1 diverged at effective epoch" in out
    assert "nan" not in out and "run the same command again" not in out
    rec = results.read_json(sandbox.root / "runs" / "smoke" / "lenet-sgd.json")
    assert rec["status"] == "diverged" and rec["complete"] is False
    assert main(argv) == 4                           # finished: not trained again
    assert results.read_json(sandbox.root / "runs" / "smoke" / "lenet-sgd.json")["provenance"] \
        == rec["provenance"]


# ---- 1. a corrupt checkpoint is named, exit 2 ----------------------------------------------
def test_a_corrupt_checkpoint_is_refused_naming_the_file(sandbox, capsys):
    argv = TRAIN + ["--preset", "fast"]
    assert main(argv + ["--max-minutes", "1e-6"]) == 3          # 1 of 2 epochs
    ckpt = sandbox.root / "runs" / "lenet-sgd-fast.pt"
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    ckpt.write_bytes(bytes(blob))
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: checkpoint {ckpt} fails its checksum") and "Delete it" in err
    ckpt.unlink()                                        # what the message says to do
    assert main(argv) == 0


def test_a_corrupt_result_json_is_refused_naming_the_file(sandbox, capsys):
    assert main(TRAIN + ["--preset", "fast"]) == 0
    path = sandbox.root / "runs" / "smoke" / "lenet-sgd.json"
    rec = json.loads(path.read_text())
    rec["val_error"][0][-1] = 0.0                        # a better number, by hand
    path.write_text(json.dumps(rec))
    capsys.readouterr()
    assert main(TRAIN + ["--preset", "fast"]) == 2
    assert f"error: {path} fails its checksum" in capsys.readouterr().err
