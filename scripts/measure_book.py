"""Measure how the built book reads, per chapter page.

Counts, in ``_build/html/chapters/*.html``: images and captions, visible input-code lines
(cells not folded or removed), input and output lines wider than 80 characters (cut off
or scrolled at the text width), raw NumPy reprs in outputs (``np.float64(...)``,
``array([...])``), and whether papermill's injected parameters cell shows.

Usage: python scripts/measure_book.py [_build/html] [--check]
With --check it exits 1 unless, on every page, captions = images, wide lines = 0,
raw reprs = 0 and no injected cell shows.
"""
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

WIDTH = 80
RAW_REPR = re.compile(r"np\.(float|int|bool_?)\d*\(|\barray\(\[|dtype=")
COLUMNS = ("images", "captions", "visible input lines", "wide input lines",
           "wide output lines", "raw reprs", "injected cell shown")


def _lines(node) -> list[str]:
    return node.get_text().rstrip("\n").split("\n") if node is not None else []


def measure(page: Path) -> dict:
    """The counts of one built chapter page."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    article = soup.find("article") or soup
    cells = article.select("div.cell")
    visible = wide_in = wide_out = raw = 0
    injected = False
    for cell in cells:
        classes = cell.get("class", [])
        injected |= "tag_injected-parameters" in classes
        code = cell.select_one("div.cell_input pre")
        lines = _lines(code)
        folded = "tag_hide-input" in classes or "tag_hide-cell" in classes
        visible += 0 if folded else len(lines)
        wide_in += sum(len(line) > WIDTH for line in lines)
        for out in cell.select("div.cell_output pre"):
            text = _lines(out)
            wide_out += sum(len(line) > WIDTH for line in text)
            raw += sum(bool(RAW_REPR.search(line)) for line in text)
    return {"images": len(article.select("img")),
            "captions": len(article.select("figcaption")),
            "visible input lines": visible, "wide input lines": wide_in,
            "wide output lines": wide_out, "raw reprs": raw,
            "injected cell shown": injected}


def failures(row: dict) -> list[str]:
    """What a page fails of: captions = images, no wide lines or raw reprs, no injected cell."""
    bad = []
    if row["captions"] != row["images"]:
        bad.append(f"{row['images']} images but {row['captions']} captions")
    for key in ("wide input lines", "wide output lines", "raw reprs"):
        if row[key]:
            bad.append(f"{row[key]} {key}")
    if row["injected cell shown"]:
        bad.append("injected parameters cell shown")
    return bad


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    root = Path(args[0] if args else "_build/html")
    pages = sorted((root / "chapters").glob("*.html"))
    if not pages:
        print(f"no chapter pages under {root}/chapters: build the book first (make book)")
        return 1
    rows = {p.stem: measure(p) for p in pages}
    print("| chapter | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
    total = {c: sum(int(r[c]) for r in rows.values()) for c in COLUMNS}
    print("| **all** | " + " | ".join(str(total[c]) for c in COLUMNS) + " |")
    bad = {name: failures(row) for name, row in rows.items() if failures(row)}
    for name, why in bad.items():
        print(f"{name}: " + "; ".join(why))
    return 1 if check and bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
