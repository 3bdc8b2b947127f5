"""Elastic-SGD / Parle on torch.distributed (deeprelax.distributed): gloo processes under
torchrun against the single-process simulation of the same replicas, world size 1 against
plain Nesterov SGD, kill and resume, failures and bad input. Every launch is bounded in
time; rendezvous and process groups use 127.0.0.1 only."""
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT
from deeprelax import distributed as D
from deeprelax import models
from deeprelax.engine import read_checkpoint, swap_dropout
from deeprelax.params import ParamError
from deeprelax.results import read_json

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
LAUNCH_S = 120                 # a hard bound on every launch (they take seconds)
TOL = 1e-12                    # float64: distributed vs simulation (all_reduce order only)
SMALL = dict(n_train=768, n_test=200, effective_epochs=2, dtype="float64", eval_batch=384,
             bn_batches=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(nproc: int, out, sets: dict, *extra, env=None, rdzv=None):
    """``torchrun -m deeprelax.distributed`` with a c10d rendezvous on 127.0.0.1."""
    port = _free_port()
    rdzv = rdzv or ["--nnodes", "1", "--rdzv-backend", "c10d",
                    "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", f"t{port}"]
    args = [*TORCHRUN, *rdzv, "--nproc-per-node", str(nproc), "-m", "deeprelax.distributed",
            "--preset", "fast", "--out", str(out), "--timeout", "20",
            "--set", *[f"{k}={v}" for k, v in sets.items()], *extra]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=LAUNCH_S,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def _final_params(folder, n):
    """Each replica's parameters from the last checkpoint in ``folder``."""
    out = []
    for i in range(n):
        path = max(folder.glob(f"replica-{i}-of-{n}.round*.pt"),
                   key=lambda p: int(p.name.split("round")[1][:-3]))
        model = read_checkpoint(path)["replica"]["model"]
        out.append(torch.cat([v.reshape(-1) for k, v in model.items()
                              if not any(b in k for b in ("running", "num_batches",
                                                          "seed_key"))]))
    return torch.stack(out)


def _same_records(a, b, tol):
    for key in ("grads", "rounds", "val_error", "bytes"):
        assert a[key] == b[key], key
    for key in ("train_loss", "spread"):
        np.testing.assert_allclose(a[key], b[key], rtol=tol, atol=0, err_msg=key)


def test_three_gloo_processes_equal_the_single_process_simulation(tmp_path):
    sets = dict(SMALL)
    res = _torchrun(3, tmp_path / "d.json", sets)
    assert res.returncode == 0, res.stderr[-2000:]
    dist = read_json(tmp_path / "d.json")
    P = D.params_for("fast", **sets)
    sim = D.simulate(P, 3, checkpoint=tmp_path / "sim")
    assert dist["status"] == "complete" and dist["world_size"] == 3
    assert dist["launch"]["backend"] == "gloo" and dist["provenance"]["world_size"] == 3
    assert dist["communication_period"] == 1
    _same_records(dist["records"], sim["records"], TOL)
    yd, ys = _final_params(tmp_path / "d.ckpt", 3), _final_params(tmp_path / "sim", 3)
    assert float((yd - ys).abs().max() / ys.abs().max()) <= TOL
    assert dist["records"]["spread"][-1] > 0          # the replicas really differ
    # Remark 22: an effective epoch counts every replica's gradients
    spe = dist["steps_per_effective_epoch"]
    assert spe == 6 and dist["records"]["grads"] == [6, 12]


def test_world_size_one_is_plain_nesterov_sgd():
    """A group of one (no torchrun): the elastic move is exactly zero, so the run is
    torch.optim.SGD(nesterov=True) on the same minibatches and dropout masks."""
    P = D.params_for("fast", n_train=512, n_test=200, effective_epochs=2, eval_batch=512)
    data = D.load_data(P)
    ref = D.Replica(P, data, 0, torch.device("cpu"))          # for its minibatch stream
    torch.manual_seed(P.seed)
    net = models.build(P.net)
    stream = D._Stream("keyed", torch.zeros((), dtype=torch.int64))   # as a replica has
    swap_dropout(net, P.seed, stream)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = data.train_x.float(), data.train_y
    for g in range(2 * ref.spe):
        idx = ref.batch_indices(g)
        stream.counter.fill_(g)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()
    res = {}
    run = D.ElasticRun

    class Keep(run):
        def result(self, *a, **k):
            res["params"] = self.replicas[0].flat()
            return super().result(*a, **k)
    D.ElasticRun = Keep
    try:
        out = D.run_distributed(P, data=data)
    finally:
        D.ElasticRun = run
    assert out["world_size"] == 1 and out["records"]["spread"] == [0.0, 0.0]
    mine = res["params"]
    theirs = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    assert torch.equal(mine, theirs)                          # bitwise


def test_parle_with_one_replica_is_entropy_sgd():
    """With one replica the elastic term vanishes whatever its coupling: Parle is the
    Entropy-SGD of deeprelax.optim; a round costs L gradients (Remark 22)."""
    kw = dict(n_train=1280, n_test=200, effective_epochs=2, eval_batch=640)
    a = D.simulate(D.params_for("fast", "parle", **kw), 1)
    b = D.simulate(D.params_for("fast", "parle", gamma=1e9, **kw), 1)
    assert a["records"]["train_loss"] == b["records"]["train_loss"]
    assert a["records"]["grads"] == [10, 20] and a["records"]["rounds"] == [2, 4]


def test_kill_a_replica_then_resume_equals_an_uninterrupted_run(tmp_path):
    """Rank 1 is SIGKILLed in round 7 (after the checkpoint of round 6): rank 0 stops with
    one message within the timeout, the JSON keeps two effective epochs; the same
    command resumes and ends with the numbers of the uninterrupted run (centre reference,
    communication every 2 rounds)."""
    sets = dict(SMALL, effective_epochs=3, reference="centre", tau=2)
    out = tmp_path / "k.json"
    t0 = time.monotonic()
    res = _torchrun(2, out, sets, env={D.FAULT_ENV: "1:7"})
    wall = time.monotonic() - t0
    assert res.returncode != 0
    lost = [ln for ln in res.stderr.splitlines() if ln.startswith("deeprelax elastic:")]
    assert len(lost) == 1 and "replica lost: rank 0 of 2" in lost[0], res.stderr[-3000:]
    part = read_json(out)
    assert part["status"] == "incomplete" and "replica lost" in part["error"]
    waited = part["error_time_unix"] - float((tmp_path / "k.json.fault").read_text())
    assert 0 <= waited < 20 and wall < LAUNCH_S
    assert part["records"]["effective_epoch"] == [1.0, 2.0]
    res = _torchrun(2, out, sets)
    assert res.returncode == 0, res.stderr[-2000:]
    done = read_json(out)
    sim = D.simulate(D.params_for("fast", **sets), 2, checkpoint=tmp_path / "sim")
    assert done["status"] == "complete"
    _same_records(done["records"], sim["records"], TOL)
    yd, ys = _final_params(tmp_path / "k.ckpt", 2), _final_params(tmp_path / "sim", 2)
    assert float((yd - ys).abs().max() / ys.abs().max()) <= TOL


def test_a_stopped_run_resumes_to_identical_numbers(tmp_path):
    P = D.params_for("fast", n_train=512, n_test=200, effective_epochs=3, eval_batch=512)
    full = D.simulate(P, 2)
    part = D.simulate(P, 2, checkpoint=tmp_path, stop_after=1)
    assert part["status"] == "incomplete"
    again = D.simulate(P, 2, checkpoint=tmp_path)
    for key, value in full["records"].items():
        if key != "train_s":                              # wall time, not a number of the run
            assert again["records"][key] == value, key
    assert len(list(tmp_path.glob("replica-*.pt"))) == 2     # only the latest round kept


def test_a_rendezvous_that_never_forms_ends_within_its_join_timeout(tmp_path):
    port = _free_port()
    t0 = time.monotonic()
    res = _torchrun(1, tmp_path / "r.json", dict(SMALL), rdzv=[
        "--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
        "--rdzv-id", "never", "--rdzv-conf", "join_timeout=3"])
    assert res.returncode != 0 and time.monotonic() - t0 < 60
    assert "RendezvousTimeoutError" in res.stderr
    assert not (tmp_path / "r.json").exists()


def test_bad_input_is_one_clear_error_before_any_group(monkeypatch):
    with pytest.raises(ParamError, match="backend must be one of"):
        D.params_for("fast", backend="mpi")
    if not torch.cuda.is_available():
        with pytest.raises(ParamError, match="nccl' needs CUDA GPUs"):
            D.resolve_backend(D.params_for("fast", backend="nccl"))
    with pytest.raises(ParamError, match="larger than the data allows"):
        D.check_world(D.params_for("fast"), 21, 2560)
    D.check_world(D.params_for("fast"), 20, 2560)
    monkeypatch.setenv("WORLD_SIZE", "64")
    with pytest.raises(ParamError, match="use at most 20 processes"):
        D.run_distributed(D.params_for("fast"))
    assert not torch.distributed.is_initialized()
    with pytest.raises(ParamError, match="tau·lr/gamma"):
        D.params_for("fast", reference="centre", gamma=0.05)


def test_the_command_line_reports_bad_input_in_one_line(capsys):
    assert D.main(["--set", "backend=mpi"]) == D.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deeprelax elastic: ")


def test_the_chapters_bookkeeping_claims_on_a_small_run():
    """Chapter 14 on a tiny budget without launches: the claims that do not depend on
    the budget hold (the learning claims need the chapter's preset)."""
    from deeprelax.chapters import ch14_distributed as ch14
    from deeprelax.claims import by_name, check
    p = ch14.Params.from_preset("fast", n_train=1280, n_test=200, effective_epochs=2,
                               replicas=(1, 2), launch_replicas=(), kill_round=0)
    r = ch14.compute(p)
    claims = by_name(ch14.claims(r))
    check([claims[k] for k in ("one_replica_no_spread", "equal_gradients",
                               "rel_spread_max_2")])
    assert r.spe == 10 and ch14.bytes_per_round(r)["payload"] == 131_220 * 4
    assert "launch_exact" not in claims and ch14.agreement(r) == {}
