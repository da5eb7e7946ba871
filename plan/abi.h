/* abi.h: what a compiled model exports and what its kernels look like —
 * the contract between every backend (codegen/) and the runtime
 * (runtime/), neither of which includes the other.
 *
 * Kernel ABI (all backends, all kernels): plan.h. */
#ifndef LTC_PLAN_ABI_H
#define LTC_PLAN_ABI_H

#include <stdint.h>

/* ---- model.so descriptor ---------------------------------------------------- */
#define LTC_MODEL_MAGIC 0x314C444F4D43544CULL   /* "LTCMODL1" little-endian */
#define LTC_MODEL_ABI 2                        /* == LTC_RUNTIME_ABI; 2: the device field */
#define LTC_DESCRIPTOR_SYMBOL "ltc_model_descriptor"

/* The kernel ABI of plan.h. */
typedef void (*LtcKernelFn)(void *const *ptrs, const int64_t *dims, const float *f,
                            int64_t tile_begin, int64_t tile_end);

/* Exported as `ltc_model_descriptor` (const data) by every model.so.  Plain
 * C layout (x86-64 SysV: natural alignment, no padding between these
 * fields except none needed); the LLVM emitter builds the same struct
 * type { i64, i32, i32, ptr x4, ptr, i64, ptr, ptr, ptr, i64, ptr }.
 * kernels[] lists the kernels of plan 0, then plan 1...: plan p's kernel k
 * is kernels[sum(nkernels of plans < p) + k]. */
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
} LtcModelDescriptor;

#endif
