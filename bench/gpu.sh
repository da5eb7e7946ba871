#!/usr/bin/env bash
# bench/gpu.sh: ours against PyTorch on an NVIDIA GPU, side by side in one
# device call.
#
#   bench/gpu.sh prepare   here: compile every model with --target cuda into
#                          gpu-run/bench/ (gitignored; NVRTC makes the sm_90a
#                          cubin here, so the compile times are this
#                          machine's: gpu-run/bench/compile.txt), with the
#                          timing host bench/gpu_bench.c and the PyTorch side
#                          (gpu_torch.py, gpu_models.py, gpu_tables.py)
#   bench/gpu.sh device    there (device tool: run this, carry gpu-run): the
#                          parts of GPU_BENCH_PARTS (default all, in this
#                          order: "layer attn llama gemm compile bert
#                          profile"), one line per
#                          measurement into $OUT/bench.txt, then a markdown
#                          table per part with the ratios into $OUT/bench.md
#                          (bench/gpu_tables.py).  Each part prints its
#                          estimated and its actual time; a part whose
#                          estimate would end past GPU_BENCH_BUDGET_S
#                          (default 560) is skipped and says so (the device
#                          tool's limit is 600 s per call).
#
# Parts:
#   layer    the seed layer (bench/layer.lsp.in) at issue 11's [B S E H F],
#            fp32 and bf16, against PyTorch eager (and torch.compile with
#            GPU_BENCH_COMPILE=1)
#   attn     attention alone in bf16 (bench/gpu_attn.lsp.in, one model.so per
#            head count, head dim and causal, B and S symbolic; with
#            GPU_BENCH_ATTN_AB=1 also at the 64-row blocking: "ours r64") at ATTNS,
#            causal and not, against each PyTorch SDPA backend, with TFLOP/s
#            (4 B H S^2 D, half when causal) and the memory a run takes
#            beyond its tensors (MEMS: long sequences, PyTorch's math path too)
#   bert     a 6-layer BERT encoder with embeddings (bench/gpu_bert.lsp.in)
#            in fp32 and bf16 at BERTS, padding mask, against HuggingFace's
#            BertModel eager and torch.compile on the same weights (exported
#            from HF on the device), max abs diff of the outputs
#   llama    a Llama block with GQA (bench/gpu_llama.lsp.in) in bf16 at
#            LLAMAS against a PyTorch eager block on the same weights
#            (made on the device), max abs diff of the outputs
#   gemm     our bf16 GEMM (bench/gemm.lsp.in, M symbolic) against
#            torch.matmul (cuBLAS) at GEMMS: TFLOP/s and the ratio
#   compile  each model.so: the compile time here (compile.txt), the .so
#            size, and on the device ltc_model_open, weight binding and the
#            first run in a fresh process
#   profile  the layer's kernels at [B4 S2048 E1024] by LTC_CUDA_PROFILE=1
set -euo pipefail
cd "$(dirname "$0")/.."
# the layer: B S E H F, and how many timed runs (the largest is slow in fp32)
SHAPES=("2 128 256 8 1024 30" "8 512 512 8 2048 30" "4 2048 1024 16 4096 30" "1 8192 4096 32 11008 5")
# attention alone: B H S D, causal or not (issue 11's shapes), then two
# long ones for the memory a run takes (PyTorch's math path included)
ATTNS=("4 32 4096 128" "4 16 2048 64" "1 32 16384 128")
MEMS=("1 16 16384 64" "1 16 32768 64")
# BERT (vocabulary 1024: random init, the size only changes the embedding
# table) and the Llama block: B S each
BERTS=("8 128" "1 512" "32 64")
LLAMAS=("1 2048" "4 2048" "1 8192")
# GEMM: M N K, M = B*S of each layer shape with (N, K) the layer's
# 3E x E (fused qkv), E x E (out), F x E (ffn1), E x F (ffn2); then 4096^3
GEMMS=()
for sh in "${SHAPES[@]}"; do
  read -r b s e h f it <<<"$sh"
  GEMMS+=("$((b * s)) $((3 * e)) $e" "$((b * s)) $e $e" "$((b * s)) $f $e" "$((b * s)) $e $f")
done
GEMMS+=("4096 4096 4096")
ALL_PARTS="layer attn llama gemm compile bert profile"
parts=${GPU_BENCH_PARTS:-$ALL_PARTS}
for p in $parts; do
  [[ " $ALL_PARTS " == *" $p "* ]] || { echo "bench/gpu.sh: unknown part '$p' (parts: $ALL_PARTS)" >&2; exit 2; }
done
has() { [[ " $parts " == *" $1 "* ]]; }
R=gpu-run/bench
# compile one model: NAME LSP [lispetorchc options]; its time into compile.txt
compile() {
  local n=$1 lsp=$2 t0 ms
  shift 2
  t0=$(date +%s%N)
  build/lispetorchc "$lsp" --target cuda --no-cache -o "$R/$n.so" "$@" 2>"$R/$n.log" || { cat "$R/$n.log" >&2; return 1; }
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  rm -f "$R/$n.safetensors"   # weights: random (gpu_bench) or made on the device
  echo "kind=compile model=$n compile_ms=$ms so_kb=$(( $(stat -c %s "$R/$n.so") / 1024 )) where=prepare" | tee -a "$R/compile.txt"
}
case "${1:-}" in
  prepare)
    ninja -C build lispetorchc ltc_gpu_bench >/dev/null
    rm -rf "$R" && mkdir -p "$R"
    cp build/bench/ltc_gpu_bench bench/gpu_torch.py bench/gpu_models.py bench/gpu_tables.py "$R/"
    : >"$R/compile.txt"
    if has layer || has profile || has compile; then
      for sh in "${SHAPES[@]}"; do
        read -r b s e h f it <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
        sed "s/@B@/$b/g; s/@S@/$s/g; s/@E@/$e/g; s/@H@/$h/g; s/@F@/$f/g" bench/layer.lsp.in >"$R/$n.lsp"
        compile "$n" "$R/$n.lsp"
        compile "${n}_bf16" "$R/$n.lsp" --dtype bf16
      done
    fi
    if has attn || has compile; then
      for hd in "32 128" "16 64"; do    # B and S are symbols: one model.so per H, D, causal
        for c in false true; do
          read -r h d <<<"$hd"; n="attn_H${h}_D${d}_$c"
          sed "s/@B@/4/g; s/@H@/$h/g; s/@S@/2048/g; s/@D@/$d/g; s/@C@/$c/g" bench/gpu_attn.lsp.in >"$R/$n.lsp"
          compile "$n" "$R/$n.lsp" --dtype bf16
          # the blocking before (64 query rows per group, Q fragments in
          # registers), side by side: LTC_CUDA_ATTN_ROWS is not in the
          # cache keys, hence --no-cache
          [ -n "${GPU_BENCH_ATTN_AB:-}" ] && LTC_CUDA_ATTN_ROWS=64 compile "${n}_r64" "$R/$n.lsp" --dtype bf16 --no-cache
        done
      done
    fi
    if has bert || has compile; then
      sed "s/@V@/1024/; s/@E@/384/; s/@H@/12/; s/@F@/1536/; s/@L@/6/; s/@P@/512/" bench/gpu_bert.lsp.in >"$R/bert.lsp"
      compile bert_f32 "$R/bert.lsp"
      compile bert_bf16 "$R/bert.lsp" --dtype bf16
    fi
    if has llama || has compile; then
      sed "s/@E@/4096/; s/@HQ@/32/; s/@HKV@/8/; s/@D@/128/; s/@F@/14336/; s/@P@/8192/" bench/gpu_llama.lsp.in >"$R/llama.lsp"
      compile llama_bf16 "$R/llama.lsp" --dtype bf16
    fi
    if has gemm || has compile; then   # M is the symbol S (x is [1, M, K]): one model.so per N, K
      for g in "${GEMMS[@]}"; do
        read -r m nn k <<<"$g"; n="gemm_N${nn}_K${k}"
        [ -f "$R/$n.so" ] && continue
        sed "s/@M@/64/g; s/@N@/$nn/g; s/@K@/$k/g" bench/gemm.lsp.in >"$R/$n.lsp"
        compile "$n" "$R/$n.lsp" --dtype bf16
      done
    fi
    du -sh "$R"
    ;;
  device)
    out=${OUT:-gpu-run}
    txt=$out/bench.txt
    : >"$txt"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sed 's/^/gpu: /' | tee -a "$txt"
    python3 -c 'import torch; print("torch:", torch.__version__, torch.version.cuda)' | tee -a "$txt" || true
    python3 -c 'import transformers; print("transformers:", transformers.__version__)' | tee -a "$txt" || true
    work=$(mktemp -d)   # weights and inputs made here, on the device machine's disk
    trap 'rm -rf "$work"' EXIT
    log() { tee -a "$txt"; }
    # PART ESTIMATE_S: start a part, print its estimate; part_end prints the actual time
    # a part that would end past GPU_BENCH_BUDGET_S (default 560 s, under the
    # device tool's 600 s call) by its estimate is skipped, saying so, so that
    # the tables are always written
    budget=${GPU_BENCH_BUDGET_S:-560}
    t_start=$(date +%s)
    part() {
      local used=$(( $(date +%s) - t_start ))
      if (( used + $2 > budget )); then
        echo "part: $1 skipped: ~$2 s estimated, $(( budget - used )) s of GPU_BENCH_BUDGET_S=$budget left" | log
        return 1
      fi
      pname=$1; pstart=$(date +%s); echo "part: $1 starts (estimate ~$2 s, $used s used)" | log
    }
    part_end() { echo "part: $pname took $(( $(date +%s) - pstart )) s" | log; }
    # ours: PART LABEL MODEL.so ltc_gpu_bench-arguments: one line, prefixed
    ours() {
      local p=$1 label=$2 so=$3
      shift 3
      if ! "$R/ltc_gpu_bench" "$so" "$@" 2>"$work/err" | sed "s/^gpu_bench: /kind=ours part=$p $label model=/" | log; then
        echo "kind=ours part=$p $label failed=1 $(tr '\n' ' ' <"$work/err")" | log
      fi
    }
    if has layer && part layer "$([ -n "${GPU_BENCH_COMPILE:-}" ] && echo 200 || echo 90)"; then
      for sh in "${SHAPES[@]}"; do
        read -r b s e h f it <<<"$sh"; n="B${b}_S${s}_E${e}_H${h}_F${f}"
        for dt in f32 bf16; do
          v=""; [ $dt = bf16 ] && v=_bf16
          ours layer "shape=$n dtype=$dt" "$R/$n$v.so" B=$b S=$s --iters $it
          timeout 240 python3 "$R/gpu_torch.py" $b $s $e $h $f --dtype $dt --iters $it ${GPU_BENCH_COMPILE:+--compile} 2>&1 \
            | grep kind= | sed 's/^kind=/part=layer kind=/' | log || echo "part=layer kind=torch shape=$n dtype=$dt failed=1" | log
        done
      done
      part_end
    fi
    attn_case() {   # B H S D causal [torch options]
      local b=$1 h=$2 s=$3 d=$4 c=$5 n="attn_H$2_D$4_$5"
      ours attn "B=$b H=$h S=$s D=$d causal=$([ "$c" = true ] && echo 1 || echo 0)" "$R/$n.so" B=$b S=$s --iters 20 --dev-only
      [ -f "$R/${n}_r64.so" ] &&
        ours attn64 "B=$b H=$h S=$s D=$d causal=$([ "$c" = true ] && echo 1 || echo 0)" "$R/${n}_r64.so" B=$b S=$s --iters 20 --dev-only
      # shellcheck disable=SC2046  # --causal or no word at all
      timeout 150 python3 "$R/gpu_torch.py" attn $b $h $s $d $([ "$c" = true ] && echo --causal) --iters 20 "${@:6}" 2>&1 \
        | grep kind= | sed 's/^kind=/part=attn kind=/' | log || echo "part=attn kind=torch B=$b H=$h S=$s failed=1" | log
    }
    if has attn && part attn 80; then
      for a in "${ATTNS[@]}"; do
        for c in false true; do attn_case $a $c; done
      done
      for a in "${MEMS[@]}"; do attn_case $a false --math; done
      part_end
    fi
    if has llama && part llama 60; then
      d="$work/llama"; mkdir -p "$d"
      list=$(printf '%s\n' "${LLAMAS[@]}" | tr ' ' x | paste -sd,)
      timeout 240 python3 "$R/gpu_models.py" llama "$d" --shapes "$list" --iters 10 2>&1 \
        | grep kind= | log || echo "kind=torch_eager part=llama failed=1" | log
      for bs in "${LLAMAS[@]}"; do
        read -r b s <<<"$bs"; t="${b}x$s"
        [ -f "$d/ref_$t.bin" ] || continue
        ours llama "shape=B${b}_S$s dtype=bf16" "$R/llama_bf16.so" B=$b S=$s --iters 10 --dev-only \
          --weights "$d/weights.safetensors" --input "0=$d/x_$t.bin" --output "$d/ours_$t.bin"
        if [ -f "$d/ours_$t.bin" ]; then
          python3 "$R/gpu_models.py" cmp "$d/ref_$t.bin" "$d/ours_$t.bin" bf16 "part=llama shape=B${b}_S$s dtype=bf16" | log || true
        fi
      done
      rm -rf "$d"
      part_end
    fi
    if has gemm && part gemm 45; then
      specs=()
      for g in "${GEMMS[@]}"; do
        read -r m nn k <<<"$g"
        ours gemm "M=$m N=$nn K=$k dtype=bf16" "$R/gemm_N${nn}_K$k.so" B=1 S=$m --iters 30 --dev-only
        specs+=("$m,$nn,$k")
      done
      timeout 120 python3 "$R/gpu_models.py" gemm "${specs[@]}" --iters 30 2>&1 | grep kind= | log \
        || echo "kind=cublas part=gemm failed=1" | log
      part_end
    fi
    if has compile && part compile 45; then
      grep kind=compile "$R/compile.txt" | log || true
      while read -r line; do
        n=$(sed 's/.*model=\([^ ]*\).*/\1/' <<<"$line")
        case $n in
          B*_S*) read -r b s <<<"$(sed 's/^B\([0-9]*\)_S\([0-9]*\)_.*/\1 \2/' <<<"$n")" ;;
          attn_*) b=1; s=1024 ;;
          bert_*) b=8; s=128 ;;
          llama_*) b=1; s=2048 ;;
          gemm_*) b=1; s=4096 ;;
        esac
        ours compile "name=$n" "$R/$n.so" B=$b S=$s --iters 1 --dev-only
      done < <(grep kind=compile "$R/compile.txt")
      part_end
    fi
    if has bert && part bert 200; then
      for dt in f32 bf16; do
        mkdir -p "$work/bert_$dt"
        list=$(printf '%s\n' "${BERTS[@]}" | tr ' ' x | paste -sd,)
        timeout 150 python3 "$R/gpu_models.py" bert "$work/bert_$dt" --dtype $dt --shapes "$list" --iters 30 2>&1 \
          | grep kind= | log || echo "kind=hf part=bert dtype=$dt failed=1" | log
        for bs in "${BERTS[@]}"; do
          read -r b s <<<"$bs"; t="${b}x$s"; d="$work/bert_$dt"
          [ -f "$d/ref_$t.bin" ] || continue
          ours bert "shape=B${b}_S$s dtype=$dt" "$R/bert_$dt.so" B=$b S=$s --iters 30 --dev-only \
            --weights "$d/weights.safetensors" --input "0=$d/ids_$t.bin" --input "1=$d/mask_$t.bin" --output "$d/ours_$t.bin"
          if [ -f "$d/ours_$t.bin" ]; then
            python3 "$R/gpu_models.py" cmp "$d/ref_$t.bin" "$d/ours_$t.bin" $dt "part=bert shape=B${b}_S$s dtype=$dt" | log || true
          fi
        done
        rm -rf "$work/bert_$dt"
      done
      part_end
    fi
    if has profile && part profile 20; then
      read -r b s e h f it <<<"${SHAPES[2]}"
      for v in _bf16 ""; do
        LTC_CUDA_PROFILE=1 "$R/ltc_gpu_bench" "$R/B${b}_S${s}_E${e}_H${h}_F${f}$v.so" B=$b S=$s \
          --iters 3 --dev-only 2>&1 | sed 's/^/profile: /' | log || echo "profile: failed: B${b}_S${s}$v" | log
      done
      part_end
    fi
    python3 "$R/gpu_tables.py" "$txt" >"$out/bench.md" && cat "$out/bench.md"
    ;;
  *) echo "usage: bench/gpu.sh prepare|device (GPU_BENCH_PARTS selects: $ALL_PARTS)" >&2; exit 2 ;;
esac
