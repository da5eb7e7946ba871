/* builtins_core.c: the LispE core library: lists, dictionaries, typed
 * lists, arithmetic, comparisons, math, printing and conversions.
 *
 * Arguments arrive evaluated.  Arithmetic follows LispE: integers stay
 * integers while exact (`(/ 10 5)` is 2, `(/ 10 6)` is 1.66667), operators
 * work element-wise on lists, `+` concatenates strings, and tensor operands
 * go to the registered tensor_* builtins.  Symbolic sizes (V_INT with sym)
 * survive `*` and exact `/`; anything else uses their example value. */
#include "frontend/core.h"
#include "frontend/torch.h"      /* torch_arith: tensor operands of + - * / */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BI(name) static Value *bi_##name(Interp *I, Value **args, int n, Value *call)

static const char *fname(Value *call) { return core_call_name(call); }
static SrcLoc cloc(Value *call) { return call ? call->loc : (SrcLoc){0}; }

_Noreturn static void bad_arg(Interp *I, Value *call, int k, const char *want, Value *got) {
    lisp_fail(I, cloc(call), "%s: argument %d must be %s, got %s %s", fname(call), k + 1, want,
              v_article(v_kind_name(got)), v_kind_name(got));
}

static bool is_num(const Value *v) { return v->kind == V_INT || v->kind == V_NUM; }
static double num_of(const Value *v) { return v->kind == V_INT ? (double)v->i : v->n; }

static Value *want_list(Interp *I, Value *call, Value **args, int k) {
    if (args[k]->kind != V_LIST) bad_arg(I, call, k, "a list", args[k]);
    return args[k];
}

/* A float (float32) result: rounded to float precision and flagged. */
static Value *v_float(Interp *I, double x) {
    Value *v = v_num(I, (double)(float)x);
    v->is_float = true;
    return v;
}

/* ---- arithmetic ------------------------------------------------------------- */

static Dim int_dim(const Value *v) { return v->sym.sym ? v->sym : dim_const(v->i); }

static Value *tensor_op(Interp *I, Value *call, const char *name, Value **args, int n) {
    const Builtin *b = interp_builtin(I, name);
    if (!b) lisp_fail(I, cloc(call), "%s: tensor operands need '%s', which is not available", fname(call), name);
    Value *fn = v_new(I, V_BUILTIN);
    fn->bi = b;
    Value **a = arena_alloc(I->arena, sizeof *a * (size_t)n);
    if (!a) lisp_fail(I, cloc(call), "out of memory");
    memcpy(a, args, sizeof *a * (size_t)n);
    /* the tensor builtin reports errors under its own name */
    Value *c = v_list(I, L_LIST);
    c->loc = cloc(call);
    v_push(I, c, v_sym(I, name));
    return core_apply(I, fn, a, n, c);
}

_Noreturn static void int_overflow(Interp *I, Value *call, char op, int64_t x, int64_t y) {
    lisp_fail(I, cloc(call), "%s: integer overflow: %lld %c %lld does not fit in 64 bits", fname(call),
              (long long)x, op, (long long)y);
}

/* The quoted operator, for messages: "'-'". */
static const char *op_how(char op) {
    static const char *h[] = {"'+'", "'-'", "'*'", "'/'", "'%'", "'^'"};
    const char *ops = "+-*/%^";
    const char *p = strchr(ops, op);
    return p && *p ? h[p - ops] : "arithmetic";
}

/* a op b on symbolic sizes, as a Dim of the traced graph; false where the
 * result is no size expression (the caller then specialises). */
static bool sym_arith(Interp *I, Value *call, char op, const Value *a, const Value *b, Dim *out) {
    Graph *g = I->trace;
    SrcLoc loc = cloc(call);
    if (!g) {   /* no graph to hold derived symbols: monomials only */
        if (op == '*') return dim_mul(int_dim(a), int_dim(b), out);
        if (op == '/') return dim_div(int_dim(a), int_dim(b), out);
        return false;
    }
    switch (op) {
    case '+': return dim_add(g, int_dim(a), int_dim(b), loc, out);
    case '-': return dim_sub(g, int_dim(a), int_dim(b), loc, out) && dim_example(g, *out) >= 0;
    case '*': return dim_mul_sq(g, int_dim(a), int_dim(b), out);
    case '/':
        if (b->sym.sym) return dim_div(int_dim(a), int_dim(b), out);
        return dim_divq(g, int_dim(a), b->i, loc, out);
    }
    return false;
}

static Value *int_arith(Interp *I, Value *call, char op, Value *a, Value *b) {
    int64_t x = a->i, y = b->i;
    bool symbolic = a->sym.sym || b->sym.sym;
    Dim d;
    Value *r;
    if (symbolic && (op == '+' || op == '-' || op == '*' || (op == '/' && y != 0 && x % y == 0))) {
        if (sym_arith(I, call, op, a, b, &d)) {
            int64_t ex = d.k;
            if (I->trace) ex = dim_example(I->trace, d);
            else if (op == '*' ? __builtin_mul_overflow(x, y, &ex) : (y == 0 || (x == INT64_MIN && y == -1)))
                int_overflow(I, call, op, x, y);
            else if (op == '/') ex = x / y;
            r = v_int(I, d.sym ? ex : d.k);
            if (d.sym) r->sym = d;
            return r;
        }
    }
    if (symbolic) {
        core_specialise(I, a, call, op_how(op));
        core_specialise(I, b, call, op_how(op));
    }
    /* 64-bit integers: an overflow is an error, never a wrapped value */
    int64_t r64;
    switch (op) {
    case '+':
        if (__builtin_add_overflow(x, y, &r64)) int_overflow(I, call, op, x, y);
        return v_int(I, r64);
    case '-':
        if (__builtin_sub_overflow(x, y, &r64)) int_overflow(I, call, op, x, y);
        return v_int(I, r64);
    case '*':
        if (__builtin_mul_overflow(x, y, &r64)) int_overflow(I, call, op, x, y);
        return v_int(I, r64);
    case '/':
        if (y == 0) lisp_fail(I, cloc(call), "%s: division by zero", fname(call));
        if (x == INT64_MIN && y == -1) int_overflow(I, call, op, x, y);
        if (x % y != 0) return v_num(I, (double)x / (double)y);
        return v_int(I, x / y);
    case '%':
        if (y == 0) lisp_fail(I, cloc(call), "%s: division by zero", fname(call));
        return v_int(I, y == -1 ? 0 : x % y);
    case '^': {
        /* exact while it fits; a negative exponent gives a number, as LispE */
        if (y < 0) return v_num(I, pow((double)x, (double)y));
        if (x == 0 || x == 1) return v_int(I, y == 0 ? 1 : x);
        if (x == -1) return v_int(I, (y % 2) ? -1 : 1);
        int64_t p = 1;
        for (int64_t k = 0; k < y; k++)
            if (__builtin_mul_overflow(p, x, &p)) int_overflow(I, call, op, x, y);
        return v_int(I, p);
    }
    }
    lisp_fail(I, cloc(call), "%s: unknown operator", fname(call));
}

static Value *list_arith(Interp *I, Value *call, char op, Value *a, Value *b) {
    Value *l = a->kind == V_LIST ? a : b;
    int n = l->nitems;
    if (a->kind == V_LIST && b->kind == V_LIST && b->nitems < n) n = b->nitems;
    Value *r = v_list(I, L_LIST);
    bool all_int = true;
    for (int k = 0; k < n; k++) {
        Value *x = a->kind == V_LIST ? a->items[k] : a, *y = b->kind == V_LIST ? b->items[k] : b;
        Value *e = core_arith(I, call, op, x, y);
        all_int &= e->kind == V_INT;
        v_push(I, r, e);
    }
    ListKind k = l->lkind;
    if (k == L_INTEGERS || k == L_SHORTS) r->lkind = all_int ? k : L_NUMBERS;
    else if (k == L_FLOATS || k == L_NUMBERS) r->lkind = k;
    return r;
}

Value *core_arith(Interp *I, Value *call, char op, Value *a, Value *b) {
    if (a->kind == V_TENSOR || b->kind == V_TENSOR) {
        if (strchr("+-*/", op)) return torch_arith(I, call, op, a, b);
        if (op == '^' && a->kind == V_TENSOR) {
            Value *args[2] = {a, b};
            return tensor_op(I, call, "tensor_pow", args, 2);
        }
        lisp_fail(I, cloc(call), "%s: not defined on tensors", fname(call));
    }
    if (a->kind == V_LIST || b->kind == V_LIST) return list_arith(I, call, op, a, b);
    if (op == '+' && (a->kind == V_STR || b->kind == V_STR)) {
        StrBuf s = {0};
        v_print(I, a, &s, false);
        v_print(I, b, &s, false);
        Value *r = v_str(I, s.s ? s.s : "");
        sb_free(&s);
        return r;
    }
    if (!is_num(a)) bad_arg(I, call, 0, "a number", a);
    if (!is_num(b)) bad_arg(I, call, 1, "a number", b);
    if (a->kind == V_INT && b->kind == V_INT) return int_arith(I, call, op, a, b);
    core_specialise(I, a, call, op_how(op));
    core_specialise(I, b, call, op_how(op));
    double x = num_of(a), y = num_of(b), r;
    switch (op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*': r = x * y; break;
    case '/':
        if (y == 0) lisp_fail(I, cloc(call), "%s: division by zero", fname(call));
        r = x / y;
        break;
    case '%':
        if (y == 0) lisp_fail(I, cloc(call), "%s: division by zero", fname(call));
        r = fmod(x, y);
        break;
    default: r = pow(x, y); break;
    }
    /* float op float (or float op integer) stays a float */
    bool fa = a->kind == V_INT || a->is_float, fb = b->kind == V_INT || b->is_float;
    if (fa && fb) return v_float(I, r);
    return v_num(I, r);
}

static Value *fold(Interp *I, Value **args, int n, Value *call, char op) {
    if (n == 1) {
        if (op == '-') return core_arith(I, call, '-', v_int(I, 0), args[0]);
        if (op == '/') return core_arith(I, call, '/', v_int(I, 1), args[0]);
        return args[0];
    }
    Value *r = args[0];
    for (int k = 1; k < n; k++) r = core_arith(I, call, op, r, args[k]);
    return r;
}

BI(add) { return fold(I, args, n, call, '+'); }
BI(sub) { return fold(I, args, n, call, '-'); }
BI(mul) { return fold(I, args, n, call, '*'); }
BI(div) { return fold(I, args, n, call, '/'); }
BI(mod) { return fold(I, args, n, call, '%'); }
BI(pow) { return fold(I, args, n, call, '^'); }

/* ---- comparison and logic -------------------------------------------------- */

/* -1, 0, 1 for ordered values; fails for values with no order. */
/* The outcome of comparing a symbolic size with a constant must stay the
 * same at every accepted size: a range guard (S <= 511 for (< S 512)).
 * Two symbolic sizes are both specialised. */
static void guard_compare(Interp *I, Value *call, const Value *a, const Value *b, int c) {
    if (!(a->kind == V_INT && a->sym.sym) && !(b->kind == V_INT && b->sym.sym)) return;
    char how[96];
    snprintf(how, sizeof how, "the comparison '%s'", fname(call));
    if (a->kind == V_INT && a->sym.sym && b->kind == V_INT && !b->sym.sym) {
        int64_t y = b->i;
        if (c < 0) core_guard(I, a, INT64_MIN, y - 1, call, how);
        else if (c > 0) core_guard(I, a, y == INT64_MAX ? y : y + 1, INT64_MAX, call, how);
        else core_specialise(I, a, call, how);
    } else if (b->kind == V_INT && b->sym.sym && a->kind == V_INT && !a->sym.sym) {
        guard_compare(I, call, b, a, -c);
    } else {
        core_specialise(I, a, call, how);
        core_specialise(I, b, call, how);
    }
}

static int compare(Interp *I, Value *call, Value *a, Value *b) {
    if (a->kind == V_INT && b->kind == V_INT && (a->sym.sym || b->sym.sym)) {
        int c = (a->i > b->i) - (a->i < b->i);
        guard_compare(I, call, a, b, c);
        return c;
    }
    if (is_num(a) && is_num(b)) {
        char how[96];
        snprintf(how, sizeof how, "the comparison '%s'", fname(call));
        core_specialise(I, a, call, how);
        core_specialise(I, b, call, how);
        if (a->kind == V_INT && b->kind == V_INT) return (a->i > b->i) - (a->i < b->i);
        double x = num_of(a), y = num_of(b);
        return (x > y) - (x < y);
    }
    if ((a->kind == V_STR || a->kind == V_SYM) && (b->kind == V_STR || b->kind == V_SYM)) {
        int c = strcmp(a->s, b->s);
        return (c > 0) - (c < 0);
    }
    lisp_fail(I, cloc(call), "%s: cannot compare %s %s with %s %s", fname(call), v_article(v_kind_name(a)),
              v_kind_name(a), v_article(v_kind_name(b)), v_kind_name(b));
}

/* a OP b keeps its outcome `ok` at every accepted size: the range of the
 * symbolic side (OP: 2 <, 3 <=, 4 >, 5 >=; a constant on one side). */
static bool guard_relation(Interp *I, Value *call, const Value *a, const Value *b, int which, bool ok) {
    bool sa = a->kind == V_INT && a->sym.sym, sb = b->kind == V_INT && b->sym.sym;
    if (sa == sb || a->kind != V_INT || b->kind != V_INT) return false;
    if (sb) {   /* c OP S  is  S OP' c */
        static const int flip[6] = {0, 1, 4, 5, 2, 3};
        return guard_relation(I, call, b, a, flip[which], ok);
    }
    int64_t c = b->i, lo = INT64_MIN, hi = INT64_MAX;
    bool less = which == 2 || which == 3;               /* the outcome as "S <= t" or "S >= t" */
    if (!ok) less = !less;
    int64_t t = which == 2 ? (ok ? c - 1 : c) : which == 3 ? (ok ? c : c + 1)
              : which == 4 ? (ok ? c + 1 : c) : (ok ? c : c - 1);
    if (less) hi = t; else lo = t;
    char how[96];
    snprintf(how, sizeof how, "the comparison '%s'", fname(call));
    core_guard(I, a, lo, hi, call, how);
    return true;
}

static Value *chain(Interp *I, Value **args, int n, Value *call, int which) {
    for (int k = 0; k + 1 < n; k++) {
        bool ok;
        if (which >= 2 && args[k]->kind == V_INT && args[k + 1]->kind == V_INT &&
            (args[k]->sym.sym || args[k + 1]->sym.sym)) {
            int c = (args[k]->i > args[k + 1]->i) - (args[k]->i < args[k + 1]->i);
            ok = which == 2 ? c < 0 : which == 3 ? c <= 0 : which == 4 ? c > 0 : c >= 0;
            if (!guard_relation(I, call, args[k], args[k + 1], which, ok)) guard_compare(I, call, args[k], args[k + 1], c);
            if (!ok) return v_nil();
            continue;
        }
        if (which <= 1 && is_num(args[k]) && is_num(args[k + 1])) {
            char how[96];
            snprintf(how, sizeof how, "the comparison '%s'", fname(call));
            core_specialise(I, args[k], call, how);
            core_specialise(I, args[k + 1], call, how);
        }
        if (which == 0) ok = v_equal(args[k], args[k + 1]);
        else if (which == 1) ok = !v_equal(args[k], args[k + 1]);
        else {
            int c = compare(I, call, args[k], args[k + 1]);
            ok = which == 2 ? c < 0 : which == 3 ? c <= 0 : which == 4 ? c > 0 : c >= 0;
        }
        if (!ok) return v_nil();
    }
    return v_true();
}

BI(eq) { return chain(I, args, n, call, 0); }
BI(ne) { return chain(I, args, n, call, 1); }
BI(lt) { return chain(I, args, n, call, 2); }
BI(le) { return chain(I, args, n, call, 3); }
BI(gt) { return chain(I, args, n, call, 4); }
BI(ge) { return chain(I, args, n, call, 5); }

/* eq: atoms by value, containers by identity. */
static bool same(const Value *a, const Value *b) {
    if (a->kind == V_LIST || a->kind == V_DICT || b->kind == V_LIST || b->kind == V_DICT) return a == b;
    return v_equal(a, b);
}
BI(same) { return v_bool(same(args[0], args[1])); }
BI(notsame) { return v_bool(!same(args[0], args[1])); }
BI(not) { return v_bool(!v_truthy(args[0])); }
BI(xor) { return v_bool(v_truthy(args[0]) != v_truthy(args[1])); }
BI(zerop) { return v_bool(is_num(args[0]) && num_of(args[0]) == 0); }
BI(nullp) { return v_bool(args[0]->kind == V_NIL || (args[0]->kind == V_LIST && args[0]->nitems == 0)); }
BI(atomp) { return v_bool(args[0]->kind != V_LIST && args[0]->kind != V_DICT); }

/* ---- math ------------------------------------------------------------------ */

static Value *math1(Interp *I, Value **args, Value *call, double (*f)(double), const char *tensor_name) {
    if (args[0]->kind == V_TENSOR && tensor_name) return tensor_op(I, call, tensor_name, args, 1);
    if (!is_num(args[0])) bad_arg(I, call, 0, "a number", args[0]);
    core_specialise(I, args[0], call, fname(call));
    double r = f(num_of(args[0]));
    return args[0]->is_float ? v_float(I, r) : v_num(I, r);
}

#define MATH(name, f) BI(name) { return math1(I, args, call, f, "tensor_" #name); }
MATH(sqrt, sqrt)
MATH(exp, exp)
MATH(log, log)
MATH(log2, log2)
MATH(log10, log10)
MATH(sin, sin)
MATH(cos, cos)
MATH(tan, tan)
MATH(tanh, tanh)
MATH(floor, floor)
MATH(ceil, ceil)
MATH(round, round)

BI(abs) {
    if (args[0]->kind == V_INT)
        return v_int(I, args[0]->i < 0 ? (int64_t)(0 - (uint64_t)args[0]->i) : args[0]->i);
    return math1(I, args, call, fabs, "tensor_abs");
}

static Value *extreme(Interp *I, Value **args, int n, Value *call, int sign) {
    if (n == 1 && args[0]->kind == V_LIST) {
        Value *l = args[0];
        args = l->items;
        n = l->nitems;
        if (n == 0) lisp_fail(I, cloc(call), "%s: empty list", fname(call));
    }
    Value *best = args[0];
    for (int k = 0; k < n; k++) {
        if (!is_num(args[k]) && args[k]->kind != V_STR) bad_arg(I, call, k, "a number", args[k]);
        if (compare(I, call, args[k], best) * sign > 0) best = args[k];
    }
    return best;
}
BI(min) { return extreme(I, args, n, call, -1); }
BI(max) { return extreme(I, args, n, call, 1); }

/* ---- printing -------------------------------------------------------------- */

/* v holds a tensor of the trace running now (depth: how far to look; a
 * structure deeper than that counts as holding one). */
static bool holds_traced(Interp *I, const Value *v, int depth) {
    if (depth <= 0) return true;
    switch (v->kind) {
    case V_TENSOR: return v->t && v->t->graph == I->trace;
    case V_LIST:
        for (int i = 0; i < v->nitems; i++)
            if (holds_traced(I, v->items[i], depth - 1)) return true;
        return false;
    case V_DICT:
        for (int i = 0; v->dict && i < v->dict->n; i++)
            if (holds_traced(I, v->dict->vals[i], depth - 1)) return true;
        return false;
    default: return false;
    }
}

static void emit(Interp *I, Value *call, FILE *f, Value **args, int n, bool spaces, bool newline) {
    /* the function JIT's trace (jit_call.c) prints only what the eager
     * call would: a traced tensor has no value yet, so the call runs
     * eagerly (the trace fails here, and is undone) */
    for (int k = 0; I->journal && k < n; k++)
        if (holds_traced(I, args[k], 16))
            lisp_fail(I, cloc(call), "%s: printing a tensor computed inside the call needs its value",
                      core_call_name(call));
    StrBuf b = {0};
    for (int k = 0; k < n; k++) {
        if (spaces && k) sb_putc(&b, ' ');
        v_print(I, args[k], &b, false);
    }
    if (newline) sb_putc(&b, '\n');
    if (f && b.len && !journal_print(I, f, b.s, b.len)) {
        fwrite(b.s, 1, b.len, f);
        fflush(f);
    }
    sb_free(&b);
}

BI(println) { emit(I, call, I->out, args, n, true, true); return v_nil(); }
BI(print) { emit(I, call, I->out, args, n, false, false); return v_nil(); }
BI(printerrln) { emit(I, call, I->out ? stderr : NULL, args, n, true, true); return v_nil(); }
BI(printerr) { emit(I, call, I->out ? stderr : NULL, args, n, false, false); return v_nil(); }

/* ---- conversions -------------------------------------------------------------- */

BI(string) {
    StrBuf b = {0};
    v_print(I, args[0], &b, false);
    Value *r = v_str(I, b.s ? b.s : "");
    sb_free(&b);
    return r;
}

static int64_t to_int(Interp *I, Value *call, Value *v, int k) {
    if (v->kind == V_INT) return v->i;
    if (v->kind == V_NUM) {
        if (!(fabs(v->n) < 9.2e18)) bad_arg(I, call, k, "a number in the integer range", v);
        return (int64_t)v->n;
    }
    if (v->kind == V_STR) {
        char *end;
        errno = 0;
        long long x = strtoll(v->s, &end, 10);
        if (end == v->s || errno) lisp_fail(I, cloc(call), "%s: \"%s\" is not an integer", fname(call), v->s);
        return x;
    }
    bad_arg(I, call, k, "a number or a string", v);
}

static double to_double(Interp *I, Value *call, Value *v, int k) {
    if (is_num(v)) return num_of(v);
    if (v->kind == V_STR) {
        char *end;
        double x = strtod(v->s, &end);
        if (end == v->s) lisp_fail(I, cloc(call), "%s: \"%s\" is not a number", fname(call), v->s);
        return x;
    }
    bad_arg(I, call, k, "a number or a string", v);
}

BI(integer) {
    if (args[0]->kind == V_INT) return args[0];
    return v_int(I, to_int(I, call, args[0], 0));
}
BI(number) { return v_num(I, to_double(I, call, args[0], 0)); }

BI(type) {
    Value *v = args[0];
    const char *t;
    switch (v->kind) {
    case V_NIL: t = "nil_"; break;
    case V_TRUE: t = "boolean_"; break;
    case V_INT: t = "integer_"; break;
    case V_NUM: t = v->is_float ? "float_" : "number_"; break;
    case V_STR: t = "string_"; break;
    case V_SYM: t = "atom_"; break;
    case V_LIST: {
        static const char *names[] = {"list_", "integers_", "floats_", "numbers_", "shorts_", "strings_"};
        t = (unsigned)v->lkind < 6 ? names[v->lkind] : "list_";
        break;
    }
    case V_DICT: t = "dictionary_"; break;
    case V_FUNC: t = "lambda_"; break;
    case V_BUILTIN: t = "instruction_"; break;
    case V_TENSOR: t = "torch_tensor_"; break;
    default: t = "torch_module_"; break;
    }
    return v_str(I, t);
}

/* ---- typed lists ---------------------------------------------------------------- */

static Value *typed_item(Interp *I, Value *call, ListKind k, Value *v, int pos) {
    switch (k) {
    case L_INTEGERS:
        if (v->kind == V_INT) return v;          /* keeps symbolic sizes */
        return v_int(I, to_int(I, call, v, pos));
    case L_SHORTS: return v_int(I, (int16_t)to_int(I, call, v, pos));
    case L_FLOATS: return v->kind == V_NUM && v->is_float ? v : v_float(I, to_double(I, call, v, pos));
    case L_NUMBERS: {
        if (v->kind == V_NUM && !v->is_float) return v;
        return v_num(I, to_double(I, call, v, pos));
    }
    case L_STRINGS:
        if (v->kind == V_STR) return v;
        return v_str(I, v_key_string(I, v));
    default: return v;
    }
}

/* (integers 1 2 (list 3 4)) -> (1 2 3 4): list arguments spliced one level. */
static Value *make_typed(Interp *I, Value **args, int n, Value *call, ListKind k) {
    Value *r = v_list(I, k);
    for (int a = 0; a < n; a++) {
        if (args[a]->kind == V_LIST) {
            for (int j = 0; j < args[a]->nitems; j++) v_push(I, r, typed_item(I, call, k, args[a]->items[j], a));
        } else if (args[a]->kind != V_NIL) {
            v_push(I, r, typed_item(I, call, k, args[a], a));
        }
    }
    return r;
}

BI(integers) { return make_typed(I, args, n, call, L_INTEGERS); }
BI(floats) { return make_typed(I, args, n, call, L_FLOATS); }
BI(numbers) { return make_typed(I, args, n, call, L_NUMBERS); }
BI(shorts) { return make_typed(I, args, n, call, L_SHORTS); }
BI(strings) { return make_typed(I, args, n, call, L_STRINGS); }

/* Lists built by iota and range: beyond this, a script is runaway. */
#define MAX_GENERATED 10000000

/* (iota n) 1..n, (iota0 n) 0..n-1; numbers when n is decimal. */
static Value *iota(Interp *I, Value **args, Value *call, int base) {
    Value *v = args[0];
    if (!is_num(v)) bad_arg(I, call, 0, "a number", v);
    core_specialise(I, v, call, "the list length of 'iota'");
    if (num_of(v) > MAX_GENERATED) lisp_fail(I, cloc(call), "%s: too many elements (%g)", fname(call), num_of(v));
    if (v->kind == V_INT) {
        Value *r = v_list(I, L_INTEGERS);
        for (int64_t k = 0; k < v->i; k++) v_push(I, r, v_int(I, k + base));
        return r;
    }
    Value *r = v_list(I, L_NUMBERS);
    for (double x = base; x < v->n + base; x += 1) v_push(I, r, v_num(I, x));
    return r;
}
BI(iota) { return iota(I, args, call, 1); }
BI(iota0) { return iota(I, args, call, 0); }

/* (range a b step): a, a+step, ... excluding b. */
BI(range) {
    for (int k = 0; k < n; k++)
        if (!is_num(args[k])) bad_arg(I, call, k, "a number", args[k]);
    for (int k = 0; k < n; k++) core_specialise(I, args[k], call, "a bound of 'range'");
    bool ints = true;
    for (int k = 0; k < n; k++) ints &= args[k]->kind == V_INT;
    double a = num_of(args[0]), b = num_of(args[1]), step = n > 2 ? num_of(args[2]) : (a <= b ? 1 : -1);
    if (step == 0) lisp_fail(I, cloc(call), "range: the step must not be 0");
    double count = ceil((b - a) / step);
    if (!(count <= MAX_GENERATED)) lisp_fail(I, cloc(call), "range: too many elements");
    Value *r = v_list(I, ints ? L_INTEGERS : L_NUMBERS);
    for (int64_t k = 0; k < (int64_t)count; k++) {
        if (ints) v_push(I, r, v_int(I, args[0]->i + k * (int64_t)step));
        else v_push(I, r, v_num(I, a + (double)k * step));
    }
    return r;
}

/* ---- lists -------------------------------------------------------------------- */

BI(list) {
    Value *r = v_list(I, L_LIST);
    for (int k = 0; k < n; k++) v_push(I, r, args[k]);
    return r;
}

BI(cons) {
    Value *r = v_list(I, L_LIST);
    if (args[1]->kind == V_LIST) {
        r->lkind = args[1]->lkind;
        v_push(I, r, typed_item(I, call, r->lkind, args[0], 0));
        for (int k = 0; k < args[1]->nitems; k++) v_push(I, r, args[1]->items[k]);
    } else {
        v_push(I, r, args[0]);
        if (args[1]->kind != V_NIL) v_push(I, r, args[1]);
    }
    return r;
}

static Value *car(Interp *I, Value *call, Value *l) {
    if (l->kind == V_NIL) return l;
    if (l->kind != V_LIST) lisp_fail(I, cloc(call), "%s: expected a list, got %s %s", fname(call),
                                     v_article(v_kind_name(l)), v_kind_name(l));
    return l->nitems ? l->items[0] : v_nil();
}

static Value *cdr(Interp *I, Value *call, Value *l) {
    if (l->kind == V_NIL) return l;
    if (l->kind != V_LIST) lisp_fail(I, cloc(call), "%s: expected a list, got %s %s", fname(call),
                                     v_article(v_kind_name(l)), v_kind_name(l));
    if (l->nitems <= 1) return v_nil();
    Value *r = v_list(I, l->lkind);
    for (int k = 1; k < l->nitems; k++) v_push(I, r, l->items[k]);
    return r;
}

/* car, cdr, cadr, cddr, caddr...: the letters apply right to left. */
BI(cxr) {
    const char *name = fname(call);
    size_t len = strlen(name);
    Value *v = args[0];
    if (len < 3 || name[0] != 'c' || name[len - 1] != 'r') return car(I, call, v);
    for (size_t k = len - 2; k >= 1; k--) v = name[k] == 'a' ? car(I, call, v) : cdr(I, call, v);
    return v;
}

BI(push) {
    Value *l = want_list(I, call, args, 0);
    journal_list(I, l);
    for (int k = 1; k < n; k++) v_push(I, l, typed_item(I, call, l->lkind, args[k], k));
    return l;
}

BI(pushfirst) {
    Value *l = want_list(I, call, args, 0);
    journal_list(I, l);
    for (int k = 1; k < n; k++) {
        v_push(I, l, v_nil());
        memmove(l->items + 1, l->items, sizeof *l->items * (size_t)(l->nitems - 1));
        l->items[0] = typed_item(I, call, l->lkind, args[k], k);
    }
    return l;
}

BI(extend) {
    Value *l = want_list(I, call, args, 0);
    journal_list(I, l);
    for (int k = 1; k < n; k++) {
        /* the count is taken first: (extend l l) appends l's items once
         * instead of chasing its own growing end */
        int nk = args[k]->kind == V_LIST ? args[k]->nitems : 0;
        if (args[k]->kind == V_LIST)
            for (int j = 0; j < nk; j++) v_push(I, l, typed_item(I, call, l->lkind, args[k]->items[j], k));
        else v_push(I, l, typed_item(I, call, l->lkind, args[k], k));
    }
    return l;
}

BI(reverse) {
    Value *l = want_list(I, call, args, 0), *r = v_list(I, l->lkind);
    for (int k = l->nitems - 1; k >= 0; k--) v_push(I, r, l->items[k]);
    return r;
}

static int64_t utf8_len(const char *s) {
    int64_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

BI(size) {
    Value *v = args[0];
    switch (v->kind) {
    case V_NIL: return v_int(I, 0);
    case V_LIST: return v_int(I, v->nitems);
    case V_STR: return v_int(I, utf8_len(v->s));
    case V_DICT: return v_int(I, v->dict->n);
    case V_MODULE: return v_int(I, v->mod->fields->n);
    default: bad_arg(I, call, 0, "a list, a string or a dictionary", v);
    }
}

BI(in) {
    Value *c = args[0], *x = args[1];
    switch (c->kind) {
    case V_NIL: return v_nil();
    case V_LIST:
        for (int k = 0; k < c->nitems; k++)
            if (v_equal(c->items[k], x)) return v_true();
        return v_nil();
    case V_STR: return v_bool(strstr(c->s, v_key_string(I, x)) != NULL);
    case V_DICT: return v_bool(dict_get(c->dict, v_key_string(I, x)) != NULL);
    default: bad_arg(I, call, 0, "a list, a string or a dictionary", c);
    }
}

/* ---- dictionaries and indexing --------------------------------------------------- */

BI(dictionary) {
    Value *d = v_dict(I);
    if (n == 1 && args[0]->kind == V_DICT) {
        for (int k = 0; k < args[0]->dict->n; k++) dict_set(I, d->dict, args[0]->dict->keys[k], args[0]->dict->vals[k]);
        return d;
    }
    if (n % 2) lisp_fail(I, cloc(call), "%s: expects key/value pairs, got %d arguments", fname(call), n);
    for (int k = 0; k < n; k += 2) dict_set(I, d->dict, v_key_string(I, args[k]), args[k + 1]);
    return d;
}

static Dict *dict_of(Value *v) {
    return v->kind == V_DICT ? v->dict : v->kind == V_MODULE ? v->mod->fields : NULL;
}

_Noreturn static void missing_key(Interp *I, Value *call, Dict *d, const char *key) {
    StrBuf b = {0};
    for (int k = 0; k < d->n && k < 12; k++) sb_printf(&b, "%s%s", k ? ", " : "", d->keys[k]);
    if (d->n > 12) sb_puts(&b, ", ...");
    char msg[512];
    snprintf(msg, sizeof msg, "%s", b.s ? b.s : "");
    sb_free(&b);
    lisp_fail(I, cloc(call), "%s: no key '%s' in the dictionary (keys: %s)", fname(call), key, d->n ? msg : "none");
}

static int64_t index_of(Interp *I, Value *call, Value *idx, int pos, int64_t len) {
    if (!is_num(idx) || (idx->kind == V_NUM && (idx->n != floor(idx->n) || !(fabs(idx->n) < 9.2e18))))
        bad_arg(I, call, pos, "an integer index", idx);
    core_specialise(I, idx, call, "an index");
    int64_t i = idx->kind == V_INT ? idx->i : (int64_t)idx->n;
    if (i < 0) i += len;
    if (i < 0 || i >= len)
        lisp_fail(I, cloc(call), "%s: index %lld out of range for %lld element%s", fname(call),
                  (long long)(idx->kind == V_INT ? idx->i : (int64_t)idx->n), (long long)len, len == 1 ? "" : "s");
    return i;
}

/* One level of (at container key). */
static Value *at1(Interp *I, Value *call, Value *c, Value *key, int pos) {
    Dict *d = dict_of(c);
    if (d) {
        const char *k = v_key_string(I, key);
        Value *v = dict_get(d, k);
        if (!v) missing_key(I, call, d, k);
        return v;
    }
    switch (c->kind) {
    case V_LIST: return c->items[index_of(I, call, key, pos, c->nitems)];
    case V_STR: {
        int64_t i = index_of(I, call, key, pos, utf8_len(c->s));
        const char *p = c->s;
        for (int64_t k = 0; k < i; k++)
            do p++; while (((unsigned char)*p & 0xC0) == 0x80);
        int len = 1;
        while (((unsigned char)p[len] & 0xC0) == 0x80) len++;
        Value *r = v_new(I, V_STR);
        r->s = arena_strndup(I->arena, p, (size_t)len);
        return r;
    }
    case V_TENSOR: {
        if (!is_num(key) || (key->kind == V_NUM && (key->n != floor(key->n) || !(fabs(key->n) < 9.2e18))))
            bad_arg(I, call, pos, "an integer index", key);
        return core_tensor_at(I, call, c->t, key->kind == V_INT ? key->i : (int64_t)key->n);
    }
    default: bad_arg(I, call, 0, "a list, a dictionary, a string or a tensor", c);
    }
}

BI(at) {
    Value *c = args[0];
    for (int k = 1; k < n; k++) c = at1(I, call, c, args[k], k);
    return c;
}

/* (key@ d k) -> value or nil; (key@ d k v ...) sets; (key@ k v ...) creates. */
BI(key) {
    Dict *d = dict_of(args[0]);
    if (!d) {
        if (n % 2) lisp_fail(I, cloc(call), "%s: the first argument must be a dictionary", fname(call));
        return bi_dictionary(I, args, n, call);
    }
    if (n == 2) {
        Value *v = dict_get(d, v_key_string(I, args[1]));
        return v ? v : v_nil();
    }
    if (n % 2 == 0) lisp_fail(I, cloc(call), "%s: expects key/value pairs after the dictionary", fname(call));
    for (int k = 1; k < n; k += 2) dict_set(I, d, v_key_string(I, args[k]), args[k + 1]);
    return args[0];
}

BI(keys) {
    Dict *d = dict_of(args[0]);
    if (!d) bad_arg(I, call, 0, "a dictionary", args[0]);
    Value *r = v_list(I, L_STRINGS);
    for (int k = 0; k < d->n; k++) v_push(I, r, v_str(I, d->keys[k]));
    return r;
}

BI(values) {
    Dict *d = dict_of(args[0]);
    if (!d) bad_arg(I, call, 0, "a dictionary", args[0]);
    Value *r = v_list(I, L_LIST);
    for (int k = 0; k < d->n; k++) v_push(I, r, d->vals[k]);
    return r;
}

/* (set@ c k1 ... kn v): c[k1]...[kn] = v; returns c. */
BI(setat) {
    Value *c = args[0];
    for (int k = 1; k < n - 2; k++) c = at1(I, call, c, args[k], k);
    Value *key = args[n - 2], *v = args[n - 1];
    Dict *d = dict_of(c);
    if (d) dict_set(I, d, v_key_string(I, key), v);
    else if (c->kind == V_LIST) {
        journal_list(I, c);
        c->items[index_of(I, call, key, n - 2, c->nitems)] = typed_item(I, call, c->lkind, v, n - 1);
    }
    else bad_arg(I, call, 0, "a list or a dictionary", c);
    return args[0];
}

/* ---- higher-order and list helpers ------------------------------------------------- */

/* A function argument: a function value, or a quoted function name. */
static Value *fn_arg(Interp *I, Value *call, Value **args, int k) {
    Value *f = args[k];
    if (f->kind == V_SYM) {
        Value *g = interp_global(I, f->s);
        if (g && g->kind == V_FUNC) return g;
        const Builtin *b = interp_builtin(I, f->s);
        if (b) {
            Value *v = v_new(I, V_BUILTIN);
            v->bi = b;
            return v;
        }
    }
    if (f->kind != V_FUNC && f->kind != V_BUILTIN) bad_arg(I, call, k, "a function", f);
    return f;
}

static Value *call1(Interp *I, Value *call, Value *f, Value *x) {
    Value **a = arena_alloc(I->arena, sizeof *a);
    if (!a) lisp_fail(I, cloc(call), "out of memory");
    a[0] = x;
    return core_apply(I, f, a, 1, call);
}

/* (maplist f l) / (map f l): (f x) for each element. */
BI(maplist) {
    Value *f = fn_arg(I, call, args, 0), *l = want_list(I, call, args, 1), *r = v_list(I, L_LIST);
    int roots = gc_root(I, &r, 1);        /* the results so far, while f runs */
    for (int k = 0; k < l->nitems; k++) v_push(I, r, call1(I, call, f, l->items[k]));
    gc_unroot(I, roots);
    return r;
}

/* (filterlist pred l) / (filter pred l): the elements where pred is true. */
BI(filterlist) {
    Value *f = fn_arg(I, call, args, 0), *l = want_list(I, call, args, 1), *r = v_list(I, l->lkind);
    int roots = gc_root(I, &r, 1);
    for (int k = 0; k < l->nitems; k++)
        if (v_truthy(call1(I, call, f, l->items[k]))) v_push(I, r, l->items[k]);
    gc_unroot(I, roots);
    return r;
}

/* (apply f l): f called with l's elements as arguments. */
BI(apply) {
    Value *f = fn_arg(I, call, args, 0), *l = want_list(I, call, args, 1);
    Value **a = arena_alloc(I->arena, sizeof *a * (size_t)(l->nitems + 1));
    if (!a) lisp_fail(I, cloc(call), "out of memory");
    if (l->nitems) memcpy(a, l->items, sizeof *a * (size_t)l->nitems);
    return core_apply(I, f, a, l->nitems, call);
}

/* (sum l), (product l): fold of + and * over a list (0 and 1 when empty). */
static Value *reduce(Interp *I, Value **args, Value *call, char op) {
    if (args[0]->kind == V_TENSOR && op == '+') return tensor_op(I, call, "tensor_sum", args, 1);
    Value *l = want_list(I, call, args, 0), *r = v_int(I, op == '+' ? 0 : 1);
    for (int k = 0; k < l->nitems; k++) r = core_arith(I, call, op, r, l->items[k]);
    return r;
}
BI(sum) { return reduce(I, args, call, '+'); }
BI(product) { return reduce(I, args, call, '*'); }

BI(last) {
    Value *l = args[0];
    if (l->kind == V_NIL) return l;
    l = want_list(I, call, args, 0);
    return l->nitems ? l->items[l->nitems - 1] : v_nil();
}

static Value *clone(Interp *I, Value *v, int depth) {
    if (depth > 1000) lisp_fail(I, v->loc, "clone: data nested too deeply");
    if (v->kind == V_LIST) {
        Value *c = v_list(I, v->lkind);
        for (int k = 0; k < v->nitems; k++) v_push(I, c, clone(I, v->items[k], depth + 1));
        return c;
    }
    if (v->kind == V_DICT) {
        Value *c = v_dict(I);
        for (int k = 0; k < v->dict->n; k++) dict_set(I, c->dict, v->dict->keys[k], clone(I, v->dict->vals[k], depth + 1));
        return c;
    }
    return v;      /* atoms are immutable; tensors and modules are shared */
}
BI(clone) { return clone(I, args[0], 0); }

/* (join l sep): the elements' printed forms separated by sep. */
BI(join) {
    Value *l = want_list(I, call, args, 0);
    const char *sep = n > 1 ? v_key_string(I, args[1]) : "";
    StrBuf b = {0};
    for (int k = 0; k < l->nitems; k++) {
        if (k) sb_puts(&b, sep);
        v_print(I, l->items[k], &b, false);
    }
    Value *r = v_str(I, b.s ? b.s : "");
    sb_free(&b);
    return r;
}

static const Builtin core_table[] = {
    {"+", 1, -1, bi_add, NULL},
    {"-", 1, -1, bi_sub, NULL},
    {"*", 1, -1, bi_mul, NULL},
    {"/", 1, -1, bi_div, NULL},
    {"%", 2, -1, bi_mod, NULL},
    {"^^", 2, -1, bi_pow, "**"},
    {"=", 2, -1, bi_eq, "=="},
    {"!=", 2, -1, bi_ne, NULL},
    {"<", 2, -1, bi_lt, NULL},
    {"<=", 2, -1, bi_le, NULL},
    {">", 2, -1, bi_gt, NULL},
    {">=", 2, -1, bi_ge, NULL},
    {"eq", 2, 2, bi_same, NULL},
    {"neq", 2, 2, bi_notsame, NULL},
    {"not", 1, 1, bi_not, "\xc2\xac"},
    {"xor", 2, 2, bi_xor, NULL},
    {"zero?", 1, 1, bi_zerop, "zerop"},
    {"null?", 1, 1, bi_nullp, "nullp"},
    {"atom?", 1, 1, bi_atomp, "atomp"},
    {"sqrt", 1, 1, bi_sqrt, NULL},
    {"exp", 1, 1, bi_exp, NULL},
    {"log", 1, 1, bi_log, NULL},
    {"log2", 1, 1, bi_log2, NULL},
    {"log10", 1, 1, bi_log10, NULL},
    {"sin", 1, 1, bi_sin, NULL},
    {"cos", 1, 1, bi_cos, NULL},
    {"tan", 1, 1, bi_tan, NULL},
    {"tanh", 1, 1, bi_tanh, NULL},
    {"abs", 1, 1, bi_abs, NULL},
    {"floor", 1, 1, bi_floor, NULL},
    {"ceil", 1, 1, bi_ceil, NULL},
    {"round", 1, 1, bi_round, NULL},
    {"min", 1, -1, bi_min, NULL},
    {"max", 1, -1, bi_max, NULL},
    {"println", 0, -1, bi_println, NULL},
    {"print", 0, -1, bi_print, NULL},
    {"printerr", 0, -1, bi_printerr, NULL},
    {"printerrln", 0, -1, bi_printerrln, NULL},
    {"string", 1, 1, bi_string, NULL},
    {"integer", 1, 1, bi_integer, NULL},
    {"number", 1, 1, bi_number, NULL},
    {"type", 1, 1, bi_type, NULL},
    {"integers", 0, -1, bi_integers, NULL},
    {"floats", 0, -1, bi_floats, NULL},
    {"numbers", 0, -1, bi_numbers, NULL},
    {"shorts", 0, -1, bi_shorts, NULL},
    {"strings", 0, -1, bi_strings, NULL},
    {"iota", 1, 1, bi_iota, NULL},
    {"iota0", 1, 1, bi_iota0, NULL},
    {"range", 2, 3, bi_range, NULL},
    {"list", 0, -1, bi_list, NULL},
    {"cons", 2, 2, bi_cons, NULL},
    {"car", 1, 1, bi_cxr, NULL},
    {"cdr", 1, 1, bi_cxr, NULL},
    {"cadr", 1, 1, bi_cxr, NULL},
    {"cddr", 1, 1, bi_cxr, NULL},
    {"caar", 1, 1, bi_cxr, NULL},
    {"cdar", 1, 1, bi_cxr, NULL},
    {"caddr", 1, 1, bi_cxr, NULL},
    {"cdddr", 1, 1, bi_cxr, NULL},
    {"cadddr", 1, 1, bi_cxr, NULL},
    {"push", 2, -1, bi_push, NULL},
    {"pushfirst", 2, -1, bi_pushfirst, NULL},
    {"extend", 2, -1, bi_extend, NULL},
    {"reverse", 1, 1, bi_reverse, NULL},
    {"size", 1, 1, bi_size, NULL},
    {"in", 2, 2, bi_in, NULL},
    {"dictionary", 0, -1, bi_dictionary, "dict"},
    {"at", 2, -1, bi_at, "@"},
    {"nth", 2, -1, bi_at, "get"},
    {"torch_tensor_at", 2, -1, bi_at, NULL},
    {"key@", 1, -1, bi_key, "key"},
    {"keys@", 1, 1, bi_keys, "keys"},
    {"values@", 1, 1, bi_values, "values"},
    {"set@", 3, -1, bi_setat, NULL},
    {"maplist", 2, 2, bi_maplist, "map"},
    {"filterlist", 2, 2, bi_filterlist, "filter"},
    {"apply", 2, 2, bi_apply, NULL},
    {"sum", 1, 1, bi_sum, NULL},
    {"product", 1, 1, bi_product, NULL},
    {"last", 1, 1, bi_last, NULL},
    {"clone", 1, 1, bi_clone, NULL},
    {"join", 1, 2, bi_join, NULL},
    {NULL, 0, 0, NULL, NULL},
};

void core_register_builtins(Interp *I) { interp_register(I, core_table); }
