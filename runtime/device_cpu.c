/* device_cpu.c: the CPU device.  Buffers are host memory (64-byte
 * aligned); a step's tiles are split across the thread pool (pool.c),
 * and a step that touches only a few KB is run on the calling thread: it
 * is done before another thread could be woken.  Kernel handles are the
 * model.so's functions (plan.h's ABI).  Launches are
 * synchronous, so sync has nothing to wait for. */
#include "runtime/device.h"
#include "runtime/rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SMALL_STEP_BYTES = 16 << 10 };

typedef struct CpuDevice {
    RtDevice base;
    RtPool  *pool;
} CpuDevice;

extern const RtDeviceOps rt_device_cpu;

static RtDevice *cpu_open(int nthreads, char *err, size_t errlen) {
    CpuDevice *c = calloc(1, sizeof *c);
    if (nthreads <= 0) nthreads = rt_online_cores();
    if (c) c->pool = rt_pool_new(nthreads);
    if (!c || !c->pool) {
        free(c);
        if (err && errlen) snprintf(err, errlen, "cannot start %d threads", nthreads);
        return NULL;
    }
    c->base.ops = &rt_device_cpu;
    return &c->base;
}

static void cpu_close(RtDevice *d) {
    CpuDevice *c = (CpuDevice *)d;
    rt_pool_free(c->pool);
    free(c);
}

static int cpu_set_threads(RtDevice *d, int n, char *err, size_t errlen) {
    CpuDevice *c = (CpuDevice *)d;
    if (n <= 0) n = rt_online_cores();
    RtPool *p = rt_pool_new(n);
    if (!p) {
        if (err && errlen) snprintf(err, errlen, "cannot start %d threads", n);
        return -1;
    }
    rt_pool_free(c->pool);
    c->pool = p;
    return 0;
}

static int cpu_threads(const RtDevice *d) { return rt_pool_size(((const CpuDevice *)d)->pool); }

/* The handles are the model.so's own functions, resolved by the dynamic
 * loader: nothing to build or release. */
static int cpu_load(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen) {
    (void)d;
    if (desc->nkernels && !desc->kernels) {
        if (err && errlen) snprintf(err, errlen, "the descriptor has no kernel table (%s)",
                                    desc->gpu_kernels ? "it lists GPU kernels, but names the CPU device" : "kernels is NULL");
        return -1;
    }
    for (uint32_t i = 0; i < desc->nkernels; i++) {
        if (!desc->kernels[i]) {
            if (err && errlen) snprintf(err, errlen, "kernel '%s' has no code",
                                        desc->kernel_names && desc->kernel_names[i] ? desc->kernel_names[i] : "?");
            return -1;
        }
        /* a function address kept as a data pointer (POSIX: same size) */
        memcpy(&kernels[i], &desc->kernels[i], sizeof kernels[i]);
    }
    return 0;
}

static void cpu_unload(RtDevice *d, void **kernels, uint32_t n) { (void)d, (void)kernels, (void)n; }

static void *cpu_alloc(RtDevice *d, size_t bytes) {
    (void)d;
    size_t sz = (bytes + 63) & ~(size_t)63;
    if (sz < bytes) return NULL;                    /* wrapped */
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (p) memset(p, 0, sz ? sz : 64);
    return p;
}

static void cpu_free(RtDevice *d, void *p) { (void)d; free(p); }

static int cpu_copy(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    (void)d, (void)err, (void)errlen;
    if (n) memcpy(dst, src, n);
    return 0;
}

typedef struct StepCall {
    LtcKernelFn fn;
    void *const *ptrs;
    const int64_t *dims;
    const float *f;
} StepCall;

static void step_range(void *arg, int64_t b, int64_t e) {
    StepCall *c = arg;
    c->fn(c->ptrs, c->dims, c->f, b, e);
}

_Static_assert(sizeof(LtcKernelFn) == sizeof(void *), "kernel handles are function addresses");

static int cpu_launch(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                      const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen) {
    (void)nbufs, (void)ndims, (void)threads, (void)err, (void)errlen;
    StepCall c = {NULL, ptrs, dims, f};
    memcpy(&c.fn, &kernel, sizeof c.fn);
    rt_pool_for(bytes < SMALL_STEP_BYTES ? NULL : ((CpuDevice *)d)->pool, ntiles, step_range, &c);
    return 0;
}

static int cpu_sync(RtDevice *d, char *err, size_t errlen) {
    (void)d, (void)err, (void)errlen;
    return 0;
}

const RtDeviceOps rt_device_cpu = {
    .name = "cpu",
    .dlpack_device_type = 1,            /* kDLCPU */
    .memory = "CPU",
    .host_memory = true,
    .native_code = true,
    .open = cpu_open,
    .close = cpu_close,
    .set_threads = cpu_set_threads,
    .threads = cpu_threads,
    .load = cpu_load,
    .unload = cpu_unload,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy_to_device = cpu_copy,
    .copy_to_host = cpu_copy,
    .launch = cpu_launch,
    .sync = cpu_sync,
};
