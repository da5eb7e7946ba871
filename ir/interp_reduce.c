/* interp_reduce.c: reference kernels that work along one axis: softmax,
 * reductions, cumsum, layer and RMS norm.  A tensor is seen as
 * [outer, len, inner] around the axis; accumulation is in double. */
#include "ir/ir_internal.h"

static void split_axis(const int64_t *s, int rank, int axis, size_t *outer, size_t *len, size_t *inner) {
    *outer = numel_of(s, axis);
    *len = (size_t)s[axis];
    *inner = numel_of(s + axis + 1, rank - axis - 1);
}

/* softmax: exp(x - max) / sum exp(x - max); log_softmax: x - max - log(sum).
 * A row of -inf gives NaN, as torch. */
int interp_softmax(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    DType it = n->in[0]->dtype;
    size_t outer, len, inner;
    split_axis(k->ish[0], n->in[0]->shape.rank, n->a.axis, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double m = -INFINITY, s = 0;
            for (size_t j = 0; j < len; j++) {
                double x = ld(it, k->in[0], base + j * inner);
                if (x > m || x != x) m = x;
            }
            for (size_t j = 0; j < len; j++) s += exp(ld(it, k->in[0], base + j * inner) - m);
            for (size_t j = 0; j < len; j++) {
                double x = ld(it, k->in[0], base + j * inner) - m;
                st(n->dtype, k->out, base + j * inner, n->op == OP_SOFTMAX ? exp(x) / s : x - log(s));
            }
        }
    return 0;
}

int interp_reduce(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    DType it = n->in[0]->dtype;
    size_t outer, len, inner;
    split_axis(k->ish[0], n->in[0]->shape.rank, n->a.axis, &outer, &len, &inner);
    if (len == 0 && (n->op == OP_MAX_DIM || n->op == OP_ARGMAX))
        return diag_set(d, n->loc, "%s: reduction over an empty dimension", op_info[n->op].name);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double acc = n->op == OP_MAX_DIM || n->op == OP_ARGMAX ? -INFINITY : 0;
            size_t arg = 0;
            for (size_t j = 0; j < len; j++) {
                double x = ld(it, k->in[0], base + j * inner);
                if (n->op == OP_SUM_DIM || n->op == OP_MEAN_DIM) acc += x;
                else if (acc == acc && (x > acc || x != x || j == 0)) { acc = x; arg = j; }  /* NaN wins */
            }
            if (n->op == OP_MEAN_DIM) acc /= (double)len;
            if (n->op == OP_ARGMAX) acc = (double)arg;
            st(n->dtype, k->out, o * inner + i, acc);
        }
    return 0;
}

int interp_cumsum(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    DType it = n->in[0]->dtype;
    size_t outer, len, inner;
    split_axis(k->ish[0], n->in[0]->shape.rank, n->a.axis, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i;
            double acc = 0;
            for (size_t j = 0; j < len; j++) {
                acc += ld(it, k->in[0], base + j * inner);
                st(n->dtype, k->out, base + j * inner, acc);
            }
        }
    return 0;
}

/* ---- norms -------------------------------------------------------------------------- */
void ref_layer_norm_row(const float *x, const float *w, const float *b, float *y, int64_t n, double eps) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++) mean += x[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (double)n;                                  /* biased, as torch */
    double r = 1.0 / sqrt(var + eps);
    for (int64_t i = 0; i < n; i++) {
        double v = (x[i] - mean) * r;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[i] = (float)v;
    }
}

void ref_rms_norm_row(const float *x, const float *w, float *y, int64_t n, double eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double r = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = (float)(w ? x[i] * r * w[i] : x[i] * r);
}

int interp_layer_norm(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->shape.rank, f = n->a.flags, next = 1;
    int64_t len = k->shape[R - 1];
    const float *w = (f & 1) ? k->in[next++] : NULL;
    const float *b = (f & 2) ? k->in[next++] : NULL;
    size_t rows = len ? k->numel / (size_t)len : 0;
    for (size_t r = 0; r < rows; r++)
        ref_layer_norm_row((const float *)k->in[0] + r * len, w, b, (float *)k->out + r * len, len, n->a.eps);
    return 0;
}

int interp_rms_norm(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int64_t len = k->shape[n->shape.rank - 1];
    const float *w = n->nin > 1 ? k->in[1] : NULL;
    size_t rows = len ? k->numel / (size_t)len : 0;
    for (size_t r = 0; r < rows; r++)
        ref_rms_norm_row((const float *)k->in[0] + r * len, w, (float *)k->out + r * len, len, n->a.eps);
    return 0;
}
