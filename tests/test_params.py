"""Parameter sets reject bad presets, names, types and ranges with clear messages."""
from dataclasses import dataclass

import pytest

from deeprelax.params import ParamError, Params, knob


@dataclass(frozen=True)
class Demo(Params):
    n: int = knob(10, lo=1, hi=100, doc="grid points")
    lr: float = knob(0.1, lo=0.0, hi=1.0, doc="step size")
    device: str = knob("cpu", choices=("cpu", "cuda"), doc="device")
    sizes: tuple[int, ...] = knob((1, 2), doc="sizes")

    PRESETS = {"fast": {}, "paper": {"n": 50}}


def test_presets_and_overrides():
    assert Demo.from_preset("fast").n == 10
    assert Demo.from_preset("paper").n == 50
    p = Demo.from_preset("paper", n=None, lr=1)        # None keeps the preset's value
    assert p.n == 50 and p.lr == 1.0 and isinstance(p.lr, float)
    assert Demo.from_preset("fast", sizes=[3, 4]).sizes == (3, 4)   # lists from yaml


@pytest.mark.parametrize("kwargs, words", [
    ({"preset": "huge"}, ["unknown preset 'huge'", "fast", "paper"]),
    ({"nn": 3}, ["unknown parameter", "nn", "valid names"]),
    ({"n": 2.5}, ["Demo.n must be int", "2.5"]),
    ({"n": True}, ["Demo.n must be int"]),
    ({"n": 0}, ["Demo.n must lie in [1, 100]", "grid points"]),
    ({"lr": "0.1"}, ["Demo.lr must be float"]),
    ({"device": "tpu"}, ["one of ('cpu', 'cuda')"]),
    ({"sizes": (1, "a")}, ["Demo.sizes must be"]),
])
def test_bad_values_raise_clear_errors(kwargs, words):
    preset = kwargs.pop("preset", "fast")
    with pytest.raises(ParamError) as err:
        Demo.from_preset(preset, **kwargs)
    for w in words:
        assert w in str(err.value)


def test_describe_lists_every_field():
    text = Demo.describe()
    assert text.count("\n") == 3 and "lr = 0.1 in [0.0, 1.0]: step size" in text


def test_parse_overrides_reads_json_values_and_rejects_bad_pairs():
    from deeprelax.params import parse_overrides
    got = parse_overrides(["cuda_graph=true", "lr_schedule=[[0,0.1],[30,0.02]]",
                           "outer=lua", "eval_every=5", "note=a=b"])
    assert got == {"cuda_graph": True, "lr_schedule": [[0, 0.1], [30, 0.02]],
                   "outer": "lua", "eval_every": 5, "note": "a=b"}
    assert parse_overrides(None) == {}
    for bad in ("cuda_graph", "=3"):
        with pytest.raises(ParamError, match="NAME=VALUE"):
            parse_overrides([bad])
