/* interp_elem.c: reference kernels for sources and element-wise ops.
 * Values are read and written through ld/st in double, so every dtype
 * combination goes through one path; broadcasting uses stride 0. */
#include "ir/ir_internal.h"

/* ---- sources ------------------------------------------------------------------- */
int interp_full(const KCtx *k, LtcDiag *d) {
    for (size_t i = 0; i < k->numel; i++) st(k->n->dtype, k->out, i, k->n->a.f);
    return 0;
}

/* U(lo, hi): lo + (hi - lo) * u, u = philox_uniform(seed, i). */
int interp_rand(const KCtx *k, LtcDiag *d) {
    double lo = k->n->a.lo, hi = k->n->a.hi;
    float *o = k->out;
    for (size_t i = 0; i < k->numel; i++) o[i] = (float)(lo + (hi - lo) * philox_uniform(k->n->a.seed, i));
    return 0;
}

/* N(mean = lo, std = hi): lo + hi * z, z = philox_normal(seed, i). */
int interp_randn(const KCtx *k, LtcDiag *d) {
    double mean = k->n->a.lo, sd = k->n->a.hi;
    float *o = k->out;
    for (size_t i = 0; i < k->numel; i++) o[i] = (float)(mean + sd * philox_normal(k->n->a.seed, i));
    return 0;
}

/* start + i * step (lo, hi). */
int interp_arange(const KCtx *k, LtcDiag *d) {
    double step = k->n->a.hi;
    for (size_t i = 0; i < k->numel; i++) st(k->n->dtype, k->out, i, k->n->a.lo + (double)i * step);
    return 0;
}

/* ---- strided iteration ------------------------------------------------------------ */
/* Walk the output (rank R, contiguous) while keeping the offsets of up to
 * three inputs with their broadcast strides.  fn gets flat output index and
 * input offsets. */
typedef void (*ElemFn)(const KCtx *k, size_t o, const int64_t *off);

static void walk(const KCtx *k, int nin, int64_t st_[][LTC_MAX_RANK], ElemFn fn) {
    int R = k->n->shape.rank;
    int64_t idx[LTC_MAX_RANK] = {0}, off[3] = {0, 0, 0};
    for (size_t o = 0; o < k->numel; o++) {
        fn(k, o, off);
        for (int i = R - 1; i >= 0; i--) {        /* odometer increment */
            for (int j = 0; j < nin; j++) off[j] += st_[j][i];
            if (++idx[i] < k->shape[i]) break;
            for (int j = 0; j < nin; j++) off[j] -= st_[j][i] * k->shape[i];
            idx[i] = 0;
        }
    }
}

/* ---- binary --------------------------------------------------------------------------- */
static void binary_elem(const KCtx *k, size_t o, const int64_t *off) {
    const Node *n = k->n;
    double x = ld(n->in[0]->dtype, k->in[0], (size_t)off[0]);
    double y = ld(n->in[1]->dtype, k->in[1], (size_t)off[1]);
    double r;
    switch (n->op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case OP_MUL: r = x * y; break;
    default:     r = x / y; break;
    }
    if (n->dtype == DT_BOOL && n->op == OP_ADD) r = (x != 0) || (y != 0);   /* logical or */
    st(n->dtype, k->out, o, r);
}

int interp_binary(const KCtx *k, LtcDiag *d) {
    int R = k->n->shape.rank;
    int64_t s[2][LTC_MAX_RANK];
    for (int i = 0; i < 2; i++) bcast_strides(k->ish[i], k->n->in[i]->shape.rank, k->shape, R, s[i]);
    walk(k, 2, s, binary_elem);
    return 0;
}

static void masked_fill_elem(const KCtx *k, size_t o, const int64_t *off) {
    const Node *n = k->n;
    bool fill = ld(n->in[1]->dtype, k->in[1], (size_t)off[1]) != 0;
    st(n->dtype, k->out, o, fill ? n->a.f : ld(n->in[0]->dtype, k->in[0], (size_t)off[0]));
}

int interp_masked_fill(const KCtx *k, LtcDiag *d) {
    int R = k->n->shape.rank;
    int64_t s[2][LTC_MAX_RANK];
    for (int i = 0; i < 2; i++) bcast_strides(k->ish[i], k->n->in[i]->shape.rank, k->shape, R, s[i]);
    walk(k, 2, s, masked_fill_elem);
    return 0;
}

/* ---- unary ------------------------------------------------------------------------------ */
double ref_unary(Op op, const Attr *a, double x) {
    switch (op) {
    case OP_ADD_SCALAR:  return x + a->f;
    case OP_MUL_SCALAR:  return x * a->f;
    case OP_DIV_SCALAR:  return x / a->f;
    case OP_RSUB_SCALAR: return a->f - x;
    case OP_POW_SCALAR:  return pow(x, a->f);
    case OP_CLAMP:       return x < a->f ? a->f : x > a->f2 ? a->f2 : x;   /* NaN passes */
    case OP_NEG:         return -x;
    case OP_ABS:         return fabs(x);
    case OP_EXP:         return exp(x);
    case OP_LOG:         return log(x);
    case OP_LOG2:        return log2(x);
    case OP_LOG10:       return log10(x);
    case OP_SQRT:        return sqrt(x);
    case OP_RSQRT:       return 1.0 / sqrt(x);
    case OP_RECIPROCAL:  return 1.0 / x;
    case OP_SIN:         return sin(x);
    case OP_COS:         return cos(x);
    case OP_TAN:         return tan(x);
    case OP_TANH:        return tanh(x);
    case OP_SIGMOID:     return 1.0 / (1.0 + exp(-x));
    case OP_RELU:        return x > 0 ? x : (x != x ? x : 0.0);
    case OP_GELU:        return 0.5 * x * (1.0 + erf(x * 0.70710678118654752440));
    case OP_SILU:        return x / (1.0 + exp(-x));
    case OP_FLOOR:       return floor(x);
    case OP_CEIL:        return ceil(x);
    case OP_ROUND:       return nearbyint(x);     /* default rounding mode: half to even */
    default:             return x;
    }
}

int interp_unary(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    DType it = n->in[0]->dtype;
    for (size_t i = 0; i < k->numel; i++) st(n->dtype, k->out, i, ref_unary(n->op, &n->a, ld(it, k->in[0], i)));
    return 0;
}

int interp_cast(const KCtx *k, LtcDiag *d) {
    DType it = k->n->in[0]->dtype;
    for (size_t i = 0; i < k->numel; i++) st(k->n->dtype, k->out, i, ld(it, k->in[0], i));
    return 0;
}

/* triu keeps j - i >= diag, tril keeps j - i <= diag, over the last two dims. */
int interp_triu(const KCtx *k, LtcDiag *d) {
    int R = k->n->shape.rank;
    int64_t rows = k->shape[R - 2], cols = k->shape[R - 1], diag = k->n->a.i;
    size_t es = dtype_storage_size(k->n->dtype);
    bool upper = k->n->op == OP_TRIU;
    const char *in = k->in[0];
    char *out = k->out;
    for (size_t e = 0; e < k->numel; e++) {
        int64_t j = (int64_t)(e % (size_t)cols), i = (int64_t)((e / (size_t)cols) % (size_t)rows);
        bool keep = upper ? j - i >= diag : j - i <= diag;
        if (keep) memcpy(out + e * es, in + e * es, es);       /* else stays zero */
    }
    return 0;
}

/* Inverted dropout: keep with probability 1-p (philox uniform of element i
 * at call k->call >= p), scale kept values by 1/(1-p).  Identity outside
 * training. */
int interp_dropout(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    const float *x = k->in[0];
    float *y = k->out;
    double p = n->a.p;
    if (!n->a.training || p == 0) { memcpy(y, x, k->numel * sizeof *y); return 0; }
    double s = p >= 1 ? 0 : 1.0 / (1.0 - p);
    for (size_t i = 0; i < k->numel; i++)
        y[i] = philox_uniform_at(n->a.seed, k->call, i) >= p ? (float)(x[i] * s) : 0.0f;
    return 0;
}
