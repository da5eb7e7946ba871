/* codegen.c: from traced entries to native code, for the driver.
 *
 *   passes (ir/passes)  ->  plan (codegen/lower.c)  ->  backend (codegen/cpu)
 *
 * driver_codegen() serves `-o model.so`, the --emit kinds llvm, asm,
 * fusion and plan, and --check (kind "check": the plans, nothing after).  The weights of a library go next to it as
 * MODEL.safetensors, or inside it with --embed-weights. */
#include "driver/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/backend.h"
#include "codegen/kernel_spec.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"
#include "plan/kernel_contract.h"
#include "support/safetensors.h"
#include "support/tempfiles.h"

static void pass_options(const Driver *d, PassOptions *po) {
    memset(po, 0, sizeof *po);
    for (int i = 0; i < d->o.nno_fuse && i < PASS_MAX_DISABLED; i++) po->no_fuse[po->nno_fuse++] = d->o.no_fuse[i];
    po->dump_after = d->o.dump_after;
    po->verbose = d->o.verbose;
    po->dtype = d->o.dtype;
}

void driver_backend_options(const Driver *d, BackendOptions *bo) {
    memset(bo, 0, sizeof *bo);
    bo->cpu = d->o.cpu;
    bo->features = d->o.features;
    bo->gpu_arch = d->o.gpu_arch;
    bo->opt_level = d->o.opt_level;
    bo->threads = d->o.threads;
    bo->verbose = d->o.verbose;
    bo->time_passes = d->o.time_passes;
}

/* Run the pass pipeline on every entry; the fusion report goes to
 * `report` (for --emit fusion) and, with -v, to stderr. */
int driver_run_passes(Driver *d, Graph **entries, int n, StrBuf *report, LtcDiag *diag) {
    PassOptions po;
    pass_options(d, &po);
    for (int i = 0; i < n; i++) {
        FusionReport r = {0};
        StrBuf dump = {0};
        double t0 = now_ms();
        int rc = passes_run(entries[i], &po, &r, &dump, diag);
        drv_phase(d, "passes", t0);
        if (dump.len) fputs(dump.s, d->err);
        sb_free(&dump);
        if (rc == 0) {
            StrBuf text = {0};
            fusion_report_print(&r, entries[i]->name, &text);
            /* with -v the pipeline already put the report in the dump */
            if (report) sb_puts(report, text.s ? text.s : "");
            sb_free(&text);
        }
        sb_free(&r.text);
        if (rc != 0) return -1;
    }
    return 0;
}

/* The weights of the plans' parameters as a safetensors image in memory
 * (written through a temporary file: st_write is the one writer). */
static void *weights_image(Driver *d, Graph **entries, int n, size_t *len, LtcDiag *diag) {
    const char *dir = getenv("TMPDIR");
    char *tmp = arena_printf(&d->arena, "%s/lispetorchc-weights.tmp.XXXXXX", dir && *dir ? dir : "/tmp");
    /* registered before it exists, so that SIGINT cannot leave it behind */
    if (!tmp || tempfiles_add(tmp) != 0) { diag_set(diag, (SrcLoc){0}, "out of memory"); return NULL; }
    int fd = mkstemp(tmp);
    tempfiles_remove(tmp);
    if (fd < 0) {
        diag_set(diag, (SrcLoc){0}, "cannot create a temporary file for the weights: %s", strerror(errno));
        return NULL;
    }
    close(fd);
    const char *inner = arena_printf(&d->arena, "%s.tmp.%d", tmp, (int)getpid());   /* st_write's own */
    void *buf = NULL;
    if (!inner || tempfiles_add(tmp) != 0 || tempfiles_add(inner) != 0) {
        diag_set(diag, (SrcLoc){0}, "out of memory");
    } else if (weights_write(d, entries, n, tmp, diag) == 0) {
        SrcFile f;
        if (read_file(&d->arena, tmp, &f, diag) == 0) { buf = (void *)f.text; *len = f.len; }
    }
    unlink(tmp);
    tempfiles_remove(tmp);
    if (inner) { unlink(inner); tempfiles_remove(inner); }
    return buf;
}

static const char *sibling_path(Driver *d, const char *path, const char *ext) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    return arena_printf(&d->arena, "%.*s.%s", (int)n, path, ext);
}

/* Why kernel k of p stands where it does, for the report's per-kernel
 * lines: made by a fusion pass (the lines above say which), run only when
 * the weights are bound, or alone for its family's reason
 * (plan/kernel_families.def). */
static const char *kernel_why(const Plan *p, int k) {
    const PlanKernel *pk = &p->kernels[k];
    bool per_call = false;
    for (int i = 0; i < p->nsteps && !per_call; i++) per_call = p->steps[i].kernel == k;
    if (!per_call) return "at bind time: computed from parameters alone";
    if (pk->node && (op_info[pk->node->op].flags & OPF_FUSED)) return "fused (above)";
    const KernelFamily *kf = kf_find(pk->family);
    return kf && kf->alone ? kf->alone : "?";
}

/* After the fusion report: what the backend makes of each entry, its
 * kernels by family (then one line per kernel: its node and why it stands
 * alone or what fused it), or the node it does not generate and why. */
static int kernels_report(Driver *d, Backend *b, Graph **entries, int n, StrBuf *text, LtcDiag *diag) {
    for (int i = 0; i < n; i++) {
        Plan *p;
        LowerInfo info;
        LtcDiag pd = {0};
        if (plan_build_ex(entries[i], b, &d->arena, &p, &info, &pd) != 0) {
            if (!info.refused) { *diag = pd; return -1; }
            const Node *r = info.refused;
            sb_printf(text, "; on %s: %s %%%d", b->name, op_info[r->op].name, r->id);
            if (r->loc.file) sb_printf(text, " at %s:%d:%d", r->loc.file->name, r->loc.line, r->loc.col);
            sb_printf(text, ": not supported: %s\n", info.refused_why);
            continue;
        }
        sb_printf(text, "; on %s: %d kernels (", b->name, p->nkernels);
        /* families in order of first appearance, with counts */
        for (int k = 0; k < p->nkernels; k++) {
            bool seen = false;
            for (int j = 0; j < k && !seen; j++) seen = strcmp(p->kernels[j].family, p->kernels[k].family) == 0;
            if (seen) continue;
            int cnt = 0;
            for (int j = k; j < p->nkernels; j++) cnt += strcmp(p->kernels[j].family, p->kernels[k].family) == 0;
            sb_printf(text, "%s%s %d", k ? ", " : "", p->kernels[k].family, cnt);
        }
        sb_puts(text, ")\n");
        sb_puts(text, ";   per kernel (node ids of the graph after every pass, as --emit ir and plan):\n");
        for (int k = 0; k < p->nkernels; k++) {
            const Node *nd = p->kernels[k].node;
            sb_printf(text, ";   k%-3d %-16s", k, p->kernels[k].family);
            if (nd) sb_printf(text, " %s %%%d", op_info[nd->op].name, nd->id);
            sb_printf(text, ": %s\n", kernel_why(p, k));
        }
    }
    return 0;
}

int driver_codegen(Driver *d, Interp *I, Graph **entries, int n, const char *kind, const char *path,
                   StrBuf *text, LtcDiag *diag) {
    (void)I;
    SrcLoc none = {0};
    if (strcmp(kind, "obj") == 0)
        return diag_set(diag, none, "--emit obj is not supported; use -o MODEL.so (or --emit asm)");
    bool want_fusion = strcmp(kind, "fusion") == 0;
    if (driver_run_passes(d, entries, n, want_fusion ? text : NULL, diag) != 0) return -1;

    BackendOptions bo;
    driver_backend_options(d, &bo);
    double t0 = now_ms();
    Backend *b = backend_new(d->o.target, &d->arena, &bo, diag);
    if (!b) return -1;
    if (want_fusion) {
        int rc = kernels_report(d, b, entries, n, text, diag);
        b->destroy(b);
        return rc;
    }
    int rc = -1;
    LibCache lc = {0};
    Plan **plans = arena_alloc(&d->arena, sizeof(Plan *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        drv_verbose(d, "planning entry '%s'...", entries[i]->name);
        if (plan_build(entries[i], b, &d->arena, &plans[i], diag) != 0) goto out;
    }
    drv_phase(d, "plan", t0);
    if (strcmp(kind, "check") == 0) { rc = 0; goto out; }   /* --check: planned, nothing generated */
    if (strcmp(kind, "plan") == 0) {
        for (int i = 0; i < n; i++) plan_print(plans[i], (SymBind){0}, text);
        rc = 0;
        goto out;
    }
    if (strcmp(kind, "kernels") == 0) {
        kernels_print(plans, n, b, text);
        rc = 0;
        goto out;
    }
    /* -o model.so: a library made before from the same plans and options
     * comes from the disk cache (library_cache.c) */
    bool library = strcmp(kind, "so") == 0, hit = false;
    const char *tmp = NULL;
    if (library) {
        if (libcache_open(d, b, &bo, plans, n, &lc, diag) != 0) goto out;
        if (!(tmp = outputs_stage(d, path, diag))) goto out;
        t0 = now_ms();
        if (libcache_fetch(d, &lc, tmp, &hit, diag) != 0) goto out;
        drv_phase(d, "cache", t0);
    }
    t0 = now_ms();
    if (!hit) drv_verbose(d, "generating kernels...");
    if (!hit) {
        if (b->generate(b, plans, n, &bo, diag) != 0) goto out;
        drv_phase(d, "generate", t0);
    }
    /* the backend's text kinds: llvm, asm (cpu), opencl, metal, cuda, ptx (GPU targets) */
    if (strcmp(kind, "llvm") == 0 || strcmp(kind, "asm") == 0 || strcmp(kind, "opencl") == 0 ||
        strcmp(kind, "metal") == 0 || strcmp(kind, "cuda") == 0 || strcmp(kind, "ptx") == 0) {
        rc = b->emit_text(b, kind, text, diag);
        goto out;
    }
    /* a shared library */
    t0 = now_ms();
    void *blob = NULL;
    size_t bloblen = 0;
    if (d->o.embed_weights) {
        if (!(blob = weights_image(d, entries, n, &bloblen, diag))) goto out;
        if (d->wrote_random && d->library_shown)
            drv_note(d, (SrcLoc){0}, "no weights given: %s holds the script's random initial weights", d->library_shown);
        else if (d->wrote_random)
            drv_note(d, (SrcLoc){0}, "no --weights: embedded the script's random initial weights in '%s'", path);
    } else if (!d->o.save_weights) {
        const char *wpath = sibling_path(d, path, "safetensors");
        drv_verbose(d, "writing the weights to '%s'", wpath);
        if (weights_save(d, entries, n, wpath, diag) != 0) goto out;
        /* Random initial values beside a library look like a trained model;
         * say so (the file's metadata says it too, and the runtime warns). */
        if (d->wrote_random)
            drv_note(d, (SrcLoc){0}, "no --weights: wrote the script's random initial weights to '%s'", wpath);
    }
    if (hit) {
        rc = 0;
        goto out;
    }
    drv_verbose(d, "linking '%s'...", path);
    if (!tmp && !(tmp = outputs_stage(d, path, diag))) goto out;
    rc = b->emit_library(b, plans, n, tmp, blob, bloblen, diag);
    drv_phase(d, "link", t0);
    if (rc == 0) libcache_store(d, &lc, tmp);
out:
    libcache_close(&lc);
    b->destroy(b);
    return rc;
}
