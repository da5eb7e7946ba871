/* backend_ops.c: every kernel family on every registered backend against
 * the reference interpreter (after ggml's test-backend-ops).
 *
 * One row per case in `cases` below: a small graph with symbolic sizes
 * that lowers to the family named in the row, the sizes it is run at
 * (ragged: 1, primes, not multiples of any vector width), and the
 * tolerance, max |err| / max(1, max |ref|), for the family — all in that
 * one table.  Each case is compiled the way `-o` does (passes, plan,
 * backend) and run through the runtime's executor on the backend's
 * device, with random inputs, at every size; the interpreter runs the
 * same graph unfused.  Every family of plan/kernel_families.def (but the
 * runtime tests' toy ones) must be the subject of some row, so a new
 * family cannot go untested, and a new backend is tested by registering
 * (codegen/backends.def).  A backend that stores bf16/f16 (backends.def)
 * runs every case again with both graphs in that dtype (ir/passes/dtype.c,
 * --dtype), at the dtype's tolerance (`dtype_tols`, also in this file). */
#include "tests/unit/plan_harness.h"

TestSuite(backend_ops, .init = ph_setup, .fini = ph_teardown, .timeout = 600);

static const char *const families[] = {
#define KF(name, nbmin, nbmax, ndmin, ndmax, nc, fp, alone) #name,
#include "plan/kernel_families.def"
#undef KF
};
enum { NFAMILIES = sizeof families / sizeof families[0] };

static int S_;   /* the symbol of the case being built */

static Shape shp(int rank, const int64_t *d) {
    /* -1 marks the symbolic axis */
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.d[i] = d[i] < 0 ? (Dim){1, 1u << S_} : dim_const(d[i]);
    return s;
}
static Node *in(Graph *g, const char *name, DType t, int rank, const int64_t *d) {
    Shape s = shp(rank, d);
    Node *x = ir_input(g, name, t, &s, (SrcLoc){0});
    cr_assert(x);
    return x;
}
#define D(...) (int64_t[]){__VA_ARGS__}
#define N(...) (Node *[]){__VA_ARGS__}

/* Parameters are made once per test, shared by both graphs of a case. */
static Node *W, *Wb, *Lw, *Lb, *Tab;

static void b_linear(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 24));
    ir_add_output(g, ph_emit(g, OP_LINEAR, N(x, W, Wb), 3, NULL));
}
static void b_matmul(Graph *g) {
    Node *a = in(g, "a", DT_F32, 3, D(2, -1, 16)), *b = in(g, "b", DT_F32, 3, D(2, 16, 13));
    ir_add_output(g, ph_emit(g, OP_MATMUL, N(a, b), 2, NULL));
}
static void b_sdpa(Graph *g) {
    Node *q = in(g, "q", DT_F32, 4, D(1, 2, -1, 8)), *k = in(g, "k", DT_F32, 4, D(1, 2, -1, 8));
    Node *v = in(g, "v", DT_F32, 4, D(1, 2, -1, 8));
    ir_add_output(g, ph_emit(g, OP_SDPA, N(q, k, v), 3, &(Attr){.causal = true}));
}
static void b_layer_norm(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 20));
    ir_add_output(g, ph_emit(g, OP_LAYER_NORM, N(x, Lw, Lb), 3, &(Attr){.eps = 1e-5, .flags = NORM_W | NORM_B}));
}
static void b_softmax(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 13));
    ir_add_output(g, ph_emit(g, OP_SOFTMAX, N(x), 1, &(Attr){.axis = 1}));
}
static void b_eltwise(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 11)), *y = in(g, "y", DT_F32, 1, D(11));
    Node *s = ph_emit(g, OP_ADD, N(x, y), 2, NULL);        /* broadcast */
    ir_add_output(g, ph_emit(g, OP_GELU, N(s), 1, NULL));
}
static void b_dropout(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 37));
    ir_add_output(g, ph_emit(g, OP_DROPOUT, N(x), 1, &(Attr){.p = 0.3, .training = true, .seed = 77}));
}
static void b_reduce(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 9));
    ir_add_output(g, ph_emit(g, OP_SUM_DIM, N(x), 1, &(Attr){.axis = 1}));
}
static void b_copy(Graph *g) {
    Node *x = in(g, "x", DT_F32, 3, D(-1, 3, 5));
    ir_add_output(g, ph_emit(g, OP_PERMUTE, N(x), 1, &(Attr){.perm = {1, 0, 2}}));
}
static void b_cat(Graph *g) {
    Node *x = in(g, "x", DT_F32, 2, D(-1, 4)), *y = in(g, "y", DT_F32, 2, D(-1, 6));
    ir_add_output(g, ph_emit(g, OP_CAT, N(x, y), 2, &(Attr){.axis = 1}));
}
static void b_embedding(Graph *g) {
    Node *ids = in(g, "ids", DT_I64, 1, D(-1));             /* values 0..5 (plan_harness) */
    ir_add_output(g, ph_emit(g, OP_EMBEDDING, N(ids, Tab), 2, NULL));
}

typedef struct Case {
    const char *name;
    void (*build)(Graph *g);
    const char *family;         /* the family the case is about */
    const char *also;           /* another family its plan must hold (gemm_pack), or NULL */
    double tol;                 /* the family's tolerance */
    int64_t sizes[4];           /* values of the symbol, 0-terminated */
} Case;

/* The tolerance of each family, and what it is tested on. */
static const Case cases[] = {
    {"linear + bias",        b_linear,     "gemm",            "gemm_pack", 1e-5, {1, 5, 17}},
    {"batched matmul",       b_matmul,     "gemm",            NULL,        1e-5, {1, 7, 33}},
    {"causal sdpa",          b_sdpa,       "flash_attention", NULL,        1e-5, {1, 5, 19}},
    {"layer norm",           b_layer_norm, "norm",            NULL,        1e-5, {1, 3, 9}},
    {"softmax",              b_softmax,    "softmax",         NULL,        1e-6, {1, 4, 31}},
    {"gelu(x + y)",          b_eltwise,    "eltwise",         NULL,        1e-6, {1, 6, 29}},
    {"training dropout",     b_dropout,    "dropout",         NULL,        0,    {1, 3, 23}},
    {"sum over the last axis", b_reduce,   "reduce",          NULL,        1e-5, {1, 8, 41}},
    {"permute",              b_copy,       "copy",            NULL,        0,    {1, 2, 13}},
    {"cat",                  b_cat,        "cat",             NULL,        0,    {1, 5, 27}},
    {"embedding",            b_embedding,  "misc",            NULL,        0,    {1, 7, 64}},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* Every case again in these dtypes, where the backend stores them: the
 * case's tolerance raised to the dtype's (exact cases stay exact: data
 * movement and dropout round once, as the interpreter). */
static const struct { DType t; const char *name; double tol; } dtype_tols[] = {
    {DT_BF16, "bf16", 1e-2},   /* 8-bit mantissa */
    {DT_F16,  "f16",  2e-3},   /* 11 bits */
};

static const Case *cur;
static void build_case(Graph *g, void *ctx) {
    (void)ctx;
    S_ = graph_add_symbol(g, "S", cur->sizes[1]);
    cur->build(g);
}

static bool has_family(const Plan *p, const char *fam) {
    for (int i = 0; i < p->nkernels; i++)
        if (strcmp(p->kernels[i].family, fam) == 0) return true;
    return false;
}

/* one backend: its device, every case; false when this runtime has no
 * device for it yet (a GPU target whose device is still to come) */
static bool run_backend(const char *name, bool *covered) {
    if (ph.be) ph.be->destroy(ph.be);
    rt_program_free(&ph.prog);
    rt_scratch_free(&ph.scratch);
    if (ph.pool) rt_device_close(ph.pool);
    ph.pool = NULL;                 /* not reopened when this backend is skipped */
    BackendOptions o = {.cpu = "native", .opt_level = 3};
    ph.be = backend_new(name, &ph.a, &o, &ph.d);
    cr_assert(ph.be, "backend %s: %s", name, ph.d.msg);
    if (!rt_device_find(ph.be->device)) {
        fprintf(stderr, "backend_ops: %s skipped: this runtime has no '%s' device\n", name, ph.be->device);
        return false;
    }
    /* This harness runs kernels in process (jit_lookup), which only the CPU
     * backend does so far; a GPU target's kernels are compared with the
     * interpreter by unit_gpu_ocl_ops (PoCL, in a process without LLVM 16,
     * whose symbols crash PoCL's own LLVM) until it runs in process too. */
    if (!rt_device_find(ph.be->device)->native_code) {
        fprintf(stderr, "backend_ops: %s skipped here: no in-process execution yet (see unit_gpu_ocl_ops)\n", name);
        return false;
    }
    char err[256];
    ph.pool = rt_device_open(ph.be->device, 2, err, sizeof err);
    cr_assert(ph.pool, "backend %s: %s", name, err);
    for (int dt = -1; dt < (int)(sizeof dtype_tols / sizeof dtype_tols[0]); dt++) {
        if (dt >= 0 && !backend_stores_dtype(name, dtype_tols[dt].name)) continue;
        ph_dtype = dt < 0 ? DT_F32 : dtype_tols[dt].t;
        const char *dn = dt < 0 ? "f32" : dtype_tols[dt].name;
        for (int c = 0; c < NCASES; c++) {
            cur = &cases[c];
            double tol = dt < 0 || cur->tol == 0 ? cur->tol : fmax(cur->tol, dtype_tols[dt].tol);
            rt_program_free(&ph.prog);
            Plan *p = ph_compile(build_case, NULL);
            cr_assert(has_family(p, cur->family), "%s on %s (%s): no %s kernel in the plan", cur->name, name, dn,
                      cur->family);
            cr_assert(!cur->also || has_family(p, cur->also), "%s on %s: no %s kernel", cur->name, name, cur->also);
            for (int i = 0; i < 4 && cur->sizes[i]; i++) {
                ph_call = (uint64_t)i;      /* dropout: a new mask per call, the same in both */
                ph_compare_at(&cur->sizes[i], 1, tol);
            }
            for (int f = 0; f < NFAMILIES; f++)
                if (!strcmp(families[f], cur->family) || (cur->also && !strcmp(families[f], cur->also))) covered[f] = true;
            fprintf(stderr, "backend_ops: %-5s %-4s %-16s %-24s ok at %d sizes (tol %g)\n", name, dn, cur->family,
                    cur->name, cur->sizes[3] ? 4 : cur->sizes[2] ? 3 : 2, tol);
        }
    }
    ph_dtype = DT_F32;
    return true;
}

Test(backend_ops, every_family_on_every_backend) {
    W = ph_param(2, D(40, 24));
    Wb = ph_param(1, D(40));
    Lw = ph_param(1, D(20));
    Lb = ph_param(1, D(20));
    Tab = ph_param(2, D(10, 8));
    int n;
    const char *const *names = backend_names(&n);
    cr_assert_gt(n, 0);
    for (int b = 0; b < n; b++) {
        bool covered[NFAMILIES] = {false};
        if (!run_backend(names[b], covered)) continue;
        for (int f = 0; f < NFAMILIES; f++)
            cr_assert(covered[f] || !strncmp(families[f], "toy_", 4),
                      "kernel family '%s' has no case in backend_ops.c", families[f]);
    }
}
