#!/usr/bin/env bash
# fuzz-runtime.sh: build and run the runtime's libFuzzer targets
# (tests/fuzz/fuzz_plan.c, fuzz_weights.c, fuzz_so_load.c) under ASan+UBSan.
#
#   scripts/fuzz-runtime.sh                 # smoke: 20 s per target
#   scripts/fuzz-runtime.sh -t 3600         # long run: an hour per target
#   TARGETS="fuzz_plan" scripts/fuzz-runtime.sh -t 600
#
# Build dir build-fuzz/ (CC=clang-14, -DLTC_FUZZ=ON).  Corpora live in
# build-fuzz/corpus/<target>/, seeded from tests/unit/rt_testlib.h's toy
# model (fuzz_seeds) and, when build/lispetorchc exists, from the compiled
# examples.  Crashes are written to build-fuzz/crashes/<target>/; each one
# must become a regression test.  Exit status 1 when any target crashed.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=20
while getopts "t:" o; do
    case $o in
    t) SECS=$OPTARG ;;
    *) echo "usage: $0 [-t seconds-per-target]" >&2; exit 2 ;;
    esac
done
TARGETS=${TARGETS:-"fuzz_plan fuzz_weights fuzz_so_load"}
B=$ROOT/build-fuzz
CC=${FUZZ_CC:-clang-14}
command -v "$CC" >/dev/null || CC=clang
if ! CC=$CC cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLTC_FUZZ=ON \
        -DLTC_TESTS=OFF -DLTC_ORACLE=OFF >/dev/null ||
   ! cmake --build "$B" -j "${LTC_JOBS:-2}" --target $TARGETS fuzz_seeds >/dev/null; then
    echo "fuzz-runtime: build failed" >&2
    exit 1
fi

SEEDS=$B/seeds
mkdir -p "$SEEDS"
"$B/fuzz_seeds" "$SEEDS" || { echo "fuzz-runtime: cannot write seeds" >&2; exit 1; }
if [ -x "$ROOT/build/lispetorchc" ]; then          # real model.so files and their weights
    for ex in "$ROOT"/examples/*.lsp; do
        n=$(basename "$ex" .lsp)
        [ -f "$SEEDS/so/$n.so" ] && continue
        "$ROOT/build/lispetorchc" "$ex" -o "$SEEDS/so/$n.so" >/dev/null 2>&1 || continue
        [ -f "$SEEDS/so/$n.safetensors" ] && mv "$SEEDS/so/$n.safetensors" "$SEEDS/weights/"
    done
fi

status=0
for t in $TARGETS; do
    case $t in
    fuzz_plan) seed=$SEEDS/plan ;;
    fuzz_weights) seed=$SEEDS/weights ;;
    fuzz_so_load) seed=$SEEDS/so ;;
    *) echo "fuzz-runtime: unknown target $t" >&2; exit 2 ;;
    esac
    corpus=$B/corpus/$t crashes=$B/crashes/$t
    mkdir -p "$corpus" "$crashes"
    log=$B/$t.log
    echo "=== $t: ${SECS}s ==="
    # Inputs that once failed (tests/fuzz/regress/<target>/) run first.
    reg=$ROOT/tests/fuzz/regress/$t
    if [ -d "$reg" ] && ls "$reg"/* >/dev/null 2>&1; then
        if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} "$B/$t" "$reg"/* >"$B/$t.regress.log" 2>&1; then
            echo "$t: a regression input fails; log $B/$t.regress.log" >&2
            status=1
        fi
    fi
    # model.so files are large: allow inputs up to 4 MB for the loader.
    max=4096; [ "$t" = fuzz_so_load ] && max=$((4 << 20))
    # allocator_may_return_null: a plan may ask for exabytes of scratch; the
    # runtime's answer is a NULL from malloc and LTC_ERR_NOMEM, not a bug.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$B/$t" "$corpus" "$seed" -max_total_time="$SECS" -max_len=$max -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added)" "$log" | tail -3
    if [ $rc -ne 0 ]; then
        echo "$t: FAILED (exit $rc); log $log, inputs in $crashes" >&2
        tail -40 "$log" >&2
        status=1
    fi
done
exit $status
