#!/usr/bin/env bash
# Install seer into a temporary prefix and build + run a consumer project that
# finds it with find_package(seer) and links seer::seer.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="$(cd "${SEER_BUILD_DIR:-build}" && pwd)"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$BUILD_DIR" --prefix "$prefix" >/dev/null
cmake -S scripts/install_check -B "$prefix/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
"$prefix/consumer-build/consumer"
echo "install check: ok (prefix $prefix)"
