/* fused.c: the shape rules and reference kernels of the fused ops the
 * passes emit (ops.def: FUSED_LINEAR by epilogue, ADD_NORM and
 * ADD_NORM_SUM by addnorm, QKV_LINEAR by qkv), beside the other ops'.
 * Each is exactly the unfused ops it replaces, with the same rounding
 * points, so a fusion never changes a value the interpreter computes. */
#include "ir/ir_internal.h"

/* ---- fused_linear: y = act(x.W^T + b) + r, or * r ------------------------------- */
int shape_fused_linear(Node *n, LtcDiag *d) {
    Node *x = n->in[0], *w = n->in[1];
    int want = 2 + !!(n->a.flags & LINEAR_BIAS) + !!(n->a.flags & LINEAR_RES);
    if (n->nin != want)
        return diag_set(d, n->loc, "fused_linear: %d inputs but flags say %d", n->nin, want);
    if (x->shape.rank < 1 || w->shape.rank != 2 || !dim_eq(x->shape.d[x->shape.rank - 1], w->shape.d[1]))
        return diag_set(d, n->loc, "fused_linear: x and W do not match");
    n->dtype = x->dtype;
    n->shape = x->shape;
    n->shape.d[n->shape.rank - 1] = w->shape.d[0];
    int i = 2;
    if (n->a.flags & LINEAR_BIAS) {
        const Shape *b = &n->in[i++]->shape;
        if (b->rank != 1 || !dim_eq(b->d[0], w->shape.d[0]))
            return diag_set(d, n->loc, "fused_linear: bias is not [out_features]");
    }
    if ((n->a.flags & LINEAR_RES) && !shape_eq(&n->in[i]->shape, &n->shape))
        return diag_set(d, n->loc, "fused_linear: residual shape differs from the output");
    if ((n->a.flags & LINEAR_RES_MUL) && !(n->a.flags & LINEAR_RES))
        return diag_set(d, n->loc, "fused_linear: a residual multiply without a residual");
    if (n->a.act && !(n->a.act > 0 && n->a.act < OP_COUNT && (op_info[n->a.act].flags & OPF_ACTIVATION)))
        return diag_set(d, n->loc, "fused_linear: act %d is not an activation", n->a.act);
    return 0;
}

int interp_fused_linear(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int r = n->in[0]->shape.rank;
    int64_t K = k->ish[0][r - 1], N = k->ish[1][0];
    int64_t M = K > 0 ? (int64_t)(numel_of(k->ish[0], r) / (size_t)K) : (int64_t)(k->numel / (size_t)(N ? N : 1));
    float *y = k->out;
    int i = 2;
    const float *b = (n->a.flags & LINEAR_BIAS) ? k->in[i++] : NULL;
    const float *res = (n->a.flags & LINEAR_RES) ? k->in[i] : NULL;
    const bool mul = (n->a.flags & LINEAR_RES_MUL) != 0;
    ref_linear(k->in[0], k->in[1], b, y, M, K, N);
    /* Same rounding points as the unfused ops: after the GEMM(+bias), after
     * the activation; the caller rounds the final sum. */
    Attr none;
    memset(&none, 0, sizeof none);
    for (size_t e = 0; e < k->numel; e++) {
        float v = round_to_dtype(n->dtype, y[e]);
        if (n->a.act) v = round_to_dtype(n->dtype, (float)ref_unary((Op)n->a.act, &none, v));
        if (res) v = mul ? v * res[e] : v + res[e];
        y[e] = v;
    }
    (void)d;
    return 0;
}

/* ---- add_norm: norm(x + r), and the stored sum ------------------------------------ */
int shape_add_norm(Node *n, LtcDiag *d) {
    Node *x = n->in[0], *r = n->in[1];
    if (!shape_eq(&x->shape, &r->shape) || x->shape.rank < 1)
        return diag_set(d, n->loc, "add_norm: x and r must have the same shape");
    if (n->a.i != OP_LAYER_NORM && n->a.i != OP_RMS_NORM)
        return diag_set(d, n->loc, "add_norm: attr i is not a norm op");
    int want = 2 + !!(n->a.flags & NORM_W) + !!(n->a.flags & NORM_B);
    if (n->nin != want || (n->a.i == OP_RMS_NORM && (n->a.flags & NORM_B)))
        return diag_set(d, n->loc, "add_norm: %d inputs do not match flags %d", n->nin, n->a.flags);
    Dim last = x->shape.d[x->shape.rank - 1];
    for (int i = 2; i < n->nin; i++)
        if (n->in[i]->shape.rank != 1 || !dim_eq(n->in[i]->shape.d[0], last))
            return diag_set(d, n->loc, "add_norm: weight/bias is not [last dim]");
    n->dtype = x->dtype;
    n->shape = x->shape;
    return 0;
}

int interp_add_norm(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    const float *x = k->in[0], *r = k->in[1];
    const float *w = (n->a.flags & NORM_W) ? k->in[2] : NULL;
    const float *b = (n->a.flags & NORM_B) ? k->in[w ? 3 : 2] : NULL;
    int64_t cols = k->shape[n->shape.rank - 1];
    if (cols <= 0) return 0;
    size_t rows = k->numel / (size_t)cols;
    float *s = arena_alloc(k->scratch, (size_t)cols * sizeof(float));
    if (!s) return diag_set(d, n->loc, "out of memory");
    for (size_t i = 0; i < rows; i++) {
        /* the sum, rounded as the unfused ADD stores it */
        for (int64_t j = 0; j < cols; j++)
            s[j] = round_to_dtype(n->dtype, x[i * cols + j] + r[i * cols + j]);
        float *y = (float *)k->out + i * cols;
        if (n->a.i == OP_LAYER_NORM) ref_layer_norm_row(s, w, b, y, cols, n->a.eps);
        else ref_rms_norm_row(s, w, y, cols, n->a.eps);
    }
    return 0;
}

int shape_add_norm_sum(Node *n, LtcDiag *d) {
    if (n->in[0]->op != OP_ADD_NORM || !shape_eq(&n->in[1]->shape, &n->in[2]->shape))
        return diag_set(d, n->loc, "add_norm_sum: must read an add_norm and its two addends");
    n->dtype = n->in[1]->dtype;
    n->shape = n->in[1]->shape;
    return 0;
}

int interp_add_norm_sum(const KCtx *k, LtcDiag *d) {
    const float *x = k->in[1], *r = k->in[2];
    float *y = k->out;
    for (size_t e = 0; e < k->numel; e++) y[e] = x[e] + r[e];
    (void)d;
    return 0;
}

/* ---- qkv_linear: projections written in the head-split layout -------------------- */
/* x [L.., S, K] rank R >= 2, W [P*E, K]; a.shape = [P, L.., H, S, Dh], E = H*Dh. */
int shape_qkv_linear(Node *n, LtcDiag *d) {
    const Shape *x = &n->in[0]->shape, *w = &n->in[1]->shape, *o = &n->a.shape;
    int R = x->rank;
    bool ok = R >= 2 && o->rank == R + 2 && w->rank == 2 && o->d[0].sym == 0 && o->d[0].k > 0
              && dim_eq(w->d[1], x->d[R - 1]) && dim_eq(o->d[R], x->d[R - 2]);
    for (int i = 0; ok && i < R - 2; i++) ok = dim_eq(o->d[i + 1], x->d[i]);
    Dim e, pe;
    ok = ok && dim_mul(o->d[R - 1], o->d[R + 1], &e) && dim_mul(e, o->d[0], &pe) && dim_eq(pe, w->d[0]);
    if (ok && n->nin == 3) ok = n->in[2]->shape.rank == 1 && dim_eq(n->in[2]->shape.d[0], w->d[0]);
    if (!ok) return diag_set(d, n->loc, "qkv_linear: x, W, b and the head-split shape do not match");
    n->dtype = n->in[0]->dtype;
    n->shape = *o;
    return 0;
}

int interp_qkv_linear(const KCtx *k, LtcDiag *d) {
    const Node *n = k->n;
    int R = n->in[0]->shape.rank;
    int64_t K = k->ish[0][R - 1], S = k->ish[0][R - 2], NP = k->ish[1][0];
    int64_t P = k->shape[0], H = k->shape[R - 1], Dh = k->shape[R + 1], E = H * Dh;
    int64_t L = 1;
    for (int i = 0; i < R - 2; i++) L *= k->ish[0][i];
    int64_t M = L * S;
    float *lin = arena_alloc_big(k->scratch, (size_t)(M * NP > 0 ? M * NP : 1) * sizeof(float));
    if (!lin) return diag_set(d, n->loc, "out of memory");
    ref_linear(k->in[0], k->in[1], n->nin == 3 ? k->in[2] : NULL, lin, M, K, NP);
    /* y[p, l, h, s, dd] = lin[l*S + s, p*E + h*Dh + dd] */
    float *y = k->out;
    for (int64_t l = 0; l < L; l++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t p = 0; p < P; p++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t dd = 0; dd < Dh; dd++)
                        y[((((p * L + l) * H + h) * S + s) * Dh) + dd] = lin[(l * S + s) * NP + p * E + h * Dh + dd];
    return 0;
}
