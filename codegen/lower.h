/* lower.h: a graph after the passes -> a Plan (plan/plan.h).
 *
 * plan_build decides, for every value of the graph, where it lives:
 *
 *  - INPUT / PARAM: the caller's buffers (BUF_INPUT, BUF_PARAM);
 *  - aliases (no step, no copy): a RESHAPE of a contiguous value, and a
 *    SLICE that is one contiguous sub-range of a contiguous value (every
 *    dimension before the sliced axis is 1, step 1): the same storage at a
 *    byte offset;
 *  - views: a PERMUTE read only as q, k or v of SDPA nodes.  No step: the
 *    SDPA step gets the buffer of the permute's (contiguous) input and reads
 *    it through strides, see lower_input_strides below;
 *  - everything else is one step (lower_node, below) writing its own
 *    buffer: the entry output buffer when the value is an output, a packed
 *    buffer when it depends on parameters only (computed once, at bind
 *    time: the step goes to plan->prepack, e.g. the cat(Wq, Wk, Wv) the
 *    qkv pass makes), else a slot of the scratch arena.  Layout ops that
 *    are not aliases or views (permute, expand, cat, a strided slice, a
 *    reshape of a view) are steps too, for the backend's copy family.
 *
 * Conventions for lower_node:
 *  - in_bufs[i] is the buffer of n->in[i] as laid out in memory: contiguous
 *    with n->in[i]'s shape, except for SDPA inputs that are views (strides);
 *  - ADD_NORM with flag ADDNORM_HAS_SUM (ir/ir.h) has one extra
 *    entry in_bufs[n->nin]: the buffer where it must also store x + r (the
 *    value of its ADD_NORM_SUM companion node, which has no step);
 *  - a backend may append its own buffers (packed weights) and prepack
 *    steps to the plan while lowering; plan_build holds no pointer into
 *    p->bufs across lower_node calls.
 *
 * Memory plan: arena buffers are placed greedily over liveness in step
 * order (best fit at the trace's example sizes).  Sizes are polynomials in the symbols, so a
 * freed slot is reused only when its size dominates the new buffer's size
 * term by term (valid for every symbol value); slot offsets are sums of
 * the sizes of the slots before (each term's coefficient rounded up to a
 * multiple of 64, so every offset is 64-byte aligned for every symbol
 * value).  plan->arena_bytes is the sum of the slot sizes. */
#ifndef LTC_LOWER_H
#define LTC_LOWER_H

#include "codegen/backend.h"

/* What plan_build_ex reports besides the plan (for --emit plan and tests). */
typedef struct LowerInfo {
    int *alias_of;          /* per plan buffer made by plan_build: root buffer it lies in, or -1 */
    int  nbufs;             /* buffers plan_build made (the backend's come after) */
    int  nslots;            /* arena slots */
    /* On failure: the node the backend refused to lower, or NULL when the
     * failure is not a refusal (then only the diagnostic says why), and
     * the backend's reason.  `run` names the op in its fallback note. */
    const Node *refused;
    const char *refused_why;
} LowerInfo;

int plan_build(Graph *g, Backend *b, Arena *a, Plan **out, LtcDiag *d);
/* Fill step (bufs, dims, f, ntiles) for node n whose inputs live in
 * buffers in_bufs[0..n->nin) and whose value goes to out_buf; register its
 * kernel in p->kernels (codegen/lower_node.c).  Layout-only nodes never
 * reach here.  Target-neutral but for Backend.supports and Backend.tune. */
int lower_node(Backend *b, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *step, LtcDiag *d);
int plan_build_ex(Graph *g, Backend *b, Arena *a, Plan **out, LowerInfo *info, LtcDiag *d);

/* --emit plan: kernels, steps, buffers with sizes, peak scratch bytes at
 * the example symbol values and the peak formula.  Symbols beyond
 * example.n take the trace's example values (Symbol.example). */
void plan_print(const Plan *p, SymBind example, StrBuf *out);

/* "input", "output", "param", "packed", "arena" (--emit plan / kernels). */
const char *plan_buf_kind_name(BufKind k);

/* "4*B*S + 64" with the graph's symbol names. */
void poly_str(const Graph *g, const Poly *p, StrBuf *out);

/* True when PERMUTE node x is a view (no step): its users are all SDPA
 * nodes reading it as q, k or v, and its strides are monomials. */
bool lower_is_view(const Node *x);

/* Element strides, one per dimension of n->in[i], with which the kernel of
 * n must read that input from in_bufs[i]: row-major for a contiguous value;
 * for a view permute(base, perm), stride[j] = rowmajor(base)[perm[j]].
 * Returns the rank, or -1 if a stride is not a monomial. */
int  lower_input_strides(const Node *n, int i, Dim strides[LTC_MAX_RANK]);

#endif
