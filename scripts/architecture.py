"""Measure the structure of a deeprelax checkout: rooms and arrows, largest definitions, hops.

1. Rooms and arrows. Every module under ``deeprelax/`` belongs to a room: its folder
   (``pde``, ``train``, ``book``, ``chapters``; ``base`` for a file directly in
   ``deeprelax/``), or, in the flat layout without those folders, the room that ``OLD`` names.
   Every import (``ast``; absolute, ``from deeprelax import x``, relative, at any depth) is
   resolved to a package module; an arrow is a distinct (module, imported module) pair. An
   arrow runs back up when its target's room is not in ``ALLOWED`` of its source's room
   (``__main__``, the command line, may also import pde, train and book); nothing outside
   ``chapters`` may import a chapter. Also counted: package imports inside functions.
2. The largest definitions: the 8 longest functions and classes (end_lineno - lineno + 1),
   and the files over 500 lines.
3. The hops of one cheap training run (``CMD``), run fresh from the checkout under
   ``sys.setprofile``: every 'call' event whose caller and callee both lie in ``deeprelax/``.
   Reported: modules visited, distinct crossings (caller module, callee module, callee
   function) between different modules, distinct module pairs crossed, and the longest
   chain of module changes on one call stack (package frames only).

Usage: python scripts/architecture.py [--root DIR] [--no-trace]
"""
import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOMS = ("base", "pde", "train", "book", "chapters")
BASE = {"params", "runtime", "stats", "results", "paths", "__init__", "__main__"}
OLD = {**{m: "base" for m in BASE},
       **{m: "pde" for m in "landscapes heat local_entropy hopf_lax prox gibbs fd "
          "fokker_planck burgers semiconcavity sde grid hjb".split()},
       **{m: "book" for m in "book claims plotting".split()},
       **{m: "train" for m in "optim models data cifar hessian engine table1 campaign "
          "distributed".split()}}
ALLOWED = {"base": {"base"}, "pde": {"base", "pde"}, "book": {"base", "pde", "book"},
           "train": {"base", "train"}, "chapters": set(ROOMS) | {"?"}, "?": set(ROOMS) | {"?"}}
CLI_ALLOWED = {"base", "pde", "train", "book"}
CMD = ["train", "--net", "lenet", "--algorithm", "sgd", "--preset", "fast", "--seeds", "0"]


def modules(root: Path) -> dict:
    """Full dotted name -> (path, short name, room, syntax tree) for every .py file under
    deeprelax/ (a file that does not parse is named and left out)."""
    pkg = root / "deeprelax"
    new = any((pkg / d).is_dir() for d in ("pde", "train", "book"))
    found = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = path.relative_to(pkg).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        full = ".".join(("deeprelax",) + parts).removesuffix(".__init__")
        if len(parts) > 1:
            room = parts[0] if new or parts[0] == "chapters" else "?"
        else:
            room = "base" if new else OLD.get(parts[0], "?")
        try:
            tree = ast.parse(path.read_text(), str(path))
        except SyntaxError as e:
            print(f"left out, does not parse: {path}: {e}")
            continue
        found[full] = (path, ".".join(parts), room, tree)
    return found


def targets(node, name: str, is_pkg: bool, mods: dict) -> set:
    """The package modules one import node (in module ``name``) brings in."""
    def longest(dotted):        # the longest prefix of a dotted name that is a module
        while dotted and dotted not in mods:
            dotted = dotted.rpartition(".")[0]
        return dotted or None
    if isinstance(node, ast.Import):
        return {longest(a.name) for a in node.names} - {None}
    if node.level:
        package = name if is_pkg else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = package + ("." + node.module if node.module else "")
    else:
        base = node.module or ""
    if base.split(".")[0] != "deeprelax":
        return set()
    return {f"{base}.{a.name}" if f"{base}.{a.name}" in mods else longest(base)
            for a in node.names} - {None}


def import_graph(mods: dict):
    """Arrows {(source, target)}; package import statements inside functions per room (and
    under "any module", every import statement inside a function, the package's or not)."""
    arrows, inside = set(), Counter()
    for name, (path, _, room, tree) in mods.items():
        stack = [(tree, False)]
        while stack:
            node, in_func = stack.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                hit = targets(node, name, path.name == "__init__.py", mods) - {name}
                arrows |= {(name, t) for t in hit}
                inside[room] += bool(hit) and in_func
                inside["any module"] += in_func
            in_func = in_func or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            stack.extend((child, in_func) for child in ast.iter_child_nodes(node))
    return arrows, inside


def report_rooms(mods: dict) -> None:
    arrows, inside = import_graph(mods)
    room = {n: m[2] for n, m in mods.items()}
    short = {n: m[1] for n, m in mods.items()}
    rooms = [r for r in ROOMS if r in room.values()] + sorted(set(room.values()) - set(ROOMS))
    print("== 1. Rooms and arrows ==")
    print(f"modules directly in deeprelax/: "
          f"{sum(s.count('.') == 0 for s in short.values())}")
    for r in rooms:
        names = sorted(short[n] for n in room if room[n] == r)
        print(f"  {r:<9} {len(names):>3} modules: {' '.join(names)}")
    extra = sorted(s for n, s in short.items() if "." not in s and s not in BASE
                   and room[n] == "base")
    if extra:
        print(f"  (top-level modules outside the base list: {' '.join(extra)})")
    count = Counter((room[a], room[b]) for a, b in arrows)
    print(f"\narrows (distinct module -> module imports): {len(arrows)}; rows import columns")
    print(f"  {'':<9}" + "".join(f"{r:>9}" for r in rooms))
    for a in rooms:
        print(f"  {a:<9}" + "".join(f"{count[a, b] or '.':>9}" for b in rooms))
    cli = Counter(room[b] for a, b in arrows if short[a] == "__main__")
    if cli:
        print(f"  (the base row holds __main__, the command line: "
              + ", ".join(f"{r} {n}" for r, n in sorted(cli.items())) + ")")
    back = sorted((short[a], short[b], room[a], room[b]) for a, b in arrows
                  if room[b] not in (CLI_ALLOWED if short[a] == "__main__" else ALLOWED[room[a]])
                  or room[b] == "chapters" != room[a])
    print(f"\narrows running back up: {len(back)}")
    for a, b, ra, rb in back:
        print(f"  {a} ({ra}) -> {b} ({rb})")
    print(f"\npackage imports inside functions: {sum(inside[r] for r in rooms)} ("
          + ", ".join(f"{r} {inside[r]}" for r in rooms) + ")")
    print(f"all imports inside functions (any module, stdlib and torch included): "
          f"{inside['any module']}")


def report_sizes(mods: dict) -> None:
    defs = {"functions": [], "classes": []}
    long_files = []
    for path, short, _, tree in mods.values():
        lines = path.read_text().count("\n")
        if lines > 500:
            long_files.append((lines, short))
        stack = [(tree, short)]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    kind = "classes" if isinstance(child, ast.ClassDef) else "functions"
                    qual = f"{prefix}.{child.name}"
                    defs[kind].append((child.end_lineno - child.lineno + 1, qual, child.lineno))
                    stack.append((child, qual))
                else:
                    stack.append((child, prefix))
    print("\n== 2. The largest definitions ==")
    for kind, rows in defs.items():
        print(f"{kind} ({len(rows)} in all), the 8 largest:")
        for lines, qual, line in sorted(rows, reverse=True)[:8]:
            print(f"  {lines:>5} lines  {qual} (line {line})")
    print(f"files over 500 lines: {len(long_files)}"
          + "".join(f"\n  {n:>5} lines  {s}" for n, s in sorted(long_files, reverse=True)))


BOOTSTRAP = r"""
import json, os, runpy, sys
root, out, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path[0] = root
pkg = os.path.join(root, "deeprelax") + os.sep
names, calls, deepest = {}, set(), [0, []]
def mod(code):
    f = code.co_filename
    if f not in names:
        names[f] = (os.path.relpath(f[:-3], pkg).replace(os.sep, ".").removesuffix(".__init__")
                    if f.startswith(pkg) and f.endswith(".py") else None)
    return names[f]
def hook(frame, event, arg):
    if event != "call" or mod(frame.f_code) is None:
        return
    chain, f = [], frame
    while f is not None:
        m = mod(f.f_code)
        if m is not None and (not chain or chain[-1] != m):
            chain.append(m)
        f = f.f_back
    if len(chain) - 1 > deepest[0]:
        deepest[:] = [len(chain) - 1, chain[::-1]]
    caller = frame.f_back and mod(frame.f_back.f_code)
    if caller is not None:
        code = frame.f_code
        calls.add((caller, chain[0], getattr(code, "co_qualname", code.co_name)))
sys.argv, rc = ["deeprelax"] + argv, 0
sys.setprofile(hook)
try:
    runpy.run_module("deeprelax", run_name="__main__", alter_sys=True)
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
finally:
    sys.setprofile(None)
    with open(out, "w") as fh:
        json.dump({"calls": sorted(calls), "deepest": deepest, "rc": rc,
                   "file": sys.modules["deeprelax"].__file__}, fh)
"""


def report_hops(root: Path) -> None:
    python = root / ".venv/bin/python"
    python = str(python if python.exists() else Path("/work/main/.venv/bin/python"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    usage = subprocess.run([python, "-m", "deeprelax", "train", "--help"], cwd=root, env=env,
                           capture_output=True, text=True).stdout
    print("\n== 3. The hops of: python -m deeprelax " + " ".join(CMD) + " ==")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = CMD + [flag for flag in ("--no-progress",) if flag in usage]
        for flag, sub in (("--results-dir", "results"), ("--runs-dir", "runs")):
            if flag in usage:
                cmd += [flag, os.path.join(tmp, sub)]
        out = os.path.join(tmp, "trace.json")
        run = subprocess.run([python, "-c", BOOTSTRAP, str(root), out] + cmd, cwd=root,
                             env=env, capture_output=True, text=True)
        if not os.path.exists(out):
            print(f"the run left no trace (exit {run.returncode}):\n{run.stderr[-2000:]}")
            return
        trace = json.loads(Path(out).read_text())
    print(f"options added: {' '.join(cmd[len(CMD):]).replace(tmp, '<tmp>') or 'none'}")
    print(f"exit status {trace['rc']}; package imported from {trace['file']}")
    if trace["rc"]:
        print(run.stderr[-2000:])
    calls = [tuple(c) for c in trace["calls"]]
    visited = sorted({m for a, b, _ in calls for m in (a, b)})
    crossings = {c for c in calls if c[0] != c[1]}
    pairs = Counter((a, b) for a, b, _ in crossings)
    print(f"modules visited: {len(visited)}: {' '.join(visited)}")
    print(f"distinct crossings (caller module, callee module, function): {len(crossings)}")
    print(f"distinct module pairs crossed: {len(pairs)}")
    for (a, b), n in sorted(pairs.items()):
        fns = sorted(f for x, y, f in crossings if (x, y) == (a, b))
        print(f"  {a} -> {b}: {n} ({', '.join(fns)})")
    depth, chain = trace["deepest"]
    print(f"longest chain of module changes on one stack: {depth}: {' -> '.join(chain)}")


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=here, help="a deeprelax checkout")
    parser.add_argument("--no-trace", action="store_true", help="skip the traced run")
    args = parser.parse_args()
    root = args.root.resolve()
    if not (root / "deeprelax/__init__.py").is_file():
        sys.exit(f"error: no deeprelax package under {root}")
    mods = modules(root)
    print(f"deeprelax structure of {root}")
    report_rooms(mods)
    report_sizes(mods)
    if not args.no_trace:
        report_hops(root)


if __name__ == "__main__":
    main()
