/* rt_cuda.c: the CUDA device's parts that run without a GPU: its own
 * declarations of the driver API against the toolkit's cuda.h, every
 * entry point resolved from the toolkit's stub libcuda.so and the stub's
 * error reported, a missing driver reported, the error-name table, and the
 * choice of cubin or PTX for each compute capability. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>

#include "plan/code_image.h"
#include "runtime/device.h"
#include "runtime/rt_cuda.h"

#ifdef LTC_HAVE_CUDA_H
#include <cuda.h>
#include <stddef.h>
/* RtCuKernelNode is CUDA_KERNEL_NODE_PARAMS_v2, field for field */
#define EQ(a, b) ((int)(a) == (int)(b))
#define SAME(f) _Static_assert(offsetof(RtCuKernelNode, f) == offsetof(CUDA_KERNEL_NODE_PARAMS_v2, f), #f)
SAME(func); SAME(gridDimX); SAME(blockDimZ); SAME(sharedMemBytes); SAME(kernelParams); SAME(extra); SAME(kern); SAME(ctx);
_Static_assert(sizeof(RtCuKernelNode) == sizeof(CUDA_KERNEL_NODE_PARAMS_v2), "size");
_Static_assert(sizeof(CuDevPtr) == sizeof(CUdeviceptr), "CUdeviceptr");
_Static_assert(EQ(RT_CU_ERROR_STUB_LIBRARY, CUDA_ERROR_STUB_LIBRARY) && EQ(RT_CU_ERROR_NO_DEVICE, CUDA_ERROR_NO_DEVICE), "codes");
_Static_assert(EQ(RT_CU_ATTR_CC_MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) &&
               EQ(RT_CU_ATTR_CC_MINOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR) &&
               EQ(RT_CU_ATTR_SM_COUNT, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), "attributes");
_Static_assert(EQ(RT_CU_FUNC_MAX_THREADS, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK) &&
               EQ(RT_CU_JIT_ERROR_LOG, CU_JIT_ERROR_LOG_BUFFER) && EQ(RT_CU_JIT_ERROR_LOG_SIZE, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) &&
               EQ(RT_CU_STREAM_NON_BLOCKING, CU_STREAM_NON_BLOCKING), "flags");
_Static_assert(EQ(RT_CU_PTR_ATTR_MEMORY_TYPE, CU_POINTER_ATTRIBUTE_MEMORY_TYPE) &&
               EQ(RT_CU_PTR_ATTR_DEVICE_ORDINAL, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL) &&
               EQ(RT_CU_MEMORYTYPE_DEVICE, CU_MEMORYTYPE_DEVICE), "pointer attributes");
#endif

#define STUB "/usr/local/cuda/lib64/stubs/libcuda.so"

Test(rt_cuda, every_entry_point_from_the_stub_and_its_error_reported) {
    void *probe = dlopen(STUB, RTLD_NOW | RTLD_LOCAL);
    if (!probe) cr_skip_test("no CUDA toolkit stub at " STUB);
    dlclose(probe);
    setenv("LTC_CUDA_LIB", STUB, 1);
    RtCuApi api;
    void *lib = NULL;
    char err[512] = "";
    cr_assert_eq(rt_cu_load_api(&api, &lib, err, sizeof err), 0, "%s", err);
    cr_assert(lib && api.Init && api.GraphExecKernelNodeSetParams && api.MemAlloc);
    cr_assert_eq(api.Init(0), RT_CU_ERROR_STUB_LIBRARY, "the stub's cuInit says what it is");
    dlclose(lib);
    RtDevice *d = rt_device_open("cuda", 0, err, sizeof err);
    cr_assert_null(d);
    cr_assert(strstr(err, "CUDA_ERROR_STUB_LIBRARY") && strstr(err, "stub"), "%s", err);
    unsetenv("LTC_CUDA_LIB");
}

Test(rt_cuda, no_driver_named_with_the_cause) {
    setenv("LTC_CUDA_LIB", "/nonexistent/libcuda.so.1", 1);
    char err[512] = "";
    RtDevice *d = rt_device_open("cuda", 0, err, sizeof err);
    cr_assert_null(d);
    cr_assert(strstr(err, "cannot load the CUDA driver '/nonexistent/libcuda.so.1'") && strstr(err, "no NVIDIA driver"),
              "%s", err);
    /* a library that is not a driver: named, with the symbol it lacks */
    setenv("LTC_CUDA_LIB", "libm.so.6", 1);
    d = rt_device_open("cuda", 0, err, sizeof err);
    cr_assert_null(d);
    cr_assert(strstr(err, "has no cuInit"), "%s", err);
    unsetenv("LTC_CUDA_LIB");
}

Test(rt_cuda, error_names) {
    char buf[32];
    cr_assert_str_eq(rt_cu_error_name(0, buf, sizeof buf), "CUDA_SUCCESS");
    cr_assert(strstr(rt_cu_error_name(209, buf, sizeof buf), "CUDA_ERROR_NO_BINARY_FOR_GPU"));
    cr_assert_str_eq(rt_cu_error_name(700, buf, sizeof buf), "CUDA_ERROR_ILLEGAL_ADDRESS");
    cr_assert_str_eq(rt_cu_error_name(12345, buf, sizeof buf), "CUDA error 12345");
}

/* An image with a cubin for sm_80 and sm_90a and PTX for compute_80. */
static uint8_t *image(uint64_t *n) {
    uint8_t *img = NULL;
    *n = 0;
    cr_assert_eq(code_image_append(&img, n, LTC_CODE_CUDA_PTX, 80, "ptx80", 5), 0);
    cr_assert_eq(code_image_append(&img, n, LTC_CODE_CUDA_CUBIN, 80, "cubin80", 7), 0);
    cr_assert_eq(code_image_append(&img, n, LTC_CODE_CUDA_CUBIN, 90 | LTC_ARCH_A, "cubin90a", 8), 0);
    return img;
}

static const char *pick(const uint8_t *img, uint64_t n, int maj, int min, int ptx, char *err, size_t el) {
    uint32_t kind, arch;
    const uint8_t *d;
    uint64_t len;
    static char got[32];
    if (rt_cu_pick_code(img, n, maj, min, ptx, &kind, &arch, &d, &len, err, el) != 0) return NULL;
    memcpy(got, d, len);
    got[len] = 0;
    return got;
}

Test(rt_cuda, cubin_for_the_capability_else_ptx) {
    uint64_t n;
    uint8_t *img = image(&n);
    char err[300];
    cr_assert_str_eq(pick(img, n, 9, 0, 0, err, sizeof err), "cubin90a", "H100/H200: the sm_90a cubin");
    cr_assert_str_eq(pick(img, n, 8, 0, 0, err, sizeof err), "cubin80", "A100");
    cr_assert_str_eq(pick(img, n, 8, 9, 0, err, sizeof err), "cubin80", "sm_80 runs on 8.9");
    cr_assert_str_eq(pick(img, n, 10, 0, 0, err, sizeof err), "ptx80", "Blackwell: sm_90a does not run there; PTX JIT");
    cr_assert_str_eq(pick(img, n, 9, 0, 1, err, sizeof err), "ptx80", "LTC_CUDA_PTX=1");
    cr_assert_null(pick(img, n, 7, 5, 0, err, sizeof err), "Turing: nothing fits");
    cr_assert(strstr(err, "no cubin for sm_75 and no PTX for compute_75"), "%s", err);
    cr_assert_null(pick(img, n, 0, 0, 0, err, sizeof err));
    img[0] ^= 1;
    cr_assert_null(pick(img, n, 9, 0, 0, err, sizeof err), "a damaged image");
    cr_assert(strstr(err, "magic"), "%s", err);
    free(img);
}
