#!/usr/bin/env bash
# fuzz.sh [--smoke|--long MINUTES] [TARGETS...]: build build-fuzz/ (clang,
# libFuzzer + ASan + UBSan, -DLTC_FUZZ=ON) and run each target on a copy of
# its seed corpus (examples and tests).  --smoke: 20 s each (CI);
# --long M: M minutes each.  A crash is saved under tests/fuzz/crashes/ and
# the script exits non-zero.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=20
if [ "${1:-}" = --smoke ]; then shift
elif [ "${1:-}" = --long ]; then SECS=$(( ${2:?--long MINUTES} * 60 )); shift 2
fi
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(fuzz_source fuzz_safetensors)
B=$ROOT/build-fuzz
cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DLTC_FUZZ=ON -DLTC_TESTS=OFF -DLTC_ORACLE=OFF >/dev/null || exit 1
cmake --build "$B" -j "${LTC_JOBS:-2}" --target "${TARGETS[@]}" || exit 1
mkdir -p "$ROOT/tests/fuzz/crashes"
STATUS=0
for t in "${TARGETS[@]}"; do
    corpus=$(mktemp -d)
    case $t in
    # the full-size examples take over 10 s each under ASan at -O0: seeds
    # are the small scripts (each under 3 KB)
    fuzz_source) find "$ROOT/examples" "$ROOT/tests/e2e/inputs" "$ROOT/tests/oracle" -name '*.lsp' -size -3k \
                      -exec cp {} "$corpus"/ \; ;;
    fuzz_safetensors) find "$ROOT/tests" -name '*.safetensors' -exec cp {} "$corpus"/ \; ;;
    esac
    exe=$(find "$B" -name "$t" -type f -perm -u+x | head -1)
    # inputs that once failed (tests/fuzz/regress/<target>/) run first
    reg=$ROOT/tests/fuzz/regress/$t
    if [ -d "$reg" ] && ls "$reg"/* >/dev/null 2>&1; then
        if ! "$exe" -timeout=10 -rss_limit_mb=2048 "$reg"/* >/dev/null 2>&1; then
            echo "fuzz: $t fails on a regression input in $reg" >&2; STATUS=1
        fi
    fi
    echo "=== $t: ${SECS}s ==="
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -artifact_prefix="$ROOT/tests/fuzz/crashes/$t-" "$corpus" 2>&1 | tail -5
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $t found a crash (tests/fuzz/crashes/)" >&2; STATUS=1; }
    rm -rf "$corpus"
done
exit $STATUS
