/* plan.h: a graph lowered for execution, independent of the target.
 *
 * After the passes (ir/passes/), a traced entry becomes a Plan: a flat
 * list of kernel launches over buffers.  Every backend (CPU via LLVM now,
 * CUDA and Metal later) generates one function per PlanKernel, and one
 * executor (runtime/exec.c, plain C) runs the steps: it binds symbols from
 * the input shapes, evaluates sizes, lays buffers out in one arena, and
 * launches each step over its tile range on the thread pool.
 *
 * Sizes are polynomials over the entry's symbols (sums of Dim monomials),
 * so one Plan serves every batch size and sequence length.
 *
 * Kernel ABI (all backends, all kernels):
 *   void kernel(void *const *ptrs, const int64_t *dims, const float *f,
 *               int64_t tile_begin, int64_t tile_end);
 * ptrs[i] = base address of buffer step->bufs[i]; dims[i] = value of
 * step->dims[i] for i < ndims, and dims[ndims] = the call number (the
 * runtime's per-call counter, 0 for the first call: random kernels such as
 * training dropout draw philox_uniform_at(seed, call, i)); f = step->f.  A kernel processes tiles [tile_begin,
 * tile_end) of its step's `ntiles`; tiles are independent, so the
 * executor may split the range across threads. */
#ifndef LTC_PLAN_H
#define LTC_PLAN_H

#include "ir/ir.h"

#define PLAN_MAX_TERMS 8
#define PLAN_MAX_ARGS 8
#define PLAN_MAX_DIMS 20     /* flash attention uses 18 */
#define PLAN_MAX_KCONSTS 6
/* Arena slot offsets are multiples of this for every symbol value, and the
 * runtime allocates every buffer it owns (arena, packed weights) at this
 * alignment: a backend may need at most this much (Backend.buf_align). */
#define PLAN_BUF_ALIGN 64   /* per-kernel contract constants (PlanKernel.consts) */

/* sum of monomials; n == 0 is the constant 0 */
typedef struct Poly { int n; Dim t[PLAN_MAX_TERMS]; } Poly;

/* The one implementation of Poly arithmetic (plan/poly.c), shared by the
 * lowering, the backends and the runtime.  Terms are kept canonical: no
 * two with the same symbols, none with a zero coefficient. */
Poly    poly_dim(Dim d);
Poly    poly_const(int64_t k);
bool    poly_add(Poly *p, Dim d);            /* false if too many terms */
bool    poly_add_poly(Poly *p, const Poly *q);
/* Value at these symbol values; false when a product or the sum
 * overflows int64, a coefficient is negative where only sizes are
 * expected (dim_value), or a symbol's value is negative. */
bool    dim_value(Dim d, const int64_t *symvals, int64_t *out);
bool    poly_value(const Poly *p, const int64_t *symvals, int64_t *out);
/* the same where terms may be negative (a limit's value: "T - S") */
bool    poly_value_signed(const Poly *p, const int64_t *symvals, int64_t *out);
/* poly_value for printing and tests: INT64_MAX when it overflows. */
int64_t poly_eval(const Poly *p, const int64_t *symvals);

typedef enum {
    BUF_INPUT,      /* index = entry input number */
    BUF_OUTPUT,     /* index = entry output number */
    BUF_PARAM,      /* index = parameter number (plan->params) */
    BUF_PACKED,     /* index = packed-parameter number: made once at bind time */
    BUF_ARENA,      /* at `offset` bytes in the run's scratch arena */
} BufKind;

typedef struct PlanBuf {
    BufKind kind;
    int     index;
    Poly    offset;         /* BUF_ARENA: byte offset (64-byte aligned) */
    Poly    bytes;          /* size in bytes */
    const char *what;       /* for --emit plan: the node it holds ("%12 linear") */
} PlanBuf;

/* One generated kernel (one LLVM function, one CUDA kernel...). */
typedef struct PlanKernel {
    const char *name;       /* symbol name, unique in the plan: "k3_fused_linear" */
    const char *family;     /* "gemm", "flash_attention", "add_norm", "eltwise", ... */
    Node       *node;       /* the graph node it implements (attrs, shapes) */
    /* Compile-time constants the generator specialises on (head dim,
     * causal, activation...) are read from node->a and constant dims.
     * Those that decide which memory the code touches (element sizes, a
     * GEMM's panel width, attention's head dims...) are also recorded
     * here, by the lowering, for the runtime's kernel contract
     * (plan/kernel_families.def: the meaning of each is per family). */
    int         nconsts;
    int64_t     consts[PLAN_MAX_KCONSTS];
} PlanKernel;

typedef struct PlanStep {
    int   kernel;                   /* index into plan->kernels */
    int   nbufs;  int bufs[PLAN_MAX_ARGS];
    int   ndims;  Poly dims[PLAN_MAX_DIMS];
    float f[4];
    Poly  ntiles;                   /* parallel range */
    /* Lowering only (not serialised): a node whose operands do not fit
     * one step's PLAN_MAX_ARGS buffers / PLAN_MAX_DIMS dims (a cat of
     * many tensors) is lowered as `nparts` consecutive steps writing
     * disjoint parts of its output.  plan_build asks for part 0, then,
     * when the backend sets nparts > 1, for parts 1..nparts-1. */
    int   part, nparts;
    /* Lowering only (not serialised): per node id of the graph being
     * lowered, whether its value is made once at bind time (a parameter,
     * or computed from parameters alone in Plan.prepack).  codegen/lower.c
     * decides it, once; a backend reads it (a GEMM packs such a weight
     * once) and records what it decided in its kernel's constants. */
    const bool *bind_const;
    /* In-process only (not serialised): a random kernel (training
     * dropout) reads its Philox key from dims[seed_dim] (low 32 bits) and
     * dims[seed_dim + 1] (high 32 bits); 0 = no key in dims.  The JIT
     * rewrites those two constants to reuse a compiled region for a region
     * of the same structure with other seeds. */
    int   seed_dim;
} PlanStep;

typedef struct PlanTensor {          /* an entry input, output or parameter */
    const char *name;
    DType dtype;
    Shape shape;                    /* symbolic */
} PlanTensor;

/* A run-time check on the symbols: value(symbols) <= max.  Lowering
 * relies on bounds that the traced shapes do not guarantee for every
 * symbol value, e.g. a slice pe[:S] of a constant [512,1,64] buffer (an
 * alias into it, or a copy reading rows 0..S-1) needs S <= 512.  value
 * holds symbolic terms only (constants are folded into max) and may have
 * negative coefficients ("T - S <= 0" for x[:T] of a [S,..] tensor). */
typedef struct PlanLimit {
    Poly        value;
    int64_t     max;
    const char *what;   /* where the bound comes from, for a user:
                         * "slice of the [512,1,64] buffer 'pe.pe' at x.lsp:12" */
} PlanLimit;

/* A run-time check on the values of an i64 entry input that feeds an
 * embedding's ids (directly or through reshapes/permutes): every value
 * must lie in [0, num).  The CPU embedding kernel cannot report an error
 * and writes a zero row for an id out of range; the interpreter refuses
 * it.  Ids computed inside the graph are not checked (the kernel writes
 * zeros for them). */
typedef struct PlanIdCheck {
    int         input;  /* entry input number (dtype i64) */
    int64_t     num;    /* rows of the table */
    const char *what;   /* "the embedding table 'gpt.tok_emb' [50000,64]" */
} PlanIdCheck;

typedef struct Plan {
    Graph      *graph;
    PlanTensor *inputs;  int ninputs;
    PlanTensor *outputs; int noutputs;
    PlanTensor *params;  int nparams;
    PlanBuf    *bufs;    int nbufs;
    PlanKernel *kernels; int nkernels;
    PlanStep   *prepack; int nprepack;  /* run once when weights are bound */
    PlanStep   *steps;   int nsteps;    /* run per call */
    Poly        arena_bytes;             /* peak scratch */
    PlanBuf    *packed;  int npacked;    /* BUF_PACKED sizes (constant) */
    PlanLimit  *limits;  int nlimits;    /* checked once the symbols are bound */
    PlanIdCheck *idchecks; int nidchecks; /* checked before any kernel runs */
    /* While a plan is built (not serialised): the allocated lengths of the
     * arrays above, which grow through plan_grow. */
    int cap_bufs, cap_kernels, cap_steps, cap_prepack, cap_packed, cap_limits, cap_idchecks;
} Plan;

/* Room for element n of an array of a plan being built (n in use, *cap
 * allocated; an array made elsewhere counts as full): returns old when it
 * has room, else a copy twice as long in a (the arena frees nothing, so
 * growing one element at a time would cost the square of the final size:
 * 1.5 GB for a 1000-step region).  NULL when out of memory or the size
 * overflows. */
void *plan_grow(Arena *a, void *old, int n, int *cap, size_t elt);

/* The concrete dims of t at these symbol values (plan/poly.c): 0, or -1
 * when one overflows or the rank is out of range. */
int plan_tensor_dims(const PlanTensor *t, const int64_t *symvals, int64_t out[LTC_MAX_RANK]);

/* Limits, implemented in plan/limits.c.  plan_limit_rule writes the bound as a user reads it:
 * "S <= 512", "S >= 4", "T <= S + 1".  plan_check_limits returns 0 when
 * every limit holds for symvals, else -1 with a message naming the bound
 * and the actual values: "input sizes give S=600, but the model was built
 * for S <= 512 (slice of the [512,1,64] buffer 'pe.pe' at x.lsp:12)". */
const char *plan_limit_rule(const Plan *p, const PlanLimit *l, char *buf, size_t n);
int         plan_check_limits(const Plan *p, const int64_t *symvals, char *err, size_t n);

/* Id checks, implemented in plan/limits.c.  inputs[i] is the contiguous
 * data of entry input i at the shape its PlanTensor gives at symvals.
 * Returns 0 when every checked value is in range, else -1 with a message:
 * "input 'ids': value 50257 at [0,3] is out of range for the embedding
 * table 'gpt.tok_emb' [50000,64] (ids must be in [0, 50000))". */
int         plan_check_ids(const Plan *p, const int64_t *symvals, void *const *inputs, char *err, size_t n);

#endif
