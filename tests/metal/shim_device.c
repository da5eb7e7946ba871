/* shim_device.c: the test-only metal device (device_msl_shim.c) through
 * its RtDeviceOps, as the executor drives it: buffers 64-byte aligned and
 * zeroed, copies and launches refused outside this device's buffers (a
 * host pointer that escaped the staging), the MSL section built once, and
 * a step of more than LTC_GPU_MAX_GROUPS tiles split into launches whose
 * args.tile0 covers every tile once — the split device_metal.m makes,
 * which no example's small shapes reach. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "plan/code_image.h"
#include "runtime/device.h"

/* one kernel: out[tile * T + tid] = tile + 1 (i64), and the group size */
static const char *const src =
    "#include <metal_stdlib>\nusing namespace metal;\n"
    "typedef long i64;\n"
    "typedef struct LtcGpuArgs { i64 dims[21]; i64 tile0; i64 ntiles; float f[4]; } LtcGpuArgs;\n"
    "[[max_total_threads_per_threadgroup(32)]] kernel void tiles(device char *b0 [[buffer(0)]],"
    " device char *b1 [[buffer(1)]], device char *b2 [[buffer(2)]], device char *b3 [[buffer(3)]],"
    " device char *b4 [[buffer(4)]], device char *b5 [[buffer(5)]], device char *b6 [[buffer(6)]],"
    " device char *b7 [[buffer(7)]], constant LtcGpuArgs &args [[buffer(8)]],"
    " uint g [[threadgroup_position_in_grid]], uint l [[thread_position_in_threadgroup]]) {\n"
    "    const i64 tile = args.tile0 + (i64)g;\n"
    "    if (tile >= args.ntiles) return;\n"
    "    ((device i64 *)b0)[tile * 32 + (i64)l] = tile + 1 + args.dims[0];\n"
    "}\n";

static const RtDeviceOps *ops;
static RtDevice *dev;
static char err[600];

static void setup(void) {
    ops = rt_device_find("metal");
    cr_assert(ops, "no metal device in ltc_runtime_msl");
    cr_assert(!ops->host_memory, "the shim must take the staging path of a GPU");
    dev = ops->open(0, err, sizeof err);
    cr_assert(dev, "%s", err);
}
static void teardown(void) { if (dev) ops->close(dev); }
TestSuite(shim_device, .init = setup, .fini = teardown, .timeout = 300);

Test(shim_device, memory) {
    char *p = ops->alloc(dev, 100);
    cr_assert(p && ((uintptr_t)p & 63) == 0);
    for (int i = 0; i < 128; i++) cr_assert_eq(p[i], 0, "zeroed, rounded up to 64");
    char host[256] = {1, 2, 3};
    cr_assert_eq(ops->copy_to_device(dev, p + 8, host, 120, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p[9], 2);
    cr_assert_eq(ops->copy_to_device(dev, p + 8, host, 121, err, sizeof err), -1, "past the buffer's end");
    cr_assert(strstr(err, "not in a metal device buffer"), "%s", err);
    cr_assert_eq(ops->copy_to_host(dev, host, host + 64, 8, err, sizeof err), -1, "a host address");
    cr_assert_eq(ops->copy_to_host(dev, host, p + 8, 2, err, sizeof err), 0, "%s", err);
    cr_assert(host[0] == 1 && host[1] == 2);
    ops->free(dev, p + 8);          /* not a base: ignored */
    ops->free(dev, p);
    cr_assert_eq(ops->copy_to_host(dev, host, p, 1, err, sizeof err), -1, "freed");
}

Test(shim_device, launch_split_at_max_groups) {
    uint8_t *img = NULL;
    uint64_t len = 0;
    cr_assert_eq(code_image_append(&img, &len, LTC_CODE_MSL, 0, src, strlen(src)), 0);
    LtcGpuKernel k = {"tiles", 32, 0, 0};
    LtcModelDescriptor desc = {.nkernels = 1, .device = "metal", .code = img, .code_len = len, .gpu_kernels = &k};
    void *h = NULL;
    cr_assert_eq(ops->load(dev, &desc, &h, err, sizeof err), 0, "%s", err);
    const int64_t ntiles = LTC_GPU_MAX_GROUPS + 1000;    /* two launches: tile0 0 and 65535 */
    size_t bytes = (size_t)ntiles * 32 * sizeof(int64_t);
    int64_t *out = ops->alloc(dev, bytes);
    cr_assert(out);
    void *bufs[1] = {out};
    int64_t dims[2] = {7, 0};       /* dims[0], then the call number */
    cr_assert_eq(ops->launch(dev, h, bufs, 1, dims, 2, NULL, ntiles, 0, 32, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ops->sync(dev, err, sizeof err), 0, "%s", err);
    int64_t *host = malloc(bytes);
    cr_assert(host);
    cr_assert_eq(ops->copy_to_host(dev, host, out, bytes, err, sizeof err), 0, "%s", err);
    for (int64_t t = 0; t < ntiles; t++)
        for (int l = 0; l < 32; l++) cr_assert_eq(host[t * 32 + l], t + 8, "tile %lld lane %d", (long long)t, l);
    /* a buffer the executor did not get from this device */
    void *stray[1] = {host};
    cr_assert_eq(ops->launch(dev, h, stray, 1, dims, 2, NULL, 1, 0, 32, err, sizeof err), -1);
    cr_assert(strstr(err, "not in a metal device buffer"), "%s", err);
    cr_assert_eq(ops->load(dev, &desc, &h, err, sizeof err), -1, "one model per device");
    free(host);
    ops->free(dev, out);
    ops->unload(dev, &h, 1);
    free(img);
}

Test(shim_device, load_refusals) {
    void *h = NULL;
    LtcGpuKernel k = {"tiles", 2048, 0, 0};
    uint8_t *img = NULL;
    uint64_t len = 0;
    cr_assert_eq(code_image_append(&img, &len, LTC_CODE_OPENCL_C, 0, "x", 1), 0);
    LtcModelDescriptor desc = {.nkernels = 1, .device = "metal", .code = img, .code_len = len, .gpu_kernels = &k};
    cr_assert_eq(ops->load(dev, &desc, &h, err, sizeof err), -1);
    cr_assert(strstr(err, "no Metal Shading Language section"), "%s", err);
    free(img);
    img = NULL;
    len = 0;
    cr_assert_eq(code_image_append(&img, &len, LTC_CODE_MSL, 0, src, strlen(src)), 0);
    desc.code = img;
    desc.code_len = len;
    cr_assert_eq(ops->load(dev, &desc, &h, err, sizeof err), -1);
    cr_assert(strstr(err, "threadgroup has 1 to 1024"), "%s", err);
    k.threads = 32;
    k.name = "no_such_kernel";
    cr_assert_eq(ops->load(dev, &desc, &h, err, sizeof err), -1, "a kernel the source lacks");
    cr_assert(strstr(err, "MSL shim") && strstr(err, "no_such_kernel"), "%s", err);
    free(img);
}
