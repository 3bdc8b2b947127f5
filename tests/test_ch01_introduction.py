"""Chapter 01 (Sec. 1, Figure 1): the caption's claims on a coarser grid, and closed forms."""
import numpy as np
import pytest

from deeprelax.pde import landscapes
from deeprelax.chapters import ch01_introduction as ch01
from deeprelax.book.claims import by_name, check, duplicates, labelling_errors
from deeprelax.params import ParamError


@pytest.fixture(scope="module")
def result():
    return ch01.compute(ch01.Params.from_preset("fast", n_grid=701, n_fine=3501))


def test_the_chapters_claims_hold_on_a_coarser_grid(result):
    claims = ch01.claims(result)
    check(claims)
    assert len(by_name(claims)) == 9
    assert labelling_errors(claims) == [] and duplicates(claims) == []
    assert {c.name for c in claims if c.status == "check"} == {
        "ch_monotone", "ch_order", "hj_bound", "mass_error"}


def test_the_initial_mass_sits_over_the_narrow_well(result):
    assert abs(ch01.measures(result)["x_start_well"] - (-1.19)) < 0.02


def test_hopf_lax_error_is_positive_for_the_largest_time(result):
    assert result.convergence["hj"][-1] > 0


def test_figure1_landscape_minima():
    x = np.linspace(-2.5, 2.5, 5001)
    f = landscapes.figure1().on_grid(x)
    mins = x[landscapes.local_minima(f)]
    assert np.allclose(mins, [-1.19, -0.33, 0.5, 1.57], atol=0.02)
    assert abs(x[np.argmin(f)] - 0.5) < 1e-3


def test_bad_parameters():
    with pytest.raises(ParamError, match="T must lie"):
        ch01.Params.from_preset("fast", T=-1.0)


def test_unknown_notebook_names_are_one_clear_error():
    import math
    ns = {"preset": "fast", "T": None, "t": 5.0, "math": math, "print": print, "_x": 1}
    with pytest.raises(ParamError, match=r"unknown parameter\(s\) \['t'\].*valid names"):
        ch01.Params.from_notebook(ns)
    assert ch01.Params.from_notebook({"preset": "paper", "T": 0.5}).T == 0.5
