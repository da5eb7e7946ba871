/* epilogue.c: fold what follows a LINEAR into its GEMM.
 *
 *   linear(x, W[, b]) [+ b'] [act] [+ r | * r]  ->  fused_linear(x, W, [b], [r])
 *   y = act(x.W^T + b) + r      or      y = act(x.W^T + b) * r
 *
 * b' is a rank-1 tensor of the output width (a bias the script added by
 * hand); act is any OPF_ACTIVATION op; r has exactly y's shape (a
 * residual; multiplied: SwiGLU's silu of the gate projection times the up
 * projection, the gate's GEMM reading the up GEMM's output, so the FFN's
 * element-wise work all lands in a GEMM epilogue).  Each folded
 * intermediate must have the next step as its only user: a value somebody
 * else reads has to be stored anyway. */
#include "ir/passes/passes.h"
#include "ir/ir_internal.h"

#include <stdio.h>

#define P "epilogue"

/* ---- the pass ------------------------------------------------------------------- */
static bool is_epilogue_op(const Node *u) {
    return u->op == OP_ADD || u->op == OP_MUL || (op_info[u->op].flags & OPF_ACTIVATION);
}

/* Report why nothing after `cur` can be folded when it has several users. */
static void why_not(PassCtx *c, const Node *lin, const Node *cur, const char *what) {
    if (cur->nusers < 2) return;
    for (int i = 0; i < c->g->nnodes; i++) {
        Node *u = c->g->nodes[i];
        if (!pass_is_live(c, u) || !is_epilogue_op(u)) continue;
        for (int j = 0; j < u->nin; j++)
            if (u->in[j] == cur) {
                pass_missed(c, P, "linear %%%d: %s not fused: %%%d has %d users", lin->id, what, cur->id, cur->nusers);
                return;
            }
    }
}

/* The operand of binary u that is not v. */
static Node *other(Node *u, Node *v) { return u->in[0] == v ? u->in[1] : u->in[0]; }

static int try_epilogue(PassCtx *c, Node *lin) {
    Node *cur = lin, *bias = lin->nin == 3 ? lin->in[2] : NULL, *res = NULL, *u;
    Dim N = lin->shape.d[lin->shape.rank - 1];
    int act = 0;
    /* mixed dtypes keep their promotions in the unfused ops */
    for (int i = 0; i < lin->nin; i++)
        if (lin->in[i]->dtype != lin->dtype) return 0;
    char what[256];
    int len = snprintf(what, sizeof what, "linear %%%d", lin->id);

    if (!bias && (u = pass_sole_user(c, cur)) && u->op == OP_ADD && u->dtype == cur->dtype
        && shape_eq(&u->shape, &cur->shape)) {
        Node *o = other(u, cur);
        if (o->shape.rank == 1 && dim_eq(o->shape.d[0], N) && o->dtype == cur->dtype && o != cur) {
            bias = o; cur = u;
            len += snprintf(what + len, sizeof what - (size_t)len, " + bias add %%%d", u->id);
        }
    }
    if (cur == lin && !bias) why_not(c, lin, cur, "bias add");
    if ((u = pass_sole_user(c, cur)) && (op_info[u->op].flags & OPF_ACTIVATION) && u->dtype == cur->dtype) {
        act = u->op; cur = u;
        len += snprintf(what + len, sizeof what - (size_t)len, " + %s %%%d", op_info[u->op].name, u->id);
    } else why_not(c, lin, cur, "activation");
    bool res_mul = false;
    if ((u = pass_sole_user(c, cur)) && (u->op == OP_ADD || u->op == OP_MUL) && u->dtype == cur->dtype) {
        Node *o = other(u, cur);
        if (o != cur && shape_eq(&o->shape, &cur->shape) && o->dtype == cur->dtype) {
            res = o; cur = u; res_mul = u->op == OP_MUL;
            len += snprintf(what + len, sizeof what - (size_t)len, " + residual %s %%%d", res_mul ? "multiply" : "add",
                            u->id);
        }
    } else why_not(c, lin, cur, "residual add or multiply");
    (void)len;
    if (cur == lin) return 0;

    Attr a;
    memset(&a, 0, sizeof a);
    a.act = act;
    Node *ins[4]; int nin = 0;
    ins[nin++] = lin->in[0]; ins[nin++] = lin->in[1];
    if (bias) { ins[nin++] = bias; a.flags |= LINEAR_BIAS; }
    if (res)  { ins[nin++] = res;  a.flags |= LINEAR_RES | (res_mul ? LINEAR_RES_MUL : 0); }
    Node *f = pass_emit(c, OP_FUSED_LINEAR, ins, nin, &a, lin->loc);
    if (!f) return 0;
    pass_fused(c, P, "%s -> fused_linear", what);
    pass_replace(c, cur, f);
    return 1;
}

int pass_epilogue(Graph *g, PassCtx *c) {
    int n0 = g->nnodes;
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes[i];
        if (n->op != OP_LINEAR || !pass_is_live(c, n)) continue;
        int rc = try_epilogue(c, n);
        if (rc < 0) return -1;
        if (rc > 0 && pass_refresh(c) < 0) return -1;
    }
    return 0;
}
