/* lower_eltwise.c: every element-wise op (binary with broadcasting,
 * scalar ops, unary activations, masked_fill) as one `eltwise` step.
 *
 * The output is seen as rows x cols (cols = last dim).  Leading dims are
 * merged while every input stays regular (stride[i] = stride[i+1] *
 * size[i+1]), so same-shape operands become one flat row index.  Each
 * input has, per leading dim, an element stride (0 where it broadcasts),
 * and a last-dim stride of 1 (contiguous, KsEltwise.vec) or 0 (a scalar
 * per row).  One row per tile; f[0], f[1] = the op's scalars.  Dims:
 * codegen/kernel_layout.h. */
#include <string.h>

#include "codegen/kernel_layout.h"
#include "codegen/lower_kernel.h"

#define is_one lower_is_one

/* The leading-dim layout: sizes and per-input strides (0 = broadcast). */
typedef struct EwLayout {
    int nlead;
    Dim size[LTC_MAX_RANK];
    Dim st[2][LTC_MAX_RANK];
    bool vec[2];            /* last-dim stride 1 (else 0: broadcast) */
} EwLayout;

static bool ew_layout(const Node *n, EwLayout *L) {
    const Shape *os = &n->shape;
    int R = os->rank;
    memset(L, 0, sizeof *L);
    if (R == 0) {            /* a scalar: one row of one column */
        L->vec[0] = L->vec[1] = true;
        return true;
    }
    L->nlead = R - 1;
    for (int i = 0; i < R - 1; i++) L->size[i] = os->d[i];
    for (int k = 0; k < n->nin && k < 2; k++) {
        const Shape *is = &n->in[k]->shape;
        Dim st[LTC_MAX_RANK];
        if (!shape_strides(n->graph, is, st)) return false;
        for (int i = 0; i < R; i++) {
            int j = i - (R - is->rank);
            bool bc = j < 0 || (is_one(is->d[j]) && !is_one(os->d[i]));
            Dim s = bc ? dim_const(0) : st[j];
            if (i == R - 1) L->vec[k] = !bc;
            else L->st[k][i] = s;
        }
    }
    /* merge leading dims from the right while every input stays regular */
    for (int i = L->nlead - 2; i >= 0; i--) {
        bool ok = true;
        for (int k = 0; k < n->nin && k < 2 && ok; k++) {
            Dim m;
            ok = (L->st[k][i].k == 0 && L->st[k][i + 1].k == 0) ||
                 (dim_mul_sq(n->graph, L->st[k][i + 1], L->size[i + 1], &m) && dim_eq(m, L->st[k][i]));
        }
        Dim ms;
        if (!ok || !dim_mul_sq(n->graph, L->size[i], L->size[i + 1], &ms)) continue;
        L->size[i] = ms;
        for (int k = 0; k < 2; k++) L->st[k][i] = L->st[k][i + 1];
        for (int j = i + 1; j + 1 < L->nlead; j++) {
            L->size[j] = L->size[j + 1];
            for (int k = 0; k < 2; k++) L->st[k][j] = L->st[k][j + 1];
        }
        L->nlead--;
    }
    return L->nlead <= EW_MAXLEAD;
}

bool ks_eltwise(const Node *n, KernelSpec *ks, const char **why) {
    EwLayout L;
    if (!ew_layout(n, &L)) { *why = "broadcast pattern with too many dims"; return false; }
    ks->ew.ninputs = n->nin > 2 ? 2 : n->nin;
    ks->ew.nlead = L.nlead;
    ks->ew.vec[0] = L.vec[0];
    ks->ew.vec[1] = L.vec[1];
    ks->ew.bool_mask = n->op == OP_MASKED_FILL && n->in[1]->dtype == DT_BOOL;
    return true;
}

int lower_eltwise(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
                  PlanStep *s, LtcDiag *d) {
    EwLayout L;
    if (!ew_layout(n, &L)) return lower_unsupported(be, n, d, "broadcast pattern with too many dims");
    Dim rows = dim_const(1);
    for (int i = 0; i < L.nlead; i++)
        if (!dim_mul_sq(n->graph, rows, L.size[i], &rows)) return lower_unsupported(be, n, d, "rows are not one monomial");
    int kid = lower_add_kernel(p, n, "eltwise", d);
    if (kid < 0) return -1;
    /* inputs read, last-dim contiguity of each, element size of input 1 */
    lower_kernel_consts(p, kid, 5, (int64_t[]){ks->ew.ninputs, L.vec[0], L.vec[1],
                                             ks->ew.bool_mask ? 1 : (int64_t)dtype_size(n->dtype),
                                             (int64_t)dtype_size(n->dtype)});
    s->kernel = kid;
    s->nbufs = 3;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = n->nin > 1 ? in_bufs[1] : out_buf;
    s->bufs[2] = out_buf;
    int R = n->shape.rank;
    lower_set_dim(s, R ? n->shape.d[R - 1] : dim_const(1));
    lower_set_dimk(s, L.nlead);
    for (int i = 0; i < L.nlead; i++) lower_set_dim(s, L.size[i]);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < L.nlead; i++) lower_set_dim(s, L.st[k][i]);
    s->f[0] = (float)n->a.f;
    s->f[1] = (float)n->a.f2;
    s->ntiles = poly_dim(rows);
    return 0;
}

