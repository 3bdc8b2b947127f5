"""Every experiment of Sec. 8 (Table 1): its net, data, settings and presets; a run planned
once (:class:`Plan`), then trained, resumed or skipped (:func:`execute`); what counts as a
Table 1 cell (:func:`admission`).

An experiment is a (net, algorithm) pair trained for 6 seeds by ``deeprelax.train.engine``:
mnistfc and LeNet on MNIST (Sec. 8.2), All-CNN-C on CIFAR-10 (Sec. 8.3). Its result is
``results/train/<net>-<algorithm>.json``, or six single-seed units under
``results/train/units/`` (the CPU campaign, ``deeprelax.train.campaign``) that
:func:`load_results` assembles into the same cell. A finished LeNet cell also leaves the
final weights of seed 0 in ``results/weights/`` (chapter 13 reads them).

Two presets, as in the chapters and the command line: ``paper`` (the settings below) and
``fast`` (the CPU smoke run: the same code and settings on a few images for one or two
effective epochs; never written under results/). A paper run with other settings
(``--set``, ``--seeds``) is *custom*: it goes to ``runs/custom/<overrides>/`` and is never a
Table 1 cell. Every file name is in ``deeprelax.paths``.

Hyper-parameters (:data:`EXPERIMENTS`), each with its source:

- SGD: Nesterov 0.9, lr 0.1 × 0.2 at epochs 30 and 60 — the authors' Lua SGD schedule
  for MNIST (the paper does not give the baseline's schedule).
- Entropy-SGD: L = 20, η_y = 0.1, α = 0.75 (Sec. 7.1); β_ex⁻¹ = 2e-8, the authors'
  noise: their std per inner step is ε·√(2η_y) with ε = 1e-4, i.e. β_ex⁻¹ = 2ε² in the
  convention σ = √(η_y β_ex⁻¹) of (32) (the paper prints "β_ex⁻¹ = 10⁸", noise of std
  ≈ 3000 per step; reading only the exponent's sign as a typo, 1e-8, would give std 0.71×
  the authors'); the outer step, momentum and inner loop of the authors' Lua code
  (``outer="lua"``: x ← x − η(x − ⟨y⟩), no outer momentum; ``inner_form="authors"``:
  Nesterov 0.9 on the raw minibatch gradient of each inner step, reset every update, with
  the coupling (y − x)/γ, weight decay and noise added after it), because the paper's
  numbers came from the authors' code, (32)–(33) have no inner momentum at all, and with
  the paper's Sec. 7.4 outer momentum the Lua schedule's η = 1 diverges (a probe recorded
  in the project's implementation notes); γ₀ = 1e4 (coupling 1e-4, the authors' value)
  scoped with γ₁ = 1e-3 (Sec. 7.5); lr schedules of the Lua code for MNIST (mnistfc: 1,
  then 0.1 after 2 epochs; LeNet: 1, 0.1, 0.01 for epochs 1–2, 3–4, 5+), in effective
  epochs. The Lua code spends L + 1 gradients per update (one at x, discarded); an
  update here costs L, the count that effective epochs use (Remark 22).
- HJ: the same (``inner_form="authors"`` too) with L = 5, no noise and the last iterate
  (Sec. 7.2), so that HJ differs from Entropy-SGD only in what Sec. 7.2 changes; except
  mnistfc's scoping, γ₁ = 5e-4: with L = 5 its 200 effective epochs are 18,760 updates, and
  the paper's γ₁ = 1e-3 would shrink γ below η_y/2 after about 12,200 of them (effective
  epoch 130), where the explicit inner step of (32) amplifies y − x and the run diverges
  (:func:`inner_step_ratio`); 5e-4 shrinks γ over the run by the same factor as LeNet's
  HJ cell (γ₁ × updates = 9.38 in both).
- HEAT: eq. (35) with Nesterov 0.9 on x (Sec. 7.4), L = 20, γ₀ = 1e-4 (the lower end of
  the paper's range; not tuned), lr 0.1 reduced ×0.2 every 3 epochs = 60 effective epochs
  (the Sec. 7.1 rule).
- MNIST budgets: 200 effective epochs for mnistfc and 100 for LeNet (the paper's cells
  reach @200 and @80); batch 128; no weight decay (the paper gives none for MNIST); raw
  pixels.
- All-CNN (the paper gives few settings): batch 128, 6 seeds, weight decay 1e-3 (the
  authors' All-CNN setting, applied by every optimizer, also SGD), GCN+ZCA inputs, no
  augmentation (Sec. 8.1.1), BN statistics re-estimated on the whole training set before
  each evaluation, one evaluation every 5 effective epochs (the paper's cells are all
  multiples of 5), 200 effective epochs (the paper's cells lie at 145–195). SGD: lr 0.1 ×
  0.2 every 60 epochs (the authors' Lua SGD schedule for CIFAR). Entropy-SGD and HJ: as
  the MNIST rows with the authors' All-CNN coupling g₀ = 0.03 scoped by g₁ = 1e-4, i.e.
  γ₀ = 1/0.03 and γ₁ = 1e-4 (their notes; the paper's γ₁ = 1e-3 is the alternative), lr
  1 / 0.2 / 0.04 switching at epochs 3 and 6 (their Lua CIFAR schedule) = effective epochs
  60 and 120. HEAT: as the MNIST rows, lr 0.1 × 0.2 every 60 effective epochs.

Data sets: ``mnist``; ``cifar10`` — the full 50,000/10,000 images, md5-checked, from
``data_dir`` or $DEEPRELAX_DATA (results in ``results/train/``, rows of Table 1);
``cifar10-subset`` — the genuine-bytes subset (5,438/1,017 images), a small-data
experiment whose results live apart, in ``results/cifar10-subset/``, never in Table 1.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable

import torch

from deeprelax import paths
from deeprelax.params import ParamError
from deeprelax.results import ResultError, canonical_json, check_dir, read_json
from deeprelax.runtime import check_device
from deeprelax.train import cifar, engine, models, records
from deeprelax.train.data import load_mnist
from deeprelax.train.engine import TensorData, TrainParams
from deeprelax.train.hessian import save_weights
from deeprelax.train.records import (assemble_cell, budget_status, diverged_notes,
                                     record_problem, status_of, summarize)

#: ``results_dir``/``runs_dir``/``weights_dir`` of :func:`plan`: the folder the run's kind
#: gives (:func:`results_folder`, :func:`weights_folder`)
AUTO = "auto"
PRESETS = ("fast", "paper")
SMOKE_PRESETS = ("fast", "smoke")  # records of smoke runs ('smoke': older records)
NET_ORDER = ("mnistfc", "lenet", "allcnn")
ALGORITHM_ORDER = ("entropy-sgd", "heat", "hj", "sgd")    # the paper's order (Sec. 8.1.3)
MNIST, CIFAR10, CIFAR10_SUBSET = "mnist", "cifar10", "cifar10-subset"
NET_DATASET: dict[str, str] = {"mnistfc": MNIST, "lenet": MNIST, "allcnn": CIFAR10}
DATASETS = (MNIST, CIFAR10, CIFAR10_SUBSET)

# ---- settings --------------------------------------------------------------------------------
_SGD = dict(algorithm="sgd", L=1, momentum=0.9,
            lr_schedule=((0, 0.1), (30, 0.02), (60, 0.004)))
_LUA = dict(momentum=0.0, inner_momentum=0.9, outer="lua", inner_form="authors", gamma=1e4,
            gamma_decay=1e-3, lr_y=0.1)
_ESGD = dict(_LUA, algorithm="entropy-sgd", L=20, alpha=0.75, beta_ex_inv=2e-8)  # std ε√(2η_y)
_HJ = dict(_LUA, algorithm="hj", L=5, hj_form="prox")           # inner_form="authors" too
_HEAT = dict(algorithm="heat", L=20, momentum=0.9, gamma=1e-4, gamma_decay=1e-3)
# eval_batch 500: the BN re-estimation pass and the test in batches of 500 (the largest
# activation, LeNet's first convolution, stays below glibc's 32 MiB mmap threshold);
# threads 1: CPU sums in one fixed order, so any machine with the same kernels gives the
# same numbers and several units can run side by side
_MNIST = dict(batch_size=128, seeds=(0, 1, 2, 3, 4, 5), weight_decay=0.0, eval_every=1,
              eval_batch=500, threads=1)
_CIFAR = dict(batch_size=128, seeds=(0, 1, 2, 3, 4, 5), weight_decay=1e-3, eval_every=5,
              eval_batch=1000, bn_batches=0, effective_epochs=200)
_CIFAR_LUA = dict(momentum=0.0, inner_momentum=0.9, outer="lua", inner_form="authors",
                  gamma=1 / 0.03, gamma_decay=1e-4, lr_y=0.1,
                  lr_schedule=((0, 1.0), (60, 0.2), (120, 0.04)))
_CIFAR_LRS = ((0, 0.1), (60, 0.02), (120, 0.004), (180, 8e-4))

#: The paper settings of every Table 1 cell, (net, algorithm) → TrainParams values (sources
#: in the module docstring).
EXPERIMENTS: dict[tuple[str, str], dict[str, Any]] = {
    ("mnistfc", "sgd"): dict(_MNIST, **_SGD, effective_epochs=200),
    ("lenet", "sgd"): dict(_MNIST, **_SGD, effective_epochs=100),
    ("mnistfc", "entropy-sgd"): dict(_MNIST, **_ESGD, effective_epochs=200,
                                     lr_schedule=((0, 1.0), (40, 0.1))),
    ("lenet", "entropy-sgd"): dict(_MNIST, **_ESGD, effective_epochs=100,
                                   lr_schedule=((0, 1.0), (40, 0.1), (80, 0.01))),
    ("mnistfc", "hj"): dict(_MNIST, **dict(_HJ, gamma_decay=5e-4), effective_epochs=200,
                            lr_schedule=((0, 1.0), (40, 0.1))),
    ("lenet", "hj"): dict(_MNIST, **_HJ, effective_epochs=100,
                          lr_schedule=((0, 1.0), (40, 0.1), (80, 0.01))),
    ("mnistfc", "heat"): dict(_MNIST, **_HEAT, effective_epochs=200,
                              lr_schedule=((0, 0.1), (60, 0.02), (120, 0.004), (180, 8e-4))),
    ("lenet", "heat"): dict(_MNIST, **_HEAT, effective_epochs=100,
                            lr_schedule=((0, 0.1), (60, 0.02))),
    ("allcnn", "sgd"): dict(_CIFAR, algorithm="sgd", L=1, momentum=0.9, lr_schedule=_CIFAR_LRS),
    ("allcnn", "entropy-sgd"): dict(_CIFAR, **_CIFAR_LUA, algorithm="entropy-sgd", L=20,
                                    alpha=0.75, beta_ex_inv=2e-8),
    ("allcnn", "hj"): dict(_CIFAR, **_CIFAR_LUA, algorithm="hj", L=5, hj_form="prox"),
    ("allcnn", "heat"): dict(_CIFAR, algorithm="heat", L=20, momentum=0.9, gamma=1e-4,
                             gamma_decay=1e-3, lr_schedule=_CIFAR_LRS),
}

# the fast preset, a CPU smoke run of the same hyper-parameters and code. MNIST: a
# 1,280-image subset (10 minibatches per effective epoch), 2 seeds, 2 effective epochs: 20
# gradient evaluations per cell, i.e. one Entropy-SGD/HEAT update, four HJ and twenty SGD
# updates. All-CNN (about 30× LeNet per image): 8 training / 16 test images of the subset,
# batch 4, one effective epoch (2 gradient evaluations), L = 2 for the relaxations, BN
# re-estimated on one batch. It checks that everything runs, not numbers.
SMOKE = dict(seeds=(0, 1), effective_epochs=2, eval_batch=640)
SMOKE_CIFAR = dict(seeds=(0, 1), effective_epochs=1, batch_size=4, eval_batch=8,
                   bn_batches=1, eval_every=1)
SMOKE_CIFAR_L = {"sgd": 1, "entropy-sgd": 2, "hj": 2, "heat": 2}
SMOKE_DATA = {MNIST: dict(n_train=1280, n_test=1000), CIFAR10: dict(n_train=8, n_test=16),
              CIFAR10_SUBSET: dict(n_train=8, n_test=16)}


def preset_name(preset: str) -> str:
    """``preset`` if it is one of :data:`PRESETS`, else a ParamError."""
    if preset not in PRESETS:
        raise ParamError(f"unknown preset {preset!r}; choose one of {list(PRESETS)}")
    return preset


def smoke_overrides(net: str, algorithm: str) -> dict[str, Any]:
    """What the fast preset changes in the paper settings of (net, algorithm)."""
    if NET_DATASET.get(net) == CIFAR10:
        return dict(SMOKE_CIFAR, L=SMOKE_CIFAR_L[algorithm])
    return dict(SMOKE)


def experiment(net: str, algorithm: str, preset: str = "paper", device: str = "cpu",
               **overrides: Any) -> TrainParams:
    """TrainParams of one Table 1 cell (``preset`` 'paper' or 'fast'); overrides win."""
    if (net, algorithm) not in EXPERIMENTS:
        known = sorted({n for n, _ in EXPERIMENTS})
        raise ParamError(f"no experiment for net={net!r}, algorithm={algorithm!r}; nets: "
                         f"{known}, algorithms: {list(ALGORITHM_ORDER)}")
    values = dict(EXPERIMENTS[(net, algorithm)])
    if preset_name(preset) == "fast":
        values.update(smoke_overrides(net, algorithm))
    values["device"] = device
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainParams.checked(**values)


def settings_difference(params: dict[str, Any], net: str, alg: str,
                        ignore: tuple[str, ...] = ()) -> list[str]:
    """The one test of "are these the paper settings?": the hyper-parameters (run control
    and ``ignore`` aside) in which stored ``params`` differ from the paper settings of
    (net, alg), one 'name ours (paper: theirs)' each; empty when none."""
    skip = set(TrainParams.RUN_CONTROL) | set(ignore)
    theirs = json.loads(canonical_json({k: v for k, v in params.items() if k not in skip}))
    paper = json.loads(canonical_json({k: v for k, v in experiment(
        net, alg, "paper").fingerprint().items() if k not in skip}))
    return [f"{k} {_short(theirs.get(k, '(absent)'))} (paper: {_short(paper.get(k, '(absent)'))})"
            for k in sorted(set(theirs) | set(paper)) if theirs.get(k) != paper.get(k)]


def is_paper(P: TrainParams, net: str, algorithm: str) -> bool:
    """True when TrainParams ``P`` are the paper settings of (net, algorithm) up to run
    control (device, CUDA graphs, compile, checkpoint cadence): :func:`settings_difference`."""
    return not settings_difference(P.fingerprint(), net, algorithm)


def inner_step_ratio(net: str, algorithm: str, n_train: int | None = None) -> float:
    """η_y/γ_k at the last update of the paper run of an Entropy-SGD/HJ cell: the largest
    ratio h of the inner coupling step of (32) over the run, since scoping (Sec. 7.5)
    shrinks γ_k = γ₀(1 − γ₁)^k at every update; the step is stable only for h ≤
    ``optim.stable_fraction`` (2 without inner momentum on the coupling). ``n_train``:
    the training images (default 60,000 for MNIST, 50,000 for CIFAR-10)."""
    P = experiment(net, algorithm)
    n = n_train or (60_000 if NET_DATASET[net] == MNIST else 50_000)
    updates = P.effective_epochs * -(-n // P.batch_size) // P.L
    return P.lr_y / (P.gamma * (1.0 - P.gamma_decay) ** updates)


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


# ---- data ------------------------------------------------------------------------------------
def mnist_tensors(n_train: int | None = None, n_test: int | None = None) -> TensorData:
    """MNIST as engine tensors: raw pixels 0..255 as float (no normalisation, Sec. 8.1.1),
    the first ``n_train``/``n_test`` images when given."""
    m = load_mnist()
    tx = torch.from_numpy(m.train_images[:n_train].copy()).unsqueeze(1)
    vx = torch.from_numpy(m.test_images[:n_test].copy()).unsqueeze(1)
    return TensorData(tx, torch.from_numpy(m.train_labels[:n_train].copy()), vx,
                      torch.from_numpy(m.test_labels[:n_test].copy()), name=MNIST)


def cifar_tensors(dataset: str = CIFAR10, data_dir: str | os.PathLike | None = None,
                  device: str = "cpu", n_train: int | None = None,
                  n_test: int | None = None) -> TensorData:
    """GCN+ZCA-whitened CIFAR-10 (Sec. 8.1.1) as engine tensors (first n images if given)."""
    for n, what in ((n_train, "n_train"), (n_test, "n_test")):
        if n is not None and (not isinstance(n, int) or n < 1):
            raise ValueError(f"{what} must be a positive integer or None, got {n!r}")
    w = cifar.preprocess(cifar.load(dataset, data_dir), device=device)
    t = lambda a, n: torch.from_numpy(a[:n].copy())  # noqa: E731
    return TensorData(t(w.train_x, n_train), t(w.train_y, n_train), t(w.test_x, n_test),
                      t(w.test_y, n_test), name=w.name)


_DATA_CACHE: dict[tuple, TensorData] = {}


def load_data(dataset: str, preset: str = "paper", data_dir: str | os.PathLike | None = None,
              device: str = "cpu") -> TensorData:
    """A data set of ``DATASETS`` as engine tensors (the smoke subset for the fast
    preset); cached per (data set, preset, folder, device)."""
    if dataset not in DATASETS:
        raise ParamError(f"unknown data set {dataset!r}; known: {list(DATASETS)}")
    sizes = SMOKE_DATA[dataset] if preset_name(preset) == "fast" else {}
    key = (dataset, tuple(sorted(sizes.items())), str(data_dir), device)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = mnist_tensors(**sizes) if dataset == MNIST else \
            cifar_tensors(dataset, data_dir, device, **sizes)
    return _DATA_CACHE[key]


# ---- final weights (the width-of-minima chapter reads them) ----------------------------------
WEIGHTS_NETS = ("lenet",)          # nets whose finished cells leave their final weights
WEIGHTS_SEEDS = (0,)               # ... of these seeds (a state_dict each, 0.5 MB for LeNet)


def weights_folder(results_folder: str | os.PathLike | None, kind: str) -> Path | None:
    """Where :func:`execute` puts the final weights of a finished cell: results/weights for
    paper runs in results/train, ``<results folder>/weights`` for paper or fast runs
    elsewhere, none for custom runs (or without a results folder)."""
    if results_folder is None or kind == "custom":
        return None
    if kind == "paper" and Path(results_folder).resolve() == paths.TRAIN_DIR.resolve():
        return paths.WEIGHTS_DIR
    return Path(results_folder) / "weights"


def export_weights(net: str, algorithm: str, checkpoint: str | os.PathLike, P: TrainParams,
                   folder: str | os.PathLike | None = None,
                   seeds: tuple[int, ...] = WEIGHTS_SEEDS) -> list[Path]:
    """Write the weights of ``seeds`` held by the verified engine checkpoint of TrainParams
    ``P`` (``engine.read_checkpoint``) as one CPU state_dict per seed, atomically, at
    ``paths.weights_path`` (``hessian.save_weights``: verified when read; ``folder``
    default results/weights); returns the paths."""
    folder = paths.WEIGHTS_DIR if folder is None else folder
    state = engine.read_checkpoint(checkpoint, P.fingerprint(), map_location="cpu")
    stacked = {**state["params"], **state["buffers"]}
    keys = set(models.build(net).state_dict())
    written = []
    for seed in seeds:
        if seed not in P.seeds:
            raise ParamError(f"seed {seed} is not among the run's seeds {list(P.seeds)}")
        i = list(P.seeds).index(seed)
        one = {k: v[i].detach().cpu().clone() for k, v in stacked.items() if k in keys}
        path = paths.weights_path(net, algorithm, seed, folder)
        save_weights(path, one)          # a header with the SHA-256, checked on load
        written.append(path)
    return written


# ---- one run, planned once ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Plan:
    """One cell's run, decided and checked before any work (:func:`plan`): its settings,
    its kind ('paper', 'custom': the paper preset with other settings, or 'fast'), where
    its record, checkpoint and final weights go (None: not written)."""

    net: str
    algorithm: str
    preset: str
    kind: str
    dataset: str
    params: TrainParams
    out: Path | None
    checkpoint: Path | None
    weights_dir: Path | None
    data_dir: str | None = None

    @property
    def label(self) -> str:
        return f"{self.net} {self.algorithm}"


def custom_tag(overrides: dict[str, Any]) -> str:
    """A folder name for a custom run from its overrides (run control left out), e.g.
    ``effective_epochs=1,seeds=0``; long ones end in a hash."""
    items = sorted((k, v) for k, v in overrides.items()
                   if v is not None and k not in TrainParams.RUN_CONTROL)
    text = ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in items)
    text = re.sub(r"[^A-Za-z0-9=.,+_-]+", "", text.replace("[", "").replace("]", "")) or \
        "custom"
    if len(text) > 60:
        text = text[:48] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return text


def results_folder(dataset: str, kind: str = "paper", overrides: dict | None = None) -> Path:
    """The default folder of a run's record: results/train (paper, MNIST and the full
    CIFAR-10), results/cifar10-subset (paper, the subset), runs/smoke (fast),
    runs/custom/<overrides>[/cifar10-subset] (custom)."""
    if kind == "fast":
        return paths.SMOKE_DIR
    paper = paths.SUBSET_RESULTS if dataset == CIFAR10_SUBSET else paths.TRAIN_DIR
    if kind == "paper":
        return paper
    folder = paths.CUSTOM_DIR / custom_tag(overrides or {})
    return folder / paper.name if dataset == CIFAR10_SUBSET else folder


def _check_file(path: Path | None, flag: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise ParamError(f"{flag}: {path} is a folder where a file belongs; remove it")
    check_dir(path.parent, flag)


def plan(net: str, algorithm: str, preset: str = "paper", device: str = "cpu", *,
         dataset: str | None = None, data_dir: str | os.PathLike | None = None,
         results_dir: str | os.PathLike | None = AUTO,
         runs_dir: str | os.PathLike | None = AUTO,
         weights_dir: str | os.PathLike | None = AUTO, **overrides: Any) -> Plan:
    """Everything a run of (net, algorithm) will do, checked before any work: the
    settings (ParamError for unknown names or values), the device, the kind, and the
    folders (writable, of the right kind).

    Folders (:data:`AUTO`): records as :func:`results_folder`; checkpoints in runs/ (the
    subset's in runs/cifar10-subset); weights as :func:`weights_folder`. A custom or fast
    run is never written under results/ (a ParamError); the checkpoint of a custom run
    carries its fingerprint in its name, so it never collides with the paper run's."""
    dataset = NET_DATASET.get(net, MNIST) if dataset is None else dataset
    if dataset not in DATASETS or NET_DATASET.get(net, dataset) != dataset.split("-")[0]:
        raise ParamError(f"net {net!r} does not train on data set {dataset!r}")
    P = experiment(net, algorithm, preset, device, **overrides)
    check_device(device)
    kind = "fast" if preset == "fast" else "paper" if is_paper(P, net, algorithm) else "custom"
    if results_dir == AUTO:
        results_dir = results_folder(dataset, kind, overrides)
    elif results_dir is not None and kind != "paper" and \
            paths.under(results_dir, paths.RESULTS_DIR):
        raise ParamError(f"{results_dir} is under {paths.RESULTS_DIR}, which holds paper runs "
                         f"only; this {kind} run of {net} {algorithm} differs from the paper "
                         f"settings: leave out --results-dir (it then goes to "
                         f"{results_folder(dataset, kind, overrides)}) or give another folder")
    if runs_dir == AUTO:
        runs_dir = paths.SUBSET_RUNS if dataset == CIFAR10_SUBSET else paths.RUNS_DIR
    out = None if results_dir is None else paths.result_path(net, algorithm, results_dir)
    name = f"{net}-{algorithm}-{preset}" if kind != "custom" else \
        f"{net}-{algorithm}-custom-{P.fingerprint_sha256()[:10]}"
    ckpt = None if runs_dir is None else Path(runs_dir) / f"{name}.pt"
    _check_file(out, "--results-dir")
    _check_file(ckpt, "--runs-dir")
    if weights_dir == AUTO:
        weights_dir = weights_folder(None if out is None else out.parent, kind)
    if net not in WEIGHTS_NETS or weights_dir is None:
        weights_dir = None
    else:
        weights_dir = check_dir(Path(weights_dir), "weights folder")
    return Plan(net, algorithm, preset, kind, dataset, P, out, ckpt, weights_dir,
                None if data_dir is None else str(data_dir))


def execute(p: Plan, *, max_seconds: float | None = None,
            should_stop: Callable[[], bool] | None = None,
            show_progress: bool = True) -> dict[str, Any]:
    """Train (or resume, or skip if finished) the run of plan ``p``; returns its record.

    A finished record with the same hyper-parameters (complete, or every seed diverged)
    is returned without training. A finished LeNet cell also leaves the final weights of
    seed 0 (:func:`weights_folder`)."""
    if p.out is not None and p.out.is_file():
        old = read_json(p.out)
        problem = record_problem(old)
        if problem is not None:
            raise ResultError(f"{p.out} is in the way: {problem}. Move or delete it, then "
                              f"run the same command again")
        same = canonical_json({k: v for k, v in old.get("params", {}).items()
                               if k not in TrainParams.RUN_CONTROL}) == \
            canonical_json(p.params.fingerprint())
        if same and old.get("status", "complete" if old.get("complete") else None) in (
                "complete", "diverged"):
            return _leave_weights(old, p)
    data = load_data(p.dataset, p.preset, p.data_dir, p.params.device)
    result = engine.train(lambda: models.build(p.net), data, p.params, out=p.out,
                          checkpoint=p.checkpoint, max_seconds=max_seconds,
                          should_stop=should_stop,
                          meta={"net": p.net, "dataset": p.dataset, "preset": p.preset,
                                "kind": p.kind},
                          show_progress=show_progress)
    return _leave_weights(result, p)


def _leave_weights(result: dict[str, Any], p: Plan) -> dict[str, Any]:
    """After a cell: the final weights of its WEIGHTS_SEEDS (not diverged) when it is a
    Table 1 cell (:func:`admission`) or a complete fast run, and nothing under results/
    for any other run; files newer than the checkpoint are kept."""
    ckpt, folder = p.checkpoint, p.weights_dir
    admitted = admission(result) is None if p.kind == "paper" else \
        p.kind == "fast" and status_of(result) == "complete"
    if folder is None or not admitted or ckpt is None or not ckpt.is_file() or \
            (p.kind != "paper" and paths.under(folder, paths.RESULTS_DIR)):
        return result
    diverged = dict(zip(result.get("seeds", p.params.seeds), result.get("diverged", [])))
    todo = tuple(s for s in WEIGHTS_SEEDS if s in p.params.seeds and diverged.get(s) is None
                 and not (paths.weights_path(p.net, p.algorithm, s, folder).is_file() and
                          paths.weights_path(p.net, p.algorithm, s, folder).stat().st_mtime
                          >= ckpt.stat().st_mtime))
    if todo:
        export_weights(p.net, p.algorithm, ckpt, p.params, folder, todo)
    return result


def run(net: str, algorithm: str, preset: str = "paper", device: str = "cpu", *,
        max_seconds: float | None = None, show_progress: bool = True,
        **plan_args: Any) -> dict[str, Any]:
    """:func:`execute` of :func:`plan` (same arguments): one cell, resumably."""
    return execute(plan(net, algorithm, preset, device, **plan_args),
                   max_seconds=max_seconds, show_progress=show_progress)


def sweep(plans: list[Plan], *, max_seconds: float | None = None,
          show_progress: bool = True) -> list[dict[str, Any]]:
    """Execute ``plans`` in turn within ``max_seconds``; rerun to continue."""
    start = time.perf_counter()
    results = []
    for p in plans:
        left = None if max_seconds is None else max_seconds - (time.perf_counter() - start)
        if left is not None and left <= 0:
            return results
        results.append(execute(p, max_seconds=left, show_progress=show_progress))
        if status_of(results[-1]) == "incomplete":      # out of time: rerun to continue
            return results
    return results


def plans(nets, algorithms=ALGORITHM_ORDER, preset: str = "paper", device: str = "cpu",
          **plan_args: Any) -> list[Plan]:
    """:func:`plan` of every (net, algorithm), in that order, all checked before any work."""
    return [plan(n, a, preset, device, **plan_args) for n in nets for a in algorithms]



def run_row(dataset: str = CIFAR10, data_dir: str | os.PathLike | None = None,
            device: str = "cuda", *, preset: str = "paper", max_minutes: float | None = None,
            show_progress: bool = True, **plan_args: Any) -> list[dict[str, Any]]:
    """Train (resumably) the four All-CNN cells (Sec. 8.3) on ``dataset``: the full
    CIFAR-10 (Table 1's row) or the subset; call again after ``max_minutes`` to continue.
    Merging a complete full-data row into table1.csv is ``table1.write_row``'s."""
    return sweep(plans(("allcnn",), ALGORITHM_ORDER, preset, device, dataset=dataset,
                       data_dir=data_dir, **plan_args),
                 max_seconds=None if max_minutes is None else 60 * max_minutes,
                 show_progress=show_progress)

# ---- what counts as a Table 1 cell -----------------------------------------------------------
def _settings_and_status(result: dict[str, Any], net: str, alg: str,
                         ignore: tuple[str, ...] = ()) -> str | None:
    """Why ``result`` is refused for its settings (not the paper's, ``ignore`` aside) or
    for a stored status its records contradict; None when neither."""
    diff = settings_difference(result["params"], net, alg, ignore)
    if diff:
        return "not the paper settings: " + "; ".join(diff)
    status = budget_status(result)
    if status != status_of(result):
        return (f"its stored status {status_of(result)!r} disagrees with its records "
                f"({status}): an edited or damaged record")
    return None


def admission(result: dict[str, Any]) -> str | None:
    """None when ``result`` is a Table 1 cell, else why not (one line).

    A cell is a complete run of the ``paper`` preset whose stored hyper-parameters equal
    the experiment's paper settings up to run control (all seeds, full budget, no
    override), with at least one seed left and evaluated. Completeness is read from the
    records (they must reach the budget), not from the stored ``status``; a cell assembled
    from single-seed units (``records.assemble_cell``) is checked the same way."""
    why = record_problem(result)
    if why is not None:
        return why
    net, alg = result.get("net"), result.get("algorithm")
    preset = result.get("preset")
    if preset != "paper":
        return f"a {preset!r}-preset run (a code-path check, not a result)"
    if (net, alg) not in EXPERIMENTS:
        return f"no paper experiment for {net} {alg}"
    why = _settings_and_status(result, net, alg)
    if why is not None:
        return why
    status = budget_status(result)
    if status == "diverged":
        notes = diverged_notes(result)
        return f"every seed diverged ({notes[0] if notes else 'no reason stored'})"
    if status != "complete":
        return "incomplete: run the same command again to continue"
    if summarize(result)["index"] is None:
        return "no evaluated record of a seed that did not diverge"
    return None


# ---- single-seed units (the CPU campaign) ----------------------------------------------------
def unit_params(net: str, algorithm: str, seed: int, device: str = "cpu"):
    """TrainParams of a unit: the paper settings of the cell with ``seeds=(seed,)``."""
    P = experiment(net, algorithm, "paper", device)
    if seed not in P.seeds:
        raise ParamError(f"seed {seed} is not one of the paper's seeds {list(P.seeds)}")
    return experiment(net, algorithm, "paper", device, seeds=(seed,))


def unit_admission(result: Any, net: str, algorithm: str, seed: int) -> str | None:
    """None when ``result`` is a finished unit of (net, algorithm, seed): one seed, the
    paper settings apart from the seed, records that reach the budget (or a diverged
    seed), a stored status that agrees with them. Seeds trained alone equal seeds
    trained together bit for bit on the CPU (the engine's loop; tested), so six such
    units make a cell."""
    why = record_problem(result)
    if why is not None:
        return why
    if (result.get("net"), result.get("algorithm"), result.get("preset")) != \
            (net, algorithm, "paper"):
        return (f"not a paper unit of {net} {algorithm} (it is {result.get('net')} "
                f"{result.get('algorithm')}, preset {result.get('preset')!r})")
    if result["seeds"] != [seed]:
        return f"holds seeds {result['seeds']}, not [{seed}]"
    why = _settings_and_status(result, net, algorithm, ignore=("seeds",))
    if why is not None:
        return why
    if budget_status(result) == "incomplete":
        return "incomplete: the campaign continues it"
    return None


def read_units(net: str, algorithm: str, results_dir: str | os.PathLike | None = None,
               refused: list | None = None) -> dict[int, dict[str, Any]]:
    """The finished, verified units of a cell keyed by seed (checksums required); files
    refused are appended to ``refused`` as (path, reason)."""
    found = {}
    for seed in EXPERIMENTS[(net, algorithm)]["seeds"]:
        path = paths.unit_path(net, algorithm, seed, results_dir)
        if not path.is_file():
            continue
        try:
            rec = read_json(path, require_checksum=True)
        except ResultError as err:
            why = str(err)
        else:
            why = unit_admission(rec, net, algorithm, seed)
        if why is None:
            found[seed] = rec
        elif refused is not None:
            refused.append((path, why))
    return found


def cell_units(results_dir: str | os.PathLike | None = None, nets=None,
               refused: list | None = None) -> dict[tuple[str, str], dict[int, dict]]:
    """Finished units per cell under ``results_dir``/units (verified; see :func:`read_units`)."""
    out = {}
    results_dir = paths.TRAIN_DIR if results_dir is None else results_dir
    if not (Path(results_dir) / paths.UNITS).is_dir():
        return out
    for (net, alg) in EXPERIMENTS:
        if net in NET_DATASET and NET_DATASET[net] == "mnist" and (nets is None or net in nets):
            units = read_units(net, alg, results_dir, refused)
            if units:
                out[(net, alg)] = units
    return out


def load_results(results_dir: str | os.PathLike | None = None, nets=None,
                 complete_only: bool = True, include_smoke: bool = False,
                 include_custom: bool = False, refused: list | None = None
                 ) -> dict[tuple[str, str], dict[str, Any]]:
    """The Table 1 cells under ``results_dir`` keyed by (net, algorithm): records that
    :func:`admission` accepts.

    Asked for explicitly: ``include_smoke`` adds complete fast-preset runs,
    ``include_custom`` any other complete run (custom settings); ``complete_only=False``
    adds incomplete runs as well. Records left out are appended to ``refused`` (when
    given) as ``(path, reason)``."""
    found = {}
    folder = Path(paths.TRAIN_DIR if results_dir is None else results_dir)
    if not folder.is_dir():
        return found
    for key, units in cell_units(folder, nets, refused).items():
        seeds = EXPERIMENTS[key]["seeds"]
        if len(units) == len(seeds):
            rec = assemble_cell(units)
            why = admission(rec)
            if why is None:
                found[key] = rec
                continue
        else:
            why = (f"{len(units)} of {len(seeds)} seeds finished (units "
                   f"{sorted(units)}); the campaign continues")
        if refused is not None:
            refused.append((folder / paths.UNITS / f"{key[0]}-{key[1]}-seed*.json", why))
    for path in sorted(folder.glob("*.json")):
        try:
            rec = read_json(path, require_checksum=True)
        except ResultError as err:
            if refused is not None:
                refused.append((path, str(err)))
            continue
        problem = record_problem(rec)
        if problem is not None:
            if refused is not None:
                refused.append((path, problem))
            continue
        key = (rec.get("net"), rec.get("algorithm"))
        if None in key or (nets is not None and key[0] not in nets) or key in found:
            continue
        why = admission(rec)
        smoke = rec.get("preset") in SMOKE_PRESETS
        done = status_of(rec) == "complete"
        if why is None or ((done or not complete_only) and (
                (include_smoke and smoke) or (include_custom and not smoke))):
            found[key] = rec
        elif refused is not None:
            refused.append((path, why))
    return found
