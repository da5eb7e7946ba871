/* core_tensor.c: where the language core meets tensors: argument helpers
 * for builtins, emitting graph nodes with located errors, converting LispE
 * lists to constant tensors, and printing tensors as libtorch does. */
#include "frontend/core.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

_Noreturn static void bad_arg(Interp *I, Value *call, int k, const char *want, Value *got) {
    lisp_fail(I, call ? call->loc : (SrcLoc){0}, "%s: argument %d must be %s, got %s %s", core_call_name(call),
              k + 1, want, v_article(v_kind_name(got)), v_kind_name(got));
}

void core_guard(Interp *I, const Value *v, int64_t lo, int64_t hi, Value *call, const char *how) {
    if (!v || v->kind != V_INT || !v->sym.sym || !I->trace) return;
    char why[256];
    snprintf(why, sizeof why, "%s uses the value of a symbolic size", how);
    if (graph_add_guard(I->trace, v->sym, lo, hi, call ? call->loc : (SrcLoc){0}, why))
        lisp_fail(I, call ? call->loc : (SrcLoc){0}, "out of memory");
}

int64_t core_specialise(Interp *I, const Value *v, Value *call, const char *how) {
    core_guard(I, v, v->i, v->i, call, how);
    return v->i;
}

int64_t arg_int(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v->kind == V_INT) {
        if (v->sym.sym) {
            char how[160];
            snprintf(how, sizeof how, "argument %d of '%s'", k + 1, core_call_name(call));
            return core_specialise(I, v, call, how);
        }
        return v->i;
    }
    if (v->kind == V_NUM && v->n == floor(v->n) && fabs(v->n) < 9.2e18) return (int64_t)v->n;
    bad_arg(I, call, k, "an integer", v);
}

double arg_num(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v->kind == V_INT) return (double)arg_int(I, call, args, k);
    if (v->kind == V_NUM) return v->n;
    bad_arg(I, call, k, "a number", v);
}

Module *arg_module(Interp *I, Value *call, Value **args, int k, ModKind kind) {
    static const char *names[MOD_COUNT] = {
        "a linear", "a layer norm", "an embedding", "a flash attention", "a multihead attention",
        "a transformer block", "a positional encoding", "a rotary embedding", "an RMS norm",
    };
    Value *v = args[k];
    char want[64];
    snprintf(want, sizeof want, "%s module", (unsigned)kind < MOD_COUNT ? names[kind] : "a");
    if (v->kind != V_MODULE) bad_arg(I, call, k, want, v);
    if ((unsigned)kind < MOD_COUNT && v->mod->kind != kind) {
        const char *got = (unsigned)v->mod->kind < MOD_COUNT ? names[v->mod->kind] : "another";
        lisp_fail(I, call ? call->loc : (SrcLoc){0}, "%s: argument %d must be %s, got %s module",
                  core_call_name(call), k + 1, want, got);
    }
    return v->mod;
}

Shape arg_shape(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    Shape s = {0};
    if (v->kind == V_INT) {
        s.rank = 1;
        s.d[0] = v->sym.sym ? v->sym : dim_const(v->i);
        return s;
    }
    if (v->kind != V_LIST) bad_arg(I, call, k, "a shape (a list of integers)", v);
    if (v->nitems > LTC_MAX_RANK)
        lisp_fail(I, call ? call->loc : (SrcLoc){0}, "%s: argument %d: a shape has at most %d dimensions, got %d",
                  core_call_name(call), k + 1, LTC_MAX_RANK, v->nitems);
    s.rank = v->nitems;
    for (int j = 0; j < v->nitems; j++) {
        Value *e = v->items[j];
        if (e->kind == V_INT) s.d[j] = e->sym.sym ? e->sym : dim_const(e->i);
        else if (e->kind == V_NUM && e->n == floor(e->n) && fabs(e->n) < 9.2e18) s.d[j] = dim_const((int64_t)e->n);
        else lisp_fail(I, call ? call->loc : (SrcLoc){0}, "%s: argument %d: shape element %d must be an integer, got %s %s",
                       core_call_name(call), k + 1, j, v_article(v_kind_name(e)), v_kind_name(e));
    }
    return s;
}

Node *lisp_emit(Interp *I, Value *call, Op op, Node **in, int nin, const Attr *a) {
    Graph *g = I->trace ? I->trace : I->eager;
    SrcLoc loc = call ? call->loc : (SrcLoc){0};
    if (!g) lisp_fail(I, loc, "%s: no graph to build tensors in", core_call_name(call));
    LtcDiag d = {0};
    Attr zero = {0};
    Node *n = ir_emit(g, op, in, nin, a ? a : &zero, loc, &d);
    if (!n) lisp_fail(I, loc, "%s: %s", core_call_name(call), d.msg);
    return n;
}

/* ---- lists -> constant tensors -------------------------------------------------- */

typedef struct { Shape s; bool any_float; int64_t count; } ListShape;

/* Find the shape of a (nested) numeric list; ragged lists are an error. */
static void list_shape(Interp *I, Value *call, int k, Value *v, int depth, ListShape *ls) {
    SrcLoc loc = call ? call->loc : (SrcLoc){0};
    if (depth >= LTC_MAX_RANK) lisp_fail(I, loc, "%s: argument %d: lists nested too deeply", core_call_name(call), k + 1);
    if (ls->s.rank <= depth) {
        ls->s.rank = depth + 1;
        ls->s.d[depth] = dim_const(v->nitems);
    } else if (ls->s.d[depth].k != v->nitems) {
        lisp_fail(I, loc, "%s: argument %d: ragged nested list (%d elements where %lld were expected)",
                  core_call_name(call), k + 1, v->nitems, (long long)ls->s.d[depth].k);
    }
    if (v->lkind == L_FLOATS || v->lkind == L_NUMBERS) ls->any_float = true;
    bool sub = v->nitems > 0 && v->items[0]->kind == V_LIST;
    for (int j = 0; j < v->nitems; j++) {
        Value *e = v->items[j];
        if (sub != (e->kind == V_LIST))
            lisp_fail(I, loc, "%s: argument %d: a tensor needs a list of numbers or of equal-sized lists",
                      core_call_name(call), k + 1);
        if (sub) list_shape(I, call, k, e, depth + 1, ls);
        else if (e->kind == V_NUM) ls->any_float = true;
        else if (e->kind != V_INT) bad_arg(I, call, k, "a list of numbers", e);
    }
    if (!sub && ls->s.rank != depth + 1)
        lisp_fail(I, loc, "%s: argument %d: ragged nested list", core_call_name(call), k + 1);
}

static void list_fill(Value *v, DType dt, void *data, int64_t *pos) {
    for (int j = 0; j < v->nitems; j++) {
        Value *e = v->items[j];
        if (e->kind == V_LIST) {
            list_fill(e, dt, data, pos);
        } else {
            double x = e->kind == V_INT ? (double)e->i : e->n;
            if (dt == DT_I64) ((int64_t *)data)[(*pos)++] = e->kind == V_INT ? e->i : (int64_t)e->n;
            else ((float *)data)[(*pos)++] = (float)x;
        }
    }
}

/* integers -> i64; floats and numbers -> f32 (there is no f64 in the IR). */
static Node *list_to_tensor(Interp *I, Value *call, int k, Value *v) {
    ListShape ls = {0};
    list_shape(I, call, k, v, 0, &ls);
    DType dt = ls.any_float ? DT_F32 : DT_I64;
    int64_t numel = 1;
    for (int j = 0; j < ls.s.rank; j++) numel *= ls.s.d[j].k;
    Attr a = {0};
    a.shape = ls.s;
    a.dtype = dt;
    Node *n = lisp_emit(I, call, OP_CONST, NULL, 0, &a);
    size_t bytes = (size_t)(numel ? numel : 1) * dtype_storage_size(dt);
    if (!(n->data = arena_alloc_big(I->arena, bytes))) lisp_fail(I, call ? call->loc : (SrcLoc){0}, "out of memory");
    int64_t pos = 0;
    list_fill(v, dt, n->data, &pos);
    return n;
}

Node *arg_tensor(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v->kind == V_TENSOR) return v->t;
    if (v->kind == V_LIST) return list_to_tensor(I, call, k, v);
    bad_arg(I, call, k, "a tensor (or a list of numbers)", v);
}

/* ---- reading values --------------------------------------------------------------- */

static bool concrete_numel(const Node *t, int64_t *numel) {
    int64_t n = 1;
    for (int j = 0; j < t->shape.rank; j++) {
        if (t->shape.d[j].sym) return false;
        n *= t->shape.d[j].k;
    }
    *numel = n;
    return true;
}

static void force(Interp *I, Value *call, Node *t) {
    SrcLoc loc = call ? call->loc : t->loc;
    if (!t->graph || !t->graph->eager)
        lisp_fail(I, loc, "%s: tensor values are not known inside a traced function (data-dependent value)",
                  core_call_name(call));
    LtcDiag d = {0};
    if (!t->data && ir_force(t, &d) < 0) lisp_fail(I, loc, "%s", d.msg);
    if (!t->data) lisp_fail(I, loc, "%s: tensor has no value", core_call_name(call));
}

static double elem(const Node *t, int64_t i) {
    switch (t->dtype) {
    case DT_I64: return (double)((const int64_t *)t->data)[i];
    case DT_BOOL: return ((const uint8_t *)t->data)[i];
    default: return ((const float *)t->data)[i];
    }
}

Value *core_tensor_at(Interp *I, Value *call, Node *t, int64_t idx) {
    int64_t numel;
    if (!concrete_numel(t, &numel))
        lisp_fail(I, call ? call->loc : t->loc, "%s: tensor values are not known inside a traced function", core_call_name(call));
    int64_t i = idx < 0 ? idx + numel : idx;
    if (i < 0 || i >= numel)
        lisp_fail(I, call ? call->loc : t->loc, "%s: index %lld out of range for a tensor of %lld elements",
                  core_call_name(call), (long long)idx, (long long)numel);
    force(I, call, t);
    if (t->dtype == DT_I64) return v_int(I, ((const int64_t *)t->data)[i]);
    if (t->dtype == DT_BOOL) return v_bool(((const uint8_t *)t->data)[i] != 0);
    Value *v = v_num(I, ((const float *)t->data)[i]);
    v->is_float = true;
    return v;
}

/* ---- printing like libtorch's operator<< ------------------------------------------- */

static const char *torch_type_name(DType t) {
    switch (t) {
    case DT_F32: return "CPUFloatType";
    case DT_F16: return "CPUHalfType";
    case DT_BF16: return "CPUBFloat16Type";
    case DT_I64: return "CPULongType";
    case DT_BOOL: return "CPUBoolType";
    default: return "CPUType";
    }
}

typedef struct { bool sci, fixed; int width; double scale; } Fmt;

/* libtorch's __printFormat: integers print as integers; a wide range of
 * magnitudes prints in scientific notation; otherwise fixed with 4 decimals,
 * with a common scale factor for very large or small values. */
static Fmt print_format(const Node *t, int64_t numel) {
    Fmt f = {false, false, 11, 1};
    bool int_mode = true;
    int64_t first = -1;
    for (int64_t i = 0; i < numel; i++) {
        double z = elem(t, i);
        if (isfinite(z) && z != ceil(z)) int_mode = false;
        if (first < 0 && isfinite(z)) first = i;
    }
    double emin = 1, emax = 1;
    if (first >= 0) {
        emin = emax = fabs(elem(t, first));
        for (int64_t i = first; i < numel; i++) {
            double z = fabs(elem(t, i));
            if (!isfinite(z)) continue;
            if (z < emin) emin = z;
            if (elem(t, i) > emax) emax = z;     /* libtorch compares the signed value */
        }
        emin = emin != 0 ? floor(log10(emin)) + 1 : 1;
        emax = emax != 0 ? floor(log10(emax)) + 1 : 1;
    }
    if (int_mode) {
        if (emax > 9) f.sci = true, f.width = 11;
        else f.width = (int)emax + 1;
    } else if (emax - emin > 4) {
        f.sci = true;
        f.width = (fabs(emax) > 99 || fabs(emin) > 99) ? 12 : 11;
    } else if (emax > 5 || emax < 0) {
        f.fixed = true;
        f.width = 7;
        f.scale = pow(10, emax - 1);
    } else {
        f.fixed = true;
        f.width = emax == 0 ? 7 : (int)emax + 6;
    }
    return f;
}

static void print_elem(StrBuf *out, const Fmt *f, double x) {
    x /= f->scale;
    if (isnan(x)) sb_printf(out, "%*s", f->width, "nan");
    else if (isinf(x)) sb_printf(out, "%*s", f->width, x < 0 ? "-inf" : "inf");
    else if (f->sci) sb_printf(out, "%*.4e", f->width, x);
    else if (f->fixed) sb_printf(out, "%*.4f", f->width, x);
    else sb_printf(out, "%*.0f", f->width, x);
}

/* rows x cols block starting at flat offset `off`, split into column
 * groups that fit 80 characters. */
static void print_matrix(StrBuf *out, const Node *t, const Fmt *f, int64_t off, int64_t rows, int64_t cols) {
    int64_t per_line = 80 / (f->width + 1);
    if (per_line < 1) per_line = 1;
    for (int64_t c0 = 0; c0 < cols; c0 += per_line) {
        int64_t c1 = c0 + per_line < cols ? c0 + per_line : cols;
        if (per_line < cols) {
            if (c0) sb_putc(out, '\n');
            sb_printf(out, "Columns %lld to %lld\n", (long long)c0 + 1, (long long)c1);
        }
        if (f->scale != 1) sb_printf(out, "%g *\n", f->scale);
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t c = c0; c < c1; c++) {
                print_elem(out, f, elem(t, off + r * cols + c));
                sb_putc(out, c == c1 - 1 ? '\n' : ' ');
            }
        }
    }
}

static void print_type(StrBuf *out, const Node *t) {
    sb_printf(out, "[ %s{", torch_type_name(t->dtype));
    for (int j = 0; j < t->shape.rank; j++) sb_printf(out, "%s%lld", j ? "," : "", (long long)t->shape.d[j].k);
    sb_puts(out, "} ]");
}

#define PRINT_MAX_ELEMENTS 1000

void core_print_tensor(Interp *I, Node *t, StrBuf *out) {
    int64_t numel;
    if (!t->graph) {
        sb_puts(out, "<tensor>");
        return;
    }
    /* the function JIT's trace (jit_call.c) prints only what the eager
     * call would: a traced tensor has no value yet, so the call runs
     * eagerly (the trace fails here, and is undone) */
    if (I->journal && !t->graph->eager && t->graph == I->trace)
        lisp_fail(I, t->loc, "printing a tensor computed inside the call needs its value");
    if (!t->graph->eager || !concrete_numel(t, &numel)) {
        char buf[256];
        sb_printf(out, "<tensor %s %s>", shape_str(t->graph, &t->shape, buf, sizeof buf), dtype_name(t->dtype));
        return;
    }
    if (numel > PRINT_MAX_ELEMENTS || numel == 0) {
        print_type(out, t);
        return;
    }
    if (!t->data) {
        /* printing may happen outside an evaluation (no error handler):
         * report a failure in the text rather than unwinding */
        LtcDiag d = {0};
        if (ir_force(t, &d) < 0 || !t->data) {
            if (I->on_error) lisp_fail(I, t->loc, "%s", d.msg[0] ? d.msg : "tensor has no value");
            sb_printf(out, "<tensor: error: %s>", d.msg);
            return;
        }
    }
    if (t->shape.rank == 0) {
        sb_printf(out, "%g\n", elem(t, 0));
        print_type(out, t);
        return;
    }
    Fmt f = print_format(t, numel);
    int rank = t->shape.rank;
    if (rank == 1) {
        if (f.scale != 1) sb_printf(out, "%g *\n", f.scale);
        for (int64_t i = 0; i < numel; i++) {
            print_elem(out, &f, elem(t, i));
            sb_putc(out, '\n');
        }
    } else if (rank == 2) {
        print_matrix(out, t, &f, 0, t->shape.d[0].k, t->shape.d[1].k);
    } else {
        /* (i,j,.,.) = blocks over the leading dimensions */
        int64_t rows = t->shape.d[rank - 2].k, cols = t->shape.d[rank - 1].k;
        int64_t blocks = numel / ((rows * cols) != 0 ? rows * cols : 1);
        for (int64_t b = 0; b < blocks; b++) {
            if (b) sb_putc(out, '\n');
            int64_t idx[LTC_MAX_RANK], rem = b;
            for (int j = rank - 3; j >= 0; j--) {
                idx[j] = rem % t->shape.d[j].k;
                rem /= t->shape.d[j].k;
            }
            sb_putc(out, '(');
            for (int j = 0; j < rank - 2; j++) sb_printf(out, "%lld,", (long long)idx[j] + 1);
            sb_puts(out, ".,.) = \n");
            print_matrix(out, t, &f, b * rows * cols, rows, cols);
        }
    }
    print_type(out, t);
}
