/* msl_shim.c: the MSL shim itself (tests/metal/README.md).  Hand-written
 * MSL that must fail the check (an address-space mixup, a store through
 * constant, double, unknown or malformed attributes, a threadgroup
 * pointer) or fail at run (a divergent barrier, a simd operation in a
 * group not a multiple of 32, a shuffle out of range), and kernels whose
 * results are known (simd_sum, shuffles, an 8x8 simdgroup matrix product,
 * half rounding against ir/types.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "tests/metal/msl_runner.h"

#define HEAD "#include <metal_stdlib>\nusing namespace metal;\n"

static char err[1 << 16];

static void must_fail_check(const char *what, const char *src, const char *expect) {
    err[0] = 0;
    cr_expect(msl_check(src, err, sizeof err) != 0, "%s: the check passed", what);
    cr_expect(strstr(err, expect) != NULL, "%s: no '%s' in:\n%s", what, expect, err);
}

static void must_pass_check(const char *src) {
    cr_assert(msl_check(src, err, sizeof err) == 0, "%s\n--- source ---\n%s", err, src);
}

Test(msl_shim, check_rejects) {
    must_fail_check("threadgroup array where a device pointer is expected",
                    HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                         "    threadgroup float red[32];\n    device float *p = red;\n    p[i] = x[i];\n}\n",
                    "address_space(3)");
    must_fail_check("device pointer passed for a threadgroup one",
                    HEAD "static void f(threadgroup float *t) { t[0] = 1.0f; }\n"
                         "kernel void k(device float *x [[buffer(0)]]) { f(x); }\n",
                    "threadgroup pointer");   /* the lint: threadgroup pointers are not modelled */
    must_fail_check("a store through constant",
                    HEAD "kernel void k(constant float *c [[buffer(0)]], uint i [[thread_position_in_grid]]) { c[i] = 1.0f; }\n",
                    "read-only");
    must_fail_check("a constant pointer where a device one is expected",
                    HEAD "kernel void k(constant float *c [[buffer(0)]], device float *x [[buffer(1)]]) {\n"
                         "    device float *p = (device float *)x; p = c; p[0] = 0.0f;\n}\n",
                    "address_space(2)");
    must_fail_check("double", HEAD "kernel void k(device float *x [[buffer(0)]]) { double d = x[0]; x[0] = d; }\n",
                    "no double");
    must_fail_check("long long", HEAD "kernel void k(device long long *x [[buffer(0)]]) { x[0] = 1; }\n", "no long long");
    must_fail_check("printf", HEAD "kernel void k(device float *x [[buffer(0)]]) { printf(\"%f\", x[0]); }\n", "printf");
    must_fail_check("an unknown attribute",
                    HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_id_in_grid]]) { x[i] = 0.0f; }\n",
                    "<msl>:3: [[thread_id_in_grid]] is not an MSL attribute");
    must_fail_check("buffer without an index",
                    HEAD "kernel void k(device float *x [[buffer]]) { x[0] = 0.0f; }\n", "needs an argument");
    must_fail_check("buffer index out of range",
                    HEAD "kernel void k(device float *x [[buffer(31)]]) { x[0] = 0.0f; }\n", "out of 0..30");
    must_fail_check("a group size over 1024",
                    HEAD "[[max_total_threads_per_threadgroup(2048)]] kernel void k(device float *x [[buffer(0)]]) { x[0] = 0.0f; }\n",
                    "out of 1..1024");
    must_fail_check("a position attribute with an argument",
                    HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_grid(0)]]) { x[i] = 0; }\n",
                    "takes no argument");
    must_fail_check("an unsuffixed float literal", HEAD "kernel void k(device float *x [[buffer(0)]]) { x[0] *= 0.5; }\n",
                    "0.5 has no f or h suffix");
    must_fail_check("a static variable", HEAD "kernel void k(device float *x [[buffer(0)]]) { static float s = 1.0f; x[0] = s; }\n",
                    "a static variable");
    must_fail_check("goto", HEAD "kernel void k(device float *x [[buffer(0)]]) { goto end; end: x[0] = 0.0f; }\n",
                    "MSL has no goto");
    must_fail_check("recursion", HEAD "static int f(int n) { return n ? g(n - 1) : 0; }\nstatic int g(int n) { return f(n); }\n"
                                      "kernel void k(device int *x [[buffer(0)]]) { x[0] = f(3); }\n", "is recursive");
    must_fail_check("a kernel pointer without an address space",
                    HEAD "kernel void k(float *x [[buffer(0)]]) { x[0] = 0.0f; }\n", "without an address space");
    /* without the shim's own lint, clang still rejects an unknown function */
    must_fail_check("erf (not in MSL)", HEAD "kernel void k(device float *x [[buffer(0)]]) { x[0] = erf(x[0]); }\n", "erf");
}

Test(msl_shim, check_accepts) {
    must_pass_check(HEAD "[[max_total_threads_per_threadgroup(64)]] kernel void k(device float *x [[buffer(0)]],\n"
                         "    constant float *c [[buffer(1)]], uint g [[threadgroup_position_in_grid]],\n"
                         "    ushort l [[thread_index_in_simdgroup]], uint s [[simdgroup_index_in_threadgroup]],\n"
                         "    uint3 tp [[thread_position_in_threadgroup]], uint n [[threads_per_simdgroup]]) {\n"
                         "    threadgroup float red[64];\n"
                         "    red[tp.x] = c[0] * x[g * 64 + tp.x];\n"
                         "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                         "    float v = simd_sum(red[tp.x]) + simd_shuffle_xor(red[0], 1) + simd_max(float(l));\n"
                         "    float4 q = float4(v); q.xy = float2(1.0f); v += dot(q, q) + as_type<float>(as_type<uint>(v));\n"
                         "    half h = half(v); v += float(h * h) + tanh(v) + pow(v, 2.0f) + clamp(v, 0.0f, 1.0f);\n"
                         "    if (isnan(v) || isinf(v)) v = INFINITY;\n"
                         "    x[g * 64 + tp.x] = v + float(s + n);\n}\n");
    /* half through device memory, half and float simdgroup matrices from device and threadgroup memory */
    must_pass_check(HEAD "kernel void k(device half *h [[buffer(0)]], device float *f [[buffer(1)]],\n"
                         "              ushort lane [[thread_index_in_simdgroup]]) {\n"
                         "    half a = h[lane];\n    h[lane + 32] = a * a + half(1.0f);\n"
                         "    simdgroup_half8x8 A;\n    simdgroup_load(A, h, 8);\n"
                         "    threadgroup float t[64];\n    t[lane] = f[lane];\n"
                         "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                         "    simdgroup_float8x8 B, C;\n    simdgroup_load(B, t, 8, ulong2(0, 0), true);\n"
                         "    simdgroup_multiply(C, B, B);\n    simdgroup_store(C, f + 64, 8);\n"
                         "    simdgroup_store(A, h + 64, 8);\n}\n");
}

/* build src's kernel "k" and launch it; the error (or "") in err */
static int run1(const char *src, void **bufs, int64_t groups, int threads) {
    const char *names[] = {"k"};
    err[0] = 0;
    MslProgram *p = msl_build(src, names, 1, err, sizeof err);
    cr_assert(p, "msl_build: %s", err);
    LtcGpuArgs a;
    memset(&a, 0, sizeof a);
    a.ntiles = groups;
    void *b[LTC_GPU_MAX_BUFS] = {0};
    for (int i = 0; bufs && bufs[i] && i < LTC_GPU_MAX_BUFS; i++) b[i] = bufs[i];
    int rc = msl_launch(p, 0, b, &a, groups, threads, err, sizeof err);
    msl_free(p);
    return rc;
}

Test(msl_shim, run_rejects) {
    float x[256] = {0};
    void *b[] = {x, NULL};
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    if (i == 3) return;\n"
                        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n    x[i] = 1.0f;\n}\n", b, 2, 64) != 0);
    cr_expect(strstr(err, "divergent threadgroup barrier: lane 0 waits at line 5 while lane 3 returned"), "%s", err);
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    if (i < 10) threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                        "    else threadgroup_barrier(mem_flags::mem_threadgroup);\n    x[i] = 1.0f;\n}\n", b, 1, 32) != 0);
    cr_expect(strstr(err, "lane 0 waits at line 4, lane 10 at the threadgroup barrier of line 5"), "%s", err);
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    x[i] = simd_sum(x[i]);\n}\n", b, 1, 48) != 0);
    cr_expect(strstr(err, "not a multiple of 32"), "%s", err);
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    x[i] = simd_shuffle(x[i], i + 1);\n}\n", b, 1, 32) != 0);
    cr_expect(strstr(err, "lane index out of 0..31"), "%s", err);
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    if (i < 16) x[i] = simd_sum(x[i]);\n}\n", b, 1, 32) != 0);
    cr_expect(strstr(err, "divergent simd operation"), "%s", err);
    /* a missing barrier: lane 0 reads the others' slots before they run
     * (the schedule runs lanes in order up to a barrier) */
    float y[64] = {0};
    void *by[] = {y, NULL};
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    threadgroup float t[64];\n    t[i] = 1.0f;\n    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                        "    t[i] = 2.0f;\n    float s = 0.0f;\n    for (int j = 0; j < 64; j++) s += t[j];\n    x[i] = s;\n}\n",
                   by, 1, 64) == 0, "%s", err);
    cr_expect(y[0] != 128.0f || y[63] != 128.0f, "the race went unseen: %g %g", y[0], y[63]);
    cr_expect(run1(HEAD "[[max_total_threads_per_threadgroup(32)]] kernel void k(device float *x [[buffer(0)]]) { x[0] = 1; }\n",
                   b, 1, 64) != 0);
    cr_expect(strstr(err, "max_total_threads_per_threadgroup(32)"), "%s", err);
    cr_expect(run1(HEAD "kernel void k(device float *x [[buffer(0)]]) { x[0] = 1; }\n", b, 1, 1025) != 0);
    cr_expect(strstr(err, "1..1024"), "%s", err);
}

/* never hangs: a lane that spins is abandoned at the time limit */
Test(msl_shim, spin_times_out) {
    setenv("LTC_MSL_TIMEOUT_S", "2", 1);
    int x[64] = {0};
    void *b[] = {x, NULL};
    cr_expect(run1(HEAD "kernel void k(device int *x [[buffer(0)]], uint i [[thread_position_in_threadgroup]]) {\n"
                        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
                        "    if (i == 1) while (((volatile device int *)x)[0] == 0) {}\n    x[i] = 1;\n}\n", b, 1, 64) != 0);
    cr_expect(strstr(err, "did not finish in 2 s"), "%s", err);
    unsetenv("LTC_MSL_TIMEOUT_S");
}

/* a group sum: simd_sum per simdgroup, the simdgroups' sums through
 * threadgroup memory; the simdgroup's lanes and index as parameters */
Test(msl_shim, simd_sum_reduction) {
    const char *src = HEAD
        "kernel void k(device float *x [[buffer(0)]], device float *out [[buffer(1)]],\n"
        "              uint g [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]],\n"
        "              ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]],\n"
        "              uint nsg [[simdgroups_per_threadgroup]], uint T [[threads_per_threadgroup]]) {\n"
        "    threadgroup float part[32];\n"
        "    float s = simd_sum(x[g * T + lid]);\n"
        "    if (lane == 0) part[sg] = s;\n"
        "    threadgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    if (sg == 0) {\n"
        "        float v = lane < nsg ? part[lane] : 0.0f;\n"
        "        v = simd_sum(v);\n"
        "        float m = simd_max(v + float(lane));\n"
        "        float d = simd_shuffle_down(float(lane), 3);\n"
        "        float u = simd_shuffle_up(float(lane), 2);\n"
        "        float xo = simd_shuffle_xor(float(lane), 5);\n"
        "        float bc = simd_broadcast(float(lane) * 2.0f, 7);\n"
        "        float ps = simd_prefix_exclusive_sum(1.0f);\n"
        "        out[g * 32 * 6 + lane] = v; out[g * 32 * 6 + 32 + lane] = m; out[g * 32 * 6 + 64 + lane] = d;\n"
        "        out[g * 32 * 6 + 96 + lane] = u; out[g * 32 * 6 + 128 + lane] = xo; out[g * 32 * 6 + 160 + lane] = bc + ps * 0.0f + (lane == 31 ? ps - 31.0f : 0.0f);\n"
        "    }\n}\n";
    enum { G = 3, T = 256 };
    float *x = malloc(G * T * sizeof *x), *out = calloc(G * 32 * 6, sizeof *out);
    cr_assert(x && out);
    for (int i = 0; i < G * T; i++) x[i] = (float)(i % 7) - 2.0f;
    void *b[] = {x, out, NULL};
    cr_assert(run1(src, b, G, T) == 0, "%s", err);
    for (int g = 0; g < G; g++) {
        double want = 0;
        for (int i = 0; i < T; i++) want += x[g * T + i];
        const float *o = out + g * 32 * 6;
        for (int l = 0; l < 32; l++) {
            cr_expect_eq(o[l], (float)want, "group %d lane %d: sum %g, want %g", g, l, o[l], want);
            cr_expect_eq(o[32 + l], (float)want + 31.0f);
            cr_expect_eq(o[64 + l], (float)(l + 3 < 32 ? l + 3 : l), "shuffle_down lane %d: %g", l, o[64 + l]);
            cr_expect_eq(o[96 + l], (float)(l >= 2 ? l - 2 : l), "shuffle_up lane %d: %g", l, o[96 + l]);
            cr_expect_eq(o[128 + l], (float)(l ^ 5));
            cr_expect_eq(o[160 + l], 14.0f, "broadcast/prefix lane %d: %g", l, o[160 + l]);
        }
    }
    free(x);
    free(out);
}

/* D = A B + C for 8x8 matrices (float, and half with its rounding), a
 * transposed load, origins and strides, against the product by hand */
Test(msl_shim, simdgroup_matrix_product) {
    const char *src = HEAD
        "kernel void k(device float *a [[buffer(0)]], device float *b [[buffer(1)]], device float *c [[buffer(2)]],\n"
        "              device float *d [[buffer(3)]], device half *ha [[buffer(4)]], device half *hd [[buffer(5)]]) {\n"
        "    simdgroup_float8x8 A, B, C, D, E;\n"
        "    simdgroup_load(A, a, 16, ulong2(8, 0));\n"        /* columns 8..15 of a 8 x 16 array */
        "    simdgroup_load(B, b);\n"
        "    simdgroup_load(C, c, 8, ulong2(0, 0), true);\n"  /* C transposed */
        "    simdgroup_multiply_accumulate(D, A, B, C);\n"
        "    simdgroup_store(D, d, 8);\n"
        "    simdgroup_multiply(E, A, B);\n"
        "    simdgroup_store(E, d + 64, 8);\n"
        "    simdgroup_half8x8 HA, HD;\n"
        "    simdgroup_load(HA, ha);\n"
        "    simdgroup_multiply(HD, HA, HA);\n"
        "    simdgroup_store(HD, hd);\n"
        "    threadgroup float t[64];\n"
        "    simdgroup_float8x8 F = make_filled_simdgroup_matrix<float, 8, 8>(2.0f);\n"
        "    simdgroup_store(F, t);\n"
        "    simdgroup_barrier(mem_flags::mem_threadgroup);\n"
        "    simdgroup_load(F, t);\n"
        "    simdgroup_float8x8 I(1.0f);\n"    /* the identity */
        "    simdgroup_multiply_accumulate(F, F, I, F);\n"
        "    simdgroup_store(F, d + 128, 8, ulong2(0, 0), true);\n"
        "}\n";
    float a[8 * 16], b[64], c[64], d[192] = {0};
    uint16_t ha[64], hd[64];
    for (int i = 0; i < 8 * 16; i++) a[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < 64; i++) {
        b[i] = (float)((i * 5) % 9) * 0.5f - 2.0f;
        c[i] = (float)i;
        ha[i] = f32_to_f16(1.0f + (float)i / 64.0f);
    }
    void *bufs[] = {a, b, c, d, ha, hd, NULL};
    cr_assert(run1(src, bufs, 1, 32) == 0, "%s", err);
    for (int r = 0; r < 8; r++)
        for (int col = 0; col < 8; col++) {
            float s = 0, h = 0;
            for (int k = 0; k < 8; k++) {
                s += a[r * 16 + 8 + k] * b[k * 8 + col];
                h += f16_to_f32(ha[r * 8 + k]) * f16_to_f32(ha[k * 8 + col]);
            }
            cr_expect_eq(d[r * 8 + col], s + c[col * 8 + r], "D(%d,%d) = %g, want %g", r, col, d[r * 8 + col], s + c[col * 8 + r]);
            cr_expect_eq(d[64 + r * 8 + col], s);
            cr_expect_eq(hd[r * 8 + col], f32_to_f16(h), "half D(%d,%d)", r, col);
            cr_expect_eq(d[128 + r * 8 + col], 4.0f);
        }
}

/* float -> half -> float through the kernel, against ir/types.c: ties,
 * subnormals, overflow, NaN */
Test(msl_shim, half_rounding) {
    const char *src = HEAD
        "kernel void k(device uint *x [[buffer(0)]], device ushort *h [[buffer(1)]], device uint *back [[buffer(2)]],\n"
        "              device ushort *bf [[buffer(3)]], uint i [[thread_position_in_grid]]) {\n"
        "    float f = as_type<float>(x[i]);\n"
        "    half v = half(f);\n"
        "    h[i] = as_type<ushort>(v);\n"
        "    back[i] = as_type<uint>(float(v));\n"
        "    bf[i] = as_type<ushort>(bfloat(f));\n}\n";
    enum { N = 1 << 16 };
    uint32_t *x = malloc(N * 4), *back = malloc(N * 4);
    uint16_t *h = malloc(N * 2), *bf = malloc(N * 2);
    cr_assert(x && back && h && bf);
    uint64_t r = 88172645463325252ull;
    const uint32_t special[] = {0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x33000000u, 0x33000001u,
                                0x387fc000u, 0x38800000u, 0x477fefffu, 0x477ff000u, 0x3f801000u, 0x3f803000u, 0x00000001u};
    for (int i = 0; i < N; i++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        x[i] = i < (int)(sizeof special / 4) ? special[i] : i & 1 ? (uint32_t)r : (uint32_t)(0x30000000u + (r % 0x18000000u));
    }
    void *b[] = {x, h, back, bf, NULL};
    cr_assert(run1(src, b, N / 256, 256) == 0, "%s", err);
    for (int i = 0; i < N; i++) {
        float f;
        memcpy(&f, &x[i], 4);
        uint16_t want = f32_to_f16(f);
        if (isnan(f)) { cr_expect((h[i] & 0x7c00) == 0x7c00 && (h[i] & 0x3ff), "NaN %08x -> %04x", x[i], h[i]); continue; }
        cr_expect_eq(h[i], want, "%08x (%g): half %04x, want %04x", x[i], f, h[i], want);
        float fb = f16_to_f32(h[i]);
        uint32_t ub;
        memcpy(&ub, &fb, 4);
        cr_expect_eq(back[i], ub, "%04x: float %08x, want %08x", h[i], back[i], ub);
        cr_expect_eq(bf[i], f32_to_bf16(f), "%08x: bfloat %04x, want %04x", x[i], bf[i], f32_to_bf16(f));
        if (h[i] != want || back[i] != ub) break;
    }
    free(x); free(back); free(h); free(bf);
}
