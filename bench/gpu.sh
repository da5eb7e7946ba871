#!/usr/bin/env bash
# bench/gpu.sh: the seed layer on an NVIDIA GPU, ours against PyTorch, side by
# side in one device call.
#
#   bench/gpu.sh prepare   here: compile the layer at each shape with
#                          --target cuda into gpu-run/bench/ (gitignored), with
#                          the timing host bench/gpu_bench.c
#   bench/gpu.sh device    there (device tool: run this, carry gpu-run): for
#                          each shape ours (device tensors, and host tensors
#                          staged), PyTorch eager and torch.compile; one line
#                          each into $OUT/bench.txt, then the ratios
#
# Shapes: issue 11's [B S E H F] for the seed layer, fp32 and bf16.
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPES=("2 128 256 8 1024" "8 512 512 8 2048" "4 2048 1024 16 4096")
case "${1:-}" in
  prepare)
    ninja -C build lispetorchc ltc_gpu_bench >/dev/null
    rm -rf gpu-run/bench && mkdir -p gpu-run/bench
    cp build/bench/ltc_gpu_bench bench/gpu_torch.py gpu-run/bench/
    for sh in "${SHAPES[@]}"; do
      read -r b s e h f <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
      sed "s/@B@/$b/g; s/@S@/$s/g; s/@E@/$e/g; s/@H@/$h/g; s/@F@/$f/g" bench/layer.lsp.in >"gpu-run/bench/$n.lsp"
      t0=$(date +%s%N)
      build/lispetorchc "gpu-run/bench/$n.lsp" --target cuda -o "gpu-run/bench/$n.so" 2>/dev/null
      build/lispetorchc "gpu-run/bench/$n.lsp" --target cuda --dtype bf16 -o "gpu-run/bench/${n}_bf16.so" 2>/dev/null
      rm -f gpu-run/bench/*.safetensors   # gpu_bench binds random weights
      echo "prepare: $n compiled in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    done
    ;;
  device)
    out=${OUT:-gpu-run}
    : >"$out/bench.txt"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$out/bench.txt"
    for sh in "${SHAPES[@]}"; do
      read -r b s e h f <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
      gpu-run/bench/ltc_gpu_bench "gpu-run/bench/$n.so" B=$b S=$s --iters 30 | tee -a "$out/bench.txt" || echo "ours failed: $n" | tee -a "$out/bench.txt"
      timeout 240 python3 gpu-run/bench/gpu_torch.py $b $s $e $h $f --iters 30 ${GPU_BENCH_COMPILE:+--compile} 2>&1 \
        | grep kind= | tee -a "$out/bench.txt" || echo "torch failed: $n" | tee -a "$out/bench.txt"
      gpu-run/bench/ltc_gpu_bench "gpu-run/bench/${n}_bf16.so" B=$b S=$s --iters 30 | tee -a "$out/bench.txt" || echo "ours failed: ${n}_bf16" | tee -a "$out/bench.txt"
      timeout 240 python3 gpu-run/bench/gpu_torch.py $b $s $e $h $f --dtype bf16 --iters 30 2>&1 \
        | grep kind= | tee -a "$out/bench.txt" || echo "torch failed: ${n}_bf16" | tee -a "$out/bench.txt"
    done
    ;;
  *) echo "usage: bench/gpu.sh prepare|device" >&2; exit 2 ;;
esac
