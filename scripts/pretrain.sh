#!/usr/bin/env bash
# Rebuilds the shipped pretrained world model, assets/checkpoints/pretrained.wmck, in one go:
#   1. records autopilot datasets on every shipped level with the training seeds
#      (headless, learning off, a fixed 1/TICK_HZ s per frame: the same frames on any machine),
#   2. trains offline with world-model-train (the game's config: `mini-dreamer model-config`),
#   3. evaluates on a held-out seed of every level (`mini-dreamer eval`, open loop 1-8 too),
#   4. installs the checkpoint with its config and the evaluation report beside it.
# The full checkpoint (with Adam's state, to resume) stays in WORK; the shipped one is compact.
# Settings (environment): STAGES (default "record train eval install"; e.g. STAGES="eval install"
# re-evaluates and installs WORK's checkpoint), LEVELS, TRAIN_SEEDS, HELDOUT_SEED, FRAMES (per level and seed),
# STEPS, EVAL_TICKS, TICK_HZ, WORK (scratch folder; recordings there are reused on a rerun).
# On 2 CPU cores the defaults take about 70 minutes (README, "The pretrained model").
set -euo pipefail
cd "$(dirname "$0")/.."
LEVELS="${LEVELS:-$(cd assets/levels && ls -1 *.level.ron | sed 's/\.level\.ron$//' | tr '\n' ' ')}"
TRAIN_SEEDS="${TRAIN_SEEDS:-1 2 3}"
HELDOUT_SEED="${HELDOUT_SEED:-1001}"
FRAMES="${FRAMES:-1000}"
STEPS="${STEPS:-7000}"
EVAL_TICKS="${EVAL_TICKS:-300}"
TICK_HZ="${TICK_HZ:-10}"
WORK="${WORK:-data/pretrain}"
STAGES="${STAGES:-record train eval install}"
stage() { [[ " $STAGES " == *" $1 "* ]]; }
OUT=assets/checkpoints

for seed in $TRAIN_SEEDS; do
  [[ " $HELDOUT_SEED " == *" $seed "* ]] && { echo "held-out seed $seed is also a training seed" >&2; exit 2; }
done

scripts/ensure-system-deps.sh run
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mini-dreamer/target}"
echo "== building"
cargo build --workspace --quiet
# One copy of the binaries for the whole pipeline, so a rebuild meanwhile changes nothing.
mkdir -p "$WORK/bin"
cp "$CARGO_TARGET_DIR/debug/mini-dreamer" "$CARGO_TARGET_DIR/debug/world-model-train" "$WORK/bin/"
game="$WORK/bin/mini-dreamer"
"$game" model-config > "$WORK/config.json"

stage record && echo "== 1/4 recording: levels [$LEVELS], seeds [$TRAIN_SEEDS], $FRAMES frames each at $TICK_HZ Hz"
data=()
for level in $LEVELS; do
  for seed in $TRAIN_SEEDS; do
    dir="$WORK/data/$level-seed$seed"
    if stage record && ! compgen -G "$dir/*.wmds" > /dev/null; then
      mkdir -p "$dir"
      echo "   $level seed $seed"
      "$game" --headless --autopilot random --fresh --no-learning --uncapped \
        --level "$level" --seed "$seed" --tick-hz "$TICK_HZ" --frames "$FRAMES" \
        --record "$dir" > "$dir/log.txt" 2>&1 || { tail -20 "$dir/log.txt" >&2; rm -rf "$dir"; exit 1; }
    elif stage record; then
      echo "   $level seed $seed (recorded before, reused)"
    fi
    data+=(--data "$(compgen -G "$dir/*.wmds" | head -1)")
  done
done

if stage train; then
  echo "== 2/4 training: $STEPS steps"
  "$WORK/bin/world-model-train" "${data[@]}" --config "$WORK/config.json" --steps "$STEPS" \
    --holdout 0.05 --out "$WORK/pretrained-full.wmck" --compact "$WORK/pretrained.wmck" \
    --report "$WORK/train.json"
fi

stage eval && echo "== 3/4 held-out evaluation: seed $HELDOUT_SEED of every level, $EVAL_TICKS ticks"
for level in $LEVELS; do
  stage eval || break
  # A rerun replaces this evaluation (the game refuses a --report directory with a report).
  rm -rf "$WORK/eval/$level"
  "$game" eval --ckpt "$WORK/pretrained.wmck" --level "$level" --seed "$HELDOUT_SEED" \
    --ticks "$EVAL_TICKS" --tick-hz "$TICK_HZ" --report "$WORK/eval/$level" > "$WORK/eval-$level.log" 2>&1 \
    || { tail -20 "$WORK/eval-$level.log" >&2; exit 1; }
  grep -h "held-out" "$WORK/eval-$level.log" | tail -1 | sed "s/^/   $level: /"
done

stage install || exit 0
echo "== 4/4 installing into $OUT"
mkdir -p "$OUT"
{
  echo "{"
  echo "  \"pipeline\": {\"command\": \"scripts/pretrain.sh\", \"levels\": \"$LEVELS\", \"train_seeds\": \"$TRAIN_SEEDS\","
  echo "    \"heldout_seed\": $HELDOUT_SEED, \"frames_per_recording\": $FRAMES, \"steps\": $STEPS,"
  echo "    \"eval_ticks\": $EVAL_TICKS, \"tick_hz\": $TICK_HZ},"
  echo "  \"training\": $(cat "$WORK/train.json"),"
  echo "  \"heldout\": {"
  sep=""
  for level in $LEVELS; do
    printf '%s    "%s": %s' "$sep" "$level" "$(cat "$WORK/eval/$level/report.json")"
    sep=$',\n'
  done
  echo
  echo "  }"
  echo "}"
} > "$WORK/pretrained.eval.json"
cp "$WORK/pretrained.wmck" "$OUT/pretrained.wmck"
cp "$WORK/config.json" "$OUT/pretrained.config.json"
cp "$WORK/pretrained.eval.json" "$OUT/pretrained.eval.json"
ls -l "$OUT"
