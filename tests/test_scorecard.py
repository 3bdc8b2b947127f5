"""The book's scorecard (scripts/scorecard.py) and the claim statuses it counts."""
import importlib.util
import json
from pathlib import Path

import pytest

from deeprelax.book.claims import MIME, Claim, as_records, claims_frame, fact

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("scorecard", ROOT / "scripts" / "scorecard.py")
scorecard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scorecard)


def record(name, where, status, ours="1", source=None):
    out = {"name": name, "where": where, "status": status, "statement": name,
           "ours": ours, "tolerance": "≤ 2", "paper": "", "passed": True}
    if source is not None:
        out["source"] = source
    return out


def chapter(tmp_path, stem, claims, title="A chapter"):
    """An executed chapter as scorecard.py reads it: a title and the published claims."""
    nb = {"cells": [{"cell_type": "markdown", "source": [f"# {title}\n"], "metadata": {}},
                    {"cell_type": "code", "source": [], "metadata": {},
                     "outputs": [{"output_type": "display_data",
                                  "data": {MIME: as_records(claims)}}]}]}
    (tmp_path / f"{stem}.ipynb").write_text(json.dumps(nb))


def test_a_row_shows_the_claim_that_gives_it_its_status():
    rows = scorecard.grouped([record("hvp", "Sec. 6", "reproduced"),
                              record("thesis", "Sec. 6", "differs", "1.9"),
                              record("late", "Sec. 6", "reproduced"),
                              record("alone", "Sec. 1", "corrected")])
    sec6, sec1 = rows
    assert sec6["status"] == "differs" and sec6["first"]["name"] == "thesis"
    assert sec6["n"] == 3 and sec1["first"]["name"] == "alone"


def test_only_the_papers_statements_are_counted_as_reproduced():
    claims = [record("a", "Lemma 1", "reproduced", source="paper"),
              record("b", "Lemma 1", "corrected", source="paper"),
              record("c", "Fig. 4", "pending", source="paper"),
              record("d", "Li et al.", "reproduced", source="companion"),
              record("e", "grid", "check", source="ours"),
              record("f", "grid", "check", source="ours"),
              record("old", "Sec. 2", "reproduced"),        # no source: the paper's
              record("old_check", "—", "check")]            # no source: ours
    n = scorecard.counts(claims)
    assert n == {"reproduced": 2, "corrected": 1, "differs": 0, "pending": 1,
                 "companion": 1, "ours": 3}


def test_the_scorecard_counts_sources_apart(tmp_path):
    chapter(tmp_path, "01_a", [
        Claim("l1", "Lemma 1 holds", 0.5, hi=1.0, paper="≤ 1", where="Lemma 1"),
        Claim("l1b", "its corrected form", 0.5, hi=1.0, paper="≥ 1", where="Lemma 1",
              status="corrected"),
        Claim("count", "parameters", 1867786, 1867786, 1867786, status="check"),
        fact("smoke", "the smoke run finishes", True, status="check")])
    chapter(tmp_path, "10_b", [
        Claim("ec", "GD ≈ GF", 1.0, 0.95, 1.05, paper="O(η)", where="Elkabetz–Cohen",
              source="companion"),
        Claim("t", "thesis", 2.0, lo=1.0, paper="≤ 1", where="Sec. 8", status="differs")],
        title="B")
    dst = tmp_path / "out" / "scorecard.md"
    totals = scorecard.write(tmp_path, dst)
    assert totals == {"reproduced": 1, "corrected": 1, "differs": 1, "pending": 0,
                      "companion": 1, "ours": 2}
    text = dst.read_text()
    assert "| **all** | **1** | **1** | **1** | **0** | **1 / 2** |" in text
    assert "| {doc}`A chapter <chapters/01_a>` | 1 | 1 | 0 | 0 | 0 / 2 |" in text
    assert "our own checks" in text and "Elkabetz–Cohen (companion)" in text
    assert "1,867,786" not in text              # a check shows no key number of the paper
    summary = (dst.parent / "summary.md").read_text()
    assert "**3 statements of the paper**" in summary and "**1** differs" in summary
    assert "**1** is reproduced once a printed formula" in summary
    assert "- thesis ({doc}`B <chapters/10_b>`)" in summary
    assert "1 statements of two companion papers and 2 of our own checks" in summary


def test_exact_bounds_and_whole_numbers_read_as_such():
    c = Claim("n", "parameters", 1867786, 1867786, 1867786, status="check")
    assert (c.ours_text, c.tolerance) == ("1,867,786", "= 1,867,786")
    assert scorecard.key_number(as_records([c])[0]) == "1,867,786 (exactly)"
    assert Claim("x", "x", 0.01234567, hi=0.1).ours_text == "0.01235"


def test_the_verdict_says_what_was_checked():
    ok = Claim("t", "ratio ≥ 1", 1.5, lo=1.0, paper="< 1", where="Sec. 8", status="differs")
    bad = Claim("u", "ratio ≥ 1", 0.5, lo=1.0, paper="< 1", where="Sec. 8", status="differs")
    ours = Claim("v", "solver order", 1.0, 0.9, 1.1, status="check")
    comp = Claim("w", "GD ≈ GF", 1.0, 0.9, 1.1, paper="O(η)", where="E–C", source="companion")
    assert ok.passed and not bad.passed
    marks = list(claims_frame([ok, bad, ours, comp])["verdict"])
    assert marks == ["our value; differs from the paper", "✗", "✓ our own check",
                     "✓ reproduced (companion paper)"]
    assert not any(m.startswith("✓ differs") for m in marks)
    with pytest.raises(ValueError, match="status must be one of"):
        Claim("v", "x", 1.0, status="refuted")


def raw_chapter(tmp_path, stem, records):
    """An executed chapter whose published claims are the records given."""
    nb = {"cells": [{"cell_type": "code", "source": [], "metadata": {},
                     "outputs": [{"output_type": "display_data", "data": {MIME: records}}]}]}
    (tmp_path / f"{stem}.ipynb").write_text(json.dumps(nb))


def test_the_summary_says_which_table_1_cells_are_decided(tmp_path):
    raw_chapter(tmp_path, "08_mnist", [
        record("cell_lenet_sgd", "Table 1", "reproduced", "1.42")
        | {"statement": "LeNet/SGD: our cell agrees with the paper's"},
        record("cell_lenet_hj", "Table 1", "pending", "—")
        | {"statement": "LeNet/HJ: our cell agrees with the paper's"},
        record("mnistfc_below_2", "Table 1", "pending", "—")])       # not a cell
    raw_chapter(tmp_path, "09_cifar", [
        record("cell_allcnn_sgd", "Table 1", "differs", "4.16")
        | {"statement": "All-CNN/SGD: our cell differs from the paper's"}])
    text = scorecard.table1_text(scorecard.read(tmp_path))
    assert text == ("Table 1: **2 of 3** cells are complete and decided (distance from the "
                    "paper's cell in combined σ): LeNet/SGD reproduced (1.4 σ); All-CNN/SGD "
                    "differs (4.2 σ); the other one waits for training runs.")
    assert text in scorecard.summary_text(scorecard.counts([]), [], [], text)
    empty = tmp_path / "none"
    empty.mkdir()
    assert scorecard.table1_text(scorecard.read(empty)) == ""
