/* cuda_replay.c: run the cases tests/unit/ocl_runner.h writes with
 * LTC_CUDA_CASES (the cuda backend's code image, buffers, launches and the
 * reference outputs) on a CUDA GPU, through the driver API by dlopen, with
 * the ABI of plan/gpu_abi.h: one block per tile, launches of at most
 * LTC_GPU_MAX_GROUPS blocks with args.tile0, parameters = 8 device
 * pointers then LtcGpuArgs by value (then the tensor maps of a TMA GEMM,
 * encoded as the CUDA device does: runtime/cuda_tma.c).  Each case runs from the sm_90a or
 * sm_80 cubin (whichever the GPU loads) and again from the compute_80 PTX
 * (JIT-compiled by the driver).  A test tool for a GPU machine, not part
 * of the runtime (runtime/device_cuda.c is).
 *
 *   cuda_replay case_*.bin     exit 0 when every case matches */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

#include "plan/gpu_abi.h"
#include "runtime/rt_cuda_tma.h"

#define CU_FNS(X) X(cuInit) X(cuDeviceGet) X(cuDeviceGetAttribute) X(cuDevicePrimaryCtxRetain) X(cuCtxSetCurrent) \
    X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) X(cuLaunchKernel) X(cuCtxSynchronize) \
    X(cuFuncSetAttribute)
#define CU_FNS2(X) X(cuMemAlloc, "cuMemAlloc_v2") X(cuModuleGetGlobal, "cuModuleGetGlobal_v2") X(cuMemFree, "cuMemFree_v2") \
    X(cuMemcpyHtoD, "cuMemcpyHtoD_v2") X(cuMemcpyDtoH, "cuMemcpyDtoH_v2") X(cuMemsetD8, "cuMemsetD8_v2")
static struct {
#define F(n) __typeof__(&n) n;
    CU_FNS(F)
#undef F
#define F(n, s) __typeof__(&n) n;
    CU_FNS2(F)
#undef F
} cu;
static RtCuTensorMapEncodeTiled encode;   /* cuTensorMapEncodeTiled */

typedef struct Root { uint64_t bytes; uint8_t *data; CUdeviceptr dev; } Root;
typedef struct Launch { char name[128]; uint32_t threads; int64_t tiles; uint32_t root[8]; uint64_t off[8]; LtcGpuArgs a; } Launch;
typedef struct Out { uint32_t root, dtype; uint64_t bytes; double tol; uint8_t *ref; } Out;

static int get(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n ? 0 : -1; }

/* ir.h's DType codes the cases use: f32 0, f16 1, bf16 2, i64 3, bool 4 */
enum { C_F16 = 1, C_BF16 = 2, C_I64 = 3, C_BOOL = 4 };
static int is_half(uint32_t dt) { return dt == C_F16 || dt == C_BF16; }
/* the float value of a bf16 or f16 element's bits */
static float half_value(uint32_t dt, uint16_t h) {
    uint32_t u;
    if (dt == C_BF16) u = (uint32_t)h << 16;
    else {
        uint32_t sgn = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) u = sgn | 0x7f800000u | m << 13;
        else if (e) u = sgn | (e + 112) << 23 | m << 13;
        else {                       /* subnormal: m 2^-24 */
            float v = (float)m * 5.9604644775390625e-8f;
            return sgn ? -v : v;
        }
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* the section of kind/arch in the image, or NULL */
static const uint8_t *section(const uint8_t *img, uint64_t len, uint32_t kind, uint32_t arch, uint64_t *slen) {
    uint64_t at = 8;
    while (at + sizeof(LtcCodeSection) <= len) {
        LtcCodeSection h;
        memcpy(&h, img + at, sizeof h);
        at += sizeof h;
        if (h.kind == kind && h.arch == arch) { *slen = h.len; return img + at; }
        at += (h.len + 7) / 8 * 8;
    }
    return NULL;
}

/* One run of a case from `code`; 0 when every output matches. */
static int run(const char *path, const char *what, const void *code, Root *roots, uint32_t nroots, Launch *ls,
               uint32_t nl, Out *outs, uint32_t nout) {
    CUmodule mod;
    CUresult r = cu.cuModuleLoadData(&mod, code);
    if (r) { printf("FAIL %s (%s): cuModuleLoadData %d\n", path, what, r); return -1; }
    int bad = 0;
    for (uint32_t i = 0; i < nroots && !bad; i++) {
        if (cu.cuMemAlloc(&roots[i].dev, roots[i].bytes + 64)) { printf("FAIL %s: cuMemAlloc\n", path); bad = 1; break; }
        cu.cuMemsetD8(roots[i].dev, 0xff, roots[i].bytes + 64);   /* NaN where nothing is written */
        if (roots[i].data && cu.cuMemcpyHtoD(roots[i].dev, roots[i].data, roots[i].bytes)) bad = 1;
    }
    for (uint32_t i = 0; i < nl && !bad; i++) {
        CUfunction fn;
        if ((r = cu.cuModuleGetFunction(&fn, mod, ls[i].name))) { printf("FAIL %s: no kernel %s (%d)\n", path, ls[i].name, r); bad = 1; break; }
        /* its dynamic shared memory, as the runtime (plan/gpu_abi.h LTC_GPU_DSM_PREFIX) */
        char sym[160];
        snprintf(sym, sizeof sym, LTC_GPU_DSM_PREFIX "%s", ls[i].name);
        CUdeviceptr dp;
        size_t dn = 0;
        unsigned dsm = 0;
        if (cu.cuModuleGetGlobal(&dp, &dn, mod, sym) == CUDA_SUCCESS && dn == 4 &&
            (cu.cuMemcpyDtoH(&dsm, dp, 4) || (dsm && cu.cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)dsm)))) {
            printf("FAIL %s: %s: %u bytes of dynamic shared memory refused\n", path, ls[i].name, dsm);
            bad = 1;
            break;
        }
        snprintf(sym, sizeof sym, LTC_GPU_TMA_PREFIX "%s", ls[i].name);
        unsigned tma = 0;
        if (cu.cuModuleGetGlobal(&dp, &dn, mod, sym) == CUDA_SUCCESS && dn == 4 && cu.cuMemcpyDtoH(&tma, dp, 4)) tma = 0;
        CUdeviceptr ptr[8];
        void *params[11];
        for (int b = 0; b < 8; b++) { ptr[b] = roots[ls[i].root[b]].dev + ls[i].off[b]; params[b] = &ptr[b]; }
        LtcGpuArgs a = ls[i].a;
        params[8] = &a;
        uint8_t maps[2][LTC_GPU_TMA_MAP_BYTES];
        memset(maps, 0, sizeof maps);
        if (tma && (!encode || (r = rt_cu_tma_gemm_maps(encode, tma, ptr[0], ptr[1], a.dims, maps)) != 0)) {
            printf("FAIL %s: %s: tensor maps (%d)\n", path, ls[i].name, encode ? (int)r : -1);
            bad = 1;
            break;
        }
        params[9] = maps[0];
        params[10] = maps[1];
        for (int64_t t0 = 0; t0 < ls[i].tiles && !bad; t0 += LTC_GPU_MAX_GROUPS) {
            int64_t g = ls[i].tiles - t0 < LTC_GPU_MAX_GROUPS ? ls[i].tiles - t0 : LTC_GPU_MAX_GROUPS;
            a.tile0 = t0;
            if ((r = cu.cuLaunchKernel(fn, (unsigned)g, 1, 1, ls[i].threads, 1, 1, dsm, NULL, params, NULL)) ||
                (r = cu.cuCtxSynchronize())) {
                printf("FAIL %s (%s): %s: launch %d\n", path, what, ls[i].name, r);
                bad = 1;
            }
        }
    }
    for (uint32_t o = 0; o < nout && !bad; o++) {
        uint8_t *got = malloc(outs[o].bytes + 1);
        if (!got || cu.cuMemcpyDtoH(got, roots[outs[o].root].dev, outs[o].bytes)) { bad = 1; free(got); break; }
        double maxerr = 0, maxref = 0;
        uint32_t dt = outs[o].dtype;
        size_t es = dt == C_I64 ? 8 : dt == C_BOOL ? 1 : is_half(dt) ? 2 : 4, n = outs[o].bytes / es;
        for (size_t i = 0; i < n; i++) {
            double x, rv;
            if (es == 2) {   /* a bf16/f16 result against the float reference */
                uint16_t h;
                float b;
                memcpy(&h, got + 2 * i, 2);
                memcpy(&b, outs[o].ref + 4 * i, 4);
                x = half_value(dt, h);
                rv = b;
            } else if (es == 8) { int64_t a, b; memcpy(&a, got + 8 * i, 8); memcpy(&b, outs[o].ref + 8 * i, 8); x = (double)a; rv = (double)b; }
            else if (es == 1) { x = got[i]; rv = outs[o].ref[i]; }
            else { float a, b; memcpy(&a, got + 4 * i, 4); memcpy(&b, outs[o].ref + 4 * i, 4); x = a; rv = b; }
            if ((isnan(x) && isnan(rv)) || x == rv) continue;   /* equal infinities too */
            double e = fabs(x - rv);
            if (!(e <= maxerr)) maxerr = isnan(e) ? INFINITY : e;
            if (fabs(rv) > maxref) maxref = fabs(rv);
        }
        double rel = maxerr / (maxref > 1 ? maxref : 1);
        if (!(rel <= outs[o].tol)) {
            printf("FAIL %s (%s): output %u: rel err %.3g > %.3g (%s)\n", path, what, o, rel, outs[o].tol, ls[nl - 1].name);
            bad = 1;
        }
        free(got);
    }
    for (uint32_t i = 0; i < nroots; i++)
        if (roots[i].dev) { cu.cuMemFree(roots[i].dev); roots[i].dev = 0; }
    cu.cuModuleUnload(mod);
    return bad ? -1 : 0;
}

static int one(const char *path, int cc) {
    FILE *f = fopen(path, "rb");
    if (!f) { printf("FAIL %s: cannot open\n", path); return -1; }
    char magic[8];
    uint64_t il = 0;
    uint8_t *img = NULL;
    uint32_t nroots = 0, nl = 0, nout = 0;
    Root *roots = NULL;
    Launch *ls = NULL;
    Out *outs = NULL;
    int rc = -1;
    if (get(f, magic, 8) || memcmp(magic, "LTCCASE1", 8) || get(f, &il, 8) || !(img = malloc(il)) || get(f, img, il) ||
        get(f, &nroots, 4) || !(roots = calloc(nroots, sizeof *roots)))
        goto bad;
    for (uint32_t i = 0; i < nroots; i++) {
        uint8_t has;
        if (get(f, &roots[i].bytes, 8) || get(f, &has, 1)) goto bad;
        if (has && (!(roots[i].data = malloc(roots[i].bytes + 1)) || get(f, roots[i].data, roots[i].bytes))) goto bad;
    }
    if (get(f, &nl, 4) || !(ls = calloc(nl + 1, sizeof *ls))) goto bad;
    for (uint32_t i = 0; i < nl; i++) {
        if (get(f, ls[i].name, 128) || get(f, &ls[i].threads, 4) || get(f, &ls[i].tiles, 8)) goto bad;
        for (int b = 0; b < 8; b++)
            if (get(f, &ls[i].root[b], 4) || get(f, &ls[i].off[b], 8)) goto bad;
        if (get(f, &ls[i].a, sizeof ls[i].a)) goto bad;
    }
    if (get(f, &nout, 4) || !(outs = calloc(nout + 1, sizeof *outs))) goto bad;
    for (uint32_t o = 0; o < nout; o++)
        if (get(f, &outs[o].root, 4) || get(f, &outs[o].bytes, 8) || get(f, &outs[o].dtype, 4) || get(f, &outs[o].tol, 8) ||
            !(outs[o].ref = malloc(2 * outs[o].bytes + 1)) ||
            get(f, outs[o].ref, is_half(outs[o].dtype) ? 2 * outs[o].bytes : outs[o].bytes))
            goto bad;
    uint64_t sl;
    const uint8_t *cubin = cc >= 90 ? section(img, il, LTC_CODE_CUDA_CUBIN, 90 | LTC_ARCH_A, &sl)
                                    : section(img, il, LTC_CODE_CUDA_CUBIN, 80, &sl);
    const uint8_t *ptx = section(img, il, LTC_CODE_CUDA_PTX, 80, &sl);
    if (!cubin || !ptx) { printf("FAIL %s: image without the cubin/PTX\n", path); goto done; }
    rc = run(path, cc >= 90 ? "sm_90a cubin" : "sm_80 cubin", cubin, roots, nroots, ls, nl, outs, nout);
    if (run(path, "compute_80 PTX", ptx, roots, nroots, ls, nl, outs, nout)) rc = -1;
    goto done;
bad:
    printf("FAIL %s: malformed case file\n", path);
done:
    fclose(f);
    for (uint32_t i = 0; roots && i < nroots; i++) free(roots[i].data);
    for (uint32_t o = 0; outs && o < nout; o++) free(outs[o].ref);
    free(roots); free(ls); free(outs); free(img);
    return rc;
}

int main(int argc, char **argv) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW);
    if (!lib) { printf("no libcuda.so.1: %s\n", dlerror()); return 2; }
#define F(n) if (!(cu.n = (__typeof__(cu.n))dlsym(lib, #n))) { printf("no %s\n", #n); return 2; }
    CU_FNS(F)
#undef F
#define F(n, s) if (!(cu.n = (__typeof__(cu.n))dlsym(lib, s))) { printf("no %s\n", s); return 2; }
    CU_FNS2(F)
#undef F
    encode = (RtCuTensorMapEncodeTiled)dlsym(lib, "cuTensorMapEncodeTiled");
    CUdevice dev;
    CUcontext ctx;
    int major = 0, minor = 0;
    CUresult r;
    if ((r = cu.cuInit(0)) || (r = cu.cuDeviceGet(&dev, 0)) || (r = cu.cuDevicePrimaryCtxRetain(&ctx, dev)) ||
        (r = cu.cuCtxSetCurrent(ctx))) {
        printf("no usable GPU (CUresult %d)\n", r);
        return 2;
    }
    cu.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
    cu.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
    int cc = major * 10 + minor, failed = 0;
    for (int i = 1; i < argc; i++)
        if (one(argv[i], cc)) failed++;
    printf("cuda_replay: compute capability %d, %d cases, %d failed (each from the cubin and from the PTX)\n", cc,
           argc - 1, failed);
    return failed ? 1 : 0;
}
