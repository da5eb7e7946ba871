/* k_misc.c: the kernels that are mostly data movement, in plain scalar
 * loops (LLVM vectorises the contiguous cases):
 *
 *   reduce  sum/mean/max/argmax over one axis: tile = one output element of
 *           [outer, inner]; fp64 accumulation, NaN propagates (as the
 *           interpreter); argmax takes the first maximum.
 *   copy    reshape / permute / expand / slice / eval-mode dropout: the
 *           output is walked contiguously, the input through per-dim
 *           strides and a base offset; tile = output row.
 *   cat     tile = row of the dims before the axis; each input's row is one
 *           contiguous chunk of the output row.
 *   misc    embedding (tile = id; an id out of range gives a zero row, a
 *           kernel cannot report errors), triu/tril (tile = row), cast.
 * Data is moved as integers of the element's size, so every dtype works. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

static bool is_one(Dim d) { return d.k == 1 && d.sym == 0; }

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

static LLVMTypeRef elt_type(Cg *c, DType t) {
    return LLVMIntTypeInContext(c->ctx, (unsigned)(8 * dtype_storage_size(t)));
}

/* ---- copy layout ------------------------------------------------------------------- */
#define CP_MAXLEAD 6
typedef struct CopyLayout {
    int nlead;
    Dim size[LTC_MAX_RANK], st[LTC_MAX_RANK];   /* leading dims */
    Dim cols, last, base;                        /* last dim size and stride, base offset */
} CopyLayout;

static bool copy_layout(Node *n, CopyLayout *L) {
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

/* ---- lowering ------------------------------------------------------------------------ */
static int reduce_split(Node *n, Dim *outer, Dim *len, Dim *inner) {
    const Shape *s = &n->in[0]->shape;
    int ax = n->a.axis;
    if (ax < 0 || ax >= s->rank) return -1;
    *len = s->d[ax];
    if (!cpu_dims_prod(s, 0, ax, outer) || !cpu_dims_prod(s, ax + 1, s->rank, inner)) return -1;
    return 0;
}

/* Inputs a cat step takes: bufs [in.., out] and dims [n, total, chunk[n],
 * offset[n]] must fit PLAN_MAX_ARGS and PLAN_MAX_DIMS. */
int cpu_cat_group(const Node *n) {
    int g = PLAN_MAX_ARGS - 1;
    if (2 + 2 * g > PLAN_MAX_DIMS) g = (PLAN_MAX_DIMS - 2) / 2;
    return n->nin < g ? n->nin : g;
}

int cpu_lower_misc(CpuBackend *be, Plan *p, Node *n, const int *in_bufs, int out_buf,
                   PlanStep *s, LtcDiag *d) {
    (void)be;
    const char *fam = NULL;
    int64_t kc[3] = {0};       /* contract constants (runtime/kernel_footprint.c) */
    int nkc = 1;
    int64_t es = (int64_t)dtype_storage_size(n->dtype);
    Dim rows = dim_const(1);
    s->nbufs = 2;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = out_buf;
    switch (n->op) {
    case OP_SUM_DIM: case OP_MEAN_DIM: case OP_MAX_DIM: case OP_ARGMAX: {
        Dim o, l, i;
        if (n->in[0]->dtype != DT_F32) return cpu_unsupported(n, d, "reduction of a non-f32 tensor");
        if (reduce_split(n, &o, &l, &i) || !dim_mul(o, i, &rows))
            return cpu_unsupported(n, d, "reduction sizes are not monomials");
        cpu_set_dim(s, o); cpu_set_dim(s, l); cpu_set_dim(s, i);
        fam = "reduce";
        kc[0] = n->op == OP_ARGMAX ? 8 : 4;    /* argmax writes i64, the rest f32 */
        break;
    }
    case OP_DROPOUT:
        if (n->a.training && n->a.p > 0) return cpu_unsupported(n, d, "dropout in training");
        __attribute__((fallthrough));   /* eval mode: identity */
    case OP_RESHAPE: case OP_PERMUTE: case OP_EXPAND: case OP_SLICE: {
        CopyLayout L;
        if (!copy_layout(n, &L)) return cpu_unsupported(n, d, "copy pattern");
        for (int i = 0; i < L.nlead; i++)
            if (!dim_mul(rows, L.size[i], &rows)) return cpu_unsupported(n, d, "rows are not one monomial");
        cpu_set_dim(s, L.cols);
        cpu_set_dimk(s, L.nlead);
        for (int i = 0; i < L.nlead; i++) cpu_set_dim(s, L.size[i]);
        for (int i = 0; i < L.nlead; i++) cpu_set_dim(s, L.st[i]);
        cpu_set_dim(s, L.last);
        cpu_set_dim(s, L.base);
        fam = "copy";
        kc[0] = es;
        break;
    }
    case OP_CAT: {
        /* Inputs go CAT_GROUP to a step (buffer and dim slots, plan.h);
         * step `part` copies inputs [part*G, part*G + G) into their
         * chunks of every output row, padding slots have chunk 0. */
        int ax = n->a.axis, R = n->shape.rank, G = cpu_cat_group(n);
        int first = s->part * G, nparts = (n->nin + G - 1) / G;
        if (s->part < 0 || s->part >= nparts) return cpu_unsupported(n, d, "cat part out of range");
        Dim inner, total;
        if (!cpu_dims_prod(&n->shape, 0, ax, &rows) || !cpu_dims_prod(&n->shape, ax + 1, R, &inner) ||
            !dim_mul(n->shape.d[ax], inner, &total))
            return cpu_unsupported(n, d, "cat sizes are not monomials");
        Poly off = {0};     /* offset of input `first` in an output row */
        for (int k = 0; k < first; k++) {
            Dim ch;
            if (!dim_mul(n->in[k]->shape.d[ax], inner, &ch)) return cpu_unsupported(n, d, "cat sizes");
            if (ch.k && !cpu_poly_add(&off, ch))
                return diag_set(d, n->loc, "cpu backend: cat: an offset has more than PLAN_MAX_TERMS (%d) terms",
                                PLAN_MAX_TERMS);
        }
        s->nparts = nparts;
        s->nbufs = G + 1;
        s->bufs[G] = out_buf;
        cpu_set_dimk(s, G);
        cpu_set_dim(s, total);
        for (int j = 0; j < G; j++) {
            Dim ch = dim_const(0);
            if (first + j < n->nin && !dim_mul(n->in[first + j]->shape.d[ax], inner, &ch))
                return cpu_unsupported(n, d, "cat sizes");
            s->bufs[j] = first + j < n->nin ? in_bufs[first + j] : out_buf;   /* padding: never read */
            cpu_set_dim(s, ch);
        }
        for (int j = 0; j < G; j++) {
            if (s->ndims >= PLAN_MAX_DIMS) break;          /* reported below */
            s->dims[s->ndims++] = off;
            Dim ch = dim_const(0);
            if (first + j < n->nin) dim_mul(n->in[first + j]->shape.d[ax], inner, &ch);
            if (ch.k && !cpu_poly_add(&off, ch))
                return diag_set(d, n->loc, "cpu backend: cat: an offset has more than PLAN_MAX_TERMS (%d) terms",
                                PLAN_MAX_TERMS);
        }
        if (s->ndims != 2 + 2 * G) return diag_set(d, n->loc, "cpu backend: cat: dims exceed PLAN_MAX_DIMS");
        if (s->part > 0) {          /* every part runs the kernel of part 0 */
            for (int k = p->nkernels - 1; k >= 0; k--)
                if (p->kernels[k].node == n) {
                    s->kernel = k;
                    s->ntiles = cpu_poly(rows);
                    return 0;
                }
            return diag_set(d, n->loc, "cpu backend: cat part %d before part 0", s->part);
        }
        fam = "cat";
        kc[0] = es;
        break;
    }
    case OP_EMBEDDING: {
        const Shape *ts = &n->in[1]->shape;
        if (n->in[0]->dtype != DT_I64 || ts->rank != 2) return cpu_unsupported(n, d, "embedding operands");
        if (!cpu_dims_prod(&n->in[0]->shape, 0, n->in[0]->shape.rank, &rows))
            return cpu_unsupported(n, d, "embedding ids are not one monomial");
        s->nbufs = 3;
        s->bufs[1] = in_bufs[1];
        s->bufs[2] = out_buf;
        cpu_set_dim(s, ts->d[0]);
        cpu_set_dim(s, ts->d[1]);
        fam = "misc";
        nkc = 3; kc[0] = 1; kc[1] = kc[2] = es;     /* table rows are copied at the output's size */
        break;
    }
    case OP_FULL: case OP_ARANGE: {
        /* sources with a symbolic shape (a constant one is folded at bind
         * time): rows of the last dim; buffer 0 is the output */
        int R = n->shape.rank;
        if (!(n->dtype == DT_F32 || n->dtype == DT_I64 || n->dtype == DT_BOOL))
            return cpu_unsupported(n, d, "source of this dtype");
        if (R && !cpu_dims_prod(&n->shape, 0, R - 1, &rows)) return cpu_unsupported(n, d, "source shape");
        s->nbufs = 1;
        s->bufs[0] = out_buf;
        cpu_set_dim(s, R ? n->shape.d[R - 1] : dim_const(1));
        fam = "misc";
        nkc = 3; kc[0] = 2; kc[1] = es;
        break;
    }
    case OP_TRIU: case OP_TRIL: {
        int R = n->shape.rank;
        if (R < 2 || !cpu_dims_prod(&n->shape, 0, R - 1, &rows)) return cpu_unsupported(n, d, "triu/tril shape");
        cpu_set_dim(s, n->shape.d[R - 2]);
        cpu_set_dim(s, n->shape.d[R - 1]);
        fam = "misc";
        nkc = 3; kc[0] = 3; kc[1] = kc[2] = es;
        break;
    }
    case OP_CAST: {
        int R = n->shape.rank;
        Dim cols = R ? n->shape.d[R - 1] : dim_const(1);
        if (R && !cpu_dims_prod(&n->shape, 0, R - 1, &rows)) return cpu_unsupported(n, d, "cast shape");
        if (!(n->dtype == DT_F32 || n->dtype == DT_I64 || n->dtype == DT_BOOL) ||
            !(n->in[0]->dtype == DT_F32 || n->in[0]->dtype == DT_I64 || n->in[0]->dtype == DT_BOOL))
            return cpu_unsupported(n, d, "cast between these dtypes");
        cpu_set_dim(s, cols);
        fam = "misc";
        nkc = 3; kc[0] = 4; kc[1] = es; kc[2] = (int64_t)dtype_storage_size(n->in[0]->dtype);
        break;
    }
    default:
        return cpu_unsupported(n, d, NULL);
    }
    int kid = cpu_add_kernel(p, n, fam, d);
    if (kid < 0) return -1;
    cpu_kernel_consts(p, kid, nkc, kc);
    s->kernel = kid;
    s->ntiles = cpu_poly(rows);
    return 0;
}

/* ---- reduce ---------------------------------------------------------------------------- */
int cpu_gen_reduce(Cg *c, const PlanKernel *pk, LtcDiag *d) {
    Node *n = pk->node;
    bool sum = n->op == OP_SUM_DIM || n->op == OP_MEAN_DIM;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1);
    LLVMValueRef len = cg_dim(c, 1), inner = cg_dim(c, 2);
    LLVMValueRef acc = cg_var(c, c->f64, NULL), arg = cg_var(c, c->i64, NULL);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef o = LLVMBuildSDiv(b, t, inner, ""), i = LLVMBuildSRem(b, t, inner, "");
    LLVMValueRef base = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildMul(b, o, len, ""), inner, ""), i, "");
    cg_set(c, acc, LLVMConstReal(c->f64, sum ? 0.0 : -INFINITY));
    cg_set(c, arg, cg_i64c(c, 0));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), len, cg_i64c(c, 1));
    LLVMValueRef x = cg_load(c, c->f32, cg_gep(c, c->f32, X, LLVMBuildAdd(b, base, LLVMBuildMul(b, j, inner, ""), "")), 4);
    x = LLVMBuildFPExt(b, x, c->f64, "");
    LLVMValueRef a = cg_get(c, c->f64, acc);
    if (sum) {
        cg_set(c, acc, LLVMBuildFAdd(b, a, x, ""));
    } else {
        /* a is not NaN and (x > a or x is NaN or first): NaN wins, first max kept */
        LLVMValueRef take = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, x, a, ""),
                                        LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), "");
        take = LLVMBuildOr(b, take, LLVMBuildICmp(b, LLVMIntEQ, j, cg_i64c(c, 0), ""), "");
        take = LLVMBuildAnd(b, take, LLVMBuildFCmp(b, LLVMRealORD, a, a, ""), "");
        cg_set(c, acc, LLVMBuildSelect(b, take, x, a, ""));
        cg_set(c, arg, LLVMBuildSelect(b, take, j, cg_get(c, c->i64, arg), ""));
    }
    cg_endfor(c, &lj);
    LLVMValueRef r = cg_get(c, c->f64, acc);
    if (n->op == OP_MEAN_DIM) r = LLVMBuildFDiv(b, r, LLVMBuildSIToFP(b, len, c->f64, ""), "");
    if (n->op == OP_ARGMAX)
        cg_store(c, cg_get(c, c->i64, arg), cg_gep(c, c->i64, Y, t), 8);
    else
        cg_store(c, LLVMBuildFPTrunc(b, r, c->f32, ""), cg_gep(c, c->f32, Y, t), 4);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}

/* ---- copy --------------------------------------------------------------------------------- */
int cpu_gen_copy(Cg *c, const PlanKernel *pk, LtcDiag *d) {
    Node *n = pk->node;
    CopyLayout L;
    if (!copy_layout(n, &L)) return cpu_unsupported(n, d, "copy pattern");
    LLVMTypeRef et = elt_type(c, n->dtype);
    unsigned al = (unsigned)dtype_storage_size(n->dtype);
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), cols = cg_dim(c, 0);
    int nl = L.nlead;
    LLVMValueRef size[CP_MAXLEAD], st[CP_MAXLEAD];
    for (int i = 0; i < nl; i++) { size[i] = cg_dim(c, 2 + i); st[i] = cg_dim(c, 2 + nl + i); }
    LLVMValueRef last = cg_dim(c, 2 + 2 * nl), base = cg_dim(c, 3 + 2 * nl);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef off = base, rem = t;
    for (int i = nl - 1; i >= 0; i--) {
        LLVMValueRef idx = i ? LLVMBuildSRem(b, rem, size[i], "") : rem;
        if (i) rem = LLVMBuildSDiv(b, rem, size[i], "");
        off = LLVMBuildAdd(b, off, LLVMBuildMul(b, idx, st[i], ""), "");
    }
    LLVMValueRef src = cg_gep(c, et, X, off), dst = cg_gep(c, et, Y, LLVMBuildMul(b, t, cols, ""));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
    LLVMValueRef v = cg_load(c, et, cg_gep(c, et, src, LLVMBuildMul(b, j, last, "")), al);
    cg_store(c, v, cg_gep(c, et, dst, j), al);
    cg_endfor(c, &lj);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}

int cpu_gen_cat(Cg *c, const PlanKernel *pk, LtcDiag *d) {
    Node *n = pk->node;
    LLVMTypeRef et = elt_type(c, n->dtype);
    unsigned al = (unsigned)dtype_storage_size(n->dtype);
    int nin = cpu_cat_group(n);    /* slots of one step; a part's unused ones have chunk 0 */
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef Y = cg_buf(c, nin), total = cg_dim(c, 1);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef yrow = cg_gep(c, et, Y, LLVMBuildMul(b, t, total, ""));
    for (int k = 0; k < nin; k++) {
        LLVMValueRef ch = cg_dim(c, 2 + k), off = cg_dim(c, 2 + nin + k);
        LLVMValueRef src = cg_gep(c, et, cg_buf(c, k), LLVMBuildMul(b, t, ch, ""));
        LLVMValueRef dst = cg_gep(c, et, yrow, off);
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), ch, cg_i64c(c, 1));
        cg_store(c, cg_load(c, et, cg_gep(c, et, src, j), al), cg_gep(c, et, dst, j), al);
        cg_endfor(c, &lj);
    }
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}

/* ---- embedding, triu/tril, cast ---------------------------------------------------------- */
static LLVMValueRef convert(Cg *c, LLVMValueRef v, DType from, DType to) {
    LLVMBuilderRef b = c->b;
    if (from == to) return v;
    LLVMValueRef x;   /* through the interpreter's double */
    if (from == DT_F32) x = LLVMBuildFPExt(b, v, c->f64, "");
    else if (from == DT_I64) x = LLVMBuildSIToFP(b, v, c->f64, "");
    else x = LLVMBuildUIToFP(b, v, c->f64, "");
    if (to == DT_F32) return LLVMBuildFPTrunc(b, x, c->f32, "");
    if (to == DT_I64) return LLVMBuildFPToSI(b, x, c->i64, "");
    return LLVMBuildZExt(b, LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(c->f64, 0), ""), c->i8, "");
}

static LLVMTypeRef val_type(Cg *c, DType t) {
    return t == DT_F32 ? c->f32 : t == DT_I64 ? c->i64 : c->i8;
}

int cpu_gen_misc(Cg *c, const PlanKernel *pk, LtcDiag *d) {
    Node *n = pk->node;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    CgLoop lt, lj;
    if (n->op == OP_EMBEDDING) {
        LLVMTypeRef et = elt_type(c, n->dtype);
        unsigned al = (unsigned)dtype_storage_size(n->dtype);
        LLVMValueRef ids = cg_buf(c, 0), T = cg_buf(c, 1), Y = cg_buf(c, 2);
        LLVMValueRef num = cg_dim(c, 0), dim = cg_dim(c, 1);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef id = cg_load(c, c->i64, cg_gep(c, c->i64, ids, t), 8);
        LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, id, cg_i64c(c, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntSLT, id, num, ""), "");
        LLVMValueRef src = cg_gep(c, et, T, LLVMBuildMul(b, LLVMBuildSelect(b, ok, id, cg_i64c(c, 0), ""), dim, ""));
        LLVMValueRef dst = cg_gep(c, et, Y, LLVMBuildMul(b, t, dim, ""));
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), dim, cg_i64c(c, 1));
        LLVMValueRef v = cg_load(c, et, cg_gep(c, et, src, j), al);
        cg_store(c, LLVMBuildSelect(b, ok, v, LLVMConstNull(et), ""), cg_gep(c, et, dst, j), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (n->op == OP_FULL || n->op == OP_ARANGE) {
        /* full: every element f; arange: element j of the one row is
         * lo + j * hi, computed in double as the interpreter does */
        LLVMTypeRef tt = val_type(c, n->dtype);
        unsigned al = (unsigned)dtype_storage_size(n->dtype);
        LLVMValueRef Y = cg_buf(c, 0), cols = cg_dim(c, 0);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        LLVMValueRef x;
        if (n->op == OP_FULL) {
            x = LLVMConstReal(c->f64, n->a.f);
        } else {
            x = LLVMBuildFMul(b, LLVMBuildSIToFP(b, j, c->f64, ""), LLVMConstReal(c->f64, n->a.hi), "");
            x = LLVMBuildFAdd(b, x, LLVMConstReal(c->f64, n->a.lo), "");
        }
        LLVMValueRef v;
        if (n->dtype == DT_F32) v = LLVMBuildFPTrunc(b, x, c->f32, "");
        else if (n->dtype == DT_I64) v = LLVMBuildFPToSI(b, x, c->i64, "");
        else v = LLVMBuildZExt(b, LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(c->f64, 0), ""), c->i8, "");
        cg_store(c, v, cg_gep(c, tt, Y, LLVMBuildAdd(b, off, j, "")), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (n->op == OP_TRIU || n->op == OP_TRIL) {
        LLVMTypeRef et = elt_type(c, n->dtype);
        unsigned al = (unsigned)dtype_storage_size(n->dtype);
        LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), rows = cg_dim(c, 0), cols = cg_dim(c, 1);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef i = LLVMBuildSRem(b, t, rows, "");
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        /* triu keeps j - i >= diag, tril keeps j - i <= diag */
        LLVMValueRef dj = LLVMBuildSub(b, j, i, "");
        LLVMValueRef keep = LLVMBuildICmp(b, n->op == OP_TRIU ? LLVMIntSGE : LLVMIntSLE, dj, cg_i64c(c, n->a.i), "");
        LLVMValueRef v = cg_load(c, et, cg_gep(c, et, X, LLVMBuildAdd(b, off, j, "")), al);
        cg_store(c, LLVMBuildSelect(b, keep, v, LLVMConstNull(et), ""), cg_gep(c, et, Y, LLVMBuildAdd(b, off, j, "")), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (n->op == OP_CAST) {
        DType from = n->in[0]->dtype, to = n->dtype;
        LLVMTypeRef ft = val_type(c, from), tt = val_type(c, to);
        LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), cols = cg_dim(c, 0);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        LLVMValueRef e = LLVMBuildAdd(b, off, j, "");
        LLVMValueRef v = cg_load(c, ft, cg_gep(c, ft, X, e), (unsigned)dtype_storage_size(from));
        cg_store(c, convert(c, v, from, to), cg_gep(c, tt, Y, e), (unsigned)dtype_storage_size(to));
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else {
        return cpu_unsupported(n, d, NULL);
    }
    cg_kernel_end(c);
    return 0;
}
