#!/usr/bin/env bash
# Install everything seer needs on a fresh Debian bookworm (as root, or with sudo),
# then configure and build. Idempotent: re-running skips what is already there.
#
#   scripts/setup.sh            install packages, configure and build into ./build
#   SEER_BUILD_DIR=dir scripts/setup.sh
#   SEER_SKIP_APT=1 scripts/setup.sh   build only
#   SEER_TARGETS=seer scripts/setup.sh  build only these targets (default: all, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  cmake ninja-build g++ ccache pkg-config
  # LibTorch (CPU) and a fast BLAS: without libopenblas0-pthread LibTorch falls
  # back to the reference BLAS and matrix products run ~11x slower
  libtorch-dev libopenblas0-pthread libgloo-dev
  # images, config, logging, json, compression, tests
  libopencv-dev libyaml-cpp-dev libspdlog-dev nlohmann-json3-dev zlib1g-dev libgtest-dev
)

if [ "${SEER_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "[setup] installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] all Debian packages present"
  fi
fi

BUILD_DIR="${SEER_BUILD_DIR:-build}"
JOBS="${SEER_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "[setup] building in $BUILD_DIR with $JOBS jobs"
start=$(date +%s)
if [ -n "${SEER_TARGETS:-}" ]; then
  # shellcheck disable=SC2086
  cmake --build "$BUILD_DIR" -j "$JOBS" --target ${SEER_TARGETS}
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
echo "[setup] build took $(( $(date +%s) - start )) s"
