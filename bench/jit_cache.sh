#!/usr/bin/env bash
# bench/jit_cache.sh: cold vs warm `lispetorchc run` (the disk cache of
# compiled regions, docs/cli.md "The disk cache"), one row per script:
# the wall time of a run on an empty cache and of the next run, and the
# compile-side milliseconds each reports under LTC_LOG=jit (passes, plans,
# keys, code generation, loading; the rest is evaluation and the kernels).
#
#   bench/jit_cache.sh [LTC] [SCRIPT...]
#
# LTC defaults to build/lispetorchc, the scripts to the seed example and
# the 24-layer e2e model.  Each script is timed 3 times; the median is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
LTC=${1:-build/lispetorchc}
[ $# -gt 0 ] && shift
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(examples/flash_transformer_example.lsp build/tests/e2e/deep24.lsp)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export LTC_CACHE=on LTC_CACHE_DIR=$dir/cache LTC_LOG=jit
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
# one run: "wall_ms compile_side_ms"
one() {
    local t0 t1
    t0=$(date +%s%N)
    "$LTC" run "$1" >"$dir/out" 2>"$dir/err"
    t1=$(date +%s%N)
    echo "$(ms "$t0" "$t1") $(sed -n 's/.*compile-side \([0-9.]*\) ms.*/\1/p' "$dir/err" | tail -1)"
}
printf '| script | cold run ms | warm run ms | cold compile-side ms | warm compile-side ms |\n|---|---|---|---|---|\n'
for s in "${scripts[@]}"; do
    cw=() ww=() cc=() wc=()
    for i in 1 2 3; do
        rm -rf "$LTC_CACHE_DIR"
        read -r w c < <(one "$s"); cw+=("$w"); cc+=("$c")
        read -r w c < <(one "$s"); ww+=("$w"); wc+=("$c")
    done
    printf '| %s | %s | %s | %s | %s |\n' "$s" "$(median "${cw[@]}")" "$(median "${ww[@]}")" \
        "$(median "${cc[@]}")" "$(median "${wc[@]}")"
done
