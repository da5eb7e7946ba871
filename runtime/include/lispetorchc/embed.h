/* lispetorchc/embed.h: the compiler inside a host program.
 *
 * Compile LispE source text (or a file) into a module, list its entries,
 * run them on DLPack tensors, read what the compiler said as structured
 * records, free everything.  Link libltc_embed.so (installed; CMake:
 * lispetorchc::embed) or, in the build tree, libltc_api.a (it brings the
 * compiler: LLVM and the rest, see docs/embedding.md).  Typical use:
 *
 *     ltc_diags *diags;
 *     ltc_module *m = ltc_module_compile_source(text, len, "model.lsp", NULL, &diags);
 *     for (size_t i = 0; i < ltc_diags_count(diags); i++) {
 *         const ltc_diag *g = ltc_diags_get(diags, i);
 *         fprintf(stderr, "%s:%d:%d: %s\n", g->file ? g->file : "-", g->line, g->col, g->message);
 *     }
 *     ltc_diags_free(diags);
 *     if (!m) return 1;
 *     DLTensor x = {...}, y = {...};                      // y: caller's memory
 *     if (ltc_module_run(m, "forward", &x, 1, &y, 1) != 0)
 *         fprintf(stderr, "%s\n", ltc_module_last_error(m));
 *     ltc_module_free(m);
 *
 * A compile evaluates the script as `lispetorchc model.lsp -o model.so`
 * does (println silenced), traces its entries, generates the kernels into
 * a private temporary library, and opens it with the runtime (runtime.h);
 * the temporary is removed as soon as it is open.  The weights are those
 * the script made (its random initial values, which
 * ltc_model_weights_warning says) or those of options.weights, embedded
 * in the module; ltc_module_bind_weights_file replaces them.
 *
 * Threads: there is no global mutable state but LLVM's one-time target
 * set-up; independent modules may be compiled and run from different
 * threads at once.  One module may be run from several threads (runs are
 * serialised, as ltc_model_run's).  Nothing is printed: the diagnostics
 * are records, and run errors are the module's last error.
 *
 * Stability: names and struct layouts here only grow. */
#ifndef LISPETORCHC_EMBED_H
#define LISPETORCHC_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "lispetorchc/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- diagnostics ----------------------------------------------------------- */
typedef enum { LTC_DIAG_ERROR, LTC_DIAG_WARNING, LTC_DIAG_NOTE } ltc_diag_severity;

/* One message of a compile.  file NULL (line and col 0): no place in a
 * script.  line and col are 1-based.  Strings live as long as the list. */
typedef struct ltc_diag {
    ltc_diag_severity severity;
    const char *file;
    int line, col;
    const char *message;
} ltc_diag;

typedef struct ltc_diags ltc_diags;

size_t         ltc_diags_count(const ltc_diags *d);            /* NULL: 0 */
const ltc_diag *ltc_diags_get(const ltc_diags *d, size_t i);   /* NULL if out of range */
/* The number of LTC_DIAG_ERROR records. */
size_t         ltc_diags_errors(const ltc_diags *d);
void           ltc_diags_free(ltc_diags *d);                   /* NULL is fine */

/* ---- compiling ------------------------------------------------------------- */
#define LTC_EMBED_MAX_ENTRIES 16

/* Fill with ltc_compile_options_init, then change what is needed; the
 * fields are the command line's options of the same names (docs/cli.md). */
typedef struct ltc_compile_options {
    const char *target;             /* NULL: "cpu"; "opencl", "cuda", "metal" */
    const char *dtype;              /* NULL or "f32"; "bf16", "f16" (GPU targets) */
    const char *const *entries;     /* the functions to compile; NULL: the last one */
    int nentries;                   /*   the script calls at top level with tensors */
    const char *weights;            /* a safetensors file for the parameters, or NULL */
    uint64_t seed;                  /* the script's random initial values (0) */
    int opt_level;                  /* 0..3 (2) */
    int threads;                    /* threads of the module's runs; 0: all cores */
    uint64_t max_steps;             /* evaluation limits; 0: none (as the command line) */
    double   timeout_s;
    uint64_t max_memory_mb;
    int allow_file_writes;          /* 0 (default): the script's torch_save_* fail */
} ltc_compile_options;

void ltc_compile_options_init(ltc_compile_options *o);

typedef struct ltc_module ltc_module;

/* Compile `len` bytes of LispE source; `name` is the file name the
 * diagnostics give (NULL: "<source>"); options NULL: the defaults.  The
 * module, or NULL with at least one error record.  When diags is not NULL,
 * *diags receives the list (also on success: warnings, notes), which the
 * caller frees with ltc_diags_free; it is NULL only when even the list
 * could not be allocated. */
ltc_module *ltc_module_compile_source(const char *source, size_t len, const char *name,
                                      const ltc_compile_options *options, ltc_diags **diags);
/* The same with the script read from `path` (its `load`s relative to it). */
ltc_module *ltc_module_compile_file(const char *path, const ltc_compile_options *options,
                                    ltc_diags **diags);
void ltc_module_free(ltc_module *m);                           /* NULL is fine */

/* ---- using ------------------------------------------------------------------- */
int         ltc_module_num_entries(const ltc_module *m);       /* -1 if m is NULL */
const char *ltc_module_entry_name(const ltc_module *m, int i); /* NULL if out of range */
/* The runtime's model of the module, for everything runtime.h tells of it
 * (inputs, outputs, symbols, parameters, threads).  Owned by the module:
 * never close it. */
ltc_model  *ltc_module_model(ltc_module *m);

/* ltc_model_run and ltc_model_run_alloc on the module's model: `entry`
 * NULL is the first; inputs and outputs are arrays of nin and nout
 * tensors.  0, or -1 with ltc_module_last_error. */
int ltc_module_run(ltc_module *m, const char *entry, const DLTensor *inputs, int nin,
                   DLTensor *outputs, int nout);
int ltc_module_run_alloc(ltc_module *m, const char *entry, const DLTensor *inputs, int nin,
                         DLTensor **outputs, int nout);
/* Replace the weights with a safetensors file's (names, dtypes, shapes
 * checked).  0, or -1 with ltc_module_last_error; the old ones stay. */
int ltc_module_bind_weights_file(ltc_module *m, const char *path);
/* The message of the calling thread's last failing call on m ("" if
 * none); lives until that thread's next call on m. */
const char *ltc_module_last_error(const ltc_module *m);

#ifdef __cplusplus
}
#endif
#endif
