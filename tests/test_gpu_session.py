"""The GPU window's one command, rehearsed on the CPU: ``REHEARSAL=1 bash
scripts/gpu_session.sh all`` runs the same stages (self-check, the MNIST sweep LeNet first,
the benchmark) and the same packing into its output folder, at smoke sizes; and the
final LeNet weights that the sweep leaves for the width-of-minima chapter."""
import os
import re
import signal
import subprocess
import sys
import tarfile
import time

import pytest
import torch

from conftest import ROOT
from deeprelax import paths
from deeprelax import params
from deeprelax.train import engine, experiments, hessian, models, records
from deeprelax.results import read_json

from test_engine import tiny_data

SCRIPT = ROOT / "scripts" / "gpu_session.sh"
NAME = re.compile(r"^[A-Za-z0-9._-]+$")
MiB = 1 << 20
ALGS = ("entropy-sgd", "heat", "hj", "sgd")


def _env(out, **extra):
    env = dict(os.environ, REHEARSAL="1", OUT=str(out), WORK=str(out.parent / "work"),
               PYTHON=sys.executable, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


def _snapshot(*folders):
    """Every file under ``folders`` with its mtime and every folder (without its mtime: a
    test beside this one may check that a default output folder is writable, and the probe
    file it writes and removes touches the folder's mtime), except runs/units: the CPU
    campaign may be training there beside the tests (the rehearsal never writes units)."""
    units = ROOT / "runs" / "units"
    return {str(p): p.stat().st_mtime_ns if p.is_file() else "folder"
            for f in folders if f.exists()
            for p in f.rglob("*") if p != units and units not in p.parents}


def _returned(out):
    """The files of ``out`` that would come back, checked against the output folder's
    limits: at most 8 files, 16 MiB each and 64 MiB together, at most two folders down,
    plain names."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8, files
    for p in files:
        rel = p.relative_to(out)
        assert len(rel.parts) <= 3, rel
        assert all(NAME.match(part) for part in rel.parts), rel
        assert p.stat().st_size <= 16 * MiB, (rel, p.stat().st_size)
    assert sum(p.stat().st_size for p in files) <= 64 * MiB
    return {str(p.relative_to(out)): p for p in files}


def _unpack(tgz, dest):
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest / "results"


def _in_order(log, lines):
    at = -1
    for line in lines:
        k = log.find(line, at + 1)
        assert k > at, f"{line!r} missing or out of order in the log:\n{log}"
        at = k


def _check_cell(path, net, alg):
    rec = read_json(path)                          # checksum verified
    assert (rec["net"], rec["algorithm"]) == (net, alg)
    assert rec["status"] == "complete" and rec["preset"] == "fast"
    assert rec["seeds"] == [0, 1] and rec["params"]["device"] == "cpu"
    assert experiments.admission(rec) is not None       # a rehearsal is never a Table 1 cell


def test_rehearsal_of_the_whole_window(tmp_path):
    before = _snapshot(ROOT / "results", ROOT / "runs")
    out = tmp_path / "out"
    # the deadline is generous (30 min; about 1 min on 2 idle cores): the rehearsal checks
    # the stages and the packing, not the speed of a machine that may be loaded
    run = subprocess.run(["bash", str(SCRIPT), "all"], cwd=ROOT, env=_env(out, MINUTES="30"),
                         capture_output=True, text=True, timeout=1900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    files = _returned(out)
    assert set(files) == {"session.log", "results.tgz"}    # every cell finished: no checkpoint
    log = files["session.log"].read_text()
    _in_order(log, ["stage 1 self-check", "self-check passed", "graphs off",
                    "stage 2 sweep lenet", "sweep lenet: complete", "stage 2 sweep mnistfc",
                    "sweep mnistfc: complete", "stage 3 bench mnistfc", "stage 3 bench lenet",
                    "packed: ./results.tgz", "done (exit 0)"])
    assert "SKIPPED" not in log and "FAILED" not in log
    res = _unpack(files["results.tgz"], tmp_path / "back")
    for net in ("lenet", "mnistfc"):
        for alg in ALGS:
            _check_cell(res / "train" / f"{net}-{alg}.json", net, alg)
    # the LeNet cells' final weights of seed 0, loadable by the width-of-minima chapter
    weights = sorted(p.name for p in (res / "train" / "weights").iterdir())
    assert weights == [f"lenet-{a}-seed0.pt" for a in sorted(ALGS)]
    for name in weights:
        model = hessian.load_weights(models.lenet(), res / "train" / "weights" / name)
        assert all(torch.isfinite(p).all() for p in model.parameters())
    bench = read_json(res / "benchmark-cpu.json")
    assert sorted(r["net"] for r in bench) == ["lenet", "mnistfc"]
    assert all(r["engine_s_per_epoch"] > 0 and r["eager_s_per_epoch"] > 0 for r in bench)
    assert _snapshot(ROOT / "results", ROOT / "runs") == before, "wrote into the repository"
    assert not list((tmp_path / "work").iterdir()), "the work folder was left behind"


def test_a_killed_window_still_returns_every_finished_cell(tmp_path):
    """The self-check times out (1 s): the sweep runs without graphs and the log says so;
    killed (SIGKILL, no clean-up) once LeNet is done, the command still returns LeNet's
    four cells and weights, within the output folder's limits."""
    out = tmp_path / "out"
    proc = subprocess.Popen(["bash", str(SCRIPT), "all"], cwd=ROOT,
                            env=_env(out, MINUTES="30", SELFCHECK_S="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    log_file = out / "session.log"
    try:
        deadline = time.monotonic() + 1800          # generous: the machine may be loaded
        while "stage 2 sweep mnistfc" not in (log_file.read_text() if log_file.exists() else ""):
            assert proc.poll() is None, "the rehearsal ended before LeNet was done"
            assert time.monotonic() < deadline, "LeNet took too long"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    time.sleep(0.5)
    files = _returned(out)
    log = files["session.log"].read_text()
    _in_order(log, ["self-check FAILED (timed out after 1 s)", "WITHOUT CUDA graphs",
                    "stage 2 sweep lenet", "sweep lenet: complete"])
    res = _unpack(files["results.tgz"], tmp_path / "back")
    for alg in ALGS:
        _check_cell(res / "train" / f"lenet-{alg}.json", "lenet", alg)
        assert (res / "train" / "weights" / f"lenet-{alg}-seed0.pt").is_file()


def test_a_stage_all_refuses_company(tmp_path):
    run = subprocess.run(["bash", str(SCRIPT), "all", "table"], cwd=ROOT,
                         env=_env(tmp_path / "o"), capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "a stage of its own" in run.stdout


# ---- the weights a finished cell leaves ----------------------------------------------------
@pytest.fixture
def tiny_paper(monkeypatch):
    """LeNet SGD's 'paper' settings shrunk to 2 effective epochs on 256 images."""
    monkeypatch.setattr(experiments, "mnist_tensors", lambda **kw: tiny_data(256, 128))
    monkeypatch.setattr(experiments, "_DATA_CACHE", {})
    for net in ("lenet", "mnistfc"):
        monkeypatch.setitem(experiments.EXPERIMENTS, (net, "sgd"),
                            dict(experiments.EXPERIMENTS[(net, "sgd")], seeds=(0, 1),
                                 effective_epochs=2))


def test_weights_folders():
    assert experiments.weights_folder(paths.TRAIN_DIR, "paper") == paths.WEIGHTS_DIR
    assert experiments.weights_folder(paths.TRAIN_DIR, "custom") is None
    assert experiments.weights_folder(None, "paper") is None
    assert experiments.weights_folder(paths.SMOKE_DIR, "fast") == paths.SMOKE_DIR / "weights"


def test_a_table1_cell_leaves_seed_0s_final_weights(tiny_paper, tmp_path):
    res = experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "train",
                     runs_dir=tmp_path / "runs", show_progress=False)
    assert experiments.admission(res) is None
    path = tmp_path / "train" / "weights" / "lenet-sgd-seed0.pt"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    p = experiments.plan("lenet", "sgd", "paper", runs_dir=tmp_path / "runs")
    P, ckpt = p.params, p.checkpoint
    state = engine.read_checkpoint(ckpt, P.fingerprint())
    model = hessian.load_weights(models.lenet(), path)
    for name, value in model.state_dict().items():
        stacked = state["params"].get(name, state["buffers"].get(name))
        assert torch.equal(value, stacked[0]), name
    assert path.stat().st_size < MiB
    # a second call (the cell is finished) keeps the file
    mtime = path.stat().st_mtime_ns
    experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "train",
               runs_dir=tmp_path / "runs", show_progress=False)
    assert path.stat().st_mtime_ns == mtime
    # mnistfc: no weights; weights_dir=None: none
    experiments.run("mnistfc", "sgd", "paper", results_dir=tmp_path / "fc", runs_dir=tmp_path / "r2",
               show_progress=False)
    assert not (tmp_path / "fc" / "weights").exists()
    experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "no", runs_dir=tmp_path / "r3",
               show_progress=False, weights_dir=None)
    assert not (tmp_path / "no" / "weights").exists()


def test_no_weights_from_unfinished_or_custom_runs(tiny_paper, tmp_path):
    res = experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "train",
                     runs_dir=tmp_path / "runs", show_progress=False, max_seconds=0)
    assert records.status_of(res) == "incomplete"
    assert not (tmp_path / "train" / "weights").exists()
    res = experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "custom",
                     runs_dir=tmp_path / "runs", show_progress=False, effective_epochs=1)
    assert records.status_of(res) == "complete" and experiments.admission(res) is not None
    assert not (tmp_path / "custom" / "weights").exists()


def test_export_weights_checks_the_seed(tiny_paper, tmp_path):
    experiments.run("lenet", "sgd", "paper", results_dir=tmp_path / "train",
               runs_dir=tmp_path / "runs", show_progress=False)
    p = experiments.plan("lenet", "sgd", "paper", runs_dir=tmp_path / "runs")
    P, ckpt = p.params, p.checkpoint
    with pytest.raises(params.ParamError, match="seed 7 is not among"):
        experiments.export_weights("lenet", "sgd", ckpt, P, tmp_path / "w", seeds=(7,))
    (written,) = experiments.export_weights("lenet", "sgd", ckpt, P, tmp_path / "w", seeds=(1,))
    assert written.name == "lenet-sgd-seed1.pt"
    assert hessian.read_weights(written).keys() == models.lenet().state_dict().keys()


# ---- the launch counter of benchmarks/count_ops.py -----------------------------------------
def test_launches_count_kernels_not_views_or_wrappers():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import count_ops
    from torch.profiler import ProfilerActivity, profile
    xs = [torch.randn(3, 4) for _ in range(5)]
    lin = torch.nn.Linear(4, 2)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        torch._foreach_add_(xs, 1.0)                       # one multi-tensor launch
        y = xs[0].view(-1).reshape(4, 3).t() + 1          # views, then one add
        z = lin(xs[1]).relu()                              # addmm, relu
        w = torch.zeros(3)                                 # one fill
    found = count_ops.launches(prof.events())
    assert found == {"aten::_foreach_add_": 1, "aten::add": 1, "aten::addmm": 1,
                     "aten::relu": 1, "aten::zero_": 1}, found
    assert y.shape == (3, 4) and z.shape == (3, 2) and w.sum() == 0
