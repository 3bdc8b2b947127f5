"""The package's layers: each module imports only from the layers allowed to it.

- the PDE/SDE core knows nothing of training, data, results or chapters;
- optimizers stand alone (users' own loops) and never load data; models know no dataset;
- the training engine composes optimizers, models and results, but loads no data itself;
- plotting only reads results and the core;
- ``deeprelax/chapters/`` composes everything; no module outside it imports a chapter.
"""
import ast

from conftest import ROOT

PKG = ROOT / "deeprelax"
CHAPTERS = PKG / "chapters"
BASE = {"params", "runtime", "book", "claims", "stats", "__init__"}
CORE = {"landscapes", "heat", "local_entropy", "hopf_lax", "fd", "fokker_planck", "sde",
        "gibbs", "prox", "burgers", "semiconcavity", "grid", "hjb"}
TRAINING = {"optim", "models", "engine", "table1", "data", "cifar", "results", "__main__",
            "distributed", "hessian", "campaign"}
ALLOWED = {
    **{m: CORE | BASE for m in CORE},
    "optim": BASE,
    "models": BASE,
    "hessian": BASE | {"models"},
    "engine": BASE | {"optim", "models", "results"},
    "plotting": BASE | CORE | {"results"},
    "data": BASE,
    "cifar": BASE | {"data", "results"},
    "results": BASE | {"data"},
    "table1": BASE | {"data", "results", "engine", "models", "optim", "cifar", "plotting",
                      "hessian"},
    "campaign": BASE | {"table1", "results", "engine", "models"},
    "distributed": BASE | {"data", "results", "engine", "models", "optim"},
    **{m: BASE for m in BASE},
}


def _imports(path):
    """Top-level package names a file imports (``deeprelax.X`` or relative ``.X``/``..X``)."""
    inside = path.parent == CHAPTERS
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        if node.level == 0 and module.startswith("deeprelax."):
            found.add(module.split(".")[1])
        elif node.level == 0 and module == "deeprelax":
            found.update(a.name for a in node.names)
        elif node.level == 1 and not inside or node.level == 2 and inside:
            if module:
                found.add(module.split(".")[0])
            else:        # ``from . import x``: a module, or a name of the package's __init__
                base = path.parent.parent if inside else path.parent
                found.update(a.name if (base / f"{a.name}.py").is_file() else "__init__"
                             for a in node.names)
        elif node.level == 1 and inside:
            found.add("chapters")
    return found


def test_modules_respect_their_layer():
    violations = {}
    for path in sorted(PKG.glob("*.py")):
        name = path.stem
        if name == "__main__":
            continue
        assert name in ALLOWED, f"deeprelax/{name}.py is not classified in a layer"
        bad = _imports(path) - ALLOWED[name] - {name}
        if bad:
            violations[name] = sorted(bad)
    assert not violations, f"imports across layers: {violations}"


def test_core_never_imports_training_or_chapters():
    for name in CORE:
        assert not (_imports(PKG / f"{name}.py") & (TRAINING | {"chapters"})), name


def test_no_module_outside_the_chapters_imports_a_chapter():
    for path in sorted(PKG.glob("*.py")):
        if path.stem != "__main__":
            assert "chapters" not in _imports(path), path.name


def test_chapter_modules_are_named_after_their_notebooks():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    modules = {p.stem for p in CHAPTERS.glob("ch*.py")}
    assert modules == {"ch" + n for n in notebooks}, modules ^ {"ch" + n for n in notebooks}
