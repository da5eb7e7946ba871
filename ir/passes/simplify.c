/* simplify.c: local rewrites that remove work without changing values.
 *
 *   reshape(x) to x's own shape            -> x
 *   reshape(reshape(x))                     -> reshape(x)
 *   permute(x) by the identity              -> x
 *   permute_p2(permute_p1(x))               -> permute_c(x), c[i] = p1[p2[i]]
 *   expand(x) to x's own shape, full slice  -> x
 *   cast to the same dtype                  -> x
 *   x * 1, x / 1, x + 0 (scalar forms)      -> x
 *   dropout when not training, or p == 0    -> x
 *
 * The outer node's users are redirected; an inner node with other users
 * stays (the compaction sweeps it otherwise). */
#include "ir/passes/passes.h"

static bool identity_perm(const int *p, int rank) {
    for (int i = 0; i < rank; i++)
        if (p[i] != i) return false;
    return true;
}

/* The node n can be replaced by, or NULL; may emit a new node. */
static Node *simplify_node(PassCtx *c, Node *n, bool *err) {
    Node *x = n->nin > 0 ? n->in[0] : NULL;
    switch (n->op) {
    case OP_RESHAPE:
        if (shape_eq(&n->shape, &x->shape) && n->dtype == x->dtype) return x;
        if (x->op == OP_RESHAPE) {
            Attr a = n->a;
            a.shape = n->shape;           /* resolved: no -1 left */
            Node *m = pass_emit(c, OP_RESHAPE, &x->in[0], 1, &a, n->loc);
            if (!m) *err = true;
            return m;
        }
        return NULL;
    case OP_PERMUTE:
        if (identity_perm(n->a.perm, n->shape.rank)) return x;
        if (x->op == OP_PERMUTE) {
            /* out[i] = mid dim p2[i] = x dim p1[p2[i]] */
            Attr a = n->a;
            for (int i = 0; i < n->shape.rank; i++) a.perm[i] = x->a.perm[n->a.perm[i]];
            if (identity_perm(a.perm, n->shape.rank)) return x->in[0];
            Node *m = pass_emit(c, OP_PERMUTE, &x->in[0], 1, &a, n->loc);
            if (!m) *err = true;
            return m;
        }
        return NULL;
    case OP_EXPAND:
        return shape_eq(&n->shape, &x->shape) ? x : NULL;
    case OP_SLICE:
        return n->a.step == 1 && shape_eq(&n->shape, &x->shape) ? x : NULL;
    case OP_CAST:
        return n->dtype == x->dtype ? x : NULL;
    case OP_MUL_SCALAR:
    case OP_DIV_SCALAR:
        return n->a.f == 1.0 && n->dtype == x->dtype ? x : NULL;
    case OP_ADD_SCALAR:
        return n->a.f == 0.0 && n->dtype == x->dtype ? x : NULL;
    case OP_DROPOUT:
        return !n->a.training || n->a.p == 0.0 ? x : NULL;
    default:
        return NULL;
    }
}

int pass_simplify(Graph *g, PassCtx *c) {
    /* New nodes are appended and visited too, so chains fold completely. */
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!pass_is_live(c, n)) continue;
        bool err = false;
        Node *m = simplify_node(c, n, &err);
        if (err) continue;          /* reported by pass_emit */
        if (m && m != n) pass_replace(c, n, m);
    }
    return 0;
}
