/* engine.h: compiled kernels for a running script (`lispetorchc run`).
 *
 * The engine attaches to a session's eager pool (ir.h: force_hook).  When
 * the script needs a value, the engine takes the region of pending nodes
 * the value depends on, copies it into a graph of its own (every computed
 * value it reads becomes a PARAM p0, p1..., in the order the region reads
 * them), and sends it through the same pipeline as `-o model.so` — passes,
 * plan, backend — but into one JIT for the whole session, and runs it with
 * the runtime's executor in this process.
 *
 * Compiled regions are cached.  The key is the region's serialised plan
 * with the compiler version and build, backend, triple, CPU and features, compared
 * in full on a hit (region.c, cache.c): two regions share code only when
 * they would generate the same kernels.  Dropout seeds are not part of
 * the key (they are kernel data, rewritten on a hit) unless two random
 * nodes of a region share one.
 *
 * Regions without a GEMM or attention are left to the interpreter by
 * choice (compiling costs more than it saves): they are still planned, so
 * an op the backend cannot generate is found there too.  A region the
 * engine cannot compile is a *fallback*: the interpreter computes it and
 * the log's note names the op, its place and the reason, once per place
 * and reason; with `strict` it is an error.
 *
 * Compiled code also persists across processes (disk_cache.h): a region
 * missing the session's cache is looked up on disk by the same key; the
 * miss path emits the region's object code, loads it into the JIT and
 * stores it, the hit path loads the stored object, so both run the same
 * code.  The directory comes from the environment (LTC_CACHE_DIR...,
 * disk_cache_init); EngineOptions.no_disk_cache turns it off.
 *
 * Designed for what comes next (the C embedding API): the engine knows
 * nothing of the command line; options come in a struct, messages go out
 * through a log of callbacks. */
#ifndef LTC_ENGINE_H
#define LTC_ENGINE_H

#include "codegen/backend.h"

typedef struct EngineOptions {
    const char    *target;      /* backend name (codegen/backends.def); NULL: the default */
    BackendOptions backend;     /* cpu, features, opt level, threads */
    bool           strict;      /* a region that cannot be compiled is an error */
    bool           no_disk_cache;   /* --no-cache: compile every region of the session */
    bool           no_functions;    /* --jit=regions: no function JIT, regions only */
} EngineOptions;

/* Where the engine's messages go; any callback may be NULL. */
typedef struct EngineLog {
    void *ctx;
    /* a fallback: "running 'cumsum' in the interpreter: <why>", at loc */
    void (*note)(void *ctx, SrcLoc loc, const char *msg);
    /* -v progress */
    void (*verbose)(void *ctx, const char *msg);
    /* --time-passes: `phase` took now - start_ms */
    void (*phase)(void *ctx, const char *phase, double start_ms);
    /* LTC_LOG=jit: one line per region ("FILE:L:C: disk hit (...)"); see
     * docs/cli.md for the lines.  NULL: not logged (and not formatted). */
    void (*jit)(void *ctx, const char *msg);
    /* a problem that changes nothing computed (the disk cache cannot be
     * written): said once per session */
    void (*warning)(void *ctx, const char *msg);
} EngineLog;

typedef struct EngineStats {
    int compiled;       /* regions compiled (missing both caches) */
    int disk_hits;      /* regions loaded from the disk cache */
    int hits;           /* runs of a region compiled or loaded earlier in the session */
    int small;          /* regions interpreted by choice (no GEMM/attention) */
    int fallbacks;      /* regions that could not be compiled */
    int calls;          /* calls of functions with tensor arguments the function JIT saw */
    int calls_compiled; /* ...that ran compiled */
    int calls_eager;    /* ...that ran eagerly (could not be traced or compiled, or by choice) */
    double plan_ms;     /* compile-side time: passes, plans and keys of every region */
    double codegen_ms;  /* generating and emitting object code (misses) */
    double load_ms;     /* reading the disk cache, loading objects into the JIT, binding */
} EngineStats;

typedef struct Engine Engine;

/* NULL when out of memory or the thread pool cannot start (*d says). */
Engine     *engine_new(const EngineOptions *o, const EngineLog *log, LtcDiag *d);
/* Compile the pool's values from now on (sets eager->force_hook, and
 * eager->call_hook unless no_functions). */
void        engine_attach(Engine *e, Graph *eager);
void        engine_detach(Engine *e, Graph *eager);
EngineStats engine_stats(const Engine *e);
void        engine_free(Engine *e);

/* The disk cache key of a model.so made from plans (driver/library_cache.c):
 * head (the compiler's build, backend, target and options, as the caller
 * writes them), every kernel's node attributes and the serialised plans,
 * seeds and example sizes included.  *key is malloc'ed.  0, or -1 (d). */
int engine_library_key(const char *head, Plan **plans, int nplans, char **key, size_t *len, LtcDiag *d);

#endif
