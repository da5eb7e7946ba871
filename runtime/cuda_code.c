/* cuda_code.c: opening the CUDA driver library and choosing the code a
 * device runs from a model's code image (rt_cuda.h). */
#include "runtime/rt_cuda.h"
#include "runtime/rt_internal.h"
#include "plan/code_image.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

int rt_cu_load_api(RtCuApi *api, void **lib, char *err, size_t errlen) {
    const char *path = getenv("LTC_CUDA_LIB");
    if (!path || !*path) path = "libcuda.so.1";
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*lib) {
        const char *why = dlerror();
        return rt_fail(err, errlen, "cannot load the CUDA driver '%s' (%s): this host has no NVIDIA driver; "
                       "install one, or set LTC_CUDA_LIB", path, why ? why : "?");
    }
    static const RtDlSym syms[] = {
#define X(field, sym, ret, args) {sym, offsetof(RtCuApi, field)},
        RT_CU_FUNCS(X)
#undef X
    };
    const char *missing = rt_dl_bind(*lib, syms, sizeof syms / sizeof syms[0], api);
    if (missing) {
        dlclose(*lib);
        *lib = NULL;
        return rt_fail(err, errlen, "the CUDA driver '%s' has no %s (a driver for CUDA 12 or later is needed)", path,
                       missing);
    }
    return 0;
}

int rt_cu_pick_code(const uint8_t *image, uint64_t image_len, int cc_major, int cc_minor, int force_ptx,
                    uint32_t *kind, uint32_t *arch, const uint8_t **data, uint64_t *len, char *err, size_t errlen) {
    char why[300];
    if (cc_major < 1 || cc_major > 99 || cc_minor < 0 || cc_minor > 9)
        return rt_fail(err, errlen, "compute capability %d.%d is out of range", cc_major, cc_minor);
    uint32_t cc = (uint32_t)(cc_major * 10 + cc_minor);
    int found;
    if (!force_ptx) {
        /* sm_90a runs on 9.0 alone: an arch-specific cubin matches exactly */
        if ((found = code_image_find(image, image_len, LTC_CODE_CUDA_CUBIN, cc | LTC_ARCH_A, data, len, why, sizeof why)) != 0) {
            if (found < 0) return rt_fail(err, errlen, "%s", why);
            *kind = LTC_CODE_CUDA_CUBIN, *arch = cc | LTC_ARCH_A;
            return 0;
        }
        /* sm_XY runs on X.Z for Z >= Y */
        for (int m = cc_minor; m >= 0; m--) {
            uint32_t a = (uint32_t)(cc_major * 10 + m);
            if ((found = code_image_find(image, image_len, LTC_CODE_CUDA_CUBIN, a, data, len, why, sizeof why)) != 0) {
                if (found < 0) return rt_fail(err, errlen, "%s", why);
                *kind = LTC_CODE_CUDA_CUBIN, *arch = a;
                return 0;
            }
        }
    }
    /* PTX for compute_XY JIT-compiles for any device of capability >= X.Y */
    for (uint32_t a = cc; a >= 30; a--) {
        if ((found = code_image_find(image, image_len, LTC_CODE_CUDA_PTX, a, data, len, why, sizeof why)) != 0) {
            if (found < 0) return rt_fail(err, errlen, "%s", why);
            *kind = LTC_CODE_CUDA_PTX, *arch = a;
            return 0;
        }
    }
    return rt_fail(err, errlen, "the model has no cubin for sm_%u and no PTX for compute_%u or lower "
                   "(compile it with --gpu-arch sm_%u)", cc, cc, cc);
}
