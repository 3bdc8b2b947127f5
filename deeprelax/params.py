"""Typed, validated parameter sets for chapters and experiments.

Each chapter defines a frozen dataclass whose fields are declared with :func:`knob`
(default, bounds, one-line meaning) and a ``PRESETS`` table. Papermill parameters
are passed through :meth:`Params.from_preset`, which rejects unknown presets,
unknown names, wrong types and out-of-range values with one clear message.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ParamError(ValueError):
    """A parameter set was given an unknown preset, name, type or value."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows bad input as one line, not a traceback from deep inside."""
        return [f"ParamError: {self}"]


# Names IPython and papermill define in every kernel; never chapter parameters.
_KERNEL_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


def parse_overrides(pairs: list[str] | None, what: str = "--set") -> dict[str, Any]:
    """``["name=value", ...]`` from a command line (``what``: the flag or argument that
    gave them) as a dict; values are JSON where they parse as JSON (``3``, ``true``,
    ``[[0, 0.1]]``), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ParamError(f"{what} expects NAME=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def knob(default: Any, *, lo: float | None = None, hi: float | None = None,
         choices: tuple | None = None, doc: str = "") -> Any:
    """Declare a parameter: default, closed bounds ``[lo, hi]`` or ``choices``, meaning."""
    return field(default=default,
                 metadata={"lo": lo, "hi": hi, "choices": choices, "doc": doc})


def _type_ok(value: Any, tp: Any) -> bool:
    """True when ``value`` fits the annotation ``tp`` (int accepted for float)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_type_ok(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_type_ok(v, args[0]) for v in value)
        return len(args) == len(value) and all(_type_ok(v, a) for v, a in zip(value, args))
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _short(value: Any) -> str:
    """A value for a table cell: floats in 4 significant digits, long tuples shortened."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        items = [_short(v) for v in value]
        return "(" + ", ".join(items if len(items) <= 6 else items[:5] + ["…", items[-1]]) + ")"
    return str(value)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _finite(value: Any) -> bool:
    """False when ``value`` is, or holds (in tuples/lists), a NaN or infinite float: NaN
    passes every comparison with a bound, so range checks alone would let it through."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    return True


@dataclass(frozen=True)
class Params:
    """Base class: subclasses add ``knob`` fields and a ``PRESETS`` dict."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            tp = hints[f.name]
            if isinstance(value, list) and typing.get_origin(tp) is tuple:
                value = tuple(value)          # papermill/yaml give lists
                object.__setattr__(self, f.name, value)
            if isinstance(value, int) and not isinstance(value, bool) and tp is float:
                value = float(value)
                object.__setattr__(self, f.name, value)
            where = f"{type(self).__name__}.{f.name}"
            if not _type_ok(value, tp):
                raise ParamError(f"{where} must be {_type_name(tp)}, got {value!r} "
                                 f"({type(value).__name__}). {f.metadata.get('doc', '')}")
            if not _finite(value):
                raise ParamError(f"{where} must be finite (no NaN or infinity), got "
                                 f"{value!r}. {f.metadata.get('doc', '')}")
            lo, hi, choices = (f.metadata.get(k) for k in ("lo", "hi", "choices"))
            if choices is not None and value not in choices:
                raise ParamError(f"{where} must be one of {choices}, got {value!r}.")
            if lo is not None and value < lo or hi is not None and value > hi:
                raise ParamError(f"{where} must lie in [{lo}, {hi}], got {value!r}. "
                                 f"{f.metadata.get('doc', '')}")

    @classmethod
    def from_preset(cls, preset: str = "fast", **overrides: Any):
        """Build from a named preset; ``None`` overrides mean 'keep the preset's value'."""
        if preset not in cls.PRESETS:
            raise ParamError(f"unknown preset {preset!r} for {cls.__name__}; "
                             f"choose one of {sorted(cls.PRESETS)}")
        values = dict(cls.PRESETS[preset])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.checked(**values)

    @classmethod
    def from_notebook(cls, namespace: dict[str, Any]):
        """The chapter's parameters from a notebook's globals, i.e. its ``parameters`` cell
        plus papermill's injected cell: ``preset`` and the knobs (``None`` keeps the
        preset's value). Call it before defining any other data: every other plain value
        in ``namespace`` is an unknown parameter (e.g. ``-p t 5`` for the knob ``T``) and
        gives one ParamError listing the valid names."""
        import types
        given = {k: v for k, v in namespace.items()
                 if not k.startswith("_") and k not in _KERNEL_NAMES
                 and not isinstance(v, (types.ModuleType, type)) and not callable(v)}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - names - {"preset"})
        if unknown:
            raise ParamError(f"unknown parameter(s) {unknown} for this chapter; valid names: "
                             f"{sorted(names | {'preset'})}")
        preset = given.pop("preset", "fast")
        return cls.from_preset(preset, **given)

    @classmethod
    def checked(cls, **values: Any):
        """``cls(**values)``, but an unknown name is a ParamError that lists the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParamError(f"unknown parameter(s) {unknown} for {cls.__name__}; "
                             f"valid names: {sorted(names)}")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the values (for result provenance)."""
        return dataclasses.asdict(self)

    def frame(self):
        """The values of this run as a table (pandas): name, value, meaning."""
        import pandas as pd
        return pd.DataFrame([{"parameter": f.name, "value": _short(getattr(self, f.name)),
                              "meaning": f.metadata.get("doc", "")}
                             for f in dataclasses.fields(self)]).set_index("parameter")

    @classmethod
    def describe(cls) -> str:
        """One line per parameter: name, default, bounds and meaning."""
        lines = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            rng = f" in {m['choices']}" if m.get("choices") else (
                f" in [{m.get('lo')}, {m.get('hi')}]" if m.get("lo") is not None
                or m.get("hi") is not None else "")
            lines.append(f"{f.name} = {f.default!r}{rng}: {m.get('doc', '')}")
        return "\n".join(lines)
