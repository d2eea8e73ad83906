#!/usr/bin/env bash
# Set up (packages + build) and run every test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${SEER_BUILD_DIR:-build}"
export SEER_DATA="${SEER_DATA:-$(pwd)/../shared/data}"
if [ ! -d "$SEER_DATA" ]; then
  if [ "${SEER_REQUIRE_DATA:-}" = 1 ]; then
    echo "[test] note: SEER_DATA=$SEER_DATA not found; SEER_REQUIRE_DATA=1, so tests that need it fail"
  else
    echo "[test] note: SEER_DATA=$SEER_DATA not found; tests that need it report themselves skipped"
  fi
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" --timeout 600
