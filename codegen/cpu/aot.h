/* aot.h: ahead-of-time output of the CPU backend: model.so.
 *
 * A model.so is the generated kernels plus one exported constant,
 * `ltc_model_descriptor` (runtime/rt_internal.h: LtcModelDescriptor), that
 * carries the magic, ABI and compiler versions, the target triple, CPU and
 * feature string, the serialized plans, the kernel pointer table and
 * optionally a safetensors image of the weights.  It needs only libc/libm.
 * The runtime (runtime/api.c) dlopens it and checks the descriptor before
 * any kernel can run.  docs/runtime.md has the whole story. */
#ifndef LTC_AOT_H
#define LTC_AOT_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "plan/plan.h"

/* descriptor.c: add the descriptor (and its data) to mod.  Every kernel of
 * every plan must already be a function of mod named PlanKernel.name;
 * kernels are made hidden so the library exports only the descriptor. */
int aot_add_descriptor(LLVMModuleRef mod, Plan **plans, int nplans,
                       const char *triple, const char *cpu, const char *features,
                       const void *weights, size_t weights_len, LtcDiag *d);

/* aot.c: clone mod, add the descriptor, emit an object with tm and link it
 * into the shared library `path` (written to a temporary file and renamed,
 * so a failure leaves no partial output).  mod itself is not changed. */
int aot_emit_library(LLVMModuleRef mod, LLVMTargetMachineRef tm, Plan **plans, int nplans,
                     const char *path, const void *weights, size_t weights_len, LtcDiag *d);


#endif
