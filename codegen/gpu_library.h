/* gpu_library.h: model.so for a GPU target (codegen/opencl, codegen/cuda).
 *
 * The library holds no host code: the descriptor (plan/abi.h, ABI 4) with
 * the serialised plans, the code image (plan/gpu_abi.h: OpenCL C, PTX,
 * cubins), the kernel table (name, group size) and optionally the weights;
 * the runtime's device for `device` builds or loads the code. */
#ifndef LTC_GPU_LIBRARY_H
#define LTC_GPU_LIBRARY_H

#include "plan/gpu_abi.h"
#include "plan/plan.h"

/* Write `path` (through a temporary and a rename: nothing partial on
 * failure).  kernels[0..nk) are the backend's kernels by name; every
 * kernel of every plan must be among them.  target: what the code is for
 * ("opencl-c-1.2"), recorded as the descriptor's triple. */
int gpu_emit_library(const char *path, Plan **plans, int nplans, const char *device, const char *target,
                     const uint8_t *code, uint64_t code_len, const LtcGpuKernel *kernels, int nk,
                     const void *weights, size_t weights_len, LtcDiag *d);

#endif
