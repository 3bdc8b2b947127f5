"""One module per book chapter, named after its notebook (``chNN_name`` for ``NN_name.ipynb``).

Each holds the chapter's ``Params`` (knobs and presets), ``compute(P)`` (a result of arrays
and numbers), ``claims(result)`` (named checks: the paper's statement, our value, the
tolerance, pass/fail; the notebook and the tests call the same function) and ``figure_*``
functions that return figures. Chapters compose everything below them; no module outside
this package imports a chapter.
"""
