#!/usr/bin/env bash
# Runs the game: installs missing system packages, builds, starts. Flags go to the game:
#   ./play.sh --seed 7 --level gallery
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-system-deps.sh run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mini-dreamer/target}"
# Build the whole workspace, as the tests do, so both commands share one set of artifacts
# (`cargo run -p` alone would resolve features differently and rebuild much of Bevy).
cargo build --workspace --quiet
exec "$CARGO_TARGET_DIR/debug/mini-dreamer" "$@"
