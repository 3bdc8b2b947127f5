"""The CPU campaign: units, their admission, the assembled cell, stopping and resuming."""
import dataclasses
import json
import math
import signal

import pytest
import torch

from deeprelax import paths
from deeprelax.runtime import cpu_model

from deeprelax.train import campaign, engine, experiments, models
from deeprelax.results import read_json, write_json

NET, ALG = "lenet", "sgd"
SEEDS = (0, 1, 2)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """LeNet SGD as a 3-seed, 2-effective-epoch cell on 256 MNIST-shaped images: the
    campaign's code paths at test size (the paper settings otherwise)."""
    exp = dict(experiments.EXPERIMENTS[(NET, ALG)], effective_epochs=2, seeds=SEEDS,
               eval_batch=64)
    monkeypatch.setitem(experiments.EXPERIMENTS, (NET, ALG), exp)
    g = torch.Generator().manual_seed(0)
    data = engine.TensorData(torch.rand(256, 1, 28, 28, generator=g) * 255,
                             torch.randint(0, 10, (256,), generator=g),
                             torch.rand(64, 1, 28, 28, generator=g) * 255,
                             torch.randint(0, 10, (64,), generator=g), name="mnist")
    monkeypatch.setattr(experiments, "load_data", lambda *a, **k: data)
    dirs = dict(results_dir=tmp_path / "results", runs_dir=tmp_path / "runs",
                weights_dir=tmp_path / "weights")
    order = tuple((NET, ALG, s) for s in SEEDS)
    return dirs, order, data


def test_units_assemble_into_the_cell_trained_at_once(tiny):
    dirs, order, data = tiny
    assert campaign.run(None, measure=False, show_progress=False, order=order,
                        out=lambda s: None, **dirs) == campaign.EXIT_DONE
    found = experiments.load_results(dirs["results_dir"], nets=(NET,))
    cell = found[(NET, ALG)]
    assert experiments.admission(cell) is None and cell["seeds"] == list(SEEDS)
    whole = engine.train(lambda: models.build(NET), data,
                         experiments.experiment(NET, ALG, "paper"), show_progress=False)
    # seeds alone = seeds together, bit for bit (loop batching): the cell is the same
    assert cell["val_error"] == whole["val_error"]
    assert cell["train_loss"] == whole["train_loss"]
    assert [u["seed"] for u in cell["units"]] == list(SEEDS)
    assert all(u["threads"] == 1 and u["cpu"] for u in cell["units"])
    assert (dirs["weights_dir"] / "lenet-sgd-seed0.pt").is_file()
    # only finished units are under results/; checkpoints stay in runs/
    assert sorted(p.name for p in (dirs["results_dir"] / "units").iterdir()) == \
        [f"lenet-sgd-seed{s}.json" for s in SEEDS]


def test_an_incomplete_set_of_units_is_not_a_cell(tiny):
    dirs, order, _ = tiny
    campaign.run(None, measure=False, show_progress=False, order=order[:2],
                 out=lambda s: None, **dirs)
    refused = []
    assert experiments.load_results(dirs["results_dir"], nets=(NET,), refused=refused) == {}
    assert any("2 of 3 seeds finished" in why for _, why in refused)
    rows = campaign.status_table(dirs["results_dir"], dirs["runs_dir"])
    row = next(r for r in rows if (r["net"], r["algorithm"]) == (NET, ALG))
    assert row["done"] == [0, 1]
    # the machine of each finished unit, from its record
    here = f"{cpu_model()} {engine._cpu_capability()}"
    assert row["machines"] == {here: 2}


def test_whole_units_starts_only_a_unit_projected_to_finish(tiny, monkeypatch):
    """--whole-units: a unit whose cell speed says it cannot finish within --max-minutes
    is not started (nothing written); one that can is trained to the end."""
    dirs, order, _ = tiny
    said = []
    monkeypatch.setattr(campaign, "cell_rate", lambda units, u, speeds: 1e6)  # s / eff. epoch
    assert campaign.run(60, measure=False, show_progress=False, order=order[:1],
                        out=said.append, whole_units=True, **dirs) == campaign.EXIT_INCOMPLETE
    assert any("needs about 33333 min" in s and "--whole-units" in s for s in said)
    assert not [f for f in dirs["runs_dir"].rglob("*") if f.is_file()]
    assert experiments.read_units(NET, ALG, dirs["results_dir"]) == {}
    monkeypatch.setattr(campaign, "cell_rate", lambda units, u, speeds: 1.0)
    assert campaign.run(60, measure=False, show_progress=False, order=order[:1],
                        out=said.append, whole_units=True, **dirs) == campaign.EXIT_DONE
    assert list(experiments.read_units(NET, ALG, dirs["results_dir"])) == [0]


def test_whole_units_measures_a_cell_whose_speed_is_unknown(tiny, monkeypatch):
    """--whole-units without a speed for the cell (no unit ran, --no-measure): the cell is
    measured first, and a unit the measurement says cannot finish is not started."""
    dirs, order, _ = tiny
    said, measured = [], []

    def fake_measure(cells, show=print):
        measured.extend(cells)
        return {c: 1e6 for c in cells}
    monkeypatch.setattr(campaign, "measure_speeds", fake_measure)
    assert campaign.run(60, measure=False, show_progress=False, order=order[:1],
                        out=said.append, whole_units=True, **dirs) == campaign.EXIT_INCOMPLETE
    assert measured == [(NET, ALG)]
    assert any("needs about 33333 min" in s for s in said)
    assert not [f for f in dirs["runs_dir"].rglob("*") if f.is_file()]


def test_machines_label_names_each_machine_and_its_units():
    label = campaign.machines_label({"AMD EPYC AVX2": 6,
                                     "Intel(R) Xeon(R) Processor AVX512": 2})
    assert label == "AMD EPYC AVX2 ×6, Intel Xeon AVX512 ×2"
    assert campaign.machines_label({}) == "—"


def test_chapter_08_draws_an_incomplete_cell_as_provisional_and_decides_nothing(tiny):
    """Two of three seeds finished: chapter 08 assembles them as a provisional cell (best
    mean over the two seeds' curves, read back from the unit files), leaves Table 1 and
    the cell's claim pending, and draws the cell dashed."""
    from deeprelax.chapters import ch08_mnist as ch08
    dirs, order, _ = tiny
    campaign.run(None, measure=False, show_progress=False, order=order[:2],
                 out=lambda s: None, **dirs)
    R = ch08.compute(ch08.Params(smoke=False, results_dir=str(dirs["results_dir"])))
    assert R.results == {} and list(R.partial) == [(NET, ALG)]
    units = [read_json(dirs["results_dir"] / "units" / f"{NET}-{ALG}-seed{s}.json")
             for s in (0, 1)]
    epochs = units[0]["effective_epoch"]
    means = [(units[0]["val_error"][0][k] + units[1]["val_error"][0][k]) / 2
             for k in range(len(epochs))]
    k = min(range(len(epochs)), key=lambda i: (means[i], i))
    text = ch08.provisional(R, NET, ALG)
    assert text.startswith(f"{means[k]:.2f} ± ") and f"@ {epochs[k]:.0f} (provisional)" in text
    assert ch08.provisional(R, "mnistfc", "sgd") == "—"
    one = dict(R.partial[(NET, ALG)], seeds=[0], diverged=[None],   # seed 0 alone: no ±
               val_error=[units[0]["val_error"][0]])
    k0 = min(range(len(epochs)), key=lambda i: (units[0]["val_error"][0][i], i))
    alone = dataclasses.replace(R, partial={(NET, ALG): one})
    assert ch08.provisional(alone, NET, ALG) == (
        f"{units[0]['val_error'][0][k0]:.2f} @ {epochs[k0]:.0f} (provisional)")
    cell = next(c for c in ch08.claims(R) if c.name == f"cell_{NET}_{ALG}")
    assert cell.status == "pending"
    assert "2 of 3 seeds" in ch08.figure_state(R)
    fig = ch08.figure_4(R)
    dashed = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == pytest.approx(means, abs=0)


def test_a_forged_unit_is_refused(tiny):
    dirs, order, _ = tiny
    campaign.run(None, measure=False, show_progress=False, order=order, out=lambda s: None,
                 **dirs)
    path = paths.unit_path(NET, ALG, 2, dirs["results_dir"])
    rec = read_json(path)
    # cut to its first effective epoch but still claiming "complete", re-checksummed
    for key in ("effective_epoch", "grads", "lr", "gamma"):
        rec[key] = rec[key][:1]
    rec["train_loss"] = [rec["train_loss"][0][:1]]
    rec["val_error"] = [rec["val_error"][0][:1]]
    write_json(path, rec)
    refused = []
    assert experiments.load_results(dirs["results_dir"], nets=(NET,), refused=refused) == {}
    assert any("disagrees with its records" in why for _, why in refused)
    # a unit without a checksum is refused too
    raw = json.loads(path.read_text())
    raw.pop("content_sha256")
    path.write_text(json.dumps(raw))
    refused.clear()
    assert experiments.load_results(dirs["results_dir"], nets=(NET,), refused=refused) == {}
    assert any("carries no checksum" in why for _, why in refused)


def test_sigterm_stops_after_saving_and_the_rerun_equals_an_uninterrupted_run(tiny):
    dirs, order, _ = tiny
    calls = []

    def out(line):
        calls.append(line)
        if line.startswith("unit lenet sgd seed 1: from"):
            signal.raise_signal(signal.SIGTERM)        # arrives during seed 1's training
    code = campaign.run(None, measure=False, show_progress=False, order=order, out=out,
                        **dirs)
    assert code == campaign.EXIT_INCOMPLETE
    assert any("stopped by SIGTERM after saving" in c for c in calls)
    state = campaign.unit_state(NET, ALG, 1, dirs["results_dir"], dirs["runs_dir"])
    assert state.state == "partial" and state.epochs == 1      # one epoch, then saved
    assert campaign.run(None, measure=False, show_progress=False, order=order,
                        out=lambda s: None, **dirs) == campaign.EXIT_DONE
    resumed = experiments.load_results(dirs["results_dir"], nets=(NET,))[(NET, ALG)]
    for p in list(dirs["results_dir"].rglob("*.json")) + list(dirs["runs_dir"].rglob("*")):
        p.unlink()
    campaign.run(None, measure=False, show_progress=False, order=order, out=lambda s: None,
                 **dirs)
    fresh = experiments.load_results(dirs["results_dir"], nets=(NET,))[(NET, ALG)]
    assert resumed["val_error"] == fresh["val_error"]
    assert resumed["train_loss"] == fresh["train_loss"]


def test_projection_counts_units_and_rates():
    U = campaign.Unit
    units = [U("lenet", "sgd", 0, "done", 100, 3600.0, 100),
             U("lenet", "sgd", 1, "partial", 50, 1800.0, 100),
             U("lenet", "hj", 0, "todo", 0, 0.0, 100)]
    p = campaign.projection(units, {("lenet", "hj"): 72.0})
    assert p["done"] == 1 and p["total"] == 3
    assert p["spent_h"] == pytest.approx(1.5)
    # seed 1: 50 epochs at 36 s; hj seed 0: 100 epochs at the measured 72 s
    assert p["remaining_h"] == pytest.approx((50 * 36 + 100 * 72) / 3600)


def test_projection_names_the_cells_it_cannot_project():
    U = campaign.Unit
    units = [U("lenet", "sgd", 0, "partial", 10, 360.0, 100),
             U("lenet", "hj", 0, "todo", 0, 0.0, 100)]
    p = campaign.projection(units, {})
    assert p["unmeasured"] == ["lenet hj"] and math.isnan(p["remaining_h"])
    assert p["known_h"] == pytest.approx(90 * 36 / 3600)
    assert "1 cells not measured yet" in campaign.progress_line(units, {})


def test_the_order_runs_every_unit_once_lenet_first_seed_zero_of_each_cell_first():
    order = campaign.ORDER
    assert sorted(order) == sorted((n, a, s) for n in campaign.NETS
                                   for a in campaign.ALGORITHMS for s in campaign.SEEDS)
    assert len(set(order)) == 48
    assert {n for n, _, _ in order[:24]} == {"lenet"}
    for k, net in ((0, "lenet"), (24, "mnistfc")):
        assert order[k:k + 4] == tuple((net, a, 0) for a in campaign.ALGORITHMS)
        rest = order[k + 4:k + 24]
        assert [a for _, a, _ in rest] == [a for a in campaign.ALGORITHMS for _ in range(5)]
