/* gpu_abi.h: the kernel ABI of the GPU targets (CUDA, OpenCL, Metal) —
 * the contract between their code generators (codegen/csrc/) and their
 * runtime devices (runtime/device_<name>.c).  The CPU's ABI is plan.h's.
 *
 * One step of a plan runs one generated kernel over its `ntiles` tiles
 * (plan.h), one work-group (CUDA: thread block; Metal: threadgroup) per
 * tile, `threads` work-items per group (fixed per kernel, recorded in the
 * model: LtcGpuKernel.threads).  A device may split a step into several
 * launches of at most LTC_GPU_MAX_GROUPS groups each; a launch's group g
 * works on tile args.tile0 + g.
 *
 * Every kernel has the same parameters, in this order:
 *
 *   LTC_GPU_MAX_BUFS buffers, each
 *     CUDA:   char *bI             (the device address of buffer I)
 *     OpenCL: __global char *bI, long bI_off
 *             (a cl_mem and a byte offset into it: OpenCL 1.2 has no
 *             pointers a host can add to; the kernel starts with
 *             `__global char *pI = bI + bI_off`)
 *     Metal:  device char *bI [[buffer(I)]]
 *             (the device sets the buffer and its offset at encode time)
 *     unused slots (the step has fewer buffers) hold any valid buffer
 *     and are never read;
 *   LtcGpuArgs args                (by value; Metal: constant LtcGpuArgs &
 *                                   [[buffer(8)]], set with setBytes)
 *
 * LtcGpuArgs carries what plan.h's CPU ABI passes as dims[], f[] and the
 * tile range: dims[0..ndims) = the step's dims evaluated, dims[ndims] =
 * the call number, f[0..4) = the step's f, tile0 as above.  Every field
 * is 8-byte aligned, so CUDA C, OpenCL C and MSL lay it out alike. */
#ifndef LTC_PLAN_GPU_ABI_H
#define LTC_PLAN_GPU_ABI_H

#include <stdint.h>

#define LTC_GPU_MAX_BUFS 8          /* == PLAN_MAX_ARGS */
#define LTC_GPU_MAX_DIMS 21         /* PLAN_MAX_DIMS + the call number */
#define LTC_GPU_MAX_GROUPS 65535    /* groups per launch (a device may split a step) */

typedef struct LtcGpuArgs {
    int64_t dims[LTC_GPU_MAX_DIMS];
    int64_t tile0;                  /* tile of group 0 of this launch */
    int64_t ntiles;                 /* tiles of the whole step: groups with tile >= ntiles return */
    float   f[4];
} LtcGpuArgs;

/* One kernel of a GPU model: its name in the code and its group size. */
typedef struct LtcGpuKernel {
    const char *name;
    uint32_t    threads;
    uint32_t    shared_bytes;       /* static shared (local) memory it declares, for messages */
    uint32_t    flags;              /* LTC_GPU_* below */
} LtcGpuKernel;
/* The kernel reads the call number (args.dims[ndims]: Philox dropout).
 * Others ignore it, so a device may replay their launches with an old one
 * (device_cuda.c's graphs). */
#define LTC_GPU_READS_CALL 1u
/* A kernel that needs dynamic shared memory (more than the 48 KB of static
 * shared memory CUDA allows) defines the device global
 *   extern "C" __device__ unsigned ltc_dsm_<kernel name> = <bytes>;
 * in its code, per target (r_gemm_mma.c: the sm_90a branch's size, 0 in
 * the others).  The CUDA device reads it at load, raises the function's
 * limit to it and launches with it; a kernel without it gets 0. */
#define LTC_GPU_DSM_PREFIX "ltc_dsm_"
/* A GEMM kernel that loads its operands with the bulk tensor copy engine
 * (TMA, sm_90: r_gemm_mma.c) defines, in every target's code,
 *   extern "C" __device__ unsigned ltc_tma_<kernel name> = (A rows << 16) | W rows;
 * and takes two more parameters after args: the tensor maps of A and of W
 * (CUtensorMap, 128 bytes, 64-byte aligned, by value), 16-bit elements,
 * boxes of LTC_GPU_TMA_KBOX elements of K by the rows the global gives,
 * 128-byte swizzle, zero fill out of bounds.  A is buffer 0 [M rows of K,
 * row stride lda = dims[3]], W is buffer 1 [N rows of K, stride K]; M, N,
 * K = dims[0..2].  A value of 0 asks for no maps (zeroed ones are passed:
 * the kernel's TMA path is not compiled).  The device encodes both maps
 * for each launch when ltc_tma_usable() below holds, and passes zeroed
 * maps otherwise; the kernel takes its TMA path under the same test, its
 * other loads otherwise.  The device fails the launch when an encode it
 * owes fails. */
#define LTC_GPU_TMA_PREFIX "ltc_tma_"
#define LTC_GPU_TMA_KBOX 64         /* K elements per box row: 128 bytes, the swizzle span */
#define LTC_GPU_TMA_MAP_BYTES 128
static inline int ltc_tma_usable(uint64_t a, uint64_t w, const int64_t *dims) {
    const int64_t M = dims[0], N = dims[1], K = dims[2], lda = dims[3], lim = (int64_t)1 << 31;
    return a % 16 == 0 && w % 16 == 0 && lda % 8 == 0 && K % 8 == 0 && M > 0 && N > 0 && K > 0 && M < lim &&
           N < lim && K < lim - LTC_GPU_TMA_KBOX && lda >= K && lda < ((int64_t)1 << 38);
}

/* The code image of a GPU model (LtcModelDescriptor.code): sections, each
 * a header then `len` bytes, one after the other, 8-byte aligned. */
#define LTC_CODE_MAGIC 0x3145444F43435443ULL   /* "CTCCODE1" little-endian */
enum {
    LTC_CODE_OPENCL_C = 1,          /* OpenCL C source of every kernel; arch 0 */
    LTC_CODE_CUDA_PTX = 2,          /* PTX for compute_<arch>, e.g. 80 */
    LTC_CODE_CUDA_CUBIN = 3,        /* cubin for sm_<arch>: 80, or 90 | LTC_ARCH_A for sm_90a */
    LTC_CODE_MSL = 4,               /* Metal Shading Language source of every kernel; arch 0 */
    LTC_CODE_METALLIB = 5,          /* the same compiled by Apple's metal + metallib (macOS only); arch 0 */
};
#define LTC_ARCH_A 0x10000u          /* an arch-specific target (sm_90a) */
typedef struct LtcCodeSection {
    uint32_t kind;                  /* LTC_CODE_* */
    uint32_t arch;
    uint64_t len;                   /* bytes that follow (then padding to 8) */
} LtcCodeSection;

#endif
