/* metal.h: the Metal backend (Metal Shading Language through codegen/csrc;
 * on macOS also a metallib compiled by Apple's tools). */
#ifndef LTC_CODEGEN_METAL_H
#define LTC_CODEGEN_METAL_H

#include "codegen/backend.h"
#include "codegen/csrc/csrc.h"

/* The code image of everything generated so far (plan/gpu_abi.h: one
 * LTC_CODE_MSL section, arch 0, then the LTC_CODE_METALLIB section when
 * emit_library compiled one) and its kernel table (owned by the backend,
 * valid until the next generate or destroy). */
int metal_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d);

/* src compiled into a metallib by Apple's tools (metallib.c), through
 * temporaries named after `path` (path.tmp.PID.metal ...).  0 with *lib
 * NULL when the tools are not there (not an error: the model then holds
 * the source alone, which the device compiles at load); 0 with *lib
 * (malloc'ed) and *len; -1 + d when a tool failed (its messages in d). */
int metal_compile_lib(const char *path, const char *src, uint8_t **lib, size_t *len, LtcDiag *d);

#endif
