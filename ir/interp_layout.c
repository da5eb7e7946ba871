/* interp_layout.c: reference kernels that move data: reshape (a copy),
 * permute, expand, slice and cat.  They copy whole elements of the storage
 * size, so every dtype is moved bit-exactly. */
#include "ir/ir_internal.h"

void gather_strided(void *out, const void *in, size_t es, const int64_t *oshape, int R,
                    const int64_t *st_, int64_t base) {
    size_t total = numel_of(oshape, R);
    int64_t idx[LTC_MAX_RANK] = {0}, off = base;
    char *o = out;
    const char *p = in;
    for (size_t e = 0; e < total; e++) {
        memcpy(o + e * es, p + (size_t)off * es, es);
        for (int i = R - 1; i >= 0; i--) {
            off += st_[i];
            if (++idx[i] < oshape[i]) break;
            off -= st_[i] * oshape[i];
            idx[i] = 0;
        }
    }
}

int interp_copy(const KCtx *k, LtcDiag *d) {
    memcpy(k->out, k->in[0], k->numel * dtype_storage_size(k->n->dtype));
    return 0;
}

/* out[o] = in[sum o_i * stride_in[perm[i]]] */
int interp_permute(const KCtx *k, LtcDiag *d) {
    int R = k->n->shape.rank;
    int64_t cs[LTC_MAX_RANK], s[LTC_MAX_RANK];
    contig_strides(k->ish[0], R, cs);
    for (int i = 0; i < R; i++) s[i] = cs[k->n->a.perm[i]];
    gather_strided(k->out, k->in[0], dtype_storage_size(k->n->dtype), k->shape, R, s, 0);
    return 0;
}

int interp_expand(const KCtx *k, LtcDiag *d) {
    int R = k->n->shape.rank;
    int64_t s[LTC_MAX_RANK];
    bcast_strides(k->ish[0], k->n->in[0]->shape.rank, k->shape, R, s);
    gather_strided(k->out, k->in[0], dtype_storage_size(k->n->dtype), k->shape, R, s, 0);
    return 0;
}

/* out index j along the axis reads in index start + j * step. */
int interp_slice(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->shape.rank, ax = n->a.axis;
    int64_t start = dim_eval(n->a.start, k->b), len = k->shape[ax], D = k->ish[0][ax];
    if (len > 0 && (start < 0 || start + (len - 1) * n->a.step >= D))
        return diag_set(d, n->loc, "slice: indices %lld..%lld step %lld are out of range for size %lld",
                        (long long)start, (long long)(start + (len - 1) * n->a.step), (long long)n->a.step,
                        (long long)D);
    int64_t cs[LTC_MAX_RANK];
    contig_strides(k->ish[0], R, cs);
    int64_t base = start * cs[ax];
    cs[ax] *= n->a.step;
    gather_strided(k->out, k->in[0], dtype_storage_size(n->dtype), k->shape, R, cs, base);
    return 0;
}

/* Along the axis, each outer block is the inputs' blocks one after another. */
int interp_cat(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->shape.rank, ax = n->a.axis;
    size_t es = dtype_storage_size(n->dtype);
    size_t outer = numel_of(k->shape, ax), inner = numel_of(k->shape + ax + 1, R - ax - 1);
    size_t orow = (size_t)k->shape[ax] * inner, pos = 0;
    for (int t = 0; t < n->nin; t++) {
        size_t row = (size_t)k->ish[t][ax] * inner;
        DType it = n->in[t]->dtype;
        for (size_t o = 0; o < outer; o++) {
            if (it == n->dtype) {
                memcpy((char *)k->out + (o * orow + pos) * es, (const char *)k->in[t] + o * row * es, row * es);
            } else {
                for (size_t e = 0; e < row; e++)
                    st(n->dtype, k->out, o * orow + pos + e, ld(it, k->in[t], o * row + e));
            }
        }
        pos += row;
    }
    return 0;
}
