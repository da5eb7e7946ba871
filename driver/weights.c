/* weights.c: parameters and tensors to and from safetensors files.
 *
 * Interpreter storage keeps f32/f16/bf16 values as float, i64 as int64_t
 * and bool as uint8_t (ir.h); files hold each dtype in its own width, so
 * f16/bf16 are converted on the way (round to nearest even). */
#include "driver/driver.h"
#include "frontend/torch.h"
#include "support/safetensors.h"

#include <stdlib.h>
#include <string.h>

/* One named tensor to write or read. */
typedef struct Named { const char *name; Node *node; } Named;

typedef struct NamedList { Named *v; int n, cap; Arena *arena; } NamedList;

static int push_named(NamedList *l, const char *name, Node *node) {
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 32;
        Named *nv = arena_alloc(l->arena, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        if (l->n) memcpy(nv, l->v, (size_t)l->n * sizeof *nv);
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = (Named){name, node};
    return 0;
}

/* Concrete dimensions of a node's shape; false if a dim is symbolic. */
static bool concrete_shape(const Node *n, int64_t *dims) {
    for (int i = 0; i < n->shape.rank; i++) {
        if (n->shape.d[i].sym != 0) return false;
        dims[i] = n->shape.d[i].k;
    }
    return true;
}

static size_t numel_of(const int64_t *dims, int rank) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    return n;
}

/* Storage -> file bytes (arena buffer). */
static void *to_file_layout(Arena *a, DType t, const void *data, size_t numel, size_t *nbytes) {
    size_t fsz = dtype_size(t);
    *nbytes = numel * fsz;
    if (t != DT_F16 && t != DT_BF16) return (void *)data;   /* same layout */
    uint16_t *out = arena_alloc_big(a, *nbytes ? *nbytes : 1);
    if (!out) return NULL;
    const float *x = data;
    for (size_t i = 0; i < numel; i++) out[i] = t == DT_F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
    return out;
}

/* File bytes -> fresh storage buffer. */
static void *from_file_layout(Arena *a, DType t, const void *bytes, size_t numel) {
    size_t ssz = dtype_storage_size(t);
    size_t nb = numel * ssz;
    void *out = arena_alloc_big(a, nb ? nb : 1);
    if (!out) return NULL;
    if (t == DT_F16 || t == DT_BF16) {
        const unsigned char *b = bytes;
        float *o = out;
        for (size_t i = 0; i < numel; i++) {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            o[i] = t == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    } else {
        memcpy(out, bytes, numel * ssz);
    }
    return out;
}

/* Whether a value comes from a random initialiser: some node it is computed
 * from is RAND or RANDN.  A node whose value is already set and is not
 * itself random (a CONST from a loaded file, a value bound by --weights)
 * ends the search: what it was computed from no longer matters.  Iterative
 * (an explicit stack), each eager node visited once. */
void weights_note_random(Driver *d, const StFile *f, const char *path) {
    const char *init = st_meta(f, ST_META_INIT);
    if (!init || strcmp(init, ST_META_INIT_RANDOM) != 0) return;
    d->bound_random = true;
    drv_note(d, (SrcLoc){0}, "weights file '%s' holds random initial weights (its metadata says %s: %s)", path,
             ST_META_INIT, ST_META_INIT_RANDOM);
}

bool weights_is_bound(const Driver *d, const Node *n) {
    return n->graph && n->graph->eager && n->id < d->nbound && d->bound[n->id];
}

int weights_mark_bound(Driver *d, const Node *n) {
    if (n->id >= d->nbound) {
        /* grow to cover the pool as it is now (ids only grow) */
        int cap = n->graph->nnodes > n->id ? n->graph->nnodes : n->id + 1;
        if (cap > INT32_MAX / 2) return -1;
        cap *= 2;
        uint8_t *b = arena_alloc(&d->arena, (size_t)cap);
        if (!b) return -1;
        memset(b, 0, (size_t)cap);
        if (d->nbound) memcpy(b, d->bound, (size_t)d->nbound);
        d->bound = b;
        d->nbound = cap;
    }
    d->bound[n->id] = 1;
    return 0;
}

static bool value_is_random(const Driver *d, Node *n) {
    Graph *g = n->graph;
    if (!g || !g->eager) return false;
    size_t nn = (size_t)g->nnodes;
    bool *seen = calloc(nn ? nn : 1, sizeof *seen);
    Node **stack = malloc((nn ? nn : 1) * sizeof *stack);
    bool random = false;
    if (!seen || !stack) {
        /* Cannot tell: say random rather than claim trained weights. */
        free(seen); free(stack);
        return true;
    }
    size_t top = 0;
    stack[top++] = n;
    seen[n->id] = true;
    while (top && !random) {
        Node *x = stack[--top];
        if (weights_is_bound(d, x) || x->op == OP_CONST) continue;
        if (x->op == OP_RAND || x->op == OP_RANDN) { random = true; break; }
        for (int k = 0; k < x->nin; k++) {
            Node *y = x->in[k];
            if (y->graph != g || seen[y->id]) continue;
            seen[y->id] = true;
            stack[top++] = y;
        }
    }
    free(seen);
    free(stack);
    return random;
}

/* Force each node and write them all as one safetensors file; the file's
 * metadata says whether a parameter's value came from a random initialiser
 * (params[i]: entry i is a parameter; NULL: all are). */
static int write_named(Driver *d, NamedList *l, const char *path, const char *what, const bool *params,
                       LtcDiag *diag) {
    SrcLoc none = {0};
    StTensor *ts = arena_alloc(&d->arena, (size_t)(l->n ? l->n : 1) * sizeof *ts);
    if (!ts) return diag_set(diag, none, "out of memory");
    for (int i = 0; i < l->n; i++) {
        Node *n = l->v[i].node;
        StTensor *t = &ts[i];
        t->name = l->v[i].name;
        t->dtype = (StDType)n->dtype;
        t->rank = n->shape.rank;
        if (!concrete_shape(n, t->shape))
            return diag_set(diag, n->loc, "cannot save %s '%s': its shape is symbolic", what, t->name);
        if (ir_force(n, diag) != 0) return -1;
        size_t numel = numel_of(t->shape, t->rank);
        t->data = to_file_layout(&d->arena, n->dtype, n->data, numel, &t->nbytes);
        if (!t->data && t->nbytes) return diag_set(diag, none, "out of memory");
    }
    /* values bound from a file marked random are random still */
    bool random = d->bound_random;
    for (int i = 0; i < l->n && !random; i++) random = (!params || params[i]) && value_is_random(d, l->v[i].node);
    d->wrote_random = random;
    const char *meta[] = {"format", "pt", "producer", ("lispetorchc " LTC_VERSION),
                          ST_META_INIT, ST_META_INIT_RANDOM};
    char err[512];
    if (st_write(path, ts, l->n, meta, random ? 3 : 2, err, sizeof err) != 0) return diag_set(diag, none, "%s", err);
    return 0;
}

/* Distinct PARAMs of the entries, by name (the path the script reaches
 * them through).  Two different tensors under one name is an error. */
static int collect_params(Driver *d, Graph **entries, int n, NamedList *l, LtcDiag *diag) {
    l->arena = &d->arena;
    for (int e = 0; e < n; e++) {
        for (int i = 0; i < entries[e]->nparams; i++) {
            Node *p = entries[e]->params[i];
            Node *origin = p->origin ? p->origin : p;
            const char *name = p->name ? p->name : arena_printf(&d->arena, "param%d", l->n);
            bool seen = false;
            for (int k = 0; k < l->n && !seen; k++) {
                if (strcmp(l->v[k].name, name) != 0) continue;
                if (l->v[k].node == origin) { seen = true; break; }
                /* Unreachable constants are numbered per entry ("const.0"):
                 * qualify a clash with the entry's name. */
                if (strncmp(name, "const.", 6) == 0 && entries[e]->name) {
                    name = arena_printf(&d->arena, "%s.%s", entries[e]->name, name);
                    k = -1;     /* look again under the new name */
                    continue;
                }
                return diag_set(diag, p->loc, "two different parameters are both named '%s'", name);
            }
            if (!seen && push_named(l, name, origin) != 0) return diag_set(diag, (SrcLoc){0}, "out of memory");
        }
    }
    return 0;
}

int weights_write(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag) {
    NamedList l = {0};
    if (collect_params(d, entries, n, &l, diag) != 0) return -1;
    drv_verbose(d, "saving %d parameters to '%s'...", l.n, path);
    return write_named(d, &l, path, "parameter", NULL, diag);
}

int weights_save(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag) {
    const char *tmp = outputs_stage(d, path, diag);
    return tmp ? weights_write(d, entries, n, tmp, diag) : -1;
}

int weights_load(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag) {
    SrcLoc none = {0};
    NamedList l = {0};
    if (collect_params(d, entries, n, &l, diag) != 0) return -1;
    StFile f;
    char err[512];
    if (st_open(path, &f, err, sizeof err) != 0)
        return diag_set(diag, none, "weights file '%s': %s", path, err);
    int rc = 0;
    weights_note_random(d, &f, path);
    for (int i = 0; i < l.n && rc == 0; i++) {
        Node *node = l.v[i].node;
        const char *name = l.v[i].name;
        const StTensor *t = st_find(&f, name);
        int64_t dims[LTC_MAX_RANK];
        char want[200], got[200];
        if (!t) {
            rc = diag_set(diag, none, "weights file '%s' has no tensor '%s' (the model needs it)", path, name);
            break;
        }
        if (!concrete_shape(node, dims)) {
            rc = diag_set(diag, node->loc, "cannot load parameter '%s': its shape is symbolic", name);
            break;
        }
        bool same = t->rank == node->shape.rank;
        for (int k = 0; same && k < t->rank; k++) same = t->shape[k] == dims[k];
        if (!same) {
            dims_str(t->shape, t->rank, got, sizeof got);
            dims_str(dims, node->shape.rank, want, sizeof want);
            rc = diag_set(diag, none, "weights file '%s': tensor '%s' has shape %s, the model expects %s",
                          path, name, got, want);
            break;
        }
        if ((int)t->dtype != (int)node->dtype) {
            rc = diag_set(diag, none, "weights file '%s': tensor '%s' has dtype %s, the model expects %s",
                          path, name, st_dtype_name(t->dtype), st_dtype_name((StDType)node->dtype));
            break;
        }
        void *data = from_file_layout(&d->arena, node->dtype, t->data, numel_of(dims, t->rank));
        if (!data) { rc = diag_set(diag, none, "out of memory loading '%s'", path); break; }
        eager_replace(node, data);      /* the origin's value is now the file's */
        if (weights_mark_bound(d, node) != 0) { rc = diag_set(diag, none, "out of memory"); break; }
    }
    if (rc == 0) {
        int extra = 0;
        for (int i = 0; i < f.n; i++) {
            bool used = false;
            for (int k = 0; k < l.n && !used; k++) used = strcmp(l.v[k].name, f.t[i].name) == 0;
            if (used) continue;
            if (++extra <= 10)
                drv_warning(d, "weights file '%s': tensor '%s' is not used by the model", path, f.t[i].name);
        }
        if (extra > 10) drv_warning(d, "weights file '%s': %d more unused tensors", path, extra - 10);
        drv_verbose(d, "loaded %d parameters from '%s'", l.n, path);
    }
    st_close(&f);
    return rc;
}

typedef struct WalkCtx { NamedList *l; int oom; bool *in_module; int cap; } WalkCtx;

/* The walker's path may live in a temporary buffer: copy it.  Module
 * tensors are the parameters (for the random mark); inputs drawn with
 * tensor_randn are data. */
static void walk_fn(void *ctx, const char *path, Node *t, bool in_module) {
    WalkCtx *w = ctx;
    const char *name = arena_strdup(w->l->arena, path);
    if (!name || push_named(w->l, name, t) != 0) { w->oom = 1; return; }
    if (w->l->n > w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        bool *m = arena_alloc(w->l->arena, sizeof *m * (size_t)cap);
        if (!m) { w->oom = 1; return; }
        if (w->cap) memcpy(m, w->in_module, sizeof *m * (size_t)w->cap);
        w->in_module = m;
        w->cap = cap;
    }
    w->in_module[w->l->n - 1] = in_module;
}

int tensors_save(Driver *d, Interp *I, const char *path, LtcDiag *diag) {
    NamedList l = {.arena = &d->arena};
    WalkCtx w = {&l, 0, NULL, 0};
    interp_walk_tensors(I, walk_fn, &w);
    if (w.oom) return diag_set(diag, (SrcLoc){0}, "out of memory");
    drv_verbose(d, "saving %d tensors to '%s'...", l.n, path);
    const char *tmp = outputs_stage(d, path, diag);
    return tmp ? write_named(d, &l, tmp, "tensor", w.in_module, diag) : -1;
}
