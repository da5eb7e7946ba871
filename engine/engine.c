/* engine.c: the eager pool's force hook, and the engine's life cycle
 * (engine.h says what it does). */
#include "engine/engine_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/lower.h"
#include "plan/serialize.h"
#include "ir/passes/passes.h"

void engine_verbose(Engine *e, const char *fmt, ...) {
    if (!e->log.verbose) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->log.verbose(e->log.ctx, buf);
}

void engine_jit_log(Engine *e, SrcLoc loc, const char *fmt, ...) {
    if (!e->log.jit) return;
    char msg[1024];
    int n = loc.file ? snprintf(msg, sizeof msg, "%s:%d:%d: ", loc.file->name, loc.line, loc.col)
                     : snprintf(msg, sizeof msg, "?: ");
    if (n < 0 || (size_t)n >= sizeof msg) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    e->log.jit(e->log.ctx, msg);
}

void engine_phase(Engine *e, const char *name, double t0) {
    if (e->log.phase) e->log.phase(e->log.ctx, name, t0);
}

/* A compile that failed becomes the fallback's reason: the refused op when
 * the backend refused one, else the diagnostic (its place, or the
 * region's target when it has none). */
Fallback engine_failed(Engine *e, const LowerInfo *li, const LtcDiag *why, SrcLoc at) {
    Fallback fb = {0};
    if (li && li->refused) {
        fb.op = op_info[li->refused->op].name;
        fb.loc = li->refused->loc;
        fb.why = li->refused_why;
    } else {
        fb.loc = why->loc.file ? why->loc : at;
        fb.why = arena_printf(&e->arena, "%s", why->msg);
    }
    if (!fb.why) fb.why = "out of memory";
    return fb;
}

/* A region that cannot be compiled: an error with strict, else a note
 * (once per place and reason) and the interpreter computes it (1). */
int engine_fall_back(Engine *e, const Fallback *fb, int nnodes, LtcDiag *d) {
    e->st.fallbacks++;
    char what[64];
    if (fb->op) snprintf(what, sizeof what, "'%s'", fb->op);
    else snprintf(what, sizeof what, "a region of %d ops", nnodes);
    /* the jit log has every one (the note below: once per place) */
    engine_jit_log(e, fb->loc, "fallback: %s%s in the interpreter: %s", what, e->o.strict ? " would run" : " runs",
                   fb->why);
    /* The evaluator reports an error at the builtin that forced the value,
     * so the message carries the op's own place too. */
    if (e->o.strict && fb->loc.file)
        return diag_set(d, fb->loc, "%s at %s:%d:%d cannot be compiled (--strict): %s", what, fb->loc.file->name,
                        fb->loc.line, fb->loc.col, fb->why);
    if (e->o.strict) return diag_set(d, fb->loc, "%s cannot be compiled (--strict): %s", what, fb->why);
    for (Noted *n = e->noted; n; n = n->next)
        if (n->loc.file == fb->loc.file && n->loc.line == fb->loc.line && n->loc.col == fb->loc.col &&
            strcmp(n->why, fb->why) == 0)
            return 1;
    Noted *n = arena_alloc(&e->arena, sizeof *n);
    if (!n) return diag_set(d, fb->loc, "out of memory");
    *n = (Noted){fb->loc, fb->why, e->noted};
    e->noted = n;
    if (e->log.note) {
        char msg[1024];
        snprintf(msg, sizeof msg, "running %s in the interpreter: %s", what, fb->why);
        e->log.note(e->log.ctx, fb->loc, msg);
    }
    return 1;
}

/* Bind the region's parameters (by their p<k> names) and run. */
static int run_region(Engine *e, Entry *en, Graph *rg, Node *target, LtcDiag *d) {
    const Plan *p = en->plan;
    char err[512];
    for (int i = 0; i < p->nparams; i++) {
        int k = atoi(p->params[i].name + 1);
        if (k < 0 || k >= rg->nparams) return diag_set(d, target->loc, "jit: bad parameter '%s'", p->params[i].name);
        Node *origin = rg->params[k]->origin;
        if (ir_force(origin, d) != 0) return -1;
        en->prog.params[i] = origin->data;
    }
    /* Every value the region reads is a PARAM, activations included, and
     * the plan may compute what depends on PARAMs alone in its prepack
     * steps: so they run on every call (skipping them when the pointers
     * repeat would memoise the call, and `elapse` would time nothing). */
    rt_program_free_packed(&en->prog);
    if (rt_prepack(&en->prog, e->dev, err, sizeof err) != 0) return diag_set(d, target->loc, "jit: %s", err);
    SymBind none = {0};
    size_t bytes = shape_numel_eval(&target->shape, &none) * dtype_storage_size(target->dtype);
    void *buf = eager_alloc(target->graph, target, bytes);     /* the collector may release it */
    if (!buf) return diag_set(d, target->loc, "out of memory");
    int64_t symvals[LTC_MAX_SYMS] = {0};
    void *outs[1] = {buf};
    if (rt_run(&en->prog, e->dev, &e->scratch, symvals, NULL, outs, err, sizeof err) != 0)
        return diag_set(d, target->loc, "jit: %s", err);
    target->data = buf;
    return 0;
}

/* Passes and plan for g (every time: the plan is the cache key), then
 * the cached code or a compile: 0 with *out ready to run; 1 when g is
 * left to the interpreter (said in the log, or a note: fall_back); -1 on
 * error.  worth: g has a GEMM or attention (else it is planned, so that
 * an op the backend cannot generate is found, but not compiled). */
int engine_prepare(Engine *e, Graph *g, bool worth, SrcLoc loc, Entry **out, LtcDiag *d) {
    LowerInfo li;
    memset(&li, 0, sizeof li);
    LtcDiag why;
    memset(&why, 0, sizeof why);
    PassOptions po = {0};
    Plan *plan = NULL;
    double t0 = now_ms();
    int nnodes = g->nnodes;
    if (passes_run(g, &po, NULL, NULL, &why) != 0) {
        Fallback fb = engine_failed(e, NULL, &why, loc);
        return engine_fall_back(e, &fb, nnodes, d);
    }
    if (!e->backend) {
        Fallback fb = {NULL, loc, e->no_backend};
        return engine_fall_back(e, &fb, nnodes, d);
    }
    if (plan_build_ex(g, e->backend, &e->arena, &plan, &li, &why) != 0) {
        Fallback fb = engine_failed(e, &li, &why, loc);
        return engine_fall_back(e, &fb, nnodes, d);
    }
    if (!worth) {
        e->st.plan_ms += now_ms() - t0;
        engine_phase(e, "jit-plan", t0);
        e->st.small++;
        engine_jit_log(e, loc, "interpreted by choice: %d nodes without a GEMM or attention", nnodes);
        return 1;
    }

    char *key = NULL;
    size_t keylen = 0;
    if (cache_key(e, plan, &key, &keylen, d) != 0) return -1;
    e->st.plan_ms += now_ms() - t0;
    engine_phase(e, "jit-plan", t0);
    Entry *en = cache_find(e, key, keylen);
    int rc = 0;
    if (en) {
        free(key);
        /* same code, maybe other dropout seeds: the cached plan takes them */
        if (en->compiled) {
            e->st.hits++;
            engine_jit_log(e, loc, "memory hit (%d kernels)", en->plan->nkernels);
            rc = cache_take_seeds(en->plan, plan, d);
        }
    } else if (!(en = cache_add(e, key, keylen, d))) {
        rc = -1;
    } else {
        en->plan = plan;
        t0 = now_ms();
        if ((rc = engine_code(e, en, nnodes, loc, d)) == 0) engine_phase(e, "jit-compile", t0);
        if (rc > 0) rc = 0;            /* not compiled: en->fb, below */
    }
    if (rc != 0) return -1;
    if (!en->compiled) return engine_fall_back(e, &en->fb, nnodes, d);
    *out = en;
    return 0;
}

/* The cached plan was made from a region of the same key; its parameters
 * are bound from this region's p<k>. */
static int force_region(Engine *e, Graph *rg, bool worth, Node *target, LtcDiag *d) {
    Entry *en = NULL;
    int rc = engine_prepare(e, rg, worth, target->loc, &en, d);
    if (rc != 0) return rc;
    double t0 = now_ms();
    rc = run_region(e, en, rg, target, d);
    engine_phase(e, "jit-run", t0);
    return rc;
}

static int force(void *ctx, Node *target, LtcDiag *d) {
    Engine *e = ctx;
    /* Sources (random init, fills) are the interpreter's by design: their
     * values must not depend on which path computes them. */
    if (op_info[target->op].flags & OPF_SOURCE) return 1;
    Node **list = NULL;
    int n = 0;
    bool worth = false;
    if (region_collect(target, &list, &n, &worth, d) != 0) return -1;
    if (n == 0) { free(list); return 1; }      /* nothing pending but sources and parameters */
    Graph *rg = NULL;
    Fallback fb = {0};
    int r = region_graph(&e->arena, list, n, target, &rg, &fb, d);
    free(list);
    if (r < 0) return -1;
    if (r > 0) return engine_fall_back(e, &fb, n, d);
    return force_region(e, rg, worth, target, d);
}

Engine *engine_new(const EngineOptions *o, const EngineLog *log, LtcDiag *d) {
    Engine *e = calloc(1, sizeof *e);
    if (!e) { diag_set(d, (SrcLoc){0}, "out of memory"); return NULL; }
    arena_init(&e->arena);
    e->o = *o;
    if (log) e->log = *log;
    /* One backend for the session: one LLVM context, one JIT.  When it
     * cannot be made, every region falls back naming why. */
    LtcDiag why;
    memset(&why, 0, sizeof why);
    BackendOptions bo = o->backend;
    bo.verbose = false;
    e->backend = backend_new(o->target, &e->arena, &bo, &why);
    if (!e->backend && !(e->no_backend = arena_printf(&e->arena, "%s", why.msg))) e->no_backend = "out of memory";
    char err[300];
    if (!(e->dev = rt_device_open(e->backend ? e->backend->device : "cpu", o->backend.threads, err, sizeof err))) {
        diag_set(d, (SrcLoc){0}, "jit: %s", err);
        engine_free(e);
        return NULL;
    }
    if (disk_cache_init(&e->disk, o->no_disk_cache, d) != 0) {
        engine_free(e);
        return NULL;
    }
    /* The disk cache outlives this build of the compiler: its keys name
     * the build; without one the disk cache is off (the session's cache
     * needs none). */
    char build[33] = "-";
    if (e->disk.dir && e->backend && e->backend->jit_emit_object) {
        double t0 = now_ms();
        char why[300];
        if (disk_cache_build_id(build, why, sizeof why) != 0) {
            if (!(e->disk_off = arena_printf(&e->arena, "cannot identify the compiler's build: %s", why)))
                e->disk_off = "cannot identify the compiler's build";
            snprintf(build, sizeof build, "-");
        }
        e->st.load_ms += now_ms() - t0;       /* compile-side: the disk cache's */
    }
    e->target_key = arena_printf(&e->arena, "lispetorchc %s build %s plan %d backend %s opt %d target %s",
                                 LTC_VERSION, build, PLAN_BLOB_VERSION, e->backend ? e->backend->name : "none",
                                 o->backend.opt_level, e->backend && e->backend->target ? e->backend->target : "-");
    if (!e->target_key) {
        diag_set(d, (SrcLoc){0}, "out of memory");
        engine_free(e);
        return NULL;
    }
    return e;
}

void engine_attach(Engine *e, Graph *eager) {
    eager->force_hook = force;
    eager->force_ctx = e;
    e->eager = eager;
    e->call_hook = (CallHook){e, engine_call_run, engine_call_eager};
    if (!e->o.no_functions) eager->call_hook = &e->call_hook;
}

void engine_detach(Engine *e, Graph *eager) {
    if (eager->force_ctx == e) {
        eager->force_hook = NULL;
        eager->force_ctx = NULL;
    }
    if (eager->call_hook == &e->call_hook) eager->call_hook = NULL;
    if (e->eager == eager) e->eager = NULL;
}

EngineStats engine_stats(const Engine *e) { return e->st; }

void engine_free(Engine *e) {
    if (!e) return;
    cache_free(e);
    disk_cache_free(&e->disk);
    if (e->backend) e->backend->destroy(e->backend);
    rt_scratch_free(&e->scratch);
    rt_device_close(e->dev);
    arena_free(&e->arena);
    free(e);
}
