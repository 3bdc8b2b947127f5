"""Chapter sources: a jupytext 'percent' script ``notebooks/NN_name.py`` beside each
``notebooks/NN_name.ipynb`` (committed without outputs). The ``.py`` twin is what people
edit and what diffs read; the ``.ipynb`` is what papermill executes.

Usage:
  python scripts/nbsync.py notebooks/01_introduction.py [...]   # .py -> .ipynb
  python scripts/nbsync.py --check                                # every pair agrees?
"""
import sys
from pathlib import Path

import jupytext
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def from_script(src) -> nbformat.NotebookNode:
    """The output-free notebook of a percent script (tags and cell metadata kept)."""
    nb = jupytext.read(src)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.id = f"c{i:02d}"
        cell.metadata.pop("lines_to_next_cell", None)
    nbformat.validate(nb)
    return nb


def cells(nb) -> list:
    """What a pair must agree on: each cell's type, source and metadata."""
    return [(c.cell_type, c.source.strip(), dict(c.metadata)) for c in nb.cells]


def disagreeing_pairs() -> list[str]:
    """Names of chapters whose .py and .ipynb differ, or that lack a twin."""
    bad = []
    for ipynb in sorted(NOTEBOOKS.glob("*.ipynb")):
        py = ipynb.with_suffix(".py")
        if not py.is_file() or cells(from_script(py)) != cells(nbformat.read(ipynb, 4)):
            bad.append(ipynb.stem)
    return bad


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        bad = disagreeing_pairs()
        print("pairs disagree (run scripts/nbsync.py on the .py):", bad) if bad else print("all pairs agree")
        sys.exit(1 if bad else 0)
    for src in sys.argv[1:]:
        out = Path(src).with_suffix(".ipynb")
        nbformat.write(from_script(src), out)
        print("wrote", out)
