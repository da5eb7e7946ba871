/* jit.c: `lispetorchc run` computes tensors with compiled kernels, through
 * the engine (engine/engine.h), with the command line's options and its
 * notes, -v lines and --time-passes phases. */
#include "driver/driver.h"

#include <string.h>

#include "engine/engine.h"

static void log_note(void *ctx, SrcLoc loc, const char *msg) { drv_note_line(ctx, loc, "%s", msg); }
static void log_verbose(void *ctx, const char *msg) { drv_verbose(ctx, "%s", msg); }
static void log_phase(void *ctx, const char *phase, double start) { drv_phase(ctx, phase, start); }

int jit_attach(Driver *d, Graph *eager) {
    EngineOptions o = {.target = d->o.target, .strict = d->o.strict};
    driver_backend_options(d, &o.backend);
    EngineLog log = {d, log_note, log_verbose, log_phase};
    LtcDiag diag;
    memset(&diag, 0, sizeof diag);
    if (!(d->engine = engine_new(&o, &log, &diag))) {
        drv_error(d, "%s", diag.msg[0] ? diag.msg : "cannot start the JIT");
        return -1;
    }
    engine_attach(d->engine, eager);
    return 0;
}

void jit_detach(Driver *d, Graph *eager) {
    if (!d->engine) return;
    engine_detach(d->engine, eager);
    EngineStats s = engine_stats(d->engine);
    drv_verbose(d, "jit: %d regions compiled, %d cache hits, %d regions interpreted (%d small, %d not compilable)",
                s.compiled, s.hits, s.small + s.fallbacks, s.small, s.fallbacks);
    engine_free(d->engine);
    d->engine = NULL;
}
