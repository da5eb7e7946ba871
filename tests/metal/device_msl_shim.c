/* device_msl_shim.c: a test-only "metal" device (runtime/device.h) that
 * runs a Metal model.so's MSL on the CPU through the MSL shim
 * (msl_runner.h: the source compiled as C++ against a metal_stdlib of our
 * own), so that the path a real Metal device takes — load the code
 * image's LTC_CODE_MSL section, stage inputs and outputs (host_memory
 * false), launch each step in chunks of LTC_GPU_MAX_GROUPS groups with
 * args.tile0 — runs on Linux, where runtime/device_metal.m cannot be
 * built.  It is linked only into the tests' runtime variant
 * (ltc_runtime_msl, tests/metal/device.cmake; devices.def adds it under
 * LTC_HAVE_MSL_SHIM); the production runtime has no metal device off
 * Apple.
 *
 * Buffers are host memory, 64-byte aligned and zeroed, kept in the same
 * address table as device_metal.m (runtime/rt_addr_table.h) so that every
 * address a launch or copy gets is checked to lie in a buffer of this
 * device: a host pointer leaking past the staging would be an error here,
 * as it would be a fault on a GPU.  Groups run one after the other on the
 * calling thread: launch returns when the step is done, sync has nothing
 * to wait for.  A metallib section, if present, is ignored (nothing here
 * can run one). */
#include "runtime/device.h"
#include "runtime/rt_addr_table.h"
#include "runtime/rt_internal.h"
#include "plan/code_image.h"
#include "tests/metal/msl_runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Metal's maxTotalThreadsPerThreadgroup on current Apple GPUs: the shim
 * refuses what the device would */
enum { SHIM_MAX_THREADS = 1024 };

typedef struct ShimKernel {
    int index;                      /* in the program (msl_build's names) */
    const char *name;               /* the descriptor's string */
} ShimKernel;

typedef struct ShimDevice {
    RtDevice base;
    RtAddrTable bufs;
    MslProgram *prog;               /* the model's program (one load per device) */
    void *dummy;                    /* for unused buffer slots (gpu_abi.h) */
} ShimDevice;

extern const RtDeviceOps rt_device_msl_shim;

static void shim_close(RtDevice *d) {
    ShimDevice *s = (ShimDevice *)d;
    if (!s) return;
    for (uint32_t i = 0; i < s->bufs.n; i++) free((void *)s->bufs.e[i].base);
    rt_addr_table_free(&s->bufs);
    if (s->prog) msl_free(s->prog);
    free(s->dummy);
    free(s);
}

static RtDevice *shim_open(int nthreads, char *err, size_t errlen) {
    (void)nthreads;
    ShimDevice *s = calloc(1, sizeof *s);
    if (!s || !(s->dummy = aligned_alloc(64, 64))) {
        free(s);
        rt_fail(err, errlen, "metal (MSL shim) device: out of memory");
        return NULL;
    }
    memset(s->dummy, 0, 64);
    s->base.ops = &rt_device_msl_shim;
    return &s->base;
}

static int shim_set_threads(RtDevice *d, int n, char *err, size_t errlen) {
    (void)d, (void)n, (void)err, (void)errlen;
    return 0;
}
static int shim_threads(const RtDevice *d) { (void)d; return 1; }

static void *shim_alloc(RtDevice *d, size_t bytes) {
    ShimDevice *s = (ShimDevice *)d;
    size_t sz;
    if (__builtin_add_overflow(bytes, (size_t)63, &sz)) return NULL;
    sz &= ~(size_t)63;
    if (sz == 0) sz = 64;
    void *p = aligned_alloc(64, sz);
    if (!p) return NULL;
    memset(p, 0, sz);               /* zeroed, as device.h asks */
    if (rt_addr_add(&s->bufs, p, sz, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void shim_free(RtDevice *d, void *p) {
    ShimDevice *s = (ShimDevice *)d;
    if (p && rt_addr_remove(&s->bufs, p, NULL) == 0) free(p);   /* else not one alloc returned */
}

/* p .. p + n inside one buffer of this device */
static int check(ShimDevice *s, const void *p, uint64_t n, const char *what, char *err, size_t errlen) {
    if (!rt_addr_find(&s->bufs, p, n, NULL))
        return rt_fail(err, errlen, "%s: %llu bytes at %p are not in a metal device buffer", what,
                       (unsigned long long)n, p);
    return 0;
}

static int shim_to_device(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    if (check((ShimDevice *)d, dst, n, "copy to the device", err, errlen) != 0) return -1;
    if (n) memcpy(dst, src, n);
    return 0;
}

static int shim_to_host(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    if (check((ShimDevice *)d, src, n, "copy to the host", err, errlen) != 0) return -1;
    if (n) memcpy(dst, src, n);
    return 0;
}

static void shim_unload(RtDevice *d, void **kernels, uint32_t n) {
    ShimDevice *s = (ShimDevice *)d;
    for (uint32_t i = 0; kernels && i < n; i++) {
        free(kernels[i]);
        kernels[i] = NULL;
    }
    if (s->prog) msl_free(s->prog);
    s->prog = NULL;
}

static int shim_load(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen) {
    ShimDevice *s = (ShimDevice *)d;
    if (s->prog) return rt_fail(err, errlen, "metal device: a model is loaded already");
    if (desc->nkernels && !desc->gpu_kernels)
        return rt_fail(err, errlen, "the descriptor has no GPU kernel table (gpu_kernels is NULL)");
    if (desc->nkernels > (uint32_t)INT32_MAX) return rt_fail(err, errlen, "metal device: too many kernels");
    const uint8_t *src;
    uint64_t len;
    char why[300];
    int found = code_image_find(desc->code, desc->code_len, LTC_CODE_MSL, 0, &src, &len, why, sizeof why);
    if (found < 0) return rt_fail(err, errlen, "%s", why);
    if (found == 0) return rt_fail(err, errlen, "the code image has no Metal Shading Language section");
    if (len >= SIZE_MAX) return rt_fail(err, errlen, "MSL source too large");
    /* the section is the source's bytes, no NUL: msl_build wants a string */
    char *text = malloc((size_t)len + 1);
    const char **names = calloc((size_t)desc->nkernels + 1, sizeof *names);
    int rc = 0;
    if (!text || !names) rc = rt_fail(err, errlen, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < desc->nkernels; i++) {
        const LtcGpuKernel *g = &desc->gpu_kernels[i];
        if (!g->name) rc = rt_fail(err, errlen, "GPU kernel %u has no name", i);
        else if (g->threads == 0 || g->threads > SHIM_MAX_THREADS)
            rc = rt_fail(err, errlen, "kernel '%s' runs groups of %u threads; a Metal threadgroup has 1 to %d",
                         g->name, g->threads, SHIM_MAX_THREADS);
        names[i] = g->name;
    }
    if (rc == 0) {
        memcpy(text, src, (size_t)len);
        text[len] = 0;
        char berr[1024];
        s->prog = msl_build(text, names, (int)desc->nkernels, berr, sizeof berr);
        if (!s->prog) rc = rt_fail(err, errlen, "metal device (MSL shim): %s", berr);
    }
    for (uint32_t i = 0; i < desc->nkernels; i++) kernels[i] = NULL;
    for (uint32_t i = 0; rc == 0 && i < desc->nkernels; i++) {
        ShimKernel *k = malloc(sizeof *k);
        if (!k) { rc = rt_fail(err, errlen, "out of memory"); break; }
        *k = (ShimKernel){(int)i, desc->gpu_kernels[i].name};
        kernels[i] = k;
    }
    free(text);
    free(names);
    if (rc != 0) shim_unload(d, kernels, desc->nkernels);
    return rc;
}

static int shim_launch(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                       const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen) {
    (void)bytes;
    ShimDevice *s = (ShimDevice *)d;
    const ShimKernel *k = kernel;
    LtcGpuArgs a;
    if (rt_gpu_args(k->name, nbufs, dims, ndims, f, ntiles, threads, &a, err, errlen) != 0) return -1;
    if (ntiles <= 0) return 0;
    if (!s->prog) return rt_fail(err, errlen, "metal device: no model loaded");
    void *bufs[LTC_GPU_MAX_BUFS];
    for (int j = 0; j < LTC_GPU_MAX_BUFS; j++) {
        bufs[j] = s->dummy;
        /* a slot the step does not use, or a NULL base (none in this call):
         * the dummy buffer, as gpu_abi.h allows */
        if (j < nbufs && ptrs[j]) {
            if (check(s, ptrs[j], 0, k->name, err, errlen) != 0) return -1;
            bufs[j] = ptrs[j];
        }
    }
    /* as device_metal.m: at most LTC_GPU_MAX_GROUPS groups a dispatch */
    for (int64_t t0 = 0; t0 < ntiles; t0 += LTC_GPU_MAX_GROUPS) {
        int64_t groups = ntiles - t0 < LTC_GPU_MAX_GROUPS ? ntiles - t0 : LTC_GPU_MAX_GROUPS;
        a.tile0 = t0;
        char lerr[512];
        if (msl_launch(s->prog, k->index, bufs, &a, groups, (int)threads, lerr, sizeof lerr) != 0)
            return rt_fail(err, errlen, "metal device (MSL shim): %s: %s", k->name, lerr);
    }
    return 0;
}

static int shim_sync(RtDevice *d, char *err, size_t errlen) {
    (void)d, (void)err, (void)errlen;
    return 0;                       /* every launch ran to its end */
}

const RtDeviceOps rt_device_msl_shim = {
    .name = "metal",
    .dlpack_device_type = 1,        /* kDLCPU: host tensors, staged (as device_metal.m) */
    .memory = "Metal (MSL shim, host)",
    .host_memory = false,           /* the staging path of a real GPU */
    .native_code = false,
    .open = shim_open,
    .close = shim_close,
    .set_threads = shim_set_threads,
    .threads = shim_threads,
    .load = shim_load,
    .unload = shim_unload,
    .alloc = shim_alloc,
    .free = shim_free,
    .copy_to_device = shim_to_device,
    .copy_to_host = shim_to_host,
    .launch = shim_launch,
    .sync = shim_sync,
};
