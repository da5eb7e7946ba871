/* compile.c: `lispetorchc [options] model.lsp`.
 *
 *   read -> evaluate (MODE_COMPILE: println silenced unless -v)
 *        -> pick the entries (--entry, or the last top-level call of a
 *           user function with tensor arguments)
 *        -> trace each entry into a graph
 *        -> --weights / --save-weights
 *        -> emit (ir, dot, weights) or hand over to the backend
 *           (driver_codegen: a library, llvm, asm, obj, fusion, plan). */
#include "driver/driver.h"
#include "ir/passes/passes.h"

#include <string.h>

/* ---- entry selection ------------------------------------------------------- */
/* Names of the functions the script called at top level with tensors. */
static int called_names(Interp *I, const char **names, int max) {
    int n = 0;
    for (int i = 0; i < I->ncalls; i++) {
        const char *s = I->calls[i].fn ? I->calls[i].fn->name : NULL;
        if (!s) continue;
        bool dup = false;
        for (int k = 0; k < n && !dup; k++) dup = strcmp(names[k], s) == 0;
        if (!dup && n < max) names[n++] = s;
    }
    return n;
}

/* The last top-level call of `name`, or NULL. */
static EntryCall *last_call_of(Interp *I, const char *name) {
    for (int i = I->ncalls - 1; i >= 0; i--)
        if (I->calls[i].fn && I->calls[i].fn->name && strcmp(I->calls[i].fn->name, name) == 0)
            return &I->calls[i];
    return NULL;
}

static int report_unknown_entry(Driver *d, Interp *I, const char *name) {
    const char *cands[64];
    int n = called_names(I, cands, 64);
    Value *g = interp_global(I, name);
    if (g && g->kind == V_FUNC) {
        drv_error(d, "--entry '%s': the script never calls '%s' at top level with tensor arguments", name, name);
        drv_note(d, g->loc, "'%s' is defined here; add an example call such as (%s x) after it", name, name);
        return EXIT_ERROR;
    }
    /* suggest among called entries and every global function */
    const char *all[128];
    int na = 0;
    for (int i = 0; i < n && na < 128; i++) all[na++] = cands[i];
    for (int i = 0; i < I->global.n && na < 128; i++)
        if (I->global.vals[i] && I->global.vals[i]->kind == V_FUNC) all[na++] = I->global.names[i];
    const char *hint = name_closest(name, all, na);
    if (hint) drv_error(d, "--entry '%s': no such function; did you mean '%s'?", name, hint);
    else drv_error(d, "--entry '%s': no such function in the script", name);
    if (n) {
        StrBuf b = {0};
        for (int i = 0; i < n; i++) sb_printf(&b, "%s'%s'", i ? ", " : "", cands[i]);
        drv_note(d, (SrcLoc){0}, "entry candidates: %s", b.s);
        sb_free(&b);
    }
    return EXIT_ERROR;
}

static int pick_entries(Driver *d, Interp *I, EntryCall **calls, int *ncalls) {
    *ncalls = 0;
    if (d->o.nentries == 0) {
        for (int i = I->ncalls - 1; i >= 0; i--)
            if (I->calls[i].fn && I->calls[i].fn->name) { calls[(*ncalls)++] = &I->calls[i]; break; }
        if (*ncalls == 0) {
            drv_error(d, "no entry point: '%s' calls no user function with tensor arguments at top level",
                      d->o.input);
            drv_note(d, (SrcLoc){0},
                     "end the script with an example call of the model, e.g. (transformer_forward x), "
                     "or name the function with --entry NAME");
            return EXIT_ERROR;
        }
        return 0;
    }
    for (int e = 0; e < d->o.nentries; e++) {
        bool dup = false;
        for (int k = 0; k < e && !dup; k++) dup = strcmp(d->o.entries[k], d->o.entries[e]) == 0;
        if (dup) continue;
        EntryCall *c = last_call_of(I, d->o.entries[e]);
        if (!c) return report_unknown_entry(d, I, d->o.entries[e]);
        calls[(*ncalls)++] = c;
    }
    return 0;
}

/* ---- output ----------------------------------------------------------------- */
/* Text to -o FILE (staged: outputs.c) or stdout.  /dev/stdout is stdout
 * itself: reopening it would truncate or replace a file stdout is
 * redirected to. */
static int write_text(Driver *d, const char *text, size_t len) {
    const char *out = d->o.output;
    if (!out || strcmp(out, "-") == 0 || strcmp(out, "/dev/stdout") == 0) {
        if (len && fwrite(text, 1, len, stdout) != len) {
            drv_error(d, "cannot write to standard output");
            return EXIT_ERROR;
        }
        return 0;
    }
    LtcDiag diag;
    const char *tmp = outputs_stage(d, out, &diag);
    if (!tmp || write_file_atomic(tmp, text, len, &diag) != 0) {
        drv_diag(d, &diag);
        return EXIT_ERROR;
    }
    return 0;
}

/* model.lsp -> model.so (in the current directory, like cc's a.out). */
static const char *default_output(Driver *d, const char *ext) {
    const char *base = strrchr(d->o.input, '/');
    base = base ? base + 1 : d->o.input;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return arena_printf(&d->arena, "%.*s.%s", (int)n, base, ext);
}

/* Every size the trace specialised (a guard, ir.h) is a warning at the
 * line that did it: the model is refused at other sizes. */
static void report_guards(Driver *d, const Graph *g) {
    for (int i = 0; i < g->nguards; i++) {
        const SymGuard *gd = &g->guards[i];
        char rule[900];
        guard_str(g, gd, rule, sizeof rule);
        char *paren = strstr(rule, " (");
        if (paren) *paren = 0;
        LtcDiag w;
        diag_set(&w, gd->loc, "entry '%s' is specialised to %s: %s; the model refuses other sizes", g->name,
                 rule, gd->why ? gd->why : "a size was used as a number");
        w.level = DIAG_WARNING;
        drv_diag(d, &w);
    }
}

int drv_trace_entries(Driver *d, Interp *I, Graph **graphs, int *n) {
    LtcDiag diag;
    EntryCall *calls[DRV_MAX_ENTRIES];
    int ncalls, rc;
    *n = 0;
    if ((rc = pick_entries(d, I, calls, &ncalls)) != 0) return rc;

    TraceOptions topts = {.static_shapes = d->o.static_shapes, .ndyn = d->o.ndyn};
    for (int i = 0; i < d->o.ndyn; i++) { topts.dyn_name[i] = d->o.dyn_name[i]; topts.dyn_axis[i] = d->o.dyn_axis[i]; }
    for (int i = 0; i < ncalls; i++) {
        double t0 = now_ms();
        const char *name = calls[i]->fn->name;
        drv_verbose(d, "tracing entry '%s'...", name);
        if (trace_entry(I, calls[i], name, &topts, &graphs[i]) != 0) {
            drv_diag(d, &I->diag);
            return EXIT_ERROR;
        }
        drv_phase(d, "trace", t0);
        report_guards(d, graphs[i]);
        drv_verbose(d, "entry '%s': %d nodes, %d inputs, %d parameters, %d outputs", name,
                    graphs[i]->nnodes, graphs[i]->ninputs, graphs[i]->nparams, graphs[i]->noutputs);
    }

    if (d->o.weights) {
        double t0 = now_ms();
        drv_verbose(d, "loading weights from '%s'...", d->o.weights);
        if (weights_load(d, graphs, ncalls, d->o.weights, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
        drv_phase(d, "weights", t0);
    }
    /* --dtype: the model in bf16/f16 (as torch's model.to(dtype)) after the
     * f32 weights are loaded and before any are saved; the pass pipeline's
     * dtype pass finds nothing left to do. */
    for (int i = 0; i < ncalls && d->o.dtype != DT_F32; i++)
        if (pass_to_dtype(graphs[i], d->o.dtype, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
    *n = ncalls;
    return 0;
}

/* The compile proper; *target is set to the file it wrote (for
 * --depfile), NULL when it wrote none. */
static int compile(Driver *d, Interp *I, const char **target) {
    SrcFile src;
    LtcDiag diag;
    *target = NULL;
    int rc = drv_load_script(d, I, MODE_COMPILE, d->o.verbose ? stderr : NULL, &src);
    if (rc != 0) return rc;

    Graph *graphs[DRV_MAX_ENTRIES];
    int ncalls;
    if ((rc = drv_trace_entries(d, I, graphs, &ncalls)) != 0) return rc;
    if (d->o.save_weights) {
        double t0 = now_ms();
        if (weights_save(d, graphs, ncalls, d->o.save_weights, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
        drv_phase(d, "save-weights", t0);
        *target = d->o.save_weights;
        if (!d->o.emit && !d->o.output) return EXIT_OK;   /* only the weights were asked for */
    }
    /* --check: the passes and the plan (where a backend refuses what it
     * does not generate), then stop before any code is generated */
    if (d->o.check) {
        StrBuf none = {0};
        double t0 = now_ms();
        rc = driver_codegen(d, I, graphs, ncalls, "check", NULL, &none, &diag);
        sb_free(&none);
        drv_phase(d, "check", t0);
        if (rc != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
        drv_verbose(d, "check: %d entr%s traced and planned for %s", ncalls, ncalls == 1 ? "y" : "ies",
                    d->o.target ? d->o.target : "the default target");
        return EXIT_OK;
    }

    const char *kind = d->o.emit;
    double t0 = now_ms();
    if (kind && (strcmp(kind, "ir") == 0 || strcmp(kind, "dot") == 0)) {
        StrBuf b = {0};
        for (int i = 0; i < ncalls; i++) {
            if (strcmp(kind, "ir") == 0) ir_print(graphs[i], &b);
            else ir_print_dot(graphs[i], &b);
        }
        rc = b.oom ? (drv_error(d, "out of memory printing the graphs"), EXIT_ERROR)
                   : write_text(d, b.s ? b.s : "", b.len);
        sb_free(&b);
        drv_phase(d, "emit", t0);
        *target = d->o.output;
        return rc;
    }
    if (kind && strcmp(kind, "weights") == 0) {
        if (weights_save(d, graphs, ncalls, d->o.output, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
        drv_phase(d, "emit", t0);
        *target = d->o.output;
        return EXIT_OK;
    }

    /* Everything else is the backend's. */
    bool binary = !kind || strcmp(kind, "obj") == 0;
    const char *path = d->o.output;
    if (binary) {
        if (path && strcmp(path, "-") == 0) {
            drv_error(d, "cannot write a binary %s to standard output; give a file with -o",
                      kind ? "object" : "library");
            return EXIT_USAGE;
        }
        if (!path) path = default_output(d, kind ? "o" : "so");
    }
    StrBuf text = {0};
    drv_verbose(d, "generating %s...", kind ? kind : "a shared library");
    rc = driver_codegen(d, I, graphs, ncalls, kind ? kind : "so", path, &text, &diag);
    drv_phase(d, "codegen", t0);
    if (rc != 0) {
        sb_free(&text);
        drv_diag(d, &diag);
        return EXIT_ERROR;
    }
    if (!binary && text.oom) {
        drv_error(d, "out of memory printing the %s", kind);
        rc = EXIT_ERROR;
    } else if (!binary) {
        rc = write_text(d, text.s ? text.s : "", text.len);
    }
    sb_free(&text);
    *target = binary ? path : d->o.output;
    return rc;
}

int driver_compile(Driver *d) {
    Interp I;
    const char *target;
    int rc = compile(d, &I, &target);
    if (rc == 0 && d->o.depfile) {
        LtcDiag diag;
        if (!target || strcmp(target, "-") == 0) {
            drv_error(d, "--depfile: this compile writes no file to name as the rule's target");
            return EXIT_USAGE;
        }
        if (depfile_write(d, &I, target, &diag) != 0) { drv_diag(d, &diag); return EXIT_ERROR; }
    }
    return rc;
}
