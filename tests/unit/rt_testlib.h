/* rt_testlib.h: shared by the rt_* tests: a hand-made plan with tiny C
 * kernels, its plain-C reference, and a builder that turns the plan into a
 * model.so (kernels + a descriptor written in C, compiled with cc), so the
 * runtime is tested without the LLVM backend.
 *
 * The toy entry "forward" (symbols B, S):
 *   x: f32 [B,S,4]   w, b: f32 [4] (params)
 *   prepack:  packed = [w | b]
 *   t = relu(x)                      (scratch arena)
 *   y = t * w + b + f0   (f0 = 0.5)  output 0, [B,S,4]
 *   s = sum over the last axis of y  output 1, [B,S] */
#ifndef RT_TESTLIB_H
#define RT_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lispetorchc/runtime.h"
#include "plan/plan.h"
#include "plan/serialize.h"
#include "runtime/rt_internal.h"
#include "runtime/rt_seal.h"
#include "support/safetensors.h"

/* The kernels, compiled here and (as text) into the test model.so files. */
#define RT_DEFINE_KERNELS(...) __VA_ARGS__ static const char rt_kernel_src[] = #__VA_ARGS__;
RT_DEFINE_KERNELS(
static void k0_pack(void *const *p, const int64_t *d, const float *f, int64_t t0, int64_t t1) {
    const float *w = p[0], *b = p[1];
    float *o = p[2];
    for (int64_t i = 0; i < d[0]; i++) { o[i] = w[i]; o[d[0] + i] = b[i]; }
}
static void k1_relu(void *const *p, const int64_t *d, const float *f, int64_t t0, int64_t t1) {
    const float *x = p[0];
    float *t = p[1];
    int64_t n = d[0];
    for (int64_t r = t0; r < t1; r++)
        for (int64_t i = 0; i < n; i++) t[r * n + i] = x[r * n + i] > 0 ? x[r * n + i] : 0;
}
static void k2_affine(void *const *p, const int64_t *d, const float *f, int64_t t0, int64_t t1) {
    const float *t = p[0], *wb = p[1];
    float *y = p[2];
    int64_t n = d[0];
    for (int64_t r = t0; r < t1; r++)
        for (int64_t i = 0; i < n; i++) y[r * n + i] = t[r * n + i] * wb[i] + wb[n + i] + f[0];
}
static void k3_rowsum(void *const *p, const int64_t *d, const float *f, int64_t t0, int64_t t1) {
    const float *y = p[0];
    float *s = p[1];
    int64_t n = d[0];
    for (int64_t r = t0; r < t1; r++) {
        float acc = 0;
        for (int64_t i = 0; i < n; i++) acc += y[r * n + i];
        s[r] = acc;
    }
}
)

/* A one-thread CPU device for tests that run plans directly (opened once,
 * closed at exit by the OS). */
static inline RtDevice *rt_test_device(void) {
    static RtDevice *dev;
    if (!dev) dev = rt_device_open("cpu", 1, NULL, 0);
    return dev;
}

/* CPU device kernel handles (device.h) of n functions: their addresses. */
static inline void rt_cpu_handles(const LtcKernelFn *fns, void **out, int n) {
    for (int i = 0; i < n; i++) memcpy(&out[i], &fns[i], sizeof out[i]);
}

/* The toy kernels as CPU handles, for RtProgram.kernels. */
static inline void **rt_toy_fns(void) {
    static const LtcKernelFn fns[4] = {k0_pack, k1_relu, k2_affine, k3_rowsum};
    static void *h[4];
    rt_cpu_handles(fns, h, 4);
    return h;
}

static inline Dim rt_d(int64_t k, uint32_t sym) { Dim d = {k, sym}; return d; }
static inline Poly rt_p(int64_t k, uint32_t sym) { Poly p = {0}; p.n = 1; p.t[0] = rt_d(k, sym); return p; }

enum { SB = 1, SS = 2 };   /* symbol bits */

static inline Plan *rt_toy_plan(Arena *a) {
    Graph *g = arena_alloc(a, sizeof *g);
    g->arena = a;
    g->name = "forward";
    g->nsyms = 2;
    g->syms[0].name = "B"; g->syms[0].example = 2;
    g->syms[1].name = "S"; g->syms[1].example = 8;
    Plan *p = arena_alloc(a, sizeof *p);
    p->graph = g;
    p->ninputs = 1;
    p->inputs = arena_alloc(a, sizeof *p->inputs);
    p->inputs[0].name = "x"; p->inputs[0].dtype = DT_F32;
    p->inputs[0].shape.rank = 3;
    p->inputs[0].shape.d[0] = rt_d(1, SB); p->inputs[0].shape.d[1] = rt_d(1, SS); p->inputs[0].shape.d[2] = rt_d(4, 0);
    p->noutputs = 2;
    p->outputs = arena_alloc(a, 2 * sizeof *p->outputs);
    p->outputs[0] = p->inputs[0];
    p->outputs[0].name = "y";
    p->outputs[1].name = "s"; p->outputs[1].dtype = DT_F32;
    p->outputs[1].shape.rank = 2;
    p->outputs[1].shape.d[0] = rt_d(1, SB); p->outputs[1].shape.d[1] = rt_d(1, SS);
    p->nparams = 2;
    p->params = arena_alloc(a, 2 * sizeof *p->params);
    p->params[0].name = "layer.w"; p->params[0].dtype = DT_F32; p->params[0].shape.rank = 1; p->params[0].shape.d[0] = rt_d(4, 0);
    p->params[1] = p->params[0];
    p->params[1].name = "layer.b";
    p->nbufs = 7;
    p->bufs = arena_alloc(a, 7 * sizeof *p->bufs);
    PlanBuf *b = p->bufs;
    b[0] = (PlanBuf){BUF_INPUT, 0, {0}, rt_p(16, SB | SS), "%0 x"};
    b[1] = (PlanBuf){BUF_PARAM, 0, {0}, rt_p(16, 0), "%1 w"};
    b[2] = (PlanBuf){BUF_PARAM, 1, {0}, rt_p(16, 0), "%2 b"};
    b[3] = (PlanBuf){BUF_PACKED, 0, {0}, rt_p(32, 0), "packed wb"};
    b[4] = (PlanBuf){BUF_ARENA, 0, {0}, rt_p(16, SB | SS), "%3 relu"};
    b[5] = (PlanBuf){BUF_OUTPUT, 0, {0}, rt_p(16, SB | SS), "%4 y"};
    b[6] = (PlanBuf){BUF_OUTPUT, 1, {0}, rt_p(4, SB | SS), "%5 s"};
    p->nkernels = 4;
    p->kernels = arena_alloc(a, 4 * sizeof *p->kernels);
    const char *kn[4] = {"k0_pack", "k1_relu", "k2_affine", "k3_rowsum"};
    const char *kf[4] = {"toy_pack", "toy_rows", "toy_affine", "toy_rowsum"};   /* plan/kernel_families.def */
    for (int i = 0; i < 4; i++) { p->kernels[i].name = kn[i]; p->kernels[i].family = kf[i]; }
    p->nprepack = 1;
    p->prepack = arena_alloc(a, sizeof *p->prepack);
    p->prepack[0].kernel = 0; p->prepack[0].nbufs = 3;
    p->prepack[0].bufs[0] = 1; p->prepack[0].bufs[1] = 2; p->prepack[0].bufs[2] = 3;
    p->prepack[0].ndims = 1; p->prepack[0].dims[0] = rt_p(4, 0);
    p->prepack[0].ntiles = rt_p(1, 0);
    p->nsteps = 3;
    p->steps = arena_alloc(a, 3 * sizeof *p->steps);
    PlanStep *s = p->steps;
    s[0].kernel = 1; s[0].nbufs = 2; s[0].bufs[0] = 0; s[0].bufs[1] = 4;
    s[1].kernel = 2; s[1].nbufs = 3; s[1].bufs[0] = 4; s[1].bufs[1] = 3; s[1].bufs[2] = 5; s[1].f[0] = 0.5f;
    s[2].kernel = 3; s[2].nbufs = 2; s[2].bufs[0] = 5; s[2].bufs[1] = 6;
    for (int i = 0; i < 3; i++) {
        s[i].ndims = 1; s[i].dims[0] = rt_p(4, 0);
        s[i].ntiles = rt_p(1, SB | SS);
    }
    p->arena_bytes = rt_p(16, SB | SS);
    p->npacked = 1;
    p->packed = arena_alloc(a, sizeof *p->packed);
    p->packed[0] = p->bufs[3];
    return p;
}

/* Plain-C reference of the toy entry. */
static inline void rt_toy_ref(const float *x, int64_t rows, const float *w, const float *b, float *y, float *s) {
    for (int64_t r = 0; r < rows; r++) {
        float acc = 0;
        for (int i = 0; i < 4; i++) {
            float t = x[r * 4 + i] > 0 ? x[r * 4 + i] : 0;
            y[r * 4 + i] = t * w[i] + b[i] + 0.5f;
            acc += y[r * 4 + i];
        }
        s[r] = acc;
    }
}

static inline float rt_rand(unsigned *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static const float rt_w[4] = {1.5f, -2.0f, 0.25f, 3.0f};
static const float rt_b[4] = {0.1f, 0.2f, -0.3f, 0.4f};

/* Write the toy weights (names, shapes, dtypes can be overridden). */
static inline int rt_write_weights(const char *path, const char *wname, int64_t wlen, StDType dt) {
    StTensor t[2];
    memset(t, 0, sizeof t);
    static float buf[64];
    for (int i = 0; i < 64; i++) buf[i] = i < 4 ? rt_w[i] : 1;
    t[0].name = wname; t[0].dtype = dt; t[0].rank = 1; t[0].shape[0] = wlen;
    t[0].data = buf; t[0].nbytes = (size_t)wlen * st_dtype_size(dt);
    t[1].name = "layer.b"; t[1].dtype = ST_F32; t[1].rank = 1; t[1].shape[0] = 4;
    t[1].data = rt_b; t[1].nbytes = 16;
    char err[256];
    return st_write(path, t, 2, NULL, 0, err, sizeof err);
}

/* How to fake a model.so. */
typedef struct RtSoOpts {
    uint64_t magic;
    unsigned abi;
    const char *version, *triple, *features;
    const char *device;         /* the descriptor's device: "cpu" */
    const void *weights; size_t wlen;
    bool no_descriptor;
    bool tiny_descriptor;       /* an int named ltc_model_descriptor */
    bool swap_names;            /* last plan's first two kernel names swapped in the table */
    bool no_seal;               /* leave out the checksum trailer (rt_seal.h) */
    /* A GPU model (rt_gpu_testlib.h): the code image, and every kernel's
     * group size; the descriptor then has no kernel table but gpu_kernels.
     * digest_code: the image the seal's digest is computed over (NULL:
     * code), to make a descriptor that disagrees with its seal. */
    const uint8_t *code; size_t code_len;
    uint32_t gpu_threads;
    const uint8_t *digest_code; size_t digest_code_len;
} RtSoOpts;

static inline RtSoOpts rt_so_defaults(void) {
    RtSoOpts o = {LTC_MODEL_MAGIC, LTC_MODEL_ABI, LTC_VERSION, "x86_64-pc-linux-gnu", "+sse2", "cpu", NULL, 0, false, false, false, false,
                  NULL, 0, 0, NULL, 0};
    return o;
}

static inline void rt_put_bytes(FILE *f, const char *name, const void *data, size_t n) {
    fprintf(f, "static const unsigned char %s[%zu] __attribute__((aligned(64))) = {", name, n ? n : 1);
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%u", i == 0 ? "" : i % 32 ? "," : ",\n", b[i]);
    if (!n) fprintf(f, "0");
    fprintf(f, "};\n");
}

/* Build `path` (a model.so) for plans whose kernels are the toy kernels. */
static inline int rt_build_so(const char *path, Plan **plans, int nplans, const RtSoOpts *o) {
    StrBuf blob = {0};
    LtcDiag d = {0};
    if (plan_serialize(plans, nplans, &blob, &d) != 0) { fprintf(stderr, "%s\n", d.msg); return -1; }
    char src[600], cmd[1400];
    snprintf(src, sizeof src, "%s.c", path);
    FILE *f = fopen(src, "w");
    if (!f) { sb_free(&blob); return -1; }
    fprintf(f, "#include <stdint.h>\n%s\n", rt_kernel_src);
    rt_put_bytes(f, "plans", blob.s, blob.len);
    if (o->weights) rt_put_bytes(f, "weights", o->weights, o->wlen);
    if (o->code) rt_put_bytes(f, "code", o->code, o->code_len);
    fprintf(f, "typedef void (*K)(void *const *, const int64_t *, const float *, int64_t, int64_t);\n"
               "struct GK { const char *name; uint32_t threads, shared, flags; };\n"
               "struct D { uint64_t magic; uint32_t abi, nk; const char *ver, *triple, *cpu, *feat;\n"
               "  const unsigned char *plans; uint64_t plans_len; const K *k; const char *const *kn;\n"
               "  const unsigned char *w; uint64_t wlen; const char *device;\n"
               "  const unsigned char *code; uint64_t code_len; const struct GK *gk; };\n");
    int nk = 0;
    fprintf(f, "static const K kt[] = {");
    for (int i = 0; i < nplans; i++)
        for (int k = 0; k < plans[i]->nkernels; k++, nk++) fprintf(f, "%s,", plans[i]->kernels[k].name);
    fprintf(f, "};\nstatic const struct GK gk[] = {");
    for (int i = 0; i < nplans; i++)
        for (int k = 0; k < plans[i]->nkernels; k++) {
            int kk = o->swap_names && i == nplans - 1 && k < 2 ? 1 - k : k;
            fprintf(f, "{\"%s\", %u, 0, 0},", plans[i]->kernels[kk].name, o->gpu_threads);
        }
    fprintf(f, "};\nstatic const char *const kn[] = {");
    for (int i = 0; i < nplans; i++)
        for (int k = 0; k < plans[i]->nkernels; k++) {
            int kk = o->swap_names && i == nplans - 1 && k < 2 ? 1 - k : k;
            fprintf(f, "\"%s\",", plans[i]->kernels[kk].name);
        }
    fprintf(f, "};\n");
    if (o->tiny_descriptor)
        fprintf(f, "const int ltc_model_descriptor = 5;\nconst void *ltc_k = kt;\nconst void *ltc_n = kn;\n");
    else if (!o->no_descriptor)
        fprintf(f, "const struct D ltc_model_descriptor = {%lluULL, %u, %d, \"%s\", \"%s\", \"test\", \"%s\",\n"
                   "  plans, %zu, %s, %s, %s, %zu, \"%s\", %s, %zu, %s};\n",
                (unsigned long long)o->magic, o->abi, nk, o->version, o->triple, o->features, blob.len,
                o->code ? "0" : "kt", o->code ? "0" : "kn",
                o->weights ? "weights" : "0", o->weights ? o->wlen : 0, o->device,
                o->code ? "code" : "0", o->code ? o->code_len : 0, o->code ? "gk" : "0");
    else
        fprintf(f, "const void *ltc_something_else = kt;\nconst void *ltc_names = kn;\n");
    fclose(f);
    const uint8_t *dc = o->digest_code ? o->digest_code : o->code;
    size_t dcl = o->digest_code ? o->digest_code_len : o->code_len;
    uint32_t digest = seal_desc_digest((const uint8_t *)blob.s, blob.len, o->version, o->triple, "test", o->features, o->device,
                                       dc, dcl);
    sb_free(&blob);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -w -o '%s' '%s'", path, src);
    if (system(cmd) != 0) return -1;
    char why[300];
    if (o->no_seal) return 0;
    if (seal_write(path, digest, why, sizeof why) != 0) { fprintf(stderr, "%s\n", why); return -1; }
    return 0;
}

/* A fresh temporary directory for one test, and its removal (kept when
 * LTC_KEEP_TMP is set, for debugging). */
static inline const char *rt_tmpdir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/ltc_rt_XXXXXX");
    return mkdtemp(buf);
}
static inline void rt_rmdir(const char *dir) {
    if (getenv("LTC_KEEP_TMP")) { fprintf(stderr, "kept %s\n", dir); return; }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

/* The files of a test of the toy model: a fresh directory, the model.so
 * path in it and the toy weights written there ("layer.w", 4 floats).
 * 0, or -1 when the directory or the weights cannot be made. */
typedef struct RtToyFiles { char dir[64], so[200], wfile[200]; } RtToyFiles;
static inline int rt_toy_files(RtToyFiles *t) {
    if (!rt_tmpdir(t->dir, sizeof t->dir)) return -1;
    snprintf(t->so, sizeof t->so, "%s/toy.so", t->dir);
    snprintf(t->wfile, sizeof t->wfile, "%s/w.safetensors", t->dir);
    return rt_write_weights(t->wfile, "layer.w", 4, ST_F32);
}

/* Open so, bind the weights file, run the toy entry at B=2, S=3 on zeros;
 * the model's last error goes to msg.  The run's status, or -2 (msg: why)
 * when the model does not open. */
static inline int rt_toy_open_run(const char *so, const char *wfile, char *msg, size_t n) {
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    if (!m) { snprintf(msg, n, "%s", err.message); return -2; }
    int rc = ltc_model_bind_weights_file(m, wfile);
    if (rc == 0) {
        float x[24] = {0}, y[24], s[6];
        int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
        DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
        DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                           {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
        rc = ltc_model_run(m, NULL, &in, 1, out, 2);
    }
    snprintf(msg, n, "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
    return rc;
}

#endif
