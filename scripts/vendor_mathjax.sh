#!/usr/bin/env bash
# Vendor MathJax 3.2.2 (Apache-2.0) from the npm registry into $1 so math renders offline.
# npm verifies the tarball's sha512 integrity. Only the files the book loads are kept.
set -euo pipefail
dest=${1:-book/_vendor/mathjax}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent mathjax@3.2.2 >/dev/null)
tar -xzf "$work"/mathjax-3.2.2.tgz -C "$work"
src="$work/package/es5"
rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts" "$dest/input/tex"
cp "$src/tex-chtml.js" "$dest/"
cp -r "$src/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp -r "$src/input/tex/extensions" "$dest/input/tex/"
cp -r "$src/ui" "$src/a11y" "$dest/"
cp "$work/package/LICENSE" "$dest/"
echo "MathJax 3.2.2 vendored into $dest"
