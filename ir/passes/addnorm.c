/* addnorm.c: fold a residual ADD into the normalisation that reads it.
 *
 *   norm(x + r)  ->  add_norm(x, r, [w], [b])       (i = OP_LAYER_NORM or OP_RMS_NORM)
 *
 * In a pre-LN block the sum is also the residual stream that the next
 * block adds to.  Then the ADD_NORM kernel stores the sum as well
 * (flag ADDNORM_HAS_SUM) and the other users read it through a companion
 * node add_norm_sum(an, x, r): its value is x + r; at plan level it has no
 * step of its own, its buffer is the ADD_NORM step's second output (see
 * codegen/lower.h).  x and r must have the same shape (no broadcasting),
 * so the sum is exactly the rows the norm reads. */
#include "ir/passes/passes.h"
#include "ir/ir_internal.h"

#define P "addnorm"

/* ---- the pass ------------------------------------------------------------------------ */
/* A norm reading n as its x, over the last axis. */
static Node *norm_user(PassCtx *c, Node *n) {
    for (int i = 0; i < c->g->nnodes; i++) {
        Node *u = c->g->nodes[i];
        if (!pass_is_live(c, u) || u->in == NULL || u->nin < 1 || u->in[0] != n) continue;
        if ((u->op == OP_LAYER_NORM || u->op == OP_RMS_NORM) && u->dtype == n->dtype) return u;
    }
    return NULL;
}

static int try_addnorm(PassCtx *c, Node *add) {
    Node *nm = norm_user(c, add);
    if (!nm) return 0;
    Node *x = add->in[0], *r = add->in[1];
    if (!shape_eq(&x->shape, &r->shape) || !shape_eq(&x->shape, &add->shape) || x->dtype != r->dtype
        || x->dtype != add->dtype || !dtype_is_float(x->dtype)) {
        pass_missed(c, P, "add %%%d + %s %%%d: addends differ in shape or dtype (broadcast)", add->id,
                    op_info[nm->op].name, nm->id);
        return 0;
    }
    for (int i = 1; i < nm->nin; i++)
        if (nm->in[i]->shape.rank != 1 || !dim_eq(nm->in[i]->shape.d[0], x->shape.d[x->shape.rank - 1])) {
            pass_missed(c, P, "add %%%d + %s %%%d: the norm spans more than the last axis", add->id,
                        op_info[nm->op].name, nm->id);
            return 0;
        }
    Attr a;
    memset(&a, 0, sizeof a);
    a.i = nm->op;
    a.eps = nm->a.eps;
    Node *ins[4] = { x, r, NULL, NULL };
    int nin = 2;
    for (int i = 1; i < nm->nin; i++) ins[nin++] = nm->in[i];
    a.flags = nm->a.flags & (NORM_W | NORM_B);     /* shape_norm made them explicit */
    bool keep_sum = add->nusers > 1;
    if (keep_sum) a.flags |= ADDNORM_HAS_SUM;
    Node *an = pass_emit(c, OP_ADD_NORM, ins, nin, &a, nm->loc);
    if (!an) return 0;
    pass_replace(c, nm, an);
    if (keep_sum) {
        Attr z;
        memset(&z, 0, sizeof z);
        Node *sin[3] = { an, x, r };
        Node *sum = pass_emit(c, OP_ADD_NORM_SUM, sin, 3, &z, add->loc);
        if (!sum) return 1;         /* the add stays for its other users */
        pass_replace(c, add, sum);
        pass_fused(c, P, "add %%%d + %s %%%d -> add_norm (sum kept: %d other users)", add->id,
                   op_info[nm->op].name, nm->id, add->nusers - 1);
    } else {
        pass_fused(c, P, "add %%%d + %s %%%d -> add_norm", add->id, op_info[nm->op].name, nm->id);
    }
    return 1;
}

int pass_addnorm(Graph *g, PassCtx *c) {
    int n0 = g->nnodes;
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes[i];
        if (n->op != OP_ADD || !pass_is_live(c, n)) continue;
        int rc = try_addnorm(c, n);
        if (rc < 0) return -1;
        if (rc > 0 && pass_refresh(c) < 0) return -1;
    }
    return 0;
}
