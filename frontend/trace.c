/* trace.c: turn one call of a user function into a graph (an entry).
 *
 * The function runs once on symbolic INPUT nodes instead of its example
 * tensors; every tensor op it performs lands in the new graph (I->trace),
 * and every eager tensor it touches (module weights...) becomes a PARAM
 * (ir_emit does that).  Afterwards each PARAM is named by the path the
 * script reaches its value through: `layer.attention.q_proj.weight`.
 *
 * Symbolic dimensions (the default rule, docs/torch_api.md "Tracing"): for
 * each tensor input, dims 0 and 1 (rank <= 3) or 0 and 2 (rank >= 4) are
 * symbolic.  A dim whose example equals an existing symbol's shares it
 * (dim 0 names "B", others "S", then "B2", "S2"...).  The last dim of a
 * rank >= 2 input is its second-to-last's symbol when that one is symbolic
 * with the same example (square masks [.., S, S]). */
#include "frontend/torch.h"

#include <string.h>

/* ---- a set of pointers (open addressing, arena memory) ------------------------ */
typedef struct PtrSet { const void **keys; size_t cap, n; Arena *a; } PtrSet;

static size_t ptr_hash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33;
    return (size_t)x;
}

/* Adds p; returns false if it was already there (or memory ran out). */
static bool set_add(PtrSet *s, const void *p) {
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        const void **k = arena_alloc(s->a, cap * sizeof *k);
        if (!k) return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->keys[i]) continue;
            size_t j = ptr_hash(s->keys[i]) & (cap - 1);
            while (k[j]) j = (j + 1) & (cap - 1);
            k[j] = s->keys[i];
        }
        s->keys = k; s->cap = cap;
    }
    size_t j = ptr_hash(p) & (s->cap - 1);
    while (s->keys[j]) {
        if (s->keys[j] == p) return false;
        j = (j + 1) & (s->cap - 1);
    }
    s->keys[j] = p;
    s->n++;
    return true;
}

/* ---- breadth-first walk over values ------------------------------------------------ */
typedef struct Item { Value *v; const char *path; bool in_module; } Item;
typedef void (*TensorFn)(void *ctx, const char *path, Node *t, bool in_module);

typedef struct Walk {
    Arena *a;
    Item *q; size_t head, n, cap;
    PtrSet seen;
} Walk;

static void enqueue(Walk *w, Value *v, const char *path, bool in_module) {
    if (!v || !path) return;
    if (v->kind != V_TENSOR && v->kind != V_LIST && v->kind != V_DICT && v->kind != V_MODULE) return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        Item *q = arena_alloc(w->a, cap * sizeof *q);
        if (!q) return;
        if (w->n) memcpy(q, w->q, w->n * sizeof *q);
        w->q = q; w->cap = cap;
    }
    w->q[w->n++] = (Item){v, path, in_module};
}

static void enqueue_dict(Walk *w, Dict *d, const char *path, bool in_module) {
    if (!d || !set_add(&w->seen, d)) return;
    for (int i = 0; i < d->n; i++)
        enqueue(w, d->vals[i], arena_printf(w->a, "%s.%s", path, d->keys[i]), in_module);
}

static void walk_run(Walk *w, TensorFn fn, void *ctx) {
    while (w->head < w->n) {
        Item it = w->q[w->head++];
        Value *v = it.v;
        switch (v->kind) {
        case V_TENSOR:
            if (v->t && set_add(&w->seen, v->t)) fn(ctx, it.path, v->t, it.in_module);
            break;
        case V_LIST:
            if (!set_add(&w->seen, v)) break;
            for (int i = 0; i < v->nitems; i++)
                enqueue(w, v->items[i], arena_printf(w->a, "%s.%d", it.path, i), it.in_module);
            break;
        case V_DICT: enqueue_dict(w, v->dict, it.path, it.in_module); break;
        case V_MODULE: if (v->mod) enqueue_dict(w, v->mod->fields, it.path, true); break;
        default: break;
        }
    }
}

static void enqueue_globals(Interp *I, Walk *w) {
    for (int i = 0; i < I->global.n; i++) enqueue(w, I->global.vals[i], I->global.names[i], false);
}

void interp_walk_tensors(Interp *I, TensorFn fn, void *ctx) {
    Walk w;
    memset(&w, 0, sizeof w);
    w.a = w.seen.a = I->arena;
    enqueue_globals(I, &w);
    walk_run(&w, fn, ctx);
}

/* ---- parameter naming ----------------------------------------------------------------- */
typedef struct Namer { Graph *g; bool *named; } Namer;

static void name_param(void *ctx, const char *path, Node *t, bool in_module) {
    Namer *nm = ctx;
    for (int i = 0; i < nm->g->nparams; i++) {
        Node *p = nm->g->params[i];
        if (!nm->named[i] && p->origin == t) {
            p->name = path;
            nm->named[i] = true;
            return;
        }
    }
}

static const char *param_name_of(const Func *f, int k) {
    if (!f->params || k >= f->params->nitems) return NULL;
    Value *p = f->params->items[k];
    if (p->kind == V_LIST && p->nitems > 0) p = p->items[0];
    return p->kind == V_SYM ? p->s : NULL;
}

static int name_params(Interp *I, EntryCall *call, Graph *g) {
    Namer nm = {g, arena_alloc(I->arena, sizeof(bool) * (size_t)(g->nparams + 1))};
    if (!nm.named) return diag_set(&I->diag, call->loc, "out of memory");
    Walk w;
    memset(&w, 0, sizeof w);
    w.a = w.seen.a = I->arena;
    /* Roots: the globals first, so a parameter has the same name here as in
     * `run --save-tensors` (weights files move between the two), then the
     * entry's non-tensor arguments for what no global reaches. */
    enqueue_globals(I, &w);
    for (int k = 0; k < call->nargs; k++) {
        const char *pn = param_name_of(call->fn, k);
        if (pn && call->args[k]->kind != V_TENSOR) enqueue(&w, call->args[k], pn, false);
    }
    walk_run(&w, name_param, &nm);
    for (int i = 0, c = 0; i < g->nparams; i++)
        if (!nm.named[i]) g->params[i]->name = arena_printf(I->arena, "const.%d", c++);
    return 0;
}

/* ---- symbolic input shapes -------------------------------------------------------------- */
/* Symbols are matched by example size, and by role when sizes collide:
 * each symbol remembers whether it was made for a batch (dim 0) or a
 * sequence position, and two dims of one input never share a symbol of
 * the other role, so x [3,3,56] traces as [B,S,56], not [B,B,56]. */
typedef struct SymNames {
    int nb, ns;
    bool batch[LTC_MAX_SYMS];       /* role of each symbol */
    uint32_t in_input;              /* symbols used by the current input */
} SymNames;

static Dim sym_for(Graph *g, int64_t example, bool batch, SymNames *sn) {
    int other = -1;
    for (int i = 0; i < g->nsyms; i++) {
        if (g->syms[i].example != example) continue;
        if (sn->batch[i] == batch) { sn->in_input |= 1u << i; return (Dim){1, 1u << i}; }
        if (!(sn->in_input & (1u << i)) && other < 0) other = i;
    }
    if (other >= 0) { sn->in_input |= 1u << other; return (Dim){1, 1u << other}; }
    int *c = batch ? &sn->nb : &sn->ns;
    const char *base = batch ? "B" : "S";
    const char *name = *c == 0 ? base : arena_printf(g->arena, "%s%d", base, *c + 1);
    int idx = graph_add_symbol(g, name, example);
    if (idx < 0) return dim_const(example);           /* out of symbols: stays static */
    (*c)++;
    sn->batch[idx] = batch;
    sn->in_input |= 1u << idx;
    return (Dim){1, 1u << idx};
}

static Shape symbolic_shape(Graph *g, const Shape *ex, DType dtype, SymNames *sn) {
    Shape s = *ex;
    sn->in_input = 0;
    int r = s.rank;
    int sym[2] = {0, r >= 4 ? 2 : 1};
    bool mask4 = r == 4 && (ex->d[1].k == 1 || dtype == DT_BOOL);
    for (int j = 0; j < 2; j++) {
        int d = sym[j];
        if (d >= r || (j == 1 && d == sym[0])) continue;
        if (mask4 && d == 2 && ex->d[d].k == 1) continue;     /* [B,1,1,S]: broadcast dim */
        s.d[d] = sym_for(g, ex->d[d].k, d == 0, sn);
    }
    /* Square masks: [S,S], [B,1,S,S] or any bool mask tie their last dim
     * to the symbolic one before it.  Activations ([B,S,E], [B,H,S,D])
     * never do, even when E or D happens to equal S. */
    bool mask_like = r == 2 || (r == 4 && ex->d[1].k == 1) || dtype == DT_BOOL;
    if (mask_like && r >= 2 && s.d[r - 2].sym && !s.d[r - 1].sym && ex->d[r - 1].k == ex->d[r - 2].k)
        s.d[r - 1] = s.d[r - 2];
    /* Masks of rank 4 ([B,1,1,S] padding, [B,1,S,S], [B,H,S,S]): the last
     * two dims are positions.  A size-1 dim broadcasts and stays 1; a dim
     * equal to an earlier input's sequence symbol shares it. */
    if (r == 4 && mask_like) {
        for (int j = 2; j < 4; j++) {
            if (ex->d[j].k == 1) { s.d[j] = dim_const(1); continue; }
            if (s.d[j].sym && !sn->batch[__builtin_ctz(s.d[j].sym)]) continue;
            for (int i = 0; i < g->nsyms; i++)
                if (!sn->batch[i] && g->syms[i].def.kind == SYM_FREE && g->syms[i].example == ex->d[j].k) {
                    s.d[j] = (Dim){1, 1u << i};
                    break;
                }
        }
    }
    return s;
}

/* ---- the entry point --------------------------------------------------------------------- */
static int add_output(Interp *I, EntryCall *call, Graph *g, Node *t) {
    if (t->graph != g) {
        if (!t->graph || !t->graph->eager)
            return diag_set(&I->diag, call->loc, "entry '%s' returns a tensor of another graph", g->name);
        t = ir_param_for(g, t);
        if (!t) return diag_set(&I->diag, call->loc, "out of memory");
    }
    ir_add_output(g, t);
    return 0;
}

/* The function of call runs on symbolic INPUTs in a new graph *out; its
 * LispE result in *result. */
static int trace_run(Interp *I, EntryCall *call, const char *gname, const TraceOptions *o, Graph **out,
                     Value **result, Value ***targs) {
    Graph *g = graph_new(I->arena, gname, false);
    Value **args = arena_alloc(I->arena, sizeof *args * (size_t)(call->nargs + 1));
    Value *fv = arena_alloc(I->arena, sizeof *fv);
    if (!g || !args || !fv) return diag_set(&I->diag, call->loc, "out of memory");
    g->seed = I->seed;

    SymNames sn;
    memset(&sn, 0, sizeof sn);
    for (int k = 0; k < call->nargs; k++) {
        Value *a = call->args[k];
        args[k] = a;
        if (a->kind != V_TENSOR) continue;
        const char *pn = param_name_of(call->fn, k);
        Shape s = a->t->shape;
        for (int d = 0; d < s.rank; d++)
            if (s.d[d].sym)
                return diag_set(&I->diag, call->loc, "entry '%s': argument %d has a symbolic shape", gname, k + 1);
        if (!o || !o->static_shapes) s = symbolic_shape(g, &a->t->shape, a->t->dtype, &sn);
        for (int j = 0; o && pn && j < o->ndyn; j++) {
            if (strcmp(o->dyn_name[j], pn) != 0) continue;
            int ax = o->dyn_axis[j] < 0 ? o->dyn_axis[j] + s.rank : o->dyn_axis[j];
            if (ax < 0 || ax >= s.rank)
                return diag_set(&I->diag, call->loc, "--dynamic %s:%d: input '%s' of '%s' has rank %d", pn,
                                o->dyn_axis[j], pn, gname, s.rank);
            if (!s.d[ax].sym) s.d[ax] = sym_for(g, a->t->shape.d[ax].k, ax == 0, &sn);
        }
        Node *in = ir_input(g, pn ? pn : arena_printf(I->arena, "arg%d", k), a->t->dtype, &s, call->loc);
        if (!in) return diag_set(&I->diag, call->loc, "out of memory");
        args[k] = v_tensor(I, in);
    }

    fv->kind = V_FUNC;
    fv->fn = call->fn;
    fv->loc = call->loc;
    Graph *prev = I->trace;
    I->trace = g;
    Value *res = NULL;
    int rc = lisp_call(I, fv, args, call->nargs, &res);
    I->trace = prev;
    if (rc != 0) return -1;
    *out = g;
    *result = res;
    if (targs) *targs = args;
    return 0;
}

int trace_call(Interp *I, EntryCall *call, const char *name, Graph **out, Value **result, Value ***targs) {
    *out = NULL;
    *result = NULL;
    if (!call || !call->fn) return diag_set(&I->diag, (SrcLoc){0}, "trace: no function to trace");
    const char *gname = name ? name : call->fn->name ? call->fn->name : "lambda";
    Graph *g;
    if (trace_run(I, call, gname, NULL, &g, result, targs) != 0) return -1;
    for (int i = 0; i < g->nparams; i++)
        if (!(g->params[i]->name = arena_printf(I->arena, "p%d", i))) return diag_set(&I->diag, call->loc, "out of memory");
    *out = g;
    return 0;
}

int trace_entry(Interp *I, EntryCall *call, const char *name, const TraceOptions *o, Graph **out) {
    *out = NULL;
    if (!call || !call->fn) return diag_set(&I->diag, (SrcLoc){0}, "trace: no function to trace");
    const char *gname = name ? name : call->fn->name ? call->fn->name : "entry";
    Graph *g;
    Value *res;
    if (trace_run(I, call, gname, o, &g, &res, NULL) != 0) return -1;

    if (res && res->kind == V_TENSOR) {
        if (add_output(I, call, g, res->t)) return -1;
    } else if (res && res->kind == V_LIST) {
        for (int i = 0; i < res->nitems; i++)
            if (res->items[i]->kind == V_TENSOR && add_output(I, call, g, res->items[i]->t)) return -1;
    }
    if (g->noutputs == 0) return diag_set(&I->diag, call->loc, "entry '%s' returns no tensor", gname);
    for (int j = 0; o && j < o->ndyn; j++) {
        bool found = false;
        for (int k = 0; k < g->ninputs; k++) found |= g->inputs[k]->name && strcmp(g->inputs[k]->name, o->dyn_name[j]) == 0;
        if (!found) return diag_set(&I->diag, call->loc, "--dynamic: entry '%s' has no tensor input '%s'", gname, o->dyn_name[j]);
    }
    if (name_params(I, call, g)) return -1;
    *out = g;
    return 0;
}
