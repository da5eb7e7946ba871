/* rt_internal.h: the runtime's private interfaces, shared by the runtime files,
 * the AOT emitter (codegen/cpu/aot.c, descriptor.c) and the compiler's JIT
 * path.  Not installed: hosts see only lispetorchc/runtime.h.
 *
 *  - (the model descriptor and the kernel ABI are plan/abi.h);
 *  - the thread pool (pool.c);
 *  - the executor (exec.c): runs a Plan's steps with kernel pointers;
 *  - the CPU feature check (cpu_features.c). */
#ifndef LTC_RT_INTERNAL_H
#define LTC_RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "plan/abi.h"
#include "runtime/device.h"
#include "plan/plan.h"

/* Format a message into err[0..n) (when err) and return -1: the runtime's
 * one way of failing with a message (exec.c). */
int rt_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- thread pool -------------------------------------------------------------- */
typedef struct RtPool RtPool;
typedef void (*RtRangeFn)(void *arg, int64_t begin, int64_t end);

RtPool *rt_pool_new(int nthreads);          /* <= 0: online cores; NULL on failure */
void    rt_pool_free(RtPool *p);
int     rt_pool_size(const RtPool *p);
/* fn(arg, b, e) over disjoint ranges covering [0, n) exactly once, on up
 * to size threads (the caller is one of them); returns when all are done. */
void    rt_pool_for(RtPool *p, int64_t n, RtRangeFn fn, void *arg);
int     rt_online_cores(void);

/* ---- executor -------------------------------------------------------------------- */
/* A Plan bound to its kernels and weights. */
typedef struct RtProgram {
    const Plan  *plan;
    void       **kernels;           /* per plan->kernels[i]: the device's handle (device.h load) */
    const uint32_t *threads;        /* per plan->kernels[i]: group size (GPU models), or NULL */
    void       **params;            /* plan->nparams data pointers (NULL = unbound) */
    void       **packed;            /* plan->npacked buffers, made by rt_prepack on... */
    RtDevice    *packed_on;         /* ...this device, which frees them */
    bool         prepacked;
    uint64_t     call;              /* call number passed to kernels at dims[ndims] (plan.h):
                                     * selects the dropout masks of that call */
} RtProgram;

/* "[B,S,256]" with the plan's symbol names; a concrete shape if vals. */
const char *rt_shape_str(const Plan *p, const Shape *s, char *buf, size_t n);
const char *rt_dim_str(const Plan *p, Dim d, char *buf, size_t n);

/* Bind the plan's symbols from the inputs' concrete shapes; checks every
 * input dimension.  Errors name the input ("input 'x': expected rank 3
 * [B,S,256], got [2,128,255]"). */
int rt_bind_symbols(const Plan *p, const int *ranks, const int64_t *const *shapes,
                    int64_t symvals[LTC_MAX_SYMS], char *err, size_t errlen);

/* Scratch memory kept between runs (grown to the peak), on dev. */
typedef struct RtScratch { void *mem; size_t cap; RtDevice *dev; } RtScratch;
void rt_scratch_free(RtScratch *s);

/* Set up pr for plan p on the CPU device, resolving each kernel by name
 * through lookup (for the compiler's JIT: a wrapper around
 * Backend.jit_lookup; model.so files get their handles from the device's
 * load instead, api.c).  kernels and params are malloc'ed;
 * params start unbound (NULL): the caller stores the data pointers of
 * p->params in pr->params, then calls rt_prepack.  0 or -1 + err. */
typedef int (*RtLookupFn)(void *ctx, const char *name, void **fn);
int  rt_program_init(RtProgram *pr, const Plan *p, RtLookupFn lookup, void *ctx,
                     char *err, size_t errlen);
void rt_program_free(RtProgram *pr);      /* kernels, params, packed buffers (before closing their device) */

/* Every input/output/param/packed buffer of p lies inside the memory it
 * names at these symbol values (prepack: params and packed only).  0, or
 * -1 + err (buf_check.c). */
int rt_check_buffers(const Plan *p, const int64_t *symvals, bool prepack, char *err, size_t errlen);
/* Every step (prepack: the prepack steps, else the per-call ones) keeps
 * its kernel inside its buffers at these symbol values: the kernel
 * family's contract (kernel_contract.h, kernel_check.c).  0, or -1 + err
 * ("plan: step 4 (k3_gemm, family gemm): buffer 1 needs 4096 bytes, the
 * plan gives 2048"). */
int rt_check_kernels(const Plan *p, const int64_t *symvals, bool prepack, char *err, size_t errlen);

/* Run the prepack steps once (weights must be bound): allocates packed
 * on dev. */
int rt_prepack(RtProgram *pr, RtDevice *dev, char *err, size_t errlen);
void rt_program_free_packed(RtProgram *pr);
/* One call: inputs/outputs are data pointers in plan order, in host
 * memory.  On a device without host memory they are staged through the
 * device (stage.c) in the same scratch allocation as the arena. */
int rt_run(RtProgram *pr, RtDevice *dev, RtScratch *scratch, const int64_t *symvals,
           void *const *inputs, void *const *outputs, char *err, size_t errlen);
/* rt_run where resident[i] (inputs, then outputs; NULL: none) says that
 * tensor i is already in the device's memory: used in place, not staged. */
int rt_run_placed(RtProgram *pr, RtDevice *dev, RtScratch *scratch, const int64_t *symvals, void *const *inputs,
                  void *const *outputs, const uint8_t *resident, char *err, size_t errlen);

/* ---- staging (stage.c): inputs/outputs of a run on a device without host memory */
/* Bytes of device memory the run's inputs and outputs take after the
 * arena (each 64-byte aligned), and each one's offset from the start of
 * the scratch allocation (offs[ninputs + noutputs]).  0, or -1 + err. */
int rt_stage_layout(const Plan *p, const int64_t *symvals, uint64_t arena_bytes, uint64_t *offs,
                    uint64_t *total, char *err, size_t errlen);
/* Copy the inputs to the device at scratch + offs[i]; din/dout get the
 * device addresses of every input and output. */
int rt_stage_in(const Plan *p, RtDevice *dev, char *scratch, const int64_t *symvals, const uint64_t *offs,
                void *const *inputs, void *const *outputs, const uint8_t *resident, void **din, void **dout,
                char *err, size_t errlen);
/* Copy the outputs back from dout to the host's outputs. */
int rt_stage_out(const Plan *p, RtDevice *dev, const int64_t *symvals, void *const *dout, void *const *outputs,
                 const uint8_t *resident, char *err, size_t errlen);

/* ---- CPU features ---------------------------------------------------------------- */
/* Does this CPU (and OS, for AVX/AVX-512/AMX state) support the LLVM
 * feature `name` ("avx512f", "amx-tile"...)?  1 yes, 0 no, -1 unknown name. */
int rt_cpu_has(const char *name);
/* Check a "+a,+b,-c" feature string and a target triple against this host:
 * 0, or -1 with the missing features listed in err. */
int rt_check_target(const char *triple, const char *features, char *err, size_t errlen);
/* Name of a known feature this CPU lacks (for tests), or NULL. */
const char *rt_cpu_missing_feature(void);

#endif
