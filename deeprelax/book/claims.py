"""Named, checkable claims: what the paper states, what we measured, the tolerance, pass/fail.

Every chapter module has ``claims(result) -> list[Claim]``. The notebook shows them as a
table (:func:`claims_frame`) and asserts them (:func:`check`); the unit tests call the same
function, so no threshold is written twice.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable

from deeprelax.book.glue import glue, show_uncut


def _num(v: float) -> str:
    """A number for a table cell: 4 significant digits ('1e-09', '0.0271', '2.558e-13');
    a whole number below 10¹⁰ in full ('1,867,786', '20')."""
    v = float(v)
    if math.isfinite(v) and v == int(v) and abs(v) < 1e10:
        return f"{int(v):,}"
    return f"{v:.4g}"


#: The statuses of a statement of a paper (this one or a companion).
PAPER_STATUSES = ("reproduced", "corrected", "differs", "pending")
#: What a claim checks. The first four are statements of a paper (``source`` "paper" or
#: "companion"); "check" is a check of this project's own software (``source`` "ours"):
#: parameter counts, smoke runs, checksums, bookkeeping, self-consistency.
STATUSES = ("reproduced", "corrected", "differs", "pending", "check")
#: Whose statement a claim checks: this paper, a companion paper (chapters 10-11, the
#: Entropy-SGD paper), or ours (a check of our own software, status "check").
SOURCES = ("paper", "companion", "ours")
MIME = "application/vnd.deeprelax.claims+json"   # read by scripts/scorecard.py


@dataclass(frozen=True)
class Claim:
    """One check: ``ours`` against ``[lo, hi]`` (either end may be open), or a yes/no fact."""

    name: str                    # short key, also the glue name of ``ours``
    statement: str               # the claim in words (one line)
    ours: float                  # our measured value (1.0/0.0 for a yes/no fact)
    lo: float | None = None      # lower bound (inclusive), None for none
    hi: float | None = None      # upper bound (inclusive), None for none
    paper: str = ""              # what the paper states or prints ("order 1", "> 0", ...)
    where: str = ""              # where in the paper ("Lemma 1", "Fig. 1", "eq. (16)")
    boolean: bool = False        # a yes/no fact: passes when ``ours`` is true
    strict: bool = False         # bounds exclusive ('> 0') instead of inclusive ('≥ 0')
    status: str = "reproduced"   # "reproduced", "corrected" (checks a corrected printed
    #                              formula or constant, see the Errata page), "differs"
    #                              (asserts our measurement where it contradicts the
    #                              paper's statement), "pending", or "check" (a check of
    #                              our own software, not a statement of a paper)
    source: str = ""             # "paper", "companion" or "ours"; "" = "ours" for status
    #                              "check", else "paper"

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        source = self.source or ("ours" if self.status == "check" else "paper")
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if (source == "ours") != (self.status == "check"):
            raise ValueError(f"claim {self.name!r}: a check of our own software has status "
                             f"'check' and source 'ours' (got status {self.status!r}, "
                             f"source {source!r})")
        object.__setattr__(self, "source", source)

    @property
    def passed(self) -> bool:
        """True when the measured value satisfies the bound (NaN never passes)."""
        if self.status == "pending":
            return False
        v = float(self.ours)
        if self.boolean:
            return bool(v)
        if not math.isfinite(v):
            return False
        lo = None if self.lo is None else float(self.lo)
        hi = None if self.hi is None else float(self.hi)
        if self.strict:
            return (lo is None or v > lo) and (hi is None or v < hi)
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    @property
    def tolerance(self) -> str:
        """The bound as text: '≥ lo', '≤ hi', '[lo, hi]' or 'holds'."""
        if self.boolean:
            return "holds"
        if self.lo is not None and self.hi is not None and self.lo == self.hi and not self.strict:
            return f"= {_num(self.lo)}"
        if self.lo is not None and self.hi is not None:
            return (f"({_num(self.lo)}, {_num(self.hi)})" if self.strict
                    else f"[{_num(self.lo)}, {_num(self.hi)}]")
        if self.lo is not None:
            return f"{'>' if self.strict else '≥'} {_num(self.lo)}"
        if self.hi is not None:
            return f"{'<' if self.strict else '≤'} {_num(self.hi)}"
        return "—"

    @property
    def ours_text(self) -> str:
        """Our value as text ('yes'/'no' for a yes/no fact, '—' while pending)."""
        if self.status == "pending":
            return "—"
        if self.boolean:
            return "yes" if bool(self.ours) else "no"
        return _num(self.ours)


def fact(name: str, statement: str, holds: bool, paper: str = "", where: str = "",
         status: str = "reproduced", source: str = "") -> Claim:
    """A yes/no claim (e.g. 'every margin lies above its confidence interval')."""
    return Claim(name, statement, float(bool(holds)), paper=paper, where=where, boolean=True,
                 status=status, source=source)


def close_to(name: str, statement: str, ours: float, target: float, tol: float,
             paper: str = "", where: str = "", status: str = "reproduced",
             source: str = "") -> Claim:
    """``|ours - target| <= tol``."""
    return Claim(name, statement, float(ours), target - tol, target + tol, paper, where,
                 status=status, source=source)


def decided(name: str, statement: str, ours: float, *, differs: str,
            lo: float | None = None, hi: float | None = None, strict: bool = False,
            paper: str = "", where: str = "", source: str = "") -> Claim:
    """A paper's statement decided by our number: 'reproduced' with the statement's one-sided
    bound (``lo`` or ``hi``) when ``ours`` meets it; otherwise 'differs', stating
    ``differs`` (what we measured) with the complementary bound, so the table says which
    way the number fell and the bound is never moved. A NaN meets neither and fails."""
    if (lo is None) == (hi is None):
        raise ValueError(f"claim {name!r}: decided() takes one bound, lo or hi")
    same = Claim(name, statement, float(ours), lo, hi, paper, where, strict=strict,
                 source=source)
    if same.passed or not math.isfinite(float(ours)):
        return same
    return Claim(name, differs, float(ours), hi, lo, paper, where, strict=not strict,
                 status="differs", source=source)


def decided_fact(name: str, statement: str, holds: bool, *, differs: str, paper: str = "",
                 where: str = "", source: str = "") -> Claim:
    """A yes/no statement of a paper decided by our run: 'reproduced' when it ``holds``,
    else 'differs' with the statement ``differs`` (its negation, which then holds)."""
    if holds:
        return fact(name, statement, True, paper=paper, where=where, source=source)
    return fact(name, differs, True, paper=paper, where=where, status="differs",
                source=source)


def pending(name: str, statement: str, paper: str = "", where: str = "",
            source: str = "") -> Claim:
    """A claim whose numbers do not exist yet (e.g. a GPU run): shown, never asserted."""
    return Claim(name, statement, float("nan"), paper=paper, where=where, status="pending",
                 source=source)


def check(claims: Iterable[Claim]) -> None:
    """Raise one AssertionError naming every claim that fails (the notebook's assertion)."""
    failed = [c for c in claims if c.status != "pending" and not c.passed]
    if failed:
        lines = [f"{c.name}: {c.statement} -- ours {c.ours_text}, needs {c.tolerance}"
                 for c in failed]
        raise AssertionError("claims not met:\n" + "\n".join(lines))


def by_name(claims: Iterable[Claim]) -> dict[str, Claim]:
    """The claims keyed by name (names must be unique)."""
    out: dict[str, Claim] = {}
    for c in claims:
        if c.name in out:
            raise ValueError(f"duplicate claim name {c.name!r}")
        out[c.name] = c
    return out


#: The verdict column of a chapter's claims table, by status (a claim that fails is ✗).
VERDICTS = {"reproduced": "✓ reproduced", "corrected": "✓ with the corrected formula",
            "differs": "our value; differs from the paper", "pending": "pending",
            "check": "✓ our own check"}


def _mark(c: Claim) -> str:
    """The table's last column: what the row checks and whether it held (✗ if not)."""
    if c.status == "pending":
        return VERDICTS["pending"]
    if not c.passed:
        return "✗"
    mark = VERDICTS[c.status]
    return mark + " (companion paper)" if c.source == "companion" else mark


def claims_frame(claims: Iterable[Claim]):
    """The chapter's claims table (pandas): statement, paper, ours, tolerance, verdict."""
    import pandas as pd
    rows = [{"claim": c.statement, "where": c.where or "—", "paper": c.paper or "—",
             "ours": c.ours_text, "tolerance": c.tolerance,
             "verdict": _mark(c)} for c in claims]
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))


#: Words that name a place in a paper ("Lemma 1", "eq. (12)", "Sec. 7.1", "Fig. 1", "(HL)").
PLACE = re.compile(r"\b(Sec\.|Secs\.|Section|Lemmas?|Theorem|Thm\.|eqs?\.|Fig\.|Figure|"
                   r"Remark|Example|Table|Appendix)|\([A-Za-z-]+\)|\(\d+\)")


def labelling_errors(claims: Iterable[Claim]) -> list[str]:
    """What is wrong with how the claims are labelled (empty when nothing is).

    A claim counted as a paper's statement (status reproduced / corrected / differs /
    pending) must say what that paper states (``paper``, not "—") and where; for this
    paper, ``where`` names a place in it (a section, lemma, equation, figure, ...).
    A check of our own software has status "check" and source "ours".
    """
    out = []
    for c in claims:
        if c.status in PAPER_STATUSES:
            if c.paper.strip() in ("", "—", "-"):
                out.append(f"{c.name}: counted as {c.source}'s statement ({c.status}) but "
                           "states no result of it (paper is empty)")
            if not c.where.strip():
                out.append(f"{c.name}: {c.source}'s statement without where")
            elif c.source == "paper" and not PLACE.search(c.where):
                out.append(f"{c.name}: where {c.where!r} names no place in the paper")
        if (c.source == "ours") != (c.status == "check"):
            out.append(f"{c.name}: source {c.source!r} with status {c.status!r}")
    return out


def duplicates(claims: Iterable[Claim]) -> list[tuple[str, str]]:
    """Pairs of numeric claims that report the same measured value (not a whole number,
    which two different counts or exact zeros can share) against the same bound: one
    check written twice, which cannot tell the two cases apart."""
    seen: dict[tuple, str] = {}
    out = []
    for c in claims:
        if c.boolean or c.status == "pending" or not math.isfinite(c.ours) \
                or float(c.ours).is_integer():
            continue
        key = (float(c.ours), c.lo, c.hi, c.strict)
        if key in seen:
            out.append((seen[key], c.name))
        else:
            seen[key] = c.name
    return out


def glue_claims(claims: Iterable[Claim]) -> None:
    """Glue each claim's value under its name for ``{glue:text}`` roles in the prose."""
    for c in claims:
        if c.status != "pending":
            glue(c.name, float(c.ours))


def as_records(claims: Iterable[Claim]) -> list[dict]:
    """Plain dicts of the claims (for the book's scorecard)."""
    return [{"name": c.name, "statement": c.statement, "where": c.where, "paper": c.paper,
             "ours": c.ours_text, "tolerance": c.tolerance, "status": c.status,
             "source": c.source,
             "passed": c.passed} for c in claims]


def report(claims: Iterable[Claim]) -> None:
    """Glue, assert and show the table: the one call that ends a chapter's checks.

    Also publishes the claims as JSON (:data:`MIME`), from which the build writes the
    book's scorecard.
    """
    from IPython.display import display
    claims = list(claims)
    by_name(claims)
    glue_claims(claims)
    check(claims)
    show_uncut(claims_frame(claims))                        # statements are never cut
    display({MIME: as_records(claims)}, raw=True)
