#!/usr/bin/env bash
# scripts/gpu-check.sh: the CUDA kernels against the reference interpreter
# on a GPU machine, in one call of the device tool.
#
#   scripts/gpu-check.sh prepare   here: build, write every unit_gpu_ocl_ops case (f32, bf16, f16; packed)
#                                  for the cuda backend (code image, inputs,
#                                  launches, the interpreter's outputs) and the
#                                  replay tool into gpu-run/ (gitignored), and
#                                  every example as a CUDA model.so with
#                                  ltc_so_check (the interpreter is in it)
#   scripts/gpu-check.sh device    there (device tool: run this, carry gpu-run):
#                                  the GPU's name, then every case from the cubin
#                                  the GPU loads and from the compute_80 PTX,
#                                  timed; then every example's model.so through
#                                  the runtime's CUDA device against the
#                                  interpreter (outputs poisoned with NaN first),
#                                  at the traced sizes, B=3 S=13 and S=1, run
#                                  three times (the later runs replay a CUDA
#                                  graph), in bf16 (tolerance 1e-2), and once
#                                  from the PTX and once with
#                                  graphs off; the logs also go to $OUT
#
# The GPU machine has no LLVM headers, so nothing is built there: the cases
# and tests/device/cuda_replay.c (dlopens libcuda.so.1) are built here.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    scripts/setup.sh >/dev/null
    ninja -C build lispetorchc unit_gpu_ocl_ops ltc_cuda_replay ltc_so_check >/dev/null
    rm -rf gpu-run && mkdir -p gpu-run/cases
    LTC_CUDA_CASES=gpu-run/cases build/tests/unit_gpu_ocl_ops --jobs 1 >gpu-run/prepare.log 2>&1
    cp build/tests/ltc_cuda_replay build/tests/e2e/ltc_so_check gpu-run/
    # the bf16 tensor-core GEMM (r_gemm_mma.c): its source from unit_gpu_nvrtc,
    # an sm_90a cubin by NVRTC (tests/device/mma_cubin.c), the checker
    ninja -C build unit_gpu_nvrtc >/dev/null
    LTC_MMA_DUMP=gpu-run/mma.cu build/tests/unit_gpu_nvrtc --filter 'gpu_nvrtc/mma*' >gpu-run/mma.log 2>&1
    cc -O2 -o gpu-run/mma_cubin tests/device/mma_cubin.c -I/usr/local/cuda/include -L/usr/local/cuda/lib64 -lnvrtc \
       -Wl,-rpath,/usr/local/cuda/lib64
    gpu-run/mma_cubin gpu-run/mma.cu gpu-run/mma.cubin
    # variants for the timing study: the cp.async path alone
    # (LTC_CUDA_GEMM_TMA=0), the TMA path at pipeline depths 3 and 4
    # (LTC_CUDA_GEMM_STAGES; the default is 2)
    for v in async:TMA=0 s3:STAGES=3 s4:STAGES=4; do
      env "LTC_CUDA_GEMM_${v#*:}" LTC_MMA_DUMP="gpu-run/mma_${v%%:*}.cu" build/tests/unit_gpu_nvrtc --filter 'gpu_nvrtc/mma*' >>gpu-run/mma.log 2>&1
      gpu-run/mma_cubin "gpu-run/mma_${v%%:*}.cu" "gpu-run/mma_${v%%:*}.cubin"
    done
    cc -O2 -std=gnu11 -I. -I/usr/local/cuda/include -o gpu-run/mma_check tests/device/mma_check.c runtime/cuda_tma.c -ldl -lm
    for ex in examples/*.lsp; do
      n=$(basename "$ex" .lsp)
      mkdir -p "gpu-run/models/$n"
      build/lispetorchc "$ex" --target cuda -o "gpu-run/models/$n/model.so" 2>>gpu-run/prepare.log
      build/lispetorchc "$ex" --target cuda --dtype bf16 -o "gpu-run/models/$n/bf16.so" 2>>gpu-run/prepare.log
    done
    # packed: the f32, bf16 and f16 cases are ~40 MB, the device tool carries 64 MiB
    ncases=$(ls gpu-run/cases | wc -l)
    tar czf gpu-run/cases.tgz -C gpu-run cases && rm -rf gpu-run/cases
    # the examples' libraries too (21 MB, 8 packed: mostly PTX text)
    tar czf gpu-run/models.tgz -C gpu-run models && rm -rf gpu-run/models
    echo "gpu-check: $ncases cases, $(du -sh gpu-run | cut -f1) in gpu-run/"
    ;;
  device)
    out=${OUT:-gpu-run}
    nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee "$out/gpu.txt"
    t0=$(date +%s%N)
    rc=0
    cases=$(mktemp -d)
    tar xzf gpu-run/cases.tgz -C "$cases"
    [ -f gpu-run/models.tgz ] && tar xzf gpu-run/models.tgz -C gpu-run
    timeout 240 gpu-run/ltc_cuda_replay "$cases"/cases/*.bin >"$out/replay.log" 2>&1 || rc=$?
    rm -rf "$cases"
    echo "gpu-check: replay exit $rc in $(( ($(date +%s%N) - t0) / 1000000 )) ms" | tee -a "$out/replay.log"
    tail -5 "$out/replay.log"
    # (a timeout: a pipeline that waits on a barrier nothing completes hangs)
    timeout 150 gpu-run/mma_check gpu-run/mma.cubin gpu-run/mma_async.cubin gpu-run/mma_s3.cubin gpu-run/mma_s4.cubin \
      2>&1 | tee "$out/mma.log" || rc=$?
    export LTC_POISON_OUTPUTS=1
    t0=$(date +%s%N)
    for ex in examples/*.lsp; do
      n=$(basename "$ex" .lsp); so="gpu-run/models/$n/model.so"
      for sizes in "" "B=3 S=13" "S=1"; do
        # shellcheck disable=SC2086
        if ! timeout 120 gpu-run/ltc_so_check "$ex" "$so" $sizes --repeat 3 >>"$out/examples.log" 2>&1; then
          echo "FAIL $n $sizes" >>"$out/examples.log"; rc=1
        fi
      done
      for sizes in "" "B=3 S=13" "S=1"; do
        # shellcheck disable=SC2086
        if ! timeout 120 gpu-run/ltc_so_check "$ex" "gpu-run/models/$n/bf16.so" --dtype bf16 --tol 1e-2 $sizes --repeat 2 >>"$out/examples.log" 2>&1; then
          echo "FAIL bf16 $n $sizes" >>"$out/examples.log"; rc=1
        fi
      done
      LTC_CUDA_PTX=1 timeout 120 gpu-run/ltc_so_check "$ex" "$so" B=3 S=13 >>"$out/examples.log" 2>&1 || { echo "FAIL ptx $n" >>"$out/examples.log"; rc=1; }
      LTC_CUDA_GRAPHS=0 timeout 120 gpu-run/ltc_so_check "$ex" "$so" S=7 --repeat 2 >>"$out/examples.log" 2>&1 || { echo "FAIL nographs $n" >>"$out/examples.log"; rc=1; }
    done
    echo "gpu-check: examples in $(( ($(date +%s%N) - t0) / 1000000 )) ms, $(grep -c matches "$out/examples.log") outputs matched, $(grep -c FAIL "$out/examples.log") failed" | tee -a "$out/examples.log"
    grep -B3 FAIL "$out/examples.log" | head -40 || true
    exit $rc
    ;;
  *) echo "usage: scripts/gpu-check.sh prepare|device" >&2; exit 2 ;;
esac
