/* gpu_image.c: what the GPU backends hand the integrator's emit_library:
 * the code image (plan/gpu_abi.h: LTC_CODE_MAGIC, then 8-byte aligned
 * sections) and the kernel table (names as in the plan, group sizes,
 * shared memory); the Metal dialect renders every family; supports
 * refuses what the renderers do not write, with a reason. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "codegen/metal/metal.h"
#include "codegen/opencl/opencl.h"
#ifdef LTC_HAVE_CUDA
#include "codegen/cuda/cuda.h"
#endif

static Arena A;
static LtcDiag D;

static void setup(void) { arena_init(&A); }
static void teardown(void) { arena_free(&A); }
TestSuite(gpu_image, .init = setup, .fini = teardown, .timeout = 300);

static Node *input(Graph *g, int rank, const int64_t *d) {
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.d[i] = dim_const(d[i]);
    Node *n = ir_input(g, "x", DT_F32, &s, (SrcLoc){0});
    cr_assert(n);
    return n;
}

static Node *param(Graph *eager, Graph *g, int rank, const int64_t *d) {
    Shape s = {.rank = rank};
    size_t ne = 1;
    for (int i = 0; i < rank; i++) { s.d[i] = dim_const(d[i]); ne *= (size_t)d[i]; }
    Node *e = ir_input(eager, "w", DT_F32, &s, (SrcLoc){0});
    cr_assert(e);
    e->data = arena_alloc_big(&A, ne * 4 + 64);
    return ir_param_for(g, e);
}

static Node *emit(Graph *g, Op op, Node **in, int nin, Attr a) {
    Node *n = ir_emit(g, op, in, nin, &a, (SrcLoc){0}, &D);
    cr_assert(n, "%s: %s", op_info[op].name, D.msg);
    return n;
}

/* linear -> softmax, and an sdpa: gemm, gemm_pack, softmax, flash_attention */
static Plan *small_plan(Backend *b) {
    Graph *eager = graph_new(&A, "<eager>", true), *g = graph_new(&A, "img", false);
    Node *x = input(g, 2, (int64_t[]){5, 24});
    Node *y = emit(g, OP_LINEAR, (Node *[]){x, param(eager, g, 2, (int64_t[]){40, 24})}, 2, (Attr){0});
    ir_add_output(g, emit(g, OP_SOFTMAX, (Node *[]){y}, 1, (Attr){.axis = 1}));
    Node *q = input(g, 4, (int64_t[]){1, 2, 9, 16});
    ir_add_output(g, emit(g, OP_SDPA, (Node *[]){q, q, q}, 3, (Attr){.causal = true}));
    Plan *p = NULL;
    cr_assert(plan_build(g, b, &A, &p, &D) == 0, "%s", D.msg);
    cr_assert(b->generate(b, &p, 1, NULL, &D) == 0, "%s", D.msg);
    return p;
}

/* Walk the image: magic, sections in bounds and 8-byte aligned. */
static int sections(const CsImage *img, LtcCodeSection *out, const uint8_t **data, int max) {
    uint64_t magic;
    cr_assert(img->len >= 8);
    memcpy(&magic, img->p, 8);
    cr_assert_eq(magic, LTC_CODE_MAGIC);
    size_t at = 8;
    int n = 0;
    while (at < img->len && n < max) {
        cr_assert(at % 8 == 0 && at + sizeof(LtcCodeSection) <= img->len);
        memcpy(&out[n], img->p + at, sizeof *out);
        at += sizeof *out;
        data[n] = img->p + at;
        cr_assert(at + out[n].len <= img->len);
        at += (size_t)(out[n].len + 7) / 8 * 8;
        n++;
    }
    cr_assert_eq(at, img->len);
    return n;
}

/* gemm_shared: the fp32 gemm's shared bytes, As and Bs (r_gemm.c), and
 * with Metal's simdgroup matrices the 64 x 64 C block too (r_gemm_simd.c) */
enum { GEMM_SHARED = 2 * 64 * 16 * 4, GEMM_SIMD_SHARED = (2 * 64 * 16 + 64 * 64) * 4 };
static void check_table_shared(const Plan *p, const LtcGpuKernel *k, int nk, int gemm_shared) {
    cr_assert_eq(nk, p->nkernels);
    for (int i = 0; i < nk; i++) {
        cr_assert_str_eq(k[i].name, p->kernels[i].name);
        cr_assert(k[i].threads == 128 || k[i].threads == 256, "%s: %u threads", k[i].name, k[i].threads);
        if (!strcmp(p->kernels[i].family, "gemm")) cr_assert_eq(k[i].shared_bytes, gemm_shared);
        if (!strcmp(p->kernels[i].family, "gemm_pack")) cr_assert_eq(k[i].shared_bytes, 0);
    }
}
static void check_table(const Plan *p, const LtcGpuKernel *k, int nk) { check_table_shared(p, k, nk, GEMM_SHARED); }

Test(gpu_image, opencl_source_section_and_table) {
    BackendOptions o = {0};
    Backend *b = backend_new("opencl", &A, &o, &D);
    cr_assert(b, "%s", D.msg);
    cr_assert_str_eq(b->device, "opencl");
    cr_assert_eq(b->buf_align, 64);
    Plan *p = small_plan(b);
    CsImage img = {0};
    const LtcGpuKernel *k;
    int nk;
    cr_assert(opencl_code_image(b, &img, &k, &nk, &D) == 0, "%s", D.msg);
    LtcCodeSection s[4];
    const uint8_t *data[4];
    cr_assert_eq(sections(&img, s, data, 4), 1);
    cr_assert_eq(s[0].kind, LTC_CODE_OPENCL_C);
    cr_assert_eq(s[0].arch, 0);
    StrBuf t = {0};
    cr_assert(b->emit_text(b, "opencl", &t, &D) == 0);
    cr_assert_eq(s[0].len, t.len);
    cr_assert(memcmp(data[0], t.s, t.len) == 0);
    check_table(p, k, nk);
    void *fn;
    cr_assert(b->jit_lookup(b, k[0].name, &fn, &D) != 0 && fn == NULL);
    cr_assert(strstr(D.msg, "not yet") || strstr(D.msg, "yet"), "%s", D.msg);
    sb_free(&t);
    csrc_image_free(&img);
    b->destroy(b);
}

#ifdef LTC_HAVE_CUDA
Test(gpu_image, cuda_ptx_and_cubins) {
    BackendOptions o = {0};
    Backend *b = backend_new("cuda", &A, &o, &D);
    cr_assert(b, "%s", D.msg);
    cr_assert_str_eq(b->device, "cuda");
    Plan *p = small_plan(b);
    CsImage img = {0};
    const LtcGpuKernel *k;
    int nk;
    cr_assert(cuda_code_image(b, &img, &k, &nk, &D) == 0, "%s", D.msg);
    LtcCodeSection s[4];
    const uint8_t *data[4];
    cr_assert_eq(sections(&img, s, data, 4), 3);
    cr_assert(s[0].kind == LTC_CODE_CUDA_PTX && s[0].arch == 80);
    cr_assert(strstr((const char *)data[0], ".target sm_80"));
    cr_assert_eq(data[0][s[0].len - 1], 0, "the PTX keeps its NUL (cuModuleLoadData reads a C string)");
    cr_assert(s[1].kind == LTC_CODE_CUDA_CUBIN && s[1].arch == 80);
    cr_assert(s[2].kind == LTC_CODE_CUDA_CUBIN && s[2].arch == (90 | LTC_ARCH_A));
    for (int i = 1; i < 3; i++) {
        cr_assert(memcmp(data[i], "\x7f" "ELF", 4) == 0, "a cubin is an ELF file");
        for (int j = 0; j < nk; j++)   /* one module per target: every kernel in each cubin */
            cr_assert(memmem(data[i], s[i].len, k[j].name, strlen(k[j].name)), "%s not in cubin %d", k[j].name, i);
    }
    for (int i = 0; i < nk; i++) cr_assert(strstr((const char *)data[0], k[i].name), "%s not in the PTX", k[i].name);
    check_table(p, k, nk);
    StrBuf t = {0};
    cr_assert(b->emit_text(b, "ptx", &t, &D) == 0);
    cr_assert(strstr(t.s, ".visible .entry"));
    sb_free(&t);
    csrc_image_free(&img);
    b->destroy(b);
}
#endif

/* The third dialect: every family of the plan renders in MSL (no compiler
 * here: the text is checked for the dialect's spelling). */
Test(gpu_image, metal_dialect_renders) {
    BackendOptions o = {0};
    Backend *b = backend_new("opencl", &A, &o, &D);
    cr_assert(b);
    Plan *p = small_plan(b);
    StrBuf t = {0};
    csrc_preamble(&csrc_metal, &t);
    for (int i = 0; i < p->nkernels; i++) {
        KernelSpec s;
        kernel_spec(p, i, b, &s);
        CsInfo info;
        cr_assert(csrc_render(&csrc_metal, &s, &t, &info, &D) == 0, "%s", D.msg);
    }
    cr_assert(strstr(t.s, "#include <metal_stdlib>") && strstr(t.s, "kernel void") &&
              strstr(t.s, "threadgroup float") && strstr(t.s, "[[buffer(8)]]") &&
              strstr(t.s, "threadgroup_barrier(mem_flags::mem_threadgroup)") && strstr(t.s, "ltc_erf"));
    cr_assert(!strstr(t.s, "__global") && !strstr(t.s, "__shared__") && !strstr(t.s, "double"));
    sb_free(&t);
    b->destroy(b);
}

/* The metal backend: one MSL section (no metallib where Apple's tools are
 * absent: LTC_XCRUN=none is what a Linux host amounts to), the text of
 * --emit metal, the same kernel table as the other GPU targets. */
Test(gpu_image, metal_source_section_and_table) {
    BackendOptions o = {0};
    Backend *b = backend_new("metal", &A, &o, &D);
    cr_assert(b, "%s", D.msg);
    cr_assert_str_eq(b->name, "metal");
    cr_assert_str_eq(b->device, "metal");
    cr_assert_eq(b->buf_align, 64);
    Plan *p = small_plan(b);
    CsImage img = {0};
    const LtcGpuKernel *k;
    int nk;
    cr_assert(metal_code_image(b, &img, &k, &nk, &D) == 0, "%s", D.msg);
    LtcCodeSection s[4];
    const uint8_t *data[4];
    cr_assert_eq(sections(&img, s, data, 4), 1);
    cr_assert(s[0].kind == LTC_CODE_MSL && s[0].arch == 0);
    StrBuf t = {0};
    cr_assert(b->emit_text(b, "metal", &t, &D) == 0, "%s", D.msg);
    cr_assert_eq(s[0].len, t.len);
    cr_assert(memcmp(data[0], t.s, t.len) == 0);
    cr_assert(strstr(t.s, "kernel void") && strstr(t.s, "[[buffer(8)]]"));
    check_table_shared(p, k, nk, GEMM_SIMD_SHARED);
    cr_assert(b->emit_text(b, "opencl", &t, &D) != 0 && strstr(D.msg, "emits --emit metal, not 'opencl'"), "%s", D.msg);
    uint8_t *lib = (uint8_t *)"x";
    size_t len = 1;
    setenv("LTC_XCRUN", "none", 1);
    cr_assert(metal_compile_lib("/nonexistent/m.so", t.s, &lib, &len, &D) == 0 && lib == NULL && len == 0);
    unsetenv("LTC_XCRUN");
    sb_free(&t);
    csrc_image_free(&img);
    b->destroy(b);
}

Test(gpu_image, supports_refuses_with_a_reason) {
    KernelSpec s;
    memset(&s, 0, sizeof s);
    const char *why;
    s.family = "gemm";
    s.dtype = DT_BF16;
    s.nin = 2;
    s.in_dtypes[0] = s.in_dtypes[1] = DT_BF16;
    cr_assert(csrc_supports(&s, &why), "bf16 gemm: %s", why ? why : "");
    s.in_dtypes[1] = DT_F32;      /* mixed float dtypes keep the interpreter's promotions: not generated */
    cr_assert(!csrc_supports(&s, &why) && strstr(why, "mixed"), "%s", why ? why : "(none)");
    s.dtype = s.in_dtypes[0] = s.in_dtypes[1] = DT_I64;
    cr_assert(!csrc_supports(&s, &why) && strstr(why, "non-float"), "%s", why ? why : "(none)");
    s.family = "flash_attention";
    s.dtype = DT_F32;
    s.nin = 3;
    s.in_dtypes[0] = s.in_dtypes[1] = s.in_dtypes[2] = DT_F32;
    s.head_dim = s.value_dim = 1024;
    cr_assert(!csrc_supports(&s, &why) && strstr(why, "512"), "%s", why ? why : "(none)");
    s.family = "toy_rows";
    cr_assert(!csrc_supports(&s, &why) && strstr(why, "renderer"));
}

/* The dialects' lane exchange and matrix units: block reductions by xor
 * shuffles in CUDA and MSL, the shared-memory tree in OpenCL (no
 * subgroups in 1.2); the MSL gemm on simdgroup matrices, its threadgroup
 * memory only kernel-scope arrays (the MSL shim relies on it). */
Test(gpu_image, lane_exchange_and_simdgroup_matrix_by_dialect) {
    BackendOptions o = {0};
    Backend *b = backend_new("opencl", &A, &o, &D);
    cr_assert(b);
    Plan *p = small_plan(b);
    const CDialect *dls[3] = {&csrc_cuda, &csrc_opencl, &csrc_metal};
    StrBuf t[3] = {{0}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < p->nkernels; i++) {
            KernelSpec s;
            kernel_spec(p, i, b, &s);
            cr_assert(csrc_render(dls[k], &s, &t[k], NULL, &D) == 0, "%s: %s", dls[k]->name, D.msg);
        }
    cr_assert(strstr(t[0].s, "__shfl_xor_sync(0xffffffffu, mx, 16)") && !strstr(t[0].s, "red[tid + s_]"));
    cr_assert(!strstr(t[0].s, "simdgroup"));
    cr_assert(strstr(t[1].s, "red[tid + s_]") && !strstr(t[1].s, "shfl") && !strstr(t[1].s, "simd"));
    cr_assert(strstr(t[2].s, "simd_shuffle_xor(mx, (ushort)(16))") && !strstr(t[2].s, "red[tid + s_]"));
    cr_assert(strstr(t[2].s, "simdgroup_multiply_accumulate(") && strstr(t[2].s, "threadgroup float Cs[4096]"));
    cr_assert(!strstr(t[2].s, "threadgroup float *") && !strstr(t[2].s, "fmax") && !strstr(t[2].s, "simd_max"));
    for (int k = 0; k < 3; k++) sb_free(&t[k]);
    b->destroy(b);
}
