/* engine_internal.h: the engine's parts (engine.c: the force hook and its
 * life cycle; region.c: which nodes a value needs and their graph;
 * cache.c: keys and compiled entries). */
#ifndef LTC_ENGINE_INTERNAL_H
#define LTC_ENGINE_INTERNAL_H

#include "engine/engine.h"
#include "codegen/lower.h"
#include "engine/disk_cache.h"
#include "runtime/rt_internal.h"

/* Why a region runs in the interpreter: the op (NULL when no single op is
 * to blame), its place in the script and the reason. */
typedef struct Fallback {
    const char *op;
    SrcLoc      loc;
    const char *why;
} Fallback;

/* A compiled region, or one whose code generation failed (then fb says
 * why, and the region is not compiled again). */
typedef struct Entry {
    uint64_t   hash;
    char      *key; size_t keylen;      /* the full key (cache.c), compared on a hit */
    bool       compiled;
    Plan      *plan;
    RtProgram  prog;
    Fallback   fb;
    struct Entry *next;
} Entry;

/* A (place, reason) already noted: a loop gets one line, not one a turn. */
typedef struct Noted {
    SrcLoc loc;
    const char *why;
    struct Noted *next;
} Noted;

struct Engine {
    EngineOptions o;
    EngineLog     log;
    Arena         arena;
    Backend      *backend;      /* one for the session: one LLVM context and JIT */
    const char   *no_backend;   /* why there is none (every region falls back) */
    char         *target_key;   /* version, backend, target: the key's prefix */
    Entry        *cache;
    Noted        *noted;
    RtDevice     *dev;          /* where the regions run: the backend's device */
    RtScratch     scratch;
    EngineStats   st;
    DiskCache     disk;         /* off: disk.dir NULL (disk.off_why or disk_off say why) */
    const char   *disk_off;     /* why the disk cache went off during the session */
    bool          warned;       /* the session's one warning was given */
    CallHook      call_hook;    /* the function JIT's (call.c), ctx = this engine */
    Graph        *eager;        /* the pool attached (where calls put their results) */
};

void engine_verbose(Engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A LTC_LOG=jit line about the region forced at loc. */
void engine_jit_log(Engine *e, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A failed compile as a fallback's reason: the op the backend refused
 * (li), else the diagnostic at its place or the region's target's. */
Fallback engine_failed(Engine *e, const LowerInfo *li, const LtcDiag *why, SrcLoc at);
/* A graph that cannot be compiled: an error with strict (-1), else a note
 * (once per place and reason) and the interpreter computes it (1). */
int engine_fall_back(Engine *e, const Fallback *fb, int nnodes, LtcDiag *d);
/* --time-passes: phase took now - t0 */
void engine_phase(Engine *e, const char *name, double t0);
/* Passes, plan, key, then the session's cache, the disk cache or a
 * compile (engine.c): 0 with *out ready to bind and run; 1 when g is left
 * to the interpreter (logged or noted); -1 on error.  worth: g has a GEMM
 * or attention (else planned but not compiled, by choice). */
int engine_prepare(Engine *e, Graph *g, bool worth, SrcLoc loc, Entry **out, LtcDiag *d);

/* ---- call.c ------------------------------------------------------------------ */
/* The eager pool's call_hook (the function JIT, ir.h CallHook). */
int  engine_call_run(void *ctx, Graph *g, Node *const *in, Node **out, const char *fn, SrcLoc at, LtcDiag *d);
void engine_call_eager(void *ctx, const char *fn, SrcLoc at, SrcLoc where, const char *why, bool by_choice);

/* ---- code.c ------------------------------------------------------------------ */
/* Fill en (plan set, just added) with code: its kernels renamed after the
 * key, loaded from the disk cache or generated (and stored there).  0;
 * 1 with en->fb set when neither worked; -1 on error. */
int engine_code(Engine *e, Entry *en, int nnodes, SrcLoc at, LtcDiag *d);

/* ---- region.c ---------------------------------------------------------------- */
/* Nodes of target's pool that it needs and that have no value yet, in id
 * (= topological) order; sources among them (random init, fills) are
 * computed by the interpreter here.  *worth: one is a GEMM or attention.
 * *out is malloc'ed. */
int region_collect(Node *target, Node ***out, int *nout, bool *worth, LtcDiag *d);
/* The region as a graph of its own (*out), reading outside values as
 * PARAMs p0, p1...  0; 1 when a dtype is left to the interpreter (*fb
 * says which op); -1 on error. */
int region_graph(Arena *a, Node **list, int n, Node *target, Graph **out, Fallback *fb, LtcDiag *d);
/* ---- cache.c ----------------------------------------------------------------- */
/* The key of plan p: e->target_key then the serialised plan, with the
 * random steps' seed dims zeroed.  malloc'ed; -1 on error. */
int    cache_key(Engine *e, Plan *p, char **key, size_t *len, LtcDiag *d);
Entry *cache_find(Engine *e, const char *key, size_t len);
/* A new entry holding key (taken over), at the head of the cache. */
Entry *cache_add(Engine *e, char *key, size_t len, LtcDiag *d);
/* On a hit: the cached plan's seed dims become those of the plan just
 * made for this region (same key, so the same steps). */
int    cache_take_seeds(Plan *cached, const Plan *now, LtcDiag *d);
void   cache_free(Engine *e);

#endif
