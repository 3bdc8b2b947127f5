"""How claims are labelled (deeprelax.book.claims): a claim that states no result of the paper
is never counted as the paper's, and no check is written twice."""
import ast
from pathlib import Path

import pytest

from deeprelax.book.claims import (PAPER_STATUSES, Claim, close_to, decided, decided_fact,
    duplicates, fact, labelling_errors, pending)

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "deeprelax" / "chapters")
                  .glob("ch*.py"))
#: positional index of ``paper`` and ``where`` in each helper's signature
POSITIONS = {"Claim": (5, 6), "close_to": (5, 6), "fact": (3, 4), "pending": (2, 3),
             "decided": (None, None), "decided_fact": (None, None)}


def test_a_claim_that_states_nothing_of_the_paper_is_not_the_papers():
    bad = [Claim("mass", "the scheme conserves mass", 1e-13, hi=1e-10, paper="—",
                 where="(FP)"),
           fact("smoke", "the smoke run finishes", True),
           Claim("order", "our solver's order", 1.0, 0.9, 1.1, paper="order 1",
                 where="grid")]
    errors = labelling_errors(bad)
    assert len(errors) == 4
    assert "mass: counted as paper's statement (reproduced)" in errors[0]
    assert errors[2] == "smoke: paper's statement without where"
    assert "order: where 'grid' names no place" in errors[3]
    good = [Claim("mass", "the scheme conserves mass", 1e-13, hi=1e-10, status="check"),
            Claim("l1", "(11) solves (viscous-HJ) (order)", 1.0, 0.8, 1.2,
                  paper="(11) solves it", where="Lemma 1"),
            close_to("ec", "GD ≈ GF", 1.0, 1.0, 0.05, paper="O(η)", where="Elkabetz–Cohen",
                     source="companion"),
            pending("t1", "Table 1", paper="1.17 %", where="Table 1")]
    assert labelling_errors(good) == []
    with pytest.raises(ValueError, match="status 'check' and source 'ours'"):
        Claim("x", "x", 1.0, status="check", source="paper")


def test_one_check_written_twice_is_found():
    lin = Claim("lin", "linear scoping vs SGD", 0.92, lo=0.0, where="Sec. 7.5", paper="x")
    exp = Claim("exp", "exponential scoping vs SGD", 0.92, lo=0.0, where="Sec. 7.5",
                paper="x")
    other = Claim("loss", "final loss", 0.07, lo=0.0, where="Sec. 7.5", paper="x")
    assert duplicates([lin, exp, other]) == [("lin", "exp")]
    assert duplicates([lin, other]) == []
    zeros = [Claim("a", "a gap", 0.0, hi=0.0, where="Sec. 4", paper="x"),
             Claim("b", "a shift", 0.0, hi=0.0, where="Sec. 4", paper="x")]
    assert duplicates(zeros) == []               # exact zeros of two measures


def _const(node):
    return node.value if isinstance(node, ast.Constant) else None


def _static_errors(path: Path) -> list[str]:
    """Claims in a chapter module's source that a reader would count as the paper's
    (a paper status, given or by default) while ``paper`` says "—" or nothing."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in POSITIONS and node.args):
            continue
        if any(k.arg is None for k in node.keywords):       # **kwargs: checked when run
            continue
        kw = {k.arg: k.value for k in node.keywords}
        i_paper, i_where = POSITIONS[node.func.id]
        paper = kw.get("paper", node.args[i_paper] if i_paper is not None
                       and len(node.args) > i_paper else None)
        status = ("pending" if node.func.id == "pending"
                  else _const(kw["status"]) if "status" in kw else "reproduced")
        if status not in PAPER_STATUSES:                    # "check", or computed
            continue
        name = _const(node.args[0]) or ast.unparse(node.args[0])
        text = "" if paper is None else _const(paper)
        if text is not None and text.strip() in ("", "—"):
            out.append(f"{path.name}:{node.lineno} {name}: {status} but paper is "
                       f"{text!r}")
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_claim_that_states_nothing_is_counted_as_the_papers(path):
    assert _static_errors(path) == []


def test_the_static_rule_finds_the_old_unlabelled_claims(tmp_path):
    src = tmp_path / "ch99_x.py"
    src.write_text('Claim("mass_error", "mass", m, hi=1e-10, paper="—", where="(FP)")\n'
                   'fact("ch_monotone", "grows", ok, paper="—", where="eq. (11)")\n'
                   'Claim("mass_error", "mass", m, hi=1e-10, status="check")\n'
                   'Claim("x", "x", m, 0, 1, "—", "Lemma 1", status="corrected")\n')
    errors = _static_errors(src)
    assert [e.split()[1] for e in errors] == ["mass_error:", "ch_monotone:", "x:"]


def test_a_decided_claim_takes_its_label_from_the_number_and_keeps_the_bound():
    """'reproduced' exactly when the statement's bound holds; else 'differs' with the
    complementary bound (at the same value, the other side), which then holds; NaN fails."""
    kw = dict(differs="ours differs by more than 3 σ", paper="0.50 %", where="Table 1")
    for ours, status in ((0.0, "reproduced"), (2.99, "reproduced"), (3.0, "reproduced"),
                         (3.01, "differs"), (40.0, "differs")):
        c = decided("cell", "ours agrees within 3 σ", ours, hi=3.0, **kw)
        assert (c.status, c.passed) == (status, True)
        assert (c.lo, c.hi, c.strict) == ((None, 3.0, False) if status == "reproduced"
                                          else (3.0, None, True))
    low = decided("ratio", "wider than SGD's (ratio < 1)", 1.2, hi=1.0, strict=True, **kw)
    assert (low.status, low.lo, low.strict, low.tolerance) == ("differs", 1.0, False, "≥ 1")
    assert decided("r", "x", 0.999, hi=1.0, strict=True, **kw).status == "reproduced"
    nan = decided("cell", "ours agrees within 3 σ", float("nan"), hi=3.0, **kw)
    assert not nan.passed
    with pytest.raises(ValueError, match="one bound"):
        decided("x", "x", 1.0, lo=0.0, hi=2.0, **kw)
    yes = decided_fact("f", "LeNet beats mnistfc", True, differs="it does not", paper="p",
                       where="Sec. 8.2")
    no = decided_fact("f", "LeNet beats mnistfc", False, differs="it does not", paper="p",
                      where="Sec. 8.2")
    assert (yes.status, yes.statement, no.status, no.statement) == \
        ("reproduced", "LeNet beats mnistfc", "differs", "it does not")
    assert labelling_errors([yes, no]) == []


def test_a_table_is_shown_with_no_cell_cut(capsys):
    import pandas as pd
    from deeprelax.book.glue import show_uncut
    text = "AMD EPYC AVX2 ×1, Intel Xeon AVX512 ×2, AMD EPYC AVX512 ×2, Intel Xeon AVX2 ×1"
    show_uncut(pd.DataFrame({"machines (units)": [text]}))
    assert text in capsys.readouterr().out
    assert text not in repr(pd.DataFrame({"machines (units)": [text]}))   # pandas would cut it
