/* plan_harness.h: a whole traced graph through the compiler (passes,
 * plan_build, CPU backend, LLJIT) and the runtime's executor, compared
 * with the reference interpreter on the unfused graph, at several symbol
 * values (not only the traced example).
 *
 * A test supplies build(g, ctx): it adds symbols and INPUT nodes to g and
 * emits the computation (PARAMs come from eager nodes of ph.eager).  The
 * harness calls it twice (one graph is fused and compiled, the other is
 * the reference), then ph_compare(sizes...) fills every input with random
 * data at those symbol values, runs both and compares: max |err| /
 * max |ref| <= tol (bitwise for i64/bool). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"
#include "runtime/rt_internal.h"

typedef void (*PhBuild)(Graph *g, void *ctx);

typedef struct Ph {
    Arena a;
    Graph *eager, *ref, *cmp;
    Backend *be;
    Plan *plan;
    RtProgram prog;
    RtDevice *pool;
    RtScratch scratch;
    LtcDiag d;
    uint64_t rng;
} Ph;

static Ph ph;
static uint64_t ph_call;   /* call number of the next ph_compare_at (RtProgram.call, RunArgs.call) */
/* Both graphs converted to this dtype (ir/passes/dtype.c, --dtype) before
 * compiling: the interpreter rounds after every op in its float storage,
 * the compiled plan holds 2-byte elements (params, inputs and outputs are
 * converted at the boundary). */
static DType ph_dtype = DT_F32;

static bool ph_half(DType t) { return t == DT_BF16 || t == DT_F16; }

/* float storage -> 2-byte elements of t */
__attribute__((unused)) static void *ph_to_half(DType t, const float *x, size_t n) {
    uint16_t *h = arena_alloc_big(&ph.a, (n ? n : 1) * sizeof *h);
    cr_assert(h);
    for (size_t i = 0; i < n; i++) h[i] = t == DT_F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
    return h;
}

static void ph_setup(void) {
    memset(&ph, 0, sizeof ph);
    arena_init(&ph.a);
    ph.eager = graph_new(&ph.a, "<eager>", true);
    ph.eager->seed = 4321;
    ph.rng = 88172645463325252ull;
    BackendOptions o = {.cpu = "native", .opt_level = 3};
    ph.be = backend_new("cpu", &ph.a, &o, &ph.d);
    cr_assert(ph.be, "%s", ph.d.msg);
    ph.pool = rt_device_open("cpu", 2, NULL, 0);
    cr_assert(ph.pool);
}

static void ph_teardown(void) {
    rt_program_free(&ph.prog);
    rt_scratch_free(&ph.scratch);
    if (ph.pool) rt_device_close(ph.pool);
    if (ph.be) ph.be->destroy(ph.be);
    arena_free(&ph.a);
}

__attribute__((unused)) static float ph_rand(void) {   /* uniform in [-1, 1) */
    ph.rng ^= ph.rng << 13; ph.rng ^= ph.rng >> 7; ph.rng ^= ph.rng << 17;
    return (float)((ph.rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

/* An eager f32 tensor with random values (becomes a PARAM when used). */
__attribute__((unused)) static Node *ph_param(int rank, const int64_t *dims) {
    Shape s = {.rank = rank};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) { s.d[i] = dim_const(dims[i]); n *= dims[i]; }
    Node *x = ir_input(ph.eager, "w", DT_F32, &s, (SrcLoc){0});
    cr_assert(x);
    float *p = arena_alloc_big(&ph.a, (size_t)n * 4 + 4);
    for (int64_t i = 0; i < n; i++) p[i] = ph_rand();
    x->data = p;
    return x;
}

__attribute__((unused)) static Node *ph_emit(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(g, op, in, nin, a ? a : &z, (SrcLoc){0}, &ph.d);
    cr_assert(n, "%s: %s", op_info[op].name, ph.d.msg);
    return n;
}

static int ph_lookup(void *ctx, const char *name, void **fn) {
    Backend *b = ctx;
    LtcDiag d;
    return b->jit_lookup(b, name, fn, &d);
}

/* Build both graphs, fuse and compile one.  Returns the plan. */
__attribute__((unused)) static Plan *ph_compile(PhBuild build, void *ctx) {
    ph.ref = graph_new(&ph.a, "ref", false);
    ph.cmp = graph_new(&ph.a, "cmp", false);
    build(ph.ref, ctx);
    build(ph.cmp, ctx);
    cr_assert_eq(pass_to_dtype(ph.ref, ph_dtype, &ph.d), 0, "dtype: %s", ph.d.msg);
    cr_assert_eq(pass_to_dtype(ph.cmp, ph_dtype, &ph.d), 0, "dtype: %s", ph.d.msg);
    cr_assert_eq(passes_run(ph.cmp, NULL, NULL, NULL, &ph.d), 0, "passes: %s", ph.d.msg);
    cr_assert_eq(plan_build(ph.cmp, ph.be, &ph.a, &ph.plan, &ph.d), 0, "plan: %s", ph.d.msg);
    cr_assert_eq(ph.be->generate(ph.be, &ph.plan, 1, NULL, &ph.d), 0, "generate: %s", ph.d.msg);
    char err[512] = "";
    cr_assert_eq(rt_program_init(&ph.prog, ph.plan, ph_lookup, ph.be, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < ph.plan->nparams; i++) {
        Node *o = ph.cmp->params[i]->origin;
        cr_assert_eq(ir_force(o, &ph.d), 0, "%s", ph.d.msg);
        ph.prog.params[i] = o->data;
        if (ph_half(o->dtype)) {
            SymBind none = {0};
            ph.prog.params[i] = ph_to_half(o->dtype, o->data, shape_numel_eval(&o->shape, &none));
        }
    }
    cr_assert_eq(rt_prepack(&ph.prog, ph.pool, err, sizeof err), 0, "%s", err);
    return ph.plan;
}

/* The plan as --emit plan prints it. */
__attribute__((unused)) static char *ph_plan_text(void) {
    StrBuf sb = {0};
    SymBind ex = {0};
    plan_print(ph.plan, ex, &sb);
    char *s = arena_strdup(&ph.a, sb.s ? sb.s : "");
    sb_free(&sb);
    return s;
}

/* Run both graphs at symbol values sv (in symbol order); compare output o. */
__attribute__((unused)) static void *ph_compare_at(const int64_t *sv, int nsv, double tol) {
    int64_t symvals[LTC_MAX_SYMS] = {0};
    for (int i = 0; i < nsv; i++) symvals[i] = sv[i];
    SymBind b = {.n = nsv};
    for (int i = 0; i < nsv; i++) b.vals[i] = sv[i];
    int nin = ph.ref->ninputs;
    void **in = arena_alloc(&ph.a, (size_t)(nin + 1) * sizeof *in);
    void **cin = arena_alloc(&ph.a, (size_t)(nin + 1) * sizeof *cin);   /* the compiled plan's */
    int64_t (*ish)[LTC_MAX_RANK] = arena_alloc(&ph.a, (size_t)(nin + 1) * sizeof *ish);
    for (int i = 0; i < nin; i++) {
        Node *x = ph.ref->inputs[i];
        shape_eval(&x->shape, &b, ish[i]);
        size_t ne = shape_numel_eval(&x->shape, &b);
        size_t es = dtype_storage_size(x->dtype);
        in[i] = arena_alloc_big(&ph.a, ne * es + 8);
        for (size_t e = 0; e < ne; e++) {
            if (x->dtype == DT_F32) ((float *)in[i])[e] = ph_rand();
            else if (ph_half(x->dtype)) ((float *)in[i])[e] = round_to_dtype(x->dtype, ph_rand());
            else if (x->dtype == DT_BOOL) ((uint8_t *)in[i])[e] = ph_rand() > -0.5f;
            else ((int64_t *)in[i])[e] = (int64_t)((ph_rand() + 1) * 3);
        }
        cin[i] = ph_half(x->dtype) ? ph_to_half(x->dtype, in[i], ne) : in[i];
    }
    int nout = ph.ref->noutputs;
    void **ro = arena_alloc(&ph.a, (size_t)(nout + 1) * sizeof *ro);
    int64_t (*rsh)[LTC_MAX_RANK] = arena_alloc(&ph.a, (size_t)(nout + 1) * sizeof *rsh);
    RunArgs ra = {.inputs = in, .in_shapes = ish, .outputs = ro, .out_shapes = rsh, .call = ph_call};
    cr_assert_eq(ir_run(ph.ref, &ra, &ph.a, &ph.d), 0, "ir_run: %s", ph.d.msg);
    void **co = arena_alloc(&ph.a, (size_t)(nout + 1) * sizeof *co);
    for (int o = 0; o < nout; o++) {
        Node *on = ph.ref->outputs[o];
        size_t bytes = shape_numel_eval(&on->shape, &b) * dtype_size(on->dtype);   /* compiled widths */
        co[o] = arena_alloc_big(&ph.a, bytes + 8);
        memset(co[o], 0xff, bytes);   /* NaN for f32, bf16, f16: unwritten elements show */
    }
    char err[512] = "";
    ph.prog.call = ph_call;
    cr_assert_eq(rt_run(&ph.prog, ph.pool, &ph.scratch, symvals, cin, co, err, sizeof err), 0, "rt_run: %s", err);
    for (int o = 0; o < nout; o++) {
        Node *on = ph.ref->outputs[o];
        size_t ne = shape_numel_eval(&on->shape, &b);
        double maxerr = 0, maxref = 0;
        for (size_t e = 0; e < ne; e++) {
            double r, x;
            if (on->dtype == DT_I64) { r = (double)((int64_t *)ro[o])[e]; x = (double)((int64_t *)co[o])[e]; }
            else if (on->dtype == DT_BOOL) { r = ((uint8_t *)ro[o])[e]; x = ((uint8_t *)co[o])[e]; }
            else if (ph_half(on->dtype)) {
                uint16_t h = ((uint16_t *)co[o])[e];
                r = ((float *)ro[o])[e];
                x = on->dtype == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
            }
            else { r = ((float *)ro[o])[e]; x = ((float *)co[o])[e]; }
            if (isnan(r) && isnan(x)) continue;
            cr_assert(!isnan(x) && !isnan(r), "output %d [%zu]: %g vs reference %g", o, e, x, r);
            if (fabs(r - x) > maxerr) maxerr = fabs(r - x);
            if (fabs(r) > maxref) maxref = fabs(r);
        }
        cr_assert(maxerr <= tol * (maxref > 1 ? maxref : 1), "output %d at sizes %lld,%lld: max err %g (max ref %g)",
                  o, (long long)sv[0], (long long)(nsv > 1 ? sv[1] : 0), maxerr, maxref);
    }
    return co[0];   /* the compiled output 0 */
}
