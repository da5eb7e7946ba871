/* jit_builtins.c: what a script says to the JIT of `lispetorchc run`
 * (docs/jit.md, "From the script").  LispE scripts `(use 'lispetorchc)`
 * (accepted, as every use); the functions are:
 *
 *   (jit 'f)  (jit 'f true)   compile f's calls (also under --jit=regions)
 *   (jit 'f false)            f always runs eagerly
 *   (jit_enable false|true)   the JIT off (everything interpreted) / on again;
 *                             returns the state before
 *   (jit_enabled)             the state
 *   (jit_stats)               the session's counters, a dictionary
 *   (jit_compile 'f "m.so" args...)   f traced on args as an entry, written
 *                             as a library (and its weights beside it), as
 *                             `lispetorchc -o` would; the files appear when
 *                             the run succeeds
 *
 * Outside `run` (a compile with -o, --interpret) there is no JIT: jit and
 * jit_enable change nothing, jit_enabled is false, jit_stats is empty and
 * jit_compile is an error naming the call. */
#include "frontend/core.h"

#include <string.h>

#define BI(fn) static Value *fn(Interp *I, Value **args, int nargs, Value *call)
extern const Builtin jit_builtins[];

/* A function argument: a function value, or a quoted global function's name. */
static Func *func_arg(Interp *I, Value *call, Value *v) {
    if (v->kind == V_SYM) {
        Value *g = interp_global(I, v->s);
        if (g && g->kind == V_FUNC) return g->fn;
        lisp_fail(I, call->loc, "%s: '%s' is not a function defined with defun", core_call_name(call), v->s);
    }
    if (v->kind != V_FUNC)
        lisp_fail(I, call->loc, "%s: argument 1 must be a function or its quoted name, got %s %s",
                  core_call_name(call), v_article(v_kind_name(v)), v_kind_name(v));
    return v->fn;
}

static bool jit_on(const Interp *I) { return I->jit_ctl && I->eager && !I->eager->jit_off; }

BI(bi_jit) {
    Func *f = func_arg(I, call, args[0]);
    f->jit_mode = nargs < 2 || v_truthy(args[1]) ? 1 : -1;
    if (f->jit_mode > 0) f->jit_eager = false;     /* asked again: trace it again */
    return v_true();
}

BI(bi_jit_enable) {
    (void)nargs;
    bool was = jit_on(I);
    if (I->jit_ctl && I->eager) I->eager->jit_off = !v_truthy(args[0]);
    return v_bool(was);
}

BI(bi_jit_enabled) {
    (void)args; (void)nargs; (void)call;
    return v_bool(jit_on(I));
}

BI(bi_jit_stats) {
    (void)args; (void)nargs; (void)call;
    Value *d = v_dict(I);
    static const char *const names[] = {JIT_STAT_NAMES};
    JitStat st[32];
    int n = 0;
    if (I->jit_ctl) n = I->jit_ctl->stats(I->jit_ctl->ctx, st, 32);
    else
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) st[n++] = (JitStat){names[i], 0};
    for (int i = 0; i < n; i++) {
        double v = st[i].value;
        dict_set(I, d->dict, st[i].name, v == (double)(int64_t)v ? v_int(I, (int64_t)v) : v_num(I, v));
    }
    return d;
}

BI(bi_jit_compile) {
    Func *f = func_arg(I, call, args[0]);
    if (args[1]->kind != V_STR)
        lisp_fail(I, call->loc, "jit_compile: argument 2 must be the library's path (a string), got %s %s",
                  v_article(v_kind_name(args[1])), v_kind_name(args[1]));
    if (!I->jit_ctl || !I->jit_ctl->compile)
        lisp_fail(I, call->loc, "jit_compile: there is no JIT here (it compiles in `lispetorchc run`, without --interpret)");
    if (I->trace || I->journal)
        lisp_fail(I, call->loc, "jit_compile: not inside a function that is being traced");
    EntryCall ec = {f, args + 2, nargs - 2, call->loc};
    bool tensors = false;
    for (int k = 0; k < ec.nargs; k++) tensors |= ec.args[k]->kind == V_TENSOR;
    if (!tensors) lisp_fail(I, call->loc, "jit_compile: give the example arguments of '%s' (at least one tensor)", f->name ? f->name : "lambda");
    LtcDiag d;
    memset(&d, 0, sizeof d);
    if (I->jit_ctl->compile(I->jit_ctl->ctx, I, &ec, args[1]->s, &d) != 0)
        lisp_fail(I, d.loc.file ? d.loc : call->loc, "jit_compile: %s", d.msg);
    return v_true();
}

const Builtin jit_builtins[] = {
    {"jit", 1, 2, bi_jit, NULL},
    {"jit_enable", 1, 1, bi_jit_enable, NULL},
    {"jit_enabled", 0, 0, bi_jit_enabled, NULL},
    {"jit_stats", 0, 0, bi_jit_stats, NULL},
    {"jit_compile", 3, -1, bi_jit_compile, NULL},
    {NULL, 0, 0, NULL, NULL},
};
