"""The package's layers: each module imports only from the layers allowed to it.

- the PDE/SDE core knows nothing of training, data or results;
- optimizers stand alone (users' own loops) and never load data; models know no dataset;
- the training engine composes optimizers, models and results, but loads no data itself;
- plotting only reads results and the core.
"""
import ast

from conftest import ROOT

PKG = ROOT / "deeprelax"
BASE = {"params", "runtime", "book", "__init__"}
CORE = {"landscapes", "heat", "local_entropy", "hopf_lax", "fd", "fokker_planck", "sde",
        "gibbs", "prox", "burgers", "semiconcavity", "homogenization", "control"}
TRAINING = {"optim", "models", "engine", "table1", "data", "cifar", "results", "__main__"}
ALLOWED = {
    **{m: CORE | BASE for m in CORE},
    "optim": BASE,
    "models": BASE,
    "engine": BASE | {"optim", "models", "results"},
    "plotting": BASE | CORE | {"results"},
    "data": BASE,
    "cifar": BASE | {"data", "results"},
    "results": BASE | {"data"},
}


def _imports(path):
    """Sibling modules a file imports (relative imports, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:     # ``from . import x``: a sibling module, or a name of __init__
                found.update(a.name if (PKG / f"{a.name}.py").is_file() else "__init__"
                             for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deeprelax."):
            found.add(node.module.split(".")[1])
    return found


def test_modules_respect_their_layer():
    violations = {}
    for path in sorted(PKG.glob("*.py")):
        name = path.stem
        if name not in ALLOWED:
            continue
        bad = _imports(path) - ALLOWED[name] - {name}
        if bad:
            violations[name] = sorted(bad)
    assert not violations, f"imports across layers: {violations}"


def test_core_never_imports_training():
    for name in CORE:
        assert not (_imports(PKG / f"{name}.py") & TRAINING), name


def test_every_module_is_classified_or_a_chapter_module():
    chapter_modules = {p.stem for p in PKG.glob("*.py")} - set(ALLOWED) - BASE - {"table1", "__main__"}
    # chapter computations compose the layers; they are named after the paper's parts
    assert chapter_modules <= {"figure1", "section3", "section6", "section7", "section83",
                               "gdgf", "msa"}, chapter_modules
