/* rt_aot.c: model.so through LLVM (codegen/cpu/aot.c, descriptor.c) with a
 * hand-written kernel in LLVM IR, then loaded and run by the runtime:
 * exported symbols, linked libraries, running at two lengths, and link
 * failures that leave no output. */
#include <criterion/criterion.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Target.h>
#include <math.h>

#include "codegen/cpu/aot.h"
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"
#include "tests/unit/rt_flip.h"

/* y[i] = expf(x[i] * f[0]) over rows [t0, t1) of dims[0] floats; expf
 * comes from libm, so the library must link it. */
static const char *kernel_ir =
    "define void @k0_expscale(ptr %ptrs, ptr %dims, ptr %f, i64 %t0, i64 %t1) {\n"
    "entry:\n"
    "  %xp = load ptr, ptr %ptrs\n"
    "  %yq = getelementptr ptr, ptr %ptrs, i64 1\n"
    "  %yp = load ptr, ptr %yq\n"
    "  %n = load i64, ptr %dims\n"
    "  %s = load float, ptr %f\n"
    "  %b = mul i64 %t0, %n\n"
    "  %e = mul i64 %t1, %n\n"
    "  %c0 = icmp slt i64 %b, %e\n"
    "  br i1 %c0, label %loop, label %done\n"
    "loop:\n"
    "  %i = phi i64 [%b, %entry], [%i1, %loop]\n"
    "  %px = getelementptr float, ptr %xp, i64 %i\n"
    "  %v = load float, ptr %px\n"
    "  %m = fmul float %v, %s\n"
    "  %x = call float @expf(float %m)\n"
    "  %py = getelementptr float, ptr %yp, i64 %i\n"
    "  store float %x, ptr %py\n"
    "  %i1 = add i64 %i, 1\n"
    "  %c = icmp slt i64 %i1, %e\n"
    "  br i1 %c, label %loop, label %done\n"
    "done:\n"
    "  ret void\n"
    "}\n"
    "declare float @expf(float)\n";

static char dir[64];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
}

static void teardown(void) { rt_rmdir(dir); }

TestSuite(aot, .init = setup, .fini = teardown);

/* Entry "embed": x f32 [S,8] -> y f32 [S,8], one step over S rows. */
static Plan *scale_plan(Arena *a, const char *kname) {
    Graph *g = arena_alloc(a, sizeof *g);
    g->name = "embed"; g->nsyms = 1; g->syms[0].name = "S"; g->syms[0].example = 4;
    Plan *p = arena_alloc(a, sizeof *p);
    p->graph = g;
    p->ninputs = p->noutputs = 1;
    p->inputs = arena_alloc(a, sizeof *p->inputs);
    p->outputs = arena_alloc(a, sizeof *p->outputs);
    p->inputs[0].name = "x"; p->inputs[0].shape.rank = 2;
    p->inputs[0].shape.d[0] = rt_d(1, 1); p->inputs[0].shape.d[1] = rt_d(8, 0);
    p->outputs[0] = p->inputs[0];
    p->outputs[0].name = "y";
    p->nbufs = 2;
    p->bufs = arena_alloc(a, 2 * sizeof *p->bufs);
    p->bufs[0] = (PlanBuf){BUF_INPUT, 0, {0}, rt_p(32, 1), "x"};
    p->bufs[1] = (PlanBuf){BUF_OUTPUT, 0, {0}, rt_p(32, 1), "y"};
    p->nkernels = 1;
    p->kernels = arena_alloc(a, sizeof *p->kernels);
    p->kernels[0].name = kname; p->kernels[0].family = "toy_rows";   /* rows of dims[0] floats (kernel_families.def) */
    p->nsteps = 1;
    p->steps = arena_alloc(a, sizeof *p->steps);
    p->steps[0].kernel = 0; p->steps[0].nbufs = 2; p->steps[0].bufs[1] = 1;
    p->steps[0].ndims = 1; p->steps[0].dims[0] = rt_p(8, 0);
    p->steps[0].f[0] = 0.25f;
    p->steps[0].ntiles = rt_p(1, 1);
    return p;
}

static LLVMTargetMachineRef host_tm(void) {
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef t;
    char *err = NULL;
    cr_assert_eq(LLVMGetTargetFromTriple(triple, &t, &err), 0, "%s", err);
    char *cpu = LLVMGetHostCPUName(), *feats = LLVMGetHostCPUFeatures();
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, triple, cpu, feats, LLVMCodeGenLevelDefault,
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple); LLVMDisposeMessage(cpu); LLVMDisposeMessage(feats);
    cr_assert_not_null(tm);
    return tm;
}

static LLVMModuleRef parse(LLVMContextRef ctx, const char *ir) {
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "k");
    LLVMModuleRef m = NULL;
    char *err = NULL;
    cr_assert_eq(LLVMParseIRInContext(ctx, buf, &m, &err), 0, "%s", err);
    return m;
}

static char *run_cmd(const char *cmd) {
    static char out[8192];
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    pclose(f);
    return out;
}

Test(aot, model_so_exports_descriptor_and_runs) {
    Arena a; arena_init(&a);
    Plan *p[1] = {scale_plan(&a, "k0_expscale")};
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = parse(ctx, kernel_ir);
    LLVMTargetMachineRef tm = host_tm();
    char so[200];
    snprintf(so, sizeof so, "%s/model.so", dir);
    LtcDiag d = {0};
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, so, NULL, 0, &d), 0, "%s", d.msg);
    cr_assert_null(LLVMGetNamedGlobal(mod, "ltc_model_descriptor"), "the backend's module must stay unchanged");

    char cmd[400];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", so);
    char *nm = run_cmd(cmd);
    cr_assert(strstr(nm, "ltc_model_descriptor"), "%s", nm);
    cr_assert_null(strstr(nm, "k0_expscale"), "kernels must be hidden: %s", nm);
    snprintf(cmd, sizeof cmd, "ldd '%s'", so);
    char *ldd = run_cmd(cmd);
    for (char *line = strtok(ldd, "\n"); line; line = strtok(NULL, "\n"))
        cr_assert(strstr(line, "libc.so") || strstr(line, "libm.so") || strstr(line, "vdso") ||
                  strstr(line, "ld-linux"), "unexpected dependency: %s", line);
    snprintf(cmd, sizeof cmd, "ls '%s'", dir);
    char *ls = run_cmd(cmd);
    cr_assert_str_eq(ls, "model.so\n", "temporary files left: %s", ls);

    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_str_eq(ltc_model_entry_name(m, 0), "embed");
    cr_assert(strlen(ltc_model_target_features(m)) > 0);
    int64_t lens[2] = {5, 131};
    for (int l = 0; l < 2; l++) {
        int64_t S = lens[l], shape[2] = {S, 8};
        float *x = malloc(sizeof(float) * (size_t)S * 8);
        unsigned seed = 99;
        for (int64_t i = 0; i < S * 8; i++) x[i] = 4 * rt_rand(&seed);
        DLTensor in = {x, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
        DLTensor *out[1];
        cr_assert_eq(ltc_model_run_alloc(m, "embed", &in, 1, out, 1), 0, "%s", ltc_last_error(m)->message);
        cr_assert_eq(out[0]->shape[0], S);
        const float *y = out[0]->data;
        for (int64_t i = 0; i < S * 8; i++) cr_assert_float_eq(y[i], expf(x[i] * 0.25f), 1e-6f * expf(x[i] * 0.25f));
        ltc_tensor_free(out[0]);
        free(x);
    }
    ltc_model_close(m);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    arena_free(&a);
}

Test(aot, failures_leave_no_output) {
    Arena a; arena_init(&a);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMTargetMachineRef tm = host_tm();
    char so[200], cmd[300];
    snprintf(so, sizeof so, "%s/model.so", dir);
    LtcDiag d = {0};

    /* a kernel the module lacks */
    Plan *p[1] = {scale_plan(&a, "k9_missing")};
    LLVMModuleRef mod = parse(ctx, kernel_ir);
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, so, NULL, 0, &d), -1);
    cr_assert(strstr(d.msg, "kernel 'k9_missing' of entry 'embed' was not generated"), "%s", d.msg);
    LLVMDisposeModule(mod);

    /* an unresolved symbol: the link fails (-z defs), nothing is written */
    char *bad = malloc(strlen(kernel_ir) + 64);
    strcpy(bad, kernel_ir);
    for (char *e = strstr(bad, "@expf"); e; e = strstr(e, "@expf")) e[4] = 'q';   /* @expq: no such function */
    p[0] = scale_plan(&a, "k0_expscale");
    mod = parse(ctx, bad);
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, so, NULL, 0, &d), -1);
    cr_assert(strstr(d.msg, "linking") && strstr(d.msg, "expq"), "%s", d.msg);
    snprintf(cmd, sizeof cmd, "ls '%s'", dir);
    cr_assert_str_eq(run_cmd(cmd), "", "files left behind");

    /* unwritable destination */
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/model.so", dir);
    LLVMDisposeModule(mod);
    mod = parse(ctx, kernel_ir);
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, nodir, NULL, 0, &d), -1);
    cr_assert(d.msg[0]);
    cr_assert_str_eq(run_cmd(cmd), "", "files left behind");
    free(bad);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    arena_free(&a);
}

Test(aot, embedded_weights) {
    /* The toy kernels are C; here only the descriptor's weights field is
     * checked through LLVM: a model with params and embedded weights. */
    Arena a; arena_init(&a);
    Plan *p[1] = {scale_plan(&a, "k0_expscale")};
    p[0]->nparams = 1;
    p[0]->params = arena_alloc(&a, sizeof *p[0]->params);
    p[0]->params[0].name = "scale"; p[0]->params[0].shape.rank = 1; p[0]->params[0].shape.d[0] = rt_d(8, 0);
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    StTensor t = {"scale", ST_F32, 1, {8}, w, sizeof w};
    char wpath[200], so[200];
    snprintf(wpath, sizeof wpath, "%s/w.st", dir);
    snprintf(so, sizeof so, "%s/m.so", dir);
    char err[200];
    cr_assert_eq(st_write(wpath, &t, 1, NULL, 0, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(wpath, "rb");
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = parse(ctx, kernel_ir);
    LLVMTargetMachineRef tm = host_tm();
    LtcDiag d = {0};
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, so, buf, n, &d), 0, "%s", d.msg);
    ltc_error e;
    ltc_model *m = ltc_model_open(so, &e);
    cr_assert_not_null(m, "%s", e.message);
    cr_assert_eq(ltc_model_has_embedded_weights(m), 1);
    cr_assert_eq(ltc_model_num_params(m), 1);
    int64_t shape[2] = {2, 8};
    float x[16] = {0};
    DLTensor in = {x, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *out[1];
    cr_assert_eq(ltc_model_run_alloc(m, NULL, &in, 1, out, 1), 0, "%s", ltc_last_error(m)->message);
    cr_assert_float_eq(((float *)out[0]->data)[3], 1.0f, 1e-6);
    ltc_tensor_free(out[0]);
    ltc_model_close(m);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    arena_free(&a);
}

/* Run "embed" at S=5 on fixed inputs; ctx: the intact library's output. */
static int embed_child(const char *so, void *ctx) {
    ltc_model *m = ltc_model_open(so, NULL);
    if (!m) return FLIP_REFUSED;
    int64_t shape[2] = {5, 8};
    float x[40];
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 9) - 4;
    DLTensor in = {x, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *out[1];
    int rc = ltc_model_run_alloc(m, "embed", &in, 1, out, 1);
    int r = FLIP_REFUSED;
    if (rc == 0) {
        r = !ctx ? FLIP_SAME : memcmp(out[0]->data, ctx, sizeof x) == 0 ? FLIP_SAME : FLIP_DIFFERENT;
        if (!ctx) memcpy((void *)x, out[0]->data, sizeof x);
        ltc_tensor_free(out[0]);
    }
    ltc_model_close(m);
    return r;
}

/* 300 copies of an LLVM-built model.so (aot.c's output, sealed), one bit
 * flipped in each, each opened and run in a child: refused or the same
 * result, never a crash (docs/hardening.md). */
Test(aot, bit_flipped_llvm_model_is_refused_or_harmless, .timeout = 300) {
    Arena a; arena_init(&a);
    Plan *p[1] = {scale_plan(&a, "k0_expscale")};
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = parse(ctx, kernel_ir);
    LLVMTargetMachineRef tm = host_tm();
    char so[200], copy[200];
    snprintf(so, sizeof so, "%s/model.so", dir);
    snprintf(copy, sizeof copy, "%s/copy.so", dir);
    LtcDiag d = {0};
    cr_assert_eq(aot_emit_library(mod, tm, p, 1, so, NULL, 0, &d), 0, "%s", d.msg);
    /* the intact output, in this process */
    ltc_model *m = ltc_model_open(so, NULL);
    cr_assert_not_null(m);
    int64_t shape[2] = {5, 8};
    float x[40], ref[40];
    for (int i = 0; i < 40; i++) x[i] = (float)(i % 9) - 4;
    DLTensor in = {x, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *out[1];
    cr_assert_eq(ltc_model_run_alloc(m, "embed", &in, 1, out, 1), 0);
    memcpy(ref, out[0]->data, sizeof ref);
    ltc_tensor_free(out[0]);
    ltc_model_close(m);
    FlipCounts c = flip_bits_fn(so, copy, 300, 11, embed_child, ref);
    fprintf(stderr, "LLVM model.so bit flips: %d refused, %d same result, %d different result, %d crashed (%d SIGILL)\n",
            c.refused, c.same, c.different, c.crashed, c.sigill);
    cr_assert_eq(c.crashed, 0);
    cr_assert_eq(c.different, 0);
    cr_assert_eq(c.refused + c.same, 300);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    arena_free(&a);
}
