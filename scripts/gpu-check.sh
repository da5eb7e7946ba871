#!/usr/bin/env bash
# scripts/gpu-check.sh: the CUDA kernels against the reference interpreter
# on a GPU machine, in one call of the device tool.
#
#   scripts/gpu-check.sh prepare   here: build, write every unit_gpu_ocl_ops case
#                                  for the cuda backend (code image, inputs,
#                                  launches, the interpreter's outputs) and the
#                                  replay tool into gpu-run/ (gitignored)
#   scripts/gpu-check.sh device    there (device tool: run this, carry gpu-run):
#                                  the GPU's name, then every case from the cubin
#                                  the GPU loads and from the compute_80 PTX,
#                                  timed; the log also goes to $OUT
#
# The GPU machine has no LLVM headers, so nothing is built there: the cases
# and tests/device/cuda_replay.c (dlopens libcuda.so.1) are built here.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    scripts/setup.sh >/dev/null
    ninja -C build unit_gpu_ocl_ops ltc_cuda_replay >/dev/null
    rm -rf gpu-run && mkdir -p gpu-run/cases
    LTC_CUDA_CASES=gpu-run/cases build/tests/unit_gpu_ocl_ops --jobs 1 >gpu-run/prepare.log 2>&1
    cp build/tests/ltc_cuda_replay gpu-run/
    # the bf16 tensor-core GEMM (r_gemm_mma.c): its source from unit_gpu_nvrtc,
    # an sm_90a cubin by NVRTC (tests/device/mma_cubin.c), the checker
    ninja -C build unit_gpu_nvrtc >/dev/null
    LTC_MMA_DUMP=gpu-run/mma.cu build/tests/unit_gpu_nvrtc --filter 'gpu_nvrtc/mma*' >gpu-run/mma.log 2>&1
    cc -O2 -o gpu-run/mma_cubin tests/device/mma_cubin.c -I/usr/local/cuda/include -L/usr/local/cuda/lib64 -lnvrtc \
       -Wl,-rpath,/usr/local/cuda/lib64
    gpu-run/mma_cubin gpu-run/mma.cu gpu-run/mma.cubin
    cc -O2 -std=gnu11 -I. -I/usr/local/cuda/include -o gpu-run/mma_check tests/device/mma_check.c -ldl -lm
    echo "gpu-check: $(ls gpu-run/cases | wc -l) cases, $(du -sh gpu-run | cut -f1) in gpu-run/"
    ;;
  device)
    out=${OUT:-gpu-run}
    nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader | tee "$out/gpu.txt"
    t0=$(date +%s%N)
    rc=0
    gpu-run/ltc_cuda_replay gpu-run/cases/*.bin >"$out/replay.log" 2>&1 || rc=$?
    echo "gpu-check: replay exit $rc in $(( ($(date +%s%N) - t0) / 1000000 )) ms" | tee -a "$out/replay.log"
    tail -5 "$out/replay.log"
    gpu-run/mma_check gpu-run/mma.cubin 2>&1 | tee "$out/mma.log" || rc=$?
    exit $rc
    ;;
  *) echo "usage: scripts/gpu-check.sh prepare|device" >&2; exit 2 ;;
esac
