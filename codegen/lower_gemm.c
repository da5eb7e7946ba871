/* lower_gemm.c: linear, fused_linear, qkv_linear and matmul as one GEMM
 * step (the `gemm` family), and the bind-time packing of a linear's
 * weight (`gemm_pack`).
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual   (or * residual: res_mul)
 *
 * with B = W^T for linear (W [N,K], constant dims) and B as given for
 * matmul (batch dims merged to two, broadcast as stride 0).  A linear's
 * weight made once at bind time (PlanStep.bind_const) is packed once, by a
 * gemm_pack prepack step, into panels of the backend's width (tune.nr).
 * Tiles are blocks of tune.nb columns (matmul: times the batch); with
 * tune.mt (the GPU targets) each also a block of mt rows (row_slots).  Dims:
 * codegen/kernel_layout.h. */
#include <stdio.h>
#include <string.h>

#include "codegen/kernel_layout.h"
#include "codegen/lower_kernel.h"
#include "plan/kernel_contract.h"

bool ks_gemm(const Node *n, KernelSpec *ks, const char **why) {
    switch (n->op) {
    case OP_LINEAR: case OP_FUSED_LINEAR:
        ks->gemm.kind = 0;
        if (n->op == OP_FUSED_LINEAR && n->nin != 2 + ks->bias + ks->residual) {
            *why = "fused_linear inputs do not match its flags";
            return false;
        }
        break;
    case OP_QKV_LINEAR: {
        ks->gemm.kind = 0;
        ks->gemm.qkv = true;
        Dim dh = n->shape.d[n->shape.rank - 1];
        if (dh.sym) { *why = "qkv_linear with a symbolic head dim"; return false; }
        ks->gemm.head_dim = dh.k;
        break;
    }
    case OP_MATMUL:
        ks->gemm.kind = 1;
        if (n->in[0]->shape.rank < 2 || n->in[1]->shape.rank < 2) {
            *why = "matmul of a rank-1 operand";
            return false;
        }
        break;
    default:
        *why = "this GEMM variant";
        return false;
    }
    const Node *w = n->in[1];
    if (ks->gemm.kind == 0) {
        if (w->shape.rank != 2 || w->shape.d[0].sym || w->shape.d[1].sym) {
            *why = "linear weight with a symbolic or non-2D shape";
            return false;
        }
        ks->gemm.N = w->shape.d[0].k;
        ks->gemm.K = w->shape.d[1].k;
    } else {
        Dim N = w->shape.d[w->shape.rank - 1];
        ks->gemm.N = N.sym ? 0 : N.k;
    }
    return true;
}

/* ---- lowering --------------------------------------------------------------------- */
/* Row slots of a row-blocked tile (tune.mt > 0, the GPU targets): the
 * number of row blocks ceil(M / mt) when it is a monomial (M constant, or
 * k * syms with mt | k), else a constant near tune.mgroups / (other
 * tiles), each slot walking the row blocks slot, slot + nslots, ... (the
 * kernel reads nslots as ntiles / other tiles; !exact: that constant
 * always, for M symbolic).  false: no row block. */
static bool row_slots(const KernelTune *t, Dim M, int64_t other, bool exact, Dim *out) {
    if (t->mt < 1) return false;
    if (M.sym == 0) {
        *out = dim_const(M.k / t->mt + (M.k % t->mt != 0));
        return true;
    }
    if (exact && M.k % t->mt == 0) {
        *out = (Dim){M.k / t->mt, M.sym};
        return true;
    }
    int64_t g = t->mgroups > 0 ? t->mgroups : 1, o = other > 0 ? other : 1;
    int64_t r = g / o + (g % o != 0);
    *out = dim_const(r < 1 ? 1 : r > KF_GEMM_MAX_SLOTS ? KF_GEMM_MAX_SLOTS : r);
    return true;
}

static int lower_linear(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs,
                        int out_buf, PlanStep *s, LtcDiag *d) {
    Node *x = n->in[0], *w = n->in[1];
    int r = x->shape.rank;
    Dim M;
    if (r < 1 || !lower_dims_prod(&x->shape, 0, r - 1, &M))
        return lower_unsupported(be, n, d, "linear input whose rows are not one monomial");
    int64_t N = w->shape.d[0].k, K = w->shape.d[1].k;
    /* qkv_linear: y [P, L.., H, S, Dh] */
    Dim S = {0, 0}, H = {0, 0}, Dh = {0, 0}, E = {0, 0}, L = dim_const(1), ls = {0, 0}, hs = {0, 0}, ps = {0, 0};
    if (ks->gemm.qkv) {
        const Shape *o = &n->shape;
        int R = o->rank;
        S = o->d[R - 2]; H = o->d[R - 3]; Dh = o->d[R - 1];
        if (!lower_dims_prod(o, 1, R - 3, &L) || !dim_mul(H, Dh, &E) || !dim_mul(S, Dh, &hs) ||
            !dim_mul(H, hs, &ls) || !dim_mul(L, ls, &ps))
            return lower_unsupported(be, n, d, "qkv_linear strides are not monomials");
    }
    int kid = lower_add_kernel(p, n, "gemm", d);
    if (kid < 0) return -1;
    int64_t rows = ks->tune.mt > 0 ? KF_GEMM_ROWS : 0;   /* (row block, column block) tiles */
    /* variant, nr, packed, element size of A, W, bias, res, C */
    lower_kernel_consts(p, kid, 4, (int64_t[]){(ks->gemm.qkv ? 1 : 0) | rows, ks->tune.nr, ks->gemm.packed,
                                             (int64_t)dtype_size(n->dtype)});
    s->kernel = kid;
    int bi = 2;
    s->nbufs = 5;
    s->bufs[GB_A] = in_bufs[0];
    s->bufs[GB_B] = in_bufs[1];
    s->bufs[GB_BIAS] = ks->bias ? in_bufs[bi++] : out_buf;
    s->bufs[GB_RES] = ks->residual ? in_bufs[bi++] : out_buf;
    s->bufs[GB_C] = out_buf;
    lower_set_dim(s, M);
    lower_set_dimk(s, N);
    lower_set_dimk(s, K);
    lower_set_dimk(s, K);      /* lda */
    lower_set_dimk(s, N);      /* ldc */
    lower_set_dimk(s, N);      /* ldr */
    if (ks->gemm.qkv) {
        lower_set_dim(s, S); lower_set_dim(s, Dh); lower_set_dim(s, E);
        lower_set_dim(s, ps); lower_set_dim(s, ls); lower_set_dim(s, hs);
    }
    int64_t ncb = (N + ks->tune.nb - 1) / ks->tune.nb;
    s->ntiles = poly_const(ncb);
    if (rows) {
        Dim rs, nt;
        if (!row_slots(&ks->tune, M, ncb, true, &rs) || !dim_mul(rs, dim_const(ncb), &nt))
            return lower_unsupported(be, n, d, "linear whose tile count overflows");
        s->ntiles = poly_dim(nt);
    }
    if (ks->gemm.packed) {
        int64_t np = (N + ks->tune.nr - 1) / ks->tune.nr;
        const char *what = arena_printf(p->graph->arena, "%%%d packed %s", w->id,
                                        w->name ? w->name : "weight");
        int64_t pbytes;
        if (__builtin_mul_overflow(np, K, &pbytes) || __builtin_mul_overflow(pbytes, (int64_t)ks->tune.nr * 4, &pbytes))
            return lower_unsupported(be, n, d, "packed weight size overflows");
        int pb = lower_add_packed(p, pbytes, what, d);   /* f32 panels whatever W's dtype */
        if (pb < 0) return -1;
        PlanStep ps;
        memset(&ps, 0, sizeof ps);
        int pk = lower_add_kernel(p, n, "gemm_pack", d);
        if (pk < 0) return -1;
        lower_kernel_consts(p, pk, 2, (int64_t[]){ks->tune.nr, (int64_t)dtype_size(w->dtype)});
        ps.kernel = pk;
        ps.nbufs = 2;
        ps.bufs[0] = in_bufs[1];
        ps.bufs[1] = pb;
        lower_set_dimk(&ps, N);
        lower_set_dimk(&ps, K);
        ps.ntiles = poly_const(np);
        if (lower_add_prepack(p, &ps, d) < 0) return -1;
        s->bufs[GB_B] = pb;
    }
    return 0;
}

static int lower_matmul(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs,
                        int out_buf, PlanStep *s, LtcDiag *d) {
    const Shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape, *os = &n->shape;
    Dim ast[LTC_MAX_RANK], bst[LTC_MAX_RANK];
    if (!shape_strides(n->graph, as, ast) || !shape_strides(n->graph, bs, bst))
        return lower_unsupported(be, n, d, "matmul with repeated symbols in a shape");
    /* batch dims of the output, each with A's and B's stride (0: broadcast) */
    int nb = os->rank - 2;
    Dim size[LTC_MAX_RANK], sa[LTC_MAX_RANK], sb[LTC_MAX_RANK];
    for (int i = 0; i < nb; i++) {
        int ia = i - (os->rank - as->rank), ib = i - (os->rank - bs->rank);
        size[i] = os->d[i];
        bool a_b = ia < 0 || (as->d[ia].k == 1 && as->d[ia].sym == 0 && !(size[i].k == 1 && size[i].sym == 0));
        bool b_b = ib < 0 || (bs->d[ib].k == 1 && bs->d[ib].sym == 0 && !(size[i].k == 1 && size[i].sym == 0));
        sa[i] = a_b ? dim_const(0) : ast[ia];
        sb[i] = b_b ? dim_const(0) : bst[ib];
    }
    /* merge batch dims from the right while both operands stay regular:
     * stride[i] == stride[i+1] * size[i+1] (or both 0) */
    while (nb > 2) {
        bool merged = false;
        for (int i = nb - 2; i >= 0 && !merged; i--) {
            Dim ma, mb;
            bool oka = (sa[i].k == 0 && sa[i + 1].k == 0) ||
                       (dim_mul(sa[i + 1], size[i + 1], &ma) && dim_eq(ma, sa[i]));
            bool okb = (sb[i].k == 0 && sb[i + 1].k == 0) ||
                       (dim_mul(sb[i + 1], size[i + 1], &mb) && dim_eq(mb, sb[i]));
            Dim ms;
            if (oka && okb && dim_mul(size[i], size[i + 1], &ms)) {
                size[i] = ms; sa[i] = sa[i + 1]; sb[i] = sb[i + 1];
                for (int j = i + 1; j + 1 < nb; j++) { size[j] = size[j + 1]; sa[j] = sa[j + 1]; sb[j] = sb[j + 1]; }
                nb--;
                merged = true;
            }
        }
        if (!merged) return lower_unsupported(be, n, d, "matmul with more than 2 irregular batch dims");
    }
    /* pad to exactly 2 batch dims: [1, 1, ...] */
    while (nb < 2) {
        for (int j = nb; j > 0; j--) { size[j] = size[j - 1]; sa[j] = sa[j - 1]; sb[j] = sb[j - 1]; }
        size[0] = dim_const(1); sa[0] = dim_const(0); sb[0] = dim_const(0);
        nb++;
    }
    Dim M = os->d[os->rank - 2], N = os->d[os->rank - 1], K = as->d[as->rank - 1];
    Dim batch;
    if (!dim_mul(size[0], size[1], &batch))
        return lower_unsupported(be, n, d, "matmul batch is not one monomial");
    int kid = lower_add_kernel(p, n, "gemm", d);
    if (kid < 0) return -1;
    int64_t rows = ks->tune.mt > 0 ? KF_GEMM_ROWS : 0;
    lower_kernel_consts(p, kid, 4, (int64_t[]){2 | rows, ks->tune.nr, 0, (int64_t)dtype_size(n->dtype)});   /* matmul, nr, not packed, element size */
    s->kernel = kid;
    s->nbufs = 5;
    s->bufs[GB_A] = in_bufs[0];
    s->bufs[GB_B] = in_bufs[1];
    s->bufs[GB_BIAS] = s->bufs[GB_RES] = s->bufs[GB_C] = out_buf;
    lower_set_dim(s, M);
    lower_set_dim(s, N);
    lower_set_dim(s, K);
    lower_set_dim(s, K);   /* lda */
    lower_set_dim(s, N);   /* ldb */
    lower_set_dim(s, N);   /* ldc */
    lower_set_dim(s, size[0]);
    lower_set_dim(s, size[1]);
    lower_set_dim(s, sa[0]);
    lower_set_dim(s, sa[1]);
    lower_set_dim(s, sb[0]);
    lower_set_dim(s, sb[1]);
    int64_t ncb = N.sym == 0 ? (N.k + ks->tune.nb - 1) / ks->tune.nb : 0;
    lower_set_dimk(s, ncb);
    Dim nt;
    if (ncb > 0 && dim_mul(batch, dim_const(ncb), &nt)) s->ntiles = poly_dim(nt);
    else s->ntiles = poly_dim(batch);
    if (rows) {   /* tile = (batch entry * row slots + row slot) * column tiles + column block */
        Dim rs, bc;
        if (!dim_mul(batch, dim_const(ncb > 0 ? ncb : 1), &bc) || !row_slots(&ks->tune, M, bc.k, true, &rs) ||
            (!dim_mul(bc, rs, &nt) && (!row_slots(&ks->tune, M, bc.k, false, &rs) || !dim_mul(bc, rs, &nt))))
            return lower_unsupported(be, n, d, "matmul whose tile count is not one monomial");
        s->ntiles = poly_dim(nt);
    }
    return 0;
}

int lower_gemm(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    if (ks->tune.nr < 1 || ks->tune.nb < ks->tune.nr || ks->tune.nb % ks->tune.nr)
        return diag_set(d, n->loc, "%s backend: no GEMM blocking for %s (tune gave nr %d, nb %d)", be->name,
                        op_info[n->op].name, ks->tune.nr, ks->tune.nb);
    return ks->gemm.kind == 0 ? lower_linear(be, p, n, ks, in_bufs, out_buf, s, d)
                              : lower_matmul(be, p, n, ks, in_bufs, out_buf, s, d);
}
