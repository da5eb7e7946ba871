#!/usr/bin/env bash
# test.sh: set up, build, run every test, install into a temporary prefix
# and build and run examples/cmake-consumer against it
# (scripts/check-install.sh); then the tests again with AddressSanitizer
# and UndefinedBehaviorSanitizer (build-asan/, libtorch oracle tests off:
# libtorch is not built with ASan).  Exits non-zero if anything failed and
# ends with the line `N passed, N failed` summed over both runs.
#   LTC_JOBS=N      parallel jobs (default: number of CPUs)
#   LTC_NO_ASAN=1   skip the sanitizer run
#   LTC_NO_FUZZ=1   skip the fuzz smoke run (scripts/fuzz.sh --smoke)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${LTC_JOBS:-$(nproc 2>/dev/null || echo 2)}
PASSED=0
FAILED=0
STATUS=0

# run_ctest DIR: run the tests of one build, add to the totals.
run_ctest() {
    local dir=$1 log
    log=$(mktemp)
    (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$JOBS") 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    # ctest: "NN% tests passed, F tests failed out of T"
    local line total fail
    line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1)
    if [ -n "$line" ]; then
        fail=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
        total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
        PASSED=$((PASSED + total - fail))
        FAILED=$((FAILED + fail))
    elif [ "$rc" -ne 0 ]; then
        FAILED=$((FAILED + 1))      # ctest itself failed
    fi
    [ "$rc" -eq 0 ] || STATUS=1
    rm -f "$log"
}

if ! "$ROOT/scripts/setup.sh"; then
    echo "test: setup or build failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
echo "=== tests (Release, build/) ==="
run_ctest "$ROOT/build"

# the install into a fresh prefix, used by examples/cmake-consumer (also
# ctest's pkg_check_install; here once more with the build step it
# checks): counts as one test
echo "=== install (scripts/check-install.sh) ==="
if "$ROOT/scripts/check-install.sh" "$ROOT/build"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); STATUS=1; fi

if [ "${LTC_NO_ASAN:-0}" != 1 ]; then
    echo "=== tests (ASan+UBSan, build-asan/) ==="
    if cmake -S "$ROOT" -B "$ROOT/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
             -DLTC_SANITIZE=ON -DLTC_ORACLE=OFF >/dev/null &&
       cmake --build "$ROOT/build-asan" -j "$JOBS"; then
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            run_ctest "$ROOT/build-asan"
    else
        echo "test: sanitizer build failed" >&2
        FAILED=$((FAILED + 1))
        STATUS=1
    fi
fi

if [ "${LTC_NO_FUZZ:-0}" != 1 ]; then
    # a 20 s smoke run of each libFuzzer target (ASan + UBSan); counts as one test
    echo "=== fuzz smoke (build-fuzz/) ==="
    if "$ROOT/scripts/fuzz.sh" --smoke; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); STATUS=1; fi
    # the runtime's targets (plan reader, weight binding, model.so loading)
    if "$ROOT/scripts/fuzz-runtime.sh" -t 20; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); STATUS=1; fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$STATUS" -eq 0 ] && [ "$FAILED" -eq 0 ]
