#!/usr/bin/env bash
# Runs the game: installs missing system packages, builds, starts. Flags go to the game:
#   ./play.sh --seed 7 --level gallery
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-system-deps.sh run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mini-dreamer/target}"
exec cargo run --bin mini-dreamer -- "$@"
