/* backend.h: what every code generator implements (CPU/LLVM now, CUDA and
 * Metal next).  The driver and the passes only see this struct; there is no
 * `if (backend == ...)` anywhere else. */
#ifndef LTC_BACKEND_H
#define LTC_BACKEND_H

#include "plan/plan.h"

struct KernelSpec;

typedef struct BackendOptions {
    const char *cpu;        /* --cpu: "native" (default), "x86-64-v3", "sapphirerapids"... */
    const char *features;   /* --features: "+avx512f,..."; NULL = those of cpu */
    const char *gpu_arch;   /* --gpu-arch: "compute_80,sm_80,sm_90a" (cuda); NULL = the default */
    int  opt_level;         /* -O0..-O3 */
    int  threads;           /* 0 = all cores */
    bool verbose;
    bool time_passes;
} BackendOptions;

typedef struct Backend Backend;
struct Backend {
    const char *name;       /* "cpu", "cuda", "metal" */
    /* What the code is for, as the backend resolved it ("x86_64-pc-linux-gnu
     * znver4 +avx,+avx2,..."): part of the JIT cache key (engine/cache.c). */
    const char *target;
    /* The runtime device its kernels run on (runtime/devices.def): "cpu". */
    const char *device;
    void *self;

    /* Bytes every buffer base must be aligned to: a power of two, at most
     * PLAN_BUF_ALIGN (plan.h), what the memory plan and the runtime's
     * allocations guarantee; plan_build refuses a backend that needs more. */
    size_t buf_align;

    /* Can this target generate kernel s?  No: false, *why = the reason
     * ("attention head dims above 512"), which the refusal shows as "the
     * CPU backend does not generate sdpa: ...".  Called by the lowering
     * (codegen/lower_node.c) for every node, before tune. */
    bool (*supports)(Backend *b, const struct KernelSpec *s, const char **why);
    /* The target's choices for s (KernelSpec.tune): GEMM blocking and
     * panel width, attention block sizes.  Called by the lowering (the
     * step's tiling depends on them) and again by kernel_spec() for the
     * generator, so it must depend on s alone. */
    void (*tune)(Backend *b, struct KernelSpec *s);
    /* Tests only: replaces the target-neutral lowering (lower_node) with
     * the backend's own.  NULL for every real backend. */
    int  (*lower_node)(Backend *b, Plan *p, Node *n, const int *in_bufs, int out_buf,
                       PlanStep *step, LtcDiag *d);
    /* Generate code for every kernel of the plans, each from its
     * KernelSpec (codegen/kernel_spec.h: kernel_spec(p, k, b, &s)). */
    int  (*generate)(Backend *b, Plan **plans, int nplans, const BackendOptions *o, LtcDiag *d);
    /* --emit llvm / asm (text of the generated module). */
    int  (*emit_text)(Backend *b, const char *kind, StrBuf *out, LtcDiag *d);
    /* Ahead of time: a self-contained shared library at path. */
    int  (*emit_library)(Backend *b, Plan **plans, int nplans, const char *path,
                         const void *weights, size_t weights_len, LtcDiag *d);
    /* Just in time: address of generated kernel `name`.  The code of every
     * generate() since the backend was made stays loaded (one JIT per
     * backend), so names must be unique across them. */
    int  (*jit_lookup)(Backend *b, const char *name, void **fn, LtcDiag *d);
    /* Just in time through object code (the engine's disk cache,
     * engine/disk_cache.h); both NULL when the backend has none.
     * jit_emit_object: the object code of the module the last generate()
     * built, as the JIT would run it (*obj malloc'ed, the caller frees).
     * jit_add_object: load such an object into the JIT (its kernels then
     * answer jit_lookup); the engine adds the object it just emitted on a
     * miss and the stored one on a hit, so both run the same code. */
    int  (*jit_emit_object)(Backend *b, void **obj, size_t *len, LtcDiag *d);
    int  (*jit_add_object)(Backend *b, const void *obj, size_t len, LtcDiag *d);
    void (*destroy)(Backend *b);
};

/* ---- the registry (backends.def, registry.c) ------------------------------ */
typedef Backend *(*BackendNewFn)(Arena *a, const BackendOptions *o, LtcDiag *d);

#define BACKEND(name, ctor, what, dtypes) Backend *ctor(Arena *a, const BackendOptions *o, LtcDiag *d);
#include "codegen/backends.def"
#undef BACKEND

#define BACKEND_DEFAULT "cpu"

/* The backend registered as `name` (NULL: BACKEND_DEFAULT), made with o.
 * An unknown name is an error listing the registered ones, with a
 * did-you-mean. */
Backend *backend_new(const char *name, Arena *a, const BackendOptions *o, LtcDiag *d);
/* The registered names, in backends.def order (*n = count), and what
 * each targets (for --help and --version). */
const char *const *backend_names(int *n);
const char *backend_what(const char *name);
/* Whether backend `name` (NULL: the default) stores float dtype `dtype`
 * ("f32", "bf16", "f16"; backends.def's last column): --dtype. */
bool backend_stores_dtype(const char *name, const char *dtype);

#endif
