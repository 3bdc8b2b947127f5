"""Book plumbing: numbers computed in a chapter, handed to its prose with myst-nb's glue."""
from __future__ import annotations

import numpy as np


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` for ``{glue:text}`name:fmt``` roles, as a plain Python scalar.

    NumPy scalars are converted first: myst-nb formats a glued number from its
    text repr, which for ``np.float64`` is ``'np.float64(...)'`` and fails.
    """
    from myst_nb import glue as _glue
    if isinstance(value, np.generic):
        value = value.item()
    _glue(name, value, display=display)


def glue_all(values: dict, prefix: str = "") -> None:
    """Glue every entry of ``values`` (name -> scalar) for the prose."""
    for name, value in values.items():
        glue(prefix + name, value)


def not_yet(what: str, command: str):
    """A one-row table for a result that does not exist yet (pandas): what, and the
    command that makes it; so that a folded cell never shows an empty output."""
    import pandas as pd
    return pd.DataFrame([{"not yet measured": what, "command": command}]).set_index(
        "not yet measured")


def show_uncut(frame) -> None:
    """Display a table (pandas) with no cell's text shortened (pandas cuts at 50
    characters by default)."""
    import pandas as pd
    from IPython.display import display
    with pd.option_context("display.max_colwidth", None):
        display(frame)
