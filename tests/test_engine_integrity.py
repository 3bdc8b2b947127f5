"""Nothing wrong gets into results: verified checkpoints, divergence as a state, output
folders and devices checked before work, no leftovers, every run resumable."""
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from deeprelax.train import engine
from deeprelax import results, runtime
from deeprelax.params import ParamError
from deeprelax.results import ResultError

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import params, tiny_data, tiny_mlp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _partial_run(tmp_path, **kw):
    """A run stopped after 2 of 4 effective epochs: its checkpoint, JSON and params."""
    P = params("sgd", effective_epochs=4, **kw)
    out, ckpt = tmp_path / "r.json", tmp_path / "r.pt"
    engine.train(tiny_mlp, tiny_data(), P, out=out, checkpoint=ckpt, stop_after=2,
                 show_progress=False)
    return P, out, ckpt


def _resume(P, ckpt, **kw):
    return engine.train(tiny_mlp, tiny_data(), P, checkpoint=ckpt, show_progress=False, **kw)


# ---- 1. checkpoints are verified; every refusal names the file ----------------------------
def test_a_checkpoint_with_flipped_bits_is_refused_naming_the_file(tmp_path):
    # the finding: a few flipped bits inside the tensor data load silently (torch.load
    # checks no CRC) and the run completes with other numbers
    P, _, ckpt = _partial_run(tmp_path)
    blob = bytearray(ckpt.read_bytes())
    for i in (len(blob) // 3, len(blob) // 2, 2 * len(blob) // 3):
        blob[i] ^= 0x10
    ckpt.write_bytes(bytes(blob))
    with pytest.raises(results.ResultError, match=r"r\.pt fails its checksum.*Delete it"):
        _resume(P, ckpt)


@pytest.mark.parametrize("keep", [0, 10, 0.5])
def test_a_truncated_or_empty_checkpoint_is_one_error_naming_the_file(tmp_path, keep):
    P, _, ckpt = _partial_run(tmp_path)
    blob = ckpt.read_bytes()
    ckpt.write_bytes(blob[:int(keep * len(blob)) if isinstance(keep, float) else keep])
    with pytest.raises(results.ResultError, match=rf"checkpoint {ckpt} is (empty|truncated)"):
        _resume(P, ckpt)


def test_a_checkpoint_without_a_checksum_is_never_resumed(tmp_path):
    # an old-format file (a bare torch.save zip) cannot be verified: refused, not loaded
    P, _, ckpt = _partial_run(tmp_path)
    tr = engine.MultiSeedTrainer(tiny_mlp, tiny_data(), P)
    torch.save(tr.state_dict(), ckpt)
    with pytest.raises(results.ResultError, match="without a checksum.*Delete it"):
        _resume(P, ckpt)
    ckpt.write_bytes(b"hello world\n")
    with pytest.raises(results.ResultError, match="not a deeprelax checkpoint"):
        _resume(P, ckpt)


def test_the_checksum_covers_the_stored_hyper_parameters(tmp_path):
    # editing the header's fingerprint to the new settings does not make a file resumable
    P, _, ckpt = _partial_run(tmp_path)
    blob = ckpt.read_bytes()
    head_end = blob.index(b"\n", len(engine.CHECKPOINT_MAGIC))
    header = json.loads(blob[len(engine.CHECKPOINT_MAGIC):head_end])
    header["fingerprint"]["lr_schedule"] = [[0, 0.02]]
    ckpt.write_bytes(engine.CHECKPOINT_MAGIC + json.dumps(header).encode() +
                     blob[head_end:])
    with pytest.raises(results.ResultError, match="fails its checksum"):
        _resume(engine.replace(P, lr_schedule=((0, 0.02),)), ckpt)


def test_a_checkpoint_of_other_hyper_parameters_names_the_file_and_the_difference(tmp_path):
    P, _, ckpt = _partial_run(tmp_path)
    with pytest.raises(ParamError) as info:
        _resume(engine.replace(P, momentum=0.5), ckpt)
    msg = str(info.value)
    assert f"checkpoint {ckpt} was written with other hyper-parameters" in msg
    assert "momentum: checkpoint 0.9, now 0.5" in msg and f"delete {ckpt}" in msg
    # run control (device, checkpoint cadence) may change between calls
    res = _resume(engine.replace(P, checkpoint_every=3, checkpoint_seconds=5.0), ckpt)
    assert res["status"] == "complete"


def test_a_checkpoint_of_another_model_names_the_file(tmp_path):
    P, _, ckpt = _partial_run(tmp_path)
    wider = lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))  # noqa
    with pytest.raises(results.ResultError, match=rf"checkpoint {ckpt} does not fit"):
        engine.train(wider, tiny_data(), P, checkpoint=ckpt, show_progress=False)


def test_verified_resume_still_repeats_the_uninterrupted_run(tmp_path):
    P, out, ckpt = _partial_run(tmp_path)
    assert ckpt.read_bytes().startswith(engine.CHECKPOINT_MAGIC)
    assert not results.read_json(out)["complete"]
    resumed = _resume(P, ckpt, out=out)
    full = engine.train(tiny_mlp, tiny_data(), P, show_progress=False)
    for key in ("train_loss", "val_error", "effective_epoch", "diverged"):
        assert resumed[key] == full[key], key
    assert results.read_json(out)["val_error"] == full["val_error"]


def test_result_files_carry_a_checksum_of_content_and_hyper_parameters(tmp_path):
    P, out, _ = _partial_run(tmp_path)
    raw = json.loads(out.read_text())
    assert raw[results.CHECKSUM_KEY] == results.content_sha256(
        {k: v for k, v in raw.items() if k != results.CHECKSUM_KEY})
    assert raw["fingerprint_sha256"] == P.fingerprint_sha256()
    raw["val_error"][0][0] += 1.0                     # one changed number
    out.write_text(json.dumps(raw))
    with pytest.raises(results.ResultError, match=r"r\.json fails its checksum"):
        results.read_json(out)


# ---- 4. divergence is a state ----------------------------------------------------------------
def _one_broken_seed(factor=1e3, which=1):
    """tiny_mlp, but seed number ``which`` of 3 starts with a huge bias on a wrong class:
    training loss ~ factor, ~90 % error (the finding: loss 1665 at 90 % error)."""
    calls = itertools.count()

    def net():
        m = tiny_mlp()
        if next(calls) % 3 == which:
            with torch.no_grad():
                m[-1].bias[3] += factor
        return m
    return net


def test_a_seed_far_above_the_chance_loss_is_marked_diverged():
    P = params("sgd", effective_epochs=8)
    res = engine.train(_one_broken_seed(), tiny_data(), P, show_progress=False)
    d = res["diverged"]
    assert d[0] is None and d[2] is None
    assert d[1]["effective_epoch"] == 5.0 and d[1]["loss"] > 100            # patience 5
    assert d[1]["bound"] == pytest.approx(2 * math.log(10))
    assert "above the bound 4.61 (= 2 × log 10" in d[1]["reason"]
    first = [res["train_loss"][1][k] for k in range(4)]
    assert all(v > 100 for v in first)                # recorded until it is declared
    assert res["train_loss"][1][4:] == [None] * 4 and res["val_error"][1][4:] == [None] * 4
    assert res["status"] == "complete" and res["complete"]


def test_a_seed_above_the_bound_at_the_end_of_the_budget_is_diverged():
    # a short run (the fast preset's two effective epochs) cannot wait five records
    res = engine.train(_one_broken_seed(), tiny_data(), params("sgd", effective_epochs=2),
                       show_progress=False)
    assert res["diverged"][1]["effective_epoch"] == 2.0
    assert "up to the end of the budget" in res["diverged"][1]["reason"]
    assert res["diverged"][0] is None and res["diverged"][2] is None


def test_divergence_counting_survives_a_resume(tmp_path):
    P = params("sgd", effective_epochs=8)
    full = engine.train(_one_broken_seed(), tiny_data(), P, show_progress=False)
    ckpt = tmp_path / "d.pt"
    engine.train(_one_broken_seed(), tiny_data(), P, checkpoint=ckpt, stop_after=3,
                 show_progress=False)
    resumed = engine.train(_one_broken_seed(), tiny_data(), P, checkpoint=ckpt,
                           show_progress=False)
    assert resumed["diverged"] == full["diverged"]
    assert resumed["train_loss"] == full["train_loss"]


def test_a_run_whose_seeds_all_diverged_is_not_complete(tmp_path):
    out = tmp_path / "all.json"
    res = engine.train(_nan_net, tiny_data(), params("sgd", effective_epochs=3),
                       out=out, show_progress=False)
    assert all(d is not None for d in res["diverged"])
    assert res["complete"] is False and res["status"] == "diverged"
    on_disk = results.read_json(out)
    assert on_disk["complete"] is False and on_disk["status"] == "diverged"


def _nan_net():
    m = tiny_mlp()
    with torch.no_grad():
        m[-1].bias.fill_(float("nan"))
    return m


def test_normal_training_has_no_diverged_seed():
    res = engine.train(tiny_mlp, tiny_data(), params("entropy-sgd", effective_epochs=3),
                       show_progress=False)
    assert res["diverged"] == [None] * 3 and res["status"] == "complete"
    assert max(max(r) for r in res["train_loss"]) < res["loss_bound"]


# ---- 5. bad output folders and devices are refused before any work ---------------------------
def _counting_net(calls):
    def net():
        calls.append(1)
        return tiny_mlp()
    return net


@pytest.mark.parametrize("where", ["out", "checkpoint"])
def test_a_bad_output_folder_fails_before_training(tmp_path, where):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    P = params("sgd", effective_epochs=2)
    for bad, match in ((a_file / "r.json", r"r\.json needs a folder, but .*a_file is not a folder"),
                       (tmp_path, "is a folder; give a file name"),
                       (Path("/proc/deeprelax-no/r.json"), "not writable")):
        calls = []
        with pytest.raises(ParamError, match=match):
            engine.train(_counting_net(calls), tiny_data(), P, show_progress=False,
                         **{where: bad})
        assert calls == [], "a model was built (work started) before the check"


def test_results_check_dir_says_what_is_wrong_in_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    for bad in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(ParamError) as info:
            results.check_dir(bad, "--results-dir")
        assert "\n" not in str(info.value) and str(bad) in str(info.value)
    assert results.check_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    assert sorted(os.listdir(tmp_path)) == ["f"]        # nothing created, the probe gone


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu", "mps"])
def test_a_malformed_device_is_a_param_error(device):
    with pytest.raises(ParamError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        params("sgd", device=device)
    with pytest.raises(ParamError, match="device must be"):
        runtime.check_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line_param_error():
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ParamError, match="no CUDA GPU is visible") as info:
            runtime.resolve_device(name)
        assert "\n" not in str(info.value)


# ---- 6. no leftovers; every run resumable ------------------------------------------------
def test_temporary_files_of_a_killed_write_are_removed_when_the_run_starts(tmp_path):
    out, ckpt = tmp_path / "r.json", tmp_path / "r.pt"
    for stale in (".r.pt.k1l2m3.tmp", ".r.json.x9y8.tmp"):
        (tmp_path / stale).write_bytes(b"half a write")
    (tmp_path / ".other.json.q.tmp").write_text("not ours")
    engine.train(tiny_mlp, tiny_data(), params("sgd", effective_epochs=1), out=out,
                 checkpoint=ckpt, show_progress=False)
    assert sorted(os.listdir(tmp_path)) == [".other.json.q.tmp", "r.json", "r.pt"]


def test_a_failed_checkpoint_write_leaves_no_temp_and_the_old_checkpoint(tmp_path,
                                                                         monkeypatch):
    P, _, ckpt = _partial_run(tmp_path)
    good = ckpt.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(ResultError, match="No space left on device.*the previous file is "
                       "intact.*run the same command again"):
        _resume(P, ckpt)
    monkeypatch.undo()
    assert ckpt.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.pt"]
    assert _resume(P, ckpt)["complete"]             # this one held before, too


def test_sigterm_during_a_checkpoint_write_leaves_no_temp(tmp_path):
    script = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from test_engine import params, tiny_data, tiny_mlp
        from deeprelax.train import engine
        real = os.fsync
        def slow_fsync(fd):
            print("in-write", flush=True)
            time.sleep(60)
        os.fsync = slow_fsync
        engine.train(tiny_mlp, tiny_data(), params("sgd", effective_epochs=1),
                     checkpoint={str(tmp_path / 'r.pt')!r}, show_progress=False)
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "in-write", proc.stderr.read()
        assert list(tmp_path.glob(".r.pt.*.tmp")), "the write is in progress"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert rc == -signal.SIGTERM                  # still terminated by SIGTERM
    assert os.listdir(tmp_path) == [], "a temporary file was left behind"


def test_a_six_epoch_run_with_default_checkpointing_resumes_after_a_crash(tmp_path,
                                                                          monkeypatch):
    # defaults: checkpoint_every=10 effective epochs, checkpoint_seconds=60. With
    # effective epochs of ~35 s (the clock is faked), a 6-epoch run is saved every other
    # epoch, so a crash in epoch 6 repeats at most two
    P = params("sgd", effective_epochs=6)
    assert P.checkpoint_every == 10
    ticks = itertools.count()
    monkeypatch.setattr(engine, "_clock", lambda: 35.0 * next(ticks), raising=False)
    real = engine.MultiSeedTrainer.run_effective_epoch

    def crash_in_epoch_6(self):
        if self.effective_epochs_done == 5:
            raise RuntimeError("killed")
        return real(self)
    monkeypatch.setattr(engine.MultiSeedTrainer, "run_effective_epoch", crash_in_epoch_6)
    ckpt, out = tmp_path / "six.pt", tmp_path / "six.json"
    with pytest.raises(RuntimeError, match="killed"):
        engine.train(tiny_mlp, tiny_data(), P, out=out, checkpoint=ckpt, show_progress=False)
    monkeypatch.setattr(engine.MultiSeedTrainer, "run_effective_epoch", real)
    assert ckpt.is_file(), "no checkpoint: the crash lost every effective epoch"
    assert P.checkpoint_seconds == 60.0
    state = engine.read_checkpoint(ckpt, P.fingerprint())
    assert len(state["records"]["effective_epoch"]) == 4
    assert results.read_json(out)["status"] == "incomplete"
    resumed = engine.train(tiny_mlp, tiny_data(), P, checkpoint=ckpt, show_progress=False)
    full = engine.train(tiny_mlp, tiny_data(), P, show_progress=False)
    assert resumed["val_error"] == full["val_error"] and resumed["status"] == "complete"


def test_a_second_run_of_the_same_checkpoint_stops_and_leaves_the_live_temp(tmp_path):
    # issue: two runs of one cell must not both proceed, and starting one must not delete
    # the temporary file the live one is still writing
    ckpt = tmp_path / "r.pt"
    live = tmp_path / ".r.pt.live.tmp"
    live.write_bytes(b"being written")
    with engine.run_lock(ckpt):
        assert (tmp_path / ".r.pt.lock").read_text().startswith(f"pid {os.getpid()}")
        script = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(ROOT / 'tests')!r})
            from test_engine import params, tiny_data, tiny_mlp
            from deeprelax.train import engine
            try:
                engine.train(tiny_mlp, tiny_data(), params("sgd", effective_epochs=1),
                             checkpoint={str(ckpt)!r}, show_progress=False)
            except engine.RunLockedError as err:
                print("locked:", err)
        """)
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, timeout=300)
        assert out.stdout.startswith("locked:"), out.stderr
        assert "being written by a run in progress" in out.stdout
        assert live.read_bytes() == b"being written"       # the live write is untouched
        assert not ckpt.exists()
    assert not (tmp_path / ".r.pt.lock").exists()          # released and removed


def test_the_lock_is_taken_again_after_its_holder_ends():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.pt"
        with engine.run_lock(path):
            pass
        with engine.run_lock(path):                          # no stale lock
            with pytest.raises(engine.RunLockedError):
                with engine.run_lock(path):
                    pass


def test_training_uses_the_runs_thread_count_and_records_it(tmp_path):
    torch.set_num_threads(2)
    seen = []
    real = engine.MultiSeedTrainer.run_effective_epoch

    def spy(self):
        seen.append(torch.get_num_threads())
        return real(self)
    engine.MultiSeedTrainer.run_effective_epoch = spy
    try:
        res = engine.train(tiny_mlp, tiny_data(), params("sgd", effective_epochs=2, threads=1),
                           show_progress=False)
    finally:
        engine.MultiSeedTrainer.run_effective_epoch = real
    assert seen == [1, 1]
    assert torch.get_num_threads() == 2                      # restored
    assert res["params"]["threads"] == 1 and res["provenance"]["threads"] == 1
    assert res["provenance"]["cpu"] and res["provenance"]["cpu_capability"]
    assert "threads" in params("sgd").fingerprint()
    assert "eval_batch" in params("sgd").fingerprint()     # it changes the BN statistics


def test_should_stop_saves_and_leaves_the_run_incomplete(tmp_path):
    ckpt, out = tmp_path / "r.pt", tmp_path / "r.json"
    P = params("sgd", effective_epochs=3)
    calls = []
    res = engine.train(tiny_mlp, tiny_data(), P, out=out, checkpoint=ckpt, show_progress=False,
                       should_stop=lambda: calls.append(1) or True)
    assert res["status"] == "incomplete" and len(res["effective_epoch"]) == 1 and calls
    assert engine.read_checkpoint(ckpt, P.fingerprint())["g"] > 0
    whole = engine.train(tiny_mlp, tiny_data(), P, show_progress=False)
    resumed = engine.train(tiny_mlp, tiny_data(), P, out=out, checkpoint=ckpt,
                           show_progress=False)
    assert resumed["val_error"] == whole["val_error"]
    assert resumed["train_loss"] == whole["train_loss"]
