#!/usr/bin/env bash
# bench/cpu.sh: ours against the CPU baselines users would pick -- PyTorch 2
# eager (SDPA), torch.compile (inductor) and ONNX Runtime (every graph
# optimisation on, the model exported by torch.onnx.export) -- on the same
# weights and inputs, in one Python process, alternating rounds, the same
# thread count; libtorch 1.13 (bench/bench.cpp) as a column for the seed
# layer when build/bench/ltc_bench exists (a build with LTC_ORACLE=ON).
#
#   bench/cpu.sh [--quick] [--threads N] [--rounds R] [--iters N]
#                [--no-compile] [--no-bf16] [--only layer,bert,llama,attn] [--pause-ms MS]
#
# --quick: the smallest case of each part (seed layer B2 S128, BERT B8
# S128, Llama block S512, attention S512); without it every shape of
# bench/cpu_bench.py (the seed layer's three, BERT at B8 S128 / B1 S512 /
# B32 S64, the Llama block at S512 and S2048, attention at S512 and S2048).
# --threads defaults to nproc; --rounds 5 and --iters 3 by default (each
# round: N calls of each implementation in turn).  --no-compile leaves
# torch.compile out.  --pause-ms (default 50) is the pause before each
# implementation's turn (0: back to back).  Each case is also compiled with --dtype bf16 and
# timed against PyTorch eager in bf16 (--no-bf16: not).
#
# It makes its own virtual environment, build/bench-venv (python3 -m venv),
# and installs torch, onnx, onnxruntime, onnxscript, transformers,
# safetensors and numpy there from PyPI (BENCH_PIP_ARGS adds pip options,
# e.g. an --index-url); the tests never run this.  The models are compiled
# with build/lispetorchc into build/bench-cpu/ and run through the Python
# package (python/, build/libltc_runtime.so).  The table goes to
# build/bench-cpu/results.md, the versions above it.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=$(nproc); ARGS=(); QUICK=(); NO_BF16=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --threads) THREADS=$2; shift ;;
    --rounds|--iters|--only|--pause-ms) ARGS+=("$1" "$2"); shift ;;
    --no-compile) ARGS+=("$1") ;;
    --no-bf16) ARGS+=("$1"); NO_BF16=1 ;;
    *) echo "usage: bench/cpu.sh [--quick] [--threads N] [--rounds R] [--iters N] [--no-compile] [--no-bf16] [--only PARTS] [--pause-ms MS]" >&2; exit 2 ;;
  esac
  shift
done
B=build; W=$B/bench-cpu; VENV=$B/bench-venv
[ -f $B/build.ninja ] || { echo "bench/cpu.sh: configure build/ first (README.md)" >&2; exit 1; }
ninja -C $B lispetorchc ltc_runtime_shared >/dev/null

# the virtual environment, made once; a marker says the installs finished
if [ ! -f $VENV/.bench-ready ]; then
  echo "bench/cpu.sh: installing PyTorch, ONNX Runtime, transformers into $VENV (once)" >&2
  python3 -m venv $VENV
  # shellcheck disable=SC2086  # BENCH_PIP_ARGS: words on purpose
  $VENV/bin/python -m pip install -q ${BENCH_PIP_ARGS:-} torch onnx onnxruntime onnxscript transformers safetensors numpy
  touch $VENV/.bench-ready
fi
PY=$VENV/bin/python

mkdir -p $W
OUTMD=$W/results.md
# compile each case's model.so (and, where ours makes them, its weights)
fill() { # template out key=value...
  local in=$1 out=$2; shift 2; cp "$in" "$out"
  for kv in "$@"; do sed -i "s/@${kv%%=*}@/${kv#*=}/g" "$out"; done
}
while read -r part name kvs; do
  declare -A c=()
  for kv in $kvs; do c[${kv%%=*}]=${kv#*=}; done
  case $part in
    layer) fill bench/layer.lsp.in $W/$name.lsp B=${c[B]} S=${c[S]} E=${c[E]} H=${c[H]} F=${c[F]} ;;
    bert)  fill bench/gpu_bert.lsp.in $W/$name.lsp V=${c[V]} E=${c[E]} H=${c[H]} F=${c[F]} L=${c[L]} P=${c[P]} ;;
    llama) fill bench/gpu_llama.lsp.in $W/$name.lsp E=${c[E]} HQ=${c[HQ]} HKV=${c[HKV]} D=${c[D]} F=${c[F]} P=${c[P]} ;;
    attn)  fill bench/gpu_attn.lsp.in $W/$name.lsp B=${c[B]} H=${c[H]} S=${c[S]} D=${c[D]} C=false ;;
  esac
  unset c
  $B/lispetorchc $W/$name.lsp -o $W/$name.so 2>$W/$name.log || { cat $W/$name.log >&2; exit 1; }
  # the same model in bf16 (--dtype bf16: AVX512-BF16 dot products where this CPU has them)
  if [ -z "$NO_BF16" ]; then
    $B/lispetorchc $W/$name.lsp --dtype bf16 -o $W/${name}_bf16.so 2>$W/${name}_bf16.log || { cat $W/${name}_bf16.log >&2; exit 1; }
  fi
done < <($PY bench/cpu_bench.py --list "${QUICK[@]}")

# libtorch's OpenMP threads spin while others wait for a core (bench/run.sh
# measured 40x on 2 vCPUs); PASSIVE is its best setting here
export OMP_WAIT_POLICY=PASSIVE
export LTC_RUNTIME_LIB=$PWD/$B/libltc_runtime.so
{
  echo "# lispetorchc CPU benchmark, $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), threads=$THREADS"
  echo ""
  $PY -c 'import torch, onnxruntime, onnx, transformers, numpy, platform
print(f"versions: PyTorch {torch.__version__}, ONNX Runtime {onnxruntime.__version__}, onnx {onnx.__version__}, "
      f"transformers {transformers.__version__}, NumPy {numpy.__version__}, Python {platform.python_version()}")'
  echo "ours: $($B/lispetorchc --version 2>&1 | head -1)"
  echo ""
} >$OUTMD
LT=""; [ -x $B/bench/ltc_bench ] && LT=$B/bench/ltc_bench
PYTHONUNBUFFERED=1 $PY bench/cpu_bench.py --models $W --threads "$THREADS" "${QUICK[@]}" "${ARGS[@]}" \
  ${LT:+--libtorch-bench "$LT"} --out $W/table.md
cat $W/table.md >>$OUTMD
echo "bench/cpu.sh: wrote $OUTMD" >&2
