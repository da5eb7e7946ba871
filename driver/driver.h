/* driver.h: the `lispetorchc` command line (the files of driver/).
 *
 *   main.c      entry point: parse options, dispatch, exit status
 *   load.c      a script read and evaluated with the session's options
 *   options.c   option table, parsing, --help, --version, did-you-mean
 *   compile.c   `lispetorchc model.lsp`: evaluate, pick entries, trace, emit
 *   run.c       `lispetorchc run script.lsp`: evaluate with println
 *   stdin_source.c  `run -`: the script read from standard input
 *   repl.c      `lispetorchc repl`: the interactive session
 *   line_input.c    the REPL's line reader (GNU readline or plain) and history
 *   weights.c   --save-weights / --weights / --save-tensors (safetensors)
 *   run_weights.c  run --weights: bind a file as the script's values are computed
 *   outputs.c   every output staged as a temporary, renamed into place at the end
 *   cache_cmd.c `lispetorchc cache`: show, prune and clear the disk cache
 *   depfile.c   --depfile: the Make rule of a compile's inputs
 *
 * Exit status: 0 ok, 1 error in the script or its files, 2 usage error. */
#ifndef LTC_DRIVER_H
#define LTC_DRIVER_H

#include <stdio.h>

#include "engine/disk_cache.h"
#include "frontend/lisp.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

#define DRV_MAX_ENTRIES 16

typedef enum { CMD_COMPILE, CMD_RUN, CMD_REPL, CMD_CACHE } Command;

typedef struct Options {
    Command cmd;
    const char *input;              /* the script */
    const char *output;             /* -o; NULL: default; "-": stdout */
    const char *emit;               /* --emit KIND or NULL */
    const char *entries[DRV_MAX_ENTRIES]; int nentries;  /* --entry */
    const char *save_weights;       /* --save-weights F */
    const char *weights;            /* --weights F */
    const char *save_tensors;       /* run --save-tensors F */
    uint64_t seed;                  /* --seed N (default 0) */
    int  opt_level;                 /* -O0..-O3 (default 2) */
    bool static_shapes;             /* --static */
    const char *dyn_name[16]; int dyn_axis[16]; int ndyn;   /* --dynamic NAME:AXIS */
    char dyn_buf[16][64];
    bool training;                  /* --train */
    bool interpret;                 /* run --interpret */
    bool strict;                    /* run --strict: a JIT fallback is an error */
    bool no_cache;                  /* run --no-cache: the disk cache is off */
    bool jit_regions_only;          /* run --jit=regions: no function JIT */
    const char *cache_action;       /* cache: "show", "prune", "clear" */
    bool cache_max_set; uint64_t cache_max;   /* cache prune --max BYTES */
    bool verbose;                   /* -v */
    bool time_passes;               /* --time-passes */
    bool color;                     /* resolved from --color and the tty */
    bool help, version;
    /* code generation (backend.h, passes.h) */
    const char *no_fuse[DRV_MAX_ENTRIES]; int nno_fuse;   /* --no-fuse=PASS */
    const char *dump_after;         /* --dump-after=PASS */
    const char *target;             /* --target NAME (codegen/backends.def); NULL: BACKEND_DEFAULT */
    const char *cpu, *features;     /* --cpu, --features */
    const char *gpu_arch;           /* --gpu-arch (cuda) */
    DType dtype;                    /* --dtype (default DT_F32): ir/passes/dtype.c */
    const char *dtype_name;         /* its spelling, for messages */
    bool embed_weights;             /* --embed-weights */
    bool check;                     /* --check: trace and plan, write nothing */
    const char *depfile;            /* --depfile FILE: a Make rule of the output's inputs */
    int  threads;                   /* --threads (0 = all cores) */
    /* evaluation limits (0: none): a runaway script ends with an error */
    uint64_t max_steps;             /* --max-steps (default DRV_DEFAULT_MAX_STEPS) */
    double   timeout_s;             /* --timeout SECONDS */
    uint64_t max_memory_mb;         /* --max-memory MB */
    bool no_file_writes;            /* no builtin writes files (the embedding API's default) */
} Options;

/* A step is one evaluated call; real scripts (the BERT e2e test, the
 * examples) take well under 1e7, and 1e9 is a minute or two of a tight
 * loop: a runaway script ends without stopping a legitimate long one. */
#define DRV_DEFAULT_MAX_STEPS 1000000000ull

/* One output file (outputs.c): written to tmp, renamed to final at the
 * end (or copied into a device in place). */
#define DRV_MAX_OUTPUTS 8
typedef struct Output {
    const char *shown;              /* as the user (or the default) named it */
    const char *final;              /* where it goes: a named symlink's target */
    const char *tmp;                /* what the writer writes */
    const char *inner;              /* tmp.tmp.PID: the writers' own temporary */
    bool in_place;                  /* a device or FIFO named with -o */
} Output;
typedef struct Outputs { Output v[DRV_MAX_OUTPUTS]; int n; } Outputs;

/* A session of the driver: the options, the arena and the diagnostic
 * stream.  Everything a run allocates hangs off it. */
typedef struct Driver {
    Options o;
    Arena   arena;
    FILE   *err;                    /* stderr */
    /* When set, every error, warning and note goes here instead of err
     * (the embedding API collects them as records; nothing is printed). */
    void  (*diag_sink)(void *ctx, const LtcDiag *diag);
    void   *diag_ctx;
    /* How messages name the library driver_codegen writes (NULL: its
     * path); the embedding API's is a temporary the host never sees. */
    const char *library_shown;
    struct Engine *engine;          /* run: compiled kernels (jit.c, engine/) */
    JitControl jit_ctl;             /* run: the script's jit_* builtins' host side (jit.c) */
    struct RunWeights *run_weights; /* run --weights (run_weights.c) */
    uint8_t *bound; int nbound;     /* bound[id]: eager node id's value came from --weights */
    bool wrote_random;              /* the last weights written hold random initial values */
    bool bound_random;              /* --weights named a file marked random */
    Outputs outputs;                /* staged files (outputs.c) */
    /* --time-passes */
    const char *phase_names[16]; double phase_ms[16]; int nphases;
} Driver;

/* ---- options.c ---------------------------------------------------------- */
/* Parse argv into d->o.  Returns 0, or EXIT_USAGE after printing the
 * error (with a did-you-mean for unknown options). */
int  driver_parse_args(Driver *d, int argc, char **argv);
void driver_print_help(FILE *f);
void driver_print_version(FILE *f);

/* ---- diagnostics helpers (log.c) -------------------------------------- */
void drv_error(Driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_warning(Driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_note(Driver *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The note's first line only (no source line and caret). */
void drv_note_line(Driver *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void drv_diag(Driver *d, const LtcDiag *diag);
/* -v progress line on stderr. */
void drv_verbose(Driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --time-passes: record that `phase` took ms since `start`. */
void drv_phase(Driver *d, const char *phase, double start);
void drv_print_times(Driver *d);

/* Read the script and evaluate it in `mode`.  0 or EXIT_ERROR (reported). */
int  drv_load_script(Driver *d, Interp *I, InterpMode mode, FILE *out, SrcFile *src);
/* Evaluate an already-read script (src must live as long as I). */
int  drv_eval_source(Driver *d, Interp *I, InterpMode mode, FILE *out, const SrcFile *src);
/* Start an evaluator with the command line's options (seed, limits, the
 * JIT unless --interpret, --weights); what drv_load_script runs the script
 * in.  0 or EXIT_ERROR (reported). */
int  drv_interp_start(Driver *d, Interp *I, InterpMode mode, FILE *out);
/* stdin_source.c: standard input to its end, as the SrcFile `<stdin>`.
 * 0, or -1 with diag. */
int  drv_read_stdin(Driver *d, SrcFile *out, LtcDiag *diag);

/* ---- outputs.c ------------------------------------------------------------ */
/* Check that `path` may be written (not the input script, not a directory;
 * a symlink or device only when the user named it) and return the
 * temporary to write instead, or NULL with diag.  main.c commits or
 * aborts every staged output at the end of the command. */
const char *outputs_stage(Driver *d, const char *path, LtcDiag *diag);
/* Rename every temporary into place (devices: copy).  0, or -1 with diag
 * naming what is new and what is old when a rename fails. */
int  outputs_commit(Driver *d, LtcDiag *diag);
/* Remove every temporary; the old files stay as they were. */
void outputs_abort(Driver *d);

/* ---- depfile.c ------------------------------------------------------------ */
/* Stage the Make rule `target: the script, each file it loaded, --weights`
 * at d->o.depfile (committed with the other outputs).  0, or -1 with diag. */
int  depfile_write(Driver *d, const Interp *I, const char *target, LtcDiag *diag);

/* ---- compile.c / run.c ----------------------------------------------------- */
/* After the script ran (MODE_COMPILE): pick the entries (--entry, or the
 * last top-level call), trace each into graphs[] (at most DRV_MAX_ENTRIES),
 * warn about specialised sizes, bind --weights and convert to --dtype.
 * 0, or EXIT_ERROR (reported). */
int  drv_trace_entries(Driver *d, Interp *I, Graph **graphs, int *n);
int  driver_compile(Driver *d);
int  driver_run(Driver *d);
/* repl.c: the interactive session (or forms from a non-terminal stdin). */
int  driver_repl(Driver *d);
/* line_input.c: which line reader this build has, for --help/--version. */
const char *line_input_kind(void);

/* Code generation hook: build a native artifact (kind "so", or an --emit
 * kind handled by a backend: llvm, asm, obj, fusion, plan) for the traced
 * entries.  Text kinds append to `text`; "so"/"obj" write `path`.
 * 0, or -1 with diag filled. */
int  driver_codegen(Driver *d, Interp *I, Graph **entries, int nentries,
                    const char *kind, const char *path, StrBuf *text, LtcDiag *diag);

/* ---- codegen.c ------------------------------------------------------------ */
struct BackendOptions;
void driver_backend_options(const Driver *d, struct BackendOptions *bo);
int  driver_run_passes(Driver *d, Graph **entries, int n, StrBuf *report, LtcDiag *diag);

/* ---- jit.c ---------------------------------------------------------------- */
/* `run` without --interpret: values of the eager pool are computed by
 * JIT-compiled kernels (falling back to the interpreter), by the engine.
 * attach: 0, or EXIT_ERROR reported; detach prints the -v counts and
 * frees the engine. */
int  jit_attach(Driver *d, Interp *I);
void jit_detach(Driver *d, Graph *eager);
/* The jit log is on: -v, or LTC_LOG names "jit" (or "all"). */
/* library_cache.c: -o model.so through the disk cache.  open computes the
 * key (or says why the cache is not used: lc->on false, off_why); fetch
 * writes a cached library to tmp (*hit); store puts the library just
 * written to tmp (a failure is a warning).  Every call logs with -v or
 * LTC_LOG=jit. */
typedef struct LibCache {
    bool on;
    const char *off_why;
    DiskCache disk;
    char *key;
    size_t keylen;
} LibCache;
struct Backend;
struct Plan;
int  libcache_open(Driver *d, struct Backend *b, const struct BackendOptions *bo, struct Plan **plans, int n, LibCache *lc, LtcDiag *diag);
int  libcache_fetch(Driver *d, LibCache *lc, const char *tmp, bool *hit, LtcDiag *diag);
void libcache_store(Driver *d, LibCache *lc, const char *tmp);
void libcache_close(LibCache *lc);
bool drv_log_jit(const Driver *d);

/* ---- cache_cmd.c ------------------------------------------------------------ */
/* `lispetorchc cache [show | prune [--max BYTES] | clear]`: 0 or EXIT_ERROR. */
int  driver_cache(Driver *d);

/* ---- run_weights.c ------------------------------------------------------ */
/* run --weights: bind the file's tensors into the eager pool as the script
 * makes them reachable from globals, before any value is computed.
 * attach: before evaluating (after jit_attach).  finish: after it; with
 * script_ok, checks what is left unbound and warns about unused tensors.
 * Both 0 or EXIT_ERROR (reported). */
int  run_weights_attach(Driver *d, Interp *I);
int  run_weights_finish(Driver *d, Interp *I, bool script_ok);

/* ---- weights.c ---------------------------------------------------------- */
/* Every distinct PARAM of the entries (by name) with its forced value,
 * written as safetensors, staged as an output (outputs.c).  0 / -1 with diag. */
int  weights_save(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag);
/* The same, written straight to `path` (a temporary of the caller's). */
int  weights_write(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag);
/* Replace the values of the entries' PARAM origins with the tensors of a
 * safetensors file (names, shapes and dtypes checked; extra tensors are a
 * warning).  0 / -1 with diag. */
int  weights_load(Driver *d, Graph **entries, int n, const char *path, LtcDiag *diag);
/* Eager nodes whose value a weights file set (not random, whatever made them). */
bool weights_is_bound(const Driver *d, const Node *n);
/* A --weights file marked random (lispetorchc.init): say so, and mark what
 * is written from it the same way. */
struct StFile;
void weights_note_random(Driver *d, const struct StFile *f, const char *path);
int  weights_mark_bound(Driver *d, const Node *n);     /* 0, or -1 out of memory */
/* run --save-tensors: every tensor reachable from the globals. */
int  tensors_save(Driver *d, Interp *I, const char *path, LtcDiag *diag);

#endif
