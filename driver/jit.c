/* jit.c: `lispetorchc run` computes tensors with compiled kernels, through
 * the engine (engine/engine.h), with the command line's options and its
 * notes, -v lines and --time-passes phases. */
#include "driver/driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static void log_note(void *ctx, SrcLoc loc, const char *msg) { drv_note_line(ctx, loc, "%s", msg); }
static void log_verbose(void *ctx, const char *msg) { drv_verbose(ctx, "%s", msg); }
static void log_phase(void *ctx, const char *phase, double start) { drv_phase(ctx, phase, start); }
static void log_jit(void *ctx, const char *msg) {
    Driver *d = ctx;
    fprintf(d->err, "lispetorchc: jit: %s\n", msg);
}
static void log_warning(void *ctx, const char *msg) { drv_warning(ctx, "%s", msg); }

/* (jit_stats): the engine's counters */
static int jit_stats(void *ctx, JitStat *out, int max) {
    Driver *d = ctx;
    if (!d->engine) return 0;
    EngineStats s = engine_stats(d->engine);
    static const char *const names[] = {JIT_STAT_NAMES};
    double vals[] = {s.compiled, s.disk_hits, s.hits, s.small + s.fallbacks, s.fallbacks,
                     s.calls, s.calls_compiled, s.calls_eager, s.plan_ms + s.codegen_ms + s.load_ms};
    _Static_assert(sizeof vals / sizeof *vals == sizeof names / sizeof *names, "one value per JIT_STAT_NAMES");
    int n = 0;
    for (size_t i = 0; i < sizeof vals / sizeof *vals && n < max; i++) out[n++] = (JitStat){names[i], vals[i]};
    return n;
}

/* (jit_compile 'f "m.so" args...): the call traced as an entry (with the
 * command line's tracing options) and compiled as `-o` would. */
static int jit_compile(void *ctx, Interp *I, EntryCall *call, const char *path, LtcDiag *diag) {
    Driver *d = ctx;
    Graph *g = NULL;
    TraceOptions topts = {0};
    const char *name = call->fn->name ? call->fn->name : "entry";
    drv_verbose(d, "jit_compile: tracing '%s'...", name);
    if (trace_entry(I, call, name, &topts, &g) != 0) {
        *diag = I->diag;
        memset(&I->diag, 0, sizeof I->diag);
        return -1;
    }
    StrBuf text = {0};
    int rc = driver_codegen(d, I, &g, 1, "so", path, &text, diag);
    sb_free(&text);
    if (rc == 0) drv_verbose(d, "jit_compile: '%s' -> '%s' (written when the run succeeds)", name, path);
    return rc;
}

int jit_attach(Driver *d, Interp *I) {
    Graph *eager = I->eager;
    EngineOptions o = {.target = d->o.target, .strict = d->o.strict, .no_disk_cache = d->o.no_cache};
    driver_backend_options(d, &o.backend);
    EngineLog log = {d, log_note, log_verbose, log_phase, drv_log_jit(d) ? log_jit : NULL, log_warning};
    LtcDiag diag;
    memset(&diag, 0, sizeof diag);
    if (!(d->engine = engine_new(&o, &log, &diag))) {
        drv_error(d, "%s", diag.msg[0] ? diag.msg : "cannot start the JIT");
        return -1;
    }
    engine_attach(d->engine, eager);
    I->jit_functions = !d->o.jit_regions_only;
    d->jit_ctl = (JitControl){d, jit_stats, jit_compile};
    I->jit_ctl = &d->jit_ctl;
    return 0;
}

void jit_detach(Driver *d, Graph *eager) {
    if (!d->engine) return;
    engine_detach(d->engine, eager);
    EngineStats s = engine_stats(d->engine);
    drv_verbose(d, "jit: %d regions compiled, %d cache hits, %d regions interpreted (%d small, %d not compilable); "
                "%d function calls, %d compiled, %d eager",
                s.compiled, s.hits, s.small + s.fallbacks, s.small, s.fallbacks, s.calls, s.calls_compiled,
                s.calls_eager);
    if (drv_log_jit(d))
        fprintf(d->err,
                "lispetorchc: jit: session: %d regions compiled, %d loaded from the disk cache, %d memory hits, "
                "%d interpreted; %d function calls (%d compiled, %d eager); compile-side %.1f ms (plans and keys %.1f, "
                "code generation %.1f, loading %.1f)\n",
                s.compiled, s.disk_hits, s.hits, s.small + s.fallbacks, s.calls, s.calls_compiled, s.calls_eager,
                s.plan_ms + s.codegen_ms + s.load_ms, s.plan_ms, s.codegen_ms, s.load_ms);
    engine_free(d->engine);
    d->engine = NULL;
}

bool drv_log_jit(const Driver *d) {
    if (d->diag_sink) return false;      /* embedded (api/): nothing goes to stderr */
    if (d->o.verbose) return true;
    /* LTC_LOG: a comma-separated list of topics ("jit"; "all") */
    const char *v = getenv("LTC_LOG");
    for (const char *p = v; p && *p;) {
        size_t n = strcspn(p, ",");
        if ((n == 3 && strncmp(p, "jit", 3) == 0) || (n == 3 && strncmp(p, "all", 3) == 0)) return true;
        p += n;
        if (*p == ',') p++;
    }
    return false;
}
