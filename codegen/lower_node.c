/* lower_node.c: one node of a graph after the passes -> one step (or a
 * few, for a cat of many inputs) and its kernel, for backend b.
 *
 *   family   which kernel family computes the node (lower_family_of);
 *   spec     its KernelSpec from the node (kernel_spec_node): dtypes,
 *            specialisation, loop nest; false when the family cannot
 *            express the node;
 *   supports Backend.supports: can this target generate it? (no, with a
 *            reason: the message names the backend and the op);
 *   tune     Backend.tune: the target's blocking, which the step's
 *            tiling may depend on (GEMM column blocks, packed panels);
 *   lower    the family's step: buffers, dims, tile count.
 * Everything but supports and tune is target-neutral. */
#include <string.h>

#include "codegen/lower_kernel.h"

/* An element-wise op is one with an expression in the op table
 * (ops.def's expr column): what every backend's eltwise kernel builds. */
static bool eltwise_op(Op op) { return op_info[op].expr != NULL; }

const char *lower_family_of(const Node *n) {
    int fl = op_info[n->op].flags;
    if (fl & OPF_GEMM) return "gemm";
    if (fl & OPF_ATTENTION) return "flash_attention";
    if (eltwise_op(n->op)) return "eltwise";
    switch (n->op) {
    case OP_LAYER_NORM: case OP_RMS_NORM: case OP_ADD_NORM: return "norm";
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: return "softmax";
    case OP_DROPOUT: return n->a.training && n->a.p > 0 ? "dropout" : "copy";   /* eval: identity */
    case OP_SUM_DIM: case OP_MEAN_DIM: case OP_MAX_DIM: case OP_ARGMAX: return "reduce";
    case OP_RESHAPE: case OP_PERMUTE: case OP_EXPAND: case OP_SLICE: return "copy";
    case OP_CAT: return "cat";
    case OP_EMBEDDING: case OP_FULL: case OP_ARANGE: case OP_TRIU: case OP_TRIL: case OP_CAST: return "misc";
    default: return NULL;
    }
}

/* The families whose steps the lowering makes (gemm_pack is made by gemm's). */
static const struct { const char *family; LowerFn *lower; } lowerings[] = {
    {"gemm", lower_gemm}, {"flash_attention", lower_attn}, {"norm", lower_norm}, {"softmax", lower_norm},
    {"eltwise", lower_eltwise}, {"dropout", lower_dropout}, {"reduce", lower_reduce}, {"copy", lower_copy},
    {"cat", lower_cat}, {"misc", lower_misc},
};

int lower_node(Backend *b, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *step, LtcDiag *d) {
    int part = step->part;          /* the input fields (plan.h) */
    const bool *bind_const = step->bind_const;
    memset(step, 0, sizeof *step);
    step->part = part;
    step->bind_const = bind_const;
    const char *family = lower_family_of(n);
    LowerFn *lower = NULL;
    for (size_t i = 0; family && i < sizeof lowerings / sizeof *lowerings; i++)
        if (strcmp(lowerings[i].family, family) == 0) lower = lowerings[i].lower;
    if (!lower) return lower_unsupported(b, n, d, NULL);
    KernelSpec ks;
    const char *why = NULL;
    if (!kernel_spec_node(n, family, &ks, &why)) return lower_unsupported(b, n, d, why);
    /* a linear's weight made once at bind time (the lowering's answer,
     * PlanStep.bind_const) is packed once, in prepack */
    if (strcmp(family, "gemm") == 0)
        ks.gemm.packed = n->op != OP_MATMUL && bind_const && bind_const[n->in[1]->id];
    if (b->supports && !b->supports(b, &ks, &why)) return lower_unsupported(b, n, d, why);
    if (b->tune) b->tune(b, &ks);
    int rc = lower(b, p, n, &ks, in_bufs, out_buf, step, d);
    if (rc == 0 && (step->ndims > PLAN_MAX_DIMS || step->nbufs > PLAN_MAX_ARGS))
        return diag_set(d, n->loc, "%s backend: %s needs more than %s (%d) in one step", b->name, op_info[n->op].name,
                        step->ndims > PLAN_MAX_DIMS ? "PLAN_MAX_DIMS dims" : "PLAN_MAX_ARGS buffers",
                        step->ndims > PLAN_MAX_DIMS ? PLAN_MAX_DIMS : PLAN_MAX_ARGS);
    return rc;
}
