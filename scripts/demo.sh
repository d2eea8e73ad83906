#!/usr/bin/env bash
# Set up seer and run the main job on the built-in synthetic data (no files needed).
# What runs grows with the project; today: resolve the config, run the data
# pipeline end to end with its workers, and draw the samples into demo_out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${SEER_BUILD_DIR:-build}"
SEER="$BUILD_DIR/seer"
OUT="${SEER_DEMO_OUT:-demo_out}"
CONFIG=configs/demo/synthetic_data.yaml
mkdir -p "$OUT"

echo "== 1. the resolved config ($CONFIG)"
"$SEER" config "$CONFIG" > "$OUT/config.yaml"
echo "   written to $OUT/config.yaml ($(wc -l < "$OUT/config.yaml") lines)"

echo "== 2. a misspelt key is caught before anything runs"
if "$SEER" config "$CONFIG" --set data.batch_sise=8 2> "$OUT/error.txt"; then
  echo "   expected an error"; exit 1
fi
echo "   $(cat "$OUT/error.txt")"

echo "== 3. the training pipeline on synthetic shapes (decode, augment, collate)"
"$SEER" browse-data "$CONFIG" --split train --num 16 --out "$OUT/train"
echo "== 4. the validation pipeline"
"$SEER" browse-data "$CONFIG" --split val --num 8 --out "$OUT/val"
echo "== done: drawn samples in $OUT/train and $OUT/val"
