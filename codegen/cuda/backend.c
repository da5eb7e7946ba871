/* backend.c: the `cuda` backend.  Every kernel is CUDA C written by the
 * dialect-neutral renderers of codegen/csrc from its KernelSpec; generate
 * compiles it with NVRTC for each target of --gpu-arch (default PTX for
 * compute_80, cubins for sm_80 and sm_90a) on threads: with nvJitLink one
 * cubin program per kernel and target, linked per target (compile_all).
 * model.so: codegen/gpu_library.c.  In-process use (jit_lookup) is not
 * written yet. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cuda/cuda.h"

typedef struct CudaBackend {
    Backend    b;
    CsModule   m;
    CudaTarget targets[CUDA_MAX_TARGETS];
    int        ntargets;
    CudaJob    jobs[CUDA_MAX_TARGETS];   /* the last generate's results, per target */
    char      *src;             /* the source they were compiled from */
    int        threads;
    char       target[160];     /* Backend.target: "nvptx compute_80 sm_80 sm_90a" */
} CudaBackend;

static CudaBackend *self(Backend *b) { return (CudaBackend *)b->self; }

static bool cu_supports(Backend *b, const KernelSpec *s, const char **why) {
    (void)b;
    return csrc_supports_in(&csrc_cuda, s, why);
}

static void cu_tune(Backend *b, KernelSpec *s) {
    (void)b;
    csrc_tune_in(&csrc_cuda, s);
}

static void drop_code(CudaBackend *cb) {
    for (int i = 0; i < cb->ntargets; i++) cuda_job_free(&cb->jobs[i]);
    free(cb->src);
    cb->src = NULL;
}

/* The first failed job's message. */
static int job_error(CudaJob *jobs, int n, LtcDiag *d) {
    for (int i = 0; i < n; i++)
        if (jobs[i].rc) return diag_set(d, (SrcLoc){0}, "cuda backend: %s", jobs[i].err);
    return diag_set(d, (SrcLoc){0}, "cuda backend: compilation failed");
}

#ifdef LTC_HAVE_NVJITLINK
/* Kernels in parallel: the PTX of the whole module (one NVRTC program:
 * PTX cannot be linked) beside one relocatable cubin per kernel and cubin
 * target (-rdc=true, each its own program, so every kernel's optimiser
 * and ptxas run on their own thread); then nvJitLink joins each target's
 * cubins into the one module the code image holds per target. */
static int compile_all(CudaBackend *cb, int nt, LtcDiag *d) {
    const CsModule *m = &cb->m;
    int nk = m->nkernels, ncubin = 0;
    for (int t = 0; t < cb->ntargets; t++) ncubin += cb->targets[t].kind == LTC_CODE_CUDA_CUBIN;
    /* first[t]: target t's first job (PTX: one; a cubin target: nk) */
    int first[CUDA_MAX_TARGETS], njobs = 0;
    for (int t = 0; t < cb->ntargets; t++) {
        first[t] = njobs;
        njobs += cb->targets[t].kind == LTC_CODE_CUDA_PTX ? 1 : nk;
    }
    CudaJob *jobs = calloc((size_t)njobs + 1, sizeof *jobs);
    char **srcs = calloc((size_t)nk + 1, sizeof *srcs);
    CudaJob **lk = calloc((size_t)nk + 1, sizeof *lk);
    StrBuf pre = {0};
    int rc = -1;
    if (!jobs || !srcs || !lk) { diag_set(d, (SrcLoc){0}, "cuda backend: out of memory"); goto out; }
    csrc_preamble(&csrc_cuda, &pre);
    for (int k = 0; ncubin && k < nk; k++) {
        size_t s0 = m->starts[k], s1 = k + 1 < nk ? m->starts[k + 1] : m->src.len;
        size_t l = pre.len + (s1 - s0) + 1;
        if (pre.oom || !(srcs[k] = malloc(l))) { diag_set(d, (SrcLoc){0}, "cuda backend: out of memory"); goto out; }
        memcpy(srcs[k], pre.s, pre.len);
        memcpy(srcs[k] + pre.len, m->src.s + s0, s1 - s0);
        srcs[k][l - 1] = 0;
    }
    for (int t = 0; t < cb->ntargets; t++) {
        const char *arch = cb->targets[t].arch;
        if (cb->targets[t].kind == LTC_CODE_CUDA_PTX)
            jobs[first[t]] = (CudaJob){.src = cb->src, .file = "lispetorchc_kernels.cu", .arch = arch};
        else
            for (int k = 0; k < nk; k++)
                jobs[first[t] + k] = (CudaJob){.src = srcs[k], .file = m->kernels[k].name, .arch = arch, .extra = "-rdc=true"};
    }
    if (cuda_compile_jobs(jobs, njobs, nt) != 0) { job_error(jobs, njobs, d); goto out; }
    for (int t = 0; t < cb->ntargets; t++) {
        CudaJob *r = &cb->jobs[t];
        if (cb->targets[t].kind == LTC_CODE_CUDA_PTX) {
            *r = jobs[first[t]];
            jobs[first[t]] = (CudaJob){0};
            continue;
        }
        *r = (CudaJob){.arch = cb->targets[t].arch};
        for (int k = 0; k < nk; k++) lk[k] = &jobs[first[t] + k];
        if (cuda_link_cubins(r->arch, lk, nk, &r->code, &r->code_len, r->err, sizeof r->err) != 0) {
            diag_set(d, (SrcLoc){0}, "cuda backend: %s", r->err);
            goto out;
        }
    }
    rc = 0;
out:
    for (int i = 0; jobs && i < njobs; i++) cuda_job_free(&jobs[i]);
    for (int k = 0; srcs && k < nk; k++) free(srcs[k]);
    free(jobs);
    free(srcs);
    free(lk);
    sb_free(&pre);
    return rc;
}
#else
/* Without nvJitLink: the whole module once per target, the targets side
 * by side (cubins of separate programs could not be joined). */
static int compile_all(CudaBackend *cb, int nt, LtcDiag *d) {
    for (int i = 0; i < cb->ntargets; i++)
        cb->jobs[i] = (CudaJob){.src = cb->src, .file = "lispetorchc_kernels.cu", .arch = cb->targets[i].arch};
    if (cuda_compile_jobs(cb->jobs, cb->ntargets, nt) != 0) return job_error(cb->jobs, cb->ntargets, d);
    return 0;
}
#endif

static int cu_generate(Backend *b, Plan **plans, int nplans, const BackendOptions *o, LtcDiag *d) {
    CudaBackend *cb = self(b);
    if (csrc_module_add(&cb->m, &csrc_cuda, b, plans, nplans, d) != 0) return -1;
    drop_code(cb);
    if (!(cb->src = csrc_module_source(&cb->m, &csrc_cuda))) return diag_set(d, (SrcLoc){0}, "cuda backend: out of memory");
    int nt = o && o->threads > 0 ? o->threads : cb->threads;
    if (compile_all(cb, nt, d) != 0) {
        drop_code(cb);
        return -1;
    }
    return 0;
}

static int cu_emit_text(Backend *b, const char *kind, StrBuf *out, LtcDiag *d) {
    CudaBackend *cb = self(b);
    if (strcmp(kind, "cuda") == 0) {
        char *src = cb->src ? NULL : csrc_module_source(&cb->m, &csrc_cuda);
        const char *t = cb->src ? cb->src : src;
        if (!t) return diag_set(d, (SrcLoc){0}, "cuda backend: out of memory");
        sb_puts(out, t);
        free(src);
        return 0;
    }
    if (strcmp(kind, "ptx") == 0) {
        for (int t = 0; t < cb->ntargets; t++)
            if (cb->targets[t].kind == LTC_CODE_CUDA_PTX && cb->jobs[t].code) {
                sb_puts(out, cb->jobs[t].code);   /* NUL-terminated by NVRTC */
                return 0;
            }
        return diag_set(d, (SrcLoc){0}, "cuda backend: no PTX (--gpu-arch lists no compute_XY, or nothing was generated)");
    }
    return diag_set(d, (SrcLoc){0}, "the cuda backend emits --emit cuda or ptx, not '%s'", kind);
}

int cuda_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d) {
    CudaBackend *cb = self(b);
    for (int i = 0; i < cb->ntargets; i++) {
        if (!cb->jobs[i].code) return diag_set(d, (SrcLoc){0}, "cuda backend: no code for %s (nothing generated)", cb->targets[i].arch);
        if (csrc_image_add(img, cb->targets[i].kind, cb->targets[i].code_arch, cb->jobs[i].code, cb->jobs[i].code_len))
            return diag_set(d, (SrcLoc){0}, "cuda backend: out of memory for the code image");
    }
    *kernels = cb->m.kernels;
    *nkernels = cb->m.nkernels;
    return 0;
}

/* model.so: PTX and the cubins in the code image (codegen/gpu_library.c);
 * the runtime's CUDA device (runtime/device_cuda.c) picks one at load. */
static int cu_emit_library(Backend *b, Plan **plans, int nplans, const char *path, const void *w, size_t wl,
                           LtcDiag *d) {
    return csrc_emit_library(b, cuda_code_image, plans, nplans, path, w, wl, d);
}

static int cu_jit_lookup(Backend *b, const char *name, void **fn, LtcDiag *d) {
    (void)b;
    if (fn) *fn = NULL;
    return diag_set(d, (SrcLoc){0}, "the cuda backend has no in-process execution yet (kernel '%s')", name ? name : "?");
}

static void cu_destroy(Backend *b) {
    if (!b) return;
    CudaBackend *cb = self(b);
    drop_code(cb);
    csrc_module_free(&cb->m);
    free(cb);
}

Backend *backend_cuda_new(Arena *a, const BackendOptions *o, LtcDiag *d) {
    (void)a;
    CudaBackend *cb = calloc(1, sizeof *cb);
    if (!cb) {
        diag_set(d, (SrcLoc){0}, "cuda backend: out of memory");
        return NULL;
    }
    Backend *b = &cb->b;
    char why[200];
    if (cuda_parse_targets(o && o->gpu_arch ? o->gpu_arch : CUDA_DEFAULT_TARGETS, cb->targets, &cb->ntargets, why,
                           sizeof why) != 0) {
        diag_set(d, (SrcLoc){0}, "%s", why);
        free(cb);
        return NULL;
    }
    size_t tl = (size_t)snprintf(cb->target, sizeof cb->target, "nvptx");
    for (int t = 0; t < cb->ntargets && tl < sizeof cb->target; t++)
        tl += (size_t)snprintf(cb->target + tl, sizeof cb->target - tl, " %s", cb->targets[t].arch);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);   /* --threads, else every core: one compilation each */
    cb->threads = o && o->threads > 0 ? o->threads : ncpu > 0 ? (int)ncpu : 1;
    b->name = "cuda";
    b->target = cb->target;
    b->device = "cuda";
    b->self = cb;
    b->buf_align = 64;
    b->supports = cu_supports;
    b->tune = cu_tune;
    b->generate = cu_generate;
    b->emit_text = cu_emit_text;
    b->emit_library = cu_emit_library;
    b->jit_lookup = cu_jit_lookup;
    b->destroy = cu_destroy;
    return b;
}
