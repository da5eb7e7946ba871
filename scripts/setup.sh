#!/usr/bin/env bash
# setup.sh: install lispetorchc's build dependencies and build it.
#
# Idempotent: packages already installed are not asked for again (apt is
# skipped entirely on a ready machine), and the build is incremental.
# Result: build/lispetorchc (Release).  Environment:
#   LTC_JOBS=N        parallel build jobs (default: number of CPUs)
#   LTC_SKIP_BUILD=1  install the packages only
# NumPy for the Python package's tests: scripts/python-deps.sh (PyPI, only
# when python3 lacks it; the test is skipped if that cannot be done).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${LTC_JOBS:-$(nproc 2>/dev/null || echo 2)}

PKGS=(llvm-16-dev libcriterion-dev libtorch-dev libopenblas0-pthread libopenblas-dev
      pkg-config ninja-build cmake gcc g++ clang-14 libclang-rt-14-dev
      # the REPL's line editing and history
      libreadline-dev
      # the GPU targets' kernels run and are checked on the CPU: PoCL (an
      # OpenCL 1.2+ implementation), the ICD loader and headers, Oclgrind
      pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-headers clinfo oclgrind)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        echo "setup: installing ${missing[*]}"
        SUDO=()
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
                echo "setup: error: not root and no sudo; install: ${missing[*]}" >&2
                exit 1
            fi
        fi
        export DEBIAN_FRONTEND=noninteractive
        "${SUDO[@]}" apt-get update
        "${SUDO[@]}" apt-get install -y --no-install-recommends "${PKGS[@]}"
    else
        echo "setup: all packages present"
    fi
else
    echo "setup: warning: not a Debian system; make sure these are installed: ${PKGS[*]}" >&2
fi

# NumPy for the Python package's test, from PyPI when missing (never fails)
"$ROOT/scripts/python-deps.sh"

[ "${LTC_SKIP_BUILD:-0}" = 1 ] && exit 0

cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build" -j "$JOBS"
echo "setup: built $ROOT/build/lispetorchc"
