"""Every chapter follows one pattern: a jupytext twin that agrees with the notebook, a
parameters cell first, short cells without function definitions, the claims table last,
and unknown papermill parameters refused with one clear message."""
import ast
import importlib.util
import json
import statistics
import subprocess
import sys

import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _code_cells(path):
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell) -> str:
    return "".join(cell["source"])


def _nbsync():
    spec = importlib.util.spec_from_file_location("nbsync", ROOT / "scripts" / "nbsync.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 10


def test_every_notebook_has_a_jupytext_twin_that_agrees():
    assert _nbsync().disagreeing_pairs() == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_code_cell_is_the_folded_parameters_cell(path):
    first = _code_cells(path)[0]
    tags = first["metadata"].get("tags", [])
    assert "parameters" in tags and "hide-input" in tags, tags
    tree = ast.parse(_source(first))
    names = {t.id for node in tree.body for t in getattr(node, "targets", [])}
    assert {"preset", "device"} <= names
    assert all(isinstance(node, ast.Assign) for node in tree.body), "plain assignments only"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_chapter_reads_its_parameters_and_ends_with_its_claims(path):
    cells = [_source(c) for c in _code_cells(path)]
    assert "Params.from_notebook(globals())" in cells[1]
    assert cells[-1].strip().startswith("report("), cells[-1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_function_or_class_is_defined_in_a_notebook(path):
    for cell in _code_cells(path):
        tree = ast.parse(_source(cell))
        defs = [n.name for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        assert not defs, defs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_input_line_is_wider_than_the_text_column(path):
    wide = [line for c in _code_cells(path) for line in _source(c).splitlines()
            if len(line) > 80]
    assert not wide, wide


def test_code_cells_are_short_across_the_book():
    lengths = [len(_source(c).strip().splitlines()) for p in NOTEBOOKS for c in _code_cells(p)]
    assert statistics.median(lengths) <= 10, statistics.median(lengths)


def test_papermill_refuses_an_unknown_parameter_with_one_clear_line(tmp_path):
    """``-p t 5.0`` for the knob ``T``: the run fails with a ParamError naming the valid
    names (papermill itself would run the defaults and exit 0)."""
    out = tmp_path / "out.ipynb"
    run = subprocess.run(
        [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3",
         str(ROOT / "notebooks" / "01_introduction.ipynb"), str(out), "-p", "t", "5.0"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode != 0
    assert "ParamError: unknown parameter(s) ['t']" in run.stderr
    assert "valid names" in run.stderr and "'T'" in run.stderr
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["traceback"] == [
        "ParamError: " + errors[0]["evalue"]], "one line, not a traceback from inside"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_of_the_parameters_cell(path):
    """papermill skips a line with two '=' (e.g. one in its comment) and then warns of an
    unknown parameter when the build passes it; every assigned name must be read."""
    from papermill.translators import PythonTranslator
    cell = _code_cells(path)[0]
    assigned = [t.id for node in ast.parse(_source(cell)).body if isinstance(node, ast.Assign)
                for t in node.targets]
    read = [p.name for p in PythonTranslator.inspect({"source": _source(cell)})]
    assert read == assigned
