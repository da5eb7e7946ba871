/* module.c: embed.h's modules.  A compile is the command line's
 * `lispetorchc SCRIPT -o model.so --embed-weights` run through the
 * driver's own pipeline (driver/load.c, compile.c, codegen.c) with a
 * Driver of its own, whose diagnostics go to a record list instead of
 * stderr; the library goes to a private temporary directory, is opened
 * with the runtime (ltc_model_open) and removed at once (the mapping
 * stays), so that nothing is left behind whatever becomes of the host.
 *
 * Every compile has its own Driver, arena and evaluator: nothing is
 * shared between modules but what support/tempfiles.c and LLVM's target
 * set-up (codegen/cpu/backend.c) guard themselves. */
#include "api/api_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/backend.h"
#include "driver/driver.h"

struct ltc_module {
    ltc_model *model;
};

_Static_assert(LTC_EMBED_MAX_ENTRIES == DRV_MAX_ENTRIES, "embed.h's entry limit is the driver's");

void ltc_compile_options_init(ltc_compile_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
    o->max_steps = DRV_DEFAULT_MAX_STEPS;
}

static int option_error(ltc_diags *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int option_error(ltc_diags *ds, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, msg);
    return -1;
}

/* The options as the command line's (options.c checks the same bounds). */
static int set_options(Driver *d, const ltc_compile_options *o, ltc_diags *ds) {
    Options *p = &d->o;
    p->cmd = CMD_COMPILE;
    p->embed_weights = true;        /* the module is one self-contained file */
    p->dtype = DT_F32;
    p->dtype_name = "f32";
    p->no_file_writes = !o->allow_file_writes;
    p->seed = o->seed;
    p->max_steps = o->max_steps;
    p->max_memory_mb = o->max_memory_mb;
    p->weights = o->weights;
    if (o->opt_level < 0 || o->opt_level > 3) return option_error(ds, "options: opt_level must be 0..3");
    p->opt_level = o->opt_level;
    if (o->threads < 0 || o->threads > 1024)
        return option_error(ds, "options: threads must be 0..1024 (0 = all cores)");
    p->threads = o->threads;
    if (!(o->timeout_s >= 0 && o->timeout_s <= 604800))
        return option_error(ds, "options: timeout_s must be 0..604800 seconds (0 = no limit)");
    p->timeout_s = o->timeout_s;
    if (o->max_memory_mb > (SIZE_MAX >> 20)) return option_error(ds, "options: max_memory_mb is too large");
    if (o->nentries < 0 || o->nentries > DRV_MAX_ENTRIES || (o->nentries > 0 && !o->entries))
        return option_error(ds, "options: nentries must be 0..16, with entries naming them");
    for (int i = 0; i < o->nentries; i++) {
        if (!o->entries[i] || !*o->entries[i]) return option_error(ds, "options: entries[%d] is NULL or empty", i);
        p->entries[p->nentries++] = o->entries[i];
    }
    if (o->dtype) {
        static const char *const names[] = {"f32", "bf16", "f16"};
        static const DType types[] = {DT_F32, DT_BF16, DT_F16};
        int k = 0;
        while (k < 3 && strcmp(o->dtype, names[k]) != 0) k++;
        if (k == 3) return option_error(ds, "options: unknown dtype '%s' (expected f32, bf16 or f16)", o->dtype);
        p->dtype = types[k];
        p->dtype_name = names[k];
    }
    if (o->target) {
        int n;
        const char *const *names = backend_names(&n);
        int k = 0;
        while (k < n && strcmp(o->target, names[k]) != 0) k++;
        if (k == n) return option_error(ds, "options: unknown target '%s' (lispetorchc --version lists them)", o->target);
        p->target = o->target;
    }
    if (p->dtype != DT_F32 && !backend_stores_dtype(p->target, p->dtype_name))
        return option_error(ds, "options: the %s target does not store %s data (codegen/backends.def)",
                            p->target ? p->target : BACKEND_DEFAULT, p->dtype_name);
    return 0;
}

/* The private directory the library is linked in. */
static char *temp_dir(ltc_diags *ds) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir) + sizeof "/lispetorchc-module.XXXXXX";
    char *t = malloc(n);
    if (!t) { api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "out of memory"); return NULL; }
    snprintf(t, n, "%s/lispetorchc-module.XXXXXX", dir);
    if (!mkdtemp(t)) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot create a temporary directory in '%s': %s", dir, strerror(errno));
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, msg);
        free(t);
        return NULL;
    }
    return t;
}

/* After the script ran: trace, generate, link into a temporary, open. */
static ltc_model *build_model(Driver *d, Interp *I, ltc_diags *ds) {
    Graph *graphs[DRV_MAX_ENTRIES];
    int n;
    if (drv_trace_entries(d, I, graphs, &n) != 0) return NULL;
    char *dir = temp_dir(ds);
    if (!dir) return NULL;
    char *so = arena_printf(&d->arena, "%s/model.so", dir);
    ltc_model *model = NULL;
    LtcDiag diag;
    StrBuf text = {0};
    if (!so) {
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "out of memory");
    } else if (driver_codegen(d, I, graphs, n, "so", so, &text, &diag) != 0) {
        drv_diag(d, &diag);
        outputs_abort(d);
    } else if (outputs_commit(d, &diag) != 0) {
        drv_diag(d, &diag);
        outputs_abort(d);
    } else {
        ltc_error err;
        model = ltc_model_open(so, &err);
        if (!model) api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, err.message);
        if (unlink(so) != 0 && errno != ENOENT) {
            char msg[600];
            snprintf(msg, sizeof msg, "cannot remove the temporary '%s': %s", so, strerror(errno));
            api_diags_add(ds, LTC_DIAG_WARNING, NULL, 0, 0, msg);
        }
    }
    sb_free(&text);
    if (rmdir(dir) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "cannot remove the temporary directory '%s': %s", dir, strerror(errno));
        api_diags_add(ds, LTC_DIAG_WARNING, NULL, 0, 0, msg);
    }
    free(dir);
    return model;
}

/* path: read the script from it; else `source` (len bytes) named `name`. */
static ltc_module *compile(const char *path, const char *source, size_t len, const char *name,
                           const ltc_compile_options *options, ltc_diags **diags) {
    ltc_diags *ds = api_diags_new();
    if (diags) *diags = ds;
    ltc_compile_options defaults;
    if (!options) {
        ltc_compile_options_init(&defaults);
        options = &defaults;
    }
    Driver *d = calloc(1, sizeof *d);
    Interp *I = calloc(1, sizeof *I);
    ltc_module *m = calloc(1, sizeof *m);
    if (!d || !I || !m) {
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "out of memory");
        goto fail_early;
    }
    d->err = stderr;                /* never written: the sink takes every message and -v is off */
    d->diag_sink = api_diag_sink;
    d->diag_ctx = ds;
    d->library_shown = "the module";
    if (set_options(d, options, ds) != 0) goto fail_early;
    arena_init(&d->arena);

    SrcFile *src = arena_alloc(&d->arena, sizeof *src);
    LtcDiag diag;
    if (!src) {
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "out of memory");
        goto fail;
    }
    if (path) {
        d->o.input = path;
        if (read_file(&d->arena, path, src, &diag) != 0) { drv_diag(d, &diag); goto fail; }
    } else {
        char *text = len < SIZE_MAX ? arena_alloc_big(&d->arena, len + 1) : NULL;
        src->name = arena_strdup(&d->arena, name ? name : "<source>");
        if (!text || !src->name) {
            api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "out of memory copying the source text");
            goto fail;
        }
        if (len) memcpy(text, source, len);
        text[len] = 0;
        src->text = text;
        src->len = len;
        d->o.input = src->name;
    }
    if (drv_eval_source(d, I, MODE_COMPILE, NULL, src) != 0) goto fail;
    if (!(m->model = build_model(d, I, ds))) goto fail;
    if (options->threads > 0 && ltc_set_num_threads(m->model, options->threads) != 0) {
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, ltc_last_error(m->model)->message);
        goto fail;
    }
    arena_free(&d->arena);
    free(I);
    free(d);
    if (!diags) ltc_diags_free(ds);
    return m;
fail:
    arena_free(&d->arena);
fail_early:
    if (m) ltc_model_close(m->model);
    free(m);
    free(I);
    free(d);
    if (!diags) ltc_diags_free(ds);
    return NULL;
}

ltc_module *ltc_module_compile_source(const char *source, size_t len, const char *name,
                                      const ltc_compile_options *options, ltc_diags **diags) {
    if (!source && len) {
        ltc_diags *ds = api_diags_new();
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "ltc_module_compile_source: source is NULL");
        if (diags) *diags = ds;
        else ltc_diags_free(ds);
        return NULL;
    }
    return compile(NULL, source ? source : "", len, name, options, diags);
}

ltc_module *ltc_module_compile_file(const char *path, const ltc_compile_options *options, ltc_diags **diags) {
    if (!path) {
        ltc_diags *ds = api_diags_new();
        api_diags_add(ds, LTC_DIAG_ERROR, NULL, 0, 0, "ltc_module_compile_file: path is NULL");
        if (diags) *diags = ds;
        else ltc_diags_free(ds);
        return NULL;
    }
    return compile(path, NULL, 0, NULL, options, diags);
}

void ltc_module_free(ltc_module *m) {
    if (!m) return;
    ltc_model_close(m->model);
    free(m);
}

int ltc_module_num_entries(const ltc_module *m) { return m ? ltc_model_num_entries(m->model) : -1; }

const char *ltc_module_entry_name(const ltc_module *m, int i) { return m ? ltc_model_entry_name(m->model, i) : NULL; }

ltc_model *ltc_module_model(ltc_module *m) { return m ? m->model : NULL; }

int ltc_module_run(ltc_module *m, const char *entry, const DLTensor *inputs, int nin, DLTensor *outputs, int nout) {
    return m ? ltc_model_run(m->model, entry, inputs, nin, outputs, nout) : -1;
}

int ltc_module_run_alloc(ltc_module *m, const char *entry, const DLTensor *inputs, int nin, DLTensor **outputs,
                         int nout) {
    if (!m) {
        for (int i = 0; outputs && i < nout; i++) outputs[i] = NULL;
        return -1;
    }
    return ltc_model_run_alloc(m->model, entry, inputs, nin, outputs, nout);
}

int ltc_module_bind_weights_file(ltc_module *m, const char *path) {
    return m ? ltc_model_bind_weights_file(m->model, path) : -1;
}

const char *ltc_module_last_error(const ltc_module *m) {
    if (!m) return "the module is NULL";
    const ltc_error *e = ltc_last_error(m->model);
    return e->code == LTC_OK ? "" : e->message;
}
