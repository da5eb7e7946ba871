/* gqa.c: grouped- and multi-query attention without copies of K and V.
 *
 * Models with fewer key/value heads than query heads repeat K and V along
 * the head axis before attention:
 *     k' = repeat_interleave(k, G, dim=-3)
 *        = reshape(expand(reshape(k, [.., Hkv, 1, S, D]), [.., Hkv, G, S, D]),
 *                  [.., Hkv*G, S, D])
 * (tensor_repeat_interleave, and Llama's repeat_kv `k[:, :, None]
 * .expand(..).reshape(..)`, both trace to that).  Head h of k' is head
 * h / G of k, so sdpa(q, k', v') = sdpa(q, k, v) with head group G
 * (a.i = G, ir.md): the flash kernel maps query head h to key/value head
 * h / G and the repeated copies disappear.  Both K and V must be repeated
 * the same way (a tiled torch.repeat, [G, Hkv] order, is a different
 * mapping and is left alone). */
#include "ir/passes/passes.h"

#include <string.h>

#define P "gqa"

/* r = reshape(expand(u)) repeating an [.., H, S, D] tensor G times along
 * dim -3 (interleaved).  On success *G and *base (a node of shape
 * [.., H, S, D] whose heads are repeated; made as a reshape of u when
 * u is not a reshape of one). */
static bool match_repeat(PassCtx *c, Node *r, int64_t *G, Node **base) {
    if (r->op != OP_RESHAPE) return false;
    int R = r->shape.rank;
    if (R < 3) return false;
    Node *e = r->in[0];
    if (e->op != OP_EXPAND || e->shape.rank != R + 1) return false;
    const Shape *es = &e->shape, *rs = &r->shape;
    for (int i = 0; i < R - 3; i++)
        if (!dim_eq(es->d[i], rs->d[i])) return false;
    Dim h = es->d[R - 3], g = es->d[R - 2], hg;
    if (g.sym || g.k < 2 || !dim_mul(h, g, &hg) || !dim_eq(hg, rs->d[R - 3])) return false;
    if (!dim_eq(es->d[R - 1], rs->d[R - 2]) || !dim_eq(es->d[R], rs->d[R - 1])) return false;
    Node *u = e->in[0];
    const Shape *us = &u->shape;
    if (us->rank != R + 1) return false;
    for (int i = 0; i <= R; i++)
        if (i == R - 2 ? !(us->d[i].k == 1 && us->d[i].sym == 0) : !dim_eq(us->d[i], es->d[i])) return false;
    Shape want = {.rank = R};
    for (int i = 0, j = 0; i <= R; i++)
        if (i != R - 2) want.d[j++] = us->d[i];
    Node *b = u->op == OP_RESHAPE && shape_eq(&u->in[0]->shape, &want) && u->in[0]->dtype == u->dtype ? u->in[0] : NULL;
    if (!b) {
        Attr a;
        memset(&a, 0, sizeof a);
        a.shape = want;
        if (!(b = pass_emit(c, OP_RESHAPE, &u, 1, &a, u->loc))) return false;
    }
    *G = g.k;
    *base = b;
    return true;
}

static int try_gqa(PassCtx *c, Node *n) {
    if (n->a.i > 1) return 0;              /* already grouped (enable_gqa) */
    int64_t gk = 0, gv = 0;
    Node *bk = NULL, *bv = NULL;
    bool mk = match_repeat(c, n->in[1], &gk, &bk);
    bool mv = n->in[2] == n->in[1] ? (gv = gk, bv = bk, mk) : match_repeat(c, n->in[2], &gv, &bv);
    if (!mk && !mv) return 0;
    if (!mk || !mv || gk != gv) {
        pass_missed(c, P, "sdpa %%%d: %s is repeated along the heads but %s is not (the same way)", n->id,
                    mk ? "key" : "value", mk ? "value" : "key");
        return 0;
    }
    Node *ins[4] = {n->in[0], bk, bv, n->nin > 3 ? n->in[3] : NULL};
    Attr a = n->a;
    a.i = gk;
    Node *at = pass_emit(c, OP_SDPA, ins, n->nin, &a, n->loc);
    if (!at) return 0;
    pass_fused(c, P, "sdpa %%%d: key %%%d and value %%%d repeat %%%d and %%%d %lld times along the heads -> head group %lld, "
               "no copy", n->id, n->in[1]->id, n->in[2]->id, bk->id, bv->id, (long long)gk, (long long)gk);
    pass_replace(c, n, at);
    return 1;
}

int pass_gqa(Graph *g, PassCtx *c) {
    int n0 = g->nnodes;
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes[i];
        if (n->op != OP_SDPA || !pass_is_live(c, n)) continue;
        int rc = try_gqa(c, n);
        if (rc < 0) return -1;
        if (rc > 0 && pass_refresh(c) < 0) return -1;
    }
    return 0;
}
