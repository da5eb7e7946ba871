/* pass_util.c: what every pass shares: liveness and user counts, use
 * redirection, node creation, compaction and report lines. */
#include "ir/passes/passes.h"
#include "ir/ir_internal.h"

#include <stdio.h>

/* Grow c->live to cover every node id. */
static int live_reserve(PassCtx *c) {
    if (c->cap_live >= c->g->nnodes) return 0;
    int cap = c->g->nnodes * 2 + 16;
    bool *nl = arena_alloc(c->g->arena, (size_t)cap * sizeof(bool));
    if (!nl) return diag_set(c->d, (SrcLoc){0}, "out of memory in passes");
    c->live = nl;
    c->cap_live = cap;
    return 0;
}

/* Mark everything reachable from the outputs (and every INPUT) in live[],
 * with an explicit stack so deep graphs cannot overflow the C stack. */
static int mark_live(Graph *g, bool *live, LtcDiag *d) {
    memset(live, 0, (size_t)g->nnodes * sizeof(bool));
    Node **stack = arena_alloc(g->arena, ((size_t)g->nnodes + (size_t)g->noutputs + 1) * sizeof(Node *));
    if (!stack) return diag_set(d, (SrcLoc){0}, "out of memory in passes");
    int sp = 0;
    for (int i = 0; i < g->noutputs; i++)
        if (!live[g->outputs[i]->id]) { live[g->outputs[i]->id] = true; stack[sp++] = g->outputs[i]; }
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_INPUT && !live[i]) { live[i] = true; stack[sp++] = g->nodes[i]; }
    while (sp > 0) {
        Node *n = stack[--sp];
        for (int j = 0; j < n->nin; j++) {
            Node *m = n->in[j];
            if (!live[m->id]) { live[m->id] = true; stack[sp++] = m; }
        }
    }
    return 0;
}

int pass_refresh(PassCtx *c) {
    Graph *g = c->g;
    if (live_reserve(c) < 0 || mark_live(g, c->live, c->d) < 0) return -1;
    for (int i = 0; i < g->nnodes; i++) g->nodes[i]->nusers = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (!c->live[i]) continue;
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++) n->in[j]->nusers++;
    }
    for (int i = 0; i < g->noutputs; i++) g->outputs[i]->nusers++;
    return 0;
}

bool pass_is_live(const PassCtx *c, const Node *n) {
    return n->id < c->cap_live && c->live[n->id];
}

Node *pass_sole_user(PassCtx *c, const Node *n) {
    if (n->nusers != 1) return NULL;
    for (int i = 0; i < c->g->noutputs; i++)
        if (c->g->outputs[i] == n) return NULL;
    for (int i = 0; i < c->g->nnodes; i++) {
        Node *u = c->g->nodes[i];
        if (!pass_is_live(c, u)) continue;
        for (int j = 0; j < u->nin; j++)
            if (u->in[j] == n) return u;
    }
    return NULL;
}

void pass_replace(PassCtx *c, Node *old, Node *nw) {
    Graph *g = c->g;
    for (int i = 0; i < g->nnodes; i++) {
        Node *u = g->nodes[i];
        if (u == nw) continue;              /* the replacement may read old */
        for (int j = 0; j < u->nin; j++)
            if (u->in[j] == old) u->in[j] = nw;
    }
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == old) g->outputs[i] = nw;
}

Node *pass_emit(PassCtx *c, Op op, Node **in, int nin, const Attr *a, SrcLoc loc) {
    Node *n = ir_emit(c->g, op, in, nin, a, loc, c->d);
    if (!n) {
        /* A rewrite that cannot be built is skipped, not fatal: the graph
         * stays valid (nothing was redirected yet, or only complete parts). */
        pass_missed(c, "internal", "cannot make %s: %s", op_info[op].name, c->d->msg);
        return NULL;
    }
    if (live_reserve(c) == 0) c->live[n->id] = true;
    return n;
}

int pass_compact(Graph *g, LtcDiag *d) {
    int N = g->nnodes;
    bool *live = arena_alloc(g->arena, (size_t)N + 1);
    uint8_t *state = arena_alloc(g->arena, (size_t)N + 1);   /* 0 new, 1 on stack, 2 placed */
    Node **stack = arena_alloc(g->arena, ((size_t)N + 1) * sizeof(Node *));
    Node **order = arena_alloc(g->arena, ((size_t)N + 1) * sizeof(Node *));
    if (!live || !state || !stack || !order) return diag_set(d, (SrcLoc){0}, "out of memory in passes");
    for (int i = 0; i < N; i++)
        if (g->nodes[i]->id != i) return diag_set(d, (SrcLoc){0}, "internal: node %d has id %d", i, g->nodes[i]->id);
    if (mark_live(g, live, d) < 0) return -1;

    /* Stable order: walk the old list; a node is placed right after the
     * inputs it still needs, so a fused node appended at the end lands just
     * before its first user. */
    int no = 0;
    for (int i = 0; i < N; i++) {
        if (!live[i] || state[i] == 2) continue;
        int sp = 0;
        stack[sp++] = g->nodes[i];
        state[i] = 1;
        while (sp > 0) {
            Node *t = stack[sp - 1];
            Node *next = NULL;
            for (int j = 0; j < t->nin && !next; j++) {
                int s = state[t->in[j]->id];
                if (s == 1) return diag_set(d, t->loc, "internal: cycle through %s %%%d", op_info[t->op].name, t->id);
                if (s == 0) next = t->in[j];
            }
            if (next) { state[next->id] = 1; stack[sp++] = next; continue; }
            state[t->id] = 2;
            order[no++] = t;
            sp--;
        }
    }
    int np = 0;
    for (int i = 0; i < g->nparams; i++)
        if (live[g->params[i]->id]) g->params[np++] = g->params[i];
    g->nparams = np;
    for (int i = 0; i < no; i++) { g->nodes[i] = order[i]; order[i]->id = i; }
    g->nnodes = no;
    return 0;
}

static void report(PassCtx *c, bool fused, const char *pass, const char *fmt, va_list ap) {
    if (!c->r) return;
    sb_printf(&c->r->text, "%s: ", pass);
    sb_vprintf(&c->r->text, fmt, ap);
    sb_putc(&c->r->text, '\n');
    if (fused) c->r->nfused++; else c->r->nmissed++;
}

void pass_fused(PassCtx *c, const char *pass, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); report(c, true, pass, fmt, ap); va_end(ap);
}

void pass_missed(PassCtx *c, const char *pass, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); report(c, false, pass, fmt, ap); va_end(ap);
}

bool pass_scalar_const(const Node *n, double *v) {
    if (n->op == OP_FULL) { *v = n->a.f; return true; }
    if (n->op == OP_CONST && n->data) {
        Dim ne = shape_numel(&n->shape);
        if (ne.sym == 0 && ne.k == 1) { *v = ld(n->dtype, n->data, 0); return true; }
    }
    return false;
}
