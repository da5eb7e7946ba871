/* torch_tensors.c: lispe_torch's tensor functions (creation, shapes,
 * arithmetic, activations, reductions) as graph-building builtins.
 *
 * Each builtin is registered under lispe_torch's real name (tensor_*) and
 * the documentation's spelling (torch_*) as an alias.  Tensors are nodes of
 * the current graph: the eager pool, or the entry being traced. */
#define LTC_TORCH_BUILTINS
#include "frontend/torch.h"

#include <math.h>
#include <string.h>


/* A plain scalar argument.  Symbolic sizes are refused: baking their example
 * value into the graph would be wrong at any other size. */
static double arg_scalar(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v && v->kind == V_INT) {
        if (v->sym.sym)
            lisp_fail(I, loc_of(call), "%s: argument %d is a symbolic size; use it in a shape, not as a scalar",
                      t_fname(call), k + 1);
        return (double)v->i;
    }
    if (v && v->kind == V_NUM) return v->n;
    if (v && v->kind == V_TRUE) return 1.0;
    return arg_num(I, call, args, k);   /* raises the standard error */
}

/* A shape argument: a list of ints, symbolic sizes kept, -1 allowed. */
static Shape arg_shape_list(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    Shape s;
    memset(&s, 0, sizeof s);
    if (v && v->kind == V_INT) { s.rank = 1; s.d[0] = t_arg_dim(I, call, args, k); return s; }
    if (!v || v->kind != V_LIST)
        lisp_fail(I, loc_of(call), "%s: argument %d (shape) must be a list of integers, got %s",
                  t_fname(call), k + 1, t_kind(I, v));
    if (v->nitems > LTC_MAX_RANK)
        lisp_fail(I, loc_of(call), "%s: argument %d (shape) has more than %d dimensions",
                  t_fname(call), k + 1, LTC_MAX_RANK);
    s.rank = v->nitems;
    for (int i = 0; i < v->nitems; i++) {
        Value *e = v->items[i];
        if (e && e->kind == V_INT) s.d[i] = e->sym.sym ? e->sym : dim_const(e->i);
        else if (e && e->kind == V_NUM && e->n == floor(e->n)) s.d[i] = dim_const((int64_t)e->n);
        else lisp_fail(I, loc_of(call), "%s: argument %d (shape) must hold integers, item %d is %s",
                       t_fname(call), k + 1, i, t_kind(I, e));
        if (!s.d[i].sym && s.d[i].k < -1)
            lisp_fail(I, loc_of(call), "%s: argument %d (shape) has a negative size %lld",
                      t_fname(call), k + 1, (long long)s.d[i].k);
    }
    return s;
}

static Shape arg_shape_nonneg(Interp *I, Value *call, Value **args, int k) {
    Shape s = arg_shape_list(I, call, args, k);
    for (int i = 0; i < s.rank; i++)
        if (!s.d[i].sym && s.d[i].k < 0)
            lisp_fail(I, loc_of(call), "%s: argument %d (shape) has a negative size", t_fname(call), k + 1);
    return s;
}

static bool shape_concrete(const Shape *s) {
    for (int i = 0; i < s->rank; i++) if (s->d[i].sym) return false;
    return true;
}

/* ---- creation -------------------------------------------------------------- */
BI(bi_tensor_create) { RET(t_from_value(I, call, args[0], 0)); }
BI(bi_zeros) { Shape s = arg_shape_nonneg(I, call, args, 0); RET(t_full(I, call, &s, DT_F32, 0.0)); }
BI(bi_ones)  { Shape s = arg_shape_nonneg(I, call, args, 0); RET(t_full(I, call, &s, DT_F32, 1.0)); }
BI(bi_full) {
    Shape s = arg_shape_nonneg(I, call, args, 0);
    RET(t_full(I, call, &s, DT_F32, arg_scalar(I, call, args, 1)));
}

/* Random sources: eager-pool nodes (seeded from the session) when the shape
 * is concrete, so a trace sees them as constants; nodes of the trace when a
 * symbolic size is involved. */
static Node *random_source(Interp *I, Value *call, Op op, const Shape *s, double lo, double hi) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = DT_F32; a.lo = lo; a.hi = hi; a.seed = t_next_seed(I);
    if (shape_concrete(s)) return t_emit_eager(I, call, op, &a);
    return t_emit(I, call, op, NULL, 0, &a);
}
BI(bi_randn) { Shape s = arg_shape_nonneg(I, call, args, 0); RET(random_source(I, call, OP_RANDN, &s, 0.0, 1.0)); }
BI(bi_rand)  { Shape s = arg_shape_nonneg(I, call, args, 0); RET(random_source(I, call, OP_RAND, &s, 0.0, 1.0)); }

static Value *tri(Interp *I, Value **args, int nargs, Value *call, Op op) {
    Node *x = T(0);
    if (x->shape.rank < 2)
        lisp_fail(I, loc_of(call), "%s: argument 1 must have at least 2 dimensions", t_fname(call));
    Attr a;
    memset(&a, 0, sizeof a);
    a.i = t_given(args, nargs, 1) ? arg_int(I, call, args, 1) : 0;
    RET(t_emit(I, call, op, &x, 1, &a));
}
BI(bi_triu) { return tri(I, args, nargs, call, OP_TRIU); }
BI(bi_tril) { return tri(I, args, nargs, call, OP_TRIL); }

BI(bi_full_like) {
    Node *x = T(0);
    RET(t_full(I, call, &x->shape, x->dtype, arg_scalar(I, call, args, 1)));
}

/* arange(end) or arange(start end (step)): ceil((end-start)/step) values. */
/* (tensor_arange S) or (tensor_arange a S step) with a symbolic end S and
 * integer a, step > 0: the length (S - a) / step stays a size expression
 * (exact division, checked at run time). */
static Node *arange_symbolic(Interp *I, Value *call, Value **args, int nargs) {
    Value *ve = args[nargs == 1 ? 0 : 1];
    if (!ve || ve->kind != V_INT || !ve->sym.sym || !I->trace) return NULL;
    int64_t start = 0, step = 1;
    for (int k = 0; k < nargs; k++)
        if (k != (nargs == 1 ? 0 : 1) && (!args[k] || args[k]->kind != V_INT || args[k]->sym.sym)) return NULL;
    if (nargs > 1) start = args[0]->i;
    if (nargs > 2) step = args[2]->i;
    Dim len;
    if (step <= 0 || !dim_sub(I->trace, ve->sym, dim_const(start), loc_of(call), &len) ||
        dim_example(I->trace, len) < 0 || !dim_divq(I->trace, len, step, loc_of(call), &len))
        return NULL;
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape.rank = 1;
    a.shape.d[0] = len;
    a.lo = (double)start; a.hi = (double)step; a.dtype = DT_I64;
    return t_emit(I, call, OP_ARANGE, NULL, 0, &a);
}

BI(bi_arange) {
    double start = 0, end, step = 1;
    bool isint = true;
    Node *sym = arange_symbolic(I, call, args, nargs);
    if (sym) RET(sym);
    for (int k = 0; k < nargs; k++) if (args[k] && args[k]->kind == V_NUM) isint = false;
    if (nargs == 1) end = arg_scalar(I, call, args, 0);
    else {
        start = arg_scalar(I, call, args, 0);
        end = arg_scalar(I, call, args, 1);
        if (nargs > 2) step = arg_scalar(I, call, args, 2);
    }
    if (step == 0) lisp_fail(I, loc_of(call), "%s: step must be non-zero", t_fname(call));
    double n = ceil((end - start) / step);
    if (n < 0) n = 0;
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = t_shape1((int64_t)n); a.lo = start; a.hi = step; a.dtype = isint ? DT_I64 : DT_F32;
    RET(t_emit(I, call, OP_ARANGE, NULL, 0, &a));
}

/* ---- shapes ------------------------------------------------------------------ */
BI(bi_reshape) {
    Node *x = T(0);
    Shape s = arg_shape_list(I, call, args, 1);
    RET(t_reshape(I, call, x, &s));
}

BI(bi_transpose) {
    Node *x = T(0);
    int r = x->shape.rank;
    int d0 = t_axis(I, call, 1, arg_int(I, call, args, 1), r);
    int d1 = t_axis(I, call, 2, arg_int(I, call, args, 2), r);
    int perm[LTC_MAX_RANK];
    for (int i = 0; i < r; i++) perm[i] = i;
    perm[d0] = d1; perm[d1] = d0;
    RET(t_permute(I, call, x, perm));
}

BI(bi_permute) {
    Node *x = T(0);
    int r = x->shape.rank, perm[LTC_MAX_RANK];
    Value *l = args[1];
    if (!l || l->kind != V_LIST || l->nitems != r)
        lisp_fail(I, loc_of(call), "%s: argument 2 (dims) must be a list of %d dimensions", t_fname(call), r);
    bool seen[LTC_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
        int p = t_axis(I, call, 1, arg_int(I, call, l->items, i), r);
        if (seen[p]) lisp_fail(I, loc_of(call), "%s: argument 2 (dims) repeats dimension %d", t_fname(call), p);
        seen[p] = true; perm[i] = p;
    }
    RET(t_permute(I, call, x, perm));
}

BI(bi_unsqueeze) {
    Node *x = T(0);
    int r = x->shape.rank;
    if (r >= LTC_MAX_RANK) lisp_fail(I, loc_of(call), "%s: rank would exceed %d", t_fname(call), LTC_MAX_RANK);
    int d = t_axis(I, call, 1, arg_int(I, call, args, 1), r + 1);
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = r + 1;
    for (int i = 0, j = 0; i < r + 1; i++) s.d[i] = i == d ? dim_const(1) : x->shape.d[j++];
    RET(t_reshape(I, call, x, &s));
}

/* squeeze(t) drops every size-1 dim; squeeze(t dim) drops dim if it is 1. */
BI(bi_squeeze) {
    Node *x = T(0);
    int r = x->shape.rank, d = -1;
    if (t_given(args, nargs, 1)) {
        d = t_axis(I, call, 1, arg_int(I, call, args, 1), r);
        if (!(x->shape.d[d].sym == 0 && x->shape.d[d].k == 1)) RET(x);
    }
    Shape s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < r; i++) {
        bool one = x->shape.d[i].sym == 0 && x->shape.d[i].k == 1;
        if (d >= 0 ? i == d : one) continue;
        s.d[s.rank++] = x->shape.d[i];
    }
    if (s.rank == r) RET(x);
    RET(t_reshape(I, call, x, &s));
}

BI(bi_contiguous) { RET(T(0)); }

BI(bi_cat) {
    Value *l = args[0];
    if (!l || l->kind != V_LIST || l->nitems == 0)
        lisp_fail(I, loc_of(call), "%s: argument 1 must be a non-empty list of tensors", t_fname(call));
    Node **in = arena_alloc(I->arena, sizeof(Node *) * (size_t)l->nitems);
    if (!in) lisp_fail(I, loc_of(call), "out of memory");
    for (int i = 0; i < l->nitems; i++) {
        if (!l->items[i] || l->items[i]->kind != V_TENSOR)
            lisp_fail(I, loc_of(call), "%s: argument 1 item %d must be a tensor, got %s", t_fname(call), i,
                      t_kind(I, l->items[i]));
        in[i] = l->items[i]->t;
    }
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = t_axis(I, call, 1, t_given(args, nargs, 1) ? arg_int(I, call, args, 1) : 0, in[0]->shape.rank);
    RET(t_emit(I, call, OP_CAT, in, l->nitems, &a));
}

/* slice(t dim start end): nil start/end mean the ends, as t[start:end]. */
BI(bi_slice) {
    Node *x = T(0);
    int d = t_axis(I, call, 1, arg_int(I, call, args, 1), x->shape.rank);
    Dim s = t_given(args, nargs, 2) ? t_arg_dim(I, call, args, 2) : dim_const(0);
    Dim e = t_given(args, nargs, 3) ? t_arg_dim(I, call, args, 3) : x->shape.d[d];
    RET(t_slice(I, call, x, d, s, e));
}

/* select(t dim i) = t[.., i, ..]: a length-1 slice, then the dim removed. */
BI(bi_select) {
    Node *x = T(0);
    int r = x->shape.rank;
    int d = t_axis(I, call, 1, arg_int(I, call, args, 1), r);
    Dim D = x->shape.d[d];
    Dim di = t_arg_dim(I, call, args, 2);
    if (di.sym || D.sym) {
        /* a symbolic index (S-1) or a negative one on a symbolic size (-1
         * is S-1) stays symbolic: the slice [i, i+1) */
        Dim st = di, en;
        if (di.sym == 0 && di.k < 0 && !dim_add(I->trace, D, di, loc_of(call), &st))
            lisp_fail(I, loc_of(call), "%s: index %lld is not a size expression in symbolic dimension %d",
                      t_fname(call), (long long)di.k, d);
        if (!dim_add(I->trace, st, dim_const(1), loc_of(call), &en))
            lisp_fail(I, loc_of(call), "%s: the index is not a size expression", t_fname(call));
        Node *y = t_slice(I, call, x, d, st, en);
        Shape s;
        memset(&s, 0, sizeof s);
        for (int j = 0; j < r; j++) if (j != d) s.d[s.rank++] = x->shape.d[j];
        RET(t_reshape(I, call, y, &s));
    }
    int64_t i = di.k;
    {
        if (i < 0) i += D.k;
        if (i < 0 || i >= D.k)
            lisp_fail(I, loc_of(call), "%s: argument 3 (index) %lld is out of range for size %lld",
                      t_fname(call), (long long)arg_int(I, call, args, 2), (long long)D.k);
    }
    Node *y = t_slice(I, call, x, d, dim_const(i), dim_const(i + 1));
    Shape s;
    memset(&s, 0, sizeof s);
    for (int j = 0; j < r; j++) if (j != d) s.d[s.rank++] = x->shape.d[j];
    RET(t_reshape(I, call, y, &s));
}

/* sizes as an `integers` list; symbolic dims give symbolic ints. */
BI(bi_size) {
    Node *x = T(0);
    if (t_given(args, nargs, 1)) {
        int d = t_axis(I, call, 1, arg_int(I, call, args, 1), x->shape.rank);
        return t_dim_value(I, x->graph, x->shape.d[d]);
    }
    Value *l = v_list(I, L_INTEGERS);
    for (int i = 0; i < x->shape.rank; i++) v_push(I, l, t_dim_value(I, x->graph, x->shape.d[i]));
    return l;
}

BI(bi_numel) {
    Node *x = T(0);
    Dim n = shape_numel(&x->shape);
    if (n.k < 0) lisp_fail(I, loc_of(call), "%s: the element count is not a single size expression", t_fname(call));
    return t_dim_value(I, x->graph, n);
}

BI(bi_dim) { return v_int(I, T(0)->shape.rank); }

/* ---- arithmetic ------------------------------------------------------------- */
static bool is_scalar(const Value *v) {
    return v && (v->kind == V_INT || v->kind == V_NUM || v->kind == V_TRUE);
}

static double scalar_of(Interp *I, Value *call, Value *v) {
    Value *a[1] = {v};
    return arg_scalar(I, call, a, 0);
}

Value *torch_arith(Interp *I, Value *call, char op, Value *a, Value *b) {
    bool ta = a && a->kind == V_TENSOR, tb = b && b->kind == V_TENSOR;
    if (!ta && !tb)
        lisp_fail(I, loc_of(call), "%s: argument 1 must be a tensor, got %s", t_fname(call), t_kind(I, a));
    if (ta && is_scalar(b)) {                    /* t op s */
        double s = scalar_of(I, call, b);
        switch (op) {
        case '+': RET(t_scal(I, call, OP_ADD_SCALAR, a->t, s));
        case '-': RET(t_scal(I, call, OP_ADD_SCALAR, a->t, -s));
        case '*': RET(t_scal(I, call, OP_MUL_SCALAR, a->t, s));
        case '/': RET(t_scal(I, call, OP_DIV_SCALAR, a->t, s));
        }
    } else if (tb && is_scalar(a)) {             /* s op t */
        double s = scalar_of(I, call, a);
        switch (op) {
        case '+': RET(t_scal(I, call, OP_ADD_SCALAR, b->t, s));
        case '-': RET(t_scal(I, call, OP_RSUB_SCALAR, b->t, s));
        case '*': RET(t_scal(I, call, OP_MUL_SCALAR, b->t, s));
        case '/': RET(t_scal(I, call, OP_MUL_SCALAR, t_un(I, call, OP_RECIPROCAL, b->t), s));
        }
    } else {
        Node *x = ta ? a->t : t_from_value(I, call, a, 0);
        Node *y = tb ? b->t : t_from_value(I, call, b, 1);
        switch (op) {
        case '+': RET(t_bin(I, call, OP_ADD, x, y));
        case '-': RET(t_bin(I, call, OP_SUB, x, y));
        case '*': RET(t_bin(I, call, OP_MUL, x, y));
        case '/': RET(t_bin(I, call, OP_DIV, x, y));
        }
    }
    lisp_fail(I, loc_of(call), "%s: unknown tensor operator '%c'", t_fname(call), op);
}

BI(bi_add) { return torch_arith(I, call, '+', args[0], args[1]); }
BI(bi_sub) { return torch_arith(I, call, '-', args[0], args[1]); }
BI(bi_mul) { return torch_arith(I, call, '*', args[0], args[1]); }
BI(bi_div) { return torch_arith(I, call, '/', args[0], args[1]); }
BI(bi_add_scalar) { RET(t_scal(I, call, OP_ADD_SCALAR, T(0), arg_scalar(I, call, args, 1))); }
BI(bi_sub_scalar) { RET(t_scal(I, call, OP_ADD_SCALAR, T(0), -arg_scalar(I, call, args, 1))); }
BI(bi_mul_scalar) { RET(t_scal(I, call, OP_MUL_SCALAR, T(0), arg_scalar(I, call, args, 1))); }
BI(bi_div_scalar) { RET(t_scal(I, call, OP_DIV_SCALAR, T(0), arg_scalar(I, call, args, 1))); }

BI(bi_matmul) { RET(t_bin(I, call, OP_MATMUL, T(0), T(1))); }
/* linear(x W (b)) = x.W^T (+ b) */
BI(bi_linear) { RET(t_linear(I, call, T(0), T(1), t_given(args, nargs, 2) ? T(2) : NULL)); }

BI(bi_pow) {
    Node *x = T(0);
    if (!is_scalar(args[1]))
        lisp_fail(I, loc_of(call), "%s: argument 2 (exponent) must be a number", t_fname(call));
    RET(t_scal(I, call, OP_POW_SCALAR, x, arg_scalar(I, call, args, 1)));
}

/* clamp(t min max): nil bounds are open. */
BI(bi_clamp) {
    Node *x = T(0);
    Attr a;
    memset(&a, 0, sizeof a);
    a.f = t_given(args, nargs, 1) ? arg_scalar(I, call, args, 1) : -INFINITY;
    a.f2 = t_given(args, nargs, 2) ? arg_scalar(I, call, args, 2) : INFINITY;
    RET(t_emit(I, call, OP_CLAMP, &x, 1, &a));
}

static Node *masked_fill(Interp *I, Value **args, Value *call) {
    Node *in[2] = {T(0), T(1)};
    Attr a;
    memset(&a, 0, sizeof a);
    a.f = arg_scalar(I, call, args, 2);
    return t_emit(I, call, OP_MASKED_FILL, in, 2, &a);
}
BI(bi_masked_fill) { RET(masked_fill(I, args, call)); }
/* In place: the tensor value itself now names the filled tensor, so every
 * variable sharing it sees the change, as with libtorch's masked_fill_. */
BI(bi_masked_fill_) {
    Node *n = masked_fill(I, args, call);
    if (args[0]->kind == V_TENSOR) {
        journal_tensor(I, args[0]);
        args[0]->t = n;
        n->held = n->graph->gc_epoch;
        return args[0];
    }
    RET(n);
}

#define UNARY(fn, op) BI(fn) { RET(t_un(I, call, op, T(0))); }
UNARY(bi_exp, OP_EXP)      UNARY(bi_log, OP_LOG)        UNARY(bi_log2, OP_LOG2)
UNARY(bi_log10, OP_LOG10)  UNARY(bi_sqrt, OP_SQRT)      UNARY(bi_rsqrt, OP_RSQRT)
UNARY(bi_neg, OP_NEG)      UNARY(bi_abs, OP_ABS)        UNARY(bi_sin, OP_SIN)
UNARY(bi_cos, OP_COS)      UNARY(bi_tan, OP_TAN)        UNARY(bi_floor, OP_FLOOR)
UNARY(bi_ceil, OP_CEIL)    UNARY(bi_round, OP_ROUND)    UNARY(bi_recip, OP_RECIPROCAL)
UNARY(bi_relu, OP_RELU)    UNARY(bi_gelu, OP_GELU)      UNARY(bi_silu, OP_SILU)
UNARY(bi_sigmoid, OP_SIGMOID) UNARY(bi_tanh, OP_TANH)

/* Element type conversions (extensions: lispe_torch has none).  To bool:
 * non-zero is true, so a 0/1 float mask becomes a keep-mask for SDPA. */
static Value *cast_to(Interp *I, Value *call, Value **args, DType t) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.dtype = t;
    Node *x = T(0);
    RET(t_emit(I, call, OP_CAST, &x, 1, &a));
}
BI(bi_to_bool) { (void)nargs; return cast_to(I, call, args, DT_BOOL); }
BI(bi_to_float) { (void)nargs; return cast_to(I, call, args, DT_F32); }
BI(bi_to_long) { (void)nargs; return cast_to(I, call, args, DT_I64); }

/* dropout(t p (training)): identity unless training (the --train flag or an
 * explicit true). */
BI(bi_dropout) {
    Node *x = T(0);
    double p = t_given(args, nargs, 1) ? arg_scalar(I, call, args, 1) : 0.5;
    if (p < 0 || p > 1) lisp_fail(I, loc_of(call), "%s: argument 2 (p) must be in [0, 1], got %g", t_fname(call), p);
    bool training = nargs > 2 ? t_arg_bool(args, nargs, 2, I->training) : I->training;
    if (!training || p == 0) RET(x);
    Attr a;
    memset(&a, 0, sizeof a);
    a.p = p; a.training = true; a.seed = t_next_seed(I);
    RET(t_emit(I, call, OP_DROPOUT, &x, 1, &a));
}

static Value *axis_op(Interp *I, Value **args, int nargs, Value *call, Op op, bool keepdflt) {
    Node *x = T(0);
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = t_axis(I, call, 1, arg_int(I, call, args, 1), x->shape.rank);
    a.keepdim = t_arg_bool(args, nargs, 2, keepdflt);
    RET(t_emit(I, call, op, &x, 1, &a));
}
BI(bi_softmax)     { return axis_op(I, args, nargs, call, OP_SOFTMAX, false); }
BI(bi_log_softmax) { return axis_op(I, args, nargs, call, OP_LOG_SOFTMAX, false); }
BI(bi_cumsum)      { return axis_op(I, args, nargs, call, OP_CUMSUM, false); }
BI(bi_mean_dim)    { return axis_op(I, args, nargs, call, OP_MEAN_DIM, false); }
BI(bi_sum_dim)     { return axis_op(I, args, nargs, call, OP_SUM_DIM, false); }
BI(bi_max_dim)     { return axis_op(I, args, nargs, call, OP_MAX_DIM, false); }

/* argmax(t (dim) (keepdim true)): lispe_torch's default keepdim is true; a nil
 * dim is the argmax of the flattened tensor (a rank-0 result). */
BI(bi_argmax) {
    Node *x = T(0);
    if (!t_given(args, nargs, 1)) {
        Dim n = shape_numel(&x->shape);
        Shape s;
        memset(&s, 0, sizeof s);
        s.rank = 1; s.d[0] = n;
        if (n.k < 0) s.d[0] = dim_const(-1);
        Node *f = t_reshape(I, call, x, &s);
        Attr a;
        memset(&a, 0, sizeof a);
        RET(t_emit(I, call, OP_ARGMAX, &f, 1, &a));
    }
    return axis_op(I, args, nargs, call, OP_ARGMAX, true);
}

/* rms_norm(x w (eps 1e-6)) = x * rsqrt(mean(x^2, -1) + eps) * w */
BI(bi_rms_norm) {
    Node *in[2] = {T(0), T(1)};
    Attr a;
    memset(&a, 0, sizeof a);
    a.eps = t_given(args, nargs, 2) ? arg_scalar(I, call, args, 2) : 1e-6;
    RET(t_emit(I, call, OP_RMS_NORM, in, 2, &a));
}

/* ---- values back to LispE (force the data; errors inside a trace) ---------- */
static const float *forced(Interp *I, Value *call, Node *x, size_t *n) {
    if (x->graph != I->eager)
        lisp_fail(I, loc_of(call), "%s: data-dependent value in traced function '%s' (the result would depend on the inputs' values)",
                  t_fname(call), x->graph && x->graph->name ? x->graph->name : "?");
    LtcDiag d;
    memset(&d, 0, sizeof d);
    if (ir_force(x, &d) < 0) lisp_fail(I, loc_of(call), "%s: %s", t_fname(call), d.msg);
    *n = (size_t)shape_numel(&x->shape).k;
    return x->data;
}

/* Element i as a double, whatever the storage type. */
static double elem(const Node *x, const void *p, size_t i) {
    if (dtype_is_float(x->dtype)) return ((const float *)p)[i];
    if (x->dtype == DT_I64) return (double)((const int64_t *)p)[i];
    return ((const uint8_t *)p)[i];
}

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_STD } Red;

static Value *reduce(Interp *I, Value **args, Value *call, Red r) {
    Node *x = T(0);
    size_t n;
    const void *p = forced(I, call, x, &n);
    if (n == 0 && (r == R_MAX || r == R_MIN))
        lisp_fail(I, loc_of(call), "%s: empty tensor", t_fname(call));
    double acc = 0, m = n ? elem(x, p, 0) : 0;
    for (size_t i = 0; i < n; i++) {
        double v = elem(x, p, i);
        acc += v;
        if (r == R_MAX && v > m) m = v;
        if (r == R_MIN && v < m) m = v;
    }
    switch (r) {
    case R_SUM: return v_num(I, acc);
    case R_MEAN: return v_num(I, n ? acc / (double)n : NAN);
    case R_MAX: case R_MIN: return v_num(I, m);
    case R_STD: {                                /* unbiased, as torch.std */
        double mean = n ? acc / (double)n : 0, ss = 0;
        for (size_t i = 0; i < n; i++) { double e = elem(x, p, i) - mean; ss += e * e; }
        return v_num(I, n > 1 ? sqrt(ss / (double)(n - 1)) : NAN);
    }
    }
    return v_nil();
}
BI(bi_sum)  { return reduce(I, args, call, R_SUM); }
BI(bi_mean) { return reduce(I, args, call, R_MEAN); }
BI(bi_max)  { return reduce(I, args, call, R_MAX); }
BI(bi_min)  { return reduce(I, args, call, R_MIN); }
BI(bi_std)  { return reduce(I, args, call, R_STD); }

BI(bi_item) {
    Node *x = T(0);
    size_t n;
    const void *p = forced(I, call, x, &n);
    if (n != 1)
        lisp_fail(I, loc_of(call), "%s: a tensor with %zu elements cannot be converted to a scalar", t_fname(call), n);
    if (dtype_is_float(x->dtype)) { Value *v = v_num(I, ((const float *)p)[0]); v->is_float = true; return v; }
    if (x->dtype == DT_I64) return v_int(I, ((const int64_t *)p)[0]);
    return v_bool(((const uint8_t *)p)[0] != 0);
}

/* tensor_to_list: a flat list for rank <= 1, nested lists otherwise. */
static Value *to_list(Interp *I, const Node *x, const void *p, int dim, size_t *pos) {
    int64_t n = x->shape.rank ? x->shape.d[dim].k : 1;
    bool leaf = x->shape.rank == 0 || dim == x->shape.rank - 1;
    Value *l = v_list(I, !leaf ? L_LIST : dtype_is_float(x->dtype) ? L_FLOATS : L_INTEGERS);
    for (int64_t i = 0; i < n; i++) {
        if (!leaf) { v_push(I, l, to_list(I, x, p, dim + 1, pos)); continue; }
        double v = elem(x, p, (*pos)++);
        if (dtype_is_float(x->dtype)) { Value *f = v_num(I, v); f->is_float = true; v_push(I, l, f); }
        else v_push(I, l, v_int(I, (int64_t)v));
    }
    return l;
}
BI(bi_to_list) {
    Node *x = T(0);
    size_t n, pos = 0;
    const void *p = forced(I, call, x, &n);
    return to_list(I, x, p, 0, &pos);
}

const Builtin torch_tensor_builtins[] = {
    {"tensor_create", 1, 1, bi_tensor_create, "torch_tensor"},
    {"tensor_zeros", 1, 1, bi_zeros, "torch_zeros"},
    {"tensor_ones", 1, 1, bi_ones, "torch_ones"},
    {"tensor_full", 2, 2, bi_full, "torch_full"},
    {"tensor_randn", 1, 1, bi_randn, "torch_randn"},
    {"tensor_rand", 1, 1, bi_rand, "torch_rand"},
    {"tensor_triu", 1, 2, bi_triu, "torch_triu"},
    {"tensor_tril", 1, 2, bi_tril, "torch_tril"},
    {"tensor_full_like", 2, 2, bi_full_like, "torch_full_like"},
    {"tensor_arange", 1, 3, bi_arange, "torch_arange"},
    {"tensor_reshape", 2, 2, bi_reshape, "torch_reshape"},
    {"tensor_view", 2, 2, bi_reshape, "torch_view"},
    {"tensor_transpose", 3, 3, bi_transpose, "torch_transpose"},
    {"tensor_permute", 2, 2, bi_permute, "torch_permute"},
    {"tensor_unsqueeze", 2, 2, bi_unsqueeze, "torch_unsqueeze"},
    {"tensor_squeeze", 1, 2, bi_squeeze, "torch_squeeze"},
    {"tensor_contiguous", 1, 1, bi_contiguous, "torch_contiguous"},
    {"tensor_cat", 1, 2, bi_cat, "torch_cat"},
    {"tensor_slice", 2, 4, bi_slice, "torch_slice"},
    {"tensor_select", 3, 3, bi_select, "torch_select"},
    {"tensor_size", 1, 2, bi_size, "torch_size"},
    {"tensor_shape", 1, 2, bi_size, "torch_shape"},
    {"tensor_numel", 1, 1, bi_numel, "torch_numel"},
    {"tensor_dim", 1, 1, bi_dim, "torch_dim"},
    {"tensor_add", 2, 2, bi_add, "torch_add"},
    {"tensor_sub", 2, 2, bi_sub, "torch_sub"},
    {"tensor_mul", 2, 2, bi_mul, "torch_mul"},
    {"tensor_div", 2, 2, bi_div, "torch_div"},
    {"tensor_add_scalar", 2, 2, bi_add_scalar, "torch_add_scalar"},
    {"tensor_sub_scalar", 2, 2, bi_sub_scalar, "torch_sub_scalar"},
    {"tensor_mul_scalar", 2, 2, bi_mul_scalar, "torch_mul_scalar"},
    {"tensor_div_scalar", 2, 2, bi_div_scalar, "torch_div_scalar"},
    {"tensor_matmul", 2, 2, bi_matmul, "torch_matmul"},
    {"tensor_linear", 2, 3, bi_linear, NULL},
    {"tensor_pow", 2, 2, bi_pow, "torch_pow"},
    {"tensor_exp", 1, 1, bi_exp, "torch_exp"},
    {"tensor_log", 1, 1, bi_log, "torch_log"},
    {"tensor_log2", 1, 1, bi_log2, "torch_log2"},
    {"tensor_log10", 1, 1, bi_log10, "torch_log10"},
    {"tensor_sqrt", 1, 1, bi_sqrt, "torch_sqrt"},
    {"tensor_rsqrt", 1, 1, bi_rsqrt, "torch_rsqrt"},
    {"tensor_neg", 1, 1, bi_neg, "torch_neg"},
    {"tensor_abs", 1, 1, bi_abs, "torch_abs"},
    {"tensor_sin", 1, 1, bi_sin, "torch_sin"},
    {"tensor_cos", 1, 1, bi_cos, "torch_cos"},
    {"tensor_tan", 1, 1, bi_tan, "torch_tan"},
    {"tensor_floor", 1, 1, bi_floor, "torch_floor"},
    {"tensor_ceil", 1, 1, bi_ceil, "torch_ceil"},
    {"tensor_round", 1, 1, bi_round, "torch_round"},
    {"tensor_reciprocal", 1, 1, bi_recip, "torch_reciprocal"},
    {"tensor_clamp", 2, 3, bi_clamp, "torch_clamp"},
    {"tensor_masked_fill", 3, 3, bi_masked_fill, "torch_masked_fill"},
    {"tensor_masked_fill_", 3, 3, bi_masked_fill_, "torch_masked_fill_"},
    {"tensor_relu", 1, 1, bi_relu, "torch_relu"},
    {"tensor_to_bool", 1, 1, bi_to_bool, "torch_to_bool"},
    {"tensor_to_float", 1, 1, bi_to_float, "torch_to_float"},
    {"tensor_to_long", 1, 1, bi_to_long, "torch_to_long"},
    {"tensor_gelu", 1, 1, bi_gelu, "torch_gelu"},
    {"tensor_silu", 1, 1, bi_silu, "torch_silu"},
    {"tensor_sigmoid", 1, 1, bi_sigmoid, "torch_sigmoid"},
    {"tensor_tanh", 1, 1, bi_tanh, "torch_tanh"},
    {"tensor_dropout", 1, 3, bi_dropout, "torch_dropout"},
    {"tensor_softmax", 2, 2, bi_softmax, "torch_softmax"},
    {"tensor_log_softmax", 2, 2, bi_log_softmax, "torch_log_softmax"},
    {"tensor_cumsum", 2, 2, bi_cumsum, "torch_cumsum"},
    {"tensor_mean_dim", 2, 3, bi_mean_dim, "torch_mean_dim"},
    {"tensor_sum_dim", 2, 3, bi_sum_dim, "torch_sum_dim"},
    {"tensor_max_dim", 2, 3, bi_max_dim, "torch_max_dim"},
    {"tensor_argmax", 1, 3, bi_argmax, "torch_argmax"},
    {"tensor_rms_norm", 2, 3, bi_rms_norm, NULL},
    {"tensor_sum", 1, 1, bi_sum, "torch_sum"},
    {"tensor_mean", 1, 1, bi_mean, "torch_mean"},
    {"tensor_max", 1, 1, bi_max, "torch_max"},
    {"tensor_min", 1, 1, bi_min, "torch_min"},
    {"tensor_std", 1, 1, bi_std, "torch_std"},
    {"tensor_item", 1, 1, bi_item, "torch_item"},
    {"tensor_to_list", 1, 1, bi_to_list, "torch_to_list"},
    {NULL, 0, 0, NULL, NULL},
};
