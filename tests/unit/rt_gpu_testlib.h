/* rt_gpu_testlib.h: the toy model of rt_testlib.h as a GPU model for the
 * OpenCL device: its four kernels in OpenCL C following plan/gpu_abi.h
 * (one work-group per tile, 8 buffer slots as (__global char *, long),
 * LtcGpuArgs by value), a code image holding them, and helpers that build
 * a model.so with device "opencl" and run it. */
#ifndef RT_GPU_TESTLIB_H
#define RT_GPU_TESTLIB_H

#include "rt_testlib.h"
#include "plan/code_image.h"

#include <math.h>

/* RT_TOY_GROUP work-items per group: rows are 4 floats, so k3_rowsum's
 * reduction through local memory and a barrier is exercised. */
#define RT_TOY_GROUP 4

#define RT_CL_PRELUDE                                                                               \
    "typedef struct { long dims[21]; long tile0; long ntiles; float f[4]; } LtcGpuArgs;\n"          \
    "#define PARAMS __global char *b0, long o0, __global char *b1, long o1, __global char *b2, long o2, " \
    "__global char *b3, long o3, __global char *b4, long o4, __global char *b5, long o5, "          \
    "__global char *b6, long o6, __global char *b7, long o7, LtcGpuArgs a\n"                        \
    "#define TILE long r = a.tile0 + (long)get_group_id(0); if (r >= a.ntiles) return; "            \
    "int lid = (int)get_local_id(0), nt = (int)get_local_size(0)\n"

static const char rt_toy_cl_src[] = RT_CL_PRELUDE
    "__kernel void k0_pack(PARAMS) {\n"
    "  TILE;\n"
    "  __global const float *w = (__global const float *)(b0 + o0), *b = (__global const float *)(b1 + o1);\n"
    "  __global float *o = (__global float *)(b2 + o2);\n"
    "  long n = a.dims[0];\n"
    "  for (long i = lid; i < n; i += nt) { o[i] = w[i]; o[n + i] = b[i]; }\n"
    "}\n"
    "__kernel void k1_relu(PARAMS) {\n"
    "  TILE;\n"
    "  __global const float *x = (__global const float *)(b0 + o0);\n"
    "  __global float *t = (__global float *)(b1 + o1);\n"
    "  long n = a.dims[0];\n"
    "  for (long i = lid; i < n; i += nt) t[r * n + i] = fmax(x[r * n + i], 0.0f);\n"
    "}\n"
    "__kernel void k2_affine(PARAMS) {\n"
    "  TILE;\n"
    "  __global const float *t = (__global const float *)(b0 + o0), *wb = (__global const float *)(b1 + o1);\n"
    "  __global float *y = (__global float *)(b2 + o2);\n"
    "  long n = a.dims[0];\n"
    "  for (long i = lid; i < n; i += nt) y[r * n + i] = t[r * n + i] * wb[i] + wb[n + i] + a.f[0];\n"
    "}\n"
    "__kernel void k3_rowsum(PARAMS) {\n"
    "  __local float part[64];\n"
    "  TILE;\n"
    "  __global const float *y = (__global const float *)(b0 + o0);\n"
    "  __global float *s = (__global float *)(b1 + o1);\n"
    "  long n = a.dims[0];\n"
    "  float acc = 0.0f;\n"
    "  for (long i = lid; i < n; i += nt) acc += y[r * n + i];\n"
    "  part[lid] = acc;\n"
    "  barrier(CLK_LOCAL_MEM_FENCE);\n"
    "  if (lid == 0) { float t = 0.0f; for (int i = 0; i < nt; i++) t += part[i]; s[r] = t; }\n"
    "}\n";

/* A code image with one OpenCL C section holding src (malloc'ed). */
static inline uint8_t *rt_cl_image(const char *src, size_t *len) {
    uint8_t *img = NULL;
    uint64_t n = 0;
    if (code_image_append(&img, &n, LTC_CODE_OPENCL_C, 0, src, strlen(src)) != 0) return NULL;
    *len = (size_t)n;
    return img;
}

/* Options for a toy GPU model.so of image img. */
static inline RtSoOpts rt_gpu_opts(const uint8_t *img, size_t len) {
    RtSoOpts o = rt_so_defaults();
    o.device = "opencl";
    o.features = "";
    o.code = img;
    o.code_len = len;
    o.gpu_threads = RT_TOY_GROUP;
    return o;
}

/* Build t->so as the toy GPU model with OpenCL source src.  0 or -1. */
static inline int rt_gpu_build(const RtToyFiles *t, const char *src, const RtSoOpts *extra) {
    size_t len = 0;
    uint8_t *img = rt_cl_image(src, &len);
    if (!img) return -1;
    RtSoOpts o = extra ? *extra : rt_gpu_opts(img, len);
    if (extra && !o.code) { o.code = img; o.code_len = len; }
    Arena a;
    arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    int rc = rt_build_so(t->so, p, 1, &o);
    arena_free(&a);
    free(img);
    return rc;
}

/* Run the toy entry of m at B x S on random inputs and compare with
 * rt_toy_ref; the largest difference, or -1 when the run fails (msg: why). */
static inline double rt_toy_check(ltc_model *m, int64_t B, int64_t S, unsigned seed, char *msg, size_t n) {
    int64_t rows = B * S;
    float *x = malloc((size_t)rows * 16), *y = malloc((size_t)rows * 16), *s = malloc((size_t)rows * 4);
    float *ry = malloc((size_t)rows * 16), *rs = malloc((size_t)rows * 4);
    double worst = -1;
    if (x && y && s && ry && rs) {
        for (int64_t i = 0; i < rows * 4; i++) x[i] = rt_rand(&seed);
        int64_t xs[3] = {B, S, 4}, ss[2] = {B, S};
        DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
        DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                           {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
        if (ltc_model_run(m, NULL, &in, 1, out, 2) != 0) {
            snprintf(msg, n, "%s", ltc_last_error(m)->message);
        } else {
            rt_toy_ref(x, rows, rt_w, rt_b, ry, rs);
            worst = 0;
            for (int64_t i = 0; i < rows * 4; i++) worst = fmax(worst, fabs((double)y[i] - ry[i]));
            for (int64_t i = 0; i < rows; i++) worst = fmax(worst, fabs((double)s[i] - rs[i]));
        }
    }
    free(x); free(y); free(s); free(ry); free(rs);
    return worst;
}

#endif
