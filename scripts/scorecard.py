"""Write the book's scorecard from the executed chapters.

Each chapter's last cell (``deeprelax.claims.report``) publishes its claims as JSON
(mime type ``application/vnd.deeprelax.claims+json``). This script gathers them from
``book/chapters/*.ipynb`` and writes ``book/_generated/scorecard.md``, which the
introduction includes: per chapter, each result of the paper (grouped by where it stands:
"Lemma 1", "Fig. 1", ...) as reproduced, corrected or pending, with its key number.

Usage: python scripts/scorecard.py [book/chapters] [book/_generated/scorecard.md]
"""
import json
import sys
from pathlib import Path

MIME = "application/vnd.deeprelax.claims+json"
RANK = {"reproduced": 0, "corrected": 1, "differs": 2, "pending": 3}
MARK = {"reproduced": "reproduced", "corrected": "corrected (see Errata)",
        "differs": "**differs** from the paper",
        "pending": "pending"}


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


def scorecard(chapters: Path) -> str:
    """The scorecard as MyST Markdown."""
    pages = sorted(chapters.glob("*.ipynb"))
    parts, totals = [], {s: 0 for s in RANK}
    summary = ["| chapter | checks | reproduced | corrected | differs | pending |",
               "|---|---|---|---|---|---|"]
    for page in pages:
        title, claims = chapter_claims(page)
        if not claims:
            continue
        count = {s: sum(c["status"] == s for c in claims) for s in RANK}
        for s in RANK:
            totals[s] += count[s]
        doc = f"chapters/{page.stem}"
        summary.append(f"| {{doc}}`{title} <{doc}>` | {len(claims)} | {count['reproduced']} "
                       f"| {count['corrected']} | {count['differs']} | {count['pending']} |")
        lines = [f"### {{doc}}`{title} <{doc}>`", "",
                 "| where | result | status | key number | checks |", "|---|---|---|---|---|"]
        for row in grouped(claims):
            c = row["first"]
            key = "—" if c["status"] == "pending" else f"{c['ours']} (needs {c['tolerance']})"
            lines.append(f"| {_cell(row['where'])} | {_cell(c['statement'])} "
                         f"| {MARK[row['status']]} | {_cell(key)} | {row['n']} |")
        parts.append("\n".join(lines))
    n = sum(totals.values())
    summary.append(f"| **all** | **{n}** | **{totals['reproduced']}** | "
                   f"**{totals['corrected']}** | **{totals['differs']}** | **{totals['pending']}** |")
    head = ("Every row below is computed when the book is built: a check of a chapter "
            "that fails stops the build, so every number here held. *Corrected* marks "
            "checks of a printed formula or constant that the book corrects (see "
            "{doc}`errata`); *differs* marks our measurements where they contradict what the "
            "paper states (the chapter says how and why); *pending* marks results that need training runs on a GPU, "
            "which the chapter names with the command that produces them.")
    return "\n\n".join([head, "\n".join(summary), *parts]) + "\n"


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "book/chapters")
    dst = Path(sys.argv[2] if len(sys.argv) > 2 else "book/_generated/scorecard.md")
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(scorecard(src))
    print("wrote", dst)
