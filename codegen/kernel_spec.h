/* kernel_spec.h: one kernel of a plan as target-neutral data, and its
 * text form (`--emit kernels`).
 *
 * A KernelSpec is built by target-neutral code (codegen/lower_*.c,
 * kernel_spec.c) from the node a kernel implements, after the passes: its
 * family (plan/kernel_families.def), the graph op and dtypes it computes,
 * what its code is specialised on (activation, bias, residual, causal,
 * mask, head dims and group, norm kind, stored sum, scalar operands...),
 * its loop nest in target-neutral terms (the per-family structs below:
 * which loops exist and how operands are addressed; the sizes and strides
 * themselves are the step's dims, evaluated at run time), its contract
 * constants (named per family) and the steps that launch it.  The
 * backend's choices for it (GEMM blocking, attention blocks) are in
 * `tune`, filled by Backend.tune.
 *
 * Backends generate from a KernelSpec alone: nothing under codegen/<target>
 * reads a graph node.  The bufs/dims layout of each family's steps is
 * written in codegen/lower_*.c and docs/cpu_backend.md. */
#ifndef LTC_KERNEL_SPEC_H
#define LTC_KERNEL_SPEC_H

#include "plan/plan.h"

#define KS_MAX_STEPS 64

/* Element-wise: the output as rows x cols; the leading dims merged while
 * every input stays regular (codegen/lower_eltwise.c).  Input k's last dim
 * is contiguous (vec[k]) or broadcast (a scalar per row). */
#define EW_MAXLEAD 4
typedef struct KsEltwise {
    int  ninputs;           /* 1 or 2 read */
    int  nlead;             /* leading dims after merging, <= EW_MAXLEAD */
    bool vec[2];
    bool bool_mask;         /* masked_fill with a bool (byte) mask as input 1 */
} KsEltwise;

/* Strided copy (reshape, permute, expand, slice, eval dropout): rows of
 * the output's last dim, nlead leading dims after merging. */
#define CP_MAXLEAD 6
typedef struct KsCopy { int nlead; } KsCopy;

/* GEMM: C[M,N] = act(A[M,K] B[K,N] + bias) + residual (or * residual: res_mul). */
typedef struct KsGemm {
    int     kind;           /* 0 linear (B = W^T, W [N,K]), 1 matmul (B [.., K, N]) */
    bool    qkv;            /* qkv_linear: C written head-split [P, L.., H, S, Dh] */
    bool    packed;         /* W made once at bind time: packed in prepack (gemm_pack) */
    int64_t N, K;           /* linear: the weight's (constant) dims; matmul: N if constant, else 0 */
    int64_t head_dim;       /* qkv: Dh */
} KsGemm;

#define KPAIRS_AT_RUN 2

/* What a backend chose for this kernel (Backend.tune).  0 = not chosen. */
typedef struct KernelTune {
    int mr, nr, vw;         /* GEMM micro-tile rows, panel width, vector width */
    int nb;                 /* GEMM columns per tile (a multiple of nr) */
    int mc, kc;             /* GEMM row block and depth block */
    int mt;                 /* GEMM rows per tile (GPU): tiles are (row block, column block) pairs;
                             * 0 = a tile walks every row (the CPU) */
    int mgroups;            /* mt > 0 and M without an exact count of row blocks (symbolic, not a
                             * multiple of mt): about this many groups, each walking row blocks */
    bool scatter;           /* qkv: C columns addressed per lane (Dh % vw != 0) */
    int kpairs;             /* CPU, bf16: two-term dot products (vdpbf16ps): GEMM B panels
                             * hold k pairs side by side; attention's QK^T and PV use them.
                             * 0 no, 1 yes, KPAIRS_AT_RUN both variants, the kernel picks by
                             * the CPU's features at its first call (an AVX-512 target
                             * without AVX512-BF16) */
    int att_br, att_bc, att_rg;   /* attention: query rows per block, keys per block, rows per group */
    int threads;            /* GPU targets: work-items per group (plan/gpu_abi.h LtcGpuKernel.threads) */
} KernelTune;

typedef struct KernelSpec {
    int         index;          /* in plan->kernels */
    const char *name, *family, *op;
    int         opcode;         /* Op (ir/ops.def); 0 for a plan read back from a blob */
    SrcLoc      loc;            /* of the node, for messages */
    DType       dtype;          /* of the value computed */
    int         nin; DType in_dtypes[PLAN_MAX_ARGS];
    /* specialisation */
    int         act;            /* activation op (fused linear), 0 = none */
    bool        bias, residual, causal, stores_sum, training;
    bool        res_mul;        /* fused linear: the residual multiplies (y = act(..) * r) */
    bool        weight;         /* norm: has a weight input */
    int         mask;           /* attention: 0 none, 1 bool keep-mask, 2 additive float */
    int64_t     head_dim, value_dim, group;   /* attention: D, Dv, query heads per kv head */
    int         norm;           /* OP_LAYER_NORM / OP_RMS_NORM (norm, add_norm), 0 = none */
    double      eps, scale, p;
    double      f0, f1;         /* scalar operands: add_scalar's, clamp's bounds, fill values */
    double      lo, hi;         /* arange: start, step */
    int64_t     diag;           /* triu / tril diagonal */
    int         cat_group;      /* cat: inputs per step */
    /* loop nest, per family */
    KsEltwise   ew;
    KsCopy      copy;
    KsGemm      gemm;
    KernelTune  tune;
    int         nconsts; int64_t consts[PLAN_MAX_KCONSTS];
    /* the steps that launch it: prepack ones first */
    int         nsteps; const PlanStep *steps[KS_MAX_STEPS]; bool prepack[KS_MAX_STEPS];
    int         more_steps;     /* launches past the KS_MAX_STEPS listed */
} KernelSpec;

struct Backend;
/* The spec of node n as kernel family `family` (no consts, steps or
 * tuning): what codegen/lower_*.c and kernel_spec() derive from a node.
 * false with *why set when the family cannot express the node (a
 * broadcast pattern with too many dims...). */
bool kernel_spec_node(const Node *n, const char *family, KernelSpec *out, const char **why);
/* Kernel k of plan p, tuned by backend b (NULL: untuned). */
void kernel_spec(const Plan *p, int k, struct Backend *b, KernelSpec *out);
/* "kernel 3 ltc_model_k3_gemm: gemm (fused_linear) f32 <- f32 f32 f32 ..." */
void kernel_spec_print(const Plan *p, const KernelSpec *s, StrBuf *out);
/* Every kernel of every plan (`--emit kernels`), tuned by b (may be NULL). */
void kernels_print(Plan *const *plans, int nplans, struct Backend *b, StrBuf *out);

#endif
