/* device_opencl.c: the OpenCL device (descriptor device "opencl"): runs a
 * GPU model's kernels (plan/gpu_abi.h, the LTC_CODE_OPENCL_C section of
 * its code image) on an OpenCL 1.2 device; on the development machines
 * that is PoCL on the CPU.
 *
 * The driver is opened with dlopen when a model opens (libOpenCL.so.1, the
 * ICD loader; LTC_OPENCL_LIB=path overrides it), never linked: a host
 * without OpenCL still loads the runtime and runs CPU models, and opening
 * an OpenCL model says why it cannot run.  <CL/cl.h> is included for its
 * types and constants only.  The device is the first GPU of any platform,
 * else the first device of the first platform (LTC_OPENCL_DEVICE=N picks
 * the N-th device counting every platform's in order); one context, one
 * in-order queue, so launches and copies happen in the order issued and
 * only sync (clFinish) and the blocking reads wait.
 *
 * Fake addresses.  The executor computes buffer addresses as base +
 * offset (scratch arena slots, staged inputs, views).  OpenCL 1.2 buffers
 * are handles (cl_mem), not addresses a host can add to, and 2.0's shared
 * virtual memory is not universal.  So alloc returns a number, not a
 * pointer: the buffer's slot in this device's table in the high bits, the
 * byte offset in the low 40 (rt_opencl.h).  Launches and copies decode it
 * back into (cl_mem, offset) and check both; each kernel buffer is passed
 * as the two arguments gpu_abi.h specifies (__global char *, long).
 * Nothing ever dereferences a fake address. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "runtime/device.h"
#include "runtime/rt_internal.h"
#include "runtime/rt_opencl.h"
#include "plan/code_image.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry points used, with the 1.2 signatures. */
#define CL_FUNCS(X)                                                                                          \
    X(GetPlatformIDs, cl_int, (cl_uint, cl_platform_id *, cl_uint *))                                        \
    X(GetDeviceIDs, cl_int, (cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *))           \
    X(GetDeviceInfo, cl_int, (cl_device_id, cl_device_info, size_t, void *, size_t *))                      \
    X(CreateContext, cl_context, (const cl_context_properties *, cl_uint, const cl_device_id *,             \
                                  void (CL_CALLBACK *)(const char *, const void *, size_t, void *), void *,  \
                                  cl_int *))                                                                 \
    X(ReleaseContext, cl_int, (cl_context))                                                                  \
    X(CreateCommandQueue, cl_command_queue, (cl_context, cl_device_id, cl_command_queue_properties, cl_int *)) \
    X(ReleaseCommandQueue, cl_int, (cl_command_queue))                                                       \
    X(CreateBuffer, cl_mem, (cl_context, cl_mem_flags, size_t, void *, cl_int *))                            \
    X(ReleaseMemObject, cl_int, (cl_mem))                                                                    \
    X(EnqueueFillBuffer, cl_int, (cl_command_queue, cl_mem, const void *, size_t, size_t, size_t, cl_uint,  \
                                  const cl_event *, cl_event *))                                             \
    X(EnqueueWriteBuffer, cl_int, (cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *, cl_uint, \
                                   const cl_event *, cl_event *))                                            \
    X(EnqueueReadBuffer, cl_int, (cl_command_queue, cl_mem, cl_bool, size_t, size_t, void *, cl_uint,       \
                                  const cl_event *, cl_event *))                                             \
    X(CreateProgramWithSource, cl_program, (cl_context, cl_uint, const char **, const size_t *, cl_int *))  \
    X(BuildProgram, cl_int, (cl_program, cl_uint, const cl_device_id *, const char *,                       \
                             void (CL_CALLBACK *)(cl_program, void *), void *))                              \
    X(GetProgramBuildInfo, cl_int, (cl_program, cl_device_id, cl_program_build_info, size_t, void *, size_t *)) \
    X(ReleaseProgram, cl_int, (cl_program))                                                                  \
    X(CreateKernel, cl_kernel, (cl_program, const char *, cl_int *))                                         \
    X(ReleaseKernel, cl_int, (cl_kernel))                                                                    \
    X(SetKernelArg, cl_int, (cl_kernel, cl_uint, size_t, const void *))                                      \
    X(GetKernelWorkGroupInfo, cl_int, (cl_kernel, cl_device_id, cl_kernel_work_group_info, size_t, void *,  \
                                       size_t *))                                                            \
    X(EnqueueNDRangeKernel, cl_int, (cl_command_queue, cl_kernel, cl_uint, const size_t *, const size_t *,  \
                                     const size_t *, cl_uint, const cl_event *, cl_event *))                 \
    X(Finish, cl_int, (cl_command_queue))

typedef struct ClApi {
#define X(name, ret, args) ret (CL_API_CALL *name) args;
    CL_FUNCS(X)
#undef X
} ClApi;

typedef struct ClBuf { cl_mem mem; uint64_t size; } ClBuf;

/* A kernel handle (device.h load). */
typedef struct ClKernel {
    cl_kernel k;
    const char *name;               /* the descriptor's string */
} ClKernel;

typedef struct ClDevice {
    RtDevice base;
    void *lib;
    ClApi cl;
    cl_device_id dev;
    cl_context ctx;
    cl_command_queue q;
    cl_program prog;                /* the model's program (one load per device) */
    cl_mem dummy;                   /* for unused buffer slots (gpu_abi.h) */
    ClBuf *bufs;                    /* alloc's table, indexed by slot */
    uint32_t nbufs, capbufs;
    char name[128];                 /* the device's name, for messages */
} ClDevice;

extern const RtDeviceOps rt_device_opencl;


/* "clX: CL_NAME" into err; -1 */
static int cl_fail(char *err, size_t n, const char *call, cl_int st) {
    char buf[32];
    return rt_fail(err, n, "%s: %s", call, rt_cl_error_name(st, buf, sizeof buf));
}

/* ---- open / close --------------------------------------------------------------- */
static int load_api(ClDevice *c, char *err, size_t errlen) {
    const char *path = getenv("LTC_OPENCL_LIB");
    if (!path || !*path) path = "libOpenCL.so.1";
    c->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!c->lib) {
        const char *why = dlerror();
        return rt_fail(err, errlen, "cannot load the OpenCL library '%s' (%s): install an OpenCL ICD loader "
                    "(libOpenCL.so.1) and a driver, or set LTC_OPENCL_LIB", path, why ? why : "?");
    }
    static const RtDlSym syms[] = {
#define X(name, ret, args) {"cl" #name, offsetof(ClApi, name)},
        CL_FUNCS(X)
#undef X
    };
    const char *missing = rt_dl_bind(c->lib, syms, sizeof syms / sizeof syms[0], &c->cl);
    if (missing) return rt_fail(err, errlen, "the OpenCL library '%s' has no %s (an OpenCL 1.2 library is needed)", path, missing);
    return 0;
}

/* The device: LTC_OPENCL_DEVICE=N, else the first GPU, else the first
 * device of the first platform. */
static int pick_device(ClDevice *c, char *err, size_t errlen) {
    cl_uint np = 0;
    cl_int st = c->cl.GetPlatformIDs(0, NULL, &np);
    if (st == -1001 || (st == CL_SUCCESS && np == 0))
        return rt_fail(err, errlen, "no OpenCL platform: the ICD loader found no driver (install one, e.g. pocl-opencl-icd)");
    if (st != CL_SUCCESS) return cl_fail(err, errlen, "clGetPlatformIDs", st);
    if (np > 64) np = 64;
    cl_platform_id plats[64];
    if ((st = c->cl.GetPlatformIDs(np, plats, NULL)) != CL_SUCCESS) return cl_fail(err, errlen, "clGetPlatformIDs", st);
    const char *want = getenv("LTC_OPENCL_DEVICE");
    long pick = -1;
    if (want && *want) {
        char *end;
        pick = strtol(want, &end, 10);
        if (*end || pick < 0) return rt_fail(err, errlen, "LTC_OPENCL_DEVICE='%s' is not a device number", want);
    }
    cl_device_id first = NULL, gpu = NULL;
    long seen = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[64];
        cl_uint nd = 0;
        st = c->cl.GetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 64, devs, &nd);
        if (st == CL_DEVICE_NOT_FOUND) continue;
        if (st != CL_SUCCESS) return cl_fail(err, errlen, "clGetDeviceIDs", st);
        if (nd > 64) nd = 64;
        for (cl_uint i = 0; i < nd; i++, seen++) {
            if (seen == pick) { c->dev = devs[i]; return 0; }
            if (!first && p == 0) first = devs[i];
            cl_device_type t = 0;
            if (!gpu && c->cl.GetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof t, &t, NULL) == CL_SUCCESS &&
                (t & CL_DEVICE_TYPE_GPU))
                gpu = devs[i];
        }
    }
    if (pick >= 0) return rt_fail(err, errlen, "LTC_OPENCL_DEVICE=%ld, but there are %ld OpenCL devices", pick, seen);
    c->dev = gpu ? gpu : first;
    if (!c->dev) return rt_fail(err, errlen, "no OpenCL device (%u platform%s, none has a device)", np, np == 1 ? "" : "s");
    return 0;
}

static void cl_close(RtDevice *d) {
    ClDevice *c = (ClDevice *)d;
    if (!c) return;
    for (uint32_t i = 0; i < c->nbufs; i++)
        if (c->bufs[i].mem) c->cl.ReleaseMemObject(c->bufs[i].mem);
    free(c->bufs);
    if (c->dummy) c->cl.ReleaseMemObject(c->dummy);
    if (c->prog) c->cl.ReleaseProgram(c->prog);
    if (c->q) c->cl.ReleaseCommandQueue(c->q);
    if (c->ctx) c->cl.ReleaseContext(c->ctx);
    if (c->lib) dlclose(c->lib);
    free(c);
}

static RtDevice *cl_open(int nthreads, char *err, size_t errlen) {
    (void)nthreads;                 /* host threads do not run the kernels */
    ClDevice *c = calloc(1, sizeof *c);
    if (!c) { rt_fail(err, errlen, "out of memory"); return NULL; }
    c->base.ops = &rt_device_opencl;
    char why[400];
    cl_int st = CL_SUCCESS;
    if (load_api(c, why, sizeof why) != 0 || pick_device(c, why, sizeof why) != 0) goto bad;
    if (c->cl.GetDeviceInfo(c->dev, CL_DEVICE_NAME, sizeof c->name - 1, c->name, NULL) != CL_SUCCESS)
        snprintf(c->name, sizeof c->name, "?");
    c->ctx = c->cl.CreateContext(NULL, 1, &c->dev, NULL, NULL, &st);
    if (!c->ctx || st != CL_SUCCESS) { cl_fail(why, sizeof why, "clCreateContext", st); goto bad; }
    c->q = c->cl.CreateCommandQueue(c->ctx, c->dev, 0, &st);     /* in order */
    if (!c->q || st != CL_SUCCESS) { cl_fail(why, sizeof why, "clCreateCommandQueue", st); goto bad; }
    c->dummy = c->cl.CreateBuffer(c->ctx, CL_MEM_READ_WRITE, 64, NULL, &st);
    if (!c->dummy || st != CL_SUCCESS) { cl_fail(why, sizeof why, "clCreateBuffer", st); goto bad; }
    return &c->base;
bad:
    rt_fail(err, errlen, "OpenCL device: %s", why);
    cl_close(&c->base);
    return NULL;
}

static int cl_set_threads(RtDevice *d, int n, char *err, size_t errlen) {
    (void)d, (void)n, (void)err, (void)errlen;
    return 0;                       /* the driver schedules the work-items */
}
static int cl_threads(const RtDevice *d) { (void)d; return 1; }   /* the host thread that issues the launches */

/* ---- memory ------------------------------------------------------------------------ */
static void *cl_alloc(RtDevice *d, size_t bytes) {
    ClDevice *c = (ClDevice *)d;
    uint64_t sz = ((uint64_t)bytes + 63) & ~(uint64_t)63;
    if (sz < bytes || sz >= (uint64_t)1 << RT_CL_ADDR_SHIFT) return NULL;   /* wrapped, or past the offset bits */
    if (sz == 0) sz = 64;
    uint32_t slot = 0;
    while (slot < c->nbufs && c->bufs[slot].mem) slot++;            /* reuse a freed slot */
    if (slot == c->nbufs) {
        if (c->nbufs >= RT_CL_MAX_SLOTS) return NULL;
        if (c->nbufs == c->capbufs) {
            uint32_t cap = c->capbufs ? c->capbufs * 2 : 16;
            if (cap > RT_CL_MAX_SLOTS) cap = RT_CL_MAX_SLOTS;
            ClBuf *nb = realloc(c->bufs, sizeof *nb * cap);
            if (!nb) return NULL;
            c->bufs = nb;
            c->capbufs = cap;
        }
        c->bufs[c->nbufs++] = (ClBuf){NULL, 0};
    }
    cl_int st = CL_SUCCESS;
    cl_mem m = c->cl.CreateBuffer(c->ctx, CL_MEM_READ_WRITE, (size_t)sz, NULL, &st);
    if (!m || st != CL_SUCCESS) return NULL;
    /* zeroed like the CPU device's memory (device.h); in order, so before
     * any later use */
    const cl_uint zero = 0;
    if (c->cl.EnqueueFillBuffer(c->q, m, &zero, sizeof zero, 0, (size_t)sz, 0, NULL, NULL) != CL_SUCCESS) {
        c->cl.ReleaseMemObject(m);
        return NULL;
    }
    c->bufs[slot] = (ClBuf){m, sz};
    return (void *)rt_cl_addr(slot, 0);
}

/* The buffer and offset of fake address p, with n bytes from there inside
 * the buffer. */
static int decode(ClDevice *c, const void *p, uint64_t n, cl_mem *mem, uint64_t *off, char *err, size_t errlen) {
    uint32_t slot;
    uint64_t end;
    if (rt_cl_decode((uintptr_t)p, &slot, off) != 0 || slot >= c->nbufs || !c->bufs[slot].mem)
        return rt_fail(err, errlen, "address %p is not OpenCL device memory of this model", p);
    if (__builtin_add_overflow(*off, n, &end) || end > c->bufs[slot].size)
        return rt_fail(err, errlen, "%llu bytes at offset %llu run past an OpenCL buffer of %llu bytes",
                    (unsigned long long)n, (unsigned long long)*off, (unsigned long long)c->bufs[slot].size);
    *mem = c->bufs[slot].mem;
    return 0;
}

static void cl_free(RtDevice *d, void *p) {
    ClDevice *c = (ClDevice *)d;
    cl_mem m = NULL;
    uint64_t off = 0;
    if (!p || decode(c, p, 0, &m, &off, NULL, 0) != 0 || off != 0) return;   /* not one alloc returned */
    uint32_t slot = 0;
    rt_cl_decode((uintptr_t)p, &slot, &off);
    /* a release waits for nothing: OpenCL keeps the object alive until
     * the commands that use it have finished */
    c->cl.ReleaseMemObject(m);
    c->bufs[slot] = (ClBuf){NULL, 0};
}

static int cl_to_device(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    ClDevice *c = (ClDevice *)d;
    cl_mem m = NULL;
    uint64_t off = 0;
    if (decode(c, dst, n, &m, &off, err, errlen) != 0) return -1;
    /* blocking: src may be freed or reused as soon as this returns */
    cl_int st = c->cl.EnqueueWriteBuffer(c->q, m, CL_TRUE, (size_t)off, n, src, 0, NULL, NULL);
    return st == CL_SUCCESS ? 0 : cl_fail(err, errlen, "clEnqueueWriteBuffer", st);
}

static int cl_to_host(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    ClDevice *c = (ClDevice *)d;
    cl_mem m = NULL;
    uint64_t off = 0;
    if (decode(c, src, n, &m, &off, err, errlen) != 0) return -1;
    cl_int st = c->cl.EnqueueReadBuffer(c->q, m, CL_TRUE, (size_t)off, n, dst, 0, NULL, NULL);
    return st == CL_SUCCESS ? 0 : cl_fail(err, errlen, "clEnqueueReadBuffer", st);
}

/* ---- kernels --------------------------------------------------------------------- */
/* "clBuildProgram: CL_BUILD_PROGRAM_FAILURE: <log>" */
static int build_failed(ClDevice *c, cl_int st, char *err, size_t errlen) {
    char buf[32];
    size_t n = 0;
    char *log = NULL;
    if (c->cl.GetProgramBuildInfo(c->prog, c->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) == CL_SUCCESS && n > 0 &&
        n < ((size_t)1 << 24) && (log = malloc(n + 1)) &&
        c->cl.GetProgramBuildInfo(c->prog, c->dev, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) {
        log[n] = 0;
        /* the message is short (512 bytes): drop the log's blank lines */
        char *w = log;
        for (char *r = log; *r; r++)
            if (!(*r == '\n' && (w == log || w[-1] == '\n'))) *w++ = *r;
        while (w > log && (w[-1] == '\n' || w[-1] == ' ')) w--;
        *w = 0;
    }
    rt_fail(err, errlen, "clBuildProgram: %s: %s", rt_cl_error_name(st, buf, sizeof buf), log && *log ? log : "(no build log)");
    free(log);
    return -1;
}

static void cl_unload(RtDevice *d, void **kernels, uint32_t n) {
    ClDevice *c = (ClDevice *)d;
    for (uint32_t i = 0; kernels && i < n; i++) {
        ClKernel *k = kernels[i];
        if (k && k->k) c->cl.ReleaseKernel(k->k);
        free(k);
        kernels[i] = NULL;
    }
    if (c->prog) c->cl.ReleaseProgram(c->prog);
    c->prog = NULL;
}

static int cl_load(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen) {
    ClDevice *c = (ClDevice *)d;
    if (c->prog) return rt_fail(err, errlen, "OpenCL device: a model is loaded already");
    if (desc->nkernels && !desc->gpu_kernels)
        return rt_fail(err, errlen, "the descriptor has no GPU kernel table (gpu_kernels is NULL)");
    const uint8_t *src;
    uint64_t len;
    char why[300];
    int found = code_image_find(desc->code, desc->code_len, LTC_CODE_OPENCL_C, 0, &src, &len, why, sizeof why);
    if (found < 0) return rt_fail(err, errlen, "%s", why);
    if (found == 0) return rt_fail(err, errlen, "the code image has no OpenCL C section");
    if (len > SIZE_MAX) return rt_fail(err, errlen, "OpenCL C source too large");
    cl_int st = CL_SUCCESS;
    const char *s = (const char *)src;
    size_t sl = (size_t)len;
    c->prog = c->cl.CreateProgramWithSource(c->ctx, 1, &s, &sl, &st);
    if (!c->prog || st != CL_SUCCESS) { c->prog = NULL; return cl_fail(err, errlen, "clCreateProgramWithSource", st); }
    /* gpu_abi.h's kernels are OpenCL C 1.2, which every 1.2+ device compiles */
    if ((st = c->cl.BuildProgram(c->prog, 1, &c->dev, "-cl-std=CL1.2", NULL, NULL)) != CL_SUCCESS) {
        build_failed(c, st, err, errlen);
        cl_unload(d, kernels, 0);
        return -1;
    }
    for (uint32_t i = 0; i < desc->nkernels; i++) kernels[i] = NULL;
    for (uint32_t i = 0; i < desc->nkernels; i++) {
        const LtcGpuKernel *g = &desc->gpu_kernels[i];
        ClKernel *k = calloc(1, sizeof *k);
        int rc = 0;
        if (!k) rc = rt_fail(err, errlen, "out of memory");
        else if (!g->name) rc = rt_fail(err, errlen, "GPU kernel %u has no name", i);
        else {
            kernels[i] = k;
            k->name = g->name;
            k->k = c->cl.CreateKernel(c->prog, g->name, &st);
            if (!k->k || st != CL_SUCCESS) {
                k->k = NULL;
                rc = rt_fail(err, errlen, "clCreateKernel('%s'): %s", g->name, rt_cl_error_name(st, why, sizeof why));
            }
        }
        size_t wg = 0;
        if (rc == 0 && (st = c->cl.GetKernelWorkGroupInfo(k->k, c->dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL)) != CL_SUCCESS)
            rc = cl_fail(err, errlen, "clGetKernelWorkGroupInfo", st);
        if (rc == 0 && (g->threads == 0 || g->threads > wg))
            rc = rt_fail(err, errlen, "kernel '%s' runs groups of %u work-items; OpenCL device '%s' allows 1 to %zu for it",
                      g->name, g->threads, c->name, wg);
        if (rc != 0) {
            if (k && !kernels[i]) free(k);
            cl_unload(d, kernels, i + 1);
            return -1;
        }
    }
    return 0;
}

static int cl_launch(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                     const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen) {
    (void)bytes;
    ClDevice *c = (ClDevice *)d;
    const ClKernel *k = kernel;
    LtcGpuArgs a;
    if (rt_gpu_args(k->name, nbufs, dims, ndims, f, ntiles, threads, &a, err, errlen) != 0) return -1;
    if (ntiles <= 0) return 0;
    cl_int st;
    for (int j = 0; j < LTC_GPU_MAX_BUFS; j++) {
        cl_mem m = c->dummy;
        uint64_t off = 0;
        /* a slot the step does not use, or a buffer it does not reach
         * (NULL base: none in this call), gets the dummy buffer */
        if (j < nbufs && ptrs[j] && decode(c, ptrs[j], 0, &m, &off, err, errlen) != 0) return -1;
        cl_long loff = (cl_long)off;
        if ((st = c->cl.SetKernelArg(k->k, (cl_uint)(2 * j), sizeof m, &m)) != CL_SUCCESS ||
            (st = c->cl.SetKernelArg(k->k, (cl_uint)(2 * j + 1), sizeof loff, &loff)) != CL_SUCCESS)
            return cl_fail(err, errlen, "clSetKernelArg", st);
    }
    /* at most LTC_GPU_MAX_GROUPS groups a launch (the smallest grid limit
     * of the targets): a bigger step is several launches, tile0 apart */
    for (int64_t t0 = 0; t0 < ntiles; t0 += LTC_GPU_MAX_GROUPS) {
        int64_t groups = ntiles - t0 < LTC_GPU_MAX_GROUPS ? ntiles - t0 : LTC_GPU_MAX_GROUPS;
        size_t global, local = threads;
        if (__builtin_mul_overflow((size_t)groups, local, &global))
            return rt_fail(err, errlen, "kernel '%s': %lld groups of %u overflow", k->name, (long long)groups, threads);
        a.tile0 = t0;
        /* arguments are captured at enqueue: resetting them for the next
         * launch does not disturb this one */
        if ((st = c->cl.SetKernelArg(k->k, 2 * LTC_GPU_MAX_BUFS, sizeof a, &a)) != CL_SUCCESS)
            return cl_fail(err, errlen, "clSetKernelArg", st);
        if ((st = c->cl.EnqueueNDRangeKernel(c->q, k->k, 1, NULL, &global, &local, 0, NULL, NULL)) != CL_SUCCESS) {
            char buf[32];
            return rt_fail(err, errlen, "clEnqueueNDRangeKernel(%s): %s", k->name, rt_cl_error_name(st, buf, sizeof buf));
        }
    }
    return 0;
}

static int cl_sync(RtDevice *d, char *err, size_t errlen) {
    ClDevice *c = (ClDevice *)d;
    cl_int st = c->cl.Finish(c->q);
    return st == CL_SUCCESS ? 0 : cl_fail(err, errlen, "clFinish", st);
}

const RtDeviceOps rt_device_opencl = {
    .name = "opencl",
    /* host tensors, staged through device memory (device.h): an OpenCL
     * DLPack tensor's data is a cl_mem of another context */
    .dlpack_device_type = 1,            /* kDLCPU */
    .memory = "host (CPU)",
    .host_memory = false,
    .native_code = false,
    .open = cl_open,
    .close = cl_close,
    .set_threads = cl_set_threads,
    .threads = cl_threads,
    .load = cl_load,
    .unload = cl_unload,
    .alloc = cl_alloc,
    .free = cl_free,
    .copy_to_device = cl_to_device,
    .copy_to_host = cl_to_host,
    .launch = cl_launch,
    .sync = cl_sync,
};
