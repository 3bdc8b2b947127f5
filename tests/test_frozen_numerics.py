"""Frozen numerics: short runs of every Table 1 MNIST cell's settings against recorded outputs.

The CPU campaign commits seed-runs over several days while the code around it changes;
no change may alter a number a run produces. Each of the eight cells runs with its paper
settings (``experiments.experiment``) for 12 effective epochs of a 1,280-image MNIST subset
(120 gradient evaluations, seed 0, evaluated on 500 test images every effective epoch):

- in float32, the campaign's precision: the SHA-256 of the final weights and the exact
  curves must equal the recorded ones. Float32 CPU kernels differ between instruction
  sets (AVX2/AVX-512) and torch versions, so this part is asserted on the platform that
  recorded it (torch version, CPU capability, CPU model, one thread) and skipped
  elsewhere, saying so;
- in float64 on any machine: the curves and per-tensor weight norms to a relative 1e-6.
  Training amplifies round-off: the float32 and float64 runs of a cell (a relative
  perturbation of about 1e-7 per operation) end up O(1) apart after 120 steps, so the
  growth is at most about 1e7. Other kernels change float64 sums by about 1e-16 per
  operation, which therefore grows to at most about 1e-9 — three orders below 1e-6 —
  while any change of the algorithm (a step, a factor, a random stream) moves these
  numbers by far more than 1e-6.

Record again (only when a change of numbers is intended and no campaign unit depends on
the old ones): ``python tests/test_frozen_numerics.py --record [NET-ALG ...]``.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deeprelax.train import engine, experiments, models, table1  # noqa: E402
from deeprelax.train.engine import _cpu_capability  # noqa: E402
from deeprelax.runtime import cpu_model  # noqa: E402

RECORD = Path(__file__).parent / "data" / "frozen_numerics.json"
CELLS = [(n, a) for n in ("lenet", "mnistfc") for a in ("sgd", "entropy-sgd", "hj", "heat")]
N_TRAIN, N_TEST, EPOCHS = 1280, 500, 12


def platform_key() -> dict:
    return {"torch": torch.__version__, "cpu_capability": _cpu_capability(),
            "cpu": cpu_model(), "threads": 1}


_DATA = {}


def _data():
    if not _DATA:
        full = experiments.load_data("mnist")
        _DATA["d"] = engine.TensorData(full.train_x[:N_TRAIN], full.train_y[:N_TRAIN],
                                       full.test_x[:N_TEST], full.test_y[:N_TEST], "mnist")
    return _DATA["d"]


def short_run(net: str, alg: str, dtype: str) -> dict:
    """The outputs of one short run with the cell's paper settings (see the docstring)."""
    P = experiments.experiment(net, alg, "paper", seeds=(0,), effective_epochs=EPOCHS,
                          dtype=dtype)
    trainer = engine.MultiSeedTrainer(lambda: models.build(net), _data(), P)
    with engine.torch_threads(P.threads):
        while not trainer.finished:
            trainer.run_effective_epoch()
    res = trainer.result()
    weights = {k: v[0].detach() for k, v in trainer.params.items()}
    h = hashlib.sha256()
    for k in sorted(weights):
        h.update(weights[k].contiguous().numpy().tobytes())
    return {"train_loss": res["train_loss"][0], "val_error": res["val_error"][0],
            "norms": {k: float(v.double().norm()) for k, v in sorted(weights.items())},
            "sha256": h.hexdigest()}


def _recorded() -> dict:
    if not RECORD.is_file():
        pytest.fail(f"{RECORD} is missing: record it with python {__file__} --record")
    return json.loads(RECORD.read_text())


@pytest.mark.parametrize("net,alg", CELLS)
def test_float64_runs_equal_the_recorded_ones(net, alg):
    want = _recorded()["float64"][f"{net}-{alg}"]
    got = short_run(net, alg, "float64")
    assert got["val_error"] == pytest.approx(want["val_error"], abs=1e-9)
    assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-6)
    assert got["norms"] == pytest.approx(want["norms"], rel=1e-6)


@pytest.mark.parametrize("net,alg", CELLS)
def test_float32_runs_equal_the_recorded_ones_bit_for_bit(net, alg):
    rec = _recorded()
    if rec["platform"] != platform_key():
        pytest.skip(f"float32 outputs were recorded on {rec['platform']}, this is "
                    f"{platform_key()}: other kernels, other float32 sums")
    want = rec["float32"][f"{net}-{alg}"]
    got = short_run(net, alg, "float32")
    assert got == want


if __name__ == "__main__":
    # --record: every cell; --record NET-ALG ...: those cells again, the others kept (only
    # for a cell no committed unit depends on)
    if sys.argv[1:2] != ["--record"]:
        sys.exit(f"usage: python {sys.argv[0]} --record [NET-ALG ...]")
    names = sys.argv[2:] or [f"{n}-{a}" for n, a in CELLS]
    unknown = set(names) - {f"{n}-{a}" for n, a in CELLS}
    if unknown:
        sys.exit(f"unknown cells {sorted(unknown)}")
    out = {"platform": platform_key(), "float32": {}, "float64": {}}
    if sys.argv[2:]:
        out = _recorded()
        if out["platform"] != platform_key():
            sys.exit(f"the others were recorded on {out['platform']}: record all cells here")
    for net, alg in CELLS:
        if f"{net}-{alg}" in names:
            for dtype in ("float32", "float64"):
                out[dtype][f"{net}-{alg}"] = short_run(net, alg, dtype)
                print(net, alg, dtype, out[dtype][f"{net}-{alg}"]["val_error"][-1], flush=True)
    RECORD.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RECORD}")
