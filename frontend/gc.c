/* gc.c: the evaluator's collector.  Values stay in the session arena (they
 * are small); what grows with a long run is tensor data, so that is what
 * is collected: the values of eager nodes no Value can reach any more
 * (ir/eager_mem.c holds them).
 *
 * Mark: every Value reachable from the roots (the global frame, the call
 * stack's frames, the entry candidates' arguments, the current instance,
 * a return value in flight, and the temporary roots below), lists and
 * dictionaries followed once each (they may be cyclic).  A tensor they
 * name is *held*; it and, while it has no value yet, the nodes it is
 * computed from are *reached*.  Sweep: the values of unreached nodes are
 * released, and unreached pending nodes are marked freed (nothing can ask
 * for them), so ir_force need not keep their inputs.
 *
 * Why the safe point (core_eval of a call form) is safe: the only Values
 * not reachable from the frames are in C locals of the evaluator's own
 * frames that are live across a nested core_eval/core_apply.  Those places
 * are few and each roots what it holds with gc_root: eval_call's argument
 * array, let's values, loop's container, a caller's saved self (apply_func,
 * core_apply_method, class.c's eval_on), an instance being constructed,
 * map/filter's result list, lisp_call's arguments.  A value just returned
 * by a nested evaluation is stored (or dropped) before the next safe point
 * is reached.  Builtins that do not call back into the evaluator hold
 * Values only between safe points.  No collection runs while a function is
 * traced (I->trace: the traced graph's PARAMs point at eager values), nor
 * inside a force hook; traces happen after the script has run, so graphs
 * traced earlier never meet a collection either. */
#include "frontend/core.h"

#include <stdlib.h>
#include <string.h>

/* Collect when the debt reaches max(threshold, live bytes): the work of a
 * collection is paid for by as much new memory as the live set. */
#define DEFAULT_THRESHOLD ((size_t)32 << 20)

int gc_root(Interp *I, Value **p, int n) {
    int mark = I->nroots;
    if (I->nroots == I->caproots) {
        int cap = I->caproots ? I->caproots * 2 : 64;
        RootSpan *r = arena_alloc(I->arena, sizeof *r * (size_t)cap);
        if (!r) lisp_fail(I, (SrcLoc){0}, "out of memory");
        if (I->nroots) memcpy(r, I->roots, sizeof *r * (size_t)I->nroots);
        I->roots = r, I->caproots = cap;
    }
    I->roots[I->nroots++] = (RootSpan){p, n};
    return mark;
}

size_t gc_memory(const Interp *I) { return I->arena->bytes + (I->eager ? I->eager->live : 0); }

/* ---- mark -------------------------------------------------------------------- */
typedef struct Marker {
    Interp *I;
    Graph *g;
    uint32_t epoch;
    Value **vs; int nv, capv;        /* values to visit */
    Node **ns; int nn, capn;         /* nodes to reach */
    bool oom;
} Marker;

static void push_value(Marker *m, Value *v) {
    /* nil and true are static, shared by every interpreter of the process
     * (threads of an embedding host): never written, and they hold nothing */
    if (!v || v == v_nil() || v == v_true() || v->gc_seen == m->epoch) return;
    v->gc_seen = m->epoch;
    if (m->nv == m->capv) {
        int cap = m->capv ? m->capv * 2 : 256;
        Value **p = realloc(m->vs, sizeof *p * (size_t)cap);
        if (!p) { m->oom = true; return; }
        m->vs = p, m->capv = cap;
    }
    m->vs[m->nv++] = v;
}

static void push_node(Marker *m, Node *n) {
    if (n->graph != m->g) {
        if (n->op == OP_PARAM && n->origin) push_node(m, n->origin);    /* a traced PARAM's value */
        return;
    }
    if (n->reached == m->epoch) return;
    n->reached = m->epoch;
    if (m->nn == m->capn) {
        int cap = m->capn ? m->capn * 2 : 256;
        Node **p = realloc(m->ns, sizeof *p * (size_t)cap);
        if (!p) { m->oom = true; return; }
        m->ns = p, m->capn = cap;
    }
    m->ns[m->nn++] = n;
}

static void push_dict(Marker *m, Dict *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) push_value(m, d->vals[i]);
}

static void visit(Marker *m, Value *v) {
    switch (v->kind) {
    case V_LIST:
        for (int i = 0; i < v->nitems; i++) push_value(m, v->items[i]);
        break;
    case V_DICT: push_dict(m, v->dict); break;
    case V_FUNC:        /* code, but code can be built from data */
        if (v->fn) push_value(m, v->fn->params), push_value(m, v->fn->body);
        break;
    case V_MODULE:
        if (v->mod) push_dict(m, v->mod->fields), push_dict(m, v->mod->renamed);
        break;
    case V_TENSOR:
        if (v->t) {
            if (v->t->graph == m->g) v->t->held = m->epoch;
            push_node(m, v->t);
        }
        break;
    default: break;
    }
}

static void mark_roots(Marker *m) {
    Interp *I = m->I;
    for (int d = 0; d <= I->depth; d++) {
        Frame *f = I->stack[d];
        for (int i = 0; i < f->n; i++) push_value(m, f->vals[i]);
    }
    for (int c = 0; c < I->ncalls; c++)
        for (int k = 0; k < I->calls[c].nargs; k++) push_value(m, I->calls[c].args[k]);
    for (int r = 0; r < I->nroots; r++)
        for (int k = 0; k < I->roots[r].n; k++) push_value(m, I->roots[r].p[k]);
    push_value(m, I->self);
    push_value(m, I->ret_value);
}

void gc_collect(Interp *I) {
    Graph *g = I->eager;
    if (!g) return;
    Marker m = {.I = I, .g = g, .epoch = ++g->gc_epoch};
    mark_roots(&m);
    while (m.nv && !m.oom) visit(&m, m.vs[--m.nv]);
    /* a node without a value still needs the nodes it is computed from */
    while (m.nn && !m.oom) {
        Node *n = m.ns[--m.nn];
        if (n->data) continue;
        for (int i = 0; i < n->nin; i++) push_node(&m, n->in[i]);
    }
    free(m.vs);
    free(m.ns);
    if (m.oom) {        /* an incomplete mark must not sweep: keep everything */
        for (int i = 0; i < g->nnodes; i++) g->nodes[i]->reached = g->nodes[i]->held = g->gc_epoch;
        lisp_fail(I, (SrcLoc){0}, "out of memory (collecting tensor values)");
    }
    I->gc_released += eager_sweep(g);
    I->gc_runs++;
}

void gc_safe_point(Interp *I, Value *x) {
    Graph *g = I->eager;
    bool can = !I->gc_off && !I->trace && !g->in_force_hook;
    bool over = I->max_memory && gc_memory(I) > I->max_memory;
    size_t due = I->gc_stress ? 1 : I->gc_threshold ? I->gc_threshold : DEFAULT_THRESHOLD;
    if (!I->gc_stress && g->live > due) due = g->live;
    if (can && (over || g->debt >= due)) gc_collect(I);
    if (over && gc_memory(I) > I->max_memory) core_fail_memory(I, x);
}
