/* cuda_tma.c: the tensor maps of the TMA GEMM kernels (plan/gpu_abi.h,
 * LTC_GPU_TMA_PREFIX), encoded on the host for each launch.
 *
 * Shared by the CUDA device and the GPU test tools (tests/device/), so it
 * needs no more than a pointer to the driver's cuTensorMapEncodeTiled. */
#include "runtime/rt_cuda_tma.h"

#include <string.h>

/* cuda.h's enum values (CUtensorMapDataType etc.) */
enum { TM_UINT16 = 1, TM_INTERLEAVE_NONE = 0, TM_SWIZZLE_128B = 3, TM_L2_256B = 3, TM_OOB_ZERO = 0 };

/* One 2-D map: rows of `cols` 16-bit elements, `stride` elements apart;
 * boxes of LTC_GPU_TMA_KBOX x box_rows. */
static int encode(RtCuTensorMapEncodeTiled enc, void *map, uint64_t base, int64_t rows, int64_t cols,
                       int64_t stride, uint32_t box_rows) {
    uint64_t dim[2] = {(uint64_t)cols, (uint64_t)rows}, str[1] = {(uint64_t)stride * 2};
    uint32_t box[2] = {LTC_GPU_TMA_KBOX, box_rows}, es[2] = {1, 1};
    return enc(map, TM_UINT16, 2, (void *)(uintptr_t)base, dim, str, box, es, TM_INTERLEAVE_NONE, TM_SWIZZLE_128B,
               TM_L2_256B, TM_OOB_ZERO);
}

int rt_cu_tma_gemm_maps(RtCuTensorMapEncodeTiled enc, uint32_t boxes, uint64_t a, uint64_t w,
                             const int64_t *dims, uint8_t maps[2][LTC_GPU_TMA_MAP_BYTES]) {
    memset(maps, 0, 2 * LTC_GPU_TMA_MAP_BYTES);
    if (!ltc_tma_usable(a, w, dims)) return 0;
    uint32_t arows = boxes >> 16, wrows = boxes & 0xffffu;
    if (arows == 0 || arows > 256 || wrows == 0 || wrows > 256) return RT_CU_ERROR_INVALID_VALUE;
    int st = encode(enc, maps[0], a, dims[0], dims[2], dims[3], arows);
    if (st == 0) st = encode(enc, maps[1], w, dims[1], dims[2], dims[2], wrows);
    if (st != 0) memset(maps, 0, 2 * LTC_GPU_TMA_MAP_BYTES);
    return st;
}
