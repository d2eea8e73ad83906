#!/usr/bin/env bash
# Set up seer and run the main job on the built-in synthetic data (no files needed):
# train DETR (ResNet-18, small transformer) briefly, evaluate it, predict on a
# generated image with a drawing, and export the checkpoint in three formats.
set -euo pipefail
cd "$(dirname "$0")/.."
SEER_TARGETS=seer scripts/setup.sh
BUILD_DIR="${SEER_BUILD_DIR:-build}"
SEER="$BUILD_DIR/seer"
OUT="${SEER_DEMO_OUT:-demo_out}"
CONFIG=configs/demo/detr_demo.yaml
RUN="$OUT/run"
mkdir -p "$OUT"

echo "== 1. the resolved config ($CONFIG) and a misspelt key caught before anything runs"
"$SEER" config "$CONFIG" > "$OUT/config.yaml"
if "$SEER" config "$CONFIG" --set data.batch_sise=8 2> "$OUT/error.txt"; then
  echo "   expected an error"; exit 1
fi
echo "   $(cat "$OUT/error.txt")"

echo "== 2. train (run folder $RUN)"
rm -rf "$RUN"
"$SEER" train "$CONFIG" --work-dir "$RUN"

echo "== 3. evaluate the last checkpoint on the validation split"
"$SEER" eval "$CONFIG" --weights "$RUN/checkpoints/last.pt" --out "$OUT/metrics.json"

echo "== 4. predict on generated images, with drawings"
"$SEER" browse-data "$CONFIG" --split val --num 2 --raw --out "$OUT/images"
"$SEER" predict "$CONFIG" --weights "$RUN/checkpoints/last.pt" --image "$OUT"/images/sample_0.jpg "$OUT"/images/sample_1.jpg \
  --out "$OUT/predictions.json" --vis "$OUT/predictions"

echo "== 5. export: safetensors (official names), .pth state_dict, TorchScript"
for fmt in safetensors pth torchscript; do
  "$SEER" export "$CONFIG" --weights "$RUN/checkpoints/last.pt" --format "$fmt" --out "$OUT/detr_demo.$fmt" --image-size 160x160
done
echo "== done: run folder $RUN (metrics.jsonl, results.csv, plots/, vis/, checkpoints/),"
echo "   predictions in $OUT/predictions.json and $OUT/predictions/, exports in $OUT/detr_demo.*"
