#!/usr/bin/env bash
# Screenshots a cluster report into a PNG (how docs/report.png was made).
# Needs headless Chromium (Debian: apt-get install chromium); the cluster
# tool itself never does: its report is HTML + SVG.
#
#   bash scripts/report-png.sh runs/cluster-20260101-120000 docs/report.png
set -euo pipefail
dir=${1:?usage: report-png.sh <cluster output dir> [out.png] [width,height]}
out=${2:-$dir/report.png}
size=${3:-1280,525}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report-png: no chromium found (apt-get install chromium)" >&2
  exit 1
fi
html=$(cd "$dir" && pwd)/report.html
[ -f "$html" ] || { echo "report-png: $html not found" >&2; exit 1; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$size" \
  --screenshot="$(realpath -m "$out")" "file://$html" 2>/dev/null
echo "report-png: wrote $out"
