"""Repository invariants: compatible ranges in pyproject.toml, the exact verified set in
constraints.txt (what `make env` installs), environment.yml agreeing with both; the
training layer imports with torch and numpy alone; licence and citation files; chapter
sources carry no outputs."""
import json
import re
import subprocess
import sys
import textwrap
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT

# the project's GPU machine: the lower bounds must admit it
GPU_MACHINE = {"python": "3.12", "torch": "2.11"}


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(extras: bool = True) -> list[Requirement]:
    meta = _project()
    reqs = list(meta["dependencies"])
    if extras:
        for extra in meta["optional-dependencies"].values():
            reqs += extra
    return [Requirement(r) for r in reqs]


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([0-9][\w.+]*)", line.strip())
        assert m, f"constraints.txt: {line!r} is not NAME==VERSION"
        name = canonicalize_name(m[1])
        assert name not in pins, f"constraints.txt pins {m[1]} twice"
        pins[name] = m[2]
    return pins


def _extras(spec: str) -> set[str]:
    """The extras of an install spec such as ``.[book,test]``."""
    return set(re.search(r"\[([\w,]+)\]", spec)[1].split(","))


def _environment():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return env, pip


def test_pyproject_declares_compatible_ranges_that_admit_the_gpu_machine():
    meta = _project()
    for req in _requirements():
        ops = {s.operator for s in req.specifier}
        assert "==" not in ops and "===" not in ops, f"{req} is an exact pin: ranges only"
        assert ">=" in ops, f"{req} needs a lower bound (a version that was run)"
    python = Requirement("python" + meta["requires-python"]).specifier
    assert python.contains(GPU_MACHINE["python"] + ".0") and python.contains("3.11.0")
    torch = next(r for r in _requirements(False) if r.name == "torch")
    assert torch.specifier.contains(GPU_MACHINE["torch"] + ".0")
    core = {canonicalize_name(r.name) for r in _requirements(False)}
    assert core == {"numpy", "scipy", "matplotlib", "pandas", "tqdm", "torch"}, core
    assert set(meta["optional-dependencies"]) == {"download", "book", "test"}


def test_constraints_pin_a_version_inside_every_declared_range():
    pins = _constraints()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"constraints.txt does not pin {req.name}"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), \
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's {req}"
    assert "deeprelax" not in pins


def test_environment_yml_installs_the_constraints():
    env, pip = _environment()
    pins = _constraints()
    exact = [p for p in pip if not p.startswith("-")]
    assert all("==" in p for p in exact), exact
    env_pins = {canonicalize_name(p.split("==")[0]): p.split("==")[1] for p in exact}
    assert env_pins == {n: pins[n] for n in env_pins}, "environment.yml and constraints.txt"
    assert set(env_pins) == {canonicalize_name(r.name) for r in _requirements()}
    assert "-c constraints.txt" in pip
    editable = [p for p in pip if p.startswith("-e .")]
    assert len(editable) == 1 and _extras(editable[0]) == set(_project()[
        "optional-dependencies"]), editable
    python = next(d for d in env["dependencies"] if isinstance(d, str)
                  and d.startswith("python="))
    assert Requirement("python" + _project()["requires-python"]).specifier.contains(
        python.split("=")[1] + ".0")


def test_make_env_installs_the_constraints():
    make = (ROOT / "Makefile").read_text()
    install = re.search(r"pip install --quiet -c constraints\.txt -e '(\.\[[\w,]+\])'", make)
    assert install and _extras(install[1]) == set(_project()["optional-dependencies"])
    assert re.search(r"^\$\(VENV\)/\.installed: .*constraints\.txt", make, re.M)


def test_optim_models_engine_need_only_torch_and_numpy():
    """In a fresh interpreter where every other declared dependency fails to import, the
    training layer imports and each optimizer takes a step on one of the paper's nets."""
    blocked = {"scipy", "matplotlib", "pandas", "tqdm", "torchvision", "jupyter_book",
               "sphinx", "sphinxcontrib", "papermill", "ipykernel", "IPython", "nbformat",
               "jupytext", "pytest", "xdist", "nbval", "yaml"}
    script = textwrap.dedent(f"""
        import sys
        for name in {sorted(blocked)!r}:    # as if not installed: import fails,
            sys.modules[name] = None         # importlib.util.find_spec gives None
        import torch, torch.nn.functional as F
        from deeprelax.train import engine, models, optim
        torch.manual_seed(0)
        x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 10
        for make in (lambda p: optim.EntropySGD(p, lr=1.0, gamma=1e4, L=2, outer="lua",
                                                inner_form="authors", beta_ex_inv=2e-8),
                     lambda p: optim.HJ(p, lr=1.0, gamma=1e4, L=2, outer="lua"),
                     lambda p: optim.HEAT(p, lr=0.1, gamma=1e-4, L=2)):
            net = models.mnistfc()
            opt = make(net.parameters())
            def closure():
                opt.zero_grad()
                loss = F.cross_entropy(net(x), y)
                loss.backward()
                return loss
            assert torch.isfinite(opt.step(closure))
        engine.TrainParams(algorithm="hj", L=5)
        assert not any(sys.modules.get(n) for n in {sorted(blocked)!r})
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, env={"OMP_NUM_THREADS": "1",
                                                     "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


def test_licence_and_citation_files():
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in licence
    meta = _project()
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["license"] == "MIT" and str(cff["version"]) == meta["version"]
    paper = cff["preferred-citation"]
    assert paper["doi"] == "10.1007/s40687-018-0148-y" and paper["year"] == 2018
    assert [a["family-names"] for a in paper["authors"]] == [
        "Chaudhari", "Oberman", "Osher", "Soatto", "Carlier"]
    assert any(i["value"] == "arXiv:1704.04932" for i in paper["identifiers"])


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
