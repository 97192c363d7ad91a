#!/usr/bin/env bash
# Runs every test: installs missing system packages, runs the workspace tests (the render
# tests use lavapipe when there is no GPU), then opens the real game window on a virtual X
# display for 60 frames and checks that its screenshot was written.
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-system-deps.sh test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mini-dreamer/target}"
cargo test --workspace "$@"

shot="$(mktemp -d)/window.png"
echo "windowed smoke test: 60 frames under Xvfb, screenshot to $shot"
xvfb-run -a -s "-screen 0 1280x800x24" \
  "$CARGO_TARGET_DIR/debug/mini-dreamer" --frames 60 --screenshot "$shot"
[[ -s "$shot" ]] || { echo "windowed smoke test: no screenshot written" >&2; exit 1; }
echo "windowed smoke test: ok ($(stat -c %s "$shot") bytes)"
