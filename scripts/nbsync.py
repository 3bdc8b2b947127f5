"""Author chapter notebooks as jupytext 'percent' scripts and write output-free .ipynb.

Usage: python scripts/nbsync.py notebooks/src/01_introduction.py [...]
Writes notebooks/<name>.ipynb (no outputs, 'parameters' tag kept). The .ipynb is
what the book and the tests use; the percent script is only an authoring aid.
"""
import sys
from pathlib import Path

import jupytext
import nbformat

for src in sys.argv[1:]:
    nb = jupytext.read(src)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):
        cell.pop("outputs", None) if cell.cell_type != "code" else cell.update(outputs=[])
        if cell.cell_type == "code":
            cell.execution_count = None
        cell.id = f"c{i:02d}"
        cell.metadata.pop("lines_to_next_cell", None)
    out = Path("notebooks") / (Path(src).stem + ".ipynb")
    nbformat.validate(nb)
    nbformat.write(nb, out)
    print("wrote", out)
