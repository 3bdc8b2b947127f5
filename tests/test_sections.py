"""Parameter sets of the Sec. 3 and Sec. 6 chapters: presets and clear errors."""
import pytest

from deeprelax.params import ParamError
from deeprelax.chapters import ch03_local_entropy as ch03
from deeprelax.chapters import ch06_semiconcavity as ch06


@pytest.mark.parametrize("cls", [ch03.Params, ch06.Params])
def test_presets_build(cls):
    assert cls.from_preset("fast").device == "cpu"
    assert cls.from_preset("paper") != cls.from_preset("fast")


def test_bad_parameters_are_rejected_with_a_message():
    with pytest.raises(ParamError, match="beta must lie"):
        ch03.Params.from_preset("fast", beta=-1.0)
    with pytest.raises(ValueError, match="interior"):
        ch03.Params.from_preset("fast", interior=6.0)
    with pytest.raises(ValueError, match="at least two"):
        ch03.Params.from_preset("fast", betas=(10.0,))
    with pytest.raises(ParamError, match="unknown preset"):
        ch06.Params.from_preset("huge")
    with pytest.raises(ValueError, match="n = 1, 2, 3"):
        ch06.Params.from_preset("fast", ex13_grids=(101, 51))
