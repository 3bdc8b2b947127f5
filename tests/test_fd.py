"""Centred differences (gradient, second derivatives, Hessian) and the monotone schemes' orders."""
import numpy as np
import pytest

from deeprelax.pde import fd, landscapes


def _errors(n):
    land = landscapes.two_d("fourier")
    x = np.linspace(-2, 2, n)
    y = np.linspace(-1.5, 1.0, n)
    axes = (x, y)
    X = landscapes.grid_points(axes)
    u = land.on_grid(axes)
    inner = (slice(1, -1), slice(1, -1))
    eg = np.abs(fd.gradient(u, axes) - land.grad(X)).max()
    eh = np.abs(fd.hessian(u, axes)[inner] - land.hess(X)[inner]).max()
    ed = np.abs(fd.second_derivatives(u, axes)[inner]
                - np.diagonal(land.hess(X), axis1=-2, axis2=-1)[inner]).max()
    return x[1] - x[0], eg, eh, ed


def test_centred_differences_are_second_order():
    h1, *e1 = _errors(101)
    h2, *e2 = _errors(201)
    orders = np.log(np.array(e1) / np.array(e2)) / np.log(h1 / h2)
    assert np.all((orders > 1.8) & (orders < 2.3)), orders


def test_edges_are_nan_and_shapes():
    x = np.linspace(0, 1, 6)
    u = np.add.outer(x**2, x**3)
    H = fd.hessian(u, (x, x))
    assert H.shape == (6, 6, 2, 2)
    assert np.isnan(H[0, 3, 0, 0]) and np.isnan(H[3, 0, 0, 1]) and np.isfinite(H[3, 3]).all()
    assert H[3, 3, 0, 0] == pytest.approx(2.0) and H[3, 3, 0, 1] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        fd.gradient(u, (x,))
