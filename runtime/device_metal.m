/* device_metal.m: the Metal device (descriptor device "metal"): runs a GPU
 * model's kernels (plan/gpu_abi.h) on the system's default Metal GPU.
 *
 * NOT COMPILED OR RUN BY THIS PROJECT: it is Objective-C against
 * Metal.framework, built only on Apple (CMakeLists.txt: if(APPLE), with
 * -fobjc-arc), and the project's machines are Linux.  What runs here in
 * its place is tests/metal/device_msl_shim.c, the same device contract
 * on the CPU (docs/metal.md says what that does and does not verify).
 *
 * One MTLDevice (MTLCreateSystemDefaultDevice), one command queue.
 *   load    the code image's LTC_CODE_METALLIB section when there is one
 *           (compiled by the compiler on macOS), else its LTC_CODE_MSL
 *           source compiled here with fast math off (see below), MSL 3.0;
 *           one compute pipeline state per kernel, refused when its
 *           maxTotalThreadsPerThreadgroup is below the kernel's group size
 *   memory  MTLResourceStorageModeShared buffers: the "address" the
 *           executor adds offsets to is the buffer's contents pointer; a
 *           sorted table (runtime/rt_addr_table.h) maps an address back
 *           to (buffer, offset) at every launch and copy.  The host never
 *           reads or writes that memory except in the copies, after the
 *           queued work has finished
 *   launch  encoded into the current command buffer (one compute encoder
 *           a step: pipeline, buffers 0..7 with offsets, LtcGpuArgs by
 *           setBytes at index 8, dispatches of at most LTC_GPU_MAX_GROUPS
 *           threadgroups with args.tile0); nothing waits
 *   copy, sync  commit the current command buffer and wait for it, then
 *           check its status and error: an error of any launch since the
 *           last wait is reported there
 * Every call's result is checked; errors are returned with a message,
 * never raised or exited on.  Objective-C objects live in C structs as
 * retained CF references (CFBridgingRetain / CFBridgingRelease), so their
 * ownership is explicit.
 *
 * Fast math off: Metal compiles with fast math by default, which lets the
 * compiler assume there are no infinities and no NaN.  The kernels rely
 * on both: attention's online softmax starts its running maximum at
 * -inf and masked scores are -inf, ltc_max lets NaN win as the
 * interpreter does, the bf16 store tests v != v. */
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include "runtime/device.h"
#include "runtime/rt_addr_table.h"
#include "runtime/rt_internal.h"
#include "plan/code_image.h"

#include <stdlib.h>
#include <string.h>

typedef struct MtlKernel {
    void *pipe;                     /* id<MTLComputePipelineState>, retained */
    const char *name;               /* the descriptor's string */
} MtlKernel;

typedef struct MtlDevice {
    RtDevice base;
    void *dev;                      /* id<MTLDevice>, retained */
    void *queue;                    /* id<MTLCommandQueue>, retained */
    void *cmd;                      /* the current id<MTLCommandBuffer>, retained, or NULL */
    void *lib;                      /* the model's id<MTLLibrary> (one load per device), or NULL */
    void *dummy;                    /* id<MTLBuffer> for unused slots (gpu_abi.h) */
    RtAddrTable bufs;               /* contents address -> retained id<MTLBuffer> */
    char name[128];                 /* the GPU's name, for messages */
} MtlDevice;

extern const RtDeviceOps rt_device_metal;

static id<MTLDevice> mdev(const MtlDevice *m) { return (__bridge id<MTLDevice>)m->dev; }

/* "what: the error's description" into err; -1 */
static int ns_fail(char *err, size_t n, const char *what, NSError *e) {
    const char *why = e ? [[e localizedDescription] UTF8String] : NULL;
    return rt_fail(err, n, "%s: %s", what, why ? why : "(no description)");
}

/* Commit the current command buffer, wait for it, check how it ended. */
static int flush(MtlDevice *m, char *err, size_t errlen) {
    if (!m->cmd) return 0;
    id<MTLCommandBuffer> cmd = CFBridgingRelease(m->cmd);
    m->cmd = NULL;
    [cmd commit];
    [cmd waitUntilCompleted];
    if ([cmd status] != MTLCommandBufferStatusCompleted)
        return ns_fail(err, errlen, "Metal command buffer failed", [cmd error]);
    return 0;
}

/* ---- open / close --------------------------------------------------------------- */
static void mtl_close(RtDevice *d) {
    MtlDevice *m = (MtlDevice *)d;
    if (!m) return;
    @autoreleasepool {
        char ignored[8];
        flush(m, ignored, sizeof ignored);   /* nothing may still use what is released below */
        for (uint32_t i = 0; i < m->bufs.n; i++) CFRelease(m->bufs.e[i].handle);
        rt_addr_table_free(&m->bufs);
        if (m->dummy) CFRelease(m->dummy);
        if (m->lib) CFRelease(m->lib);
        if (m->queue) CFRelease(m->queue);
        if (m->dev) CFRelease(m->dev);
    }
    free(m);
}

static RtDevice *mtl_open(int nthreads, char *err, size_t errlen) {
    (void)nthreads;                 /* host threads do not run the kernels */
    MtlDevice *m = calloc(1, sizeof *m);
    if (!m) { rt_fail(err, errlen, "out of memory"); return NULL; }
    m->base.ops = &rt_device_metal;
    @autoreleasepool {
        id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
        if (!dev) {
            rt_fail(err, errlen, "Metal device: MTLCreateSystemDefaultDevice found no Metal GPU");
            free(m);
            return NULL;
        }
        m->dev = (void *)CFBridgingRetain(dev);
        const char *nm = [[dev name] UTF8String];
        snprintf(m->name, sizeof m->name, "%s", nm ? nm : "?");
        id<MTLCommandQueue> q = [dev newCommandQueue];
        id<MTLBuffer> dummy = [dev newBufferWithLength:64 options:MTLResourceStorageModeShared];
        if (!q || !dummy) {
            rt_fail(err, errlen, "Metal device '%s': cannot make a command queue and a buffer", m->name);
            mtl_close(&m->base);
            return NULL;
        }
        m->queue = (void *)CFBridgingRetain(q);
        m->dummy = (void *)CFBridgingRetain(dummy);
    }
    return &m->base;
}

static int mtl_set_threads(RtDevice *d, int n, char *err, size_t errlen) {
    (void)d, (void)n, (void)err, (void)errlen;
    return 0;                       /* the GPU schedules the threads */
}
static int mtl_threads(const RtDevice *d) { (void)d; return 1; }   /* the host thread that encodes */

/* ---- memory ------------------------------------------------------------------------ */
static void *mtl_alloc(RtDevice *d, size_t bytes) {
    MtlDevice *m = (MtlDevice *)d;
    size_t sz;
    if (__builtin_add_overflow(bytes, (size_t)63, &sz)) return NULL;
    sz &= ~(size_t)63;
    if (sz == 0) sz = 64;
    @autoreleasepool {
        if (sz > [mdev(m) maxBufferLength]) return NULL;
        id<MTLBuffer> b = [mdev(m) newBufferWithLength:sz options:MTLResourceStorageModeShared];
        if (!b) return NULL;
        void *p = [b contents];
        /* device.h promises 64-byte alignment; Metal's buffers are page
         * aligned, but the promise is checked, not assumed */
        if (!p || ((uintptr_t)p & 63) != 0) return NULL;
        memset(p, 0, sz);           /* zeroed, as device.h asks; no GPU work uses it yet */
        void *h = (void *)CFBridgingRetain(b);
        if (rt_addr_add(&m->bufs, p, sz, h) != 0) {
            CFRelease(h);
            return NULL;
        }
        return p;
    }
}

static void mtl_free(RtDevice *d, void *p) {
    MtlDevice *m = (MtlDevice *)d;
    void *h = NULL;
    /* a command buffer retains the buffers it uses: releasing ours while
     * it runs is safe */
    if (p && rt_addr_remove(&m->bufs, p, &h) == 0) CFRelease(h);
}

/* The buffer and offset of the n bytes at p. */
static int resolve(MtlDevice *m, const void *p, uint64_t n, id<MTLBuffer> __unsafe_unretained *buf, uint64_t *off,
                   const char *what, char *err, size_t errlen) {
    const RtAddrEntry *e = rt_addr_find(&m->bufs, p, n, off);
    if (!e)
        return rt_fail(err, errlen, "%s: %llu bytes at %p are not in a Metal buffer of this model", what,
                       (unsigned long long)n, p);
    *buf = (__bridge id<MTLBuffer>)e->handle;
    return 0;
}

static int mtl_to_device(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    MtlDevice *m = (MtlDevice *)d;
    @autoreleasepool {
        id<MTLBuffer> __unsafe_unretained b;
        uint64_t off;
        if (resolve(m, dst, n, &b, &off, "copy to the Metal device", err, errlen) != 0) return -1;
        /* kernels queued before may still read or write it: in order, as
         * the executor expects */
        if (flush(m, err, errlen) != 0) return -1;
        if (n) memcpy(dst, src, n);
    }
    return 0;
}

static int mtl_to_host(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen) {
    MtlDevice *m = (MtlDevice *)d;
    @autoreleasepool {
        id<MTLBuffer> __unsafe_unretained b;
        uint64_t off;
        if (resolve(m, src, n, &b, &off, "copy from the Metal device", err, errlen) != 0) return -1;
        if (flush(m, err, errlen) != 0) return -1;
        if (n) memcpy(dst, src, n);
    }
    return 0;
}

/* ---- kernels --------------------------------------------------------------------- */
static void mtl_unload(RtDevice *d, void **kernels, uint32_t n) {
    MtlDevice *m = (MtlDevice *)d;
    @autoreleasepool {
        for (uint32_t i = 0; kernels && i < n; i++) {
            MtlKernel *k = kernels[i];
            if (k && k->pipe) CFRelease(k->pipe);
            free(k);
            kernels[i] = NULL;
        }
        if (m->lib) CFRelease(m->lib);
        m->lib = NULL;
    }
}

/* The library: the metallib when the model has one, else the MSL. */
static id<MTLLibrary> make_library(MtlDevice *m, const LtcModelDescriptor *desc, char *err, size_t errlen) {
    const uint8_t *p;
    uint64_t len;
    char why[300];
    NSError *e = nil;
    int found = code_image_find(desc->code, desc->code_len, LTC_CODE_METALLIB, 0, &p, &len, why, sizeof why);
    if (found < 0) { rt_fail(err, errlen, "%s", why); return nil; }
    if (found > 0) {
        if (len == 0 || len > SIZE_MAX) { rt_fail(err, errlen, "the metallib section is empty or too large"); return nil; }
        /* copied: the data outlives nothing of the descriptor's */
        dispatch_data_t data = dispatch_data_create(p, (size_t)len, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
        if (!data) { rt_fail(err, errlen, "out of memory"); return nil; }
        id<MTLLibrary> lib = [mdev(m) newLibraryWithData:data error:&e];
        if (!lib) ns_fail(err, errlen, "Metal: the model's metallib does not load", e);
        return lib;
    }
    found = code_image_find(desc->code, desc->code_len, LTC_CODE_MSL, 0, &p, &len, why, sizeof why);
    if (found < 0) { rt_fail(err, errlen, "%s", why); return nil; }
    if (found == 0) { rt_fail(err, errlen, "the code image has no Metal section (MSL or metallib)"); return nil; }
    if (len > NSUIntegerMax) { rt_fail(err, errlen, "MSL source too large"); return nil; }
    NSString *src = [[NSString alloc] initWithBytes:p length:(NSUInteger)len encoding:NSUTF8StringEncoding];
    if (!src) { rt_fail(err, errlen, "the MSL section is not UTF-8 text"); return nil; }
    MTLCompileOptions *o = [MTLCompileOptions new];
    if (!o) { rt_fail(err, errlen, "out of memory"); return nil; }
    /* fast math off (header comment): mathMode where the SDK and the
     * system have it, else the older switch */
#if defined(MAC_OS_VERSION_15_0) && MAC_OS_X_VERSION_MAX_ALLOWED >= MAC_OS_VERSION_15_0
    if (@available(macOS 15.0, *)) o.mathMode = MTLMathModeSafe;
    else o.fastMathEnabled = NO;
#else
    o.fastMathEnabled = NO;
#endif
    if (@available(macOS 13.0, *)) o.languageVersion = MTLLanguageVersion3_0;
    else { rt_fail(err, errlen, "Metal device: MSL 3.0 needs macOS 13 or later"); return nil; }
    id<MTLLibrary> lib = [mdev(m) newLibraryWithSource:src options:o error:&e];
    if (!lib) ns_fail(err, errlen, "Metal: compiling the model's MSL failed", e);
    return lib;
}

static int mtl_load(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen) {
    MtlDevice *m = (MtlDevice *)d;
    if (m->lib) return rt_fail(err, errlen, "Metal device: a model is loaded already");
    if (desc->nkernels && !desc->gpu_kernels)
        return rt_fail(err, errlen, "the descriptor has no GPU kernel table (gpu_kernels is NULL)");
    for (uint32_t i = 0; i < desc->nkernels; i++) kernels[i] = NULL;
    int rc = 0;
    @autoreleasepool {
        id<MTLLibrary> lib = make_library(m, desc, err, errlen);
        if (!lib) return -1;
        m->lib = (void *)CFBridgingRetain(lib);
        for (uint32_t i = 0; rc == 0 && i < desc->nkernels; i++) {
            const LtcGpuKernel *g = &desc->gpu_kernels[i];
            if (!g->name) { rc = rt_fail(err, errlen, "GPU kernel %u has no name", i); break; }
            NSString *nm = [NSString stringWithUTF8String:g->name];
            id<MTLFunction> fn = nm ? [lib newFunctionWithName:nm] : nil;
            if (!fn) { rc = rt_fail(err, errlen, "Metal: the library has no kernel '%s'", g->name); break; }
            NSError *e = nil;
            id<MTLComputePipelineState> ps = [mdev(m) newComputePipelineStateWithFunction:fn error:&e];
            if (!ps) {
                char what[300];
                snprintf(what, sizeof what, "Metal: no pipeline for kernel '%s'", g->name);
                rc = ns_fail(err, errlen, what, e);
                break;
            }
            /* the group size is fixed by the kernel (gpu_abi.h); registers
             * or threadgroup memory may make the GPU allow fewer */
            NSUInteger most = [ps maxTotalThreadsPerThreadgroup];
            if (g->threads == 0 || g->threads > most) {
                rc = rt_fail(err, errlen, "kernel '%s' runs threadgroups of %u threads; Metal device '%s' allows 1 to %lu for it",
                             g->name, g->threads, m->name, (unsigned long)most);
                break;
            }
            MtlKernel *k = calloc(1, sizeof *k);
            if (!k) { rc = rt_fail(err, errlen, "out of memory"); break; }
            k->pipe = (void *)CFBridgingRetain(ps);
            k->name = g->name;
            kernels[i] = k;
        }
    }
    if (rc != 0) mtl_unload(d, kernels, desc->nkernels);
    return rc;
}

static int mtl_launch(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                      const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen) {
    (void)bytes;
    MtlDevice *m = (MtlDevice *)d;
    const MtlKernel *k = kernel;
    LtcGpuArgs a;
    if (rt_gpu_args(k->name, nbufs, dims, ndims, f, ntiles, threads, &a, err, errlen) != 0) return -1;
    if (ntiles <= 0) return 0;
    @autoreleasepool {
        /* the buffers first: nothing is encoded for a step that cannot run */
        id<MTLBuffer> __unsafe_unretained bufs[LTC_GPU_MAX_BUFS];
        uint64_t offs[LTC_GPU_MAX_BUFS];
        for (int j = 0; j < LTC_GPU_MAX_BUFS; j++) {
            bufs[j] = (__bridge id<MTLBuffer>)m->dummy;
            offs[j] = 0;
            /* a slot the step does not use, or a NULL base (none in this
             * call), gets the dummy buffer */
            if (j < nbufs && ptrs[j] && resolve(m, ptrs[j], 0, &bufs[j], &offs[j], k->name, err, errlen) != 0)
                return -1;
        }
        if (!m->cmd) {
            id<MTLCommandBuffer> cmd = [(__bridge id<MTLCommandQueue>)m->queue commandBuffer];
            if (!cmd) return rt_fail(err, errlen, "Metal: no command buffer (kernel '%s')", k->name);
            m->cmd = (void *)CFBridgingRetain(cmd);
        }
        id<MTLComputeCommandEncoder> enc = [(__bridge id<MTLCommandBuffer>)m->cmd computeCommandEncoder];
        if (!enc) return rt_fail(err, errlen, "Metal: no compute encoder (kernel '%s')", k->name);
        [enc setComputePipelineState:(__bridge id<MTLComputePipelineState>)k->pipe];
        /* offsets: element-aligned views into 64-byte aligned buffers,
         * which device-space parameters accept */
        for (int j = 0; j < LTC_GPU_MAX_BUFS; j++) [enc setBuffer:bufs[j] offset:(NSUInteger)offs[j] atIndex:(NSUInteger)j];
        /* at most LTC_GPU_MAX_GROUPS threadgroups a dispatch (the ABI's
         * split, alike on every device); setBytes copies the arguments,
         * so the next chunk's tile0 does not disturb this one */
        for (int64_t t0 = 0; t0 < ntiles; t0 += LTC_GPU_MAX_GROUPS) {
            int64_t groups = ntiles - t0 < LTC_GPU_MAX_GROUPS ? ntiles - t0 : LTC_GPU_MAX_GROUPS;
            a.tile0 = t0;
            [enc setBytes:&a length:sizeof a atIndex:LTC_GPU_MAX_BUFS];
            [enc dispatchThreadgroups:MTLSizeMake((NSUInteger)groups, 1, 1)
                threadsPerThreadgroup:MTLSizeMake(threads, 1, 1)];
        }
        [enc endEncoding];
    }
    return 0;
}

static int mtl_sync(RtDevice *d, char *err, size_t errlen) {
    int rc;
    @autoreleasepool { rc = flush((MtlDevice *)d, err, errlen); }
    return rc;
}

const RtDeviceOps rt_device_metal = {
    .name = "metal",
    /* host tensors, staged through the device's buffers (device.h): a
     * kDLMetal tensor's data is an MTLBuffer of another device object */
    .dlpack_device_type = 1,            /* kDLCPU */
    .memory = "Metal",
    .host_memory = false,
    .native_code = false,
    .open = mtl_open,
    .close = mtl_close,
    .set_threads = mtl_set_threads,
    .threads = mtl_threads,
    .load = mtl_load,
    .unload = mtl_unload,
    .alloc = mtl_alloc,
    .free = mtl_free,
    .copy_to_device = mtl_to_device,
    .copy_to_host = mtl_to_host,
    .launch = mtl_launch,
    .sync = mtl_sync,
};
