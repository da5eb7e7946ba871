/* ocl_runner.h: a test-only runner of the opencl backend's kernels on the
 * machine's OpenCL (PoCL on the CPU), with the ABI of plan/gpu_abi.h, and
 * a harness that checks one graph node against the reference interpreter.
 *
 * The harness (o_*) builds a traced graph with concrete (ragged) shapes,
 * lowers it with plan_build for the opencl backend, generates its OpenCL
 * C, builds it with clBuildProgram (the build log is shown on failure),
 * runs the prepack and per-call steps (one work-group per tile; a step of
 * more than LTC_GPU_MAX_GROUPS tiles is split into launches with
 * args.tile0), and compares the output with ir_run: max |err| / max(1,
 * max |ref|) <= tol, NaN where the reference is NaN.  OpenCL is reached
 * through dlopen("libOpenCL.so.1"), so nothing else links it; the runtime's
 * real device is runtime/device_opencl.c (not this).  A test using this
 * must not link LLVM 16 (tests/CMakeLists.txt: gpu_ocl_* links the opencl
 * backend alone): PoCL's kernel compiler is LLVM 15, and LLVM 16's symbols
 * in the same process interpose on it and crash clBuildProgram.
 *
 * The same harness runs the kernels as Metal Shading Language instead
 * when LTC_GPU_MSL is defined (unit_gpu_msl_ops, tests/metal/): the plan
 * is still the opencl backend's (its supports and tune are what the metal
 * backend uses), its kernels rendered by csrc_metal, type-checked and run
 * on the CPU through the MSL shim (tests/metal/msl_plan.h).  Only the
 * device differs (GpuDev, o_gpu_run); the cases and checks are the same. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LTC_GPU_MSL
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#endif

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "codegen/opencl/opencl.h"
#include "ir/passes/passes.h"
#ifdef LTC_HAVE_CUDA
#include "codegen/cuda/cuda.h"
#endif

/* ---- one plan on the device -------------------------------------------------------- */
typedef struct OclPlanRun {
    const Plan *plan;
    const LtcGpuKernel *kernels; int nkernels;
    const int64_t *symvals;
    void **inputs; size_t *in_bytes;      /* host data of plan inputs, parameters, outputs */
    void **params; size_t *param_bytes;
    void **outputs; size_t *out_bytes;
    uint64_t call;
} OclPlanRun;

/* Root buffer i of a run (inputs, params, outputs, packed, the arena):
 * its bytes, and *init its host data or NULL. */
static size_t o_root(const Plan *p, const OclPlanRun *r, int i, const void **init) {
    size_t bytes = 0;
    int k = i;
    *init = NULL;
    if (k < p->ninputs) { bytes = r->in_bytes[k]; *init = r->inputs[k]; }
    else if ((k -= p->ninputs) < p->nparams) { bytes = r->param_bytes[k]; *init = r->params[k]; }
    else if ((k -= p->nparams) < p->noutputs) { bytes = r->out_bytes[k]; *init = r->outputs[k]; }
    else if ((k -= p->noutputs) < p->npacked) bytes = (size_t)poly_eval(&p->packed[k].bytes, r->symvals);
    else bytes = (size_t)poly_eval(&p->arena_bytes, r->symvals);
    return bytes;
}

/* A step's LtcGpuArgs (plan/gpu_abi.h): its dims, the call number last,
 * its tiles and floats; tile0 0. */
static LtcGpuArgs o_step_args(const OclPlanRun *r, const PlanStep *st) {
    LtcGpuArgs a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < st->ndims; i++) a.dims[i] = poly_eval(&st->dims[i], r->symvals);
    a.dims[st->ndims] = (int64_t)r->call;
    a.ntiles = poly_eval(&st->ntiles, r->symvals);
    memcpy(a.f, st->f, sizeof a.f);
    return a;
}

static int ocl_kernel_threads(const OclPlanRun *r, const char *name) {
    for (int i = 0; i < r->nkernels; i++)
        if (strcmp(r->kernels[i].name, name) == 0) return (int)r->kernels[i].threads;
    return -1;
}

#ifdef LTC_GPU_MSL
#include "tests/metal/msl_plan.h"
#else
/* ---- OpenCL by dlopen ------------------------------------------------------------ */
#define OCL_FNS(X) X(GetPlatformIDs) X(GetDeviceIDs) X(CreateContext) X(CreateCommandQueue) \
    X(CreateProgramWithSource) X(BuildProgram) X(GetProgramBuildInfo) X(CreateKernel) X(SetKernelArg) \
    X(CreateBuffer) X(EnqueueWriteBuffer) X(EnqueueReadBuffer) X(EnqueueNDRangeKernel) X(Finish) \
    X(ReleaseMemObject) X(ReleaseKernel) X(ReleaseProgram) X(ReleaseCommandQueue) X(ReleaseContext)

typedef struct Ocl {
    void *lib;
#define OCL_FIELD(n) __typeof__(&cl##n) n;
    OCL_FNS(OCL_FIELD)
#undef OCL_FIELD
    cl_device_id dev;
    cl_context ctx;
    cl_command_queue q;
} Ocl;

/* 0, or -1 with err: no library, no platform or device, no context. */
__attribute__((unused)) static int ocl_open(Ocl *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    /* LTC_OCL_LIB: another OpenCL library, e.g. Oclgrind's
     * /usr/lib/oclgrind/liboclgrind-rt.so with OCLGRIND_DATA_RACES=1 to
     * look for races and out-of-bounds accesses PoCL does not report */
    const char *lib = getenv("LTC_OCL_LIB") ? getenv("LTC_OCL_LIB") : "libOpenCL.so.1";
    if (!(o->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
        snprintf(err, errlen, "dlopen %s: %s", lib, dlerror());
        return -1;
    }
#define OCL_LOAD(n)                                                          \
    if (!(o->n = (__typeof__(o->n))dlsym(o->lib, "cl" #n))) {                \
        snprintf(err, errlen, "libOpenCL.so.1 has no cl" #n);                \
        return -1;                                                           \
    }
    OCL_FNS(OCL_LOAD)
#undef OCL_LOAD
    cl_platform_id plats[8];
    cl_uint np = 0;
    if (o->GetPlatformIDs(8, plats, &np) != CL_SUCCESS || np == 0) {
        snprintf(err, errlen, "no OpenCL platform");
        return -1;
    }
    bool found = false;
    for (cl_uint i = 0; i < np && !found; i++) {
        cl_uint nd = 0;
        found = o->GetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 1, &o->dev, &nd) == CL_SUCCESS && nd > 0;
    }
    if (!found) {
        snprintf(err, errlen, "no OpenCL device");
        return -1;
    }
    cl_int e;
    o->ctx = o->CreateContext(NULL, 1, &o->dev, NULL, NULL, &e);
    if (!o->ctx) { snprintf(err, errlen, "clCreateContext: %d", e); return -1; }
    o->q = o->CreateCommandQueue(o->ctx, o->dev, 0, &e);
    if (!o->q) { snprintf(err, errlen, "clCreateCommandQueue: %d", e); return -1; }
    return 0;
}

__attribute__((unused)) static void ocl_close(Ocl *o) {
    if (o->q) o->ReleaseCommandQueue(o->q);
    if (o->ctx) o->ReleaseContext(o->ctx);
    if (o->lib) dlclose(o->lib);
    memset(o, 0, sizeof *o);
}

/* The program of src, built for the device; NULL with the build log in
 * *log (malloc'ed) on failure. */
__attribute__((unused)) static cl_program ocl_build(Ocl *o, const char *src, char **log) {
    cl_int e;
    *log = NULL;
    cl_program p = o->CreateProgramWithSource(o->ctx, 1, &src, NULL, &e);
    if (!p) return NULL;
    if (o->BuildProgram(p, 1, &o->dev, "-cl-std=CL1.2", NULL, NULL) == CL_SUCCESS) return p;
    size_t n = 0;
    o->GetProgramBuildInfo(p, o->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    *log = calloc(1, n + 1);
    if (*log) o->GetProgramBuildInfo(p, o->dev, CL_PROGRAM_BUILD_LOG, n, *log, NULL);
    o->ReleaseProgram(p);
    return NULL;
}

/* One step: tiles in launches of at most LTC_GPU_MAX_GROUPS groups. */
static int ocl_step(Ocl *o, cl_program prog, const OclPlanRun *r, const PlanStep *st, cl_mem *mem, size_t *off,
                    char *err, size_t errlen) {
    const char *name = r->plan->kernels[st->kernel].name;
    int threads = ocl_kernel_threads(r, name);
    if (threads < 1) { snprintf(err, errlen, "%s: not in the kernel table", name); return -1; }
    cl_int e;
    cl_kernel k = o->CreateKernel(prog, name, &e);
    if (!k) { snprintf(err, errlen, "clCreateKernel %s: %d", name, e); return -1; }
    LtcGpuArgs a = o_step_args(r, st);
    if (getenv("LTC_OCL_TRACE")) {   /* each launch, for debugging */
        fprintf(stderr, "ocl: %s threads %d tiles %lld dims", name, threads, (long long)a.ntiles);
        for (int i = 0; i <= st->ndims; i++) fprintf(stderr, " %lld", (long long)a.dims[i]);
        fprintf(stderr, " bufs");
        for (int i = 0; i < st->nbufs; i++) fprintf(stderr, " %d+%zu", st->bufs[i], off[st->bufs[i]]);
        fprintf(stderr, "\n");
    }
    int rc = 0;
    for (int i = 0; i < LTC_GPU_MAX_BUFS && rc == 0; i++) {
        int b = st->bufs[i < st->nbufs ? i : 0];   /* unused slots: any valid buffer */
        cl_long boff = (cl_long)off[b];
        if (o->SetKernelArg(k, (cl_uint)(2 * i), sizeof(cl_mem), &mem[b]) != CL_SUCCESS ||
            o->SetKernelArg(k, (cl_uint)(2 * i + 1), sizeof boff, &boff) != CL_SUCCESS) {
            snprintf(err, errlen, "%s: clSetKernelArg buffer %d", name, i);
            rc = -1;
        }
    }
    for (int64_t t0 = 0; rc == 0 && t0 < a.ntiles; t0 += LTC_GPU_MAX_GROUPS) {
        int64_t groups = a.ntiles - t0 < LTC_GPU_MAX_GROUPS ? a.ntiles - t0 : LTC_GPU_MAX_GROUPS;
        a.tile0 = t0;
        size_t local = (size_t)threads, global = (size_t)groups * local;
        if ((e = o->SetKernelArg(k, 2 * LTC_GPU_MAX_BUFS, sizeof a, &a)) != CL_SUCCESS ||
            (e = o->EnqueueNDRangeKernel(o->q, k, 1, NULL, &global, &local, 0, NULL, NULL)) != CL_SUCCESS ||
            (e = o->Finish(o->q)) != CL_SUCCESS) {
            snprintf(err, errlen, "%s: launch of %lld groups: %d", name, (long long)groups, e);
            rc = -1;
        }
    }
    o->ReleaseKernel(k);
    return rc;
}

/* Every buffer of the plan as (cl_mem, byte offset), prepack, the steps,
 * the outputs read back.  0, or -1 with err. */
__attribute__((unused)) static int ocl_run_plan(Ocl *o, cl_program prog, const OclPlanRun *r, char *err, size_t errlen) {
    const Plan *p = r->plan;
    int nroots = p->ninputs + p->nparams + p->noutputs + p->npacked + 1;
    cl_mem *roots = calloc((size_t)nroots, sizeof *roots);
    cl_mem *mem = calloc((size_t)p->nbufs + 1, sizeof *mem);
    size_t *off = calloc((size_t)p->nbufs + 1, sizeof *off);
    int rc = -1;
    if (!roots || !mem || !off) { snprintf(err, errlen, "out of memory"); goto out; }
    cl_int e;
    /* roots: inputs, params, outputs, packed, the arena (64 bytes at least: no empty cl_mem) */
    for (int i = 0; i < nroots; i++) {
        const void *init;
        size_t bytes = o_root(p, r, i, &init);
        roots[i] = o->CreateBuffer(o->ctx, CL_MEM_READ_WRITE, bytes + 64, NULL, &e);
        if (!roots[i]) { snprintf(err, errlen, "clCreateBuffer %zu: %d", bytes + 64, e); goto out; }
        if (init && bytes && o->EnqueueWriteBuffer(o->q, roots[i], CL_TRUE, 0, bytes, init, 0, NULL, NULL) != CL_SUCCESS) {
            snprintf(err, errlen, "clEnqueueWriteBuffer");
            goto out;
        }
    }
    for (int b = 0; b < p->nbufs; b++) {
        const PlanBuf *pb = &p->bufs[b];
        int base = pb->kind == BUF_INPUT ? 0 : pb->kind == BUF_PARAM ? p->ninputs
                 : pb->kind == BUF_OUTPUT ? p->ninputs + p->nparams
                 : pb->kind == BUF_PACKED ? p->ninputs + p->nparams + p->noutputs : -1;
        mem[b] = base >= 0 ? roots[base + pb->index] : roots[nroots - 1];
        off[b] = pb->kind == BUF_ARENA ? (size_t)poly_eval(&pb->offset, r->symvals) : 0;
    }
    for (int i = 0; i < p->nprepack; i++)
        if (ocl_step(o, prog, r, &p->prepack[i], mem, off, err, errlen)) goto out;
    for (int i = 0; i < p->nsteps; i++)
        if (ocl_step(o, prog, r, &p->steps[i], mem, off, err, errlen)) goto out;
    for (int i = 0; i < p->noutputs; i++)
        if (r->out_bytes[i] && o->EnqueueReadBuffer(o->q, roots[p->ninputs + p->nparams + i], CL_TRUE, 0,
                                                    r->out_bytes[i], r->outputs[i], 0, NULL, NULL) != CL_SUCCESS) {
            snprintf(err, errlen, "clEnqueueReadBuffer output %d", i);
            goto out;
        }
    rc = 0;
out:
    for (int i = 0; roots && i < nroots; i++)
        if (roots[i]) o->ReleaseMemObject(roots[i]);
    free(roots);
    free(mem);
    free(off);
    return rc;
}

/* The device of the harness (named `cl` in O for both devices). */
typedef Ocl GpuDev;
#define GPU_DEV_NAME "OpenCL"
static int gpu_open(GpuDev *d, char *err, size_t errlen) { return ocl_open(d, err, errlen); }
static void gpu_close(GpuDev *d) { ocl_close(d); }

/* Build the plan's kernels (the opencl backend be generates them) and run
 * r on the device; r's kernel table is filled here. */
static void o_gpu_run(GpuDev *dev, Backend *be, Plan *p, OclPlanRun *r, LtcDiag *d) {
    cr_assert(be->generate(be, &p, 1, NULL, d) == 0, "generate: %s", d->msg);
    CsImage img = {0};
    cr_assert(opencl_code_image(be, &img, &r->kernels, &r->nkernels, d) == 0, "%s", d->msg);
    StrBuf src = {0};
    cr_assert(be->emit_text(be, "opencl", &src, d) == 0, "%s", d->msg);
    const char *dump = getenv("LTC_OCL_DUMP");   /* a file to write the source to, for debugging */
    FILE *df = dump ? fopen(dump, "w") : NULL;
    if (df) {
        fputs(src.s, df);
        fclose(df);
    }
    char *log = NULL;
    cl_program prog = ocl_build(dev, src.s, &log);
    cr_assert(prog, "clBuildProgram failed:\n%s\n--- source ---\n%s", log ? log : "(no log)", src.s);
    char err[512] = "";
    int rc = ocl_run_plan(dev, prog, r, err, sizeof err);
    dev->ReleaseProgram(prog);
    cr_assert(rc == 0, "run: %s", err);
    sb_free(&src);
    csrc_image_free(&img);
}
#endif

/* ---- the harness: one node against ir_run ------------------------------------------ */
typedef struct O {
    Arena a;
    Graph *eager, *g;
    LtcDiag d;
    GpuDev cl;
    uint64_t rng, call;
    void *in_data[16]; size_t in_bytes[16]; int nin;
    /* o_dtype: the case's graph in bf16/f16 (ir/passes/dtype.c, as
     * --dtype), with at least tolerance dtype_tol */
    DType dtype;
    double dtype_tol;
} O;

static O og;

__attribute__((unused)) static void o_setup(void) {
    memset(&og, 0, sizeof og);
    arena_init(&og.a);
    og.eager = graph_new(&og.a, "<eager>", true);
    og.rng = 88172645463325252ull;
    char err[256] = "";
    cr_assert(gpu_open(&og.cl, err, sizeof err) == 0, GPU_DEV_NAME ": %s", err);
}

__attribute__((unused)) static void o_teardown(void) {
    gpu_close(&og.cl);
    arena_free(&og.a);
}

/* a fresh graph for the next case */
__attribute__((unused)) static void o_fresh(void) {
    og.g = graph_new(&og.a, "t", false);
    og.nin = 0;
    og.call = 0;
}

__attribute__((unused)) static float o_rand(void) {   /* uniform in [-1, 1) */
    og.rng ^= og.rng << 13; og.rng ^= og.rng >> 7; og.rng ^= og.rng << 17;
    return (float)((og.rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

__attribute__((unused)) static Shape o_shape(int rank, const int64_t *d) {
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.d[i] = dim_const(d[i]);
    return s;
}

static size_t o_numel(int rank, const int64_t *d) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)d[i];
    return n;
}

/* An INPUT with random data (bool: mostly true; i64: 0..6). */
__attribute__((unused)) static Node *o_input(int rank, const int64_t *dims, DType t) {
    Shape s = o_shape(rank, dims);
    Node *n = ir_input(og.g, "x", t, &s, (SrcLoc){0});
    cr_assert(n);
    size_t ne = o_numel(rank, dims), bytes = ne * dtype_storage_size(t);
    void *p = arena_alloc_big(&og.a, bytes + 64);
    for (size_t i = 0; i < ne; i++) {
        if (t == DT_F32) ((float *)p)[i] = o_rand();
        else if (t == DT_BOOL) ((uint8_t *)p)[i] = o_rand() > -0.6f;
        else if (t == DT_I64) ((int64_t *)p)[i] = (int64_t)((o_rand() + 1) * 0.5 * 7);
    }
    cr_assert(og.nin < 16);
    og.in_data[og.nin] = p;
    og.in_bytes[og.nin++] = bytes;
    return n;
}

/* A PARAM: an eager node with random data used by the traced graph. */
__attribute__((unused)) static Node *o_param(int rank, const int64_t *dims) {
    Shape s = o_shape(rank, dims);
    Node *e = ir_input(og.eager, "w", DT_F32, &s, (SrcLoc){0});
    cr_assert(e);
    size_t ne = o_numel(rank, dims);
    float *p = arena_alloc_big(&og.a, ne * 4 + 64);
    for (size_t i = 0; i < ne; i++) p[i] = o_rand();
    e->data = p;
    Node *n = ir_param_for(og.g, e);
    cr_assert(n);
    return n;
}

__attribute__((unused)) static Node *o_emit(Op op, Node **in, int nin, const Attr *a) {
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(og.g, op, in, nin, a ? a : &z, (SrcLoc){0}, &og.d);
    cr_assert(n, "ir_emit %s: %s", op_info[op].name, og.d.msg);
    return n;
}

static size_t o_node_numel(const Node *n) {
    size_t ne = 1;
    for (int i = 0; i < n->shape.rank; i++) ne *= (size_t)n->shape.d[i].k;
    return ne;
}

__attribute__((unused)) static size_t o_node_bytes(const Node *n) { return o_node_numel(n) * dtype_storage_size(n->dtype); }

/* bf16/f16: the interpreter's float storage as the 2-byte elements of a
 * compiled buffer (arena), else the same data */
static void *o_to_device(const Node *n, void *data, size_t *bytes) {
    size_t ne = o_node_numel(n);
    *bytes = ne * dtype_size(n->dtype);
    if (n->dtype != DT_BF16 && n->dtype != DT_F16) return data;
    uint16_t *h = arena_alloc_big(&og.a, *bytes + 64);
    cr_assert(h);
    for (size_t i = 0; i < ne; i++)
        h[i] = n->dtype == DT_F16 ? f32_to_f16(((float *)data)[i]) : f32_to_bf16(((float *)data)[i]);
    return h;
}

#ifdef LTC_HAVE_CUDA
/* LTC_CUDA_CASES=DIR: the case again for the cuda backend, written to
 * DIR/case_N.bin for tests/device/cuda_replay.c to run on a GPU machine
 * (none here): the code image, every root buffer (inputs and parameters
 * with their data), every launch (kernel, group size, tiles, buffers as
 * root + offset, LtcGpuArgs) and each output with the reference values.
 * Layout: "LTCCASE1", u64 image length + image, u32 roots {u64 bytes, u8
 * has data, data}, u32 launches {char name[128], u32 threads, i64 tiles,
 * 8 x (u32 root, u64 offset), LtcGpuArgs}, u32 outputs {u32 root, u64
 * bytes, u32 dtype (ir.h DType), f64 tol, reference: `bytes` bytes of the
 * dtype, or 2 x bytes of float for bf16/f16}. */
static int o_case_no;
static void o_put(FILE *f, const void *p, size_t n) { cr_assert(fwrite(p, 1, n, f) == n); }
static void o_dump_cuda(Graph *g, Node **outs, int nout, void **ref, void **ins, size_t *ibytes, void **params,
                        size_t *pbytes, double tol) {
    const char *dir = getenv("LTC_CUDA_CASES");
    if (!dir) return;
    BackendOptions bo = {.opt_level = 2};
    Backend *be = backend_cuda_new(&og.a, &bo, &og.d);
    cr_assert(be, "%s", og.d.msg);
    Plan *p = NULL;
    cr_assert(plan_build(g, be, &og.a, &p, &og.d) == 0, "plan_build (cuda): %s", og.d.msg);
    cr_assert(be->generate(be, &p, 1, NULL, &og.d) == 0, "generate (cuda): %s", og.d.msg);
    CsImage img = {0};
    const LtcGpuKernel *kt;
    int nk;
    cr_assert(cuda_code_image(be, &img, &kt, &nk, &og.d) == 0, "%s", og.d.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/case_%d_%03d.bin", dir, (int)getpid(), o_case_no++);   /* a process per test */
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    o_put(f, "LTCCASE1", 8);
    uint64_t il = img.len;
    o_put(f, &il, 8);
    o_put(f, img.p, img.len);
    int64_t sv[LTC_MAX_SYMS] = {0};
    uint32_t nroots = (uint32_t)(p->ninputs + p->nparams + p->noutputs + p->npacked + 1);
    o_put(f, &nroots, 4);
    for (uint32_t i = 0; i < nroots; i++) {
        uint64_t bytes;
        const void *data = NULL;
        int k = (int)i;
        if (k < p->ninputs) { bytes = ibytes[k]; data = ins[k]; }
        else if ((k -= p->ninputs) < p->nparams) { bytes = pbytes[k]; data = params[k]; }
        else if ((k -= p->nparams) < p->noutputs) bytes = o_node_numel(outs[k]) * dtype_size(outs[k]->dtype);
        else if ((k -= p->noutputs) < p->npacked) bytes = (uint64_t)poly_eval(&p->packed[k].bytes, sv);
        else bytes = (uint64_t)poly_eval(&p->arena_bytes, sv);
        uint8_t has = data != NULL;
        o_put(f, &bytes, 8);
        o_put(f, &has, 1);
        if (has) o_put(f, data, bytes);
    }
    uint32_t nl = (uint32_t)(p->nprepack + p->nsteps);
    o_put(f, &nl, 4);
    for (uint32_t i = 0; i < nl; i++) {
        const PlanStep *st = i < (uint32_t)p->nprepack ? &p->prepack[i] : &p->steps[i - p->nprepack];
        char name[128] = {0};
        snprintf(name, sizeof name, "%s", p->kernels[st->kernel].name);
        uint32_t threads = 0;
        for (int k = 0; k < nk; k++)
            if (!strcmp(kt[k].name, name)) threads = kt[k].threads;
        int64_t tiles = poly_eval(&st->ntiles, sv);
        o_put(f, name, sizeof name);
        o_put(f, &threads, 4);
        o_put(f, &tiles, 8);
        for (int b = 0; b < LTC_GPU_MAX_BUFS; b++) {
            const PlanBuf *pb = &p->bufs[st->bufs[b < st->nbufs ? b : 0]];
            uint32_t root = pb->kind == BUF_INPUT ? 0 : pb->kind == BUF_PARAM ? (uint32_t)p->ninputs
                          : pb->kind == BUF_OUTPUT ? (uint32_t)(p->ninputs + p->nparams)
                          : pb->kind == BUF_PACKED ? (uint32_t)(p->ninputs + p->nparams + p->noutputs) : nroots - 1;
            if (pb->kind != BUF_ARENA) root += (uint32_t)pb->index;
            uint64_t off = pb->kind == BUF_ARENA ? (uint64_t)poly_eval(&pb->offset, sv) : 0;
            o_put(f, &root, 4);
            o_put(f, &off, 8);
        }
        LtcGpuArgs a;
        memset(&a, 0, sizeof a);
        for (int d = 0; d < st->ndims; d++) a.dims[d] = poly_eval(&st->dims[d], sv);
        a.dims[st->ndims] = (int64_t)og.call;
        a.ntiles = tiles;
        memcpy(a.f, st->f, sizeof a.f);
        o_put(f, &a, sizeof a);
    }
    uint32_t no = (uint32_t)nout;
    o_put(f, &no, 4);
    for (int o = 0; o < nout; o++) {
        uint32_t root = (uint32_t)(p->ninputs + p->nparams + o), dt = (uint32_t)outs[o]->dtype;
        uint64_t bytes = o_node_numel(outs[o]) * dtype_size(outs[o]->dtype);   /* on the device: 2 for bf16/f16 */
        o_put(f, &root, 4);
        o_put(f, &bytes, 8);
        o_put(f, &dt, 4);
        o_put(f, &tol, 8);
        /* the reference in float for a bf16/f16 output (twice its bytes) */
        bool half = outs[o]->dtype == DT_BF16 || outs[o]->dtype == DT_F16;
        o_put(f, ref[o], half ? 2 * bytes : bytes);
    }
    fclose(f);
    csrc_image_free(&img);
    be->destroy(be);
}
#else
static void o_dump_cuda(Graph *g, Node **outs, int nout, void **ref, void **ins, size_t *ibytes, void **params,
                        size_t *pbytes, double tol) {
    (void)g; (void)outs; (void)nout; (void)ref; (void)ins; (void)ibytes; (void)params; (void)pbytes; (void)tol;
}
#endif

/* The graph's outputs (outs[0..nout), already added with ir_add_output):
 * plan_build for opencl, build, run, compare each.  Returns the largest
 * relative error. */
__attribute__((unused)) static double o_check_outputs(Node **outs, int nout, double tol) {
    Graph *g = og.g;
    cr_assert(nout >= 1 && nout <= 4 && g->noutputs == nout);
    /* --dtype: the graph in bf16/f16, its float inputs rounded (the
     * interpreter's storage) and given to the kernels in 2 bytes */
    void *dev_in[16];
    size_t dev_in_bytes[16];
    for (int i = 0; i < og.nin; i++) { dev_in[i] = og.in_data[i]; dev_in_bytes[i] = og.in_bytes[i]; }
    if (og.dtype != DT_F32) {
        cr_assert(pass_to_dtype(g, og.dtype, &og.d) == 0, "%s", og.d.msg);
        if (og.dtype_tol > tol) tol = og.dtype_tol;
        for (int i = 0; i < g->ninputs; i++) {
            const Node *x = g->inputs[i];
            if (x->dtype != og.dtype) continue;
            for (size_t j = 0; j < o_node_numel(x); j++)
                ((float *)og.in_data[i])[j] = round_to_dtype(x->dtype, ((float *)og.in_data[i])[j]);
            dev_in[i] = o_to_device(x, og.in_data[i], &dev_in_bytes[i]);
        }
    }
    /* the reference first (plan_build may look at users, never changes values) */
    int64_t ish[16][LTC_MAX_RANK];
    for (int i = 0; i < g->ninputs; i++)
        for (int j = 0; j < g->inputs[i]->shape.rank; j++) ish[i][j] = g->inputs[i]->shape.d[j].k;
    void *ref[4];
    int64_t rsh[4][LTC_MAX_RANK];
    RunArgs ra = {.inputs = og.in_data, .in_shapes = ish, .outputs = ref, .out_shapes = rsh, .call = og.call};
    cr_assert(ir_run(g, &ra, &og.a, &og.d) == 0, "ir_run: %s", og.d.msg);

    BackendOptions bo = {.opt_level = 2};
    /* the constructor, not backend_new: the registry would link the CPU
     * backend and LLVM 16, whose symbols then interpose on PoCL's LLVM 15
     * inside clBuildProgram (a crash in llvm::VerifierPass) */
    Backend *be = backend_opencl_new(&og.a, &bo, &og.d);
    cr_assert(be, "%s", og.d.msg);
    Plan *p = NULL;
    cr_assert(plan_build(g, be, &og.a, &p, &og.d) == 0, "plan_build: %s", og.d.msg);
    void *params[16];
    size_t pbytes[16];
    cr_assert(p->nparams <= 16);
    for (int i = 0; i < p->nparams; i++) {
        Node *po = g->params[i]->origin;
        cr_assert(ir_force(po, &og.d) == 0, "%s", og.d.msg);
        params[i] = o_to_device(po, po->data, &pbytes[i]);
    }
    void *res[4];
    size_t obytes[4];
    for (int o = 0; o < nout; o++) {
        obytes[o] = o_node_numel(outs[o]) * dtype_size(outs[o]->dtype);
        res[o] = arena_alloc_big(&og.a, obytes[o] + 64);
        memset(res[o], 0xff, obytes[o]);   /* NaN: unwritten elements show */
    }
    int64_t symvals[LTC_MAX_SYMS] = {0};
    OclPlanRun r = {.plan = p, .symvals = symvals, .inputs = dev_in, .in_bytes = dev_in_bytes, .params = params,
                    .param_bytes = pbytes, .outputs = res, .out_bytes = obytes, .call = og.call};
    o_gpu_run(&og.cl, be, p, &r, &og.d);

    o_dump_cuda(g, outs, nout, ref, dev_in, dev_in_bytes, params, pbytes, tol);
    double worst = 0;
    for (int o = 0; o < nout; o++) {
        const Node *n = outs[o];
        double maxerr = 0, maxref = 0;
        size_t ne = o_node_numel(n);
        for (size_t i = 0; i < ne; i++) {
            double rv, x;
            if (n->dtype == DT_I64) { rv = (double)((int64_t *)ref[o])[i]; x = (double)((int64_t *)res[o])[i]; }
            else if (n->dtype == DT_BOOL) { rv = ((uint8_t *)ref[o])[i]; x = ((uint8_t *)res[o])[i]; }
            else if (n->dtype == DT_BF16) { rv = ((float *)ref[o])[i]; x = bf16_to_f32(((uint16_t *)res[o])[i]); }
            else if (n->dtype == DT_F16) { rv = ((float *)ref[o])[i]; x = f16_to_f32(((uint16_t *)res[o])[i]); }
            else { rv = ((float *)ref[o])[i]; x = ((float *)res[o])[i]; }
            if (isnan(rv) && isnan(x)) continue;
            if (isinf(rv) && rv == x) continue;   /* f16: -1e9 is -inf on both sides */
            double e = fabs(rv - x);
            if (!(e <= maxerr)) maxerr = isnan(e) ? INFINITY : e;
            if (fabs(rv) > maxref) maxref = fabs(rv);
        }
        double rel = maxerr / (maxref > 1 ? maxref : 1);
        cr_expect(rel <= tol, "%s output %d: rel err %.3g > %.3g (max ref %g)", op_info[n->op].name, o, rel, tol, maxref);
        if (rel > worst) worst = rel;
    }
    be->destroy(be);
    return worst;
}

/* Node n as the graph's one output (see o_check_outputs). */
__attribute__((unused)) static double o_check(Node *n, double tol) {
    ir_add_output(og.g, n);
    return o_check_outputs(&n, 1, tol);
}
