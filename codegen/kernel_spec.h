/* kernel_spec.h: one kernel of a plan as target-neutral data, and its
 * text form (`--emit kernels`).
 *
 * A KernelSpec is built once, after planning, from the plan alone: its
 * family (plan/kernel_families.def), the graph op and dtypes it computes,
 * what its code is specialised on (activation, bias, residual, causal,
 * mask, head dims and group, norm kind, stored sum, dropout...), its
 * contract constants (named per family), and the steps that launch it:
 * buffers, dims and tile count as polynomials of the entry's symbols.
 *
 * This is the first step of the kernel IR (the kernel-IR issue): the CPU
 * generators still read the plan kernel's graph node; the next step has
 * them, and the GPU emitters, generate from a KernelSpec alone. */
#ifndef LTC_KERNEL_SPEC_H
#define LTC_KERNEL_SPEC_H

#include "plan/plan.h"

typedef struct KernelSpec {
    int         index;          /* in plan->kernels */
    const char *name, *family, *op;
    DType       dtype;          /* of the value computed */
    int         nin; DType in_dtypes[PLAN_MAX_ARGS];
    /* specialisation */
    int         act;            /* activation op (fused linear), 0 = none */
    bool        bias, residual, causal, stores_sum, training;
    int         mask;           /* attention: 0 none, 1 bool keep-mask, 2 additive float */
    int64_t     head_dim, value_dim, group;   /* attention: D, Dv, query heads per kv head */
    int         norm;           /* OP_LAYER_NORM / OP_RMS_NORM (norm, add_norm), 0 = none */
    double      eps, scale, p;
    int         nconsts; int64_t consts[PLAN_MAX_KCONSTS];
    /* the steps that launch it: prepack ones first */
    int         nsteps; const PlanStep *steps[64]; bool prepack[64];
    int         more_steps;     /* launches past the 64 listed */
} KernelSpec;

void kernel_spec(const Plan *p, int k, KernelSpec *out);
/* "kernel 3 ltc_model_k3_gemm: gemm (fused_linear) f32 <- f32 f32 f32 ..." */
void kernel_spec_print(const Plan *p, const KernelSpec *s, StrBuf *out);
/* Every kernel of every plan (`--emit kernels`). */
void kernels_print(Plan *const *plans, int nplans, StrBuf *out);

#endif
