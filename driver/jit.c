/* jit.c: `lispetorchc run` computes tensors with compiled kernels.
 *
 * Values of the eager pool are lazy (ir.h).  When the script needs one
 * (println, tensor_sum, --save-tensors...), ir_force asks this hook first.
 * The hook takes the region of not-yet-computed nodes that the value
 * depends on, copies it into a graph of its own (every computed value it
 * reads becomes a PARAM of that graph, named p0, p1... in the order the
 * region reads them), and sends it through the same pipeline as
 * `-o model.so`: passes, plan, CPU backend, but with LLJIT instead of a
 * library, run by the runtime's executor in this process.
 *
 * Compiled regions are cached by structure (ops, attributes, shapes; not
 * values), so a loop that rebuilds the same computation compiles it once.
 * Regions without a GEMM or attention are left to the interpreter by
 * choice (compiling costs more than it saves): they are still planned, so
 * an op the backend cannot generate is found there too.  A region the JIT
 * cannot compile (an op or dtype the backend does not generate, or a
 * failure while compiling) is a *fallback*: the interpreter computes it,
 * and a note names the op, its place in the script and the reason, once
 * per place and reason (like torch.compile's graph breaks); `--strict`
 * makes it an error.  The decision is cached with the region, so a loop
 * pays for it once.  `run --interpret` uses the interpreter for all. */
#include "driver/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"
#include "runtime/rt_internal.h"

/* Why a region runs in the interpreter: the op (NULL when no single op is
 * to blame), its place in the script and the reason. */
typedef struct Fallback {
    const char *op;
    SrcLoc      loc;
    const char *why;
} Fallback;

typedef enum {
    JE_COMPILED,        /* backend, plan and prog are set */
    JE_SMALL,           /* compilable, interpreted by choice (no GEMM/attention) */
    JE_REFUSED          /* not compilable: fb says why */
} JitState;

typedef struct JitEntry {
    uint64_t   key;
    JitState   state;
    Backend   *backend;
    Plan      *plan;
    RtProgram  prog;
    Fallback   fb;
    uint64_t  *seeds; int nseeds;   /* the random nodes' seeds the plan's dims hold now */
    struct JitEntry *next;
} JitEntry;

/* A (place, reason) already noted: a loop gets one line, not one a turn. */
typedef struct Noted {
    SrcLoc loc;
    const char *why;
    struct Noted *next;
} Noted;

typedef struct Jit {
    Driver    *d;
    JitEntry  *cache;
    Noted     *noted;
    RtPool    *pool;
    RtScratch  scratch;
    /* -v: regions compiled (cache misses), runs of a cached compiled
     * region, regions interpreted by choice, fallbacks */
    int        ncompiled, nhits, nsmall, nfallbacks;
} Jit;

/* ---- the region ------------------------------------------------------------- */
static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

static uint64_t hash_attr(uint64_t h, const Attr *a) {
    double ds[] = {a->f, a->f2, a->lo, a->hi, a->eps, a->scale, a->p};
    h = hash_bytes(ds, sizeof ds, h);
    int64_t is[] = {a->i, a->axis, a->keepdim, a->causal, a->training, a->flags, a->act, a->step,
                    (int64_t)a->seed, a->dtype, a->start.k, a->start.sym, a->end.k, a->end.sym};
    h = hash_bytes(is, sizeof is, h);
    h = hash_bytes(a->perm, sizeof a->perm, h);
    h = mix(h, (uint64_t)a->shape.rank);
    for (int i = 0; i < a->shape.rank; i++) h = mix(mix(h, (uint64_t)a->shape.d[i].k), a->shape.d[i].sym);
    return h;
}

/* Random nodes (training dropout, sdpa with dropout): their kernels take
 * the Philox key as dims (PlanStep.seed_dim), so a region that differs
 * only in seeds (a training step called again: new nodes, new seeds)
 * reuses the compiled plan with its seed dims rewritten (patch_seeds). */
static bool is_random(const Node *n) {
    return (n->op == OP_DROPOUT || n->op == OP_SDPA) && n->a.training && n->a.p > 0;
}

/* The seeds of g's random nodes in node order (malloc'ed; *n = count).
 * *dup: two of them are equal (then seeds stay in the cache key: a step's
 * seed would not say which node it belongs to). */
static uint64_t *region_seeds(const Graph *g, int *n, bool *dup) {
    uint64_t *s = malloc(((size_t)g->nnodes + 1) * sizeof *s);
    *n = 0;
    *dup = false;
    if (!s) return NULL;
    for (int i = 0; i < g->nnodes; i++)
        if (is_random(g->nodes[i])) {
            for (int j = 0; j < *n; j++) *dup |= s[j] == g->nodes[i]->a.seed;
            s[(*n)++] = g->nodes[i]->a.seed;
        }
    return s;
}

static uint64_t hash_graph(const Graph *g, bool with_seeds) {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        h = mix(mix(h, (uint64_t)n->op), (uint64_t)n->dtype);
        h = mix(h, (uint64_t)n->shape.rank);
        for (int k = 0; k < n->shape.rank; k++) h = mix(h, (uint64_t)n->shape.d[k].k);
        for (int k = 0; k < n->nin; k++) h = mix(h, (uint64_t)n->in[k]->id);
        if (n->op == OP_PARAM) continue;
        Attr a = n->a;
        if (is_random(n) && !with_seeds) a.seed = 0;
        h = hash_attr(h, &a);
    }
    return h;
}

static uint64_t seed_of(const PlanStep *s) {
    const Poly *lo = &s->dims[s->seed_dim], *hi = &s->dims[s->seed_dim + 1];
    uint64_t l = lo->n ? (uint64_t)lo->t[0].k : 0, h = hi->n ? (uint64_t)hi->t[0].k : 0;
    return l | h << 32;
}

static Poly const_poly(uint64_t v) {
    Poly p;
    memset(&p, 0, sizeof p);
    if (v) { p.n = 1; p.t[0] = dim_const((int64_t)v); }
    return p;
}

/* Rewrite the seed dims of e's random steps from e->seeds to `now` (same
 * count, same node order).  A step whose seed is not among e->seeds is an
 * internal error, never a guess. */
static int patch_seeds(JitEntry *e, const uint64_t *now, int n, LtcDiag *d) {
    if (n != e->nseeds) return diag_set(d, (SrcLoc){0}, "jit: internal: %d random nodes, the cached plan has %d", n, e->nseeds);
    PlanStep *lists[2] = {e->plan->steps, e->plan->prepack};
    int counts[2] = {e->plan->nsteps, e->plan->nprepack};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++) {
            PlanStep *s = &lists[l][i];
            if (s->seed_dim <= 0) continue;
            if (s->seed_dim + 1 >= s->ndims) return diag_set(d, (SrcLoc){0}, "jit: internal: bad seed dims");
            uint64_t cur = seed_of(s);
            int j = 0;
            while (j < n && e->seeds[j] != cur) j++;
            if (j == n) return diag_set(d, (SrcLoc){0}, "jit: internal: a random step's seed is not the region's");
            s->dims[s->seed_dim] = const_poly(now[j] & 0xffffffffu);
            s->dims[s->seed_dim + 1] = const_poly(now[j] >> 32);
        }
    if (n) memcpy(e->seeds, now, (size_t)n * sizeof *now);   /* n == 0: e->seeds is NULL */
    return 0;
}

/* Nodes of the eager pool that `target` needs and that have no value yet,
 * in id (= topological) order.  Sources among them (random init, fills) are
 * computed here by the interpreter, so the region only holds arithmetic. */
static int collect_region(Node *target, Node ***out, int *nout, bool *worth, LtcDiag *d) {
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

static bool jit_dtype_ok(DType t) { return t == DT_F32 || t == DT_I64 || t == DT_BOOL; }

/* Copy the region into a graph of its own (*out); values it reads from
 * outside become PARAMs p0, p1... (ir_emit maps them).  0, 1 when the
 * region has a dtype the JIT leaves to the interpreter (*fb says which
 * op), -1 on error. */
static int region_graph(Arena *a, Node **list, int n, Node *target, Graph **out, Fallback *fb, LtcDiag *d) {
    Graph *rg = graph_new(a, "jit_region", false);
    Node **map = calloc((size_t)target->graph->nnodes, sizeof *map);
    if (!rg || !map) { free(map); return diag_set(d, target->loc, "out of memory"); }
    int nparams = 0;
    for (int i = 0; i < n; i++) {
        Node *x = list[i];
        fb->op = op_info[x->op].name;
        fb->loc = x->loc;
        const Node *bad = jit_dtype_ok(x->dtype) ? NULL : x;
        Node **in = x->nin ? arena_alloc(a, (size_t)x->nin * sizeof *in) : NULL;   /* any number of inputs */
        if (x->nin && !in) { free(map); return diag_set(d, x->loc, "out of memory"); }
        for (int k = 0; k < x->nin; k++) {
            in[k] = map[x->in[k]->id] ? map[x->in[k]->id] : x->in[k];
            if (!bad && !jit_dtype_ok(x->in[k]->dtype)) bad = x->in[k];
        }
        if (bad) {
            fb->why = arena_printf(a, "the JIT compiles f32, i64 and bool tensors, not %s", dtype_name(bad->dtype));
            if (!fb->why) { free(map); return diag_set(d, target->loc, "out of memory"); }
            goto decline;
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
decline:
    free(map);
    return 1;
}

static int jit_lookup_fn(void *ctx, const char *name, void **fn) {
    Backend *b = ctx;
    LtcDiag d;
    return b->jit_lookup(b, name, fn, &d);
}

/* A failed compile becomes the fallback's reason: the refused op when
 * the backend refused one, else the diagnostic (its place, or the
 * region's target when it has none). */
static void failed(JitEntry *e, const LowerInfo *li, const LtcDiag *why, const Node *target, Arena *a) {
    e->state = JE_REFUSED;
    if (li->refused) {
        e->fb.op = op_info[li->refused->op].name;
        e->fb.loc = li->refused->loc;
        e->fb.why = li->refused_why;
    } else {
        e->fb.op = NULL;
        e->fb.loc = why->loc.file ? why->loc : target->loc;
        e->fb.why = arena_printf(a, "%s", why->msg);
    }
    if (!e->fb.why) e->fb.why = "out of memory";
}

/* Passes, plan and, for a region worth it, LLVM, LLJIT and the executor
 * program.  A small region stops after the plan: JE_SMALL says it would
 * compile.  NULL only when out of memory; a region that does not compile
 * is a JE_REFUSED entry. */
static JitEntry *compile_region(Jit *j, Graph *rg, uint64_t key, bool worth, const Node *target, LtcDiag *d) {
    Driver *drv = j->d;
    JitEntry *e = arena_alloc(&drv->arena, sizeof *e);
    if (!e) { diag_set(d, target->loc, "out of memory"); return NULL; }
    memset(e, 0, sizeof *e);
    e->key = key;
    LowerInfo li;
    memset(&li, 0, sizeof li);
    LtcDiag why;
    memset(&why, 0, sizeof why);
    PassOptions po = {0};
    if (passes_run(rg, &po, NULL, NULL, &why) != 0) { failed(e, &li, &why, target, &drv->arena); return e; }
    BackendOptions bo;
    driver_backend_options(drv, &bo);
    bo.verbose = false;
    if (!(e->backend = backend_cpu_new(&drv->arena, &bo, &why))) { failed(e, &li, &why, target, &drv->arena); return e; }
    char err[512] = "";
    if (plan_build_ex(rg, e->backend, &drv->arena, &e->plan, &li, &why) != 0 ||
        (worth && (e->backend->generate(e->backend, &e->plan, 1, &bo, &why) != 0 ||
                   rt_program_init(&e->prog, e->plan, jit_lookup_fn, e->backend, err, sizeof err) != 0))) {
        if (err[0]) diag_set(&why, (SrcLoc){0}, "jit: %s", err);
        e->backend->destroy(e->backend);
        e->backend = NULL;
        failed(e, &li, &why, target, &drv->arena);
        return e;
    }
    if (!worth) {
        e->backend->destroy(e->backend);
        e->backend = NULL;
        e->state = JE_SMALL;
        return e;
    }
    e->state = JE_COMPILED;
    return e;
}

/* A region the JIT cannot compile: an error with --strict, else a note
 * (once per place and reason) and the interpreter computes it. */
static int fall_back(Jit *j, const Fallback *fb, int nnodes, LtcDiag *d) {
    j->nfallbacks++;
    char what[64];
    if (fb->op) snprintf(what, sizeof what, "'%s'", fb->op);
    else snprintf(what, sizeof what, "a region of %d ops", nnodes);
    /* The evaluator reports an error at the builtin that forced the value,
     * so the message carries the op's own place too. */
    if (j->d->o.strict && fb->loc.file)
        return diag_set(d, fb->loc, "%s at %s:%d:%d cannot be compiled (--strict): %s", what, fb->loc.file->name,
                        fb->loc.line, fb->loc.col, fb->why);
    if (j->d->o.strict) return diag_set(d, fb->loc, "%s cannot be compiled (--strict): %s", what, fb->why);
    for (Noted *n = j->noted; n; n = n->next)
        if (n->loc.file == fb->loc.file && n->loc.line == fb->loc.line && n->loc.col == fb->loc.col &&
            strcmp(n->why, fb->why) == 0)
            return 1;
    Noted *n = arena_alloc(&j->d->arena, sizeof *n);
    if (!n) return diag_set(d, fb->loc, "out of memory");
    *n = (Noted){fb->loc, fb->why, j->noted};
    j->noted = n;
    drv_note_line(j->d, fb->loc, "running %s in the interpreter: %s", what, fb->why);
    return 1;
}

/* Bind the region's parameters (by their p<k> names) and run. */
static int run_region(Jit *j, JitEntry *e, Graph *rg, Node *target, LtcDiag *d) {
    const Plan *p = e->plan;
    char err[512];
    for (int i = 0; i < p->nparams; i++) {
        int k = atoi(p->params[i].name + 1);
        if (k < 0 || k >= rg->nparams) return diag_set(d, target->loc, "jit: bad parameter '%s'", p->params[i].name);
        Node *origin = rg->params[k]->origin;
        if (ir_force(origin, d) != 0) return -1;
        e->prog.params[i] = origin->data;
    }
    /* Every value the region reads is a PARAM, activations included, and
     * the plan may compute what depends on PARAMs alone in its prepack
     * steps: so they run on every call (skipping them when the pointers
     * repeat would memoise the call, and `elapse` would time nothing). */
    rt_program_free_packed(&e->prog);
    if (rt_prepack(&e->prog, j->pool, err, sizeof err) != 0) return diag_set(d, target->loc, "jit: %s", err);
    int64_t out[LTC_MAX_RANK];
    SymBind none = {0};
    shape_eval(&target->shape, &none, out);
    size_t bytes = shape_numel_eval(&target->shape, &none) * dtype_storage_size(target->dtype);
    void *buf = eager_alloc(target->graph, target, bytes);     /* the collector may release it */
    if (!buf) return diag_set(d, target->loc, "out of memory");
    int64_t symvals[LTC_MAX_SYMS] = {0};
    void *outs[1] = {buf};
    if (rt_run(&e->prog, j->pool, &j->scratch, symvals, NULL, outs, err, sizeof err) != 0)
        return diag_set(d, target->loc, "jit: %s", err);
    target->data = buf;
    return 0;
}

static int jit_force(void *ctx, Node *target, LtcDiag *d) {
    Jit *j = ctx;
    /* Sources (random init, fills) are the interpreter's by design: their
     * values must not depend on which path computes them. */
    if (op_info[target->op].flags & OPF_SOURCE) return 1;
    Node **list = NULL;
    int n = 0;
    bool worth = false;
    if (collect_region(target, &list, &n, &worth, d) != 0) return -1;
    if (n == 0) { free(list); return 1; }      /* nothing pending but sources and parameters */
    Graph *rg = NULL;
    Fallback fb = {0};
    int r = region_graph(&j->d->arena, list, n, target, &rg, &fb, d);
    free(list);
    if (r < 0) return -1;
    if (r > 0) return fall_back(j, &fb, n, d);

    int nseeds = 0;
    bool dup = false;
    uint64_t *seeds = region_seeds(rg, &nseeds, &dup);
    if (!seeds) return diag_set(d, target->loc, "out of memory");
    uint64_t key = hash_graph(rg, dup);
    JitEntry *e = j->cache;
    while (e && e->key != key) e = e->next;
    if (!e) {
        double t0 = now_ms();
        if (!(e = compile_region(j, rg, key, worth, target, d))) { free(seeds); return -1; }
        if (nseeds) {
            e->seeds = arena_alloc(&j->d->arena, (size_t)nseeds * sizeof *seeds);
            if (!e->seeds) { free(seeds); return diag_set(d, target->loc, "out of memory"); }
            memcpy(e->seeds, seeds, (size_t)nseeds * sizeof *seeds);
            e->nseeds = nseeds;
        }
        free(seeds);
        e->next = j->cache;
        j->cache = e;
        if (e->state == JE_COMPILED) {
            drv_phase(j->d, "jit-compile", t0);
            drv_verbose(j->d, "jit: compiled a region of %d nodes into %d kernels (%.0f ms)", rg->nnodes,
                        e->plan->nkernels, now_ms() - t0);
            j->ncompiled++;
        } else {
            drv_phase(j->d, "jit-plan", t0);
        }
    } else if (e->state == JE_COMPILED) {
        j->nhits++;
        /* same structure, other dropout seeds: the plan's dims take them */
        int prc = patch_seeds(e, seeds, nseeds, d);
        free(seeds);
        if (prc != 0) return -1;
    } else {
        free(seeds);
    }
    if (e->state == JE_SMALL) { j->nsmall++; return 1; }
    if (e->state == JE_REFUSED) return fall_back(j, &e->fb, rg->nnodes, d);
    /* The cached plan was made from a graph of the same structure; its
     * parameters are bound from this region's p<k>. */
    double t0 = now_ms();
    int rc = run_region(j, e, rg, target, d);
    drv_phase(j->d, "jit-run", t0);
    return rc;
}

Jit *jit_attach(Driver *d, Graph *eager) {
    Jit *j = arena_alloc(&d->arena, sizeof *j);
    if (!j) return NULL;
    j->d = d;
    if (!(j->pool = rt_pool_new(d->o.threads))) return NULL;
    eager->force_hook = jit_force;
    eager->force_ctx = j;
    return j;
}

void jit_detach(Jit *j, Graph *eager) {
    if (!j) return;
    eager->force_hook = NULL;
    eager->force_ctx = NULL;
    drv_verbose(j->d, "jit: %d regions compiled, %d cache hits, %d regions interpreted (%d small, %d not compilable)",
                j->ncompiled, j->nhits, j->nsmall + j->nfallbacks, j->nsmall, j->nfallbacks);
    for (JitEntry *e = j->cache; e; e = e->next) {
        if (e->state != JE_COMPILED) continue;
        rt_program_free(&e->prog);
        e->backend->destroy(e->backend);
    }
    rt_scratch_free(&j->scratch);
    rt_pool_free(j->pool);
}
