"""Repository invariants: pinned dependencies agree, chapter sources carry no outputs."""
import json
import re
import tomllib

import yaml

from conftest import ROOT


def _pins_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    return sorted(reqs)


def _pins_environment():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return sorted(p for p in pip if not p.startswith("-e"))


def test_environment_yml_matches_pyproject():
    assert _pins_environment() == _pins_pyproject()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][\w.]*", p) for p in _pins_pyproject())


def _notebooks():
    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert nbs, "no chapter notebooks found"
    return nbs


def test_notebook_sources_have_no_outputs():
    for path in _notebooks():
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], f"{path.name} has stored outputs"
                assert cell["execution_count"] is None, f"{path.name} has execution counts"


def test_notebooks_have_one_parameters_cell_with_preset_and_device():
    for path in _notebooks():
        cells = json.loads(path.read_text())["cells"]
        tagged = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters'"
        src = "".join(tagged[0]["source"])
        assert re.search(r'^preset\s*=\s*"fast"', src, re.M), path.name
        assert re.search(r'^device\s*=\s*"cpu"', src, re.M), path.name


def test_every_notebook_is_a_chapter_of_the_book():
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for path in _notebooks():
        assert f"chapters/{path.stem}" in toc, f"{path.name} is not in book/_toc.yml"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme
