/* lower_misc.c: the data-movement and small families: reduce (sum, mean,
 * max, argmax over one axis), copy (reshape, permute, expand, slice, eval
 * dropout as strided copies), cat, misc (embedding, full/arange of a
 * symbolic shape, triu/tril, cast), and training dropout.  Bufs, dims and
 * tiles of each are written where the step is filled. */
#include <string.h>

#include "codegen/kernel_layout.h"
#include "codegen/lower_kernel.h"

#define is_one lower_is_one

static bool contig(const Shape *sh, Dim *st) {
    Dim acc = dim_const(1);
    for (int i = sh->rank - 1; i >= 0; i--) {
        st[i] = acc;
        if (acc.sym & sh->d[i].sym) return false;
        acc.k *= sh->d[i].k;
        acc.sym |= sh->d[i].sym;
    }
    return true;
}

/* ---- copy layout ------------------------------------------------------------------- */
typedef struct CopyLayout {
    int nlead;
    Dim size[LTC_MAX_RANK], st[LTC_MAX_RANK];   /* leading dims */
    Dim cols, last, base;                        /* last dim size and stride, base offset */
} CopyLayout;

static bool copy_layout(const Node *n, CopyLayout *L) {
    const Shape *os = &n->shape, *is = &n->in[0]->shape;
    int R = os->rank;
    Dim ist[LTC_MAX_RANK], st[LTC_MAX_RANK];
    memset(L, 0, sizeof *L);
    L->base = dim_const(0);
    if (!contig(is, ist)) return false;
    switch (n->op) {
    case OP_RESHAPE: case OP_DROPOUT:
        if (!contig(os, st)) return false;
        break;
    case OP_PERMUTE:
        for (int i = 0; i < R; i++) st[i] = ist[n->a.perm[i]];
        break;
    case OP_EXPAND:
        for (int i = 0; i < R; i++) {
            int j = i - (R - is->rank);
            st[i] = (j < 0 || (is_one(is->d[j]) && !is_one(os->d[i]))) ? dim_const(0) : ist[j];
        }
        break;
    case OP_SLICE: {
        int ax = n->a.axis;
        for (int i = 0; i < R; i++) st[i] = ist[i];
        if (n->a.step < 1 || !dim_mul(ist[ax], dim_const(n->a.step), &st[ax]) ||
            !dim_mul(n->a.start, ist[ax], &L->base))
            return false;
        break;
    }
    default:
        return false;
    }
    if (R == 0) { L->cols = dim_const(1); L->last = dim_const(1); return true; }
    L->cols = os->d[R - 1];
    L->last = st[R - 1];
    L->nlead = R - 1;
    for (int i = 0; i < R - 1; i++) { L->size[i] = os->d[i]; L->st[i] = st[i]; }
    for (int i = L->nlead - 2; i >= 0; i--) {
        Dim m, ms;
        bool ok = (L->st[i].k == 0 && L->st[i + 1].k == 0) ||
                  (dim_mul(L->st[i + 1], L->size[i + 1], &m) && dim_eq(m, L->st[i]));
        if (!ok || !dim_mul(L->size[i], L->size[i + 1], &ms)) continue;
        L->size[i] = ms;
        L->st[i] = L->st[i + 1];
        for (int j = i + 1; j + 1 < L->nlead; j++) { L->size[j] = L->size[j + 1]; L->st[j] = L->st[j + 1]; }
        L->nlead--;
    }
    return L->nlead <= CP_MAXLEAD;
}

static int reduce_split(const Node *n, Dim *outer, Dim *len, Dim *inner) {
    const Shape *s = &n->in[0]->shape;
    int ax = n->a.axis;
    if (ax < 0 || ax >= s->rank) return -1;
    *len = s->d[ax];
    if (!lower_dims_prod(s, 0, ax, outer) || !lower_dims_prod(s, ax + 1, s->rank, inner)) return -1;
    return 0;
}

int lower_cat_group(const Node *n) {
    int g = PLAN_MAX_ARGS - 1;
    if (2 + 2 * g > PLAN_MAX_DIMS) g = (PLAN_MAX_DIMS - 2) / 2;
    return n->nin < g ? n->nin : g;
}


/* Register the kernel of a one-kernel family and finish the step. */
static int finish(Plan *p, Node *n, const char *fam, int nkc, const int64_t *kc, Dim rows, PlanStep *s,
                  LtcDiag *d) {
    int kid = lower_add_kernel(p, n, fam, d);
    if (kid < 0) return -1;
    lower_kernel_consts(p, kid, nkc, kc);
    s->kernel = kid;
    s->ntiles = poly_dim(rows);
    return 0;
}

/* bufs [x, y], dims [outer, len, inner]; tiles = outer * inner outputs */
int lower_reduce(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    (void)ks;
    Dim rows, o, l, i;
    s->nbufs = 2;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = out_buf;
    if (reduce_split(n, &o, &l, &i) || !dim_mul(o, i, &rows))
        return lower_unsupported(be, n, d, "reduction sizes are not monomials");
    lower_set_dim(s, o); lower_set_dim(s, l); lower_set_dim(s, i);
    /* element sizes of the output (argmax: i64) and of the input */
    return finish(p, n, "reduce", 2, (int64_t[]){(int64_t)dtype_size(n->dtype), (int64_t)dtype_size(n->in[0]->dtype)},
                  rows, s, d);
}

/* bufs [x, y], dims [cols, nlead, size[nlead], stride[nlead], last stride,
 * base offset]; tiles = rows of the output */
bool ks_copy(const Node *n, KernelSpec *ks, const char **why) {
    CopyLayout L;
    if (!copy_layout(n, &L)) { *why = "copy pattern"; return false; }
    ks->copy.nlead = L.nlead;
    return true;
}

int lower_copy(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    (void)ks;
    Dim rows = dim_const(1);
    s->nbufs = 2;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = out_buf;
    CopyLayout L;
    if (!copy_layout(n, &L)) return lower_unsupported(be, n, d, "copy pattern");
    for (int i = 0; i < L.nlead; i++)
        if (!dim_mul(rows, L.size[i], &rows)) return lower_unsupported(be, n, d, "rows are not one monomial");
    lower_set_dim(s, L.cols);
    lower_set_dimk(s, L.nlead);
    for (int i = 0; i < L.nlead; i++) lower_set_dim(s, L.size[i]);
    for (int i = 0; i < L.nlead; i++) lower_set_dim(s, L.st[i]);
    lower_set_dim(s, L.last);
    lower_set_dim(s, L.base);
    return finish(p, n, "copy", 1, (int64_t[]){(int64_t)dtype_size(n->dtype)}, rows, s, d);
}

/* bufs [in[G].., out], dims [G, total, chunk[G], offset[G]] (a part's
 * unused slots have chunk 0); tiles = output rows */
int lower_cat(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    (void)ks;
    Dim rows;
    /* Inputs go CAT_GROUP to a step (buffer and dim slots, plan.h);
     * step `part` copies inputs [part*G, part*G + G) into their
     * chunks of every output row, padding slots have chunk 0. */
    int ax = n->a.axis, R = n->shape.rank, G = lower_cat_group(n);
    int first = s->part * G, nparts = (n->nin + G - 1) / G;
    if (s->part < 0 || s->part >= nparts) return lower_unsupported(be, n, d, "cat part out of range");
    Dim inner, total;
    if (!lower_dims_prod(&n->shape, 0, ax, &rows) || !lower_dims_prod(&n->shape, ax + 1, R, &inner) ||
        !dim_mul(n->shape.d[ax], inner, &total))
        return lower_unsupported(be, n, d, "cat sizes are not monomials");
    Poly off = {0};     /* offset of input `first` in an output row */
    for (int k = 0; k < first; k++) {
        Dim ch;
        if (!dim_mul(n->in[k]->shape.d[ax], inner, &ch)) return lower_unsupported(be, n, d, "cat sizes");
        if (ch.k && !poly_add(&off, ch))
            return diag_set(d, n->loc, "plan: cat: an offset has more than PLAN_MAX_TERMS (%d) terms",
                            PLAN_MAX_TERMS);
    }
    s->nparts = nparts;
    s->nbufs = G + 1;
    s->bufs[G] = out_buf;
    lower_set_dimk(s, G);
    lower_set_dim(s, total);
    for (int j = 0; j < G; j++) {
        Dim ch = dim_const(0);
        if (first + j < n->nin && !dim_mul(n->in[first + j]->shape.d[ax], inner, &ch))
            return lower_unsupported(be, n, d, "cat sizes");
        s->bufs[j] = first + j < n->nin ? in_bufs[first + j] : out_buf;   /* padding: never read */
        lower_set_dim(s, ch);
    }
    for (int j = 0; j < G; j++) {
        if (s->ndims >= PLAN_MAX_DIMS) break;          /* reported below */
        s->dims[s->ndims++] = off;
        Dim ch = dim_const(0);
        if (first + j < n->nin) dim_mul(n->in[first + j]->shape.d[ax], inner, &ch);
        if (ch.k && !poly_add(&off, ch))
            return diag_set(d, n->loc, "plan: cat: an offset has more than PLAN_MAX_TERMS (%d) terms",
                            PLAN_MAX_TERMS);
    }
    if (s->ndims != 2 + 2 * G) return diag_set(d, n->loc, "plan: cat: dims exceed PLAN_MAX_DIMS");
    if (s->part > 0) {          /* every part runs the kernel of part 0 */
        for (int k = p->nkernels - 1; k >= 0; k--)
            if (p->kernels[k].node == n) {
                s->kernel = k;
                s->ntiles = poly_dim(rows);
                return 0;
            }
        return diag_set(d, n->loc, "plan: cat part %d before part 0", s->part);
    }
    return finish(p, n, "cat", 1, (int64_t[]){(int64_t)dtype_size(n->dtype)}, rows, s, d);
}

int lower_misc(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
               PlanStep *s, LtcDiag *d) {
    (void)ks;
    const char *fam = NULL;
    int64_t kc[3] = {0};       /* contract constants (plan/kernel_footprint.c) */
    int nkc = 1;
    /* compiled buffers hold each dtype in its own width (bf16/f16: 2
     * bytes, lower.c sizes them so), not the interpreter's float storage */
    int64_t es = (int64_t)dtype_size(n->dtype);
    Dim rows = dim_const(1);
    s->nbufs = 2;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = out_buf;
    switch (n->op) {
    case OP_EMBEDDING: {
        const Shape *ts = &n->in[1]->shape;
        if (n->in[0]->dtype != DT_I64 || ts->rank != 2) return lower_unsupported(be, n, d, "embedding operands");
        if (!lower_dims_prod(&n->in[0]->shape, 0, n->in[0]->shape.rank, &rows))
            return lower_unsupported(be, n, d, "embedding ids are not one monomial");
        s->nbufs = 3;
        s->bufs[1] = in_bufs[1];
        s->bufs[2] = out_buf;
        lower_set_dim(s, ts->d[0]);
        lower_set_dim(s, ts->d[1]);
        fam = "misc";
        nkc = 3; kc[0] = 1; kc[1] = kc[2] = es;     /* table rows are copied at the output's size */
        break;
    }
    case OP_FULL: case OP_ARANGE: {
        /* sources with a symbolic shape (a constant one is folded at bind
         * time): rows of the last dim; buffer 0 is the output */
        int R = n->shape.rank;
        if (R && !lower_dims_prod(&n->shape, 0, R - 1, &rows)) return lower_unsupported(be, n, d, "source shape");
        s->nbufs = 1;
        s->bufs[0] = out_buf;
        lower_set_dim(s, R ? n->shape.d[R - 1] : dim_const(1));
        fam = "misc";
        nkc = 3; kc[0] = 2; kc[1] = es;
        break;
    }
    case OP_TRIU: case OP_TRIL: {
        int R = n->shape.rank;
        if (R < 2 || !lower_dims_prod(&n->shape, 0, R - 1, &rows)) return lower_unsupported(be, n, d, "triu/tril shape");
        lower_set_dim(s, n->shape.d[R - 2]);
        lower_set_dim(s, n->shape.d[R - 1]);
        fam = "misc";
        nkc = 3; kc[0] = 3; kc[1] = kc[2] = es;
        break;
    }
    case OP_CAST: {
        int R = n->shape.rank;
        Dim cols = R ? n->shape.d[R - 1] : dim_const(1);
        if (R && !lower_dims_prod(&n->shape, 0, R - 1, &rows)) return lower_unsupported(be, n, d, "cast shape");
        lower_set_dim(s, cols);
        fam = "misc";
        nkc = 3; kc[0] = 4; kc[1] = es; kc[2] = (int64_t)dtype_size(n->in[0]->dtype);
        break;
    }
    default:
        return lower_unsupported(be, n, d, NULL);
    }
    return finish(p, n, fam, nkc, kc, rows, s, d);
}

/* Training dropout, element i of the flat tensor kept when
 * philox_uniform_at(seed, call, i) >= p and scaled by 1/(1-p).  Bufs [x,
 * out], dims [numel, seed_lo, seed_hi] (the Philox key in dims, so the JIT
 * reuses the kernel for other seeds); tiles of DROP_TILE elements. */
int lower_dropout(Backend *be, Plan *p, Node *n, const KernelSpec *ks, const int *in_bufs, int out_buf,
                  PlanStep *s, LtcDiag *d) {
    (void)ks;
    Dim ne = shape_numel(&n->shape);
    if (ne.k < 0) return lower_unsupported(be, n, d, "dropout size is not a monomial");
    s->nbufs = 2;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = out_buf;
    lower_set_dim(s, ne);
    lower_set_seed_dims(s, n->a.seed);
    int kid = lower_add_kernel(p, n, "dropout", d);
    if (kid < 0) return -1;
    s->kernel = kid;
    lower_kernel_consts(p, kid, 1, (int64_t[]){(int64_t)dtype_size(n->dtype)});   /* element size */
    /* ceil(k*syms / T) is no monomial; ceil(k / T)*syms tiles of T
     * elements cover k*syms (the kernel clamps to numel). */
    Dim t = ne;
    t.k = (ne.k + DROP_TILE - 1) / DROP_TILE;
    s->ntiles = poly_dim(t);
    return 0;
}
