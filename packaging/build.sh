#!/usr/bin/env bash
# Build the one-folder raveview app with PyInstaller: dist/raveview/raveview.
# Usage: packaging/build.sh [--clean]   (run from anywhere; needs `pip install pyinstaller`)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
DIST="${RAVEVIEW_DIST:-$REPO/dist}"
WORK="${RAVEVIEW_BUILD:-$REPO/build/pyinstaller}"

cd "$REPO"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"  # analysis imports Qt modules; no display needed
if [[ "${1:-}" == "--clean" ]]; then
    rm -rf "$DIST/raveview" "$WORK"
fi
start=$(date +%s)
python -m PyInstaller --noconfirm --distpath "$DIST" --workpath "$WORK" "$HERE/raveview.spec"
end=$(date +%s)
echo "built $DIST/raveview in $((end - start)) s ($(du -sh "$DIST/raveview" | cut -f1))"
