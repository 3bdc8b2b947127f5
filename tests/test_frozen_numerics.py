"""Frozen numerics: short runs of every Table 1 MNIST cell's settings against recorded outputs.

The CPU campaign commits seed-runs over several days while the code around it changes;
no change may alter a number a run produces. Each of the eight cells runs with its paper
settings (``experiments.experiment``) for 12 effective epochs of a 1,280-image MNIST subset
(120 gradient evaluations, seed 0, evaluated on 500 test images every effective epoch):

- in float32, the campaign's precision: the SHA-256 of the final weights and the exact
  curves must equal the recorded ones. Float32 CPU kernels differ between instruction
  sets (AVX2/AVX-512) and torch versions, so the record keeps one set of float32 outputs
  per platform (torch version, CPU capability, CPU model, one thread); this part is
  asserted on a recorded platform and skipped elsewhere, saying so;
- in float64 on any machine: the curves and per-tensor weight norms at every record
  (every effective epoch; every second one for L = 20, where an outer step spans two)
  and of the initial weights, to a relative 1e-6, over a horizon the test measures.
  Another machine's kernels change float64 sums by about 1e-16 relative, and training
  can amplify that: on mnistfc Entropy-SGD an AVX2 and an AVX-512 machine agree to about
  1e-14 in the training loss at the first record, 1e-7 at the third and differ by 0.03
  at the sixth (and last); LeNet's cells stay within about 1e-14 throughout. So the
  test also runs a twin whose initial weights are scaled by 1 + 2^-52 (a perturbation of
  round-off size) and compares the first T records, T the last record up to which the
  twin stays within 1e-9 of the run in every compared number. 1e-9 leaves a factor 1000
  for kernels that perturb every step instead of once (the two machines differed by at
  most about 100 times the twin). T ≥ 1 is required. Changes of the algorithm move
  these numbers at the first record by far more than 1e-6 (tried on mnistfc Entropy-SGD
  and HJ: γ × 2, inner momentum 0.5, Entropy-SGD's noise × 1.01, HJ's learning rate
  × (1 + 1e-4): 0.4 to 5); a change that acts only after the horizon (γ's scoping
  rate × 2 on mnistfc Entropy-SGD, whose horizon is one record) is caught only by the
  float32 part, on a recorded platform.

Record again (only when a change of numbers is intended and no campaign unit depends on
the old ones): ``python tests/test_frozen_numerics.py --record [NET-ALG ...]``; the other
platforms' float32 outputs of those cells are dropped. Add this platform's float32 outputs
of the unchanged code: ``python tests/test_frozen_numerics.py --add-platform`` (only after
the float64 test passes here, which shows that the algorithm is the recorded one).
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


def short_run(net: str, alg: str) -> dict:
    """The outputs of one float32 run with the cell's paper settings (see the docstring)."""
    P = experiments.experiment(net, alg, "paper", seeds=(0,), effective_epochs=EPOCHS,
                          dtype="float32")
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


TWIN_EPS, HORIZON_TOL, TOL = 2.0 ** -52, 1e-9, 1e-6


def trajectory(net: str, alg: str, eps: float = 0.0) -> dict:
    """A float64 run's curves and per-tensor weight norms at every record (``norms[0]``:
    the initial weights), the initial weights scaled by ``1 + eps``."""
    P = experiments.experiment(net, alg, "paper", seeds=(0,), effective_epochs=EPOCHS,
                               dtype="float64")
    trainer = engine.MultiSeedTrainer(lambda: models.build(net), _data(), P)
    with torch.no_grad():
        for v in trainer.params.values():
            v.mul_(1.0 + eps)

    def norms():
        return {k: float(v[0].detach().norm()) for k, v in sorted(trainer.params.items())}
    out = [norms()]
    with engine.torch_threads(P.threads):
        while not trainer.finished:
            trainer.run_effective_epoch()
            out.append(norms())
    res = trainer.result()
    return {"train_loss": res["train_loss"][0], "val_error": res["val_error"][0],
            "norms": out}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _epoch_gaps(a: dict, b: dict) -> list[float]:
    """The largest relative difference of the compared numbers at every record (the
    validation error, a count, as an absolute difference in per cent)."""
    gaps = []
    for t in range(len(a["train_loss"])):
        g = [_rel(a["train_loss"][t], b["train_loss"][t]),
             abs(a["val_error"][t] - b["val_error"][t])]
        g += [_rel(a["norms"][t + 1][k], b["norms"][t + 1][k]) for k in a["norms"][t + 1]]
        g += [_rel(a["norms"][0][k], b["norms"][0][k]) for k in a["norms"][0]] if t == 0 else []
        gaps.append(max(g))
    return gaps


def float64_mismatch(net: str, alg: str, want: dict) -> str | None:
    """Why this machine's float64 run differs from ``want`` (see the docstring), or None."""
    got, twin = trajectory(net, alg), trajectory(net, alg, TWIN_EPS)
    horizon = 0
    for gap in _epoch_gaps(got, twin):
        if gap > HORIZON_TOL:
            break
        horizon += 1
    if horizon == 0:
        return (f"a perturbation of round-off size moves the first record by more "
                f"than {HORIZON_TOL}: nothing can be compared")
    for t, gap in enumerate(_epoch_gaps(got, want)[:horizon]):
        if gap > TOL:
            return f"record {t + 1} (of the {horizon} compared) differs by {gap:.2g} > {TOL}"
    return None


@pytest.mark.parametrize("net,alg", CELLS)
def test_float64_runs_equal_the_recorded_ones(net, alg):
    why = float64_mismatch(net, alg, _recorded()["float64"][f"{net}-{alg}"])
    assert why is None, why


def _platform_entry(rec: dict) -> dict | None:
    """This platform's float32 outputs in the record, or None."""
    return next((e for e in rec["float32"] if e["platform"] == platform_key()), None)


@pytest.mark.parametrize("net,alg", CELLS)
def test_float32_runs_equal_the_recorded_ones_bit_for_bit(net, alg):
    entry = _platform_entry(_recorded())
    if entry is None or f"{net}-{alg}" not in entry["cells"]:
        pytest.skip(f"no float32 outputs of {net}-{alg} recorded on {platform_key()}: other "
                    f"kernels, other float32 sums")
    got = short_run(net, alg)
    assert got == entry["cells"][f"{net}-{alg}"]


def _record(names: list[str]) -> dict:
    """Record float64 and this platform's float32 outputs of the cells ``names`` again."""
    rec = _recorded() if RECORD.is_file() else {"float32": [], "float64": {}}
    entry = _platform_entry(rec)
    if entry is None:
        entry = {"platform": platform_key(), "cells": {}}
        rec["float32"].append(entry)
    for other in rec["float32"]:
        for name in names:
            other["cells"].pop(name, None)
    for net, alg in CELLS:
        if f"{net}-{alg}" in names:
            rec["float64"][f"{net}-{alg}"] = trajectory(net, alg)
            entry["cells"][f"{net}-{alg}"] = short_run(net, alg)
            print(net, alg, entry["cells"][f"{net}-{alg}"]["val_error"][-1], flush=True)
    rec["float32"] = [e for e in rec["float32"] if e["cells"]]
    return rec


def _add_platform() -> dict:
    """This platform's float32 outputs of every cell, the float64 record checked first."""
    rec = _recorded()
    if _platform_entry(rec) is not None:
        sys.exit(f"float32 outputs are recorded already on {platform_key()}")
    entry = {"platform": platform_key(), "cells": {}}
    for net, alg in CELLS:
        why = float64_mismatch(net, alg, rec["float64"][f"{net}-{alg}"])
        if why:
            sys.exit(f"{net}-{alg}: the float64 run differs from the record ({why}); the "
                     f"code's numbers changed, so its float32 outputs cannot be added")
        entry["cells"][f"{net}-{alg}"] = short_run(net, alg)
        print(net, alg, entry["cells"][f"{net}-{alg}"]["val_error"][-1], flush=True)
    rec["float32"].append(entry)
    return rec


if __name__ == "__main__":
    # --record: every cell; --record NET-ALG ...: those cells again, the others kept (only
    # for a cell no committed unit depends on); --add-platform: this platform's float32
    usage = f"usage: python {sys.argv[0]} --record [NET-ALG ...] | --add-platform"
    if sys.argv[1:] == ["--add-platform"]:
        out = _add_platform()
    elif sys.argv[1:2] == ["--record"]:
        names = sys.argv[2:] or [f"{n}-{a}" for n, a in CELLS]
        unknown = set(names) - {f"{n}-{a}" for n, a in CELLS}
        if unknown:
            sys.exit(f"unknown cells {sorted(unknown)}")
        out = _record(names)
    else:
        sys.exit(usage)
    RECORD.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {RECORD}")
