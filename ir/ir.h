/* ir.h: the graph IR.
 *
 * A Graph is a list of Nodes in topological (creation) order.  Each node is
 * one op from the op table (ops.def) applied to input nodes, with a dtype, a
 * shape and op attributes.  Shapes may be symbolic: each dimension is a
 * monomial k * s1 * s2 ... over the graph's symbols (batch, sequence...),
 * so reshapes such as [B,S,E] -> [B*S,E] stay exact.
 *
 * Two kinds of graphs exist:
 *  - the *eager pool* of a session: every tensor the script builds outside a
 *    traced entry.  Its shapes are concrete and its values are computed on
 *    demand (ir_force), so a compile never pays for values it does not need;
 *  - *traced entries*: built by calling one user function with symbolic
 *    INPUT nodes.  A node of the eager pool used by the trace becomes a
 *    PARAM node of the entry (ir_emit does this), so parameters are found
 *    without any bookkeeping in the front end.
 */
#ifndef LTC_IR_H
#define LTC_IR_H

#include "support/support.h"
#include "ir/symdef.h"

#define LTC_MAX_RANK 8
#define LTC_MAX_SYMS 32             /* symbol masks are uint32_t */

typedef enum { DT_F32, DT_F16, DT_BF16, DT_I64, DT_BOOL, DT_COUNT } DType;

const char *dtype_name(DType t);          /* "f32", "f16", "bf16", "i64", "bool" */
/* Bytes per element in memory and files (0 for no dtype).  Inline: the
 * runtime, which links no compiler code, uses the same one. */
static inline size_t dtype_size(DType t) {
    static const size_t sz[DT_COUNT] = {4, 2, 2, 8, 1};
    return (unsigned)t < DT_COUNT ? sz[t] : 0;
}
bool        dtype_is_float(DType t);

/* Interpreter storage: f32/f16/bf16 values are held as float (f16/bf16
 * rounded after each op), i64 as int64_t, bool as uint8_t. */
size_t dtype_storage_size(DType t);

/* ---- symbolic dimensions -------------------------------------------------- */
/* k * prod(symbols whose bit is set in sym).  sym == 0: the constant k. */
typedef struct Dim { int64_t k; uint32_t sym; } Dim;

static inline Dim dim_const(int64_t k) { Dim d = {k, 0}; return d; }
bool    dim_eq(Dim a, Dim b);
bool    dim_mul(Dim a, Dim b, Dim *out);          /* false if a symbol would repeat */
bool    dim_div(Dim a, Dim b, Dim *out);          /* false if not exact */

typedef struct Shape { int rank; Dim d[LTC_MAX_RANK]; } Shape;

bool    shape_eq(const Shape *a, const Shape *b);
Dim     shape_numel(const Shape *s);              /* may fail -> k = -1 */
/* "[B,S,256]" into buf, using the graph's symbol names. */
struct Graph;
const char *shape_str(const struct Graph *g, const Shape *s, char *buf, size_t n);

/* A symbol: a dimension that stays free until run time, or a size derived
 * from other symbols (ir/symdef.h: S-1, S/2, S*S...). */
typedef struct Symbol {
    const char *name;
    int64_t     example;        /* value at the traced sizes */
    SymDef      def;            /* kind SYM_FREE: bound from input shapes */
    const char *where;          /* derived: "x.lsp:12:5", the expression that made it */
} Symbol;

/* A guard: the model was specialised on dim == value (a symbolic size used
 * where it cannot stay symbolic: a comparison, a loop bound, a constant
 * that met it).  Checked at run time; `what` names the line and reason. */
typedef struct SymGuard {
    Dim d; int64_t lo, hi;      /* lo <= d <= hi; lo == hi: specialised */
    SrcLoc loc;                 /* where the script specialised it */
    const char *why;            /* "a constant 128 meets S in 'add'" */
} SymGuard;

/* ---- ops ------------------------------------------------------------------ */
typedef enum {
#define OP(e, name, mn, mx, shp, ker, fl, ex) OP_##e,
#include "ir/ops.def"
#undef OP
    OP_COUNT
} Op;

enum {
    OPF_SOURCE      = 1 << 0,   /* no inputs */
    OPF_ELEMENTWISE = 1 << 1,
    OPF_COMMUTATIVE = 1 << 2,
    OPF_ACTIVATION  = 1 << 3,   /* may be fused as a GEMM epilogue */
    OPF_NORM        = 1 << 4,
    OPF_GEMM        = 1 << 5,
    OPF_LAYOUT      = 1 << 6,   /* moves data, no arithmetic */
    OPF_ATTENTION   = 1 << 7,
    OPF_RANDOM      = 1 << 8,   /* value depends on attr.seed */
    OPF_FUSED       = 1 << 9,   /* made by a fusion pass */
};

/* Op attributes: one flat struct (no unions), fields used per ops.def. */
typedef struct Attr {
    double   f, f2;             /* scalar operand, fill value, clamp bounds */
    double   lo, hi;            /* random ranges / arange start, step */
    double   eps;               /* norms */
    double   scale;             /* sdpa: 0 means 1/sqrt(D) */
    double   p;                 /* dropout probability */
    int64_t  i;                 /* triu diagonal; ADD_NORM: which norm; SDPA: query heads
                                 * per key/value head (grouped-query attention; 0 or 1: none) */
    int      axis;              /* normalised to 0..rank-1 */
    bool     keepdim, causal, training;
    int      flags;             /* op-specific bits */
    int      act;               /* FUSED_LINEAR activation op, 0 = none */
    int      perm[LTC_MAX_RANK];
    Shape    shape;             /* sources, reshape, expand */
    Dim      start, end;        /* slice */
    int64_t  step;              /* slice */
    uint64_t seed;              /* random ops, dropout */
    DType    dtype;             /* sources, cast */
} Attr;

/* Attr.flags bits, each defined once (the ops that read them in brackets):
 * set by the frontend and the passes, read by the shape rules, the
 * interpreter and the backends. */
enum {
    NORM_W          = 1 << 0,   /* [LAYER_NORM, RMS_NORM, ADD_NORM] has a weight input */
    NORM_B          = 1 << 1,   /* [LAYER_NORM, ADD_NORM] has a bias input */
    ADDNORM_HAS_SUM = 1 << 2,   /* [ADD_NORM] an ADD_NORM_SUM companion reads the stored sum */
    LINEAR_BIAS     = 1 << 0,   /* [FUSED_LINEAR] has a bias input */
    LINEAR_RES      = 1 << 1,   /* [FUSED_LINEAR] has a residual input */
    LINEAR_RES_MUL  = 1 << 2,   /* [FUSED_LINEAR] the residual multiplies instead of adding
                                 * (SwiGLU's silu(x.Wg^T) * x.Wu^T, folded into the up GEMM) */
};

typedef struct OpInfo {
    const char *name;
    int min_in, max_in;
    int flags;
    /* element-wise ops: the per-element expression (ops.def's header has
     * the language; codegen/ew_expr.h parses it), else NULL */
    const char *expr;
} OpInfo;
extern const OpInfo op_info[OP_COUNT];

/* ---- nodes and graphs ----------------------------------------------------- */
typedef struct Node Node;
typedef struct Graph Graph;

struct Node {
    Op       op;
    int      id;                /* index in graph->nodes */
    Graph   *graph;
    DType    dtype;
    Shape    shape;
    Node   **in;                /* inputs */
    int      nin;
    Attr     a;
    const char *name;           /* INPUT/PARAM name; optional for others */
    Node    *origin;            /* PARAM: the eager node whose value it takes */
    SrcLoc   loc;               /* script position that created it */
    void    *data;              /* value (interpreter storage); NULL = not computed */
    int      nusers;            /* filled by ir_count_users */
    /* Eager pool memory (ir/eager_mem.c).  owned: data came from
     * eager_alloc and may be released; freed: the collector released the
     * value (or found the pending node unreachable): it must never be read
     * or computed again, and every reader fails with an internal error;
     * held: the collection epoch in which a Value last referred to it;
     * reached: the last epoch in which the collector found it needed;
     * released: freed after it had a value (it was computed). */
    bool     owned, freed, released;
    uint32_t held, reached;
};

struct Graph {
    Arena   *arena;
    const char *name;           /* entry name; "<eager>" for the pool */
    Node   **nodes; int nnodes, capnodes;
    Node   **inputs; int ninputs, capinputs;
    Node   **outputs; int noutputs, capoutputs;
    Node   **params; int nparams, capparams;
    Symbol   syms[LTC_MAX_SYMS]; int nsyms;
    SymGuard *guards; int nguards, capguards;
    bool     eager;             /* the session's eager pool */
    uint64_t seed;              /* session seed for random ops */
    uint64_t next_seed;         /* counter handed to each random node */
    /* Eager pool only: asked first when ir_force needs a value (the JIT of
     * `lispetorchc run`).  Returns 0 when it computed n->data, 1 to leave
     * n to the interpreter, -1 on error.  Not re-entered while it runs. */
    int    (*force_hook)(void *ctx, Node *n, LtcDiag *d);
    void    *force_ctx;
    bool     in_force_hook;
    /* Eager pool only: the function JIT's (frontend/jit_call.c), NULL: off. */
    const struct CallHook *call_hook;
    /* Eager pool only: (jit_enable false): neither hook is asked, the
     * interpreter computes everything */
    bool     jit_off;
    /* Eager pool only: values from eager_alloc (ir/eager_mem.c), which the
     * evaluator's collector may release.  live: their bytes now; debt:
     * bytes allocated or promised by new nodes since the last collection;
     * gc_epoch counts collections (0: none yet, nothing is released inside
     * ir_force); nodes with id >= gc_nnodes were made after the last one. */
    Node   **owned; int nowned, capowned;
    size_t   live, debt, peak;     /* peak: the most live bytes so far */
    size_t   released;             /* bytes released in all */
    uint32_t gc_epoch; int gc_nnodes;
};

/* The function JIT's way into the engine: run a traced call.  g has
 * symbolic INPUTs (g->inputs[i] takes the value of the eager node in[i])
 * and PARAMs whose origins are eager nodes; on 0, out[i] is a new eager
 * node holding the value of g->outputs[i].  1: not run (the hook has said
 * why in its log; the caller runs the function eagerly), -1: error in *d.
 * fn names the function, at the call's place. */
typedef struct CallHook {
    void *ctx;
    int  (*run)(void *ctx, Graph *g, Node *const *in, Node **out, const char *fn, SrcLoc at, LtcDiag *d);
    /* the call of fn at `at` runs eagerly: why (a construct that cannot be
     * traced, at its own place where); by_choice: nothing is lost (a log
     * line, not a note) */
    void (*eager)(void *ctx, const char *fn, SrcLoc at, SrcLoc where, const char *why, bool by_choice);
} CallHook;

Graph *graph_new(Arena *a, const char *name, bool eager);
int    graph_add_symbol(Graph *g, const char *name, int64_t example);  /* returns index or -1 */

/* ---- size arithmetic on symbols (ir/symbolic.c) ------------------------- */
/* a + b, a - b, a / q (exact at every size: refused at run time otherwise),
 * a * b: the result is a Dim, through a derived symbol of g where it is not
 * a monomial of g's symbols (made once per distinct expression; `loc` says
 * where, for run-time messages).  false when the expression cannot be
 * represented (out of symbols or terms, a negative example value). */
bool    dim_add(Graph *g, Dim a, Dim b, SrcLoc loc, Dim *out);
bool    dim_sub(Graph *g, Dim a, Dim b, SrcLoc loc, Dim *out);
bool    dim_divq(Graph *g, Dim a, int64_t q, SrcLoc loc, Dim *out);
bool    dim_mul_sq(Graph *g, Dim a, Dim b, Dim *out);     /* repeated symbols become squares */
/* Row-major (contiguous) strides of s in elements; repeated symbols become
 * squares of g ([B,H,S,S]: the stride of H is S^2).  false if not
 * representable.  The product past the outermost dim is not formed. */
bool    shape_strides(Graph *g, const Shape *s, Dim st[LTC_MAX_RANK]);
/* The value of d at the traced (example) sizes. */
int64_t dim_example(const Graph *g, Dim d);
/* vals[i] for every derived symbol of g from the free ones already in vals;
 * -1 with a message naming the symbol and where it comes from. */
int     graph_derive_symbols(const Graph *g, int64_t *vals, char *err, size_t n);
/* Record the guard lo <= d <= hi (deduplicated); -1 on out of memory. */
int     graph_add_guard(Graph *g, Dim d, int64_t lo, int64_t hi, SrcLoc loc, const char *why);
/* "S = 128 (x.lsp:12:5: a constant 128 meets S in 'add')", "S <= 511 (...)" */
const char *guard_str(const Graph *g, const SymGuard *gd, char *buf, size_t n);
/* 0 when every guard holds at vals, else -1 with a message. */
int     graph_check_guards(const Graph *g, const int64_t *vals, char *err, size_t n);

/* Create a node: checks arity, maps inputs from another graph to PARAMs of
 * g (tracing), runs the shape rule, appends.  On error returns NULL and
 * fills d (message names the op and the shapes involved). */
Node *ir_emit(Graph *g, Op op, Node **in, int nin, const Attr *a, SrcLoc loc, LtcDiag *d);

Node *ir_input(Graph *g, const char *name, DType t, const Shape *s, SrcLoc loc);
/* The PARAM of g that stands for eager node `origin` (made once). */
Node *ir_param_for(Graph *g, Node *origin);
void  ir_add_output(Graph *g, Node *n);
void  ir_count_users(Graph *g);

/* Shape rule table entry; also usable directly by passes. */
int   ir_infer(Node *n, LtcDiag *d);

/* ---- interpreter (the semantic oracle) ------------------------------------ */
/* Symbol values for one run: sym i has value vals[i]. */
typedef struct SymBind { int64_t vals[LTC_MAX_SYMS]; int n; } SymBind;

int64_t dim_eval(Dim d, const SymBind *b);
size_t  shape_numel_eval(const Shape *s, const SymBind *b);
void    shape_eval(const Shape *s, const SymBind *b, int64_t out[LTC_MAX_RANK]);

/* ---- eager pool memory (ir/eager_mem.c) ---------------------------------- */
/* n->data = a zeroed, 64-byte aligned buffer of `bytes`, owned by the eager
 * pool (released by eager_release or with the pool's arena).  NULL on OOM. */
void *eager_alloc(Graph *g, Node *n, size_t bytes);
/* Release an owned value: data NULL, freed set.  Not for unowned data. */
void  eager_release(Node *n);
/* n->data = data (memory of the caller's), releasing an owned old value
 * without marking n freed: weights bound over a computed value. */
void  eager_replace(Node *n, void *data);
/* n is released (or was found unreachable) and must not be read: an
 * internal error naming the node and the caller's line. */
int   eager_freed_error(const Node *n, const char *file, int line, LtcDiag *d);
#define EAGER_FREED(n, d) eager_freed_error((n), __FILE__, __LINE__, (d))
/* After the collector set n->reached = g->gc_epoch on every node it still
 * needs: release the other owned values, mark unreached pending nodes
 * freed, start a new debt.  Returns the bytes released. */
size_t eager_sweep(Graph *g);
/* Storage bytes of a node with a concrete shape (0 if symbolic). */
size_t eager_node_bytes(const Node *n);

/* Compute n->data for an eager node and everything it needs (memoised).
 * Once the collector has run, values computed on the way that no Value
 * held at the last collection are released after their last pending user
 * (a long lazy chain needs memory for a few links, not all of them). */
int   ir_force(Node *n, LtcDiag *d);
/* need[id] = 1 for n and every node of n's graph that n depends on and
 * that has no value yet (malloc'ed, caller frees); NULL + d on OOM. */
uint8_t *ir_needed(Node *n, LtcDiag *d);

/* Run a traced graph: inputs[i] is the data of g->inputs[i] (storage
 * layout), params come from their origins (forced on demand) unless
 * param_data[i] is given.  Symbols are bound from the input shapes given
 * in in_shapes.  Outputs are written to freshly allocated arena buffers in
 * out[i] with their shapes in out_shapes[i]. */
typedef struct RunArgs {
    void   **inputs;  int64_t (*in_shapes)[LTC_MAX_RANK];
    void   **param_data;                 /* may be NULL */
    void   **outputs; int64_t (*out_shapes)[LTC_MAX_RANK];
    uint64_t call;                       /* call number: dropout masks of call k (0 = first) */
} RunArgs;
int   ir_run(Graph *g, RunArgs *args, Arena *scratch, LtcDiag *d);

/* ---- printing -------------------------------------------------------------- */
void  ir_print(const Graph *g, StrBuf *out);   /* stable, diffable text */
void  ir_print_dot(const Graph *g, StrBuf *out);

/* Deterministic random numbers (Philox-4x32-10): value number `idx` of
 * stream `seed`.  Used by random sources, dropout and parameter init, so a
 * value never depends on evaluation order. */
uint32_t philox_u32(uint64_t seed, uint64_t idx);
float    philox_uniform(uint64_t seed, uint64_t idx);   /* [0,1) */
float    philox_normal(uint64_t seed, uint64_t idx);    /* N(0,1), Box-Muller */
/* The same stream at call number `call` of a compiled model (its per-call
 * counter: dropout masks change from call to call; docs/ir.md has the
 * counter layout).  call 0 is philox_u32 / philox_uniform. */
uint32_t philox_u32_at(uint64_t seed, uint64_t call, uint64_t idx);
float    philox_uniform_at(uint64_t seed, uint64_t call, uint64_t idx);

/* ---- additions by the IR area ---------------------------------------------- */
/* IEEE half and bfloat16 conversions, round-to-nearest-even (NaN stays NaN,
 * overflow gives inf).  round_to_dtype(t, x) is x rounded to t's precision
 * (identity for f32); the interpreter applies it after every op. */
uint16_t f32_to_f16(float x);
float    f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float x);
float    bf16_to_f32(uint16_t h);
float    round_to_dtype(DType t, float x);

/* Result dtype of a binary arithmetic op on a and b (bool < i64 < floats;
 * two different floats give f32). */
DType    dtype_promote(DType a, DType b);

/* Largest number of elements a tensor may have (2^40). */
#define LTC_MAX_NUMEL ((int64_t)1 << 40)

#endif
