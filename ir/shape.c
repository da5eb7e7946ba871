/* shape.c: shape and dtype rules, one per ops.def row family.  Each rule
 * reads n->in[] and n->a, sets n->dtype and n->shape, and returns -1 with a
 * message naming the op and the shapes when the inputs do not fit. */
#include "ir/ir_internal.h"

#include <stdio.h>

typedef char SBuf[200];
#define SS(s, buf) shape_str(n->graph, (s), buf, sizeof buf)
#define IN(i) (n->in[i])
#define NAME (op_info[n->op].name)

static const char *dim_s(const Graph *g, Dim dm, char *buf, size_t len) {
    Shape s = {1, {dm}};
    char t[200];
    shape_str(g, &s, t, sizeof t);
    size_t l = strlen(t);
    t[l - 1] = 0;
    snprintf(buf, len, "%s", t + 1);
    return buf;
}

/* Dims are >= 0, symbolic ones have k >= 1 and known symbols; the constant
 * part of the element count stays below LTC_MAX_NUMEL. */
static int check_shape(Node *n, const Shape *s, LtcDiag *d) {
    SBuf b;
    if (s->rank < 0 || s->rank > LTC_MAX_RANK)
        return diag_set(d, n->loc, "%s: rank %d is out of range (at most %d)", NAME, s->rank, LTC_MAX_RANK);
    int64_t total = 1;
    for (int i = 0; i < s->rank; i++) {
        Dim x = s->d[i];
        if (x.k < 0 || (x.sym && x.k == 0))
            return diag_set(d, n->loc, "%s: invalid size in shape %s", NAME, SS(s, b));
        if (n->graph->nsyms < 32 && (x.sym >> n->graph->nsyms))
            return diag_set(d, n->loc, "%s: shape %s uses an undeclared symbol", NAME, SS(s, b));
        if (x.k && total > LTC_MAX_NUMEL / x.k)
            return diag_set(d, n->loc, "%s: shape %s has too many elements (more than 2^40)", NAME, SS(s, b));
        total *= x.k;
    }
    return 0;
}

static int norm_axis(Node *n, int rank, LtcDiag *d) {
    int ax = n->a.axis;
    if (ax < 0) ax += rank;
    if (rank < 1 || ax < 0 || ax >= rank) {
        SBuf b;
        return diag_set(d, n->loc, "%s: axis %d is out of range for shape %s", NAME, n->a.axis, SS(&IN(0)->shape, b));
    }
    n->a.axis = ax;
    return 0;
}

static bool is_int_value(double f) { return isfinite(f) && f == floor(f); }

/* ---- sources ------------------------------------------------------------------ */
int shape_source(Node *n, LtcDiag *d) {
    if (check_shape(n, &n->a.shape, d)) return -1;
    if ((unsigned)n->a.dtype >= DT_COUNT) return diag_set(d, n->loc, "%s: invalid dtype", NAME);
    if ((n->op == OP_RAND || n->op == OP_RANDN) && !dtype_is_float(n->a.dtype))
        return diag_set(d, n->loc, "%s: dtype %s is not a float type", NAME, dtype_name(n->a.dtype));
    if (n->op == OP_ARANGE && n->a.shape.rank != 1)
        return diag_set(d, n->loc, "arange: shape must have rank 1");
    n->dtype = n->a.dtype;
    n->shape = n->a.shape;
    return 0;
}

/* ---- broadcasting ---------------------------------------------------------------- */
/* A constant c meeting a symbolic size D whose traced value is c (a mask
 * built from a global S, a reshape to global sizes): the model can only be
 * right at D = c.  Record that as a guard (checked at run time, reported
 * as a warning by the driver) and keep D. */
bool dim_unify_const(Graph *g, Dim sym, Dim c, SrcLoc loc, const char *opname) {
    if (!g || g->eager || !sym.sym || c.sym || c.k == 1 || dim_example(g, sym) != c.k) return false;
    char why[300], ds[160];
    Shape s1 = {1, {sym}};
    shape_str(g, &s1, ds, sizeof ds);
    ds[strlen(ds) - 1] = 0;
    snprintf(why, sizeof why, "the constant size %lld meets the symbolic size %s in '%s'; compute the size "
             "from a tensor, e.g. (tensor_size x 1), to keep it dynamic", (long long)c.k, ds + 1, opname);
    return graph_add_guard(g, sym, c.k, c.k, loc, why) == 0;
}

int broadcast_shapes(const Graph *cg, const Shape *a, const Shape *b, Shape *out, LtcDiag *d, SrcLoc loc) {
    Graph *g = (Graph *)cg;     /* guards may be added (dim_unify_const) */
    int R = a->rank > b->rank ? a->rank : b->rank;
    Shape o = {R, {{0, 0}}};
    for (int i = 0; i < R; i++) {
        int ia = i - (R - a->rank), ib = i - (R - b->rank);
        Dim da = ia >= 0 ? a->d[ia] : dim_const(1), db = ib >= 0 ? b->d[ib] : dim_const(1);
        if (dim_eq(da, db) || (db.sym == 0 && db.k == 1)) o.d[i] = da;
        else if (da.sym == 0 && da.k == 1) o.d[i] = db;
        else if (dim_unify_const(g, da, db, loc, "broadcast")) o.d[i] = da;
        else if (dim_unify_const(g, db, da, loc, "broadcast")) o.d[i] = db;
        else {
            char x[200], y[200];
            return diag_set(d, loc, "shapes %s and %s do not broadcast",
                            shape_str(g, a, x, sizeof x), shape_str(g, b, y, sizeof y));
        }
    }
    *out = o;
    return 0;
}

int shape_broadcast(Node *n, LtcDiag *d) {
    if (broadcast_shapes(n->graph, &IN(0)->shape, &IN(1)->shape, &n->shape, d, n->loc)) {
        char msg[sizeof d->msg];
        snprintf(msg, sizeof msg, "%s: %.900s", NAME, d->msg);
        return diag_set(d, n->loc, "%s", msg);
    }
    DType t = dtype_promote(IN(0)->dtype, IN(1)->dtype);
    if (n->op == OP_DIV && !dtype_is_float(t)) t = DT_F32;     /* true division */
    if (n->op == OP_SUB && t == DT_BOOL) t = DT_I64;
    n->dtype = t;
    return check_shape(n, &n->shape, d);
}

int shape_masked_fill(Node *n, LtcDiag *d) {
    Shape o;
    SBuf x, y;
    if (broadcast_shapes(n->graph, &IN(0)->shape, &IN(1)->shape, &o, d, n->loc) || !shape_eq(&o, &IN(0)->shape))
        return diag_set(d, n->loc, "masked_fill: mask %s does not broadcast to %s",
                        SS(&IN(1)->shape, x), SS(&IN(0)->shape, y));
    n->dtype = IN(0)->dtype;
    n->shape = IN(0)->shape;
    return 0;
}

/* ---- unary --------------------------------------------------------------------------- */
/* Integer inputs stay integer for ops that are exact on integers (with an
 * integral scalar); the rest compute in f32, as torch does. */
static DType unary_dtype(Node *n) {
    DType t = IN(0)->dtype;
    if (dtype_is_float(t)) return t;
    const Attr *a = &n->a;
    switch (n->op) {
    case OP_TRIU: case OP_TRIL: return t;
    case OP_NEG: case OP_ABS: case OP_RELU: case OP_FLOOR: case OP_CEIL: case OP_ROUND: case OP_CUMSUM:
        return DT_I64;
    case OP_ADD_SCALAR: case OP_MUL_SCALAR: case OP_RSUB_SCALAR:
        return is_int_value(a->f) ? DT_I64 : DT_F32;
    case OP_POW_SCALAR: return is_int_value(a->f) && a->f >= 0 ? DT_I64 : DT_F32;
    case OP_CLAMP: return is_int_value(a->f) && is_int_value(a->f2) ? DT_I64 : DT_F32;
    default: return DT_F32;
    }
}

int shape_unary(Node *n, LtcDiag *d) {
    SBuf b;
    n->shape = IN(0)->shape;
    n->dtype = unary_dtype(n);
    switch (n->op) {
    case OP_SOFTMAX: case OP_LOG_SOFTMAX: case OP_CUMSUM:
        return norm_axis(n, IN(0)->shape.rank, d);
    case OP_TRIU: case OP_TRIL:
        if (IN(0)->shape.rank < 2)
            return diag_set(d, n->loc, "%s: needs at least 2 dimensions, got %s", NAME, SS(&IN(0)->shape, b));
        return 0;
    case OP_DROPOUT:
        if (!dtype_is_float(IN(0)->dtype))
            return diag_set(d, n->loc, "dropout: input must be a float tensor, got %s", dtype_name(IN(0)->dtype));
        if (!(n->a.p >= 0 && n->a.p <= 1))
            return diag_set(d, n->loc, "dropout: probability %g is not in [0,1]", n->a.p);
        return 0;
    default:
        return 0;
    }
}

int shape_cast(Node *n, LtcDiag *d) {
    if ((unsigned)n->a.dtype >= DT_COUNT) return diag_set(d, n->loc, "cast: invalid dtype");
    n->shape = IN(0)->shape;
    n->dtype = n->a.dtype;
    return 0;
}

/* ---- reductions and norms ----------------------------------------------------------- */
int shape_reduce(Node *n, LtcDiag *d) {
    const Shape *s = &IN(0)->shape;
    if (norm_axis(n, s->rank, d)) return -1;
    Shape o = {0, {{0, 0}}};
    for (int i = 0; i < s->rank; i++) {
        if (i == n->a.axis) { if (n->a.keepdim) o.d[o.rank++] = dim_const(1); }
        else o.d[o.rank++] = s->d[i];
    }
    n->shape = o;
    DType t = IN(0)->dtype;
    switch (n->op) {
    case OP_SUM_DIM: n->dtype = dtype_is_float(t) ? t : DT_I64; break;
    case OP_MEAN_DIM: n->dtype = dtype_is_float(t) ? t : DT_F32; break;
    case OP_ARGMAX: n->dtype = DT_I64; break;
    default: n->dtype = t; break;
    }
    return 0;
}

int shape_norm(Node *n, LtcDiag *d) {
    SBuf x, y;
    const Shape *s = &IN(0)->shape;
    if (s->rank < 1) return diag_set(d, n->loc, "%s: input must have at least one dimension", NAME);
    if (!dtype_is_float(IN(0)->dtype))
        return diag_set(d, n->loc, "%s: input must be a float tensor, got %s", NAME, dtype_name(IN(0)->dtype));
    /* flags NORM_W, NORM_B; 0 with inputs means "in order". */
    if (n->a.flags == 0 && n->nin > 1) n->a.flags = n->nin == 3 ? NORM_W | NORM_B : NORM_W;
    if (n->op == OP_RMS_NORM && (n->a.flags & ~NORM_W)) return diag_set(d, n->loc, "rms_norm: has no bias");
    if (n->a.flags & ~(NORM_W | NORM_B)) return diag_set(d, n->loc, "%s: invalid flags %d", NAME, n->a.flags);
    int want = 1 + !!(n->a.flags & NORM_W) + !!(n->a.flags & NORM_B);
    if (want != n->nin) return diag_set(d, n->loc, "%s: flags %d need %d inputs, got %d", NAME, n->a.flags, want, n->nin);
    Dim last = s->d[s->rank - 1];
    DType t = IN(0)->dtype;
    for (int i = 1; i < n->nin; i++) {
        const Shape *w = &IN(i)->shape;
        if (w->rank != 1 || !dim_eq(w->d[0], last))
            return diag_set(d, n->loc, "%s: %s %s does not match the last dimension of input %s", NAME,
                            (i == 1 && (n->a.flags & NORM_W)) ? "weight" : "bias", SS(w, x), SS(s, y));
        if (!dtype_is_float(IN(i)->dtype))
            return diag_set(d, n->loc, "%s: weight and bias must be float tensors", NAME);
        t = dtype_promote(t, IN(i)->dtype);
    }
    if (!(n->a.eps >= 0)) return diag_set(d, n->loc, "%s: eps %g is negative", NAME, n->a.eps);
    n->shape = *s;
    n->dtype = t;
    return 0;
}

/* ---- linear algebra ------------------------------------------------------------------ */
static int gemm_dtype(Node *n, DType a, DType b, LtcDiag *d) {
    if (a == DT_BOOL || b == DT_BOOL) return diag_set(d, n->loc, "%s: bool tensors are not supported", NAME);
    n->dtype = dtype_promote(a, b);
    return 0;
}

int shape_matmul(Node *n, LtcDiag *d) {
    const Shape *a = &IN(0)->shape, *b = &IN(1)->shape;
    SBuf x, y, p, q;
    if (a->rank < 1 || b->rank < 1)
        return diag_set(d, n->loc, "matmul: %s x %s: both arguments need at least one dimension", SS(a, x), SS(b, y));
    Dim ka = a->d[a->rank - 1];
    Dim kb = b->rank == 1 ? b->d[0] : b->d[b->rank - 2];
    if (!dim_eq(ka, kb))
        return diag_set(d, n->loc, "matmul: %s x %s: inner dimensions %s and %s differ", SS(a, x), SS(b, y),
                        dim_s(n->graph, ka, p, sizeof p), dim_s(n->graph, kb, q, sizeof q));
    Shape ba = {a->rank > 2 ? a->rank - 2 : 0, {{0, 0}}}, bb = {b->rank > 2 ? b->rank - 2 : 0, {{0, 0}}}, o;
    for (int i = 0; i < ba.rank; i++) ba.d[i] = a->d[i];
    for (int i = 0; i < bb.rank; i++) bb.d[i] = b->d[i];
    if (broadcast_shapes(n->graph, &ba, &bb, &o, d, n->loc))
        return diag_set(d, n->loc, "matmul: %s x %s: batch dimensions do not broadcast", SS(a, x), SS(b, y));
    if (a->rank >= 2) o.d[o.rank++] = a->d[a->rank - 2];     /* M */
    if (b->rank >= 2) o.d[o.rank++] = b->d[b->rank - 1];     /* N */
    n->shape = o;
    if (gemm_dtype(n, IN(0)->dtype, IN(1)->dtype, d)) return -1;
    return check_shape(n, &n->shape, d);
}

int shape_linear(Node *n, LtcDiag *d) {
    const Shape *x = &IN(0)->shape, *w = &IN(1)->shape;
    SBuf s1, s2, s3, s4;
    if (x->rank < 1) return diag_set(d, n->loc, "linear: input must have at least one dimension");
    if (w->rank != 2) return diag_set(d, n->loc, "linear: weight %s must have rank 2 [out,in]", SS(w, s1));
    if (!dim_eq(x->d[x->rank - 1], w->d[1]))
        return diag_set(d, n->loc, "linear: input %s and weight %s: in features %s and %s differ", SS(x, s1), SS(w, s2),
                        dim_s(n->graph, x->d[x->rank - 1], s3, sizeof s3), dim_s(n->graph, w->d[1], s4, sizeof s4));
    if (n->nin == 3) {
        const Shape *b = &IN(2)->shape;
        if (b->rank != 1 || !dim_eq(b->d[0], w->d[0]))
            return diag_set(d, n->loc, "linear: bias %s does not match weight %s", SS(b, s1), SS(w, s2));
    }
    for (int i = 0; i < n->nin; i++)
        if (!dtype_is_float(IN(i)->dtype))
            return diag_set(d, n->loc, "linear: needs float tensors, input %d is %s", i, dtype_name(IN(i)->dtype));
    n->shape = *x;
    n->shape.d[x->rank - 1] = w->d[0];
    n->dtype = dtype_promote(IN(0)->dtype, IN(1)->dtype);
    if (n->nin == 3) n->dtype = dtype_promote(n->dtype, IN(2)->dtype);
    return 0;
}

int shape_embedding(Node *n, LtcDiag *d) {
    const Shape *ids = &IN(0)->shape, *t = &IN(1)->shape;
    SBuf s1;
    if (IN(0)->dtype != DT_I64)
        return diag_set(d, n->loc, "embedding: ids must be i64, got %s", dtype_name(IN(0)->dtype));
    if (t->rank != 2) return diag_set(d, n->loc, "embedding: table %s must have rank 2 [num,dim]", SS(t, s1));
    if (ids->rank + 1 > LTC_MAX_RANK) return diag_set(d, n->loc, "embedding: ids have too many dimensions");
    n->shape = *ids;
    n->shape.d[n->shape.rank++] = t->d[1];
    n->dtype = IN(1)->dtype;
    return check_shape(n, &n->shape, d);
}

/* ---- layout ------------------------------------------------------------------------- */
/* An element count as k * prod s_i^e_i: products of shapes may repeat a
 * symbol ([B,S,S]) even though a single Dim cannot. */
typedef struct Mono { int64_t k; int e[LTC_MAX_SYMS]; } Mono;

static bool mono_mul(Mono *m, Dim x) {
    if (x.k < 0 || (x.k && m->k > LTC_MAX_NUMEL / x.k)) return false;
    m->k *= x.k;
    for (int i = 0; i < LTC_MAX_SYMS; i++) m->e[i] += (x.sym >> i) & 1;
    return true;
}

/* Solve the target shape o of a reshape of s: the -1 (if any) becomes
 * numel(s) / numel(rest), which must be k * (distinct symbols).  Returns
 * 0 when o is complete and holds as many elements as s, 1 if not, -1 on
 * two holes. */
static int reshape_solve(const Shape *s, Shape *o) {
    int hole = -1;
    Mono have = {1, {0}}, want = {1, {0}};
    bool ok = o->rank >= 0 && o->rank <= LTC_MAX_RANK;
    for (int i = 0; ok && i < s->rank; i++) ok = mono_mul(&have, s->d[i]);
    for (int i = 0; ok && i < o->rank; i++) {
        if (o->d[i].k == -1 && o->d[i].sym == 0) {
            if (hole >= 0) return -1;
            hole = i;
        } else {
            ok = mono_mul(&want, o->d[i]);
        }
    }
    if (ok && hole >= 0) {
        Dim h = {0, 0};
        ok = want.k > 0 && have.k % want.k == 0;
        h.k = ok ? have.k / want.k : 0;
        for (int i = 0; ok && i < LTC_MAX_SYMS; i++) {
            int e = have.e[i] - want.e[i];
            if (e < 0 || e > 1) ok = false;
            else if (e) h.sym |= 1u << i;
        }
        if (ok && h.k == 0) h.sym = 0;
        o->d[hole] = h;
    } else if (ok) {
        ok = have.k == want.k && (have.k == 0 || memcmp(have.e, want.e, sizeof have.e) == 0);
    }
    return ok ? 0 : 1;
}

/* A reshape to sizes written as numbers, e.g. (integers B S H D) from the
 * globals the example input was made with: a constant target dim equal to
 * the traced value of a symbol of the input that the target lacks stands
 * for that symbol.  Symbols are matched in the order they appear in the
 * input, left to right in the target (a reshape keeps the order of
 * elements).  Only used when the sizes do not match otherwise. */
static bool reshape_symbolise(const Graph *g, const Shape *s, Shape *o) {
    bool changed = false;
    int pos = 0;
    for (int i = 0; i < s->rank; i++)
        for (int b = 0; b < g->nsyms; b++) {
            if (!(s->d[i].sym >> b & 1)) continue;
            bool present = false;
            for (int j = 0; j < o->rank; j++) present |= (o->d[j].sym >> b & 1) != 0;
            if (present) continue;
            for (int j = pos; j < o->rank; j++)
                if (o->d[j].sym == 0 && o->d[j].k == g->syms[b].example && o->d[j].k != 1) {
                    o->d[j] = (Dim){1, 1u << b};
                    pos = j + 1;
                    changed = true;
                    break;
                }
        }
    return changed;
}

int shape_reshape(Node *n, LtcDiag *d) {
    const Shape *s = &IN(0)->shape;
    Shape o = n->a.shape;
    SBuf x, y;
    int rc = reshape_solve(s, &o);
    if (rc == -1) return diag_set(d, n->loc, "reshape: more than one -1 in %s", SS(&n->a.shape, x));
    if (rc == 1 && !n->graph->eager) {
        Shape t = n->a.shape;
        if (reshape_symbolise(n->graph, s, &t) && reshape_solve(s, &t) == 0) { o = t; rc = 0; }
    }
    if (rc) return diag_set(d, n->loc, "cannot reshape %s into %s", SS(s, x), SS(&n->a.shape, y));
    n->a.shape = o;             /* the -1 resolved, so printing and backends see sizes */
    n->shape = o;
    n->dtype = IN(0)->dtype;
    return check_shape(n, &o, d);
}

int shape_permute(Node *n, LtcDiag *d) {
    const Shape *s = &IN(0)->shape;
    bool seen[LTC_MAX_RANK] = {0};
    SBuf x;
    for (int i = 0; i < s->rank; i++) {
        int p = n->a.perm[i];
        if (p < 0) p += s->rank;
        if (p < 0 || p >= s->rank || seen[p])
            return diag_set(d, n->loc, "permute: not a permutation of the %d dimensions of %s", s->rank, SS(s, x));
        seen[p] = true;
        n->a.perm[i] = p;
        n->shape.d[i] = s->d[p];
    }
    n->shape.rank = s->rank;
    n->dtype = IN(0)->dtype;
    return 0;
}

int shape_expand(Node *n, LtcDiag *d) {
    const Shape *s = &IN(0)->shape;
    const Shape *t = &n->a.shape;
    SBuf x, y;
    if (t->rank < s->rank || t->rank > LTC_MAX_RANK)
        return diag_set(d, n->loc, "expand: cannot expand %s to %s", SS(s, x), SS(t, y));
    Shape o = {t->rank, {{0, 0}}};
    for (int i = 0; i < t->rank; i++) {
        int j = i - (t->rank - s->rank);
        Dim td = t->d[i];
        bool keep = td.k == -1 && td.sym == 0;
        if (j < 0) {
            if (keep || td.k < 0) return diag_set(d, n->loc, "expand: cannot expand %s to %s", SS(s, x), SS(t, y));
            o.d[i] = td;
        } else if (keep || dim_eq(s->d[j], td)) {
            o.d[i] = s->d[j];
        } else if (s->d[j].sym == 0 && s->d[j].k == 1 && td.k >= 0) {
            o.d[i] = td;
        } else {
            return diag_set(d, n->loc, "expand: cannot expand %s to %s", SS(s, x), SS(t, y));
        }
    }
    n->a.shape = o;
    n->shape = o;
    n->dtype = IN(0)->dtype;
    return check_shape(n, &o, d);
}

/* Python's slice bounds on a dimension of size D: a negative bound counts
 * from the end (b + D), then clamps to [0, D].  On a symbolic D the clamp
 * cannot be decided for every size, so a bound must be known to lie in
 * range at the traced size; it then stays symbolic (S-1 for -1) and the
 * lowering checks start <= end <= D at run time. */
static bool slice_bound(Node *n, Dim D, Dim b, Dim *out) {
    if (D.sym == 0 && b.sym == 0) {
        int64_t v = b.k < 0 ? b.k + D.k : b.k;
        *out = dim_const(v < 0 ? 0 : v > D.k ? D.k : v);
        return true;
    }
    if (b.sym == 0 && b.k < 0) return dim_add(n->graph, D, b, n->loc, out) && dim_example(n->graph, *out) >= 0;
    *out = b;
    return dim_example(n->graph, b) <= dim_example(n->graph, D);
}

int shape_slice(Node *n, LtcDiag *d) {
    const Shape *s = &IN(0)->shape;
    SBuf x, p, q, r;
    if (norm_axis(n, s->rank, d)) return -1;
    Attr *a = &n->a;
    if (a->step < 1) return diag_set(d, n->loc, "slice: step %lld must be at least 1", (long long)a->step);
    Dim D = s->d[a->axis], len, st, en, diff;
    if (a->end.sym == 0 && a->end.k >= INT64_MAX / 2) a->end = D;   /* "to the end" */
    bool ok = slice_bound(n, D, a->start, &st) && slice_bound(n, D, a->end, &en);
    if (ok && st.sym == 0 && en.sym == 0) {
        len = dim_const(en.k > st.k ? (en.k - st.k + a->step - 1) / a->step : 0);
    } else if (ok) {
        /* symbolic: the length (end - start) / step must divide exactly */
        ok = dim_sub(n->graph, en, st, n->loc, &diff) && dim_example(n->graph, diff) >= 0 &&
             dim_divq(n->graph, diff, a->step, n->loc, &len);
    }
    if (!ok)
        return diag_set(d, n->loc, "slice: [%s:%s:%lld] of symbolic dimension %s of %s has no symbolic length",
                        dim_s(n->graph, a->start, p, sizeof p), dim_s(n->graph, a->end, q, sizeof q),
                        (long long)a->step, dim_s(n->graph, D, r, sizeof r), SS(s, x));
    a->start = st;
    a->end = en;
    n->shape = *s;
    n->shape.d[a->axis] = len;
    n->dtype = IN(0)->dtype;
    return 0;
}

int shape_cat(Node *n, LtcDiag *d) {
    const Shape *s0 = &IN(0)->shape;
    SBuf x, y;
    if (norm_axis(n, s0->rank, d)) return -1;
    int ax = n->a.axis;
    Dim sum = s0->d[ax];
    DType t = IN(0)->dtype;
    Shape o = *s0;
    for (int i = 1; i < n->nin; i++) {
        const Shape *s = &IN(i)->shape;
        bool ok = s->rank == s0->rank;
        for (int j = 0; ok && j < s->rank; j++) {
            if (j == ax || dim_eq(s->d[j], o.d[j]) || dim_unify_const(n->graph, o.d[j], s->d[j], n->loc, "cat"))
                continue;
            if (dim_unify_const(n->graph, s->d[j], o.d[j], n->loc, "cat")) o.d[j] = s->d[j];
            else ok = false;
        }
        if (!ok)
            return diag_set(d, n->loc, "cat: shapes %s and %s differ outside axis %d", SS(s0, x), SS(s, y), ax);
        Dim e = s->d[ax];
        if (!dim_add(n->graph, sum, e, n->loc, &sum))
            return diag_set(d, n->loc, "cat: sizes %s and %s along axis %d cannot be added symbolically",
                             dim_s(n->graph, sum, x, sizeof x), dim_s(n->graph, e, y, sizeof y), ax);
        t = dtype_promote(t, IN(i)->dtype);
    }
    n->shape = o;
    n->shape.d[ax] = sum;
    n->dtype = t;
    return check_shape(n, &n->shape, d);
}

/* ---- attention ------------------------------------------------------------------------ */
static Shape batch_of(const Shape *s) {
    Shape b = {s->rank - 2, {{0, 0}}};
    for (int i = 0; i < b.rank; i++) b.d[i] = s->d[i];
    return b;
}

int shape_sdpa(Node *n, LtcDiag *d) {
    const Shape *q = &IN(0)->shape, *k = &IN(1)->shape, *v = &IN(2)->shape;
    SBuf x, y, z;
    if (q->rank < 2 || k->rank < 2 || v->rank < 2)
        return diag_set(d, n->loc, "sdpa: query %s, key %s and value %s need at least 2 dimensions",
                        SS(q, x), SS(k, y), SS(v, z));
    for (int i = 0; i < 3; i++)
        if (!dtype_is_float(IN(i)->dtype))
            return diag_set(d, n->loc, "sdpa: query, key and value must be float tensors");
    if (!dim_eq(q->d[q->rank - 1], k->d[k->rank - 1]))
        return diag_set(d, n->loc, "sdpa: query %s and key %s have different head dimensions", SS(q, x), SS(k, y));
    if (!dim_eq(k->d[k->rank - 2], v->d[v->rank - 2]))
        return diag_set(d, n->loc, "sdpa: key %s and value %s have different lengths", SS(k, x), SS(v, y));
    Shape bq = batch_of(q), bk = batch_of(k), bv = batch_of(v), b1, b;
    /* Grouped-query attention (a.i = G > 1): dim -3 is the head axis; key
     * and value have Hq / G heads and query head h reads key/value head
     * h / G (torch's enable_gqa: K, V repeat_interleave'd G times along
     * dim -3).  For broadcasting, K and V count as having Hq heads. */
    if (n->a.i < 0) return diag_set(d, n->loc, "sdpa: head group %lld is negative", (long long)n->a.i);
    if (n->a.i > 1) {
        if (q->rank < 3 || k->rank < 3 || v->rank < 3)
            return diag_set(d, n->loc, "sdpa: grouped-query attention needs a head dimension (-3): query %s, key %s, "
                            "value %s", SS(q, x), SS(k, y), SS(v, z));
        Dim hq = q->d[q->rank - 3], hk = k->d[k->rank - 3], hv = v->d[v->rank - 3], g;
        if (!dim_mul(hk, dim_const(n->a.i), &g) || !dim_eq(g, hq) || !dim_eq(hk, hv))
            return diag_set(d, n->loc, "sdpa: grouped-query attention with %lld query heads per key/value head: "
                            "query %s has %lld heads, key %s and value %s must have %lld (dim -3)",
                            (long long)n->a.i, SS(q, x), (long long)hq.k, SS(k, y), SS(v, z),
                            hq.sym || hq.k % n->a.i ? -1LL : (long long)(hq.k / n->a.i));
        bk.d[bk.rank - 1] = hq;
        bv.d[bv.rank - 1] = hq;
    }
    if (broadcast_shapes(n->graph, &bq, &bk, &b1, d, n->loc) || broadcast_shapes(n->graph, &b1, &bv, &b, d, n->loc))
        return diag_set(d, n->loc, "sdpa: batch dimensions of query %s, key %s and value %s do not broadcast",
                        SS(q, x), SS(k, y), SS(v, z));
    if (b.rank + 2 > LTC_MAX_RANK) return diag_set(d, n->loc, "sdpa: too many dimensions");
    if (n->nin == 4) {
        Shape full = b, o;
        full.d[full.rank++] = q->d[q->rank - 2];
        full.d[full.rank++] = k->d[k->rank - 2];
        const Shape *m = &IN(3)->shape;
        if (broadcast_shapes(n->graph, m, &full, &o, d, n->loc) || !shape_eq(&o, &full))
            return diag_set(d, n->loc, "sdpa: mask %s does not broadcast to the scores %s", SS(m, x), SS(&full, y));
        DType mt = IN(3)->dtype;
        if (mt != DT_BOOL && !dtype_is_float(mt))
            return diag_set(d, n->loc, "sdpa: mask must be bool or float, got %s", dtype_name(mt));
    }
    if (!(n->a.scale >= 0)) return diag_set(d, n->loc, "sdpa: scale %g is negative", n->a.scale);
    if (!(n->a.p >= 0 && n->a.p <= 1)) return diag_set(d, n->loc, "sdpa: dropout probability %g is not in [0,1]", n->a.p);
    n->shape = b;
    n->shape.d[n->shape.rank++] = q->d[q->rank - 2];
    n->shape.d[n->shape.rank++] = v->d[v->rank - 1];
    n->dtype = dtype_promote(dtype_promote(IN(0)->dtype, IN(1)->dtype), IN(2)->dtype);
    return check_shape(n, &n->shape, d);
}
