/* device_cuda.c: the CUDA device (descriptor device "cuda"): runs a GPU
 * model's kernels (plan/gpu_abi.h) on an NVIDIA GPU through the driver
 * API.
 *
 * The driver (libcuda.so.1; LTC_CUDA_LIB=path overrides it) is opened with
 * dlopen when a model opens, never linked, and every entry point is taken
 * by its versioned name (rt_cuda.h): a host without a driver still loads
 * the runtime and runs CPU models, and opening a CUDA model says why it
 * cannot run (no library, the toolkit's stub, no device...).  The device
 * is GPU 0 (LTC_CUDA_DEVICE=N picks another); its primary context (shared
 * with any CUDA runtime or framework in the process, as cudart does) is
 * made current around every call and released at close; one
 * non-blocking stream carries every copy and launch, in order.
 *
 * Code.  The code image holds cubins (sm_80, sm_90a...) and PTX
 * (compute_80): load picks the cubin for this GPU's compute capability or
 * lets the driver JIT the PTX (rt_cu_pick_code; LTC_CUDA_PTX=1 forces the
 * PTX).
 *
 * Memory.  alloc is cuMemAlloc (256-byte aligned, zeroed on the stream);
 * addresses are real device addresses, which the executor adds offsets to.
 * Tensors on this GPU (DLPack kDLCUDA) are used in place; host tensors
 * are staged by the executor (stage.c).
 *
 * Graphs.  A forward's launches are queued, not issued, until something
 * needs them (a copy, sync, free): then the queue is one "batch".  A batch
 * that repeats the previous one launch for launch (same kernels, grids
 * and arguments; only the call number of the kernels that read it may
 * differ) is replayed as a CUDA graph: built and instantiated the second
 * time it is seen, launched with one cuGraphLaunch after that (the call
 * number of random kernels is updated in their nodes).  So a model run
 * again at the same sizes costs one launch on the GPU's side.
 * LTC_CUDA_GRAPHS=0 issues every launch directly. */
#include "runtime/device.h"
#include "runtime/rt_cuda.h"
#include "runtime/rt_cuda_tma.h"
#include "runtime/rt_internal.h"
#include "plan/code_image.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A kernel handle (device.h load). */
typedef struct CuKernel {
    CuFn fn;
    const char *name;               /* the descriptor's string */
    bool reads_call;                /* LTC_GPU_READS_CALL */
    unsigned dsm;                   /* dynamic shared memory per launch (plan/gpu_abi.h: ltc_dsm_<name>) */
    uint32_t tma;                   /* its ltc_tma_<name> (A and W box rows), 0: no tensor maps */
    double ms;                      /* LTC_CUDA_PROFILE: time in this kernel's launches */
    uint64_t calls;
} CuKernel;

/* One queued launch: what cuLaunchKernel takes, with the parameters by
 * value (the executor's arrays do not outlive launch). */
typedef struct CuLaunch {
    const CuKernel *k;
    uint32_t groups, threads;
    CuDevPtr bufs[LTC_GPU_MAX_BUFS];
    LtcGpuArgs args;
    uint8_t maps[2][LTC_GPU_TMA_MAP_BYTES];   /* k->tma: the tensor maps of A and W (the driver copies them) */
} CuLaunch;

/* The parameter array of a launch: the buffers, args, and the tensor maps
 * of a TMA kernel. */
enum { CU_MAX_PARAMS = LTC_GPU_MAX_BUFS + 3 };

typedef struct CuQueue { CuLaunch *l; size_t n, cap; } CuQueue;

typedef struct CuDeviceImpl {
    RtDevice base;
    void *lib;
    RtCuApi cu;
    CuDevice dev;
    CuCtx ctx;
    CuStream stream;
    CuMod mod;
    CuDevPtr dummy;                 /* for unused buffer slots (gpu_abi.h) */
    int cc_major, cc_minor;
    bool graphs;                    /* LTC_CUDA_GRAPHS != 0 */
    bool profile;                   /* LTC_CUDA_PROFILE=1: each launch timed (no graphs) */
    CuEvent ev[2];
    CuQueue q;                      /* launches not yet issued */
    CuQueue last;                   /* the previous batch, for graph replay */
    CuGraph graph;                  /* of `last`, once seen twice */
    CuGraphExec exec;
    CuGraphNode *nodes;             /* graph's nodes, in launch order */
    char name[128];
} CuDeviceImpl;

extern const RtDeviceOps rt_device_cuda;

/* "cuX: CUDA_ERROR_NAME" into err; -1 */
static int cu_fail(char *err, size_t n, const char *call, CuResult st) {
    char buf[32];
    return rt_fail(err, n, "%s: %s", call, rt_cu_error_name(st, buf, sizeof buf));
}

/* Make the context current for one call of ours, and restore the caller's. */
static int push(CuDeviceImpl *c, char *err, size_t n) {
    CuResult st = c->cu.CtxPushCurrent(c->ctx);
    return st == 0 ? 0 : cu_fail(err, n, "cuCtxPushCurrent", st);
}
static void pop(CuDeviceImpl *c) {
    CuCtx old;
    (void)c->cu.CtxPopCurrent(&old);
}

/* ---- graphs ------------------------------------------------------------------------- */
static void graph_drop(CuDeviceImpl *c) {
    if (c->exec) c->cu.GraphExecDestroy(c->exec);
    if (c->graph) c->cu.GraphDestroy(c->graph);
    free(c->nodes);
    c->exec = NULL, c->graph = NULL, c->nodes = NULL;
}

static void node_params(const CuLaunch *l, void **params, RtCuKernelNode *np) {
    for (int j = 0; j < LTC_GPU_MAX_BUFS; j++) params[j] = (void *)&l->bufs[j];
    params[LTC_GPU_MAX_BUFS] = (void *)&l->args;
    params[LTC_GPU_MAX_BUFS + 1] = (void *)l->maps[0];
    params[LTC_GPU_MAX_BUFS + 2] = (void *)l->maps[1];
    memset(np, 0, sizeof *np);
    np->func = l->k->fn;
    np->gridDimX = l->groups, np->gridDimY = 1, np->gridDimZ = 1;
    np->blockDimX = l->threads, np->blockDimY = 1, np->blockDimZ = 1;
    np->sharedMemBytes = ((const CuKernel *)l->k)->dsm;
    np->kernelParams = params;
}

/* The batch in q as a chain of kernel nodes, instantiated. */
static int graph_build(CuDeviceImpl *c, char *err, size_t errlen) {
    CuResult st;
    c->nodes = calloc(c->q.n ? c->q.n : 1, sizeof *c->nodes);
    if (!c->nodes) return rt_fail(err, errlen, "out of memory");
    if ((st = c->cu.GraphCreate(&c->graph, 0)) != 0) return cu_fail(err, errlen, "cuGraphCreate", st);
    for (size_t i = 0; i < c->q.n; i++) {
        void *params[CU_MAX_PARAMS];
        RtCuKernelNode np;
        node_params(&c->q.l[i], params, &np);
        if ((st = c->cu.GraphAddKernelNode(&c->nodes[i], c->graph, i ? &c->nodes[i - 1] : NULL, i ? 1 : 0, &np)) != 0)
            return cu_fail(err, errlen, "cuGraphAddKernelNode", st);
    }
    if ((st = c->cu.GraphInstantiate(&c->exec, c->graph, 0)) != 0) {
        c->exec = NULL;
        return cu_fail(err, errlen, "cuGraphInstantiateWithFlags", st);
    }
    return 0;
}

/* Does launch a equal b, apart from the call number of a kernel that
 * reads it? */
static bool same_launch(const CuLaunch *a, const CuLaunch *b) {
    if (a->k != b->k || a->groups != b->groups || a->threads != b->threads ||
        memcmp(a->bufs, b->bufs, sizeof a->bufs) != 0)
        return false;
    if (a->k->tma && memcmp(a->maps, b->maps, sizeof a->maps) != 0) return false;
    if (memcmp(&a->args, &b->args, sizeof a->args) == 0) return true;
    if (!a->k->reads_call) return false;
    LtcGpuArgs x = a->args, y = b->args;
    memset(x.dims, 0, sizeof x.dims), memset(y.dims, 0, sizeof y.dims);
    if (memcmp(&x, &y, sizeof x) != 0) return false;
    /* the call number is the last dim used; every other dim must agree */
    int diff = 0;
    for (int j = 0; j < LTC_GPU_MAX_DIMS; j++) diff += a->args.dims[j] != b->args.dims[j];
    return diff <= 1;
}

/* ---- LTC_CUDA_PROFILE ----------------------------------------------------------------- */
/* The launch just issued between ev[0] and ev[1], waited for: its time
 * goes to its kernel (the profile serialises the stream; it measures
 * kernels, not the overlap of a run). */
static int profile_add(CuDeviceImpl *c, CuKernel *k, char *err, size_t errlen) {
    float ms = 0;
    CuResult st = c->cu.EventRecord(c->ev[1], c->stream);
    if (st == 0) st = c->cu.EventSynchronize(c->ev[1]);
    if (st != 0) return cu_fail(err, errlen, "cuEventRecord/cuEventSynchronize", st);
    if ((st = c->cu.EventElapsedTime(&ms, c->ev[0], c->ev[1])) != 0) return cu_fail(err, errlen, "cuEventElapsedTime", st);
    k->ms += ms;
    k->calls++;
    return 0;
}

/* The kernels' times, largest first, on stderr (the user asked for it by
 * LTC_CUDA_PROFILE=1). */
static void profile_print(const CuDeviceImpl *c, void **kernels, uint32_t n) {
    double total = 0;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n; i++)
        if (kernels[i]) total += ((CuKernel *)kernels[i])->ms, used += ((CuKernel *)kernels[i])->calls > 0;
    fprintf(stderr, "LTC_CUDA_PROFILE: %s, %u kernels run, %.3f ms in kernels\n"
                    "   share   total ms    calls    mean us  kernel\n", c->name, used, total);
    bool *done = calloc(n ? n : 1, 1);
    for (uint32_t r = 0; done && r < used; r++) {
        const CuKernel *best = NULL;
        uint32_t bi = 0;
        for (uint32_t i = 0; i < n; i++) {
            const CuKernel *k = kernels[i];
            if (k && k->calls && !done[i] && (!best || k->ms > best->ms)) best = k, bi = i;
        }
        if (!best) break;
        done[bi] = true;
        fprintf(stderr, "  %5.1f%% %10.3f %8llu %10.2f  %s\n", total > 0 ? 100 * best->ms / total : 0, best->ms,
                (unsigned long long)best->calls, 1000 * best->ms / (double)best->calls, best->name);
    }
    free(done);
}

/* ---- issuing ------------------------------------------------------------------------ */
static int launch_direct(CuDeviceImpl *c, const CuLaunch *l, char *err, size_t errlen) {
    void *params[CU_MAX_PARAMS];
    RtCuKernelNode np;
    node_params(l, params, &np);
    CuResult st = c->profile ? c->cu.EventRecord(c->ev[0], c->stream) : 0;
    if (st != 0) return cu_fail(err, errlen, "cuEventRecord", st);
    st = c->cu.LaunchKernel(l->k->fn, l->groups, 1, 1, l->threads, 1, 1, np.sharedMemBytes, c->stream, params, NULL);
    if (st != 0) {
        char buf[32];
        return rt_fail(err, errlen, "cuLaunchKernel(%s, %u groups of %u): %s", l->k->name, l->groups, l->threads,
                       rt_cu_error_name(st, buf, sizeof buf));
    }
    return c->profile ? profile_add(c, (CuKernel *)l->k, err, errlen) : 0;
}

/* Issue the queued launches (context current): replayed as a graph when
 * the batch repeats the last one (above), else one by one. */
static int flush(CuDeviceImpl *c, char *err, size_t errlen) {
    if (c->q.n == 0) return 0;
    int rc = 0;
    bool same = c->graphs && c->q.n == c->last.n;
    for (size_t i = 0; same && i < c->q.n; i++) same = same_launch(&c->q.l[i], &c->last.l[i]);
    if (same) {
        if (!c->exec && graph_build(c, err, errlen) != 0) {
            graph_drop(c);
            rc = -1;
        }
        /* nodes of kernels that read the call number get this call's */
        for (size_t i = 0; rc == 0 && i < c->q.n; i++) {
            const CuLaunch *l = &c->q.l[i];
            if (!l->k->reads_call) continue;
            void *params[CU_MAX_PARAMS];
            RtCuKernelNode np;
            node_params(l, params, &np);
            CuResult st = c->cu.GraphExecKernelNodeSetParams(c->exec, c->nodes[i], &np);
            if (st != 0) rc = cu_fail(err, errlen, "cuGraphExecKernelNodeSetParams", st);
        }
        if (rc == 0) {
            CuResult st = c->cu.GraphLaunch(c->exec, c->stream);
            if (st != 0) rc = cu_fail(err, errlen, "cuGraphLaunch", st);
        }
    } else {
        graph_drop(c);
        for (size_t i = 0; rc == 0 && i < c->q.n; i++) rc = launch_direct(c, &c->q.l[i], err, errlen);
    }
    /* q becomes last (its arguments now those the graph holds) */
    CuQueue t = c->last;
    c->last = c->q;
    c->q = t;
    c->q.n = 0;
    if (rc != 0) graph_drop(c), c->last.n = 0;
    return rc;
}

static int flush_sync(CuDeviceImpl *c, char *err, size_t errlen) {
    int rc = flush(c, err, errlen);
    CuResult st = c->cu.StreamSynchronize(c->stream);
    if (rc == 0 && st != 0) rc = cu_fail(err, errlen, "cuStreamSynchronize", st);
    return rc;
}

/* ---- open / close --------------------------------------------------------------- */
static void cu_close(RtDevice *d) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (!c) return;
    if (c->ctx && c->cu.CtxPushCurrent(c->ctx) == 0) {
        if (c->stream) c->cu.StreamSynchronize(c->stream);
        graph_drop(c);
        if (c->mod) c->cu.ModuleUnload(c->mod);
        if (c->dummy) c->cu.MemFree(c->dummy);
        for (int i = 0; i < 2; i++)
            if (c->ev[i]) c->cu.EventDestroy(c->ev[i]);
        if (c->stream) c->cu.StreamDestroy(c->stream);
        pop(c);
        c->cu.PrimaryCtxRelease(c->dev);
    }
    free(c->q.l);
    free(c->last.l);
    if (c->lib) dlclose(c->lib);
    free(c);
}

static int open_device(CuDeviceImpl *c, char *why, size_t n) {
    CuResult st = c->cu.Init(0);
    if (st == RT_CU_ERROR_STUB_LIBRARY)
        return rt_fail(why, n, "cuInit: CUDA_ERROR_STUB_LIBRARY: the library loaded is the CUDA toolkit's stub "
                       "libcuda.so, not a driver (install the NVIDIA driver, or point LTC_CUDA_LIB at its libcuda.so.1)");
    if (st == RT_CU_ERROR_NO_DEVICE) return rt_fail(why, n, "cuInit: CUDA_ERROR_NO_DEVICE: this host has no NVIDIA GPU");
    if (st != 0) return cu_fail(why, n, "cuInit", st);
    int count = 0;
    if ((st = c->cu.DeviceGetCount(&count)) != 0) return cu_fail(why, n, "cuDeviceGetCount", st);
    long pick = 0;
    const char *want = getenv("LTC_CUDA_DEVICE");
    if (want && *want) {
        char *end;
        pick = strtol(want, &end, 10);
        if (*end || pick < 0) return rt_fail(why, n, "LTC_CUDA_DEVICE='%s' is not a device number", want);
    }
    if (count == 0) return rt_fail(why, n, "no CUDA device (the driver sees none)");
    if (pick >= count) return rt_fail(why, n, "LTC_CUDA_DEVICE=%ld, but there are %d CUDA devices", pick, count);
    if ((st = c->cu.DeviceGet(&c->dev, (int)pick)) != 0) return cu_fail(why, n, "cuDeviceGet", st);
    c->base.dl_device_id = (int)pick;
    if (c->cu.DeviceGetName(c->name, (int)sizeof c->name - 1, c->dev) != 0) snprintf(c->name, sizeof c->name, "?");
    if ((st = c->cu.DeviceGetAttribute(&c->cc_major, RT_CU_ATTR_CC_MAJOR, c->dev)) != 0 ||
        (st = c->cu.DeviceGetAttribute(&c->cc_minor, RT_CU_ATTR_CC_MINOR, c->dev)) != 0)
        return cu_fail(why, n, "cuDeviceGetAttribute", st);
    if ((st = c->cu.PrimaryCtxRetain(&c->ctx, c->dev)) != 0) {
        c->ctx = NULL;
        return cu_fail(why, n, "cuDevicePrimaryCtxRetain", st);
    }
    if (push(c, why, n) != 0) return -1;
    int rc = 0;
    if ((st = c->cu.StreamCreate(&c->stream, RT_CU_STREAM_NON_BLOCKING)) != 0) {
        c->stream = NULL;
        rc = cu_fail(why, n, "cuStreamCreate", st);
    } else if ((st = c->cu.MemAlloc(&c->dummy, 256)) != 0) {
        c->dummy = 0;
        rc = cu_fail(why, n, "cuMemAlloc", st);
    }
    for (int i = 0; rc == 0 && c->profile && i < 2; i++)
        if ((st = c->cu.EventCreate(&c->ev[i], 0)) != 0) {
            c->ev[i] = NULL;
            rc = cu_fail(why, n, "cuEventCreate", st);
        }
    pop(c);
    return rc;
}

static RtDevice *cu_open(int nthreads, char *err, size_t errlen) {
    (void)nthreads;                 /* host threads do not run the kernels */
    CuDeviceImpl *c = calloc(1, sizeof *c);
    if (!c) { rt_fail(err, errlen, "out of memory"); return NULL; }
    c->base.ops = &rt_device_cuda;
    const char *g = getenv("LTC_CUDA_GRAPHS");
    c->graphs = !(g && strcmp(g, "0") == 0);
    const char *pr = getenv("LTC_CUDA_PROFILE");
    c->profile = pr && strcmp(pr, "1") == 0;
    if (c->profile) c->graphs = false;    /* a graph's kernels cannot be timed one by one */
    char why[400];
    if (rt_cu_load_api(&c->cu, &c->lib, why, sizeof why) != 0 || open_device(c, why, sizeof why) != 0) {
        rt_fail(err, errlen, "CUDA device: %s", why);
        cu_close(&c->base);
        return NULL;
    }
    return &c->base;
}

static int cu_set_threads(RtDevice *d, int n, char *err, size_t errlen) {
    (void)d, (void)n, (void)err, (void)errlen;
    return 0;                       /* the GPU schedules the threads */
}
static int cu_threads(const RtDevice *d) { (void)d; return 1; }   /* the host thread that issues the work */

/* ---- memory ------------------------------------------------------------------------ */
static void *cu_alloc(RtDevice *d, size_t bytes) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    CuDevPtr p = 0;
    if (push(c, NULL, 0) != 0) return NULL;
    bool ok = c->cu.MemAlloc(&p, bytes ? bytes : 64) == 0;
    /* zeroed like the CPU device's memory (device.h); on the stream, so
     * before any later use of it there */
    if (ok && c->cu.MemsetD8Async(p, 0, bytes ? bytes : 64, c->stream) != 0) {
        c->cu.MemFree(p);
        ok = false;
    }
    pop(c);
    return ok ? (void *)(uintptr_t)p : NULL;
}

static void cu_free(RtDevice *d, void *p) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (!p || push(c, NULL, 0) != 0) return;
    /* queued or running launches may still use it; a graph may hold it */
    (void)flush_sync(c, NULL, 0);
    graph_drop(c);
    c->last.n = 0;
    c->cu.MemFree((CuDevPtr)(uintptr_t)p);
    pop(c);
}

static int cu_to_device(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (push(c, err, errlen) != 0) return -1;
    int rc = flush(c, err, errlen);
    CuResult st = rc ? 0 : c->cu.MemcpyHtoDAsync((CuDevPtr)(uintptr_t)dst, src, n, c->stream);
    if (rc == 0 && st != 0) rc = cu_fail(err, errlen, "cuMemcpyHtoDAsync", st);
    /* src may be freed or reused as soon as this returns */
    if (rc == 0 && (st = c->cu.StreamSynchronize(c->stream)) != 0) rc = cu_fail(err, errlen, "cuStreamSynchronize", st);
    pop(c);
    return rc;
}

static int cu_to_host(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (push(c, err, errlen) != 0) return -1;
    int rc = flush(c, err, errlen);
    CuResult st = rc ? 0 : c->cu.MemcpyDtoHAsync(dst, (CuDevPtr)(uintptr_t)src, n, c->stream);
    if (rc == 0 && st != 0) rc = cu_fail(err, errlen, "cuMemcpyDtoHAsync", st);
    if (rc == 0 && (st = c->cu.StreamSynchronize(c->stream)) != 0) rc = cu_fail(err, errlen, "cuStreamSynchronize", st);
    pop(c);
    return rc;
}

/* ---- kernels --------------------------------------------------------------------- */
static void cu_unload(RtDevice *d, void **kernels, uint32_t n) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (push(c, NULL, 0) == 0) {
        (void)flush_sync(c, NULL, 0);
        if (c->profile) profile_print(c, kernels, n);
        graph_drop(c);
        c->last.n = 0;
        if (c->mod) c->cu.ModuleUnload(c->mod);
        pop(c);
    }
    c->mod = NULL;
    for (uint32_t i = 0; kernels && i < n; i++) {
        free(kernels[i]);
        kernels[i] = NULL;
    }
}

static int load_module(CuDeviceImpl *c, const LtcModelDescriptor *desc, char *err, size_t errlen) {
    const char *fp = getenv("LTC_CUDA_PTX");
    uint32_t kind, arch;
    const uint8_t *code;
    uint64_t len;
    if (rt_cu_pick_code(desc->code, desc->code_len, c->cc_major, c->cc_minor, fp && strcmp(fp, "1") == 0, &kind,
                        &arch, &code, &len, err, errlen) != 0)
        return -1;
    /* PTX is text the driver reads up to a NUL */
    char *ptx = NULL;
    if (kind == LTC_CODE_CUDA_PTX) {
        if (len >= SIZE_MAX || !(ptx = malloc((size_t)len + 1))) return rt_fail(err, errlen, "out of memory");
        memcpy(ptx, code, (size_t)len);
        ptx[len] = 0;
    }
    char log[2048] = "";
    int opts[2] = {RT_CU_JIT_ERROR_LOG, RT_CU_JIT_ERROR_LOG_SIZE};
    void *vals[2] = {log, (void *)(uintptr_t)sizeof log};
    CuResult st = c->cu.ModuleLoadDataEx(&c->mod, ptx ? (const void *)ptx : (const void *)code, 2, opts, vals);
    free(ptx);
    if (st != 0) {
        char buf[32];
        c->mod = NULL;
        log[sizeof log - 1] = 0;
        return rt_fail(err, errlen, "cuModuleLoadDataEx (%s for %s_%u%s, on %s, compute capability %d.%d): %s%s%s",
                       kind == LTC_CODE_CUDA_PTX ? "PTX" : "cubin", kind == LTC_CODE_CUDA_PTX ? "compute" : "sm",
                       arch & ~LTC_ARCH_A, arch & LTC_ARCH_A ? "a" : "", c->name, c->cc_major, c->cc_minor,
                       rt_cu_error_name(st, buf, sizeof buf), *log ? ": " : "", log);
    }
    return 0;
}

/* The u32 device global <prefix><name> of the loaded code (plan/gpu_abi.h:
 * ltc_dsm_, ltc_tma_): *v, 0 when the code defines none. */
static int kernel_u32(CuDeviceImpl *c, const char *prefix, const char *name, uint32_t *v, char *err, size_t errlen) {
    char sym[160];
    *v = 0;
    if (snprintf(sym, sizeof sym, "%s%s", prefix, name) >= (int)sizeof sym) return 0;
    CuDevPtr p;
    size_t n = 0;
    CuResult st = c->cu.ModuleGetGlobal(&p, &n, c->mod, sym);
    if (st == RT_CU_ERROR_NOT_FOUND) return 0;
    if (st != 0) return cu_fail(err, errlen, "cuModuleGetGlobal", st);
    if (n != sizeof *v) return rt_fail(err, errlen, "kernel '%s': %s has %zu bytes, not 4", name, sym, n);
    if ((st = c->cu.MemcpyDtoHAsync(v, p, sizeof *v, c->stream)) != 0) return cu_fail(err, errlen, "cuMemcpyDtoHAsync", st);
    if ((st = c->cu.StreamSynchronize(c->stream)) != 0) return cu_fail(err, errlen, "cuStreamSynchronize", st);
    return 0;
}

/* The kernel's dynamic shared memory (plan/gpu_abi.h, LTC_GPU_DSM_PREFIX):
 * the u32 the code for this GPU defines, 0 without one; the function's
 * limit is raised to it, and a GPU with less gets an error naming both.
 * Its tensor maps' boxes (LTC_GPU_TMA_PREFIX), 0 without. */
static int kernel_globals(CuDeviceImpl *c, CuKernel *k, const char *name, char *err, size_t errlen) {
    uint32_t v = 0;
    CuResult st;
    if (kernel_u32(c, LTC_GPU_TMA_PREFIX, name, &k->tma, err, errlen) != 0) return -1;
    if (kernel_u32(c, LTC_GPU_DSM_PREFIX, name, &v, err, errlen) != 0) return -1;
    if (v == 0) return 0;
    int most = 0;
    if ((st = c->cu.DeviceGetAttribute(&most, RT_CU_ATTR_SHARED_OPTIN, c->dev)) != 0)
        return cu_fail(err, errlen, "cuDeviceGetAttribute", st);
    if (v > (uint32_t)most)
        return rt_fail(err, errlen, "kernel '%s' needs %u bytes of shared memory; %s allows %d per block", name, v,
                       c->name, most);
    if ((st = c->cu.FuncSetAttribute(k->fn, RT_CU_FUNC_MAX_DYN_SHARED, (int)v)) != 0)
        return cu_fail(err, errlen, "cuFuncSetAttribute", st);
    k->dsm = v;
    return 0;
}

static int cu_load(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (c->mod) return rt_fail(err, errlen, "CUDA device: a model is loaded already");
    if (desc->nkernels && !desc->gpu_kernels)
        return rt_fail(err, errlen, "the descriptor has no GPU kernel table (gpu_kernels is NULL)");
    if (push(c, err, errlen) != 0) return -1;
    int rc = load_module(c, desc, err, errlen);
    for (uint32_t i = 0; i < desc->nkernels; i++) kernels[i] = NULL;
    uint32_t i = 0;
    for (; rc == 0 && i < desc->nkernels; i++) {
        const LtcGpuKernel *g = &desc->gpu_kernels[i];
        CuKernel *k = calloc(1, sizeof *k);
        if (!k) { rc = rt_fail(err, errlen, "out of memory"); break; }
        kernels[i] = k;
        k->name = g->name ? g->name : "?";
        k->reads_call = (g->flags & LTC_GPU_READS_CALL) != 0;
        CuResult st;
        int maxt = 0;
        if (!g->name) rc = rt_fail(err, errlen, "GPU kernel %u has no name", i);
        else if ((st = c->cu.ModuleGetFunction(&k->fn, c->mod, g->name)) != 0) {
            char buf[32];
            rc = rt_fail(err, errlen, "cuModuleGetFunction('%s'): %s", g->name, rt_cu_error_name(st, buf, sizeof buf));
        } else if ((st = c->cu.FuncGetAttribute(&maxt, RT_CU_FUNC_MAX_THREADS, k->fn)) != 0)
            rc = cu_fail(err, errlen, "cuFuncGetAttribute", st);
        else if (g->threads == 0 || g->threads > (uint32_t)maxt)
            rc = rt_fail(err, errlen, "kernel '%s' runs blocks of %u threads; on %s it can run 1 to %d", g->name,
                         g->threads, c->name, maxt);
        else rc = kernel_globals(c, k, g->name, err, errlen);
    }
    pop(c);
    if (rc != 0) {
        cu_unload(d, kernels, desc->nkernels);
        return -1;
    }
    return 0;
}

static int cu_launch(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                     const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen) {
    (void)bytes;
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    const CuKernel *k = kernel;
    CuLaunch l;
    memset(&l, 0, sizeof l);
    if (rt_gpu_args(k->name, nbufs, dims, ndims, f, ntiles, threads, &l.args, err, errlen) != 0) return -1;
    if (ntiles <= 0) return 0;
    l.k = k;
    l.threads = threads;
    for (int j = 0; j < LTC_GPU_MAX_BUFS; j++)
        l.bufs[j] = j < nbufs && ptrs[j] ? (CuDevPtr)(uintptr_t)ptrs[j] : c->dummy;
    if (k->tma) {
        /* the encode wants the context current (CUDA_ERROR_INVALID_CONTEXT
         * otherwise, measured on an H100 with driver 580), and launches are
         * only queued here: the context is pushed at the flush */
        if (push(c, err, errlen) != 0) return -1;
        CuResult st = rt_cu_tma_gemm_maps((RtCuTensorMapEncodeTiled)c->cu.TensorMapEncodeTiled, k->tma, l.bufs[0],
                                          l.bufs[1], l.args.dims, l.maps);
        pop(c);
        if (st != 0) {
            char buf[32];
            return rt_fail(err, errlen, "kernel '%s': cuTensorMapEncodeTiled (M %lld N %lld K %lld lda %lld): %s",
                           k->name, (long long)l.args.dims[0], (long long)l.args.dims[1], (long long)l.args.dims[2],
                           (long long)l.args.dims[3], rt_cu_error_name(st, buf, sizeof buf));
        }
    }
    /* the grid's x extent is at most 2^31 - 1 blocks: a larger step is
     * several launches, tile0 apart */
    const int64_t maxg = INT32_MAX;
    for (int64_t t0 = 0; t0 < ntiles; t0 += maxg) {
        l.groups = (uint32_t)(ntiles - t0 < maxg ? ntiles - t0 : maxg);
        l.args.tile0 = t0;
        if (c->q.n == c->q.cap) {
            size_t cap = c->q.cap ? 2 * c->q.cap : 64;
            CuLaunch *nl = realloc(c->q.l, cap * sizeof *nl);
            if (!nl) return rt_fail(err, errlen, "out of memory");
            c->q.l = nl;
            c->q.cap = cap;
        }
        c->q.l[c->q.n++] = l;
    }
    return 0;
}

static int cu_sync(RtDevice *d, char *err, size_t errlen) {
    CuDeviceImpl *c = (CuDeviceImpl *)d;
    if (push(c, err, errlen) != 0) return -1;
    int rc = flush_sync(c, err, errlen);
    pop(c);
    return rc;
}

const RtDeviceOps rt_device_cuda = {
    .name = "cuda",
    .dlpack_device_type = 2,            /* kDLCUDA: used in place; kDLCPU tensors are staged */
    .memory = "CUDA device",
    .host_memory = false,
    .native_code = false,
    .open = cu_open,
    .close = cu_close,
    .set_threads = cu_set_threads,
    .threads = cu_threads,
    .load = cu_load,
    .unload = cu_unload,
    .alloc = cu_alloc,
    .free = cu_free,
    .copy_to_device = cu_to_device,
    .copy_to_host = cu_to_host,
    .launch = cu_launch,
    .sync = cu_sync,
};
