/* graph.c: building graphs.  ir_emit is the one way nodes are made: it
 * checks arity, turns eager-pool inputs of a traced graph into PARAMs, runs
 * the op's shape rule and hands random ops their seed. */
#include "ir/ir_internal.h"

static const ShapeFn shape_rules[OP_COUNT] = {
#define OP(e, name, mn, mx, shp, ker, fl, ex) [OP_##e] = shp,
#include "ir/ops.def"
#undef OP
};

bool ir_has_shape_rule(Op op) { return (unsigned)op < OP_COUNT && shape_rules[op] != NULL; }

Graph *graph_new(Arena *a, const char *name, bool eager) {
    Graph *g = arena_alloc(a, sizeof *g);
    if (!g) return NULL;
    g->arena = a;
    g->name = arena_strdup(a, name ? name : (eager ? "<eager>" : "entry"));
    g->eager = eager;
    return g;
}

int graph_add_symbol(Graph *g, const char *name, int64_t example) {
    for (int i = 0; i < g->nsyms; i++)
        if (strcmp(g->syms[i].name, name) == 0) return i;
    if (g->nsyms == LTC_MAX_SYMS) return -1;
    g->syms[g->nsyms].name = arena_strdup(g->arena, name);
    g->syms[g->nsyms].example = example;
    return g->nsyms++;
}

/* Append p to a growable arena array of node pointers. */
static bool push(Arena *a, Node ***arr, int *n, int *cap, Node *p) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        Node **na = arena_alloc(a, (size_t)nc * sizeof *na);
        if (!na) return false;
        if (*n) memcpy(na, *arr, (size_t)*n * sizeof *na);
        *arr = na; *cap = nc;
    }
    (*arr)[(*n)++] = p;
    return true;
}

static Node *new_node(Graph *g, Op op, SrcLoc loc) {
    Node *n = arena_alloc(g->arena, sizeof *n);
    if (!n) return NULL;
    n->op = op;
    n->graph = g;
    n->loc = loc;
    n->id = -1;
    return n;
}

static bool append(Graph *g, Node *n) {
    n->id = g->nnodes;
    /* a new eager node is memory promised: a long lazy chain is a reason
     * to collect before it is forced (ir/eager_mem.c) */
    if (g->eager) g->debt += eager_node_bytes(n);
    return push(g->arena, &g->nodes, &g->nnodes, &g->capnodes, n);
}

/* splitmix64 finaliser: a well-mixed 64-bit value from (seed, counter). */
static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int ir_infer(Node *n, LtcDiag *d) {
    ShapeFn f = shape_rules[n->op];
    if (!f) return diag_set(d, n->loc, "op '%s' has no shape rule linked in", op_info[n->op].name);
    return f(n, d);
}

Node *ir_emit(Graph *g, Op op, Node **in, int nin, const Attr *a, SrcLoc loc, LtcDiag *d) {
    if ((unsigned)op >= OP_COUNT) { diag_set(d, loc, "invalid op %d", (int)op); return NULL; }
    const OpInfo *oi = &op_info[op];
    if (nin < oi->min_in || (oi->max_in >= 0 && nin > oi->max_in)) {
        if (oi->min_in == oi->max_in)
            diag_set(d, loc, "%s takes %d input%s, got %d", oi->name, oi->min_in, oi->min_in == 1 ? "" : "s", nin);
        else if (oi->max_in < 0)
            diag_set(d, loc, "%s takes at least %d input%s, got %d", oi->name, oi->min_in, oi->min_in == 1 ? "" : "s", nin);
        else
            diag_set(d, loc, "%s takes %d to %d inputs, got %d", oi->name, oi->min_in, oi->max_in, nin);
        return NULL;
    }
    if (nin > 0 && !in) { diag_set(d, loc, "%s: inputs are missing", oi->name); return NULL; }
    Node *n = new_node(g, op, loc);
    if (!n) { diag_set(d, loc, "out of memory"); return NULL; }
    if (a) n->a = *a;
    n->nin = nin;
    if (nin) {
        n->in = arena_alloc(g->arena, (size_t)nin * sizeof *n->in);
        if (!n->in) { diag_set(d, loc, "out of memory"); return NULL; }
    }
    for (int i = 0; i < nin; i++) {
        Node *x = in[i];
        if (!x) { diag_set(d, loc, "%s: input %d is missing", oi->name, i); return NULL; }
        if (x->graph != g) {
            if (!x->graph || !x->graph->eager || g->eager) {
                diag_set(d, loc, "%s: input %d belongs to graph '%s', not '%s'", oi->name, i,
                         x->graph ? x->graph->name : "?", g->name);
                return NULL;
            }
            x = ir_param_for(g, x);
            if (!x) { diag_set(d, loc, "out of memory"); return NULL; }
        }
        n->in[i] = x;
    }
    if (ir_infer(n, d) != 0) return NULL;
    bool random = (oi->flags & OPF_RANDOM) || (op == OP_SDPA && n->a.p > 0);
    if (random && n->a.seed == 0) {
        n->a.seed = mix64(g->seed ^ mix64(++g->next_seed));
        if (n->a.seed == 0) n->a.seed = 1;
    }
    if (!append(g, n)) { diag_set(d, loc, "out of memory"); return NULL; }
    return n;
}

Node *ir_input(Graph *g, const char *name, DType t, const Shape *s, SrcLoc loc) {
    Node *n = new_node(g, OP_INPUT, loc);
    if (!n) return NULL;
    n->name = arena_strdup(g->arena, name ? name : "input");
    n->dtype = n->a.dtype = t;
    n->shape = n->a.shape = *s;
    if (!append(g, n) || !push(g->arena, &g->inputs, &g->ninputs, &g->capinputs, n)) return NULL;
    return n;
}

Node *ir_param_for(Graph *g, Node *origin) {
    for (int i = 0; i < g->nparams; i++)
        if (g->params[i]->origin == origin) return g->params[i];
    Node *n = new_node(g, OP_PARAM, origin->loc);
    if (!n) return NULL;
    n->origin = origin;
    n->name = origin->name ? origin->name : arena_printf(g->arena, "param%d", g->nparams);
    n->dtype = n->a.dtype = origin->dtype;
    n->shape = n->a.shape = origin->shape;
    if (!append(g, n) || !push(g->arena, &g->params, &g->nparams, &g->capparams, n)) return NULL;
    return n;
}

void ir_add_output(Graph *g, Node *n) {
    push(g->arena, &g->outputs, &g->noutputs, &g->capoutputs, n);
}

void ir_count_users(Graph *g) {
    for (int i = 0; i < g->nnodes; i++) g->nodes[i]->nusers = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) g->nodes[i]->in[j]->nusers++;
    for (int i = 0; i < g->noutputs; i++) g->outputs[i]->nusers++;
}
