/* torch_util.c: the small node-building helpers shared by the lispe_torch
 * builtins (see torch.h).  Every helper raises a located error through
 * lisp_fail when the op is rejected, so callers never check for NULL. */
#include "frontend/torch.h"
#include "frontend/core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


const char *t_fname(Value *call) {
    if (call && call->kind == V_LIST && call->nitems > 0 && call->items[0] &&
        (call->items[0]->kind == V_SYM || call->items[0]->kind == V_STR) && call->items[0]->s)
        return call->items[0]->s;
    return "lispe_torch";
}

const char *t_kind(Interp *I, const Value *v) {
    if (!v) return "nothing";
    if (v->kind == V_NIL || v->kind == V_TRUE) return v_kind_name(v);
    const char *n = v_kind_name(v);
    return arena_printf(I->arena, "%s %s", strchr("aeiou", n[0]) ? "an" : "a", n);
}

bool t_given(Value **args, int nargs, int k) {
    return k < nargs && args[k] && args[k]->kind != V_NIL;
}

Graph *t_graph(Interp *I) { return I->trace ? I->trace : I->eager; }

int64_t t_dim_example(const Graph *g, Dim d) {
    if (!d.sym || !g) return d.k;
    SymBind b = {{0}, g->nsyms};
    for (int i = 0; i < g->nsyms; i++) b.vals[i] = g->syms[i].example;
    return dim_eval(d, &b);
}

Dim t_arg_dim(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v && v->kind == V_INT) return v->sym.sym ? v->sym : dim_const(v->i);
    return dim_const(arg_int(I, call, args, k));   /* converts or raises */
}

int t_axis(Interp *I, Value *call, int k, int64_t axis, int rank) {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        lisp_fail(I, loc_of(call), "%s: argument %d (dim) is out of range for a rank-%d tensor (got %lld)",
                  t_fname(call), k + 1, rank, (long long)axis);
    return (int)a;
}

/* LispE has no false distinct from nil; 0 also reads as false, which is how
 * lispe_torch users switch flags off. */
bool t_arg_bool(Value **args, int nargs, int k, bool dflt) {
    if (k >= nargs || !args[k]) return dflt;
    Value *v = args[k];
    if (v->kind == V_INT) return v->i != 0;
    if (v->kind == V_NUM) return v->n != 0;
    return v_truthy(v);
}

/* splitmix64 finaliser: distinct, well-mixed seeds from (session seed, n). */
static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t t_next_seed(Interp *I) {
    uint64_t n = I->eager->next_seed++;
    return mix64(I->seed ^ mix64(n)) | 1;   /* never 0: 0 may mean "unset" */
}

Value *t_dim_value(Interp *I, const Graph *g, Dim d) {
    Value *v = v_int(I, t_dim_example(g, d));
    if (d.sym) v->sym = d;
    return v;
}

Node *t_emit(Interp *I, Value *call, Op op, Node **in, int nin, const Attr *a) {
    Attr zero;
    if (!a) { memset(&zero, 0, sizeof zero); a = &zero; }
    return lisp_emit(I, call, op, in, nin, a);
}

Node *t_emit_eager(Interp *I, Value *call, Op op, const Attr *a) {
    LtcDiag d;
    memset(&d, 0, sizeof d);
    Node *n = ir_emit(I->eager, op, NULL, 0, a, loc_of(call), &d);
    if (!n) lisp_fail(I, loc_of(call), "%s: %s", t_fname(call), d.msg);
    return n;
}

Node *t_un(Interp *I, Value *call, Op op, Node *x) {
    return t_emit(I, call, op, &x, 1, NULL);
}

Node *t_bin(Interp *I, Value *call, Op op, Node *x, Node *y) {
    Node *in[2] = {x, y};
    return t_emit(I, call, op, in, 2, NULL);
}

Node *t_scal(Interp *I, Value *call, Op op, Node *x, double f) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.f = f;
    return t_emit(I, call, op, &x, 1, &a);
}

Node *t_reshape(Interp *I, Value *call, Node *x, const Shape *s) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s;
    return t_emit(I, call, OP_RESHAPE, &x, 1, &a);
}

Node *t_permute(Interp *I, Value *call, Node *x, const int *perm) {
    Attr a;
    memset(&a, 0, sizeof a);
    memcpy(a.perm, perm, sizeof(int) * (size_t)x->shape.rank);
    return t_emit(I, call, OP_PERMUTE, &x, 1, &a);
}

/* Python slicing bounds as torch clamps them: negative counts from the end,
 * then clamp to [0, size] and end >= start.  On a symbolic dimension only
 * bounds that are exact for every size are accepted: a start >= 0, an end
 * that is a size expression, or an end past the example size (= to the end).
 * A symbolic bound on a constant dimension (pe[:S] of a [max_len,..]
 * buffer) stays a SLICE: the interpreter checks it at run time, and the
 * plan carries it as a limit (plan/plan.h PlanLimit) that the executor
 * checks once the symbols are bound. */
Node *t_slice(Interp *I, Value *call, Node *x, int axis, Dim start, Dim end) {
    Dim D = x->shape.d[axis];
    SrcLoc loc = loc_of(call);
    if (!D.sym) {
        int64_t n = D.k;
        if (!start.sym) {
            int64_t s = start.k < 0 ? start.k + n : start.k;
            start = dim_const(s < 0 ? 0 : s > n ? n : s);
        }
        if (!end.sym) {
            int64_t e = end.k < 0 ? end.k + n : end.k;
            e = e < 0 ? 0 : e > n ? n : e;
            if (!start.sym && e < start.k) e = start.k;
            end = dim_const(e);
        }
    } else {
        /* Negative bounds count from the end: the shape rule makes -1 the
         * size expression D-1.  A constant end at or past the traced size
         * means "to the end" only while D <= end: a guard, so a bigger D is
         * refused instead of silently cut (x[:, :512] on S = 600). */
        int64_t ex = t_dim_example(x->graph, D);
        if (!start.sym && start.k < 0 && start.k + ex < 0)
            lisp_fail(I, loc, "%s: start %lld is before the beginning of dimension %d (size %lld here)",
                      t_fname(call), (long long)start.k, axis, (long long)ex);
        if (!end.sym && end.k < 0 && end.k + ex < 0)
            lisp_fail(I, loc, "%s: end %lld is before the beginning of dimension %d (size %lld here)",
                      t_fname(call), (long long)end.k, axis, (long long)ex);
        if (!end.sym && end.k >= ex) {
            if (end.k < INT64_MAX / 2 && I->trace) {
                char why[200];
                snprintf(why, sizeof why, "the slice end %lld of '%s' reads to the end only while the size is at "
                         "most %lld", (long long)end.k, t_fname(call), (long long)end.k);
                if (graph_add_guard(I->trace, D, INT64_MIN, end.k, loc, why))
                    lisp_fail(I, loc, "out of memory");
            }
            end = D;
        }
    }
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = axis; a.start = start; a.end = end; a.step = 1;
    return t_emit(I, call, OP_SLICE, &x, 1, &a);
}

Node *t_linear(Interp *I, Value *call, Node *x, Node *w, Node *b) {
    Node *in[3] = {x, w, b};
    return t_emit(I, call, OP_LINEAR, in, b ? 3 : 2, NULL);
}

Node *t_full(Interp *I, Value *call, const Shape *s, DType dt, double f) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = dt; a.f = f;
    return t_emit(I, call, OP_FULL, NULL, 0, &a);
}

/* The shape rule knows nothing of values: the data is attached afterwards. */
static Node *set_const_data(Node *n, void *data) {
    n->data = data;
    return n;
}

Node *t_const(Interp *I, Value *call, DType dt, const Shape *s, void *data) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = dt;
    return set_const_data(t_emit(I, call, OP_CONST, NULL, 0, &a), data);
}

Node *t_const_eager(Interp *I, Value *call, DType dt, const Shape *s, void *data) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = dt;
    return set_const_data(t_emit_eager(I, call, OP_CONST, &a), data);
}

Node *t_param_uniform(Interp *I, Value *call, const Shape *s, double bound) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = DT_F32; a.lo = -bound; a.hi = bound; a.seed = t_next_seed(I);
    return t_emit_eager(I, call, OP_RAND, &a);
}

Node *t_param_normal(Interp *I, Value *call, const Shape *s, double std) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = DT_F32; a.lo = 0.0; a.hi = std; a.seed = t_next_seed(I);
    return t_emit_eager(I, call, OP_RANDN, &a);
}

Node *t_param_full(Interp *I, Value *call, const Shape *s, double f) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape = *s; a.dtype = DT_F32; a.f = f;
    return t_emit_eager(I, call, OP_FULL, &a);
}

Shape t_shape1(int64_t a) {
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1; s.d[0] = dim_const(a);
    return s;
}

Shape t_shape2(int64_t a, int64_t b) {
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 2; s.d[0] = dim_const(a); s.d[1] = dim_const(b);
    return s;
}

/* ---- LispE data -> tensor -------------------------------------------------- */
typedef struct Flat {
    Shape shape; bool isfloat; bool shaped;
    double *vals; size_t n, cap;
} Flat;

static bool is_number(const Value *v) {
    return v && (v->kind == V_INT || v->kind == V_NUM || v->kind == V_TRUE);
}

static void flat_push(Interp *I, Flat *f, double x) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        double *nv = arena_alloc_big(I->arena, cap * sizeof *nv);
        if (!nv) lisp_fail(I, (SrcLoc){0}, "out of memory");
        if (f->n) memcpy(nv, f->vals, f->n * sizeof *nv);
        f->vals = nv; f->cap = cap;
    }
    f->vals[f->n++] = x;
}

/* Walk nested lists: the first path down fixes the shape, every other list
 * at the same depth must have the same length (ragged lists are errors). */
static void flatten(Interp *I, Value *call, int k, Value *v, int depth, Flat *f) {
    SrcLoc loc = loc_of(call);
    if (is_number(v)) {
        if (!f->shaped) { f->shape.rank = depth; f->shaped = true; }
        else if (depth != f->shape.rank)
            lisp_fail(I, loc, "%s: argument %d is a ragged nested list", t_fname(call), k + 1);
        if (v->kind == V_NUM) f->isfloat = true;
        core_specialise(I, v, call, "tensor data");
        flat_push(I, f, v->kind == V_INT ? (double)v->i : v->kind == V_TRUE ? 1.0 : v->n);
        return;
    }
    if (!v || v->kind != V_LIST)
        lisp_fail(I, loc, "%s: argument %d must be a number or a list of numbers, got %s",
                  t_fname(call), k + 1, t_kind(I, v));
    if (depth >= LTC_MAX_RANK)
        lisp_fail(I, loc, "%s: argument %d is nested deeper than %d levels", t_fname(call), k + 1, LTC_MAX_RANK);
    if (v->lkind == L_FLOATS || v->lkind == L_NUMBERS) f->isfloat = true;
    if (!f->shaped) {
        f->shape.d[depth] = dim_const(v->nitems);
        if (v->nitems == 0) { f->shape.rank = depth + 1; f->shaped = true; }
    } else if (depth >= f->shape.rank || f->shape.d[depth].k != v->nitems) {
        lisp_fail(I, loc, "%s: argument %d is a ragged nested list", t_fname(call), k + 1);
    }
    for (int i = 0; i < v->nitems; i++) flatten(I, call, k, v->items[i], depth + 1, f);
}

Node *t_from_value(Interp *I, Value *call, Value *v, int k) {
    if (v && v->kind == V_TENSOR) return v->t;
    Flat f;
    memset(&f, 0, sizeof f);
    if (v && v->kind == V_INT && v->sym.sym)
        lisp_fail(I, loc_of(call), "%s: argument %d is a symbolic size, which cannot become tensor data",
                  t_fname(call), k + 1);
    flatten(I, call, k, v, 0, &f);
    DType dt = f.isfloat ? DT_F32 : DT_I64;
    void *data = arena_alloc_big(I->arena, (f.n ? f.n : 1) * dtype_storage_size(dt));
    if (!data) lisp_fail(I, loc_of(call), "out of memory");
    for (size_t i = 0; i < f.n; i++) {
        if (dt == DT_F32) ((float *)data)[i] = (float)f.vals[i];
        else ((int64_t *)data)[i] = (int64_t)f.vals[i];
    }
    return t_const(I, call, dt, &f.shape, data);
}

Node *t_arg_tensor(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v && v->kind == V_TENSOR) return v->t;
    if (v && v->kind == V_LIST) return t_from_value(I, call, v, k);
    lisp_fail(I, loc_of(call), "%s: argument %d must be a tensor, got %s",
              t_fname(call), k + 1, t_kind(I, v));
}

Node *t_sdpa(Interp *I, Value *call, Node *q, Node *k, Node *v, Node *mask,
             double scale, bool causal, double p, bool training) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.scale = scale;
    a.causal = causal;
    if (training && p > 0) { a.p = p; a.training = true; a.seed = t_next_seed(I); }
    Node *in[4] = {q, k, v, mask};
    return t_emit(I, call, OP_SDPA, in, mask ? 4 : 3, &a);
}
