/* run_weights.c: `lispetorchc run --weights FILE`.
 *
 * In run mode a script's tensors get their names only once it stores them
 * where a global reaches them (`layer.attention.q_proj.weight`, the names
 * of a compile and of --save-tensors), and their values are computed
 * lazily.  So the file is bound just before values are computed: a force
 * hook on the eager pool, in front of the JIT's, walks the globals and sets
 * the value of every tensor the file names, before anything reads it.
 *
 * Checked as for compiling: names, shapes and dtypes; every tensor of a
 * module reachable from the globals must be in the file (error naming it);
 * other global tensors are bound when the file has them and the script does
 * not compute them (inputs, not results); file tensors left unbound are a
 * warning at the end.  A tensor
 * whose value was already used when it became reachable (a module built
 * and run inside a function before being stored in a global) cannot be
 * bound any more: that is an error, never a silently random result. */
#include "driver/driver.h"
#include "frontend/torch.h"
#include "support/safetensors.h"

#include <stdlib.h>
#include <string.h>

typedef struct RunWeights {
    Driver *d;
    Interp *I;
    StFile f;
    bool   *used;                   /* per file tensor: bound to a script tensor */
    int   (*inner)(void *, Node *, LtcDiag *);  /* the JIT's hook, or NULL */
    void   *inner_ctx;
    int     seen_nodes, seen_globals;   /* pool and globals at the last walk */
    LtcDiag *err;                   /* first error of the current walk */
    bool    failed;
} RunWeights;

static bool fail_at(RunWeights *w, SrcLoc loc, const char *fmt, const char *name) {
    if (!w->failed) diag_set(w->err, loc, fmt, w->d->o.weights, name);
    w->failed = true;
    return false;
}

/* Some computed node of the pool reads t: t's old value is already used.
 * A node whose value the file set did not read t. */
static bool value_used(const Driver *d, const Graph *g, const Node *t) {
    for (int i = t->id + 1; i < g->nnodes; i++) {
        const Node *x = g->nodes[i];
        if ((!x->data && !x->released) || weights_is_bound(d, x)) continue;   /* released: it was computed */
        for (int k = 0; k < x->nin; k++)
            if (x->in[k] == t) return true;
    }
    return false;
}

static void bind_one(void *ctx, const char *path, Node *t, bool in_module) {
    RunWeights *w = ctx;
    if (w->failed || weights_is_bound(w->d, t)) return;
    /* Outside modules only what the script does not compute is bound
     * (inputs, buffers): a saved result (`y` of --save-tensors) stays the
     * script's computation, and is reported unused at the end. */
    if (!in_module && !(op_info[t->op].flags & OPF_SOURCE)) return;
    const StTensor *s = st_find(&w->f, path);
    if (!s) {
        /* module tensors are the model's parameters; other globals are data */
        if (in_module) fail_at(w, t->loc, "weights file '%s' has no tensor '%s' (the model needs it)", path);
        return;
    }
    int64_t dims[LTC_MAX_RANK];
    for (int i = 0; i < t->shape.rank; i++) dims[i] = t->shape.d[i].k;
    bool same = s->rank == t->shape.rank;
    for (int i = 0; same && i < s->rank; i++) same = s->shape[i] == dims[i];
    if (!same) {
        char got[200], want[200];
        dims_str(s->shape, s->rank, got, sizeof got);
        dims_str(dims, t->shape.rank, want, sizeof want);
        if (!w->failed)
            diag_set(w->err, t->loc, "weights file '%s': tensor '%s' has shape %s, the model expects %s",
                     w->d->o.weights, path, got, want);
        w->failed = true;
        return;
    }
    if ((int)s->dtype != (int)t->dtype) {
        if (!w->failed)
            diag_set(w->err, t->loc, "weights file '%s': tensor '%s' has dtype %s, the model expects %s",
                     w->d->o.weights, path, st_dtype_name(s->dtype), st_dtype_name((StDType)t->dtype));
        w->failed = true;
        return;
    }
    /* A CONST's value is its own (a literal); any other value already
     * computed came from the script's initialisation. */
    if ((t->data && t->op != OP_CONST) || value_used(w->d, t->graph, t)) {
        fail_at(w, t->loc,
                "weights file '%s': tensor '%s' was used before --weights could bind it (it became reachable "
                "from a global variable only after it was used); store the module in a global before running it",
                path);
        return;
    }
    size_t numel = 1;
    for (int i = 0; i < s->rank; i++) numel *= (size_t)s->shape[i];    /* st_open checked the size */
    size_t ssz = dtype_storage_size(t->dtype);
    void *data = arena_alloc_big(&w->d->arena, numel * ssz + 1);
    if (!data) { fail_at(w, t->loc, "weights file '%s': out of memory binding '%s'", path); return; }
    if (t->dtype == DT_F16 || t->dtype == DT_BF16) {
        const unsigned char *b = s->data;
        float *o = data;
        for (size_t i = 0; i < numel; i++) {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            o[i] = t->dtype == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    } else {
        memcpy(data, s->data, numel * ssz);
    }
    eager_replace(t, data);
    if (weights_mark_bound(w->d, t) != 0) { fail_at(w, t->loc, "weights file '%s': out of memory binding '%s'", path); return; }
    w->used[s - w->f.t] = true;
}

/* Walk the globals when tensors or globals may have appeared since the
 * last walk.  0, or -1 with d filled. */
static int bind_reachable(RunWeights *w, LtcDiag *d) {
    Interp *I = w->I;
    if (I->eager->nnodes == w->seen_nodes && I->global.n == w->seen_globals) return 0;
    w->err = d;
    w->failed = false;
    interp_walk_tensors(I, bind_one, w);
    if (w->failed) return -1;
    w->seen_nodes = I->eager->nnodes;
    w->seen_globals = I->global.n;
    return 0;
}

static int rw_force(void *ctx, Node *n, LtcDiag *d) {
    RunWeights *w = ctx;
    if (bind_reachable(w, d) != 0) return -1;
    if (n->data) return 0;                  /* n itself was just bound */
    return w->inner ? w->inner(w->inner_ctx, n, d) : 1;
}

int run_weights_attach(Driver *d, Interp *I) {
    RunWeights *w = arena_alloc(&d->arena, sizeof *w);
    if (!w) { drv_error(d, "out of memory"); return EXIT_ERROR; }
    memset(w, 0, sizeof *w);
    char err[512];
    if (st_open(d->o.weights, &w->f, err, sizeof err) != 0) {
        drv_error(d, "weights file '%s': %s", d->o.weights, err);
        return EXIT_ERROR;
    }
    weights_note_random(d, &w->f, d->o.weights);
    w->used = arena_alloc(&d->arena, sizeof *w->used * (size_t)(w->f.n + 1));
    if (!w->used) { st_close(&w->f); drv_error(d, "out of memory"); return EXIT_ERROR; }
    memset(w->used, 0, sizeof *w->used * (size_t)(w->f.n + 1));
    w->d = d;
    w->I = I;
    w->seen_nodes = w->seen_globals = -1;
    w->inner = I->eager->force_hook;
    w->inner_ctx = I->eager->force_ctx;
    I->eager->force_hook = rw_force;
    I->eager->force_ctx = w;
    d->run_weights = w;
    return 0;
}

int run_weights_finish(Driver *d, Interp *I, bool script_ok) {
    RunWeights *w = d->run_weights;
    if (!w) return 0;
    int rc = 0;
    if (script_ok) {
        /* What the script left reachable must be bound too (or report why not). */
        LtcDiag diag;
        memset(&diag, 0, sizeof diag);
        w->seen_nodes = -1;
        if (bind_reachable(w, &diag) != 0) {
            drv_diag(d, &diag);
            rc = EXIT_ERROR;
        } else {
            int extra = 0;
            for (int i = 0; i < w->f.n; i++) {
                if (w->used[i]) continue;
                if (++extra <= 10)
                    drv_warning(d, "weights file '%s': tensor '%s' is not used by the script", d->o.weights, w->f.t[i].name);
            }
            if (extra > 10) drv_warning(d, "weights file '%s': %d more unused tensors", d->o.weights, extra - 10);
        }
    }
    I->eager->force_hook = w->inner;
    I->eager->force_ctx = w->inner_ctx;
    st_close(&w->f);
    d->run_weights = NULL;
    return rc;
}
