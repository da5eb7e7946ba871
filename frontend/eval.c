/* eval.c: the LispE evaluator.
 *
 * A tree walker over the reader's Values.  Semantics follow LispE
 * (docs/language.md):
 *  - variables: one frame per function call plus the global frame; lookup
 *    is current frame, then global (no closures over enclosing frames);
 *  - setq binds in the current frame and returns true; setg binds globally;
 *  - break/return set I->unwinding, which every sequence checks and
 *    propagates until a loop (break) or the function boundary (return);
 *  - errors longjmp to the jmp_buf of lisp_eval_file/lisp_call.
 * Recursion of user functions is bounded by I->max_depth and by the room
 * left on the C stack, whichever comes first. */
#include "frontend/core.h"
#include "frontend/session.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---------------------------------------------------------------- */

_Noreturn void lisp_fail(Interp *I, SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vset(&I->diag, loc, fmt, ap);
    va_end(ap);
    if (!I->on_error) {
        /* A programming error: every entry point installs a handler. */
        fprintf(stderr, "lispetorchc: internal error: lisp_fail outside an evaluation: %s\n", I->diag.msg);
        abort();
    }
    longjmp(*I->on_error, 1);
}

const char *core_call_name(const Value *call) {
    if (call && call->kind == V_LIST && call->nitems > 0 && call->items[0]->kind == V_SYM)
        return call->items[0]->s;
    return "?";
}

/* ---- builtin table: open addressing, name -> Builtin ------------------------- */

static uint64_t name_hash(const char *s) { return hash_bytes(s, strlen(s), 0x9e3779b97f4a7c15ull); }

/* Tables are static and live as long as the Interp.  Counting the used
 * slots on each insert is cheap: there are a few hundred builtins. */
static void bt_insert(Interp *I, const char *name, const Builtin *b) {
    int used = 0;
    for (int k = 0; k < I->bt_cap; k++) used += I->bt_keys[k] != NULL;
    if (2 * (used + 1) > I->bt_cap) {
        int cap = I->bt_cap ? I->bt_cap * 2 : 256;
        const Builtin **tab = arena_alloc(I->arena, sizeof *tab * (size_t)cap);
        const char **keys = arena_alloc(I->arena, sizeof *keys * (size_t)cap);
        if (!tab || !keys) lisp_fail(I, (SrcLoc){0}, "out of memory");
        for (int k = 0; k < I->bt_cap; k++) {
            if (!I->bt_keys[k]) continue;
            size_t h = name_hash(I->bt_keys[k]) & (size_t)(cap - 1);
            while (keys[h]) h = (h + 1) & (size_t)(cap - 1);
            keys[h] = I->bt_keys[k], tab[h] = I->bt_tab[k];
        }
        I->bt_tab = tab, I->bt_keys = keys, I->bt_cap = cap;
    }
    size_t h = name_hash(name) & (size_t)(I->bt_cap - 1);
    while (I->bt_keys[h] && strcmp(I->bt_keys[h], name)) h = (h + 1) & (size_t)(I->bt_cap - 1);
    I->bt_keys[h] = name;
    I->bt_tab[h] = b;      /* a later registration replaces an earlier one */
}

void interp_register(Interp *I, const Builtin *table) {
    for (const Builtin *b = table; b->name; b++) {
        bt_insert(I, b->name, b);
        if (b->alias) bt_insert(I, b->alias, b);
    }
}

const Builtin *interp_builtin(Interp *I, const char *name) {
    if (!I->bt_cap) return NULL;
    size_t h = name_hash(name) & (size_t)(I->bt_cap - 1);
    while (I->bt_keys[h]) {
        if (!strcmp(I->bt_keys[h], name)) return I->bt_tab[h];
        h = (h + 1) & (size_t)(I->bt_cap - 1);
    }
    return NULL;
}

/* ---- frames --------------------------------------------------------------------- */

static Frame *cur_frame(Interp *I) { return I->stack[I->depth]; }

/* Up to this many unindexed entries are scanned; more get indexed (a
 * function frame rarely has that many, the global frame of a big script
 * has thousands). */
enum { FRAME_SCAN = 32 };

/* Put entries [nindexed, n) into the index, growing it (power of two, at
 * most half full).  Out of memory: the index is dropped (nindexed = 0) and
 * lookups scan, which is slower but still right. */
static void frame_index(Interp *I, Frame *f) {
    int from = f->nindexed;
    if (2 * (int64_t)f->n >= f->index_cap) {
        int64_t cap = f->index_cap ? f->index_cap : 64;
        while (2 * (int64_t)f->n >= cap) cap *= 2;
        if (cap > INT32_MAX / 2) { f->nindexed = 0; return; }
        int *ix = arena_alloc(I->arena, sizeof *ix * (size_t)cap);
        if (!ix) { f->nindexed = 0; return; }
        f->index = ix, f->index_cap = (int)cap, from = 0;
    }
    if (from == 0) memset(f->index, 0, sizeof *f->index * (size_t)f->index_cap);
    size_t mask = (size_t)f->index_cap - 1;
    for (int k = from; k < f->n; k++) {
        size_t h = name_hash(f->names[k]) & mask;
        while (f->index[h] && strcmp(f->names[f->index[h] - 1], f->names[k])) h = (h + 1) & mask;
        f->index[h] = k + 1;        /* a later entry of the same name wins */
    }
    f->nindexed = f->n;
}

/* Entries are removed only by let (frame_unindex first) and by push_frame
 * reusing a frame; both drop the index. */
static void frame_unindex(Frame *f) { f->nindexed = 0; }

static int frame_find(Interp *I, Frame *f, const char *name) {
    if (f->n - f->nindexed > FRAME_SCAN) frame_index(I, f);
    for (int k = f->n - 1; k >= f->nindexed; k--)
        if (!strcmp(f->names[k], name)) return k;
    if (f->nindexed == 0) return -1;
    size_t mask = (size_t)f->index_cap - 1;
    for (size_t h = name_hash(name) & mask; f->index[h]; h = (h + 1) & mask)
        if (!strcmp(f->names[f->index[h] - 1], name)) return f->index[h] - 1;
    return -1;
}

static void frame_add(Interp *I, Frame *f, const char *name, Value *v) {
    if (I->journal) journal_frame(I, f);
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 8;
        const char **names = arena_alloc(I->arena, sizeof *names * (size_t)cap);
        Value **vals = arena_alloc(I->arena, sizeof *vals * (size_t)cap);
        if (!names || !vals) lisp_fail(I, (SrcLoc){0}, "out of memory");
        if (f->n) {
            memcpy(names, f->names, sizeof *names * (size_t)f->n);
            memcpy(vals, f->vals, sizeof *vals * (size_t)f->n);
        }
        f->names = names, f->vals = vals, f->cap = cap;
    }
    f->names[f->n] = name;
    f->vals[f->n++] = v;
}

static void frame_set(Interp *I, Frame *f, const char *name, Value *v) {
    int k = frame_find(I, f, name);
    if (k >= 0 && I->journal) journal_frame(I, f);
    if (k >= 0) f->vals[k] = v;
    else frame_add(I, f, name, v);
}

/* Current frame, then (inside a method) the instance's fields, then
 * global.  NULL when unbound. */
static Value **lookup_slot(Interp *I, const char *name) {
    Frame *f = cur_frame(I);
    int k = frame_find(I, f, name);
    if (k >= 0) return &f->vals[k];
    if (I->self) {
        Dict *d = I->self->dict;
        for (k = 0; k < d->n; k++)
            if (!strcmp(d->keys[k], name)) return &d->vals[k];
    }
    if (f != &I->global && (k = frame_find(I, &I->global, name)) >= 0) return &I->global.vals[k];
    return NULL;
}

Value *interp_global(Interp *I, const char *name) {
    int k = frame_find(I, &I->global, name);
    return k < 0 ? NULL : I->global.vals[k];
}

/* Enter a new function frame (frames are reused: no closures keep them). */
static Frame *push_frame(Interp *I) {
    if (I->depth + 1 >= I->capstack) {
        int cap = I->capstack * 2;
        Frame **st = arena_alloc(I->arena, sizeof *st * (size_t)cap);
        if (!st) lisp_fail(I, (SrcLoc){0}, "out of memory");
        memcpy(st, I->stack, sizeof *st * (size_t)I->capstack);
        I->stack = st, I->capstack = cap;
    }
    I->depth++;
    if (!I->stack[I->depth] && !(I->stack[I->depth] = arena_alloc(I->arena, sizeof(Frame))))
        lisp_fail(I, (SrcLoc){0}, "out of memory");
    Frame *f = I->stack[I->depth];
    f->n = 0;
    frame_unindex(f);
    return f;
}

/* ---- special forms -------------------------------------------------------------- */

typedef enum {
    SF_NONE, SF_QUOTE, SF_DEFUN, SF_LAMBDA, SF_SETQ, SF_SETQV, SF_SETG, SF_LET, SF_BLOCK,
    SF_IF, SF_IFE, SF_COND, SF_CHECK, SF_NCHECK, SF_LOOP, SF_LOOPCOUNT, SF_WHILE,
    SF_BREAK, SF_RETURN, SF_AND, SF_OR, SF_ELAPSE, SF_USE, SF_ARITH_ASSIGN, SF_CLASS, SF_SETQI,
} SpecialForm;

static const struct { const char *name; SpecialForm sf; } special_forms[] = {
    {"quote", SF_QUOTE}, {"defun", SF_DEFUN}, {"lambda", SF_LAMBDA}, {"\xce\xbb", SF_LAMBDA},
    {"\\", SF_LAMBDA}, {"setq", SF_SETQ}, {"setqv", SF_SETQV}, {"setg", SF_SETG},
    {"let", SF_LET}, {"block", SF_BLOCK}, {"if", SF_IF}, {"ife", SF_IFE}, {"cond", SF_COND},
    {"check", SF_CHECK}, {"ncheck", SF_NCHECK}, {"loop", SF_LOOP}, {"loopcount", SF_LOOPCOUNT},
    {"dotimes", SF_LOOPCOUNT}, {"while", SF_WHILE}, {"break", SF_BREAK}, {"return", SF_RETURN},
    {"and", SF_AND}, {"or", SF_OR}, {"elapse", SF_ELAPSE}, {"use", SF_USE},
    {"+=", SF_ARITH_ASSIGN}, {"-=", SF_ARITH_ASSIGN}, {"*=", SF_ARITH_ASSIGN}, {"/=", SF_ARITH_ASSIGN},
    {"class@", SF_CLASS}, {"defclass", SF_CLASS}, {"setqi", SF_SETQI},
};
#define NSPECIAL ((int)(sizeof special_forms / sizeof special_forms[0]))

/* Compute every eager tensor made since node `first` that no later node
 * reads (the others are computed on the way).  For `elapse`. */
static void force_new_tensors(Interp *I, Value *form, int first) {
    Graph *g = I->eager;
    int n = g->nnodes - first;
    if (n <= 0) return;
    bool *used = calloc((size_t)n, sizeof *used);
    if (!used) lisp_fail(I, form->loc, "out of memory");
    for (int i = first; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++) {
            int id = g->nodes[i]->in[k]->id;
            if (g->nodes[i]->in[k]->graph == g && id >= first) used[id - first] = true;
        }
    LtcDiag d;
    for (int i = g->nnodes - 1; i >= first; i--) {
        if (used[i - first] || g->nodes[i]->data || g->nodes[i]->freed) continue;   /* freed: nothing reaches it */
        if (ir_force(g->nodes[i], &d) != 0) {
            free(used);
            lisp_fail(I, d.loc.file ? d.loc : form->loc, "%s", d.msg);
        }
    }
    free(used);
}

/* The form a head symbol names.  The answer is cached in the symbol's
 * unused `i` field (0 unknown, -1 none, else 1 + form). */
static SpecialForm special_of(Value *sym) {
    if (sym->i > 0) return (SpecialForm)(sym->i - 1);
    if (sym->i < 0) return SF_NONE;
    for (int k = 0; k < NSPECIAL; k++)
        if (!strcmp(special_forms[k].name, sym->s)) {
            sym->i = special_forms[k].sf + 1;
            return special_forms[k].sf;
        }
    sym->i = -1;
    return SF_NONE;
}

bool core_is_special_form(const char *name) {
    for (int k = 0; k < NSPECIAL; k++)
        if (!strcmp(special_forms[k].name, name)) return true;
    return false;
}

/* Names the did-you-mean search offers besides builtins and functions. */
static const char *constants[] = {"nil", "true", "false", "_"};

/* ---- did you mean ------------------------------------------------------------ */

typedef struct { const char *best; int dist; } Suggest;

static void consider(Suggest *s, const char *name, const char *cand) {
    if (!cand || !strcmp(name, cand)) return;
    int d = name_distance(name, cand);
    if (d < s->dist) s->dist = d, s->best = cand;
}

/* The closest known name, or NULL if nothing is close enough (at most a
 * third of the name's length, and at least 1 edit). */
static const char *did_you_mean(Interp *I, const char *name, bool functions) {
    Suggest s = {NULL, NAME_FAR};
    if (functions) {
        for (int k = 0; k < I->bt_cap; k++) consider(&s, name, I->bt_keys[k]);
        for (int k = 0; k < NSPECIAL; k++) consider(&s, name, special_forms[k].name);
        for (int k = 0; k < I->global.n; k++)
            if (I->global.vals[k]->kind == V_FUNC) consider(&s, name, I->global.names[k]);
    } else {
        Frame *f = cur_frame(I);
        for (int k = 0; k < f->n; k++) consider(&s, name, f->names[k]);
        for (int k = 0; k < I->global.n; k++) consider(&s, name, I->global.names[k]);
        for (int k = 0; k < 4; k++) consider(&s, name, constants[k]);
    }
    int limit = (int)strlen(name) / 3;
    if (limit < 1) limit = 1;
    return s.dist <= limit ? s.best : NULL;
}

/* ---- evaluation -------------------------------------------------------------- */

static Value *eval_symbol(Interp *I, Value *x) {
    Value **slot = lookup_slot(I, x->s);
    if (slot) return *slot;
    const char *s = x->s;
    if (!strcmp(s, "nil") || !strcmp(s, "false") || !strcmp(s, "_")) return v_nil();
    if (!strcmp(s, "true")) return v_true();
    if (!strcmp(s, "_current")) return load_current_dir(I, x);
    const Builtin *b = interp_builtin(I, s);
    if (b) {
        Value *v = v_new(I, V_BUILTIN);
        v->bi = b;
        return v;
    }
    const char *hint = did_you_mean(I, s, false);
    if (hint) lisp_fail(I, x->loc, "unbound variable '%s'; did you mean '%s'?", s, hint);
    lisp_fail(I, x->loc, "unbound variable '%s'", s);
}

/* Evaluate a body (forms from index `from` of list x); the last value. */
static Value *eval_body(Interp *I, Value *x, int from) {
    Value *r = v_nil();
    for (int k = from; k < x->nitems; k++) {
        r = core_eval(I, x->items[k]);
        if (I->unwinding) return r;
    }
    return r;
}

static void need_args(Interp *I, Value *x, int min, int max, const char *what) {
    int n = x->nitems - 1;
    if (n < min || (max >= 0 && n > max))
        lisp_fail(I, x->loc, "'%s' expects %s, got %d argument%s", core_call_name(x), what, n, n == 1 ? "" : "s");
}

static const char *want_symbol(Interp *I, Value *x, Value *v, const char *role) {
    if (v->kind != V_SYM)
        lisp_fail(I, v->loc, "'%s': %s must be a symbol, got %s %s", core_call_name(x), role,
                  v_article(v_kind_name(v)), v_kind_name(v));
    return v->s;
}

static Value *deep_copy(Interp *I, Value *v) {
    if (v->kind != V_LIST) return v;
    Value *c = v_list(I, v->lkind);
    c->loc = v->loc;
    for (int k = 0; k < v->nitems; k++) v_push(I, c, deep_copy(I, v->items[k]));
    return c;
}

Func *core_make_func(Interp *I, Value *x, const char *name, Value *params, int body_from) {
    if (params->kind != V_LIST && params->kind != V_NIL)
        lisp_fail(I, params->loc, "'%s': the parameter list must be a list", core_call_name(x));
    Func *fn = arena_alloc(I->arena, sizeof *fn);
    Value *body = v_list(I, L_LIST);
    if (!fn) lisp_fail(I, x->loc, "out of memory");
    bool optional = false;
    int np = params->kind == V_LIST ? params->nitems : 0;
    for (int k = 0; k < np; k++) {
        Value *p = params->items[k];
        if (p->kind == V_SYM) {
            if (optional)
                lisp_fail(I, p->loc, "'%s': mandatory parameter '%s' follows an optional one", core_call_name(x), p->s);
            fn->nreq++;
        } else if (p->kind == V_LIST && p->nitems >= 1 && p->nitems <= 2 && p->items[0]->kind == V_SYM) {
            optional = true;
        } else {
            lisp_fail(I, p->loc, "'%s': a parameter is a symbol, (name default) or (name)", core_call_name(x));
        }
    }
    for (int k = body_from; k < x->nitems; k++) v_push(I, body, x->items[k]);
    fn->name = name;
    fn->params = params->kind == V_LIST ? params : v_list(I, L_LIST);
    fn->body = body;
    fn->nparams = np;
    return fn;
}

static Value *sf_defun(Interp *I, Value *x) {
    need_args(I, x, 2, -1, "a name, a parameter list and a body");
    const char *name = want_symbol(I, x, x->items[1], "the function name");
    Value *v = v_new(I, V_FUNC);
    v->loc = x->loc;
    v->fn = core_make_func(I, x, name, x->items[2], 3);
    frame_set(I, &I->global, name, v);
    return v;
}

static Value *sf_lambda(Interp *I, Value *x) {
    need_args(I, x, 1, -1, "a parameter list and a body");
    Value *v = v_new(I, V_FUNC);
    v->loc = x->loc;
    v->fn = core_make_func(I, x, NULL, x->items[1], 2);
    return v;
}

/* (setq v e), (setq (a b c) list); which: 0 setq, 1 setqv, 2 setg */
static Value *sf_setq(Interp *I, Value *x, int which) {
    need_args(I, x, 2, 2, "2 arguments");
    Value *target = x->items[1];
    Value *v = core_eval(I, x->items[2]);
    if (I->unwinding) return v;
    Frame *f = which == 2 ? &I->global : cur_frame(I);
    if (target->kind == V_LIST && which != 2) {
        if (v->kind != V_LIST)
            lisp_fail(I, x->loc, "'%s': destructuring needs a list, got %s %s", core_call_name(x),
                      v_article(v_kind_name(v)), v_kind_name(v));
        for (int k = 0; k < target->nitems; k++)
            frame_set(I, f, want_symbol(I, x, target->items[k], "a variable"), k < v->nitems ? v->items[k] : v_nil());
    } else {
        frame_set(I, f, want_symbol(I, x, target, "the variable"), v);
    }
    return which == 1 ? v : v_true();
}

/* (let ((v e) ...) body...): the bindings are removed when the let ends. */
static Value *sf_let(Interp *I, Value *x) {
    need_args(I, x, 1, -1, "a binding list and a body");
    Value *binds = x->items[1];
    if (binds->kind != V_LIST) lisp_fail(I, binds->loc, "'let': the bindings must be a list ((var value)...)");
    Frame *f = cur_frame(I);
    int n0 = f->n, nb = binds->nitems;
    Value **vals = arena_alloc(I->arena, sizeof *vals * (size_t)(nb + 1));
    if (!vals) lisp_fail(I, x->loc, "out of memory");
    int roots = gc_root(I, vals, nb);     /* the values wait for the later ones */
    for (int k = 0; k < nb; k++) {
        Value *b = binds->items[k];
        if (b->kind != V_LIST || b->nitems < 1 || b->nitems > 2 || b->items[0]->kind != V_SYM)
            lisp_fail(I, b->loc, "'let': a binding is (variable value)");
        vals[k] = b->nitems == 2 ? core_eval(I, b->items[1]) : v_nil();
        if (I->unwinding) { gc_unroot(I, roots); return vals[k]; }
    }
    for (int k = 0; k < nb; k++) frame_add(I, f, binds->items[k]->items[0]->s, vals[k]);
    gc_unroot(I, roots);
    Value *r = eval_body(I, x, 2);
    /* drop the let's bindings (entries n0..n0+nb), keeping any variables
     * the body created with setq after them */
    if (f->n >= n0 + nb) {
        frame_unindex(f);       /* positions after n0 shift */
        memmove(f->names + n0, f->names + n0 + nb, sizeof *f->names * (size_t)(f->n - n0 - nb));
        memmove(f->vals + n0, f->vals + n0 + nb, sizeof *f->vals * (size_t)(f->n - n0 - nb));
        f->n -= nb;
    }
    return r;
}

static Value *sf_cond(Interp *I, Value *x) {
    for (int k = 1; k < x->nitems; k++) {
        Value *c = x->items[k];
        if (c->kind != V_LIST || c->nitems < 2)
            lisp_fail(I, c->loc, "'cond': each clause is a list (test body...)");
        Value *t = core_eval(I, c->items[0]);
        if (I->unwinding) return t;
        if (v_truthy(t)) return eval_body(I, c, 1);
    }
    return v_nil();
}

/* After one iteration's body: true when the loop must stop. */
static bool loop_stop(Interp *I, Value **r) {
    if (I->unwinding == UNWIND_BREAK) {
        I->unwinding = UNWIND_NONE;
        *r = v_nil();
        return true;
    }
    return I->unwinding != UNWIND_NONE;
}

/* (loop var container body...) over list items, string characters or
 * dictionary keys. */
static Value *sf_loop(Interp *I, Value *x) {
    need_args(I, x, 2, -1, "a variable, a container and a body");
    const char *var = want_symbol(I, x, x->items[1], "the loop variable");
    Value *c = core_eval(I, x->items[2]);
    if (I->unwinding) return c;
    Value *r = v_nil();
    Frame *f = cur_frame(I);
    int roots = gc_root(I, &c, 1);        /* the container may be held by nothing else */
    if (c->kind == V_LIST) {
        for (int k = 0; k < c->nitems; k++) {
            frame_set(I, f, var, c->items[k]);
            r = eval_body(I, x, 3);
            if (loop_stop(I, &r)) break;
        }
    } else if (c->kind == V_STR) {
        for (const char *p = c->s; *p;) {
            int n = 1;             /* one UTF-8 character */
            while (((unsigned char)p[n] & 0xC0) == 0x80) n++;
            Value *ch = v_new(I, V_STR);
            ch->s = arena_strndup(I->arena, p, (size_t)n);
            p += n;
            frame_set(I, f, var, ch);
            r = eval_body(I, x, 3);
            if (loop_stop(I, &r)) break;
        }
    } else if (c->kind == V_DICT) {
        for (int k = 0; k < c->dict->n; k++) {
            frame_set(I, f, var, v_str(I, c->dict->keys[k]));
            r = eval_body(I, x, 3);
            if (loop_stop(I, &r)) break;
        }
    } else if (c->kind != V_NIL) {
        lisp_fail(I, x->items[2]->loc, "'loop' iterates over a list, a string or a dictionary, got %s %s",
                  v_article(v_kind_name(c)), v_kind_name(c));
    }
    gc_unroot(I, roots);
    return r;
}

/* (loopcount n body...), (loopcount n i body...), (loopcount n into i
 * body...), and Common Lisp's (dotimes (i n) body...).  i runs 0..n-1
 * (n-1..0 when n < 0). */
static Value *sf_loopcount(Interp *I, Value *x) {
    need_args(I, x, 1, -1, "a count and a body");
    const char *var = NULL;
    Value *count_expr = x->items[1];
    int from = 2;
    if (count_expr->kind == V_LIST && count_expr->nitems == 2 && count_expr->items[0]->kind == V_SYM &&
        !strcmp(core_call_name(x), "dotimes")) {
        var = count_expr->items[0]->s;
        count_expr = count_expr->items[1];
    } else if (x->nitems > 3 && x->items[2]->kind == V_SYM && !strcmp(x->items[2]->s, "into") &&
               x->items[3]->kind == V_SYM) {
        var = x->items[3]->s;
        from = 4;
    } else if (x->nitems > 2 && x->items[2]->kind == V_SYM) {
        var = x->items[2]->s;
        from = 3;
    }
    Value *nv = core_eval(I, count_expr);
    if (I->unwinding) return nv;
    if (nv->kind != V_INT && nv->kind != V_NUM)
        lisp_fail(I, count_expr->loc, "'%s': the count must be a number, got %s %s", core_call_name(x),
                  v_article(v_kind_name(nv)), v_kind_name(nv));
    if ((nv->kind == V_NUM && !(fabs(nv->n) < 9.2e18)) || (nv->kind == V_INT && nv->i == INT64_MIN))
        lisp_fail(I, count_expr->loc, "'%s': count out of range", core_call_name(x));
    core_specialise(I, nv, x, "the loop count");
    int64_t n = nv->kind == V_INT ? nv->i : (int64_t)nv->n;
    int64_t total = n < 0 ? -n : n;
    Value *r = v_nil();
    Frame *f = cur_frame(I);
    for (int64_t k = 0; k < total; k++) {
        if (var) frame_set(I, f, var, v_int(I, n < 0 ? total - 1 - k : k));
        r = eval_body(I, x, from);
        if (loop_stop(I, &r)) break;
    }
    return r;
}

static Value *sf_while(Interp *I, Value *x) {
    need_args(I, x, 1, -1, "a condition and a body");
    Value *r = v_nil();
    for (;;) {
        Value *c = core_eval(I, x->items[1]);
        if (I->unwinding) return c;
        if (!v_truthy(c)) break;
        r = eval_body(I, x, 2);
        if (loop_stop(I, &r)) break;
    }
    return r;
}

/* (+= var e) and friends: rebinds var where it lives. */
static Value *sf_arith_assign(Interp *I, Value *x) {
    need_args(I, x, 2, 2, "a variable and a value");
    const char *var = want_symbol(I, x, x->items[1], "the first argument");
    Value **slot = lookup_slot(I, var);
    if (!slot) lisp_fail(I, x->items[1]->loc, "unbound variable '%s'", var);
    Value *v = core_eval(I, x->items[2]);
    if (I->unwinding) return v;
    Value *r = core_arith(I, x, core_call_name(x)[0], *slot, v);
    slot = lookup_slot(I, var);      /* the frame may have grown meanwhile */
    if (I->journal) {               /* the slot is in one of these three */
        journal_frame(I, cur_frame(I));
        journal_frame(I, &I->global);
        if (I->self) journal_dict(I, I->self->dict);
    }
    *slot = r;
    return r;
}

static Value *eval_special(Interp *I, SpecialForm sf, Value *x) {
    Value *r;
    switch (sf) {
    case SF_QUOTE:
        need_args(I, x, 1, 1, "1 argument");
        return deep_copy(I, x->items[1]);     /* a mutable copy: (push '(1 2) 3) */
    case SF_DEFUN: return sf_defun(I, x);
    case SF_LAMBDA: return sf_lambda(I, x);
    case SF_SETQ: return sf_setq(I, x, 0);
    case SF_SETQV: return sf_setq(I, x, 1);
    case SF_SETG: return sf_setq(I, x, 2);
    case SF_LET: return sf_let(I, x);
    case SF_BLOCK: return eval_body(I, x, 1);
    case SF_IF:
        need_args(I, x, 2, 3, "2 or 3 arguments (condition, then, else)");
        r = core_eval(I, x->items[1]);
        if (I->unwinding) return r;
        if (v_truthy(r)) return core_eval(I, x->items[2]);
        return x->nitems == 4 ? core_eval(I, x->items[3]) : v_nil();
    case SF_IFE:
        need_args(I, x, 2, -1, "a condition, a then and an else body");
        r = core_eval(I, x->items[1]);
        if (I->unwinding) return r;
        if (v_truthy(r)) return core_eval(I, x->items[2]);
        return eval_body(I, x, 3);
    case SF_COND: return sf_cond(I, x);
    case SF_CHECK:
        need_args(I, x, 1, -1, "a condition and a body");
        r = core_eval(I, x->items[1]);
        if (I->unwinding) return r;
        return v_truthy(r) ? eval_body(I, x, 2) : v_nil();
    case SF_NCHECK:
        need_args(I, x, 2, -1, "a condition, an else expression and a body");
        r = core_eval(I, x->items[1]);
        if (I->unwinding) return r;
        return v_truthy(r) ? eval_body(I, x, 3) : core_eval(I, x->items[2]);
    case SF_LOOP: case SF_LOOPCOUNT: case SF_WHILE: {
        Value *outer = I->loop;        /* the limits name the innermost loop */
        I->loop = x;
        r = sf == SF_LOOP ? sf_loop(I, x) : sf == SF_WHILE ? sf_while(I, x) : sf_loopcount(I, x);
        I->loop = outer;
        return r;
    }
    case SF_BREAK:
        need_args(I, x, 0, 0, "no argument");
        I->unwinding = UNWIND_BREAK;
        return v_nil();
    case SF_RETURN:
        need_args(I, x, 0, 1, "0 or 1 argument");
        r = x->nitems == 2 ? core_eval(I, x->items[1]) : v_nil();
        if (I->unwinding) return r;
        I->unwinding = UNWIND_RETURN;
        I->ret_value = r;
        return r;
    case SF_AND:
    case SF_OR:
        for (int k = 1; k < x->nitems; k++) {
            r = core_eval(I, x->items[k]);
            if (I->unwinding) return r;
            if (v_truthy(r) == (sf == SF_OR)) return v_bool(sf == SF_OR);
        }
        return v_bool(sf == SF_AND);
    case SF_ELAPSE: {
        double t0 = now_ms();
        int first = I->eager->nnodes;
        r = eval_body(I, x, 1);
        if (I->unwinding) return r;
        /* Tensor values are lazy: time what the body computed, not only the
         * building of its graph, by computing the tensors it made. */
        if (I->mode == MODE_RUN && !I->trace) force_new_tensors(I, x, first);
        return v_num(I, now_ms() - t0);
    }
    case SF_USE: return v_true();    /* lispe_torch is built in */
    case SF_ARITH_ASSIGN: return sf_arith_assign(I, x);
    case SF_CLASS: return class_define(I, x);
    case SF_SETQI: return class_setqi(I, x);
    case SF_NONE: break;
    }
    return v_nil();
}

/* The C stack guard.  The lowest usable address of the current thread's
 * stack (plus a safety margin for builtins and error reporting) is a fact
 * about the thread, not about a session, so it is cached per thread. */
#define STACK_MARGIN (512 * 1024)
static _Thread_local const char *stack_low;

static bool stack_exhausted(void) {
    char here;
    if (!stack_low) {
        pthread_attr_t a;
        void *addr;
        size_t size;
        stack_low = (const char *)1;      /* unknown: rely on max_depth alone */
        if (pthread_getattr_np(pthread_self(), &a) == 0) {
            if (pthread_attr_getstack(&a, &addr, &size) == 0 && size >= 64 * 1024)
                stack_low = (const char *)addr + (size / 4 < STACK_MARGIN ? size / 4 : STACK_MARGIN);
            pthread_attr_destroy(&a);
        }
    }
    return &here < stack_low;
}

/* Call a user function: arity check, new frame, parameters, body. */
static Value *apply_func(Interp *I, Func *fn, Value **args, int n, Value *call) {
    const char *name = fn->name ? fn->name : "lambda";
    SrcLoc loc = call ? call->loc : (SrcLoc){0};
    if (n < fn->nreq || n > fn->nparams) {
        const char *what = fn->is_method ? "method" : "function";     /* methods are named Class.method */
        if (fn->nreq == fn->nparams)
            lisp_fail(I, loc, "%s '%s' expects %d argument%s, got %d", what, name, fn->nreq,
                      fn->nreq == 1 ? "" : "s", n);
        lisp_fail(I, loc, "%s '%s' expects %d to %d arguments, got %d", what, name, fn->nreq, fn->nparams, n);
    }
    if (I->depth >= I->max_depth || stack_exhausted())
        lisp_fail(I, loc, "runaway recursion in '%s' (depth %d)", name, I->depth);
    Frame *f = push_frame(I);
    /* A defun does not see the fields of the instance whose method called
     * it (LispE checks the function's space); a lambda keeps them.  A
     * method's caller sets I->self to its instance (core_apply_method). */
    Value *self0 = I->self;
    int roots = gc_root(I, &self0, 1);    /* the caller's instance, hidden while this runs */
    if (fn->name && !fn->is_method) I->self = NULL;
    for (int k = 0; k < fn->nparams; k++) {
        Value *p = fn->params->items[k];
        if (p->kind == V_SYM) {
            frame_add(I, f, p->s, args[k]);
        } else if (k < n) {
            frame_add(I, f, p->items[0]->s, args[k]);
        } else {
            /* defaults are evaluated in the new frame: they may use earlier parameters */
            Value *d = p->nitems == 2 ? core_eval(I, p->items[1]) : v_nil();
            I->unwinding = UNWIND_NONE;
            frame_add(I, f, p->items[0]->s, d);
        }
    }
    Value *r = eval_body(I, fn->body, 0);
    if (I->unwinding == UNWIND_RETURN) r = I->ret_value;
    I->unwinding = UNWIND_NONE;
    I->depth--;
    I->self = self0;
    gc_unroot(I, roots);
    return r;
}

Value *core_apply_method(Interp *I, Func *fn, Value *self, Value **args, int n, Value *call) {
    Value *self0 = I->self;
    int roots = gc_root(I, &self0, 1);
    I->self = self;
    Value *r = apply_func(I, fn, args, n, call);
    I->self = self0;
    gc_unroot(I, roots);
    return r;
}

Value *core_apply(Interp *I, Value *fn, Value **args, int n, Value *call) {
    if (fn->kind == V_FUNC) return apply_func(I, fn->fn, args, n, call);
    if (fn->kind == V_BUILTIN) {
        const Builtin *b = fn->bi;
        if (n < b->min_args || (b->max_args >= 0 && n > b->max_args)) {
            SrcLoc loc = call ? call->loc : (SrcLoc){0};
            /* name it as the script wrote it (torch_add, not tensor_add) */
            const char *name = interp_builtin(I, core_call_name(call)) == b ? core_call_name(call) : b->name;
            if (b->min_args == b->max_args)
                lisp_fail(I, loc, "'%s' expects %d argument%s, got %d", name, b->min_args,
                          b->min_args == 1 ? "" : "s", n);
            if (b->max_args < 0)
                lisp_fail(I, loc, "'%s' expects at least %d argument%s, got %d", name, b->min_args,
                          b->min_args == 1 ? "" : "s", n);
            lisp_fail(I, loc, "'%s' expects %d to %d arguments, got %d", name, b->min_args, b->max_args, n);
        }
        return b->fn(I, args, n, call);
    }
    lisp_fail(I, call ? call->loc : (SrcLoc){0}, "%s %s is not a function", v_article(v_kind_name(fn)),
              v_kind_name(fn));
}

/* Record a top-level call of a user function with tensor arguments: the
 * compile entry candidates. */
static void record_entry(Interp *I, Value *fnv, Value **args, int n, Value *call) {
    bool any = false;
    for (int k = 0; k < n; k++) any |= args[k]->kind == V_TENSOR;
    if (!any) return;
    if (I->ncalls == I->capcalls) {
        int cap = I->capcalls ? I->capcalls * 2 : 8;
        EntryCall *c = arena_alloc(I->arena, sizeof *c * (size_t)cap);
        if (!c) lisp_fail(I, call->loc, "out of memory");
        if (I->ncalls) memcpy(c, I->calls, sizeof *c * (size_t)I->ncalls);
        I->calls = c, I->capcalls = cap;
    }
    EntryCall *e = &I->calls[I->ncalls++];
    e->fn = fnv->fn;
    e->args = args;     /* args arrays are arena memory owned by the call */
    e->nargs = n;
    e->loc = call->loc;
}

/* The function a head symbol names: a variable holding a function (or a
 * quoted function name, as in (defun app (f x) (f x)) (app 'car l)), else
 * a builtin.  A data variable does not hide a builtin: (setq list ...) then
 * (list 1 2) still works. */
static Value *resolve_head(Interp *I, Value *head) {
    const char *name = head->s;
    Value **slot = lookup_slot(I, name);
    for (int hops = 0; slot && (*slot)->kind == V_SYM && hops < 8; hops++) {
        name = (*slot)->s;
        slot = lookup_slot(I, name);
    }
    if (slot && ((*slot)->kind == V_FUNC || (*slot)->kind == V_BUILTIN)) return *slot;
    const Builtin *b = interp_builtin(I, name);
    if (b) {
        Value *fnv = v_new(I, V_BUILTIN);
        fnv->bi = b;
        return fnv;
    }
    if (slot)
        lisp_fail(I, head->loc, "'%s' is not a function (it is %s %s)", head->s, v_article(v_kind_name(*slot)),
                  v_kind_name(*slot));
    const char *hint = did_you_mean(I, name, true);
    if (hint) lisp_fail(I, head->loc, "unknown function '%s'; did you mean '%s'?", name, hint);
    lisp_fail(I, head->loc, "unknown function '%s'", name);
}

static Value *eval_apply(Interp *I, Value *fnv, Func *method, Value **args, int n, Value *x);

static Value *eval_call(Interp *I, Value *x) {
    Value *head = x->items[0], *fnv;
    Func *method = NULL;
    if (head->kind == V_SYM) {
        SpecialForm sf = special_of(head);
        if (sf != SF_NONE) return eval_special(I, sf, x);
        /* class@: a method of the current instance, a variable holding an
         * instance ((obj (method args))), a class name (a constructor) */
        if (I->self && (method = class_method(I->self->cls, head->s))) {
            fnv = NULL;
        } else {
            Value **slot = lookup_slot(I, head->s);
            /* as a data variable does not hide a builtin (resolve_head), an
             * instance in a variable named like one is called only with one
             * of its methods: (list (m)) is a method call, (list 1 2) a list */
            if (slot && (*slot)->kind == V_DICT && (*slot)->cls &&
                (!interp_builtin(I, head->s) || class_sends_method(*slot, x)))
                return class_send(I, *slot, x);
            const struct ClassDef *c = (!slot || ((*slot)->kind != V_FUNC && (*slot)->kind != V_BUILTIN))
                                           ? class_find(I, head->s) : NULL;
            if (c) return class_construct(I, c, x);
            fnv = resolve_head(I, head);
        }
    } else {
        fnv = core_eval(I, head);
        if (I->unwinding) return fnv;
        if (fnv->kind == V_DICT && fnv->cls) return class_send(I, fnv, x);
        if (fnv->kind != V_FUNC && fnv->kind != V_BUILTIN)
            lisp_fail(I, head->loc, "%s %s is not a function", v_article(v_kind_name(fnv)), v_kind_name(fnv));
    }
    int n = x->nitems - 1;
    Value **args = arena_alloc(I->arena, sizeof *args * (size_t)(n + 1));
    if (!args) lisp_fail(I, x->loc, "out of memory");
    /* the arguments evaluated so far wait for the others, and stay rooted
     * while the call runs (a builtin such as map calls back into eval) */
    int roots = gc_root(I, args, n);
    for (int k = 0; k < n; k++) {
        args[k] = core_eval(I, x->items[k + 1]);
        if (I->unwinding) { gc_unroot(I, roots); return args[k]; }
    }
    Value *r = eval_apply(I, fnv, method, args, n, x);
    gc_unroot(I, roots);
    return r;
}

/* The call of eval_call once its arguments are evaluated. */
static Value *eval_apply(Interp *I, Value *fnv, Func *method, Value **args, int n, Value *x) {
    if (method) {
        /* (obj (forward x)) at top level: an entry candidate (class.c) */
        if (I->depth == 0 && !I->trace) {
            bool tensors = false;
            for (int k = 0; k < n; k++) tensors |= args[k]->kind == V_TENSOR;
            if (tensors) record_entry(I, class_entry_function(I, method, I->self, n, x), args, n, x);
        }
        Value *r;
        if (jit_wants(I, method, args, n) &&
            jit_call(I, method, class_entry_function(I, method, I->self, n, x), I->self, args, n, x, &r))
            return r;
        return core_apply_method(I, method, I->self, args, n, x);
    }
    if (fnv->kind == V_FUNC && I->depth == 0 && !I->trace) record_entry(I, fnv, args, n, x);
    Value *r;
    if (fnv->kind == V_FUNC && jit_wants(I, fnv->fn, args, n) && jit_call(I, fnv->fn, fnv, NULL, args, n, x, &r))
        return r;
    return core_apply(I, fnv, args, n, x);
}

/* --max-steps / --timeout / --max-memory: a script that never ends (or
 * grows without bound) is stopped with an error at the loop that runs,
 * instead of hanging a compile.  The clock and the arena are looked at
 * every CHECK_EVERY steps only, so the common path is one compare. */
#define CHECK_EVERY 4096
void core_fail_memory(Interp *I, Value *x) {
    Value *at = I->loop ? I->loop : x;
    lisp_fail(I, at->loc, "evaluation stopped: its values take more than %zu MB (--max-memory) in '%s'",
              I->max_memory >> 20, core_call_name(at));
}

static void check_limits(Interp *I, Value *x) {
    Value *at = I->loop ? I->loop : x;
    const char *what = core_call_name(at);
    if (I->max_steps && I->steps >= I->max_steps)
        lisp_fail(I, at->loc, "evaluation stopped after %llu steps (--max-steps) in '%s'",
                  (unsigned long long)I->max_steps, what);
    if (I->deadline_ms > 0 && now_ms() > I->deadline_ms)
        lisp_fail(I, at->loc, "evaluation stopped after %g seconds (--timeout) in '%s'", I->timeout_s, what);
    if (I->max_memory && gc_memory(I) > I->max_memory) core_fail_memory(I, x);
    if (I->interrupt && *I->interrupt) {
        *I->interrupt = 0;
        lisp_fail(I, at->loc, "interrupted (Ctrl-C) in '%s'", what);
    }
    uint64_t next = I->steps + CHECK_EVERY;
    I->next_check = I->max_steps && next > I->max_steps ? I->max_steps : next;
}

Value *core_eval(Interp *I, Value *x) {
    switch (x->kind) {
    case V_SYM: return eval_symbol(I, x);
    case V_LIST:
        if (x->nitems == 0) return v_nil();
        if (++I->steps >= I->next_check) check_limits(I, x);
        if (I->eager && I->eager->debt) gc_safe_point(I, x);
        return eval_call(I, x);
    default: return x;      /* numbers, strings... evaluate to themselves */
    }
}

/* ---- sessions ------------------------------------------------------------------- */

/* Recursion deeper than this is taken as runaway (LispE scripts do not
 * recurse deeply); the C stack guard may stop it earlier on small stacks. */
#define DEFAULT_MAX_DEPTH 10000

void interp_init(Interp *I, Arena *a, InterpMode mode, uint64_t seed) {
    memset(I, 0, sizeof *I);
    I->arena = a;
    I->mode = mode;
    I->out = stdout;
    I->jit_functions = true;      /* used when the eager pool has a call_hook */
    I->seed = seed;
    I->max_depth = DEFAULT_MAX_DEPTH;
    const char *stress = getenv("LTC_GC_STRESS");    /* tests: collect at every safe point */
    I->gc_stress = stress && !strcmp(stress, "1");
    I->capstack = 64;
    I->stack = arena_alloc(a, sizeof *I->stack * (size_t)I->capstack);
    if (I->stack) I->stack[0] = &I->global;
    I->eager = graph_new(a, "<eager>", true);
    if (I->eager) I->eager->seed = seed;
    jmp_buf jb;
    I->on_error = &jb;
    if (!setjmp(jb)) {                /* fails only when out of memory */
        core_register_builtins(I);
        load_register(I);
    }
    I->on_error = NULL;
}

void core_add_file(Interp *I, const SrcFile *f) {
    if (I->nfiles == I->capfiles) {
        int cap = I->capfiles ? I->capfiles * 2 : 4;
        SrcFile **fs = arena_alloc(I->arena, sizeof *fs * (size_t)cap);
        if (!fs) return;
        if (I->nfiles) memcpy(fs, I->files, sizeof *fs * (size_t)I->nfiles);
        I->files = fs, I->capfiles = cap;
    }
    I->files[I->nfiles++] = (SrcFile *)f;
}

/* What an error unwinding to a top level (a file, a REPL form) restores:
 * the handler before it, the roots, depth, `self` and load nesting. */
typedef struct TopLevel {
    jmp_buf *prev;
    int depth, nloading, nroots;
    Value *self;
} TopLevel;

static TopLevel top_enter(Interp *I, jmp_buf *jb) {
    TopLevel t = {I->on_error, I->depth, I->nloading, I->nroots, I->self};
    I->on_error = jb;
    return t;
}

static void top_restore(Interp *I, const TopLevel *t) {
    I->on_error = t->prev;
    I->nroots = t->nroots;
    I->depth = t->depth;
    I->unwinding = UNWIND_NONE;
    I->self = t->self;
    I->nloading = t->nloading;
}

int lisp_eval_file(Interp *I, const SrcFile *f) {
    if (!I->stack) return diag_set(&I->diag, (SrcLoc){0}, "out of memory");
    Value *forms = lisp_read(I->arena, f, &I->diag);
    if (!forms) return -1;
    core_add_file(I, f);
    jmp_buf jb;
    TopLevel t = top_enter(I, &jb);
    if (setjmp(jb)) {
        top_restore(I, &t);
        return -1;
    }
    for (int k = 0; k < forms->nitems; k++) {
        core_eval(I, forms->items[k]);
        I->unwinding = UNWIND_NONE;     /* a stray break/return at top level */
    }
    I->on_error = t.prev;
    return 0;
}

int lisp_eval_toplevel(Interp *I, const SrcFile *f, Value *form, FILE *out) {
    if (!I->stack) return diag_set(&I->diag, (SrcLoc){0}, "out of memory");
    /* on the heap: the pointer does not change between setjmp and a
     * longjmp out of v_print, so the handler may free what it holds */
    StrBuf *b = calloc(1, sizeof *b);
    if (!b) return diag_set(&I->diag, form->loc, "out of memory");
    core_add_file(I, f);
    jmp_buf jb;
    TopLevel t = top_enter(I, &jb);
    if (setjmp(jb)) {
        /* the same restoration as lisp_eval_file's: the next form starts
         * from a clean top level */
        top_restore(I, &t);
        sb_free(b);
        free(b);
        return -1;
    }
    Value *v = core_eval(I, form);
    I->unwinding = UNWIND_NONE;         /* a stray break/return at top level */
    if (out && v->kind != V_NIL) {
        int mark = gc_root(I, &v, 1);
        v_print(I, v, b, false);
        gc_unroot(I, mark);
        sb_putc(b, '\n');
        if (b->oom) lisp_fail(I, form->loc, "out of memory while printing the value");
        fwrite(b->s, 1, b->len, out);
        fflush(out);
    }
    sb_free(b);
    free(b);
    I->on_error = t.prev;
    return 0;
}

int lisp_call(Interp *I, Value *fn, Value **args, int nargs, Value **result) {
    if (!I->stack) return diag_set(&I->diag, (SrcLoc){0}, "out of memory");
    jmp_buf jb, *prev = I->on_error;
    int depth0 = I->depth, unwinding0 = I->unwinding;
    I->on_error = &jb;
    Value *self0 = I->self;
    int nloading0 = I->nloading, nroots0 = I->nroots;
    if (setjmp(jb)) {
        I->on_error = prev;
        I->nroots = nroots0;
        I->depth = depth0;
        I->unwinding = unwinding0;
        I->self = self0;
        I->nloading = nloading0;
        return -1;
    }
    Value *call = NULL;
    if (fn->kind == V_BUILTIN) {
        /* builtins take their name from the call form */
        call = v_list(I, L_LIST);
        v_push(I, call, v_sym(I, fn->bi->name));
        for (int k = 0; k < nargs; k++) v_push(I, call, args[k]);
    } else if (fn->kind == V_FUNC) {
        call = v_list(I, L_LIST);
        call->loc = fn->loc;
    }
    gc_root(I, args, nargs);
    Value *r = core_apply(I, fn, args, nargs, call);
    if (result) *result = r;
    I->nroots = nroots0;
    I->on_error = prev;
    return 0;
}
