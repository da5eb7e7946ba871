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
#                          (GPU_BENCH_PARTS="layer attn profile": which parts)
#
# Shapes: issue 11's [B S E H F] for the seed layer, fp32 and bf16; then
# attention alone in bf16 (bench/gpu_attn.lsp.in, one model.so per head
# count, head dim and causal, B and S symbolic) at ATTNS, causal and not,
# against each PyTorch SDPA backend, with TFLOP/s (4 B H S^2 D, half when
# causal) and the memory a run takes beyond its tensors (MEMS: long
# sequences, PyTorch's math path too); and the
# layer's kernels at the largest shape by LTC_CUDA_PROFILE=1 (bf16, f32).
set -euo pipefail
cd "$(dirname "$0")/.."
# the layer: B S E H F, and how many timed runs (the largest is slow in fp32)
SHAPES=("2 128 256 8 1024 30" "8 512 512 8 2048 30" "4 2048 1024 16 4096 30" "1 8192 4096 32 11008 5")
# attention alone: B H S D, causal or not (issue 11's shapes), then two
# long ones for the memory a run takes (PyTorch's math path included)
ATTNS=("4 32 4096 128" "4 16 2048 64" "1 32 16384 128")
MEMS=("1 16 16384 64" "1 16 32768 64")
case "${1:-}" in
  prepare)
    ninja -C build lispetorchc ltc_gpu_bench >/dev/null
    rm -rf gpu-run/bench && mkdir -p gpu-run/bench
    cp build/bench/ltc_gpu_bench bench/gpu_torch.py gpu-run/bench/
    for sh in "${SHAPES[@]}"; do
      read -r b s e h f it <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
      sed "s/@B@/$b/g; s/@S@/$s/g; s/@E@/$e/g; s/@H@/$h/g; s/@F@/$f/g" bench/layer.lsp.in >"gpu-run/bench/$n.lsp"
      t0=$(date +%s%N)
      build/lispetorchc "gpu-run/bench/$n.lsp" --target cuda -o "gpu-run/bench/$n.so" 2>/dev/null
      build/lispetorchc "gpu-run/bench/$n.lsp" --target cuda --dtype bf16 -o "gpu-run/bench/${n}_bf16.so" 2>/dev/null
      rm -f gpu-run/bench/*.safetensors   # gpu_bench binds random weights
      echo "prepare: $n compiled in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    done
    for hd in "32 128" "16 64"; do    # B and S are symbols: one model.so per H, D, causal
      for c in false true; do
        read -r h d <<<"$hd"; n="attn_H${h}_D${d}_$c"
        sed "s/@B@/4/g; s/@H@/$h/g; s/@S@/2048/g; s/@D@/$d/g; s/@C@/$c/g" bench/gpu_attn.lsp.in >"gpu-run/bench/$n.lsp"
        build/lispetorchc "gpu-run/bench/$n.lsp" --target cuda --dtype bf16 -o "gpu-run/bench/$n.so" 2>/dev/null
        rm -f "gpu-run/bench/$n.safetensors"
      done
    done
    ;;
  device)
    out=${OUT:-gpu-run}
    : >"$out/bench.txt"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$out/bench.txt"
    parts=${GPU_BENCH_PARTS:-layer attn profile}
    for sh in "${SHAPES[@]}"; do
      [[ $parts == *layer* ]] || break
      read -r b s e h f it <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
      gpu-run/bench/ltc_gpu_bench "gpu-run/bench/$n.so" B=$b S=$s --iters $it | tee -a "$out/bench.txt" || echo "ours failed: $n" | tee -a "$out/bench.txt"
      timeout 240 python3 gpu-run/bench/gpu_torch.py $b $s $e $h $f --iters $it ${GPU_BENCH_COMPILE:+--compile} 2>&1 \
        | grep kind= | tee -a "$out/bench.txt" || echo "torch failed: $n" | tee -a "$out/bench.txt"
      gpu-run/bench/ltc_gpu_bench "gpu-run/bench/${n}_bf16.so" B=$b S=$s --iters $it | tee -a "$out/bench.txt" || echo "ours failed: ${n}_bf16" | tee -a "$out/bench.txt"
      timeout 240 python3 gpu-run/bench/gpu_torch.py $b $s $e $h $f --dtype bf16 --iters $it ${GPU_BENCH_COMPILE:+--compile} 2>&1 \
        | grep kind= | tee -a "$out/bench.txt" || echo "torch failed: ${n}_bf16" | tee -a "$out/bench.txt"
    done
    attn_case() {   # B H S D causal [torch options]
      local b=$1 h=$2 s=$3 d=$4 c=$5 n="attn_H$2_D$4_$5" div=1
      [ "$c" = true ] && div=2
      local flops=$(( 4 * b * h * s * s * d / div ))
      gpu-run/bench/ltc_gpu_bench "gpu-run/bench/$n.so" B=$b S=$s --iters 20 --dev-only \
        | awk -v f=$flops -v h=$h -v d=$d -v c=$c '{ for (i = 1; i <= NF; i++) if ($i ~ /^dev_ms=/) ms = substr($i, 8);
               print "kind=ours_attn " $0 " H=" h " D=" d " causal=" (c == "true") " tflops=" sprintf("%.1f", f / ms / 1e9) }' \
        | tee -a "$out/bench.txt" || echo "ours failed: $n B=$b S=$s" | tee -a "$out/bench.txt"
      timeout 150 python3 gpu-run/bench/gpu_torch.py attn $b $h $s $d ${c/true/--causal} --iters 20 "${@:6}" 2>&1 \
        | grep kind= | tee -a "$out/bench.txt" || echo "torch failed: $n B=$b S=$s" | tee -a "$out/bench.txt"
    }
    if [[ $parts == *attn* ]]; then
      for a in "${ATTNS[@]}"; do
        for c in false true; do attn_case $a $c; done
      done
      for a in "${MEMS[@]}"; do attn_case $a false --math; done
    fi
    [[ $parts == *profile* ]] || exit 0
    read -r b s e h f it <<<"${SHAPES[2]}"
    for v in _bf16 ""; do
      LTC_CUDA_PROFILE=1 gpu-run/bench/ltc_gpu_bench "gpu-run/bench/B${b}_S${s}_E${e}_H${h}_F${f}$v.so" B=$b S=$s \
        --iters 3 --dev-only 2>&1 | tee -a "$out/bench.txt"
    done
    ;;
  *) echo "usage: bench/gpu.sh prepare|device" >&2; exit 2 ;;
esac
