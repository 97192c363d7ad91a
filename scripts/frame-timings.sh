#!/usr/bin/env bash
# The game loop's cost of learning: windowed frame times (Xvfb, lavapipe) with the world
# model and the agent learning, against the same run with --no-learning, interleaved so the
# machine's load drifts over both alike. Prints one line per run and the p99 ratio per round.
#   scripts/frame-timings.sh                    # 3 rounds of 1200 frames on arena, agent driving
# Settings (environment): ROUNDS, FRAMES, LEVEL, PILOT (--autopilot), SCREEN (Xvfb WxHxD).
# Each run takes about 40 s on 2 cores after the build (README, "What the agent costs").
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
FRAMES="${FRAMES:-1200}"
LEVEL="${LEVEL:-arena}"
PILOT="${PILOT:-dreamer}"
SCREEN="${SCREEN:-1280x720x24}"

scripts/ensure-system-deps.sh test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mini-dreamer/target}"
cargo build --workspace --quiet
game="$CARGO_TARGET_DIR/debug/mini-dreamer"

# p99 in ms from a `timings:` line.
p99() { sed -n 's/.*frame time p50 [0-9.]* ms, p99 \([0-9.]*\) ms.*/\1/p' <<<"$1"; }

run() {
  xvfb-run -a -s "-screen 0 $SCREEN" "$game" --level "$LEVEL" --autopilot "$PILOT" \
    --frames "$FRAMES" --timings "$@" 2>/dev/null | grep '^timings:' || {
    echo "error: the game printed no timings (run it by hand to see why)" >&2
    exit 1
  }
}

for round in $(seq 1 "$ROUNDS"); do
  on=$(run)
  echo "round $round: $on"
  off=$(run --no-learning)
  echo "round $round: $off"
  awk -v a="$(p99 "$on")" -v b="$(p99 "$off")" -v r="$round" \
    'BEGIN { printf "round %d: frame p99 learning on / off = %.2fx\n", r, a / b }'
done
