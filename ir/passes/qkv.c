/* qkv.c: one GEMM for the projections that read the same input.
 *
 * Three shapes of code are handled:
 *
 *  1. Separate linears on the same x, each split into heads
 *        linear_p(x) -> reshape [.., S, H, Dh] -> permute(.., H <-> S)    p = 0..P-1
 *     (the Flash-Attention module: q_proj, k_proj, v_proj).  They become
 *        qkv_linear(x, cat(W_0..W_P-1), cat(b_0..)) : [P, .., H, S, Dh]
 *     which writes every projection straight into the head-split layout
 *     SDPA reads: part p is slice(axis 0, p) -> reshape [.., H, S, Dh], a
 *     free alias, so no transpose copy is left.
 *  2. One wide linear sliced into P equal parts along its last axis, each
 *     part split into heads the same way (GPT-2's c_attn): the same
 *     qkv_linear, on the weight as it is.
 *  3. Separate linears on the same x that are not head-split: one linear on
 *     the concatenated weight, [.., N_0 + .. + N_P-1], and a slice per
 *     original linear.
 *
 * cat(W..) over parameters is a graph value like any other; lowering sees
 * that it depends on parameters only and computes it once, at bind time
 * (Plan.prepack).  Linears are only merged when every weight and bias is a
 * PARAM, so that holds. */
#include "ir/passes/passes.h"
#include "ir/ir_internal.h"

#include <stdio.h>

#define P_ "qkv"

/* ---- matching ---------------------------------------------------------------------- */
/* v [L.., S, E] -> reshape [L.., S, H, Dh] -> permute(H <-> S): the permute. */
static Node *split_chain(PassCtx *c, Node *v, Dim *H, Dim *Dh) {
    int R = v->shape.rank;
    if (R < 2 || R + 2 > LTC_MAX_RANK) return NULL;
    Node *rs = pass_sole_user(c, v);
    if (!rs || rs->op != OP_RESHAPE || rs->shape.rank != R + 1) return NULL;
    for (int i = 0; i < R - 1; i++)
        if (!dim_eq(rs->shape.d[i], v->shape.d[i])) return NULL;
    Dim e;
    if (!dim_mul(rs->shape.d[R - 1], rs->shape.d[R], &e) || !dim_eq(e, v->shape.d[R - 1])) return NULL;
    Node *pm = pass_sole_user(c, rs);
    if (!pm || pm->op != OP_PERMUTE) return NULL;
    for (int i = 0; i < R + 1; i++) {
        int want = i == R - 2 ? R - 1 : i == R - 1 ? R - 2 : i;
        if (pm->a.perm[i] != want) return NULL;
    }
    *H = rs->shape.d[R - 1];
    *Dh = rs->shape.d[R];
    return pm;
}

/* qkv_linear(x, W, b) and, for each part p, slice -> reshape replacing perms[p]. */
static int emit_head_split(PassCtx *c, Node *x, Node *W, Node *b, Node **perms, int P, Dim H, Dim Dh, SrcLoc loc) {
    int R = x->shape.rank;
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape.rank = R + 2;
    a.shape.d[0] = dim_const(P);
    for (int i = 0; i < R - 2; i++) a.shape.d[i + 1] = x->shape.d[i];
    a.shape.d[R - 1] = H;
    a.shape.d[R] = x->shape.d[R - 2];
    a.shape.d[R + 1] = Dh;
    Node *ins[3] = { x, W, b };
    Node *q = pass_emit(c, OP_QKV_LINEAR, ins, b ? 3 : 2, &a, loc);
    if (!q) return -1;
    for (int p = 0; p < P; p++) {
        Attr sa;
        memset(&sa, 0, sizeof sa);
        sa.axis = 0; sa.start = dim_const(p); sa.end = dim_const(p + 1); sa.step = 1;
        Node *sl = pass_emit(c, OP_SLICE, &q, 1, &sa, loc);
        if (!sl) return -1;
        Attr ra;
        memset(&ra, 0, sizeof ra);
        ra.shape = perms[p]->shape;
        Node *rs = pass_emit(c, OP_RESHAPE, &sl, 1, &ra, loc);
        if (!rs) return -1;
        pass_replace(c, perms[p], rs);
    }
    return 0;
}

/* Case 2: one linear, P equal slices of its last axis, each head-split. */
static int try_wide(PassCtx *c, Node *lin) {
    int R = lin->shape.rank;
    if (lin->nusers < 2 || lin->nusers > 8) return 0;
    for (int i = 0; i < lin->nin; i++)
        if (lin->in[i]->dtype != lin->dtype) return 0;     /* keep dtype promotions as they are */
    Node *parts[8] = {0}, *perms[8];
    int P = lin->nusers, found = 0;
    Dim N = lin->shape.d[R - 1];
    if (N.sym != 0 || N.k % P != 0) return 0;
    int64_t E = N.k / P;
    for (int i = 0; i < c->g->nnodes; i++) {
        Node *u = c->g->nodes[i];
        if (!pass_is_live(c, u)) continue;
        for (int j = 0; j < u->nin; j++) {
            if (u->in[j] != lin) continue;
            if (u->op != OP_SLICE || u->a.axis != R - 1 || u->a.step != 1 || u->a.start.sym || u->a.end.sym
                || u->a.start.k % E || u->a.end.k - u->a.start.k != E)
                return 0;
            int p = (int)(u->a.start.k / E);
            if (p < 0 || p >= P || parts[p]) return 0;
            parts[p] = u;
            found++;
        }
    }
    if (found != P) return 0;
    Dim H = {0, 0}, Dh = {0, 0};
    for (int p = 0; p < P; p++) {
        Dim h, dh;
        perms[p] = split_chain(c, parts[p], &h, &dh);
        if (!perms[p] || (p > 0 && (!dim_eq(h, H) || !dim_eq(dh, Dh)))) {
            pass_missed(c, P_, "linear %%%d: slice %%%d is not split into heads like the others", lin->id, parts[p]->id);
            return 0;
        }
        H = h; Dh = dh;
    }
    if (emit_head_split(c, lin->in[0], lin->in[1], lin->nin == 3 ? lin->in[2] : NULL, perms, P, H, Dh, lin->loc) < 0)
        return 1;                   /* parts made so far are valid rewrites */
    pass_fused(c, P_, "linear %%%d sliced in %d -> qkv_linear, head-split [%d,..,H,S,Dh]", lin->id, P, P);
    return 1;
}

static Node *cat_of(PassCtx *c, Node **v, int n, SrcLoc loc) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = 0;
    return pass_emit(c, OP_CAT, v, n, &a, loc);
}

static void list_ids(char *buf, size_t cap, Node **v, int n) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%%%d", i ? " " : "", v[i]->id);
}

/* Linears grouped into one GEMM at most: a fusion choice (a cat of any
 * number of weights lowers to several plan steps, plan.h). */
#define MAXG 64

/* Cases 1 and 3: linears reading the same x. */
static int try_group(PassCtx *c, Node *first, bool *done, int ndone) {
    Node *grp[MAXG];
    int n = 0;
    for (int i = first->id; i < ndone && n < MAXG; i++) {      /* nodes of the pass's start */
        Node *l = c->g->nodes[i];
        if (l->op != OP_LINEAR || done[i] || !pass_is_live(c, l) || l->in[0] != first->in[0]) continue;
        bool same = l->dtype == l->in[0]->dtype;
        for (int j = 1; j < l->nin; j++) same = same && l->in[j]->dtype == l->dtype;
        if (!same || l->dtype != first->dtype) continue;
        grp[n++] = l;
    }
    if (n < 2) return 0;
    first = grp[0];
    for (int i = 0; i < n; i++) done[grp[i]->id] = true;
    char ids[512];
    list_ids(ids, sizeof ids, grp, n);
    for (int i = 0; i < n; i++) {
        if (grp[i]->nin != first->nin) {
            pass_missed(c, P_, "linears %s: some have a bias, some not", ids);
            return 0;
        }
        for (int j = 1; j < grp[i]->nin; j++)
            if (grp[i]->in[j]->op != OP_PARAM) {
                pass_missed(c, P_, "linears %s: %s of %%%d is not a parameter", ids, j == 1 ? "weight" : "bias", grp[i]->id);
                return 0;
            }
    }
    Node *W[MAXG], *B[MAXG], *perms[MAXG];
    for (int i = 0; i < n; i++) { W[i] = grp[i]->in[1]; B[i] = grp[i]->nin == 3 ? grp[i]->in[2] : NULL; }
    Node *x = first->in[0];
    SrcLoc loc = first->loc;

    /* Case 1: all head-split alike, same width. */
    Dim H = {0, 0}, Dh = {0, 0};
    bool split = true;
    for (int i = 0; i < n && split; i++) {
        Dim h, dh;
        perms[i] = split_chain(c, grp[i], &h, &dh);
        split = perms[i] && (i == 0 || (dim_eq(h, H) && dim_eq(dh, Dh)
                                        && dim_eq(W[i]->shape.d[0], W[0]->shape.d[0])));
        H = h; Dh = dh;
    }
    if (!split) {
        /* Case 3 leaves out a linear whose only user is an activation: the
         * epilogue pass folds that into the linear's own GEMM (SwiGLU's gate;
         * its product with the up projection folds into the same epilogue),
         * which saves a pass over the output and the slice copies, where a
         * wider GEMM saves only a second read of x. */
        int kept = 0;
        for (int i = 0; i < n; i++) {
            Node *u = pass_sole_user(c, grp[i]);
            if (u && (op_info[u->op].flags & OPF_ACTIVATION)) {
                pass_missed(c, P_, "linears %s: %%%d keeps its own GEMM, for its %s epilogue", ids, grp[i]->id,
                            op_info[u->op].name);
                continue;
            }
            grp[kept] = grp[i]; W[kept] = W[i]; B[kept] = B[i];
            kept++;
        }
        if (kept < 2) return 0;
        if (kept < n) {
            n = kept;
            first = grp[0];
            x = first->in[0];
            loc = first->loc;
            list_ids(ids, sizeof ids, grp, n);
        }
    }
    Node *wc = cat_of(c, W, n, loc);
    Node *bc = B[0] ? cat_of(c, B, n, loc) : NULL;
    if (!wc || (B[0] && !bc)) return 0;
    if (split) {
        if (emit_head_split(c, x, wc, bc, perms, n, H, Dh, loc) < 0) return 1;
        pass_fused(c, P_, "linears %s read %%%d -> qkv_linear on concatenated weights, head-split [%d,..,H,S,Dh]",
                   ids, x->id, n);
        return 1;
    }
    /* Case 3: one linear, then a slice per original output. */
    Node *ins[3] = { x, wc, bc };
    Attr la;
    memset(&la, 0, sizeof la);
    Node *big = pass_emit(c, OP_LINEAR, ins, bc ? 3 : 2, &la, loc);
    if (!big) return 0;
    int R = big->shape.rank;
    Dim off = dim_const(0);
    for (int i = 0; i < n; i++) {
        Dim w = W[i]->shape.d[0];
        if (w.sym != 0) return 1;   /* PARAM shapes are concrete: cannot happen */
        Attr sa;
        memset(&sa, 0, sizeof sa);
        sa.axis = R - 1; sa.start = off; sa.end = dim_const(off.k + w.k); sa.step = 1;
        Node *sl = pass_emit(c, OP_SLICE, &big, 1, &sa, loc);
        if (!sl) return 1;
        pass_replace(c, grp[i], sl);
        off.k += w.k;
    }
    pass_fused(c, P_, "linears %s read %%%d -> one linear on concatenated weights + %d slices", ids, x->id, n);
    return 1;
}

/* Linears under an SDPA's q/k/v (through layout ops), for the report. */
static Node *linear_under(Node *v) {
    while (op_info[v->op].flags & OPF_LAYOUT) v = v->in[0];
    return v->op == OP_LINEAR ? v : NULL;
}

int pass_qkv(Graph *g, PassCtx *c) {
    int n0 = g->nnodes;
    bool *done = arena_alloc(g->arena, (size_t)n0 + 1);
    if (!done) return diag_set(c->d, (SrcLoc){0}, "out of memory in passes");
    /* Report first, while the graph is as the previous pass left it. */
    for (int i = 0; i < n0; i++) {
        Node *s = g->nodes[i];
        if (s->op != OP_SDPA || !pass_is_live(c, s)) continue;
        Node *l[3] = { linear_under(s->in[0]), linear_under(s->in[1]), linear_under(s->in[2]) };
        for (int a = 0; a < 3; a++)
            for (int b = a + 1; b < 3; b++)
                if (l[a] && l[b] && l[a] != l[b] && l[a]->in[0] != l[b]->in[0]) {
                    pass_missed(c, P_, "sdpa %%%d: linears %%%d %%%d read different inputs", s->id, l[a]->id, l[b]->id);
                    a = b = 3;
                }
    }
    for (int i = 0; i < n0; i++) {
        Node *l = g->nodes[i];
        if (l->op != OP_LINEAR || done[i] || !pass_is_live(c, l)) continue;
        int rc = try_wide(c, l);
        if (rc == 0) rc = try_group(c, l, done, n0);
        if (rc < 0) return -1;
        if (rc > 0 && pass_refresh(c) < 0) return -1;
    }
    return 0;
}
