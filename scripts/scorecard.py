"""Write the book's scorecard and results summary from the executed chapters.

Each chapter's last cell (``deeprelax.book.claims.report``) publishes its claims as JSON
(mime type ``application/vnd.deeprelax.claims+json``). This script gathers them from
``book/chapters/*.ipynb`` and writes ``book/_generated/scorecard.md`` and, beside it,
``summary.md``, which the introduction includes. It counts the statements of the paper
(reproduced, corrected, differs, pending: each claim's ``source`` "paper"), then
separately the statements of companion papers (``source`` "companion") and the checks
of our own software (status "check", ``source`` "ours"). A record without ``source``
(written before sources existed) counts as "ours" when its status is "check", else as
the paper's.

Usage: python scripts/scorecard.py [book/chapters] [book/_generated/scorecard.md]
"""
import json
import sys
from pathlib import Path

MIME = "application/vnd.deeprelax.claims+json"
STATEMENT = ("reproduced", "corrected", "differs", "pending")
RANK = {"check": -1, "reproduced": 0, "corrected": 1, "differs": 2, "pending": 3}
MARK = {"reproduced": "reproduced", "corrected": "reproduced with the corrected formula",
        "differs": "**differs** from the paper", "pending": "pending",
        "check": "passed"}


def source(c: dict) -> str:
    """The claim's source; records without one: "ours" for a check, else "paper"."""
    return c.get("source") or ("ours" if c["status"] == "check" else "paper")


def chapter_claims(path: Path) -> tuple[str, list[dict]]:
    """(title, claims) of one executed chapter; the title is its first heading."""
    nb = json.loads(path.read_text())
    title, claims = path.stem, []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and title == path.stem:
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
        for out in cell.get("outputs", []):
            claims += out.get("data", {}).get(MIME, [])
    return title, claims


Page = tuple[Path, str, list[dict]]


def read(chapters: Path) -> list[Page]:
    """Every executed chapter in ``chapters`` as (path, title, claims), read once."""
    return [(page, *chapter_claims(page)) for page in sorted(chapters.glob("*.ipynb"))]


def counts(claims: list[dict]) -> dict[str, int]:
    """The paper's statements by status, then 'companion' and 'ours' (checks)."""
    out = {s: sum(source(c) == "paper" and c["status"] == s for c in claims)
           for s in STATEMENT}
    out["companion"] = sum(source(c) == "companion" for c in claims)
    out["ours"] = sum(source(c) == "ours" for c in claims)
    return out


def grouped(claims: list[dict]) -> list[dict]:
    """One row per place in the paper: the worst status, the number of checks, and the
    first claim with that status (whose statement and number the row shows)."""
    rows: dict[str, dict] = {}
    for c in claims:
        key = c["where"] or "—"
        row = rows.setdefault(key, {"where": key, "status": c["status"], "n": 0, "first": c})
        row["n"] += 1
        if RANK[c["status"]] > RANK[row["status"]]:
            row["status"], row["first"] = c["status"], c
    return list(rows.values())


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def key_number(c: dict) -> str:
    """Our value and the bound it met ('—' while pending, 'yes' for a fact)."""
    if c["status"] == "pending":
        return "—"
    if c["tolerance"] == "holds":
        return c["ours"]
    if c["tolerance"].startswith("= "):
        return f"{c['ours']} (exactly)"
    return f"{c['ours']} (needs {c['tolerance']})"


def chapter_section(title: str, doc: str, claims: list[dict]) -> str:
    """The chapter's rows: the paper's statements, companion statements, our checks."""
    lines = [f"### {{doc}}`{title} <{doc}>`", "",
             "| where | result | status | key number | checks |", "|---|---|---|---|---|"]
    for src, label in (("paper", ""), ("companion", " (companion)")):
        for row in grouped([c for c in claims if source(c) == src]):
            c = row["first"]
            lines.append(f"| {_cell(row['where'])}{label} | {_cell(c['statement'])} "
                         f"| {MARK[row['status']]} | {_cell(key_number(c))} | {row['n']} |")
    ours = [c for c in claims if source(c) == "ours"]
    if ours:
        lines.append("| — | our own checks (solvers, samplers, bookkeeping, findings the "
                     f"paper does not state) | {MARK['check']} | — | {len(ours)} |")
    return "\n".join(lines)


def scorecard(pages: list[Page]) -> tuple[str, dict[str, int]]:
    """The scorecard of the chapters ``pages`` (see ``read``) as MyST Markdown, and the
    totals."""
    parts, totals = [], {k: 0 for k in (*STATEMENT, "companion", "ours")}
    summary = ["| chapter | reproduced | corrected | differs | pending | apart |",
               "|---|---|---|---|---|---|"]

    def row(name: str, n: dict, bold: bool = False) -> str:
        b = "**" if bold else ""
        cells = [*(n[s] for s in STATEMENT), f"{n['companion']} / {n['ours']}"]
        return f"| {name} | " + " | ".join(f"{b}{v}{b}" for v in cells) + " |"

    for page, title, claims in pages:
        if not claims:
            continue
        n = counts(claims)
        for k in totals:
            totals[k] += n[k]
        doc = f"chapters/{page.stem}"
        summary.append(row(f"{{doc}}`{title} <{doc}>`", n))
        parts.append(chapter_section(title, doc, claims))
    summary.append(row("**all**", totals, bold=True))
    head = ("Every row below is computed when the book is built: a check of a chapter "
            "that fails stops the build, so every number here held. The first four "
            "columns count statements of the paper: *reproduced*; *corrected*, reproduced "
            "once a printed formula or constant is corrected (see {doc}`errata`); "
            "*differs*, our measurement where it contradicts what the paper states (the "
            "chapter says how and why); *pending*, results that need training runs not yet "
            "made (the CPU campaign, or a GPU), which the chapter names with the command "
            "that produces them. The last "
            "column, *apart*, counts the rest as *companion / ours*: statements of the "
            "companion papers, checked in the companion chapters, and our own checks "
            "(convergence of our solvers, "
            "parameter counts, checksums, bookkeeping, findings the paper does not state), "
            "which support the results but state none of the paper's.")
    return "\n\n".join([head, "\n".join(summary), *parts]) + "\n", totals


def summary_text(totals: dict[str, int], differs: list[tuple[str, str]],
                 pending: list[str], table1: str = "") -> str:
    """The introduction's results paragraph: the counts in words, then ``table1``."""
    n = sum(totals[s] for s in STATEMENT)
    text = (f"The book checks **{n} statements of the paper**. "
            f"**{totals['reproduced']}** are reproduced as stated; "
            f"**{totals['corrected']}** {'is' if totals['corrected'] == 1 else 'are'} "
            "reproduced once a printed formula or constant "
            f"is corrected (the {{doc}}`errata`); **{totals['differs']}** "
            f"{'differs' if totals['differs'] == 1 else 'differ'} from what we measure; "
            f"**{totals['pending']}** {'is' if totals['pending'] == 1 else 'are'} pending, "
            "waiting for training runs (the Table 1 campaign on the CPU, or a GPU). "
            "Counted apart are "
            f"{totals['companion']} statements of two companion papers and "
            f"{totals['ours']} of our own checks.")
    lines = [text]
    if table1:
        lines += ["", table1]
    if differs:
        lines += ["", "Where our measurement differs from the paper:", ""]
        lines += [f"- {statement} ({where})" for statement, where in differs]
    if pending:
        lines += ["", "Pending: " + "; ".join(pending) + "."]
    return "\n".join(lines) + "\n"


def results(pages: list[Page]) -> tuple[list[tuple[str, str]], list[str]]:
    """The paper's statements that differ (statement, chapter) and the chapters with
    pending statements ('Table 1 (chapter 08)', ...)."""
    differs, pending = [], []
    for page, title, claims in pages:
        doc = f"{{doc}}`{title} <chapters/{page.stem}>`"
        paper = [c for c in claims if source(c) == "paper"]
        differs += [(_cell(c["statement"]), doc) for c in paper if c["status"] == "differs"]
        places = sorted({c["where"] for c in paper if c["status"] == "pending"})
        if places:
            pending.append(f"{', '.join(places)} in {doc}")
    return differs, pending


def _sigma(ours: str) -> str:
    """A claim's number as printed (e.g. '0.7661') to one decimal, else as it is."""
    try:
        return f"{float(ours.replace(',', '')):.1f}"
    except ValueError:
        return ours


def table1_text(pages: list[Page]) -> str:
    """Where Table 1 stands, from the chapters' cell claims (``cell_<net>_<algorithm>``,
    at "Table 1"): cells decided of all, and each decided cell with its verdict and
    distance in combined σ; '' when no chapter has cell claims."""
    cells = []
    for _, _, claims in pages:
        cells += [c for c in claims if c["where"] == "Table 1"
                  and str(c.get("name", "")).startswith("cell_")]
    if not cells:
        return ""
    done = [c for c in cells if c["status"] in ("reproduced", "differs")]
    text = f"Table 1: **{len(done)} of {len(cells)}** cells are complete and decided"
    if done:
        text += " (distance from the paper's cell in combined σ): " + "; ".join(
            f"{c['statement'].split(':')[0]} {c['status']} ({_sigma(c['ours'])} σ)"
            for c in done)
    rest = len(cells) - len(done)
    tail = {0: ".", 1: "; the other one waits for training runs."}
    return text + tail.get(rest, f"; the other {rest} wait for training runs.")


def write(src: Path, dst: Path) -> dict[str, int]:
    """Write ``dst`` (the scorecard) and ``summary.md`` beside it; return the totals."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    pages = read(src)
    text, totals = scorecard(pages)
    dst.write_text(text)
    (dst.parent / "summary.md").write_text(summary_text(totals, *results(pages),
                                                        table1_text(pages)))
    return totals


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "book/chapters")
    dst = Path(sys.argv[2] if len(sys.argv) > 2 else "book/_generated/scorecard.md")
    totals = write(src, dst)
    print("wrote", dst, "and", dst.parent / "summary.md", totals)
