/* causal.c: an SDPA whose mask is the causal one built in the graph takes
 * causal = true instead, so the attention kernel skips the masked blocks
 * and never reads an [S,S] tensor.
 *
 * Recognised (through reshapes, expands and casts, square [.., S, S] with
 * leading dims 1, S the query and key length):
 *   keep-mask (bool at the SDPA):  tril(full(f), 0), f != 0   keeps j <= i;
 *   additive (float at the SDPA):  triu(full(f), 1), f <= -1e4 or -inf,
 *                                  or mul_scalar(triu(full(f), 1), k) with
 *                                  f*k <= -1e4:  adds -big where j > i.
 * SDPA's causal keeps j <= i (top-left).  No causal row is fully masked,
 * and exp(-1e4 + s) underflows to 0 in fp32 for any score s < 1e4 - 104,
 * so a finite fill gives the same weights as -inf. */
#include "ir/passes/passes.h"

#include <math.h>

#define P "causal"

static const Node *peel(const Node *m) {
    while (m->op == OP_RESHAPE || m->op == OP_EXPAND || m->op == OP_CAST) m = m->in[0];
    return m;
}

/* f is a FULL [1.., S, S] with S the scores' square size. */
static bool square_full(const Node *f, const Shape *scores) {
    if (f->op != OP_FULL || f->shape.rank < 2) return false;
    int r = f->shape.rank, R = scores->rank;
    if (!dim_eq(f->shape.d[r - 1], f->shape.d[r - 2]) || !dim_eq(f->shape.d[r - 1], scores->d[R - 1]) ||
        !dim_eq(scores->d[R - 1], scores->d[R - 2]))
        return false;
    for (int i = 0; i < r - 2; i++)
        if (!(f->shape.d[i].sym == 0 && f->shape.d[i].k == 1)) return false;
    return true;
}

static bool is_causal(const Node *mask, const Shape *scores) {
    const Node *m = peel(mask);
    if (mask->dtype == DT_BOOL)
        return m->op == OP_TRIL && m->a.i == 0 && square_full(m->in[0], scores) && m->in[0]->a.f != 0;
    double k = 1;
    if (m->op == OP_MUL_SCALAR) { k = m->a.f; m = peel(m->in[0]); }
    if (m->op != OP_TRIU || m->a.i != 1 || !square_full(m->in[0], scores)) return false;
    double v = m->in[0]->a.f * k;
    return (isinf(v) && v < 0) || v <= -1e4;
}

int pass_causal(Graph *g, PassCtx *c) {
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n->op != OP_SDPA || n->nin != 4 || !pass_is_live(c, n) || n->a.causal) continue;
        Shape scores = n->shape;
        scores.d[scores.rank - 1] = n->in[1]->shape.d[n->in[1]->shape.rank - 2];
        if (!is_causal(n->in[3], &scores)) continue;
        n->nin = 3;
        n->a.causal = true;
        pass_fused(c, P, "sdpa %%%d: mask %%%d is causal -> causal = true, no [S,S] mask read", n->id, n->in[3]->id);
    }
    return 0;
}
