/* jit_call.c: the function JIT (docs/jit.md).
 *
 * In `lispetorchc run`, a call of a user function (or method) with tensor
 * arguments is compiled as a whole: the function is traced on symbolic
 * INPUTs (the same trace as `-o model.so`'s, trace.c) and the graph goes to
 * the engine through the eager pool's call_hook, which plans it, finds or
 * makes its code (the key is the serialised plan, which holds no size the
 * symbols stand for: a new batch size or sequence length finds the same
 * code), binds the symbols from the arguments' shapes and runs it.
 *
 * Every call is traced again: the trace is what finds the weights the call
 * reads now (a module's fields may have been replaced), the sizes the
 * script computes from the inputs, and the branches LispE code takes; only
 * code generation is saved.  The trace runs the function's LispE code for
 * real, under a journal (journal.c) that is undone if the trace fails or
 * the engine cannot run the graph; then the function runs eagerly — its
 * regions still compiled by the force hook — and keeps doing so for the
 * session, after one note naming the construct (a branch on a tensor's
 * value, printing a tensor) and its place.
 *
 * After a trace, every Value that holds one of the trace's tensors — the
 * result, and whatever the function stored in globals, instance fields or
 * lists it was given (a KV cache) — gets the computed eager tensor, and a
 * size computed from a symbol becomes a plain number. */
#include "frontend/journal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/core.h"

/* ---- the Values holding the trace's tensors --------------------------------- */
typedef struct Seen { const void **k; size_t cap, n; } Seen;

static size_t hash_ptr(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33;
    return (size_t)x;
}

/* true when p is new (added); false when seen, or out of memory (*oom) */
static bool seen_add(Seen *s, const void *p, bool *oom) {
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        const void **k = calloc(cap, sizeof *k);
        if (!k) { *oom = true; return false; }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->k[i]) continue;
            size_t j = hash_ptr(s->k[i]) & (cap - 1);
            while (k[j]) j = (j + 1) & (cap - 1);
            k[j] = s->k[i];
        }
        free(s->k);
        s->k = k, s->cap = cap;
    }
    size_t j = hash_ptr(p) & (s->cap - 1);
    for (; s->k[j]; j = (j + 1) & (s->cap - 1))
        if (s->k[j] == p) return false;
    s->k[j] = p;
    s->n++;
    return true;
}

typedef struct Holders {
    Graph *g;
    Value **v; int n, cap;        /* Values whose tensor is in g */
    Value **stack; int sn, scap;  /* the walk's to-do list */
    Seen seen;
    bool oom;
} Holders;

/* Append v to a growable array (*a, *n, *cap; doubling); false when out
 * of memory (the array is unchanged). */
static bool values_push(Value ***a, int *n, int *cap, Value *v) {
    if (*n == *cap) {
        if (*cap > INT_MAX / 2) return false;
        int c = *cap ? 2 * *cap : 16;
        Value **g = realloc(*a, sizeof *g * (size_t)c);
        if (!g) return false;
        *a = g, *cap = c;
    }
    (*a)[(*n)++] = v;
    return true;
}

static void push(Holders *h, Value *v) {
    if (!v || (v->kind != V_TENSOR && v->kind != V_LIST && v->kind != V_DICT && v->kind != V_MODULE &&
               !(v->kind == V_INT && v->sym.sym)))
        return;
    if (!seen_add(&h->seen, v, &h->oom)) return;
    if (!values_push(&h->stack, &h->sn, &h->scap, v)) h->oom = true;
}

static void push_dict(Holders *h, Dict *d) {
    if (!d || !seen_add(&h->seen, d, &h->oom)) return;
    for (int i = 0; i < d->n; i++) push(h, d->vals[i]);
}

static void walk(Holders *h) {
    while (h->sn > 0 && !h->oom) {
        Value *v = h->stack[--h->sn];
        switch (v->kind) {
        case V_TENSOR:
            if (v->t && v->t->graph == h->g && !values_push(&h->v, &h->n, &h->cap, v)) {
                h->oom = true;
                return;
            }
            break;
        case V_INT:
            /* a size the trace computed from a symbol (tensor_size x 1):
             * its example is this call's value; the symbol belongs to
             * the trace's graph, which is gone */
            v->sym = dim_const(0);
            break;
        case V_LIST: for (int i = 0; i < v->nitems; i++) push(h, v->items[i]); break;
        case V_DICT: push_dict(h, v->dict); break;
        case V_MODULE: if (v->mod) push_dict(h, v->mod->fields); break;
        default: break;
        }
    }
}

/* Everything that outlives the call: its result, the frames of the calls
 * around it and the global one, the instance, the arguments. */
static void find_holders(Interp *I, Holders *h, Value *res, Value *self, Value **args, int n) {
    push(h, res);
    push(h, self);
    for (int k = 0; k < n; k++) push(h, args[k]);
    for (int d = 0; d <= I->depth; d++) {
        Frame *f = I->stack[d];
        for (int i = 0; f && i < f->n; i++) push(h, f->vals[i]);
    }
    for (int i = 0; i < I->global.n; i++) push(h, I->global.vals[i]);
    walk(h);
}

static void holders_free(Holders *h) {
    free(h->v);
    free(h->stack);
    free(h->seen.k);
}

/* ---- the call ------------------------------------------------------------------ */
static bool has_tensor(Value **args, int n) {
    for (int k = 0; k < n; k++)
        if (args[k]->kind == V_TENSOR) return true;
    return false;
}

/* Undo the trace; the function runs eagerly from now on. */
static bool run_eagerly(Interp *I, struct Journal *j, Func *fn, Value *call) {
    bool oom = journal_oom(j);
    journal_undo(I, j);
    journal_end(I, j);
    if (oom) lisp_fail(I, call->loc, "out of memory while tracing '%s' for the JIT", fn->name ? fn->name : "lambda");
    fn->jit_eager = true;
    return false;
}

bool jit_wants(const Interp *I, const Func *fn, Value **args, int n) {
    if (I->trace || I->journal || !I->eager->call_hook || I->eager->jit_off) return false;
    if (fn->jit_mode < 0 || fn->jit_eager || (fn->jit_mode == 0 && !I->jit_functions)) return false;
    return has_tensor(args, n);
}

bool jit_call(Interp *I, Func *fn, Value *fnv, Value *self, Value **args, int n, Value *call, Value **result) {
    const CallHook *hook = I->eager->call_hook;
    if (!jit_wants(I, fn, args, n)) return false;
    const char *name = fn->name ? fn->name : "lambda";
    EntryCall ec = {fnv->fn, args, n, call->loc};
    Node **in = arena_alloc(I->arena, sizeof *in * (size_t)(n + 1));
    if (!in) lisp_fail(I, call->loc, "out of memory");
    int nin = 0;
    for (int k = 0; k < n; k++)
        if (args[k]->kind == V_TENSOR) in[nin++] = args[k]->t;

    struct Journal *j = journal_begin(I);
    if (!j) return false;
    Graph *g = NULL;
    Value *res = NULL, **targs = NULL;
    LtcDiag saved = I->diag;
    if (trace_call(I, &ec, name, &g, &res, &targs) != 0) {
        LtcDiag why = I->diag;
        I->diag = saved;
        run_eagerly(I, j, fn, call);
        hook->eager(hook->ctx, name, call->loc, why.loc, why.msg, false);
        return false;
    }
    if (g->ninputs != nin) lisp_fail(I, call->loc, "internal error: the trace of '%s' has %d inputs for %d tensors", name, g->ninputs, nin);
    /* an argument changed in place (tensor_masked_fill_): the caller's
     * Value changes, as it would eagerly */
    for (int k = 0, i = 0; k < n; k++) {
        if (args[k]->kind != V_TENSOR) continue;
        Node *input = g->inputs[i++];
        if (targs[k]->kind == V_TENSOR && targs[k]->t != input) {
            journal_tensor(I, args[k]);
            args[k]->t = targs[k]->t;
        }
    }

    /* Which Values get which eager node: an INPUT's argument, a PARAM's
     * origin, else an output of g, computed by the engine. */
    Holders h = {.g = g};
    find_holders(I, &h, res, self, args, n);
    Node **repl = h.n ? calloc((size_t)h.n, sizeof *repl) : NULL;
    int *outi = h.n ? calloc((size_t)h.n, sizeof *outi) : NULL;
    if (h.oom || (h.n && (!repl || !outi))) {
        holders_free(&h);
        free(repl);
        free(outi);
        run_eagerly(I, j, fn, call);
        lisp_fail(I, call->loc, "out of memory");
    }
    for (int i = 0; i < h.n; i++) {
        Node *t = h.v[i]->t;
        outi[i] = -1;
        if (t->op == OP_INPUT) {
            for (int k = 0; k < g->ninputs; k++)
                if (g->inputs[k] == t) repl[i] = in[k];
        } else if (t->op == OP_PARAM) {
            repl[i] = t->origin;
        } else {
            for (int k = 0; k < g->noutputs && outi[i] < 0; k++)
                if (g->outputs[k] == t) outi[i] = k;
            if (outi[i] < 0) {
                ir_add_output(g, t);
                outi[i] = g->noutputs - 1;
            }
        }
    }
    int rc = 0;
    Node **out = NULL;
    LtcDiag d;
    memset(&d, 0, sizeof d);
    if (g->noutputs > 0) {
        out = arena_alloc(I->arena, sizeof *out * (size_t)g->noutputs);
        rc = out ? hook->run(hook->ctx, g, in, out, name, call->loc, &d) : diag_set(&d, call->loc, "out of memory");
    }
    if (rc != 0) {
        holders_free(&h);
        free(repl);
        free(outi);
        run_eagerly(I, j, fn, call);
        if (rc < 0) lisp_fail(I, d.loc.file ? d.loc : call->loc, "%s", d.msg);
        return false;           /* the hook has said why */
    }
    if (journal_oom(j)) {
        holders_free(&h);
        free(repl);
        free(outi);
        run_eagerly(I, j, fn, call);
        lisp_fail(I, call->loc, "out of memory while tracing '%s' for the JIT", name);
    }
    journal_commit(I, j);
    journal_end(I, j);
    for (int i = 0; i < h.n; i++) h.v[i]->t = outi[i] >= 0 ? out[outi[i]] : repl[i];
    holders_free(&h);
    free(repl);
    free(outi);
    *result = res ? res : v_nil();
    return true;
}
