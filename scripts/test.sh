#!/usr/bin/env bash
# Set up (packages + build) and run every test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${SEER_BUILD_DIR:-build}"
export SEER_DATA="${SEER_DATA:-$(pwd)/../shared/data}"
[ -d "$SEER_DATA" ] || echo "[test] note: SEER_DATA=$SEER_DATA not found; tests that need it report themselves skipped"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600
