/* mma_check.c: the bf16 tensor-core GEMM of r_gemm_mma.c (variant 0 of
 * unit_gpu_nvrtc's mma test: linear + bias, gelu, + residual, written with
 * LTC_MMA_DUMP and compiled to an sm_90a cubin here) on a GPU, against a
 * double reference of the same bf16 inputs, ragged shapes, tolerance 1e-2;
 * then M=N=K=4096 and two layer shapes timed (events, 3 warm-up, median of
 * 20), TFLOP/s.  The tensor maps of its TMA path (plan/gpu_abi.h
 * LTC_GPU_TMA_PREFIX) are encoded as the CUDA device does
 * (runtime/cuda_tma.c).  Several cubins (variants of the renderer) are
 * checked and timed in turn.
 *   mma_check mma.cubin [more.cubin...] */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cuda.h>
#include "plan/gpu_abi.h"
#include "runtime/rt_cuda_tma.h"

#define FN(X) X(cuInit) X(cuDeviceGet) X(cuDevicePrimaryCtxRetain) X(cuCtxSetCurrent) X(cuModuleLoadData) \
    X(cuModuleGetFunction) X(cuModuleUnload) X(cuLaunchKernel) X(cuFuncSetAttribute) X(cuCtxSynchronize) X(cuEventRecord) X(cuEventSynchronize)
#define FN2(X) X(cuMemAlloc, "cuMemAlloc_v2") X(cuMemFree, "cuMemFree_v2") X(cuMemcpyHtoD, "cuMemcpyHtoD_v2") \
    X(cuMemcpyDtoH, "cuMemcpyDtoH_v2") X(cuModuleGetGlobal, "cuModuleGetGlobal_v2") X(cuEventCreate, "cuEventCreate") X(cuEventElapsedTime, "cuEventElapsedTime_v2")
static struct {
#define F(n) __typeof__(&n) n;
    FN(F)
#undef F
#define F(n, s) __typeof__(&n) n;
    FN2(F)
#undef F
} cu;

static uint16_t bf(float x) { uint32_t u; memcpy(&u, &x, 4); return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16); }
static float fb(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static uint64_t rng = 88172645463325252ull;
static float rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f; }
static int cmpf(const void *a, const void *b) { float x = *(const float *)a, y = *(const float *)b; return x < y ? -1 : x > y; }

static unsigned dyn;   /* dynamic shared-memory bytes the kernel asks for (its ltc_dsm_k_mma) */
static unsigned tma;   /* its ltc_tma_k_mma, 0: none */
static RtCuTensorMapEncodeTiled encode;

static int run(CUfunction fn, int64_t M, int64_t N, int64_t K, int timed) {
    size_t na = M * K, nw = N * K, nc = M * N;
    uint16_t *A = malloc(na * 2), *W = malloc(nw * 2), *b = malloc(N * 2), *R = malloc(nc * 2), *C = malloc(nc * 2);
    for (size_t i = 0; i < na; i++) A[i] = bf(rnd());
    for (size_t i = 0; i < nw; i++) W[i] = bf(rnd() * 0.1f);
    for (int64_t i = 0; i < N; i++) b[i] = bf(rnd());
    for (size_t i = 0; i < nc; i++) R[i] = bf(rnd());
    CUdeviceptr d[5];
    size_t sz[5] = {na * 2, nw * 2, N * 2, nc * 2, nc * 2};
    void *h[4] = {A, W, b, R};
    for (int i = 0; i < 5; i++) { cu.cuMemAlloc(&d[i], sz[i] + 64); if (i < 4) cu.cuMemcpyHtoD(d[i], h[i], sz[i]); }
    CUdeviceptr p8[8] = {d[0], d[1], d[2], d[3], d[4], d[4], d[4], d[4]};
    LtcGpuArgs a;
    memset(&a, 0, sizeof a);
    a.dims[0] = M; a.dims[1] = N; a.dims[2] = K; a.dims[3] = K; a.dims[4] = N; a.dims[5] = N;
    a.ntiles = ((M + 127) / 128) * ((N + 127) / 128);
    uint8_t maps[2][LTC_GPU_TMA_MAP_BYTES];
    memset(maps, 0, sizeof maps);
    if (tma && rt_cu_tma_gemm_maps(encode, tma, d[0], d[1], a.dims, maps) != 0) { printf("cuTensorMapEncodeTiled failed\n"); return 1; }
    void *params[11];
    for (int i = 0; i < 8; i++) params[i] = &p8[i];
    params[8] = &a;
    params[9] = maps[0];
    params[10] = maps[1];
    int bad = 0;
    if (cu.cuLaunchKernel(fn, (unsigned)a.ntiles, 1, 1, 256, 1, 1, dyn, NULL, params, NULL) || cu.cuCtxSynchronize()) { printf("launch failed\n"); return 1; }
    cu.cuMemcpyDtoH(C, d[4], nc * 2);
    double maxerr = 0, maxref = 0;
    int64_t step = timed ? 97 : 1;   /* 4096: a sample of rows */
    for (int64_t i = 0; i < M; i += step)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) s += (double)fb(A[i * K + k]) * fb(W[j * K + k]);
            s += fb(b[j]);
            s = 0.5 * s * (1 + erf(s / sqrt(2.0)));
            s += fb(R[i * N + j]);
            double e = fabs(s - fb(C[i * N + j]));
            if (!(e <= maxerr)) maxerr = isnan(e) ? INFINITY : e;
            if (fabs(s) > maxref) maxref = fabs(s);
        }
    double rel = maxerr / (maxref > 1 ? maxref : 1);
    bad = !(rel <= 1e-2);
    printf("%s bf16 linear+bias+gelu+res M=%lld N=%lld K=%lld: rel err %.3g\n", bad ? "FAIL" : "ok  ", (long long)M, (long long)N, (long long)K, rel);
    if (timed) {
        CUevent e0, e1;
        cu.cuEventCreate(&e0, 0); cu.cuEventCreate(&e1, 0);
        float ms[20];
        for (int it = 0; it < 23; it++) {
            cu.cuEventRecord(e0, NULL);
            cu.cuLaunchKernel(fn, (unsigned)a.ntiles, 1, 1, 256, 1, 1, dyn, NULL, params, NULL);
            cu.cuEventRecord(e1, NULL);
            cu.cuEventSynchronize(e1);
            if (it >= 3) cu.cuEventElapsedTime(&ms[it - 3], e0, e1);
        }
        qsort(ms, 20, sizeof *ms, cmpf);
        double med = (ms[9] + ms[10]) / 2;
        printf("time M=%lld N=%lld K=%lld: median %.3f ms, %.1f TFLOP/s\n", (long long)M, (long long)N, (long long)K, med, 2.0 * M * N * K / (med * 1e-3) / 1e12);
    }
    for (int i = 0; i < 5; i++) cu.cuMemFree(d[i]);
    free(A); free(W); free(b); free(R); free(C);
    return bad;
}

int main(int argc, char **argv) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib || argc < 2) { printf("usage: mma_check mma.cubin (needs libcuda.so.1)\n"); return 2; }
#define F(n) cu.n = (__typeof__(cu.n))dlsym(lib, #n);
    FN(F)
#undef F
#define F(n, s) cu.n = (__typeof__(cu.n))dlsym(lib, s);
    FN2(F)
#undef F
    encode = (RtCuTensorMapEncodeTiled)dlsym(lib, "cuTensorMapEncodeTiled");
    CUdevice dev; CUcontext ctx;
    if (cu.cuInit(0) || cu.cuDeviceGet(&dev, 0) || cu.cuDevicePrimaryCtxRetain(&ctx, dev) || cu.cuCtxSetCurrent(ctx)) {
        printf("no GPU\n");
        return 2;
    }
    int bad = 0;
    for (int v = 1; v < argc; v++) {
        FILE *f = fopen(argv[v], "rb");
        if (!f) return 2;
        fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f);
        char *img = malloc(n);
        if (fread(img, 1, n, f) != (size_t)n) return 2;
        fclose(f);
        CUmodule mod; CUfunction fn;
        if (cu.cuModuleLoadData(&mod, img) || cu.cuModuleGetFunction(&fn, mod, "k_mma")) { printf("%s: no module\n", argv[v]); return 2; }
        CUdeviceptr dp;    /* the kernel's dynamic shared memory (plan/gpu_abi.h LTC_GPU_DSM_PREFIX), tensor maps */
        size_t dn = 0;
        dyn = tma = 0;
        if (cu.cuModuleGetGlobal(&dp, &dn, mod, LTC_GPU_DSM_PREFIX "k_mma") == CUDA_SUCCESS && dn == 4) cu.cuMemcpyDtoH(&dyn, dp, 4);
        if (cu.cuModuleGetGlobal(&dp, &dn, mod, LTC_GPU_TMA_PREFIX "k_mma") == CUDA_SUCCESS && dn == 4) cu.cuMemcpyDtoH(&tma, dp, 4);
        if (tma && !encode) { printf("the driver has no cuTensorMapEncodeTiled\n"); return 2; }
        printf("== %s: k_mma: %u bytes of dynamic shared memory, tensor maps %#x\n", argv[v], dyn, tma);
        if (dyn && cu.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)dyn)) {
            printf("cuFuncSetAttribute(%u bytes of dynamic shared memory) failed\n", dyn);
            return 2;
        }
        int64_t shapes[][3] = {{1, 1, 1}, {7, 33, 37}, {130, 129, 72}, {257, 300, 64}, {64, 128, 5}, {300, 200, 1000},
                               {128, 128, 32}, {1000, 520, 136}, {129, 256, 8}, {2, 3000, 4104}};
        for (int i = 0; i < 10; i++) bad += run(fn, shapes[i][0], shapes[i][1], shapes[i][2], 0);
        bad += run(fn, 4096, 4096, 4096, 1);
        bad += run(fn, 8192, 3072, 1024, 1);   /* the qkv GEMM of the B4 S2048 E1024 layer */
        bad += run(fn, 8192, 1024, 4096, 1);   /* its second FFN GEMM */
        cu.cuModuleUnload(mod);
        free(img);
    }
    printf("mma_check: %d failed\n", bad);
    return bad != 0;
}
