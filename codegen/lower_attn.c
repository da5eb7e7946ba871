/* lower_attn.c: scaled dot-product attention as one flash_attention step.
 *
 * The output's batch dims are brought to two, [b0, b1] (padded with 1s;
 * three only when K and V broadcast over the last, which then becomes the
 * query-head group of grouped-query attention); Q, K, V and the mask are
 * read through element strides (0 where they broadcast), so broadcasts
 * and head-split views need no copies.  Tiles are query rows of the
 * flattened [b0, b1, Sq].  Dims and bufs: codegen/kernel_layout.h. */
#include <math.h>
#include <string.h>

#include "codegen/kernel_layout.h"
#include "codegen/lower_kernel.h"

#define is_one lower_is_one

/* Strides of x for the output dims [ob.., extra] aligned right; 0 where
 * x broadcasts.  out has `n` entries. */
static bool bstrides(Graph *g, const Shape *x, const Shape *full, int n, Dim *out) {
    Dim st[LTC_MAX_RANK];
    if (!shape_strides(g, x, st)) return false;
    for (int i = 0; i < n; i++) {
        int j = i - (n - x->rank);
        out[i] = (j < 0 || (is_one(x->d[j]) && !is_one(full->d[i]))) ? dim_const(0) : st[j];
    }
    return true;
}

/* Query heads per key/value head the kernel maps (b1 -> b1 / G):
 *  - a.i = G > 1: the sdpa's head group (enable_gqa, the gqa pass);
 *  - three batch dims [b0, h, g] with K and V broadcast over g (size 1
 *    there: q [B, Hkv, G, S, D], k [B, Hkv, 1, S, D]): g is merged into
 *    the head dim, G = size of g, so SDPA broadcasting over a group axis
 *    runs as grouped-query attention.
 * 1 otherwise; -1 when only one of K, V broadcasts over g. */
static bool bcast_last_batch(const Node *x, const Node *n) {
    int OB = n->shape.rank - 2, rb = x->shape.rank - 2, j = 2 - (3 - rb);
    (void)OB;
    return j < 0 || (is_one(x->shape.d[j]) && !is_one(n->shape.d[2]));
}

int64_t lower_attn_group(const Node *n) {
    if (n->a.i > 1) return n->a.i;
    if (n->shape.rank - 2 != 3) return 1;
    bool bk = bcast_last_batch(n->in[1], n), bv = bcast_last_batch(n->in[2], n);
    if (bk != bv) return -1;
    if (!bk) return 1;
    Dim g = n->shape.d[2];
    return g.sym ? -1 : g.k;
}

/* Three batch dims [b0, b1, b2] -> two [b0, b1*b2]: the strides of x
 * (given over the three) merged, or false.  grouped: x is K or V of a
 * group-broadcast sdpa, b2 has stride 0 and b1 keeps its own stride (the
 * kernel divides the merged index by G). */
static bool merge_batch(const Dim st3[3], Dim b2, bool grouped, Dim out[2]) {
    out[0] = st3[0];
    if (grouped) {
        if (st3[2].k != 0) return false;
        out[1] = st3[1];
        return true;
    }
    Dim t;
    if (st3[1].k == 0 && st3[2].k == 0) { out[1] = dim_const(0); return true; }
    if (!dim_mul(st3[2], b2, &t) || !dim_eq(t, st3[1])) return false;
    out[1] = st3[2];
    return true;
}

static int push_attn_dims(Backend *be, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *s, const Shape *full,
                          Dim qs[2], Dim ks[2], Dim vs[2], const Dim ms[4], const Dim rs[3], LtcDiag *d);

/* Three batch dims, merged to two (attn_group): [b0, b1*b2, Sq, Sk]. */
static int lower_attn3(Backend *be, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *s, int64_t G, LtcDiag *d) {
    Node *mk = n->nin > 3 ? n->in[3] : NULL;
    Dim b2 = n->shape.d[2];
    Shape full5 = {.rank = 5}, full = {.rank = 4};
    for (int i = 0; i < 3; i++) full5.d[i] = n->shape.d[i];
    full5.d[3] = n->in[0]->shape.d[n->in[0]->shape.rank - 2];
    full5.d[4] = n->in[1]->shape.d[n->in[1]->shape.rank - 2];
    full.d[0] = n->shape.d[0];
    if (!dim_mul(n->shape.d[1], b2, &full.d[1])) return lower_unsupported(be, n, d, "attention batch is not a monomial");
    full.d[2] = full5.d[3];
    full.d[3] = full5.d[4];
    Dim bs[3][2], rs[3], ms[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    for (int x = 0; x < 3; x++) {
        Dim st[LTC_MAX_RANK], st3[3];
        const Shape *sh = &n->in[x]->shape;
        int r = lower_input_strides(n, x, st);
        if (r != sh->rank || r < 2 || !is_one(st[r - 1]))
            return lower_unsupported(be, n, d, "attention operand strides (the head dim must be contiguous)");
        rs[x] = st[r - 2];
        for (int i = 0; i < 3; i++) {
            int j = i - (3 - (r - 2));
            st3[i] = (j < 0 || (is_one(sh->d[j]) && !is_one(full5.d[i]))) ? dim_const(0) : st[j];
        }
        if (!merge_batch(st3, b2, x > 0 && G > 1, bs[x]))
            return lower_unsupported(be, n, d, "attention operand batch strides (3 batch dims that do not merge)");
    }
    if (mk) {
        Dim m5[5];
        if (!bstrides(n->graph, &mk->shape, &full5, 5, m5)) return lower_unsupported(be, n, d, "attention mask shape");
        Dim m3[3] = {m5[0], m5[1], m5[2]}, mm[2];
        if (!merge_batch(m3, b2, false, mm)) return lower_unsupported(be, n, d, "attention mask batch strides");
        ms[0] = mm[0]; ms[1] = mm[1]; ms[2] = m5[3]; ms[3] = m5[4];
    }
    return push_attn_dims(be, p, n, in_bufs, out_buf, s, &full, bs[0], bs[1], bs[2], ms, rs, d);
}

int lower_attn(Backend *be, Plan *p, Node *n, const KernelSpec *spec, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    /* ks_attn checked the batch rank, the group and the head dims */
    Node *q = n->in[0], *k = n->in[1], *mk = n->nin > 3 ? n->in[3] : NULL;
    int OB = n->shape.rank - 2;
    if (OB == 3) return lower_attn3(be, p, n, in_bufs, out_buf, s, spec->group, d);
    /* batch dims padded to two: full = [b0, b1, Sq, Sk] */
    Shape full = {.rank = 4};
    full.d[0] = full.d[1] = dim_const(1);
    for (int i = 0; i < OB; i++) full.d[2 - OB + i] = n->shape.d[i];
    full.d[2] = q->shape.d[q->shape.rank - 2];
    full.d[3] = k->shape.d[k->shape.rank - 2];
    /* Q, K, V element strides as the plan lays them out (codegen/lower.h:
     * a head-split permute feeding SDPA is a view of its input, read through
     * strides, no copy); padded to the two batch dims, 0 where broadcast. */
    Dim qs[2], ks[2], vs[2], rs[3], ms[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    Dim *bs[3] = {qs, ks, vs};
    for (int x = 0; x < 3; x++) {
        Dim st[LTC_MAX_RANK];
        const Shape *sh = &n->in[x]->shape;
        int r = lower_input_strides(n, x, st);
        if (r != sh->rank || r < 2 || !is_one(st[r - 1]))
            return lower_unsupported(be, n, d, "attention operand strides (the head dim must be contiguous)");
        rs[x] = st[r - 2];
        for (int i = 0; i < 2; i++) {
            int j = i - (2 - (r - 2));
            bs[x][i] = (j < 0 || (is_one(sh->d[j]) && !is_one(full.d[i]))) ? dim_const(0) : st[j];
        }
    }
    if (mk && !bstrides(n->graph, &mk->shape, &full, 4, ms)) return lower_unsupported(be, n, d, "attention mask shape");
    return push_attn_dims(be, p, n, in_bufs, out_buf, s, &full, qs, ks, vs, ms, rs, d);
}

/* The step: bufs, dims in the AD_* order, tiles = rows of [b0, b1, Sq]. */
static int push_attn_dims(Backend *be, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *s, const Shape *full,
                          Dim qs[2], Dim ks[2], Dim vs[2], const Dim ms[4], const Dim rs[3], LtcDiag *d) {
    Node *mk = n->nin > 3 ? n->in[3] : NULL;
    Dim batch;
    if (!dim_mul(full->d[0], full->d[1], &batch) || !dim_mul(batch, full->d[2], &batch))
        return lower_unsupported(be, n, d, "attention batch is not one monomial");
    int kid = lower_add_kernel(p, n, "flash_attention", d);
    if (kid < 0) return -1;
    /* D, Dv, query heads per key/value head, mask element size (0: none),
     * element size of q, k, v and the output (4 f32, 2 bf16/f16) */
    Node *q = n->in[0], *v = n->in[2];
    lower_kernel_consts(p, kid, 5, (int64_t[]){q->shape.d[q->shape.rank - 1].k, v->shape.d[v->shape.rank - 1].k,
                                             lower_attn_group(n), mk ? (int64_t)dtype_size(mk->dtype) : 0,
                                             (int64_t)dtype_size(n->dtype)});
    s->kernel = kid;
    s->nbufs = 5;
    s->bufs[AB_Q] = in_bufs[0];
    s->bufs[AB_K] = in_bufs[1];
    s->bufs[AB_V] = in_bufs[2];
    s->bufs[AB_MASK] = mk ? in_bufs[3] : out_buf;
    s->bufs[AB_OUT] = out_buf;
    lower_set_dim(s, full->d[2]);
    lower_set_dim(s, full->d[3]);
    lower_set_dim(s, full->d[1]);
    lower_set_dim(s, qs[0]); lower_set_dim(s, qs[1]);
    lower_set_dim(s, ks[0]); lower_set_dim(s, ks[1]);
    lower_set_dim(s, vs[0]); lower_set_dim(s, vs[1]);
    for (int i = 0; i < 4; i++) lower_set_dim(s, ms[i]);
    lower_set_dim(s, rs[0]);   /* row strides of Q, K, V */
    lower_set_dim(s, rs[1]);
    lower_set_dim(s, rs[2]);
    if (n->a.training && n->a.p > 0) lower_set_seed_dims(s, n->a.seed);    /* dropout's Philox key */
    else { lower_set_dimk(s, 0); lower_set_dimk(s, 0); }                     /* unused */
    s->ntiles = poly_dim(batch);      /* rows of [b0, b1, Sq] */
    return 0;
}


bool ks_attn(const Node *n, KernelSpec *ks, const char **why) {
    (void)ks;
    int R = n->shape.rank, OB = R - 2;
    if (R < 2 || OB > 3 || (OB == 3 && n->a.i > 1)) {
        *why = "attention with more than 2 batch dims (3 only when K and V broadcast over the last)";
        return false;
    }
    if (lower_attn_group(n) < 1) {
        *why = "attention where only one of key and value broadcasts over a batch dim";
        return false;
    }
    if (n->a.i > 1 && OB < 1) { *why = "grouped-query attention without a head dim"; return false; }
    const Node *q = n->in[0], *v = n->in[2];
    Dim D = q->shape.d[q->shape.rank - 1], Dv = v->shape.d[v->shape.rank - 1];
    if (D.sym || Dv.sym || D.k < 1 || Dv.k < 1) {
        *why = "attention head dims (symbolic, or above 512)";
        return false;
    }
    return true;
}
