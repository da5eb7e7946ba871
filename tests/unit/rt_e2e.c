/* rt_e2e.c: the whole AOT path on a small transformer-like block:
 *   graph -> passes -> plan -> LLVM kernels -> model.so (descriptor)
 *   -> ltc_model_open -> bind weights (safetensors) -> run at two
 *   sequence lengths -> compare with the reference interpreter (ir_run on
 *   an unfused copy of the graph);
 * then the example host program (examples/host/host.c) is compiled against
 * the runtime library and run on the same model.so. */
#include <criterion/criterion.h>
#include <math.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

/* Fused ops' rules are weak in the IR: pull them in (see cpu_harness.h). */
int shape_fused_linear(Node *n, LtcDiag *d);
int shape_add_norm(Node *n, LtcDiag *d);
void *const rt_e2e_keep_rules[] = {(void *)shape_fused_linear, (void *)shape_add_norm};

enum { E = 16, F = 32 };

typedef struct Model {
    Arena a;
    Graph *eager;
    Node *w1, *b1, *w2, *b2, *lw, *lb;
    unsigned seed;
} Model;

static Node *param(Model *m, const char *name, int rank, int64_t d0, int64_t d1) {
    Shape s = {.rank = rank};
    s.d[0] = dim_const(d0);
    if (rank > 1) s.d[1] = dim_const(d1);
    Node *n = ir_input(m->eager, name, DT_F32, &s, (SrcLoc){0});
    cr_assert_not_null(n);
    int64_t numel = d0 * (rank > 1 ? d1 : 1);
    float *p = arena_alloc_big(&m->a, (size_t)numel * 4);
    for (int64_t i = 0; i < numel; i++) p[i] = 0.3f * rt_rand(&m->seed);
    n->data = p;
    return n;
}

static Node *emit(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    LtcDiag d = {0};
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(g, op, in, nin, a ? a : &z, (SrcLoc){0}, &d);
    cr_assert_not_null(n, "%s: %s", op_info[op].name, d.msg);
    return n;
}

/* y = layer_norm(linear(relu(linear(x, W1, b1)), W2, b2) + x) */
static Graph *trace(Model *m) {
    Graph *g = graph_new(&m->a, "forward", false);
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 8);
    Shape xs = {.rank = 3};
    xs.d[0] = (Dim){1, 1u << B};
    xs.d[1] = (Dim){1, 1u << S};
    xs.d[2] = dim_const(E);
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    Node *h = emit(g, OP_LINEAR, (Node *[]){x, m->w1, m->b1}, 3, NULL);
    h = emit(g, OP_RELU, (Node *[]){h}, 1, NULL);
    h = emit(g, OP_LINEAR, (Node *[]){h, m->w2, m->b2}, 3, NULL);
    h = emit(g, OP_ADD, (Node *[]){h, x}, 2, NULL);
    Attr ln;
    memset(&ln, 0, sizeof ln);
    ln.eps = 1e-5;
    ln.flags = 3;
    ln.axis = 2;
    h = emit(g, OP_LAYER_NORM, (Node *[]){h, m->lw, m->lb}, 3, &ln);
    ir_add_output(g, h);
    return g;
}

static char dir[64], so[200], wpath[200];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/model.so", dir);
    snprintf(wpath, sizeof wpath, "%s/weights.safetensors", dir);
}

static void teardown(void) {
    if (getenv("LTC_KEEP_TMP")) { fprintf(stderr, "kept %s\n", dir); return; }   /* for debugging */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(e2e, .init = setup, .fini = teardown, .timeout = 120);

/* Compile the model, write its weights; returns the fused graph's plan. */
static void build(Model *m, Graph **ref) {
    arena_init(&m->a);
    m->seed = 42;
    m->eager = graph_new(&m->a, "<eager>", true);
    m->w1 = param(m, "ffn.w1", 2, F, E); m->b1 = param(m, "ffn.b1", 1, F, 0);
    m->w2 = param(m, "ffn.w2", 2, E, F); m->b2 = param(m, "ffn.b2", 1, E, 0);
    m->lw = param(m, "norm.weight", 1, E, 0); m->lb = param(m, "norm.bias", 1, E, 0);
    *ref = trace(m);
    Graph *g = trace(m);
    LtcDiag d = {0};
    PassOptions po;
    memset(&po, 0, sizeof po);
    cr_assert_eq(passes_run(g, &po, NULL, NULL, &d), 0, "passes: %s", d.msg);
    BackendOptions bo = {.cpu = "native", .opt_level = 2};
    Backend *be = backend_cpu_new(&m->a, &bo, &d);
    cr_assert_not_null(be, "%s", d.msg);
    Plan *p;
    cr_assert_eq(plan_build(g, be, &m->a, &p, &d), 0, "plan: %s", d.msg);
    cr_assert_eq(be->generate(be, &p, 1, &bo, &d), 0, "generate: %s", d.msg);
    cr_assert_eq(be->emit_library(be, &p, 1, so, NULL, 0, &d), 0, "emit_library: %s", d.msg);
    /* weights: every PARAM of the plan, by name, from its eager origin */
    StTensor *ts = calloc((size_t)p->nparams + 1, sizeof *ts);
    for (int i = 0; i < p->nparams; i++) {
        Node *origin = NULL;
        for (int k = 0; k < g->nparams; k++)
            if (strcmp(g->params[k]->name, p->params[i].name) == 0) origin = g->params[k]->origin;
        cr_assert_not_null(origin, "param %s", p->params[i].name);
        ts[i].name = p->params[i].name;
        ts[i].dtype = ST_F32;
        ts[i].rank = origin->shape.rank;
        size_t n = 1;
        for (int k = 0; k < ts[i].rank; k++) n *= (size_t)(ts[i].shape[k] = origin->shape.d[k].k);
        ts[i].data = origin->data;
        ts[i].nbytes = n * 4;
    }
    char err[256];
    cr_assert_eq(st_write(wpath, ts, p->nparams, NULL, 0, err, sizeof err), 0, "%s", err);
    free(ts);
    be->destroy(be);
}

static void compare(Model *m, Graph *ref, ltc_model *lm, int64_t B, int64_t S) {
    int64_t n = B * S * E;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = rt_rand(&m->seed);
    int64_t shape[3] = {B, S, E};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *out[1];
    cr_assert_eq(ltc_model_run_alloc(lm, "forward", &in, 1, out, 1), 0, "%s", ltc_last_error(lm)->message);
    cr_assert_eq(out[0]->ndim, 3);
    cr_assert_eq(out[0]->shape[1], S);

    Arena scratch; arena_init(&scratch);
    int64_t ish[1][LTC_MAX_RANK] = {{B, S, E}};
    void *ins[1] = {x}, *outs[1];
    int64_t osh[1][LTC_MAX_RANK];
    RunArgs ra = {.inputs = ins, .in_shapes = ish, .outputs = outs, .out_shapes = osh};
    LtcDiag d = {0};
    cr_assert_eq(ir_run(ref, &ra, &scratch, &d), 0, "ir_run: %s", d.msg);
    const float *y = out[0]->data, *r = outs[0];
    double maxerr = 0, maxref = 0;
    for (int64_t i = 0; i < n; i++) {
        maxerr = fmax(maxerr, fabs((double)y[i] - r[i]));
        maxref = fmax(maxref, fabs((double)r[i]));
    }
    cr_assert_lt(maxerr, 1e-4 * (maxref > 1 ? maxref : 1), "B=%lld S=%lld: max |err| %g", (long long)B, (long long)S, maxerr);
    arena_free(&scratch);
    ltc_tensor_free(out[0]);
    free(x);
}

Test(e2e, model_so_matches_interpreter_at_two_lengths) {
    Model m;
    Graph *ref;
    build(&m, &ref);
    ltc_error err;
    ltc_model *lm = ltc_model_open(so, &err);
    cr_assert_not_null(lm, "%s", err.message);
    cr_assert_eq(ltc_model_bind_weights_file(lm, wpath), 0, "%s", ltc_last_error(lm)->message);
    compare(&m, ref, lm, 2, 8);
    compare(&m, ref, lm, 2, 37);
    cr_assert_eq(ltc_set_num_threads(lm, 2), 0);
    compare(&m, ref, lm, 3, 5);
    cr_assert_eq(ltc_set_num_threads(lm, 1), 0);
    compare(&m, ref, lm, 1, 64);
    ltc_model_close(lm);
    arena_free(&m.a);
}

Test(e2e, host_example_builds_and_runs) {
    Model m;
    Graph *ref;
    build(&m, &ref);
    arena_free(&m.a);
    char exe[300], cmd[2000];
    snprintf(exe, sizeof exe, "%s/host", dir);
#ifdef __SANITIZE_ADDRESS__
    const char *san = "-fsanitize=address,undefined";   /* the libraries were built with it */
#else
    const char *san = "";
#endif
    snprintf(cmd, sizeof cmd,
             "cc -std=c11 -Wall -Wextra -Werror %s -I%s/runtime/include -o '%s' %s/examples/host/host.c "
             "%s/libltc_runtime.a %s/libltc_support.a -ldl -lpthread -lm",
             san, LTC_SOURCE_DIR, exe, LTC_SOURCE_DIR, LTC_BINARY_DIR, LTC_BINARY_DIR);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "'%s' '%s' -w '%s' 8 24 2>&1", exe, so, wpath);
    FILE *f = popen(cmd, "r");
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int st = pclose(f);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert(strstr(out, "S=8: output 'y' [2,8,16]") || strstr(out, "[2,8,16]"), "%s", out);
    cr_assert(strstr(out, "[2,24,16]"), "%s", out);
    /* without weights it fails cleanly with a message naming a parameter */
    snprintf(cmd, sizeof cmd, "'%s' '%s' 8 24 2>&1", exe, so);
    f = popen(cmd, "r");
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    st = pclose(f);
    cr_assert_neq(st, 0, "%s", out);
    cr_assert(strstr(out, "weights are not bound"), "%s", out);
}
