/* abi.h: what a compiled model exports and what its kernels look like —
 * the contract between every backend (codegen/) and the runtime
 * (runtime/), neither of which includes the other.
 *
 * Kernel ABI (all backends, all kernels): plan.h. */
#ifndef LTC_PLAN_ABI_H
#define LTC_PLAN_ABI_H

#include <stdint.h>

#include "plan/gpu_abi.h"

/* ---- model.so descriptor ---------------------------------------------------- */
#define LTC_MODEL_MAGIC 0x314C444F4D43544CULL   /* "LTCMODL1" little-endian */
#define LTC_MODEL_ABI 4                        /* == LTC_RUNTIME_ABI; 2: the device field;
                                                * 3: code, code_len, gpu_kernels;
                                                * 4: LtcGpuKernel.flags */
#define LTC_DESCRIPTOR_SYMBOL "ltc_model_descriptor"

/* The kernel ABI of plan.h. */
typedef void (*LtcKernelFn)(void *const *ptrs, const int64_t *dims, const float *f,
                            int64_t tile_begin, int64_t tile_end);

/* Exported as `ltc_model_descriptor` (const data) by every model.so.  Plain
 * C layout (x86-64 SysV: natural alignment, no padding between these
 * fields except none needed); the LLVM emitter builds the same struct
 * type { i64, i32, i32, ptr x4, ptr, i64, ptr, ptr, ptr, i64, ptr,
 * ptr, i64, ptr }.
 * kernels[] lists the kernels of plan 0, then plan 1...: plan p's kernel k
 * is kernels[sum(nkernels of plans < p) + k].
 *
 * CPU models: kernels/kernel_names set, code NULL, code_len 0, gpu_kernels
 * NULL.  GPU models (device "opencl", "cuda"...): kernels and kernel_names
 * NULL, gpu_kernels[nkernels] in the same order (name in the code, group
 * size), code = the code image of plan/gpu_abi.h. */
typedef struct LtcModelDescriptor {
    uint64_t magic;                 /* LTC_MODEL_MAGIC */
    uint32_t abi_version;           /* LTC_MODEL_ABI */
    uint32_t nkernels;
    const char *compiler_version;   /* LTC_VERSION of the compiler */
    const char *triple;             /* "x86_64-pc-linux-gnu" */
    const char *cpu;                /* "x86-64-v3", "sapphirerapids"... */
    const char *features;           /* "+avx2,+fma,-avx512f,..." */
    const uint8_t *plans;           /* plan/serialize.c blob */
    uint64_t plans_len;
    const LtcKernelFn *kernels;
    const char *const *kernel_names;
    const uint8_t *weights;         /* embedded safetensors image or NULL */
    uint64_t weights_len;
    const char *device;             /* the runtime device its kernels run on
                                     * (runtime/devices.def): "cpu" */
    const uint8_t *code;            /* GPU models: the code image (gpu_abi.h); CPU: NULL */
    uint64_t code_len;
    const LtcGpuKernel *gpu_kernels;   /* GPU models: nkernels entries; CPU: NULL */
} LtcModelDescriptor;

#endif
