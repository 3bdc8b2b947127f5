"""The package's layers, one folder each: an import points to its own folder or down.

- base (``deeprelax/*.py``: params, runtime, stats, paths, results) imports only base;
- ``pde/``, the PDE/SDE core, imports base and itself: nothing of training or the book;
- ``book/`` (glue, claims, plotting) imports base, the core and itself;
- ``train/`` imports base and itself; inside it the optimizers and models stand alone
  (users' own loops: no data, no engine), and the engine loads no data;
- ``__main__`` (the command line) imports base, ``train`` and ``book``;
- ``chapters/`` compose everything; nothing outside them imports a chapter.
"""
import ast

from conftest import ROOT

PKG = ROOT / "deeprelax"
ROOMS = ("pde", "train", "book", "chapters")
ALLOWED_ROOMS = {"base": {"base"}, "pde": {"base", "pde"}, "book": {"base", "pde", "book"},
                 "train": {"base", "train"}, "cli": {"base", "train", "book"},
                 "chapters": {"base", "pde", "train", "book", "chapters"}}
# inside train/: what each module may import besides base (None: any module of train/)
TRAIN_ALLOWED = {"optim": set(), "models": set(), "data": set(), "hessian": {"models"},
                 "cifar": {"data"}, "rng": set(), "config": {"optim"}, "checkpoint": set(),
                 "evaluate": {"models"},
                 "trainer": {"optim", "models", "rng", "config", "checkpoint", "evaluate"},
                 "engine": {"optim", "models", "rng", "config", "checkpoint", "trainer"}}


def room(module: str) -> str:
    """The room of a dotted module name inside the package."""
    parts = module.split(".")
    if parts[0] != "deeprelax":
        return ""
    if len(parts) > 1 and parts[1] in ROOMS:
        return parts[1]
    return "cli" if parts[1:] == ["__main__"] else "base"


def modules():
    """Every module of the package: dotted name -> path."""
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in PKG.rglob("*.py")}


def imports(name: str, path) -> set[str]:
    """The package modules ``name`` imports, at any depth (top level or in a function)."""
    known, found = modules(), set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("deeprelax"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if not base.startswith("deeprelax"):
                continue
            for a in node.names:            # ``from deeprelax.train import engine``
                sub = f"{base}.{a.name}"
                found.add(sub if sub in known or f"{sub}.__init__" in known else base)
    return {m.removesuffix(".__init__") for m in found}


def test_every_module_sits_in_a_room_and_the_top_holds_only_base():
    top = {p.stem for p in PKG.glob("*.py")}
    assert top == {"__init__", "__main__", "params", "runtime", "stats", "paths", "results"}
    assert {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"} \
        == set(ROOMS)


def test_no_import_runs_back_up():
    violations = {}
    for name, path in modules().items():
        bad = {m for m in imports(name, path) if room(m) not in ALLOWED_ROOMS[room(name)]}
        if bad:
            violations[name] = sorted(bad)
    assert not violations, f"imports across layers: {violations}"


def test_optimizers_and_models_stand_alone_and_the_engine_loads_no_data():
    for leaf, allowed in TRAIN_ALLOWED.items():
        name = f"deeprelax.train.{leaf}"
        inside = {m.split(".")[2] for m in imports(name, PKG / "train" / f"{leaf}.py")
                  if room(m) == "train" and m != "deeprelax.train"}
        assert inside <= allowed | {leaf}, (leaf, sorted(inside - allowed))


def test_nothing_outside_the_chapters_imports_a_chapter():
    for name, path in modules().items():
        if room(name) != "chapters":
            assert not {m for m in imports(name, path) if room(m) == "chapters"}, name


def test_the_checker_sees_an_arrow_back_up(tmp_path):
    """A core module importing the engine, and a chapter import, are caught."""
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from ..train import engine\n    from .. import chapters\n")
    found = imports("deeprelax.pde.x", bad)
    assert found == {"deeprelax.train.engine", "deeprelax.chapters"}
    assert {room(m) for m in found} - ALLOWED_ROOMS["pde"] == {"train", "chapters"}


def test_chapter_modules_are_named_after_their_notebooks():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    chapters = {p.stem for p in (PKG / "chapters").glob("ch*.py")}
    assert chapters == {"ch" + n for n in notebooks}, chapters ^ {"ch" + n for n in notebooks}
