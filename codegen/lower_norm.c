/* lower_norm.c: row-wise kernels over the last axis, one row per tile:
 * layer_norm, rms_norm and add_norm (the `norm` family: x [+ r], optional
 * weight and bias, add_norm's stored sum) and softmax / log_softmax (the
 * `softmax` family).  Bufs [x, r, w, b, out, sum], unused ones the
 * output; dims [rows, cols]; f[0] = eps. */
#include "codegen/kernel_layout.h"
#include "codegen/lower_kernel.h"

int lower_norm(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    int R = n->shape.rank;
    if (R < 1) return lower_unsupported(be, n, d, "norm of a scalar");
    bool soft = n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX;
    if (soft && n->a.axis != R - 1) return lower_unsupported(be, n, d, "softmax over an axis other than the last");
    Dim rows;
    if (!lower_dims_prod(&n->shape, 0, R - 1, &rows)) return lower_unsupported(be, n, d, "rows are not one monomial");
    int kid = lower_add_kernel(p, n, ks->family, d);
    if (kid < 0) return -1;
    lower_kernel_consts(p, kid, 1, (int64_t[]){(int64_t)dtype_size(n->dtype)});   /* element size */
    s->kernel = kid;
    s->nbufs = 6;
    for (int i = 0; i < 6; i++) s->bufs[i] = out_buf;
    s->bufs[NB_X] = in_bufs[0];
    int next = 1;
    if (n->op == OP_ADD_NORM) s->bufs[NB_R] = in_bufs[next++];
    bool has_w = n->op == OP_RMS_NORM ? n->nin > 1 : (n->a.flags & NORM_W);
    bool has_b = n->op != OP_RMS_NORM && (n->a.flags & NORM_B);
    if (!soft && has_w) s->bufs[NB_W] = in_bufs[next++];
    if (!soft && has_b) s->bufs[NB_B] = in_bufs[next++];
    /* codegen/lower.c passes the ADD_NORM_SUM companion's buffer after the
     * inputs (in_bufs[nin], -1 when there is none) */
    if (n->op == OP_ADD_NORM && (n->a.flags & ADDNORM_HAS_SUM)) {
        if (in_bufs[n->nin] < 0) return lower_unsupported(be, n, d, "add_norm keeps its sum but has no sum buffer");
        s->bufs[NB_SUM] = in_bufs[n->nin];
    }
    lower_set_dim(s, rows);
    lower_set_dim(s, n->shape.d[R - 1]);
    s->f[0] = (float)n->a.eps;
    s->ntiles = poly_dim(rows);
    return 0;
}

