/* region.c: the nodes a value needs, copied into a graph of their own. */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

int region_collect(Node *target, Node ***out, int *nout, bool *worth, LtcDiag *d) {
    Graph *g = target->graph;
    uint8_t *need = ir_needed(target, d);
    if (!need) return -1;
    Node **list = malloc(((size_t)g->nnodes + 1) * sizeof *list);
    if (!list) { free(need); return diag_set(d, target->loc, "out of memory"); }
    int n = 0, rc = 0;
    *worth = false;
    for (int i = 0; i <= target->id && rc == 0; i++) {
        Node *x = g->nodes[i];
        if (!need[i] || x->data) continue;
        if (x->freed) { rc = EAGER_FREED(x, d); continue; }
        if (op_info[x->op].flags & OPF_SOURCE || x->op == OP_PARAM) { rc = ir_force(x, d); continue; }
        if (op_info[x->op].flags & (OPF_GEMM | OPF_ATTENTION)) *worth = true;
        list[n++] = x;
    }
    free(need);
    if (rc) { free(list); return -1; }
    *out = list;
    *nout = n;
    return 0;
}

static bool dtype_ok(DType t) { return t == DT_F32 || t == DT_I64 || t == DT_BOOL; }

int region_graph(Arena *a, Node **list, int n, Node *target, Graph **out, Fallback *fb, LtcDiag *d) {
    Graph *rg = graph_new(a, "jit_region", false);
    Node **map = calloc((size_t)target->graph->nnodes, sizeof *map);
    if (!rg || !map) { free(map); return diag_set(d, target->loc, "out of memory"); }
    int nparams = 0;
    for (int i = 0; i < n; i++) {
        Node *x = list[i];
        fb->op = op_info[x->op].name;
        fb->loc = x->loc;
        const Node *bad = dtype_ok(x->dtype) ? NULL : x;
        Node **in = x->nin ? arena_alloc(a, (size_t)x->nin * sizeof *in) : NULL;   /* any number of inputs */
        if (x->nin && !in) { free(map); return diag_set(d, x->loc, "out of memory"); }
        for (int k = 0; k < x->nin; k++) {
            in[k] = map[x->in[k]->id] ? map[x->in[k]->id] : x->in[k];
            if (!bad && !dtype_ok(x->in[k]->dtype)) bad = x->in[k];
        }
        if (bad) {
            fb->why = arena_printf(a, "the JIT compiles f32, i64 and bool tensors, not %s", dtype_name(bad->dtype));
            free(map);
            if (!fb->why) return diag_set(d, target->loc, "out of memory");
            return 1;
        }
        Node *y = ir_emit(rg, x->op, in, x->nin, &x->a, x->loc, d);
        if (!y) { free(map); return -1; }
        map[x->id] = y;
        for (; nparams < rg->nparams; nparams++) rg->params[nparams]->name = arena_printf(a, "p%d", nparams);
    }
    ir_add_output(rg, map[target->id]);
    free(map);
    *out = rg;
    return 0;
}
