#!/usr/bin/env bash
# bench/run.sh: build, compile the benchmark models, and print one table:
# model.so vs libtorch 1.13 eager (OpenBLAS) for the seed layer, generated
# GEMM vs OpenBLAS sgemm, attention time and peak memory, cold compile time.
#
#   bench/run.sh [--quick] [--threads N]
#
# --quick skips the largest layer and the 16k attention.  Results are also
# written to build/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0; THREADS=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --threads) THREADS=$2; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--threads N]" >&2; exit 2 ;;
  esac
  shift
done
scripts/setup.sh >/dev/null
# libtorch's OpenMP threads spin while OpenBLAS's threads wait for a core:
# on 2 vCPUs that made 2-thread libtorch ~40x slower than 1-thread.  Give
# libtorch its best setting (measured), so the comparison is fair.
export OMP_WAIT_POLICY=PASSIVE
B=build; W=$B/bench; mkdir -p $W
LTC=$B/lispetorchc
ninja -C $B lispetorchc ltc_bench >/dev/null
echo "bench: building the models and timing; this takes a few minutes" >&2

fill() { # template out key=value...
  local in=$1 out=$2; shift 2; cp "$in" "$out"
  for kv in "$@"; do sed -i "s/@${kv%%=*}@/${kv#*=}/g" "$out"; done
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

OUT=$W/results.md
: > $OUT
say() { echo "$@" | tee -a $OUT; }

say "# lispetorchc benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, threads=$THREADS"
say ""
say "## Seed transformer layer: model.so vs libtorch 1.13 eager (same weights, same input)"
say ""
say "| shape | libtorch ms | model.so ms | speedup | model.so GFLOP/s | max rel err | cold compile ms |"
say "|---|---|---|---|---|---|---|"
SHAPES="2,128,256,8,1024 8,512,512,8,2048 1,2048,1024,16,4096"
[ $QUICK = 1 ] && SHAPES="2,128,256,8,1024 8,512,512,8,2048"
for s in $SHAPES; do
  IFS=, read b sq e h f <<<"$s"
  n=layer_${b}_${sq}_${e}
  fill bench/layer.lsp.in $W/$n.lsp B=$b S=$sq E=$e H=$h F=$f
  # cold compile (a new process each time): the median of three
  cts=()
  for rep in 1 2 3; do
    t0=$(date +%s%N)
    $LTC $W/$n.lsp -o $W/$n.so --save-weights $W/$n.safetensors
    cts+=($(ms_since $t0))
  done
  ct=$(printf '%s\n' "${cts[@]}" | sort -n | sed -n 2p)
  line=$($B/bench/ltc_bench layer $W/$n.so $W/$n.safetensors $b $sq $e $h $f $THREADS)
  eval "$(echo "$line" | tr ' ' '\n' | grep '=' | sed 's/^/r_/')"
  say "| B$b S$sq E$e H$h F$f | $r_torch_ms | $r_ltc_ms | ${r_speedup}x | $r_ltc_gflops | $r_rel_err | $ct |"
done

say ""
say "## Generated GEMM vs OpenBLAS sgemm (y = x W^T, the layer's GEMM shapes)"
say ""
say "| M x K x N | OpenBLAS GFLOP/s | generated GFLOP/s | ratio |"
say "|---|---|---|---|"
for s in 256,256,256 256,256,1024 256,1024,256 4096,512,512 4096,512,2048 4096,2048,512 2048,1024,1024 2048,1024,4096 2048,4096,1024; do
  IFS=, read m k n <<<"$s"
  g=gemm_${m}_${k}_${n}
  fill bench/gemm.lsp.in $W/$g.lsp M=$m K=$k N=$n
  $LTC $W/$g.lsp -o $W/$g.so --save-weights $W/$g.safetensors
  line=$($B/bench/ltc_bench gemm $W/$g.so $W/$g.safetensors $m $k $n $THREADS)
  eval "$(echo "$line" | tr ' ' '\n' | grep '=' | sed 's/^/r_/')"
  say "| $m x $k x $n | $r_blas_gflops | $r_ltc_gflops | $r_ratio |"
done

say ""
say "## Attention alone (B1 H8 D64, no mask): time and peak extra memory"
say ""
say "| S | libtorch ms | model.so ms | libtorch peak MB | model.so peak MB | memory ratio |"
say "|---|---|---|---|---|---|"
SEQS="1024 4096 16384"
[ $QUICK = 1 ] && SEQS="1024 4096"
fill bench/attn.lsp.in $W/attn.lsp S=1024
$LTC $W/attn.lsp -o $W/attn.so
for sq in $SEQS; do
  lt=$($B/bench/ltc_bench attn ltc $W/attn.so $sq $THREADS)
  tt=$($B/bench/ltc_bench attn torch $W/attn.so $sq $THREADS || echo "ms=failed peak_extra_mb=failed")
  lms=$(echo "$lt" | grep -o 'ms=[^ ]*' | head -1 | cut -d= -f2); lmb=$(echo "$lt" | grep -o 'peak_extra_mb=[^ ]*' | cut -d= -f2)
  tms=$(echo "$tt" | grep -o ' ms=[^ ]*' | head -1 | cut -d= -f2); tmb=$(echo "$tt" | grep -o 'peak_extra_mb=[^ ]*' | cut -d= -f2)
  ratio=$(awk -v a="$tmb" -v b="$lmb" 'BEGIN { if (b > 0 && a+0 == a) printf "%.1fx less", a / b; else print "-" }')
  say "| $sq | $tms | $lms | $tmb | $lmb | $ratio |"
done
say ""
say "Reproduce: \`bench/run.sh$([ $QUICK = 1 ] && echo ' --quick') --threads $THREADS\`"
