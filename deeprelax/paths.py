"""Every folder and file name under ``results/`` (committed, real runs only) and ``runs/``
(checkpoints and scratch, never committed), defined once.

``results/``: ``train/<net>-<algorithm>.json`` (a Table 1 cell), ``train/units/`` (the
campaign's single-seed units), ``weights/`` (final weights chapter 13 reads),
``table1.csv``, ``cifar10-subset/``, ``width-of-minima-lenet.json``,
``benchmark-<device>.json``. ``runs/``: a paper run's checkpoints, ``units/`` (the units'),
``smoke/`` (fast-preset runs), ``custom/`` (paper preset, other settings),
``cifar10-subset/``, ``ch13/``, ``elastic/``.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "results"
RUNS_DIR = REPO_ROOT / "runs"
CACHE_DIR = REPO_ROOT / "build" / "cache"       # derived data (e.g. whitened CIFAR-10)

TRAIN_DIR = RESULTS_DIR / "train"               # Table 1 cells
UNITS = "units"                                 # <TRAIN_DIR>/units/<net>-<alg>-seed<k>.json
UNIT_RUNS_DIR = RUNS_DIR / UNITS                # the units' checkpoints
WEIGHTS_DIR = RESULTS_DIR / "weights"           # <net>-<alg>-seed<k>.pt
TABLE1_CSV = RESULTS_DIR / "table1.csv"
SMOKE_DIR = RUNS_DIR / "smoke"                  # fast (smoke) runs never write under results/
CUSTOM_DIR = RUNS_DIR / "custom"                # paper preset with other settings
SUBSET_RESULTS = RESULTS_DIR / "cifar10-subset"  # the CIFAR-10 subset experiment
SUBSET_RUNS = RUNS_DIR / "cifar10-subset"
WIDTH_RESULT = RESULTS_DIR / "width-of-minima-lenet.json"   # chapter 13, paper preset
WIDTH_RUNS = RUNS_DIR / "ch13"
ELASTIC_RUNS = RUNS_DIR / "elastic"


def result_path(net: str, algorithm: str, folder: str | Path | None = None) -> Path:
    """The record of one (net, algorithm) run: ``<folder>/<net>-<algorithm>.json``
    (default folder ``results/train``)."""
    return Path(TRAIN_DIR if folder is None else folder) / f"{net}-{algorithm}.json"


def unit_path(net: str, algorithm: str, seed: int, folder: str | Path | None = None) -> Path:
    """A finished campaign unit (one seed of one cell): ``<folder>/units/…-seed<k>.json``."""
    return Path(TRAIN_DIR if folder is None else folder) / UNITS / \
        f"{net}-{algorithm}-seed{seed}.json"


def unit_checkpoint(net: str, algorithm: str, seed: int, folder: str | Path | None = None,
                    suffix: str = ".pt") -> Path:
    """A unit's checkpoint (``suffix`` ".json": its record in progress), under runs/units."""
    return Path(UNIT_RUNS_DIR if folder is None else folder) / \
        f"{net}-{algorithm}-seed{seed}{suffix}"


def weights_path(net: str, algorithm: str, seed: int = 0, folder: str | Path | None = None
                 ) -> Path:
    """Final weights of one seed: ``<folder>/<net>-<algorithm>-seed<k>.pt`` (default
    ``results/weights``), the file ``deeprelax.train.hessian.load_weights`` reads."""
    return Path(WEIGHTS_DIR if folder is None else folder) / f"{net}-{algorithm}-seed{seed}.pt"


def under(path: str | Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` (both resolved)."""
    return Path(path).resolve().is_relative_to(folder.resolve())
