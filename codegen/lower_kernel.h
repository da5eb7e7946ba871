/* lower_kernel.h: the target-neutral lowering of one node to a step and a
 * kernel (codegen/lower_*.c), shared by its files.
 *
 * lower_node (lower_node.c) picks the node's kernel family, builds its
 * KernelSpec (kernel_spec_node: dtypes, specialisation, loop nest), asks
 * the backend whether it supports it (Backend.supports) and for its
 * choices (Backend.tune), then calls the family's lowering, which
 * registers the kernel in the plan and fills the step: buffers, dims
 * (sizes and strides as polynomials of the symbols), the tile count.  The
 * dims layout of each family is written in its file and in
 * docs/cpu_backend.md; plan/kernel_footprint.c restates it for the
 * runtime's checks. */
#ifndef LTC_LOWER_KERNEL_H
#define LTC_LOWER_KERNEL_H

#include "codegen/lower.h"
#include "codegen/kernel_spec.h"

/* ---- helpers (lower_util.c) ------------------------------------------------- */
/* Register a kernel of `family` for node n; returns its index. */
int  lower_add_kernel(Plan *p, Node *n, const char *family, LtcDiag *d);
/* Record kernel kid's contract constants (plan.h PlanKernel.consts; their
 * meaning per family: plan/kernel_footprint.c). */
void lower_kernel_consts(Plan *p, int kid, int n, const int64_t *v);
int  lower_add_packed(Plan *p, int64_t bytes, const char *what, LtcDiag *d); /* buf index */
int  lower_add_prepack(Plan *p, const PlanStep *s, LtcDiag *d);
/* product of dims [from, to) of s as one monomial; false if not one */
bool lower_dims_prod(const Shape *s, int from, int to, Dim *out);
int  lower_set_dim(PlanStep *s, Dim d);                 /* appends, returns index */
int  lower_set_dimk(PlanStep *s, int64_t k);
/* Append the seed's two 32-bit halves to s->dims and set s->seed_dim. */
void lower_set_seed_dims(PlanStep *s, uint64_t seed);
/* "the CPU backend does not generate <op>[: why]" (the backend's name in
 * capitals): every refusal of a node reads the same, whoever refuses. */
int  lower_unsupported(const Backend *b, const Node *n, LtcDiag *d, const char *why);
static inline bool lower_is_one(Dim d) { return d.k == 1 && d.sym == 0; }

/* ---- families: the spec's loop nest from a node, and the step --------------- */
/* Each ks_* fills the family's part of a KernelSpec from node n (false
 * with *why when the family cannot express n); each lower_* fills the
 * step for n from the tuned spec. */
typedef int LowerFn(Backend *b, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs,
                    int out_buf, PlanStep *s, LtcDiag *d);

bool ks_gemm(const Node *n, KernelSpec *ks, const char **why);
LowerFn lower_gemm;
bool ks_attn(const Node *n, KernelSpec *ks, const char **why);
LowerFn lower_attn;
LowerFn lower_norm;            /* norm and softmax */
bool ks_eltwise(const Node *n, KernelSpec *ks, const char **why);
LowerFn lower_eltwise;
bool ks_copy(const Node *n, KernelSpec *ks, const char **why);
LowerFn lower_copy;
LowerFn lower_reduce;
LowerFn lower_cat;
LowerFn lower_misc;            /* embedding, full/arange, triu/tril, cast */
LowerFn lower_dropout;

/* Inputs a cat step takes (bufs [in.., out] and dims [n, total, chunk[n],
 * offset[n]] must fit PLAN_MAX_ARGS and PLAN_MAX_DIMS). */
int  lower_cat_group(const Node *n);
/* Query heads per key/value head of an sdpa (lower_attn.c); -1 when only
 * one of K, V broadcasts over the group axis. */
int64_t lower_attn_group(const Node *n);
/* The kernel family that computes n ("gemm", "eltwise"...), NULL: none. */
const char *lower_family_of(const Node *n);

#endif
