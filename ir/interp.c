/* interp.c: the reference interpreter's driver.  It evaluates nodes in
 * creation (topological) order with the kernels named by ops.def, in fp32
 * storage (f16/bf16 rounded after each op).  ir_force computes eager-pool
 * values on demand and keeps them in node->data; ir_run executes a traced
 * graph for one binding of its symbols without touching the graph. */
#include "ir/ir_internal.h"

#include <stdio.h>
#include <stdlib.h>

static const KernelFn kernels[OP_COUNT] = {
#define OP(e, name, mn, mx, shp, ker, fl, ex) [OP_##e] = ker,
#include "ir/ops.def"
#undef OP
};

bool ir_has_kernel(Op op) { return (unsigned)op < OP_COUNT && kernels[op] != NULL; }

/* Sources whose value comes from outside are handled by the drivers below;
 * these kernels only run if a node is evaluated without its value. */
int interp_input(const KCtx *k, LtcDiag *d) {
    return diag_set(d, k->n->loc, "input '%s' has no value", k->n->name ? k->n->name : "?");
}
int interp_param(const KCtx *k, LtcDiag *d) {
    return diag_set(d, k->n->loc, "param '%s' has no value", k->n->name ? k->n->name : "?");
}
int interp_const(const KCtx *k, LtcDiag *d) {
    return diag_set(d, k->n->loc, "constant has no value");
}

/* One evaluation: values either in vals[id] (ir_run) or node->data. */
typedef struct Eval {
    const SymBind *b;
    Arena *arena;               /* where values are allocated */
    void **vals;                /* NULL: use node->data */
    bool heap;                  /* values from malloc, freed after last use */
    Graph *pool;                /* the eager pool: values from eager_alloc */
    uint64_t call;              /* RunArgs.call; 0 for the eager pool */
} Eval;

/* A zeroed 64-byte aligned buffer of n bytes (n may be 0). */
static void *heap_alloc(size_t n) {
    size_t sz = (n + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (p) memset(p, 0, sz ? sz : 64);
    return p;
}

static void *val_of(const Eval *e, const Node *x) { return e->vals ? e->vals[x->id] : x->data; }

/* Compute the value of n from its inputs' values. */
static int run_kernel(const Eval *e, Node *n, void **out, LtcDiag *d) {
    KernelFn f = kernels[n->op];
    if (!f) return diag_set(d, n->loc, "op '%s' has no interpreter kernel linked in", op_info[n->op].name);
    enum { SMALL = 8 };
    const void *in_s[SMALL];
    int64_t ish_s[SMALL][LTC_MAX_RANK];
    const void **in = in_s;
    int64_t (*ish)[LTC_MAX_RANK] = ish_s;
    if (n->nin > SMALL) {
        in = malloc((size_t)n->nin * sizeof *in);
        ish = malloc((size_t)n->nin * sizeof *ish);
        if (!in || !ish) { free(in); free(ish); return diag_set(d, n->loc, "out of memory"); }
    }
    int rc = 0;
    KCtx k = {.n = n, .in = in, .ish = ish, .b = e->b, .scratch = e->arena, .call = e->call};
    for (int i = 0; i < n->nin; i++) {
        in[i] = val_of(e, n->in[i]);
        shape_eval(&n->in[i]->shape, e->b, ish[i]);
        if (!in[i] && n->in[i]->freed) { rc = EAGER_FREED(n->in[i], d); goto done; }
        if (!in[i]) { rc = diag_set(d, n->loc, "%s: input %d has no value", op_info[n->op].name, i); goto done; }
    }
    shape_eval(&n->shape, e->b, k.shape);
    int64_t total = 1;
    for (int i = 0; i < n->shape.rank; i++) {
        if (k.shape[i] < 0) { rc = diag_set(d, n->loc, "%s: shape uses an unbound symbol", op_info[n->op].name); goto done; }
        if (k.shape[i] && total > LTC_MAX_NUMEL / k.shape[i]) {
            rc = diag_set(d, n->loc, "%s: result has more than 2^40 elements", op_info[n->op].name);
            goto done;
        }
        total *= k.shape[i];
    }
    k.numel = (size_t)total;
    size_t bytes = k.numel * dtype_storage_size(n->dtype);
    k.out = e->heap ? heap_alloc(bytes) : e->pool ? eager_alloc(e->pool, n, bytes) : arena_alloc_big(e->arena, bytes);
    if (!k.out) { rc = diag_set(d, n->loc, "out of memory computing %s", op_info[n->op].name); goto done; }
    rc = f(&k, d);
    if (rc == 0 && (n->dtype == DT_F16 || n->dtype == DT_BF16)) {
        float *o = k.out;
        for (size_t i = 0; i < k.numel; i++) o[i] = round_to_dtype(n->dtype, o[i]);
    }
    if (rc == 0) *out = k.out;
    else if (e->heap) free(k.out);
done:
    if (in != in_s) { free(in); free(ish); }
    return rc;
}

/* ---- eager pool ------------------------------------------------------------ */
uint8_t *ir_needed(Node *n, LtcDiag *d) {
    Graph *g = n->graph;
    uint8_t *need = calloc((size_t)g->nnodes, 1);
    Node **stack = malloc(((size_t)g->nnodes + 1) * sizeof *stack);   /* chains may be long */
    if (!need || !stack) {
        free(need);
        free(stack);
        diag_set(d, n->loc, "out of memory");
        return NULL;
    }
    int sp = 0;
    stack[sp++] = n;
    need[n->id] = 1;
    while (sp) {
        Node *x = stack[--sp];
        for (int i = 0; i < x->nin; i++) {
            Node *y = x->in[i];
            if (y->data || y->graph != g || need[y->id]) continue;
            need[y->id] = 1;
            stack[sp++] = y;
        }
    }
    free(stack);
    return need;
}

/* Release, once computed, the values ir_force makes on the way to n that
 * no Value held at the last collection (they were made before it and
 * nothing has wrapped them since: only their users can read them).  Each
 * goes after its last pending user; users ir_force does not compute now
 * keep it.  left[id] counts those users; NULL when there is nothing to
 * release.  Before the first collection held says nothing: none. */
static int *chain_users(Graph *g, const uint8_t *need, Node *n, LtcDiag *d, int *err) {
    *err = 0;
    if (!g->gc_epoch) return NULL;
    int first = -1;
    for (int i = 0; i < n->id && i < g->gc_nnodes; i++)
        if (need[i] && g->nodes[i]->held != g->gc_epoch) { first = i; break; }
    if (first < 0) return NULL;
    int *left = calloc((size_t)g->nnodes, sizeof *left);
    if (!left) { *err = diag_set(d, n->loc, "out of memory"); return NULL; }
    for (int j = first + 1; j < g->nnodes; j++) {
        Node *u = g->nodes[j];
        if (u->data || u->freed) continue;
        for (int k = 0; k < u->nin; k++)
            if (u->in[k]->graph == g) left[u->in[k]->id]++;
    }
    return left;
}

int ir_force(Node *n, LtcDiag *d) {
    if (n->data) return 0;
    if (n->freed) return EAGER_FREED(n, d);
    if (n->op == OP_PARAM) {
        if (!n->origin) return diag_set(d, n->loc, "param '%s' has no origin", n->name ? n->name : "?");
        if (ir_force(n->origin, d)) return -1;
        n->data = n->origin->data;
        return 0;
    }
    Graph *g = n->graph;
    if (g->force_hook && !g->in_force_hook && !g->jit_off) {
        g->in_force_hook = true;
        int r = g->force_hook(g->force_ctx, n, d);
        g->in_force_hook = false;
        if (r <= 0) return r;
    }
    /* Evaluate what n needs in id order, which is topological. */
    uint8_t *need = ir_needed(n, d);
    if (!need) return -1;
    int rc = 0;
    int *left = chain_users(g, need, n, d, &rc);
    Eval e = {.b = NULL, .arena = g->arena, .vals = NULL, .pool = g->eager ? g : NULL};
    for (int i = 0; i <= n->id && rc == 0; i++) {
        Node *x = g->nodes[i];
        if (!need[i] || x->data) continue;
        if (x->freed) rc = EAGER_FREED(x, d);
        else if (x->op == OP_PARAM) rc = ir_force(x, d);
        else if (x->op == OP_INPUT || x->op == OP_CONST)
            rc = diag_set(d, x->loc, "%s '%s' has no value", op_info[x->op].name, x->name ? x->name : "?");
        else rc = run_kernel(&e, x, &x->data, d);
        if (!left || rc) continue;
        for (int k = 0; k < x->nin; k++) {
            Node *y = x->in[k];
            if (y->graph != g || --left[y->id] > 0 || y == n) continue;
            if (need[y->id] && y->id < g->gc_nnodes && y->held != g->gc_epoch) eager_release(y);
        }
    }
    free(left);
    free(need);
    return rc;
}

/* ---- traced graphs ------------------------------------------------------------ */
/* Bind symbols from the input shapes: single-symbol dims first, then check
 * every dim (products of symbols included). */
static int bind_symbols(const Graph *g, const RunArgs *args, SymBind *b, LtcDiag *d) {
    b->n = g->nsyms;
    for (int i = 0; i < LTC_MAX_SYMS; i++) b->vals[i] = -1;
    for (int i = 0; i < g->ninputs; i++) {
        const Node *x = g->inputs[i];
        const int64_t *v = args->in_shapes[i];
        for (int j = 0; j < x->shape.rank; j++) {
            Dim dm = x->shape.d[j];
            if (dm.sym == 0 || (dm.sym & (dm.sym - 1))) continue;   /* constant or product */
            int s = __builtin_ctz(dm.sym);
            if (b->vals[s] < 0 && v[j] >= 0 && dm.k > 0 && v[j] % dm.k == 0) b->vals[s] = v[j] / dm.k;
        }
    }
    for (int i = 0; i < g->ninputs; i++) {
        const Node *x = g->inputs[i];
        const int64_t *v = args->in_shapes[i];
        for (int j = 0; j < x->shape.rank; j++) {
            bool bound = true;
            for (int s = 0; s < g->nsyms; s++)
                if ((x->shape.d[j].sym >> s & 1) && b->vals[s] < 0) bound = false;
            if (!bound || v[j] < 0 || dim_eval(x->shape.d[j], b) != v[j]) {
                char want[256], got[256];
                shape_str(g, &x->shape, want, sizeof want);
                dims_str(v, x->shape.rank, got, sizeof got);
                return diag_set(d, x->loc, "input '%s': expected shape %s, got %s (dimension %d)",
                                x->name ? x->name : "?", want, got, j);
            }
        }
    }
    return 0;
}

int ir_run(Graph *g, RunArgs *args, Arena *scratch, LtcDiag *d) {
    SrcLoc none = {0};
    SymBind b;
    if ((g->ninputs && (!args->inputs || !args->in_shapes)) || (g->noutputs && (!args->outputs || !args->out_shapes)))
        return diag_set(d, none, "run of '%s': missing input or output arrays", g->name);
    if (bind_symbols(g, args, &b, d)) return -1;
    char why[1024];
    if (graph_derive_symbols(g, b.vals, why, sizeof why) || graph_check_guards(g, b.vals, why, sizeof why))
        return diag_set(d, none, "run of '%s': %s", g->name, why);
    uint32_t unbound = 0;
    for (int i = 0; i < g->nsyms; i++)
        if (b.vals[i] < 0) unbound |= 1u << i;
    /* A symbol that no input fixes cannot size anything. */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *x = g->nodes[i];
        for (int j = 0; j < x->shape.rank; j++)
            if (x->shape.d[j].sym & unbound) {
                int s = __builtin_ctz(x->shape.d[j].sym & unbound);
                return diag_set(d, x->loc, "symbol %s is not bound by any input of '%s'", g->syms[s].name, g->name);
            }
    }
    void **vals = arena_alloc(scratch, ((size_t)g->nnodes + 1) * sizeof *vals);
    int *last = arena_alloc(scratch, ((size_t)g->nnodes + 1) * sizeof *last);
    bool *owned = arena_alloc(scratch, ((size_t)g->nnodes + 1) * sizeof *owned);
    if (!vals || !last || !owned) return diag_set(d, none, "out of memory");
    for (int i = 0; i < g->ninputs; i++) {
        if (!args->inputs[i]) return diag_set(d, g->inputs[i]->loc, "input '%s' has no data", g->inputs[i]->name);
        vals[g->inputs[i]->id] = args->inputs[i];
    }
    for (int i = 0; i < g->nparams; i++) {
        Node *p = g->params[i];
        if (args->param_data && args->param_data[i]) vals[p->id] = args->param_data[i];
        else {
            if (ir_force(p->origin, d)) return -1;
            vals[p->id] = p->origin->data;
        }
    }
    /* Intermediate values live from their node to their last user, so a
     * long graph at a large size needs memory for its live set only. */
    for (int i = 0; i < g->nnodes; i++) last[i] = i;
    for (int i = 0; i < g->nnodes; i++)
        for (int j = 0; j < g->nodes[i]->nin; j++) last[g->nodes[i]->in[j]->id] = i;
    for (int i = 0; i < g->noutputs; i++) last[g->outputs[i]->id] = g->nnodes;
    Eval e = {.b = &b, .arena = scratch, .vals = vals, .heap = true, .call = args->call};
    int rc = 0;
    for (int i = 0; i < g->nnodes && rc == 0; i++) {
        Node *x = g->nodes[i];
        if (!vals[i]) {
            if (x->op == OP_CONST) {
                if (!x->data) { rc = diag_set(d, x->loc, "constant has no value"); break; }
                vals[i] = x->data;
            } else {
                if (run_kernel(&e, x, &vals[i], d)) { rc = -1; break; }
                owned[i] = true;
            }
        }
        for (int j = -1; j < x->nin; j++) {           /* free what i used last (and i if unused) */
            int u = j < 0 ? i : x->in[j]->id;
            if (owned[u] && last[u] == i) { free(vals[u]); vals[u] = NULL; owned[u] = false; }
        }
    }
    for (int i = 0; i < g->noutputs && rc == 0; i++) {
        Node *o = g->outputs[i];
        shape_eval(&o->shape, &b, args->out_shapes[i]);
        size_t bytes = shape_numel_eval(&o->shape, &b) * dtype_storage_size(o->dtype);
        void *buf = arena_alloc_big(scratch, bytes);
        if (!buf) { rc = diag_set(d, o->loc, "out of memory"); break; }
        if (bytes) memcpy(buf, vals[o->id], bytes);
        args->outputs[i] = buf;
    }
    for (int i = 0; i < g->nnodes; i++)
        if (owned[i]) free(vals[i]);
    return rc;
}
