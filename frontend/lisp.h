/* lisp.h: LispE values, the reader and the evaluator.
 *
 * Code is data: the reader turns source text into Values (lists of symbols,
 * numbers, strings), each carrying its SrcLoc, and the evaluator walks them.
 * Tensors are graph nodes (ir.h); modules (linear, layer norm, flash
 * attention...) are dictionaries of tensors with a module kind.
 *
 * Errors inside the evaluator unwind with longjmp to the session's entry
 * point (lisp_eval_file / lisp_call), which returns -1 with the diagnostic
 * filled in.  Nothing escapes a session: no exit(), no global state. */
#ifndef LTC_LISP_H
#define LTC_LISP_H

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include "ir/ir.h"

typedef struct Value Value;
typedef struct Interp Interp;

typedef enum {
    V_NIL,      /* nil, false, () as a value */
    V_TRUE,
    V_INT,      /* i; sym != 0 means a symbolic size (i is its example value) */
    V_NUM,      /* n: a double (LispE number); is_float: came from `floats` */
    V_STR,      /* s */
    V_SYM,      /* s: interned symbol name */
    V_LIST,     /* items[0..n) ; lkind says integers/floats/numbers/... */
    V_DICT,     /* string-keyed, insertion-ordered */
    V_FUNC,     /* defun / lambda */
    V_BUILTIN,
    V_TENSOR,   /* t */
    V_MODULE,   /* mod */
} VKind;

typedef enum { L_LIST, L_INTEGERS, L_FLOATS, L_NUMBERS, L_SHORTS, L_STRINGS } ListKind;

typedef struct Dict {
    const char **keys; Value **vals; int n, cap;
} Dict;

typedef struct Func {
    const char *name;           /* NULL for lambda */
    Value *params;              /* V_LIST: symbols or (sym default) lists */
    Value *body;                /* V_LIST of expressions */
    int nreq, nparams;          /* mandatory / total */
    bool is_method;             /* a class@ method: runs with its instance's fields visible */
    /* the function JIT (frontend/jit_call.c): once a call could not be
     * compiled, the function runs eagerly for the rest of the session;
     * jit_mode: (jit 'f) 1, (jit 'f false) -1, else 0 (the session's
     * default, Interp.jit_functions) */
    bool jit_eager;
    int8_t jit_mode;
} Func;

typedef struct Builtin Builtin;

/* Module kinds built by the torch library; see frontend/torch_modules.c. */
typedef enum {
    MOD_LINEAR, MOD_LAYER_NORM, MOD_EMBEDDING, MOD_FLASH_ATTENTION,
    MOD_MULTIHEAD_ATTENTION, MOD_TRANSFORMER_BLOCK, MOD_POSITIONAL_ENCODING,
    MOD_ROTARY_EMBEDDING, MOD_RMS_NORM, MOD_COUNT
} ModKind;

typedef struct Module {
    ModKind kind;
    Dict   *fields;             /* "weight", "bias", "q_proj" (V_MODULE)... */
    Dict   *renamed;            /* torch_set_param_names: own field name -> its key now (V_STR), or NULL */
    int64_t ints[8];            /* kind-specific config: embed_dim, heads... */
    double  nums[4];            /* eps, dropout... */
} Module;

struct Value {
    VKind    kind;
    SrcLoc   loc;               /* where the reader saw it (code values) */
    int64_t  i;
    Dim      sym;               /* V_INT symbolic size: monomial */
    double   n;
    bool     is_float;          /* V_NUM from a floats list (float32) */
    const char *s;
    Value  **items; int nitems, capitems; ListKind lkind;
    Dict    *dict;
    Func    *fn;
    const Builtin *bi;
    Node    *t;
    Module  *mod;
    const struct ClassDef *cls; /* V_DICT: an instance of this class@ (its fields), else NULL */
    uint32_t gc_seen;           /* the collection that last visited it (frontend/gc.c) */
    uint32_t born;              /* the function-JIT trace that made it (Interp.jit_gen), or 0 */
};

/* A built-in function.  args are evaluated; call is the calling form (for
 * locations).  min/max arity (max -1: any).  Special forms are handled by
 * the evaluator itself and are not Builtins. */
typedef Value *(*BuiltinFn)(Interp *I, Value **args, int nargs, Value *call);
struct Builtin {
    const char *name;
    int min_args, max_args;
    BuiltinFn fn;
    const char *alias;          /* second spelling (torch_add for tensor_add) or NULL */
};

/* Variables: one frame per function call plus the global frame. */
typedef struct Frame {
    const char **names; Value **vals; int n, cap;
    /* Name index over entries [0, nindexed) (open addressing, slot =
     * position + 1, the latest position of each name), built once a frame
     * holds many names (the global frame of a big script) so lookup is not
     * a scan; entries past nindexed are scanned.  nindexed = 0: none. */
    int *index; int index_cap, nindexed;
} Frame;

typedef enum { MODE_RUN, MODE_COMPILE } InterpMode;

/* Values a C function holds across a nested evaluation (an argument array
 * being filled, a result list being built): roots of the collector. */
typedef struct RootSpan { Value **p; int n; } RootSpan;

/* A top-level call of a user function with tensor arguments: an entry
 * candidate (see docs/cli.md, --entry). */
typedef struct EntryCall {
    Func  *fn;
    Value **args; int nargs;
    SrcLoc loc;
} EntryCall;

struct Interp {
    Arena    *arena;
    InterpMode mode;
    FILE     *out;              /* println goes here (NULL: silenced) */
    Frame     global;
    Frame   **stack; int depth, capstack;
    int       max_depth;        /* runaway recursion guard */
    Graph    *eager;            /* the session's eager pool */
    Graph    *trace;            /* entry being traced, or NULL */
    uint64_t  seed;
    bool      training;         /* --train: dropout active */
    /* builtins: open hash table name -> Builtin* */
    const Builtin **bt_tab; const char **bt_keys; int bt_cap;
    EntryCall *calls; int ncalls, capcalls;
    /* error unwinding */
    jmp_buf  *on_error;
    LtcDiag   diag;
    /* loop/function control (break / return) */
    int       unwinding;        /* 0, or UNWIND_BREAK / UNWIND_RETURN */
    Value    *ret_value;
    SrcFile **files; int nfiles, capfiles;
    /* class@ (frontend/class.c): the classes, and the instance whose method
     * runs (its fields are variables there; setqi sets them), or NULL */
    struct ClassDef **classes; int nclasses, capclasses;
    Value    *self;
    /* load (frontend/load.c): real paths of the files being loaded, outermost first */
    const char **loading; int nloading, caploading;
    /* limits (--max-steps, --timeout, --max-memory; 0: none), checked by
     * core_eval every few thousand steps; loop: the innermost while / loop
     * / loopcount being evaluated, named by the error */
    uint64_t  steps, max_steps, next_check;
    double    deadline_ms;      /* now_ms() past which evaluation stops */
    /* set asynchronously (the REPL's SIGINT handler): evaluation stops at
     * its next limit check with "interrupted (Ctrl-C)"; NULL: none */
    volatile sig_atomic_t *interrupt;
    double    timeout_s;        /* for the message */
    size_t    max_memory;       /* bytes of the arena plus live tensor values */
    /* No builtin writes a file (torch_save_*): for a host that evaluates
     * untrusted scripts, and the fuzz target, whose mutated scripts would
     * otherwise write wherever their paths say. */
    bool      no_file_writes;
    Value    *loop;
    /* the collector (frontend/gc.c): temporary roots, the debt of new
     * tensor bytes that starts a collection (0: the default), stress mode
     * (LTC_GC_STRESS=1: collect at every safe point with any debt), off
     * (never collect), and counters for tests (the eager pool counts the
     * bytes released, ir_force's included) */
    RootSpan *roots; int nroots, caproots;
    size_t    gc_threshold;
    bool      gc_stress, gc_off;
    uint64_t  gc_runs;
    size_t    gc_released;      /* tensor bytes the collections released */
    /* the function JIT (frontend/jit_call.c, docs/jit.md): a call of a
     * user function with tensor arguments is traced and run as one
     * compiled graph through the eager pool's call_hook.  journal: the
     * undo log of the trace running now (NULL: none); jit_gen: that
     * trace's number (Values it makes are born in it); jit_functions:
     * on (the engine's option) */
    struct Journal *journal;
    uint32_t  jit_gen;
    bool      jit_functions;
    /* what the script's jit_* builtins (jit_builtins.c) ask of the host
     * that runs the JIT (the command line's driver); NULL: no JIT */
    const struct JitControl *jit_ctl;
};

/* The host's side of the jit_* builtins.  (jit_stats)'s keys, in order
 * (the same without a JIT, all 0). */
#define JIT_STAT_NAMES "compiled", "disk_hits", "memory_hits", "interpreted", "fallbacks", \
                       "calls", "calls_compiled", "calls_eager", "compile_ms"
typedef struct JitStat { const char *name; double value; } JitStat;
typedef struct JitControl {
    void *ctx;
    /* the session's counters (at most max): how many filled */
    int (*stats)(void *ctx, JitStat *out, int max);
    /* (jit_compile 'f "model.so" args...): call traced as an entry and
     * written as a library at path (committed when the run succeeds).
     * 0, or -1 with *d */
    int (*compile)(void *ctx, Interp *I, EntryCall *call, const char *path, LtcDiag *d);
} JitControl;

enum { UNWIND_NONE, UNWIND_BREAK, UNWIND_RETURN };

/* ---- reader (frontend/reader.c) ------------------------------------------ */
/* Parse a whole file into a V_LIST of top-level forms. NULL + diag on error. */
Value *lisp_read(Arena *a, const SrcFile *f, LtcDiag *d);

/* ---- values (frontend/value.c) -------------------------------------------- */
Value *v_nil(void);
Value *v_true(void);
Value *v_bool(bool b);
Value *v_int(Interp *I, int64_t i);
Value *v_num(Interp *I, double n);
Value *v_str(Interp *I, const char *s);
Value *v_sym(Interp *I, const char *s);
Value *v_list(Interp *I, ListKind k);
void   v_push(Interp *I, Value *list, Value *item);
Value *v_dict(Interp *I);
Value *dict_get(Dict *d, const char *key);                 /* NULL if absent */
void   dict_set(Interp *I, Dict *d, const char *key, Value *v);
Value *v_tensor(Interp *I, Node *t);
Value *v_module(Interp *I, ModKind k);
bool   v_truthy(const Value *v);
const char *v_kind_name(const Value *v);
/* LispE's printed form (println): numbers, lists, dictionaries, tensors. */
void   v_print(Interp *I, Value *v, StrBuf *out, bool in_container);
/* Key stringification as LispE's dictionary does ('a -> "a", 1 -> "1"). */
const char *v_key_string(Interp *I, Value *v);

/* ---- evaluator (frontend/eval.c) -------------------------------------------- */
void   interp_init(Interp *I, Arena *a, InterpMode mode, uint64_t seed);
/* Register a table of builtins (NULL-name terminated). */
void   interp_register(Interp *I, const Builtin *table);
const Builtin *interp_builtin(Interp *I, const char *name);
/* Run a file.  Returns 0, or -1 with I->diag filled. */
int    lisp_eval_file(Interp *I, const SrcFile *f);
/* Call a function value on arguments (used by tracing). 0 / -1. */
int    lisp_call(Interp *I, Value *fn, Value **args, int nargs, Value **result);
Value *interp_global(Interp *I, const char *name);

/* Raise an error at loc: fills I->diag and longjmps.  Never returns. */
_Noreturn void lisp_fail(Interp *I, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Argument helpers for builtins: raise a clear error naming the builtin,
 * the argument position and what was expected. */
int64_t arg_int(Interp *I, Value *call, Value **args, int k);
double  arg_num(Interp *I, Value *call, Value **args, int k);
Node   *arg_tensor(Interp *I, Value *call, Value **args, int k);  /* also converts floats/integers lists */
Module *arg_module(Interp *I, Value *call, Value **args, int k, ModKind kind);
/* A shape argument (integers list or list of ints, symbolic sizes kept). */
Shape   arg_shape(Interp *I, Value *call, Value **args, int k);

/* Emit a tensor op into the current graph (trace or eager pool); raises a
 * located error if the shape rule rejects it. */
Node   *lisp_emit(Interp *I, Value *call, Op op, Node **in, int nin, const Attr *a);

/* ---- the collector (frontend/gc.c) ------------------------------------------ */
/* Root n values at p (NULL entries are skipped) until gc_unroot(I, mark)
 * with the returned mark.  An error unwinding to a session entry point
 * drops the roots pushed since. */
int    gc_root(Interp *I, Value **p, int n);
static inline void gc_unroot(Interp *I, int mark) { I->nroots = mark; }
/* Called by core_eval before evaluating the call form x while tensor
 * bytes were made since the last collection: collect when the debt is due
 * and it is safe; over --max-memory, collect and, if still over, stop with
 * the --max-memory error (the step counter's check sees other values). */
void   gc_safe_point(Interp *I, Value *x);
/* Collect now (what gc_safe_point does when due). */
void   gc_collect(Interp *I);
/* Bytes the evaluator's values take: the arena plus live tensor values. */
size_t gc_memory(const Interp *I);

/* ---- the torch library (frontend/torch_*.c) ----------------------------- */
void   torch_register(Interp *I);

/* ---- tracing (frontend/trace.c) -------------------------------------------- */
/* Trace function `fn` called with `args` (example values) into a new graph
 * named `name`: tensor arguments become INPUTs with symbolic dims (see
 * TraceOptions), the result's tensors become outputs, and every PARAM gets
 * the path the script reaches it through.  0 / -1 with I->diag. */
#define TRACE_MAX_DYNAMIC 16
typedef struct TraceOptions {
    bool static_shapes;          /* --static: no symbolic dims */
    /* --dynamic NAME:AXIS: that dim of input NAME is a sequence-like symbol
     * (shared with the symbol of the same traced size), e.g. the last dim
     * of a float [B,H,S,S] mask, which the default rule keeps constant. */
    const char *dyn_name[TRACE_MAX_DYNAMIC]; int dyn_axis[TRACE_MAX_DYNAMIC]; int ndyn;
} TraceOptions;
int    trace_entry(Interp *I, EntryCall *call, const char *name, const TraceOptions *o, Graph **out);
/* The tracing step alone (the function JIT's): the function runs on
 * symbolic INPUTs into a new graph *out and returns its LispE result in
 * *result; no outputs are added, PARAMs are named p0, p1... (their order
 * in the graph).  *targs: the arguments it ran on (a tensor argument is
 * a new Value holding its INPUT; an in-place op may have changed it).
 * 0 / -1 with I->diag. */
int    trace_call(Interp *I, EntryCall *call, const char *name, Graph **out, Value **result, Value ***targs);

/* ---- the function JIT (frontend/jit_call.c, journal.c) -------------------- */
/* A call of fn (method: the method's Func, with self; else fn is the
 * function) with n evaluated args: returns true with *result when it ran
 * compiled, false when the caller must apply fn itself (eagerly). */
bool   jit_call(Interp *I, Func *fn, Value *fnv, Value *self, Value **args, int n, Value *call, Value **result);
/* Would jit_call take this call (cheap tests: mode, state, a tensor argument)? */
bool   jit_wants(const Interp *I, const Func *fn, Value **args, int n);
/* The undo log of a function-JIT trace: every change the trace makes to
 * state that existed before it (variables of outer frames, dictionaries,
 * lists made earlier) is recorded first, and text it prints is held, so a
 * trace that fails leaves nothing behind and the function can run eagerly. */
void   journal_frame(Interp *I, Frame *f);       /* before a write to f */
void   journal_dict(Interp *I, Dict *d);                /* before a write to d */
void   journal_list(Interp *I, Value *l);               /* before a write to l */
void   journal_tensor(Interp *I, Value *t);             /* before t->t changes (an in-place op) */
/* Printed text: held while a trace runs (true), else false (print it). */
bool   journal_print(Interp *I, FILE *f, const char *s, size_t n);

#endif
