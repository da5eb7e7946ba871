/* ir_internal.h: what the IR's own files (and fused-op authors) share.
 *
 * Every row of ops.def names a shape rule and an interpreter kernel.  Their
 * prototypes are generated here from the table, so adding a row needs the
 * two functions defined in a file of ir/ (fused ops' in ir/fused.c):
 *
 *   int shape_foo(Node *n, LtcDiag *d);         set n->dtype and n->shape
 *   int interp_foo(const KCtx *k, LtcDiag *d);  fill k->out
 *
 * The dispatch tables reference them directly: a row without its functions
 * is a link error, found when the compiler is built. */
#ifndef LTC_IR_INTERNAL_H
#define LTC_IR_INTERNAL_H

#include "ir/ir.h"

#include <math.h>
#include <string.h>

/* Everything a kernel needs: input values and concrete shapes, the output
 * buffer (already allocated, zeroed, numel * storage size), and the node for
 * its attributes and dtypes.  f16/bf16 rounding of the output is done by
 * the caller after the kernel returns. */
typedef struct KCtx {
    const Node *n;
    const void **in;                  /* in[i]: value of n->in[i] */
    int64_t (*ish)[LTC_MAX_RANK];     /* ish[i]: concrete shape of n->in[i] */
    int64_t shape[LTC_MAX_RANK];      /* concrete output shape */
    size_t numel;                     /* output elements */
    void *out;
    const SymBind *b;
    Arena *scratch;                   /* temporaries for this evaluation */
    uint64_t call;                    /* RunArgs.call (0 in the eager pool): philox_*_at */
} KCtx;

typedef int (*ShapeFn)(Node *n, LtcDiag *d);
typedef int (*KernelFn)(const KCtx *k, LtcDiag *d);

#define OP(e, name, mn, mx, shp, ker, fl, ex) \
    int shp(Node *n, LtcDiag *d); int ker(const KCtx *k, LtcDiag *d);
#include "ir/ops.def"
#undef OP

/* Whether a row has its functions (always, once linked: tests/unit/ir_types.c). */
bool ir_has_shape_rule(Op op);
bool ir_has_kernel(Op op);

/* ---- element access in interpreter storage ------------------------------ */
/* Floats are stored as float, i64 as int64_t, bool as uint8_t. */
static inline double ld(DType t, const void *p, size_t i) {
    switch (t) {
    case DT_I64:  return (double)((const int64_t *)p)[i];
    case DT_BOOL: return ((const uint8_t *)p)[i];
    default:      return ((const float *)p)[i];
    }
}
static inline void st(DType t, void *p, size_t i, double v) {
    switch (t) {
    case DT_I64:  /* truncation toward zero, saturating; NaN gives 0 */
        ((int64_t *)p)[i] = v != v ? 0 : v >= 0x1p63 ? INT64_MAX : v <= -0x1p63 ? INT64_MIN : (int64_t)v;
        break;
    case DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default:      ((float *)p)[i] = (float)v; break;
    }
}

/* Number of elements of a concrete shape. */
static inline size_t numel_of(const int64_t *s, int rank) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)s[i];
    return n;
}

/* Element strides of `shape` (rank r) read as a tensor of rank R >= r
 * aligned on the right with out-shape `oshape`; broadcast dims (size 1
 * against a larger one, or missing) get stride 0. */
void bcast_strides(const int64_t *shape, int r, const int64_t *oshape, int R, int64_t *st);

/* Contiguous strides of a shape. */
void contig_strides(const int64_t *shape, int r, int64_t *st);

/* Copy a strided view into contiguous out (element size es): out element
 * with multi-index o (shape oshape, rank R) comes from in[base + sum o[i]*st[i]]. */
void gather_strided(void *out, const void *in, size_t es, const int64_t *oshape, int R,
                    const int64_t *st, int64_t base);

/* Apply broadcasting of two symbolic shapes; -1 with a message on failure. */
bool dim_unify_const(Graph *g, Dim sym, Dim c, SrcLoc loc, const char *opname);
int  broadcast_shapes(const Graph *g, const Shape *a, const Shape *b, Shape *out, LtcDiag *d, SrcLoc loc);

/* ---- reference row kernels, shared with fused ops ----------------------- */
/* y[m,n] = sum_k x[m,k] * w[n,k] (+ bias[n]); fp64 accumulation. */
void ref_linear(const float *x, const float *w, const float *bias, float *y,
                int64_t M, int64_t K, int64_t N);
/* y = (x - mean) / sqrt(var + eps) * w + b over one row of n (biased var);
 * w, b may be NULL. */
void ref_layer_norm_row(const float *x, const float *w, const float *b, float *y, int64_t n, double eps);
/* y = x * rsqrt(mean(x^2) + eps) * w; w may be NULL. */
void ref_rms_norm_row(const float *x, const float *w, float *y, int64_t n, double eps);
/* Scalar activations by op (OP_RELU ... OP_SILU, or any unary op). */
double ref_unary(Op op, const Attr *a, double x);

#endif
