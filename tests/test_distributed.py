"""Elastic-SGD / Parle on torch.distributed (deeprelax.train.distributed): gloo processes under
torchrun against the single-process simulation of the same replicas, world size 1 against
plain Nesterov SGD, kill and resume, failures and bad input, the launcher's exit status.
Every launch has a hang guard (LAUNCH_S), never a timing assertion; rendezvous and process
groups use 127.0.0.1 only.

Bounds. A run whose sums are taken in rank order (``reduction="rank-order"``), and any
run of 2 processes (a + b = b + a), does the simulation's arithmetic operation for
operation: the records and parameters are asserted equal, bit for bit, in float32 and
float64. An all_reduce of n > 2 adds in the backend's order: each sum is asserted within
Higham's bound γ_{n−1} Σ|y_i| (γ_k = ku/(1 − ku)) of the rank-order one, twice that for
two orders."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT
from deeprelax.__main__ import main as cli_main
from deeprelax.train import distributed as D
from deeprelax.train import models
from deeprelax.train.engine import read_checkpoint, swap_dropout
from deeprelax.params import ParamError
from deeprelax.results import read_json

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
LAUNCH_S = 600                 # hang guard of every launch (they take seconds), not a bound
SMALL = dict(n_train=768, n_test=200, effective_epochs=2, dtype="float64", eval_batch=384,
             bn_batches=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(nproc: int, out, sets: dict, *extra, env=None, rdzv=None):
    """``torchrun -m deeprelax elastic`` with a c10d rendezvous on 127.0.0.1."""
    port = _free_port()
    rdzv = rdzv or ["--nnodes", "1", "--rdzv-backend", "c10d",
                    "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", f"t{port}"]
    args = [*TORCHRUN, *rdzv, "--nproc-per-node", str(nproc), "-m", "deeprelax", "elastic",
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


def _same_records(a, b):
    """The records of two runs of the same arithmetic: equal, bit for bit."""
    for key in ("grads", "rounds", "val_error", "bytes", "train_loss", "spread",
                "dispersion", "xbar_norm", "lr", "gamma"):
        assert a[key] == b[key], key


def test_three_gloo_processes_equal_the_single_process_simulation(tmp_path):
    """Sums in rank order: three processes do the simulation's arithmetic (float32, the
    production precision), so every record and parameter is equal, bit for bit."""
    sets = dict(SMALL, dtype="float32", reduction="rank-order")
    res = _torchrun(3, tmp_path / "d.json", {k: json.dumps(v) for k, v in sets.items()})
    assert res.returncode == 0, res.stderr[-2000:]
    dist = read_json(tmp_path / "d.json")
    P = D.params_for("fast", **sets)
    sim = D.simulate(P, 3, checkpoint=tmp_path / "sim")
    assert dist["status"] == "complete" and dist["world_size"] == 3
    assert dist["launch"]["backend"] == "gloo" and dist["provenance"]["world_size"] == 3
    assert dist["communication_period"] == 1 and dist["params"]["reduction"] == "rank-order"
    _same_records(dist["records"], sim["records"])
    yd, ys = _final_params(tmp_path / "d.ckpt", 3), _final_params(tmp_path / "sim", 3)
    assert torch.equal(yd, ys)
    assert dist["records"]["spread"][-1] > 0          # the replicas really differ
    # Remark 22: an effective epoch counts every replica's gradients
    spe = dist["steps_per_effective_epoch"]
    assert spe == 6 and dist["records"]["grads"] == [6, 12]


ALLREDUCE_SCRIPT = """
import json, os, sys, torch
import torch.distributed as dist
from deeprelax.train.distributed import _Group
dist.init_process_group("gloo")
n, rank = dist.get_world_size(), dist.get_rank()
out = {}
for dtype in (torch.float32, torch.float64):
    g = torch.Generator().manual_seed(1000 + rank)
    y = torch.randn(100_000, generator=g, dtype=dtype) * 10.0 ** torch.randint(
        -3, 4, (100_000,), generator=torch.Generator().manual_seed(7)).to(dtype)
    parts = [torch.empty_like(y) for _ in range(n)]
    dist.all_gather(parts, y)
    ring = _Group(n, rank, 60.0, "all_reduce").sum([y])
    ordered = _Group(n, rank, 60.0, "rank-order").sum([y])
    ref = parts[0].clone()
    for q in parts[1:]:
        ref = ref + q
    absum = sum(q.abs() for q in parts)
    u = torch.finfo(dtype).eps / 2
    gam = (n - 1) * u / (1 - (n - 1) * u)
    out[str(dtype)] = dict(ordered_equal=bool(torch.equal(ordered, ref)),
                           ratio=float(((ring - ordered).abs() / (2 * gam * absum)).max()),
                           differ=int((ring != ordered).sum()))
if rank == 0:
    open(sys.argv[1], "w").write(json.dumps(out))
dist.destroy_process_group()
"""


def test_all_reduce_differs_from_the_rank_order_sum_within_the_summation_bound(tmp_path):
    """gloo's all_reduce of 4 vectors (entries over 7 decades) against the rank-order sum:
    each is within γ₃ Σ|y_i| of the exact sum (Higham eq. (4.4), any order), so they
    differ by at most 2γ₃ Σ|y_i|, in float32 and float64; the rank-order reduction is the
    rank-order sum exactly."""
    script = tmp_path / "ar.py"
    script.write_text(ALLREDUCE_SCRIPT)
    port = _free_port()
    res = subprocess.run([*TORCHRUN, "--nnodes", "1", "--nproc-per-node", "4",
                          "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
                          "--rdzv-id", f"a{port}", str(script), str(tmp_path / "o.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=LAUNCH_S,
                         env={**os.environ, "OMP_NUM_THREADS": "1",
                              "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads((tmp_path / "o.json").read_text())
    for dtype, o in out.items():
        assert o["ordered_equal"], dtype
        assert o["ratio"] <= 1.0, (dtype, o)


def test_launch_outcome_maps_the_ranks_statuses():
    """The launcher's exit status: bad input first, then a lost replica, then a stop."""
    assert D.outcome({0: 0, 1: 0}, 0) == 0
    assert D.outcome({0: 5}, 1) == D.EXIT_REPLICA_LOST          # rank 1 killed: no record
    assert D.outcome({0: 3, 1: 3}, 1) == D.EXIT_INCOMPLETE
    assert D.outcome({0: 2, 1: 5}, 1) == D.EXIT_BAD_INPUT
    assert D.outcome({}, 1) == D.EXIT_LAUNCH_FAILED             # e.g. no rendezvous
    assert D.outcome({0: 0}, 1) == D.EXIT_LAUNCH_FAILED         # a rank crashed unrecorded


def test_world_size_one_is_plain_nesterov_sgd():
    """A group of one (no torchrun) coupled to its own mean (eq. (21) as printed): the
    elastic move is exactly zero, so the run is torch.optim.SGD(nesterov=True) on the
    same minibatches and dropout masks."""
    P = D.params_for("fast", n_train=512, n_test=200, effective_epochs=2, eval_batch=512,
                     reference="mean")
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
    Entropy-SGD of deeprelax.train.optim; a round costs L gradients (Remark 22)."""
    kw = dict(n_train=1280, n_test=200, effective_epochs=2, eval_batch=640)
    a = D.simulate(D.params_for("fast", "parle", **kw), 1)
    b = D.simulate(D.params_for("fast", "parle", gamma=1e9, **kw), 1)
    assert a["records"]["train_loss"] == b["records"]["train_loss"]
    assert a["records"]["grads"] == [10, 20] and a["records"]["rounds"] == [2, 4]


def _launch(out, sets: dict, *extra, nproc=2, env=None):
    """``python -m deeprelax elastic --nproc-per-node`` (the launcher: starts torchrun)."""
    args = [sys.executable, "-m", "deeprelax", "elastic", "--nproc-per-node", str(nproc),
            "--preset", "fast", "--out", str(out), "--timeout", "120",
            "--set", *[f"{k}={json.dumps(v)}" for k, v in sets.items()], *extra]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=LAUNCH_S,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def test_kill_a_replica_then_resume_equals_an_uninterrupted_run(tmp_path):
    """Rank 1 is SIGKILLed in round 7 (after the checkpoint of round 6): rank 0 stops with
    one message, caused by the dead peer (not by the timeout), the launcher exits 5 and the
    JSON keeps two effective epochs and the error; the same command resumes, exits 0 and
    ends with the numbers of the uninterrupted run, bit for bit (two processes: every sum
    is a + b; centre reference, communication every 2 rounds)."""
    sets = dict(SMALL, effective_epochs=3, reference="centre", tau=2)
    out = tmp_path / "k.json"
    res = _launch(out, sets, env={D.FAULT_ENV: "1:7"})
    assert res.returncode == D.EXIT_REPLICA_LOST, res.stderr[-3000:]
    lost = [ln for ln in res.stderr.splitlines() if ln.startswith("deeprelax elastic:")]
    assert len(lost) == 1 and "replica lost: rank 0 of 2" in lost[0], res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    part = read_json(out)
    assert part["status"] == "incomplete" and "replica lost" in part["error"]
    assert "timed out" not in part["error"].lower()
    assert part["records"]["effective_epoch"] == [1.0, 2.0]
    res = _launch(out, sets)
    assert res.returncode == 0, res.stderr[-2000:]
    done = read_json(out)
    sim = D.simulate(D.params_for("fast", **sets), 2, checkpoint=tmp_path / "sim")
    assert done["status"] == "complete"
    _same_records(done["records"], sim["records"])
    yd, ys = _final_params(tmp_path / "k.ckpt", 2), _final_params(tmp_path / "sim", 2)
    assert torch.equal(yd, ys)


def test_the_error_is_recorded_whatever_the_order_of_the_launchers_sigterms(tmp_path,
                                                                            monkeypatch):
    """The launcher's SIGTERM stops a rank (as after a replica died) and a second SIGTERM
    arrives while rank 0 writes the record with the error: the record still says why the
    run stopped (no timing involved: the signals are sent at those two points)."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM is handled by the test runner")
    P = D.params_for("fast", n_train=256, n_test=100, effective_epochs=2, eval_batch=256,
                     bn_batches=1, reference="mean")
    out = tmp_path / "s.json"
    real_step, real_write = D.Replica.step, D.write_json

    def step(self, lr):
        if self.g == 3:
            os.kill(os.getpid(), signal.SIGTERM)          # torchrun stops the group
        return real_step(self, lr)

    def write(path, obj):
        if obj.get("error"):
            os.kill(os.getpid(), signal.SIGTERM)          # and signals again, mid-write
        return real_write(path, obj)

    monkeypatch.setattr(D.Replica, "step", step)
    monkeypatch.setattr(D, "write_json", write)
    with pytest.raises(D.ReplicaLost, match="SIGTERM"):
        D.run_distributed(P, out)
    rec = read_json(out)
    assert rec["status"] == "incomplete" and "stopped by SIGTERM" in rec["error"]
    signal.signal(signal.SIGTERM, signal.SIG_DFL)         # the stopping process ignored it


def test_the_launcher_passes_the_ranks_exit_status_and_refuses_another_runs_record(
        tmp_path):
    """--stop-after: the launcher exits 3 (torchrun alone exits 1); rerun with one
    process and --stop-after, the file holds another run's record (2 replicas): refused
    in one line, exit 2, the record left as it was."""
    sets = dict(SMALL, effective_epochs=2)
    out = tmp_path / "e.json"
    res = _launch(out, sets, "--stop-after", "1")
    assert res.returncode == D.EXIT_INCOMPLETE, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "INCOMPLETE" in res.stdout
    before = out.read_bytes()
    res = _launch(out, sets, "--stop-after", "1", nproc=1)
    assert res.returncode == D.EXIT_BAD_INPUT, res.stderr[-2000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "world size 2, not 1" in lines[0], res.stderr
    assert out.read_bytes() == before


def test_a_finished_run_writes_its_record_again_and_another_run_is_refused(tmp_path,
                                                                           capsys):
    """Final checkpoints present, the JSON deleted: the rerun writes the complete record
    (it used to print 'complete' and write nothing). A record of another world size or
    other settings is refused before any work (ParamError; the command line: one line,
    exit 2) and left as it was."""
    kw = dict(n_train=256, n_test=100, effective_epochs=1, eval_batch=256, bn_batches=1)
    P = D.params_for("fast", **kw)
    out, ck = tmp_path / "f.json", tmp_path / "ck"
    first = D.run_distributed(P, out, ck)
    assert first["complete"]
    out.unlink()
    again = D.run_distributed(P, out, ck)
    rec = read_json(out)
    assert rec["complete"] and rec["records"] == first["records"] == again["records"]
    assert rec["provenance"]["threads"] == torch.get_num_threads()      # recorded
    assert "eval_batch" in P.fingerprint()          # it changes the BN statistics
    with pytest.raises(ParamError, match="other settings: seed"):
        D.run_distributed(D.params_for("fast", seed=1, **kw), out, ck, stop_after=1)
    from deeprelax.results import write_json
    write_json(out, {**rec, "world_size": 2})
    before = out.read_bytes()
    with pytest.raises(ParamError, match="world size 2, not 1"):
        D.run_distributed(P, out, ck, stop_after=1)
    args = ["--out", str(out), "--checkpoint-dir", str(ck), "--stop-after", "1",
            "--set", *[f"{k}={v}" for k, v in kw.items()]]
    assert cli_main(["elastic", *args]) == D.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another run" in err[0]
    assert out.read_bytes() == before


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


def test_a_rendezvous_that_never_forms_ends_with_its_join_timeout(tmp_path):
    """One of two nodes: torchrun gives up with RendezvousTimeoutError (the cause is
    asserted, not the time it took: LAUNCH_S only guards against a hang)."""
    port = _free_port()
    res = _torchrun(1, tmp_path / "r.json", dict(SMALL), rdzv=[
        "--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}",
        "--rdzv-id", "never", "--rdzv-conf", "join_timeout=3"])
    assert res.returncode != 0
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
    assert cli_main(["elastic", "--set", "backend=mpi"]) == D.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("deeprelax elastic: ")


def test_the_chapters_bookkeeping_claims_on_a_small_run():
    """Chapter 14 on a tiny budget without launches: the claims that do not depend on
    the budget hold, every claim is a check of our software (status 'check'), and the
    default couples the replicas to the centre (the printed mean is the contrast)."""
    from deeprelax.chapters import ch14_distributed as ch14
    from deeprelax.book.claims import by_name, check
    p = ch14.Params.from_preset("fast", n_train=1280, n_test=200, effective_epochs=2,
                               replicas=(1, 2), launch_replicas=(), kill_round=0)
    r = ch14.compute(p)
    claims = by_name(ch14.claims(r))
    check([claims[k] for k in ("one_replica_no_spread", "equal_gradients", "coupling_2")])
    assert all(c.status == "check" and c.source == "ours" for c in claims.values())
    assert r.elastic[2]["reference"] == "centre" and r.contrast[2]["reference"] == "mean"
    assert r.elastic[1]["reference"] == "mean"        # n = 1: SGD exactly
    assert r.spe == 10 and ch14.bytes_per_round(r)["payload"] == 131_220 * 4
    assert "launch_exact" not in claims and ch14.agreement(r) == {}
    assert 0 < ch14.coupling_ratio(r, 2) < 1
