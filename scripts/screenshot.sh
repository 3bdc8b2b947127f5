#!/usr/bin/env bash
# Screenshot a built page with headless Chromium (Debian package `chromium`), offline.
# Usage: scripts/screenshot.sh _build/html/chapters/01_introduction.html out.png [height]
set -euo pipefail
command -v chromium >/dev/null || { echo "screenshot.sh: needs chromium (apt-get install chromium)" >&2; exit 1; }
page=$(realpath "$1"); out=$2; height=${3:-1600}
profile=$(mktemp -d); trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --virtual-time-budget=8000 --window-size=1200,"$height" \
  --screenshot="$(realpath -m "$out")" "file://$page" 2>/dev/null
echo "wrote $out"
