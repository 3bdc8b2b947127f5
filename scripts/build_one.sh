#!/usr/bin/env bash
# Execute one chapter and build a small book around it in a private folder, then measure
# it: for checking a chapter alone without touching the main build.
# Usage: scripts/build_one.sh 04_homogenization [OUTDIR] [papermill -p args...]
# Writes OUTDIR/_build/html/chapters/NAME.html (OUTDIR defaults to /tmp/book-NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; out=${2:-/tmp/book-$name}; shift; [ $# -gt 0 ] && shift
bin=.venv/bin
rm -rf "$out"; mkdir -p "$out/book/chapters"
cp book/intro.md book/references.md book/references.bib "$out/book/"
[ -f book/errata.md ] && cp book/errata.md "$out/book/"
[ -d book/_vendor ] && cp -r book/_vendor "$out/book/"
DEEPRELAX_PROGRESS=0 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} $bin/papermill --no-progress-bar \
  --log-level WARNING -k python3 -p preset fast -p device cpu "$@" \
  "notebooks/$name.ipynb" "$out/book/chapters/$name.ipynb"
$bin/python scripts/hide_injected.py "$out/book/chapters/$name.ipynb"
$bin/python scripts/scorecard.py "$out/book/chapters" "$out/book/_generated/scorecard.md" >/dev/null
cat > "$out/book/_toc.yml" <<TOC
format: jb-book
root: intro
chapters:
  - file: chapters/$name
  - file: references
TOC
[ -f book/errata.md ] && echo "  - file: errata" >> "$out/book/_toc.yml"
$bin/jupyter-book build "$out/book" --config "$PWD/_config.yml" --toc "$out/book/_toc.yml" \
  --path-output "$out" -n --keep-going --quiet 2>&1 | grep -v "TCP without encryption" || true
$bin/python scripts/measure_book.py "$out/_build/html"
echo "page: $out/_build/html/chapters/$name.html"
