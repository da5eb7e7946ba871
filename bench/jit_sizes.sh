#!/usr/bin/env bash
# bench/jit_sizes.sh: `lispetorchc run` on a decode loop's shapes
# (bench/jit_sizes.lsp: one layer called at 39 sizes), with the function
# JIT (--jit=functions: traced calls, one compile for every size) and with
# regions only (--jit=regions: a compile per size), on an empty disk cache
# each time; then --interpret.  Wall time, compile-side milliseconds and
# compiles reported by LTC_LOG=jit, median of 3.  docs/jit.md has a run.
#
#   bench/jit_sizes.sh [LTC]
set -euo pipefail
cd "$(dirname "$0")/.."
LTC=${1:-build/lispetorchc}
script=bench/jit_sizes.lsp
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export LTC_CACHE=on LTC_CACHE_DIR=$dir/cache LTC_LOG=jit
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
one() {
    rm -rf "$LTC_CACHE_DIR"
    local t0 t1
    t0=$(date +%s%N)
    "$LTC" run "$@" "$script" >"$dir/out" 2>"$dir/err"
    t1=$(date +%s%N)
    local cs comp
    cs=$(sed -n 's/.*compile-side \([0-9.]*\) ms.*/\1/p' "$dir/err" | tail -1)
    comp=$(sed -n 's/.*session: \([0-9]*\) regions compiled.*/\1/p' "$dir/err" | tail -1)
    echo "$(( (t1 - t0) / 1000000 )) ${cs:-0} ${comp:-0} $(cat "$dir/out")"
}
printf '| mode | wall ms | compile-side ms | compiles | output |\n|---|---|---|---|---|\n'
for mode in "--jit=functions" "--jit=regions" "--interpret"; do
    ws=() cs=() n=0 out=
    for i in 1 2 3; do
        read -r w c n out < <(one $mode)
        ws+=("$w"); cs+=("$c")
    done
    printf '| %s | %s | %s | %s | %s |\n' "$mode" "$(median "${ws[@]}")" "$(median "${cs[@]}")" "$n" "$out"
done
