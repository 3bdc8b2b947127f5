"""Sphinx extension: read the package's docstrings, which write formulas in plain text.

The docstrings of ``deeprelax`` are meant for ``help()`` first: they write norms and
absolute values as ``|x - y|^2``. In reStructuredText ``|name|`` is a substitution
reference, so autodoc would warn (or fail) on every formula. Before autodoc parses a
docstring, this extension escapes each ``|`` outside inline literals (````...````),
interpreted text (```...```) and literal blocks (after ``::``), so it renders as typed.
It also lists the knobs of every ``deeprelax.params.Params`` class (name, default, range
and meaning, from ``knob(doc=...)``) under the class's docstring, and skips the
"Alias for field number N" entries of named tuples. Registered in ``_config.yml``
(``sphinx: local_extensions``).
"""
from __future__ import annotations

import dataclasses
import re

_SPANS = re.compile(r"(``.+?``|`[^`]+`)")


def escape_bars(line: str) -> str:
    """``line`` with every ``|`` outside literal and interpreted-text spans escaped."""
    parts = _SPANS.split(line)
    return "".join(p if i % 2 else p.replace("|", r"\|") for i, p in enumerate(parts))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def escape_docstring(lines: list[str]) -> list[str]:
    """The docstring's lines with :func:`escape_bars` applied outside literal blocks."""
    out, block = [], None          # block: indentation of the line that opened a ``::``
    for line in lines:
        if block is not None:
            if not line.strip() or _indent(line) > block:
                out.append(line)
                continue
            block = None
        out.append(line if line.lstrip().startswith(">>>") else escape_bars(line))
        if line.rstrip().endswith("::"):
            block = _indent(line)
    return out


def _num(v) -> str:
    """A bound for the knob list: ``g`` format for floats (1e+12, not 1000000000000.0)."""
    return f"{v:g}" if isinstance(v, float) else str(v)


def knob_lines(cls) -> list[str]:
    """A bullet list of the knobs of a ``Params`` dataclass: name, default, range, meaning."""
    out = ["", "Knobs (name = default, allowed values: meaning):", ""]
    for f in dataclasses.fields(cls):
        m = f.metadata
        if m.get("choices"):
            rng = " in " + ", ".join(f"``{c!r}``" for c in m["choices"])
        elif m.get("lo") is not None or m.get("hi") is not None:
            rng = f" in [{_num(m.get('lo'))}, {_num(m.get('hi'))}]"
        else:
            rng = ""
        out.append(f"- ``{f.name} = {f.default!r}``{rng}: {m.get('doc', '')}")
    return out


def _is_params(obj) -> bool:
    try:
        from deeprelax.params import Params
    except ImportError:
        return False
    return isinstance(obj, type) and issubclass(obj, Params) and obj is not Params \
        and dataclasses.is_dataclass(obj)


def _process(app, what, name, obj, options, lines):
    if what == "class" and _is_params(obj):
        lines.extend(knob_lines(obj))
    lines[:] = escape_docstring(lines)


def _skip(app, what, name, obj, skip, options):
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    app.connect("autodoc-skip-member", _skip)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
