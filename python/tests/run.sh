#!/bin/sh
# run.sh BUILD_DIR COMPILER RUNTIME_LIB: the Python package's tests (ctest
# python_package).  Exit 77 (ctest: skipped) where there is no python3 or
# NumPy.  The interpreter: $LTC_PYTHON, else the venv that scripts/setup.sh
# makes when the system python3 lacks NumPy (BUILD_DIR/pyvenv, then the
# source tree's build/pyvenv), else python3.
# 1. the tests against the package in the source tree (python/);
# 2. `pip install` of a copy of python/ into a temporary directory, and the
#    tests again against that installed copy (skipped, with a note, where
#    the interpreter lacks setuptools and wheel: no network is used).
set -u
BUILD=$1 COMPILER=$2 RUNTIME=$3
HERE=$(cd "$(dirname "$0")" && pwd)
PKG=$(dirname "$HERE")
ROOT=$(dirname "$PKG")

PY=${LTC_PYTHON:-}
if [ -z "$PY" ]; then
    for cand in "$BUILD/pyvenv/bin/python" "$ROOT/build/pyvenv/bin/python"; do
        if [ -x "$cand" ]; then PY=$cand; break; fi
    done
fi
[ -n "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
    echo "python_package: skipped: no python3"
    exit 77
fi
if ! "$PY" -c "import numpy" 2>/dev/null; then
    echo "python_package: skipped: $PY has no NumPy (scripts/setup.sh installs it from PyPI)"
    exit 77
fi
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
PY=$(abs "$PY") COMPILER=$(abs "$COMPILER") RUNTIME=$(abs "$RUNTIME")
export LTC_COMPILER="$COMPILER" LTC_RUNTIME_LIB="$RUNTIME" LTC_CACHE=off
echo "python_package: $("$PY" -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"

PYTHONPATH="$PKG" "$PY" -m unittest discover -s "$HERE" -v || exit 1

if ! "$PY" -c "import setuptools, wheel" 2>/dev/null; then
    echo "python_package: install check skipped: $PY lacks setuptools or wheel"
    exit 0
fi
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
cp -r "$PKG" "$TMP/src" && rm -rf "$TMP/src/build" "$TMP/src"/*.egg-info || exit 1
if ! "$PY" -m pip install -q --no-deps --no-build-isolation --no-index --target "$TMP/site" "$TMP/src"; then
    echo "python_package: pip install ./python failed"
    exit 1
fi
# the installed copy, not the source tree's, must be the one imported
(cd "$TMP" && PYTHONPATH="$TMP/site:$HERE" "$PY" -c "import lispetorchc, sys; assert lispetorchc.__file__.startswith('$TMP/site'), lispetorchc.__file__" ) || exit 1
(cd "$TMP" && PYTHONPATH="$TMP/site" "$PY" -m unittest discover -s "$HERE" -t "$HERE") || exit 1
echo "python_package: ok (source tree and pip-installed copy)"
