"""Hide papermill's injected parameters cell in executed chapters (it stays executed and
checked by nbval): adds the tag ``remove-cell`` to every cell tagged ``injected-parameters``.

Usage: python scripts/hide_injected.py book/chapters/01_introduction.ipynb [...]
"""
import sys

import nbformat

for path in sys.argv[1:]:
    nb = nbformat.read(path, 4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)
