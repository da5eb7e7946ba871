/* rt_cuda_tma.h: the TMA GEMM kernels' tensor maps (cuda_tma.c). */
#ifndef LTC_RT_CUDA_TMA_H
#define LTC_RT_CUDA_TMA_H

#include <stdint.h>

#include "plan/gpu_abi.h"

#ifndef RT_CU_ERROR_INVALID_VALUE
#define RT_CU_ERROR_INVALID_VALUE 1     /* CUDA_ERROR_INVALID_VALUE */
#endif

/* cuTensorMapEncodeTiled, with cuda.h's enums as ints and its result type */
typedef int (*RtCuTensorMapEncodeTiled)(void *map, int dtype, uint32_t rank, void *addr, const uint64_t *dim,
                                        const uint64_t *stride, const uint32_t *box, const uint32_t *elem_stride,
                                        int interleave, int swizzle, int l2, int oob);

/* The two maps (A, then W) of a launch of a kernel whose ltc_tma_ global
 * is `boxes`, buffers a (A) and w (W), the launch's dims: encoded when
 * ltc_tma_usable holds, zeroed otherwise (0).  The driver's result when
 * an encode fails (maps zeroed). */
int rt_cu_tma_gemm_maps(RtCuTensorMapEncodeTiled enc, uint32_t boxes, uint64_t a, uint64_t w, const int64_t *dims,
                        uint8_t maps[2][LTC_GPU_TMA_MAP_BYTES]);

#endif
