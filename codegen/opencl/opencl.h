/* opencl.h: the OpenCL backend (OpenCL C 1.2 source through codegen/csrc). */
#ifndef LTC_CODEGEN_OPENCL_H
#define LTC_CODEGEN_OPENCL_H

#include "codegen/backend.h"
#include "codegen/csrc/csrc.h"

/* The code image of everything generated so far (plan/gpu_abi.h: one
 * LTC_CODE_OPENCL_C section, arch 0) and its kernel table (owned by the
 * backend, valid until the next generate or destroy).  The integrator's
 * emit_library writes both into model.so. */
int opencl_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d);

#endif
