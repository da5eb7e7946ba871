/* msl_plan.h: the MSL device of the harness in tests/unit/ocl_runner.h
 * (included there when LTC_GPU_MSL is defined).  A plan's kernels are
 * rendered by csrc_metal (the plan and the kernel specs are the opencl
 * backend's, as a metal backend's are), type-checked with msl_check,
 * built with msl_build and run step by step with msl_launch on host
 * buffers: a root per plan input, parameter, output and packed buffer,
 * one arena, each buffer a pointer into its root (plan/gpu_abi.h has no
 * offsets for Metal: a device passes the buffer at its offset).
 *
 * Programs are kept per source text for the life of the process (a test
 * process runs a case's shapes one after another; most render to the
 * same source), so a source is compiled once. */
#include "codegen/csrc/csrc.h"
#include "tests/metal/msl_runner.h"

typedef struct MslDev { int unused; } GpuDev;
#define GPU_DEV_NAME "MSL shim"
static int gpu_open(GpuDev *d, char *err, size_t errlen) { (void)d; (void)err; (void)errlen; return 0; }
static void gpu_close(GpuDev *d) { (void)d; }

typedef struct MslCached { char *src; MslProgram *prog; } MslCached;
static MslCached msl_cache[64];
static int msl_ncached;
static char msl_err[1 << 16];

/* The program of src (checked and built once), or a failed assertion. */
static MslProgram *msl_program(const char *src, const CsModule *m) {
    for (int i = 0; i < msl_ncached; i++)
        if (strcmp(msl_cache[i].src, src) == 0) return msl_cache[i].prog;
    cr_assert(msl_check(src, msl_err, sizeof msl_err) == 0, "MSL check failed:\n%s\n--- source ---\n%s", msl_err, src);
    const char **names = calloc((size_t)m->nkernels + 1, sizeof *names);
    cr_assert(names);
    for (int k = 0; k < m->nkernels; k++) names[k] = m->kernels[k].name;
    MslProgram *prog = msl_build(src, names, m->nkernels, msl_err, sizeof msl_err);
    free(names);
    cr_assert(prog, "msl_build failed:\n%s\n--- source ---\n%s", msl_err, src);
    if (msl_ncached == (int)(sizeof msl_cache / sizeof *msl_cache)) {   /* full: drop the oldest */
        free(msl_cache[0].src);
        msl_free(msl_cache[0].prog);
        memmove(msl_cache, msl_cache + 1, sizeof msl_cache - sizeof *msl_cache);
        msl_ncached--;
    }
    msl_cache[msl_ncached++] = (MslCached){strdup(src), prog};
    cr_assert(msl_cache[msl_ncached - 1].src);
    return prog;
}

static int msl_kernel_index(const OclPlanRun *r, const char *name) {
    for (int i = 0; i < r->nkernels; i++)
        if (strcmp(r->kernels[i].name, name) == 0) return i;
    return -1;
}

/* One step: tiles in launches of at most LTC_GPU_MAX_GROUPS groups. */
static int msl_step(MslProgram *prog, const OclPlanRun *r, const PlanStep *st, char **ptr, char *err, size_t errlen) {
    const char *name = r->plan->kernels[st->kernel].name;
    int k = msl_kernel_index(r, name), threads = ocl_kernel_threads(r, name);
    if (k < 0 || threads < 1) { snprintf(err, errlen, "%s: not in the kernel table", name); return -1; }
    LtcGpuArgs a = o_step_args(r, st);
    void *bufs[LTC_GPU_MAX_BUFS];
    for (int i = 0; i < LTC_GPU_MAX_BUFS; i++) bufs[i] = ptr[st->bufs[i < st->nbufs ? i : 0]];
    for (int64_t t0 = 0; t0 < a.ntiles; t0 += LTC_GPU_MAX_GROUPS) {
        int64_t groups = a.ntiles - t0 < LTC_GPU_MAX_GROUPS ? a.ntiles - t0 : LTC_GPU_MAX_GROUPS;
        a.tile0 = t0;
        if (msl_launch(prog, k, bufs, &a, groups, threads, err, errlen) != 0) return -1;
    }
    return 0;
}

/* Every buffer of the plan in host memory, prepack, the steps, the outputs copied back. */
static int msl_run_plan(MslProgram *prog, const OclPlanRun *r, char *err, size_t errlen) {
    const Plan *p = r->plan;
    int nroots = p->ninputs + p->nparams + p->noutputs + p->npacked + 1;
    char **roots = calloc((size_t)nroots, sizeof *roots);
    char **ptr = calloc((size_t)p->nbufs + 1, sizeof *ptr);
    int rc = -1;
    if (!roots || !ptr) { snprintf(err, errlen, "out of memory"); goto out; }
    for (int i = 0; i < nroots; i++) {
        const void *init;
        size_t bytes = o_root(p, r, i, &init);
        /* 64 bytes more, as the OpenCL harness: no empty buffer */
        if (!(roots[i] = calloc(1, bytes + 64))) { snprintf(err, errlen, "out of memory for %zu bytes", bytes); goto out; }
        if (init && bytes) memcpy(roots[i], init, bytes);
    }
    for (int b = 0; b < p->nbufs; b++) {
        const PlanBuf *pb = &p->bufs[b];
        int base = pb->kind == BUF_INPUT ? 0 : pb->kind == BUF_PARAM ? p->ninputs
                 : pb->kind == BUF_OUTPUT ? p->ninputs + p->nparams
                 : pb->kind == BUF_PACKED ? p->ninputs + p->nparams + p->noutputs : -1;
        ptr[b] = base >= 0 ? roots[base + pb->index] : roots[nroots - 1] + poly_eval(&pb->offset, r->symvals);
    }
    for (int i = 0; i < p->nprepack; i++)
        if (msl_step(prog, r, &p->prepack[i], ptr, err, errlen)) goto out;
    for (int i = 0; i < p->nsteps; i++)
        if (msl_step(prog, r, &p->steps[i], ptr, err, errlen)) goto out;
    for (int i = 0; i < p->noutputs; i++)
        if (r->out_bytes[i]) memcpy(r->outputs[i], roots[p->ninputs + p->nparams + i], r->out_bytes[i]);
    rc = 0;
out:
    for (int i = 0; roots && i < nroots; i++) free(roots[i]);
    free(roots);
    free(ptr);
    return rc;
}

/* The plan's kernels in MSL, checked, built (once per source) and run. */
static void o_gpu_run(GpuDev *dev, Backend *be, Plan *p, OclPlanRun *r, LtcDiag *d) {
    (void)dev;
    CsModule m = {0};
    cr_assert(csrc_module_add(&m, &csrc_metal, be, &p, 1, d) == 0, "csrc_module_add (metal): %s", d->msg);
    char *src = csrc_module_source(&m, &csrc_metal);
    cr_assert(src, "out of memory");
    const char *dump = getenv("LTC_MSL_DUMP");   /* a file to write the source to, for debugging */
    FILE *df = dump ? fopen(dump, "w") : NULL;
    if (df) {
        fputs(src, df);
        fclose(df);
    }
    MslProgram *prog = msl_program(src, &m);
    r->kernels = m.kernels;
    r->nkernels = m.nkernels;
    int rc = msl_run_plan(prog, r, msl_err, sizeof msl_err);
    cr_assert(rc == 0, "run: %s", msl_err);
    r->kernels = NULL;
    r->nkernels = 0;
    free(src);
    csrc_module_free(&m);
}
