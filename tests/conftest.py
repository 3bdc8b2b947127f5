"""Shared pytest options and fixtures."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--built-book", default=None,
                     help="path of the built HTML book (_build/html) to check")


@pytest.fixture
def built_book(request) -> Path:
    path = request.config.getoption("--built-book")
    if path is None:
        pytest.skip("pass --built-book _build/html (make test does) to check the built book")
    path = Path(path)
    if not (path / "index.html").is_file():
        pytest.fail(f"no built book at {path}; run `make book` first")
    return path


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests use small tensors on a shared 2-core machine: one intra-op thread is fastest."""
    try:
        import torch
    except ImportError:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
