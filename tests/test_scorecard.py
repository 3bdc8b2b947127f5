"""The book's scorecard (scripts/scorecard.py) and the claim statuses it counts."""
import importlib.util
from pathlib import Path

import pytest

from deeprelax.claims import Claim, claims_frame

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("scorecard", ROOT / "scripts" / "scorecard.py")
scorecard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scorecard)


def record(name, where, status, ours="1"):
    return {"name": name, "where": where, "status": status, "statement": name,
            "ours": ours, "tolerance": "≤ 2", "paper": "", "passed": True}


def test_a_row_shows_the_claim_that_gives_it_its_status():
    rows = scorecard.grouped([record("hvp", "Sec. 6", "reproduced"),
                              record("thesis", "Sec. 6", "differs", "1.9"),
                              record("late", "Sec. 6", "reproduced"),
                              record("alone", "Sec. 1", "corrected")])
    sec6, sec1 = rows
    assert sec6["status"] == "differs" and sec6["first"]["name"] == "thesis"
    assert sec6["n"] == 3 and sec1["first"]["name"] == "alone"


def test_differs_is_asserted_and_marked():
    ok = Claim("t", "ratio ≥ 1", 1.5, lo=1.0, status="differs")
    bad = Claim("u", "ratio ≥ 1", 0.5, lo=1.0, status="differs")
    assert ok.passed and not bad.passed
    marks = list(claims_frame([ok, bad]).iloc[:, -1])
    assert marks == ["✓ differs from paper", "✗"]
    with pytest.raises(ValueError, match="status must be one of"):
        Claim("v", "x", 1.0, status="refuted")
