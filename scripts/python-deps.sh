#!/usr/bin/env bash
# python-deps.sh: NumPy for the Python package's tests (ctest python_package).
#
# Nothing happens when python3 already imports numpy.  Otherwise NumPy
# (and setuptools + wheel, for the test's `pip install` check) is installed
# from PyPI into a virtual environment, build/pyvenv, which
# python/tests/run.sh uses; if there is no venv module, `pip install
# --user` is tried.  Never fails: without python3 or PyPI it says so, and
# the test is skipped.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/build/pyvenv"
PIP_OPTS=(-q --disable-pip-version-check --timeout 30 --retries 1)

note() { echo "python-deps: $*"; }

if ! command -v python3 >/dev/null 2>&1; then
    note "no python3: the python_package test will be skipped"
    exit 0
fi
if python3 -c "import numpy" 2>/dev/null; then
    note "python3 has NumPy"
    exit 0
fi
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import numpy" 2>/dev/null; then
    note "NumPy present in $VENV"
    exit 0
fi
note "python3 has no NumPy: installing it from PyPI into $VENV"
mkdir -p "$ROOT/build"
if { [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" >/dev/null 2>&1; } &&
   "$VENV/bin/python" -m pip install "${PIP_OPTS[@]}" numpy setuptools wheel; then
    note "installed NumPy $("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)') in $VENV"
    exit 0
fi
rm -rf "$VENV"          # a half-made venv would be picked up by the test
if python3 -m pip install "${PIP_OPTS[@]}" --user numpy 2>/dev/null; then
    note "installed NumPy with pip --user"
    exit 0
fi
note "could not install NumPy (no venv module, or PyPI unreachable): the python_package test will be skipped"
exit 0
