/* attention.c: recognise attention written by hand and make it one SDPA.
 *
 *   matmul(softmax_last(S'), v)
 *   S' = S | S + mask (float) | masked_fill(S, m, -big)
 *   S  = matmul(q, kt) [* c | / c | mul/div by a constant tensor] ...
 *
 * becomes sdpa(q, k, v, [mask]) with scale = the product of the constant
 * factors (1 when none) and k = transpose(kt): when kt is itself a
 * permute the two permutes are composed, so matmul(q, k.transpose(-2,-1))
 * reads k directly.  A factor on q (q * c, q / c) is folded into the scale
 * too.
 *
 * masked_fill(S, m, f) is the additive mask masked_fill(zeros, m, f): with
 * f = -inf the two are identical; with a finite f <= -1e4 (the -1e9 of
 * hand-written code) they agree except on a row where every key is masked
 * (unfused: uniform weights; fused: the unmasked softmax).  Larger fill
 * values are not fused.
 *
 * A causal mask built in the graph (triu(full(-inf), 1), or its boolean
 * form under masked_fill) becomes causal = true and no mask input.
 *
 * An active dropout on the weights (training) moves into the SDPA (p,
 * seed): the SDPA draws the same mask, philox over the flat index of the
 * [.., Sq, Sk] weights.
 *
 * Not fused: a non-constant or non-positive scale, intermediates with
 * other users (the score matrix would be materialised anyway), q/k/v whose
 * batch dims differ (matmul broadcasting). */
#include "ir/passes/passes.h"

#include <math.h>
#include <string.h>

#define P "attention"

/* Peel constant scale factors off s; *scale is multiplied.  Returns the
 * node under them, or NULL (with *why set) when a factor is not constant. */
static Node *peel_scale(PassCtx *c, Node *s, double *scale, Node **chain, int *nchain, const char **why) {
    for (;;) {
        double v;
        if (*nchain >= 12) return s;        /* a long chain: leave it alone */
        if (s->op == OP_MUL_SCALAR) { *scale *= s->a.f; }
        else if (s->op == OP_DIV_SCALAR) { *scale /= s->a.f; }
        else if (s->op == OP_MUL || s->op == OP_DIV) {
            int ci = pass_scalar_const(s->in[1], &v) ? 1 : (s->op == OP_MUL && pass_scalar_const(s->in[0], &v)) ? 0 : -1;
            if (ci < 0) {
                /* Only a problem if the other side is the score matmul. */
                if (s->in[0]->op == OP_MATMUL || s->in[1]->op == OP_MATMUL) {
                    *why = "scale is not a constant";
                    return NULL;
                }
                return s;
            }
            if (!shape_eq(&s->shape, &s->in[1 - ci]->shape)) { *why = "scale factor broadcasts the scores"; return NULL; }
            *scale = s->op == OP_MUL ? *scale * v : *scale / v;
            chain[(*nchain)++] = s;
            s = s->in[1 - ci];
            continue;
        } else return s;
        chain[(*nchain)++] = s;
        s = s->in[0];
    }
}

/* The mask is the causal one: (what the script builds as)
 *   triu(full([S, S], f), 1)   with f = -inf or f <= -1e4 (additive), or
 *   triu(full([S, S], f), 1)   with f != 0 (masked_fill: true = masked),
 * through reshapes / expands / casts, square and as wide as the scores.
 * Masked positions are j > i, exactly SDPA's causal (keep j <= i); no
 * causal row is fully masked, so a finite fill gives the same weights. */
static bool is_causal_mask(const Node *m, bool additive, const Shape *scores) {
    while (m->op == OP_RESHAPE || m->op == OP_EXPAND || m->op == OP_CAST) m = m->in[0];
    if (m->op != OP_TRIU || m->a.i != 1) return false;
    const Node *f = m->in[0];
    if (f->op != OP_FULL || f->shape.rank < 2) return false;
    int r = f->shape.rank, R = scores->rank;
    if (!dim_eq(f->shape.d[r - 1], f->shape.d[r - 2]) || !dim_eq(f->shape.d[r - 1], scores->d[R - 1])
        || !dim_eq(scores->d[R - 1], scores->d[R - 2]))
        return false;
    for (int i = 0; i < r - 2; i++)
        if (!(f->shape.d[i].sym == 0 && f->shape.d[i].k == 1)) return false;
    if (additive) return (isinf(f->a.f) && f->a.f < 0) || f->a.f <= -1e4;
    return f->a.f != 0;
}

static bool same_batch(const Shape *a, const Shape *b) {
    if (a->rank != b->rank || a->rank < 2) return false;
    for (int i = 0; i < a->rank - 2; i++)
        if (!dim_eq(a->d[i], b->d[i])) return false;
    return true;
}

/* Try to rewrite the attention ending at matmul n; 1 if done, 0 if not a
 * candidate or not fused (reported), -1 on error. */
static int try_attention(PassCtx *c, Node *n) {
    Node *sm = n->in[0], *v = n->in[1], *drop = NULL;
    if (sm->op == OP_DROPOUT && sm->in[0]->op == OP_SOFTMAX) {
        /* Active dropout on the weights: SDPA draws the same mask (philox
         * over the flat index of the [.., Sq, Sk] weights, same seed). */
        drop = sm;
        sm = sm->in[0];
    }
    if (sm->op != OP_SOFTMAX) return 0;
    if (sm->a.axis != sm->shape.rank - 1) {
        pass_missed(c, P, "matmul %%%d: softmax %%%d is over axis %d, not the last", n->id, sm->id, sm->a.axis);
        return 0;
    }
    Node *chain[16]; int nchain = 0;      /* nodes that disappear */
    if (drop) chain[nchain++] = drop;
    chain[nchain++] = sm;
    Node *s = sm->in[0], *mask = NULL;
    double fill = 0;
    bool have_fill = false;
    const char *why = NULL;
    double scale = 1.0;
    Node *qk = NULL;
    if (s->op == OP_ADD) {
        /* scores + mask, either order: the scores side peels to a matmul. */
        for (int side = 0; side < 2 && !qk; side++) {
            double sc = 1.0; int nc = nchain + 1;
            Node *tmp[16]; memcpy(tmp, chain, sizeof chain);
            tmp[nchain] = s;
            const char *w = NULL;
            Node *m = peel_scale(c, s->in[side], &sc, tmp, &nc, &w);
            if (m && m->op == OP_MATMUL && shape_eq(&s->shape, &s->in[side]->shape)
                && dtype_is_float(s->in[1 - side]->dtype)) {
                qk = m; mask = s->in[1 - side]; scale = sc;
                memcpy(chain, tmp, sizeof chain); nchain = nc;
            } else if (!m && w) why = w;
        }
    } else if (s->op == OP_MASKED_FILL) {
        fill = s->a.f;
        have_fill = true;
        chain[nchain++] = s;
        qk = peel_scale(c, s->in[0], &scale, chain, &nchain, &why);
        mask = s->in[1];
        if (qk && qk->op != OP_MATMUL) qk = NULL;
    } else {
        qk = peel_scale(c, s, &scale, chain, &nchain, &why);
        if (qk && qk->op != OP_MATMUL) qk = NULL;
    }
    if (!qk) {
        if (why) pass_missed(c, P, "matmul %%%d: %s", n->id, why);
        else pass_missed(c, P, "matmul %%%d: softmax %%%d does not read matmul(q, k^T) [* scale] [+ mask]", n->id, sm->id);
        return 0;
    }
    chain[nchain++] = qk;
    if (have_fill && !(isinf(fill) && fill < 0) && !(fill <= -1e4)) {
        pass_missed(c, P, "matmul %%%d: masked_fill value %g is not a large negative number", n->id, fill);
        return 0;
    }
    for (int i = 0; i < nchain; i++) {
        if (chain[i]->nusers != 1) {
            pass_missed(c, P, "matmul %%%d: %s %%%d has %d users", n->id, op_info[chain[i]->op].name,
                        chain[i]->id, chain[i]->nusers);
            return 0;
        }
    }
    Node *q = qk->in[0], *kt = qk->in[1];
    /* q * c folded into the scale (q itself may have other users). */
    if ((q->op == OP_MUL_SCALAR || q->op == OP_DIV_SCALAR) && q->nusers == 1) {
        scale = q->op == OP_MUL_SCALAR ? scale * q->a.f : scale / q->a.f;
        q = q->in[0];
    }
    if (!isfinite(scale) || !(scale > 0.0)) {       /* sdpa: scale 0 means 1/sqrt(D) */
        pass_missed(c, P, "matmul %%%d: scale %g is not usable", n->id, scale);
        return 0;
    }
    int r = kt->shape.rank;
    if (r < 2 || q->shape.rank != r || v->shape.rank != r) {
        pass_missed(c, P, "matmul %%%d: q, k, v ranks differ", n->id);
        return 0;
    }
    if (q->dtype != kt->dtype || q->dtype != v->dtype || !dtype_is_float(q->dtype)) {
        pass_missed(c, P, "matmul %%%d: q, k, v dtypes differ", n->id);
        return 0;
    }
    /* k = transpose(kt), composed with kt's own permute if it is one. */
    Attr pa;
    memset(&pa, 0, sizeof pa);
    int swap[LTC_MAX_RANK];
    for (int i = 0; i < r; i++) swap[i] = i;
    swap[r - 2] = r - 1; swap[r - 1] = r - 2;
    Node *kbase = kt;
    bool ident = true;
    for (int i = 0; i < r; i++) {
        pa.perm[i] = kt->op == OP_PERMUTE ? kt->a.perm[swap[i]] : swap[i];
        if (pa.perm[i] != i) ident = false;
    }
    if (kt->op == OP_PERMUTE) kbase = kt->in[0];
    Node *k = kbase;
    if (!ident) {
        k = pass_emit(c, OP_PERMUTE, &kbase, 1, &pa, kt->loc);
        if (!k) return 0;
    }
    if (!same_batch(&q->shape, &k->shape) || !same_batch(&q->shape, &v->shape)) {
        pass_missed(c, P, "matmul %%%d: q, k, v batch dims differ (broadcasting matmul)", n->id);
        return 0;
    }
    bool causal = mask && is_causal_mask(mask, !have_fill, &s->shape);
    if (causal) mask = NULL;
    if (mask && have_fill) {
        /* masked_fill(S, m, f) == S + masked_fill(zeros_like(m), m, f) */
        Attr fa;
        memset(&fa, 0, sizeof fa);
        fa.shape = mask->shape; fa.dtype = q->dtype; fa.f = 0.0;
        Node *zero = pass_emit(c, OP_FULL, NULL, 0, &fa, s->loc);
        if (!zero) return 0;
        Node *ins[2] = { zero, mask };
        Attr ma = s->a;
        mask = pass_emit(c, OP_MASKED_FILL, ins, 2, &ma, s->loc);
        if (!mask) return 0;
    }
    Attr sa;
    memset(&sa, 0, sizeof sa);
    sa.scale = scale;
    sa.causal = causal;
    if (drop) { sa.p = drop->a.p; sa.seed = drop->a.seed; sa.training = drop->a.training; }
    Node *ins[4] = { q, k, v, mask };
    Node *at = pass_emit(c, OP_SDPA, ins, mask ? 4 : 3, &sa, n->loc);
    if (!at) return 0;
    pass_fused(c, P, "matmul %%%d, softmax %%%d, matmul %%%d -> sdpa (scale %g%s%s)", qk->id, sm->id, n->id,
               scale, causal ? ", causal" : mask ? (have_fill ? ", masked_fill as additive mask" : ", additive mask") : "",
               drop ? ", dropout" : "");
    pass_replace(c, n, at);
    return 1;
}

int pass_attention(Graph *g, PassCtx *c) {
    int n0 = g->nnodes;
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes[i];
        if (n->op != OP_MATMUL || !pass_is_live(c, n)) continue;
        int rc = try_attention(c, n);
        if (rc < 0) return -1;
        if (rc > 0 && pass_refresh(c) < 0) return -1;
    }
    return 0;
}
