/* eager_mem.c: the eager pool's tensor values.  They are the one part of
 * a session's memory that grows with how long a script runs rather than
 * with its size (a loop over a 1 MB tensor makes a new 1 MB value every
 * iteration), so unlike everything else in the session arena they can be
 * released one by one: the evaluator's collector (frontend/gc.c) releases
 * those no Value can reach, and ir_force releases links of a lazy chain
 * once their last user is computed.  What is left goes with the arena. */
#include "ir/ir_internal.h"

#include <stdio.h>
#include <stdlib.h>

static void release_all(void *ctx) {
    Graph *g = ctx;
    for (int i = 0; i < g->nowned; i++) {
        free(g->owned[i]->data);
        g->owned[i]->data = NULL;
    }
    free(g->owned);
    g->owned = NULL;
    g->nowned = g->capowned = 0;
    g->live = 0;
}

size_t eager_node_bytes(const Node *n) {
    size_t e = 1;
    for (int i = 0; i < n->shape.rank; i++) {
        if (n->shape.d[i].sym || n->shape.d[i].k < 0) return 0;
        e *= (size_t)n->shape.d[i].k;
    }
    return e * dtype_storage_size(n->dtype);
}

/* What a value of `bytes` takes (aligned_alloc needs a multiple of 64). */
static size_t rounded(size_t bytes) {
    size_t sz = (bytes + 63) & ~(size_t)63;
    return sz ? sz : 64;
}

void *eager_alloc(Graph *g, Node *n, size_t bytes) {
    if (g->nowned == g->capowned) {
        if (g->capowned == 0 && arena_on_free(g->arena, release_all, g) != 0) return NULL;
        int cap = g->capowned ? g->capowned * 2 : 64;
        Node **o = realloc(g->owned, sizeof *o * (size_t)cap);
        if (!o) return NULL;
        g->owned = o, g->capowned = cap;
    }
    size_t sz = rounded(bytes);
    void *p = aligned_alloc(64, sz);
    if (!p) return NULL;
    memset(p, 0, sz);
    g->owned[g->nowned++] = n;
    n->owned = true;
    g->live += sz;
    g->debt += sz;
    if (g->live > g->peak) g->peak = g->live;
    return p;
}

static void drop(Graph *g, Node *n) {
    size_t sz = rounded(eager_node_bytes(n));
    g->live -= sz < g->live ? sz : g->live;
    g->released += sz;
    free(n->data);
    n->data = NULL;
    n->owned = false;
    n->freed = n->released = true;
}

void eager_release(Node *n) {
    Graph *g = n->graph;
    if (!n->owned) return;
    for (int i = g->nowned - 1; i >= 0; i--)      /* recent values are near the end */
        if (g->owned[i] == n) {
            g->owned[i] = g->owned[--g->nowned];
            break;
        }
    drop(g, n);
}

void eager_replace(Node *n, void *data) {
    if (n->owned) {
        eager_release(n);
        n->freed = n->released = false;
    }
    n->data = data;
}

size_t eager_sweep(Graph *g) {
    size_t before = g->released;
    int k = 0;
    for (int i = 0; i < g->nowned; i++) {
        Node *n = g->owned[i];
        if (n->reached == g->gc_epoch) g->owned[k++] = n;
        else drop(g, n);
    }
    g->nowned = k;
    /* pending nodes nothing reaches can never be asked for: mark them so
     * that ir_force does not keep their inputs for them */
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!n->data && n->reached != g->gc_epoch) n->freed = true;
    }
    g->debt = 0;
    g->gc_nnodes = g->nnodes;
    return g->released - before;
}

int eager_freed_error(const Node *n, const char *file, int line, LtcDiag *d) {
    return diag_set(d, n->loc, "internal error (%s:%d): the value of %s node %d was released by the collector", file,
                    line, op_info[n->op].name, n->id);
}
