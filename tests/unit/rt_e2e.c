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

enum { E = 16, F = 32, EA = 32 };   /* EA: attention width, 2 heads of 16 */

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

/* y = layer_norm(linear(relu(linear(x, W1, b1)), W2, b2) + x), with a
 * training dropout after the relu when with_dropout */
static bool with_dropout;
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
    if (with_dropout) h = emit(g, OP_DROPOUT, (Node *[]){h}, 1, &(Attr){.p = 0.25, .training = true, .seed = 77});
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

/* Self-attention block: y = proj(sdpa_causal(heads(x Wq), heads(x Wk),
 * heads(x Wv))) + x, with H = 2 heads of D = 8 (exercises the qkv
 * fusion's packed weights, views and the flash-attention kernel). */
static Node *reshape(Graph *g, Node *x, int rank, const Dim *d) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape.rank = rank;
    for (int i = 0; i < rank; i++) a.shape.d[i] = d[i];
    return emit(g, OP_RESHAPE, (Node *[]){x}, 1, &a);
}

static Node *permute(Graph *g, Node *x, int p0, int p1, int p2, int p3) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.perm[0] = p0; a.perm[1] = p1; a.perm[2] = p2; a.perm[3] = p3;
    return emit(g, OP_PERMUTE, (Node *[]){x}, 1, &a);
}

static Graph *trace_attn(Model *m, Node *wq, Node *wk, Node *wv, Node *wo, Node *bo) {
    Graph *g = graph_new(&m->a, "attend", false);
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 8);
    Dim db = {1, 1u << B}, ds = {1, 1u << S};
    Shape xs = {.rank = 3};
    xs.d[0] = db; xs.d[1] = ds; xs.d[2] = dim_const(EA);
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    Node *qkv[3], *w[3] = {wq, wk, wv};
    for (int i = 0; i < 3; i++) {
        Node *h = emit(g, OP_LINEAR, (Node *[]){x, w[i]}, 2, NULL);
        h = reshape(g, h, 4, (Dim[]){db, ds, dim_const(2), dim_const(EA / 2)});
        qkv[i] = permute(g, h, 0, 2, 1, 3);
    }
    Attr at;
    memset(&at, 0, sizeof at);
    at.causal = true;
    Node *o = emit(g, OP_SDPA, qkv, 3, &at);
    o = permute(g, o, 0, 2, 1, 3);
    o = reshape(g, o, 3, (Dim[]){db, ds, dim_const(EA)});
    o = emit(g, OP_LINEAR, (Node *[]){o, wo, bo}, 3, NULL);
    o = emit(g, OP_ADD, (Node *[]){o, x}, 2, NULL);
    ir_add_output(g, o);
    return g;
}

/* y = softmax(relu(x W1^T + b1)) over the last axis; shares W1, b1 with
 * "forward". */
static Graph *trace_classify(Model *m) {
    Graph *g = graph_new(&m->a, "classify", false);
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 8);
    Shape xs = {.rank = 3};
    xs.d[0] = (Dim){1, 1u << B};
    xs.d[1] = (Dim){1, 1u << S};
    xs.d[2] = dim_const(E);
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    Node *h = emit(g, OP_LINEAR, (Node *[]){x, m->w1, m->b1}, 3, NULL);
    h = emit(g, OP_RELU, (Node *[]){h}, 1, NULL);
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = 2;
    h = emit(g, OP_SOFTMAX, (Node *[]){h}, 1, &a);
    ir_add_output(g, h);
    return g;
}

static char dir[64], so[200], wpath[200];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/model.so", dir);
    snprintf(wpath, sizeof wpath, "%s/weights.safetensors", dir);
}

static void teardown(void) { rt_rmdir(dir); }

TestSuite(e2e, .init = setup, .fini = teardown, .timeout = 120);

/* Compile the model (entries "forward" and, when ref2, "attend"), write
 * the weights of both. */
static void build2(Model *m, Graph **ref, Graph **ref2, bool attention) {
    arena_init(&m->a);
    m->seed = 42;
    m->eager = graph_new(&m->a, "<eager>", true);
    m->w1 = param(m, "ffn.w1", 2, F, E); m->b1 = param(m, "ffn.b1", 1, F, 0);
    m->w2 = param(m, "ffn.w2", 2, E, F); m->b2 = param(m, "ffn.b2", 1, E, 0);
    m->lw = param(m, "norm.weight", 1, E, 0); m->lb = param(m, "norm.bias", 1, E, 0);
    Node *wq = param(m, "attn.wq", 2, EA, EA), *wk = param(m, "attn.wk", 2, EA, EA);
    Node *wv = param(m, "attn.wv", 2, EA, EA), *wo = param(m, "attn.wo", 2, EA, EA);
    Node *abo = param(m, "attn.bo", 1, EA, 0);
    Graph *g[2];
    int ng = ref2 ? 2 : 1;
    *ref = trace(m);
    g[0] = trace(m);
    if (ref2) {
        *ref2 = attention ? trace_attn(m, wq, wk, wv, wo, abo) : trace_classify(m);
        g[1] = attention ? trace_attn(m, wq, wk, wv, wo, abo) : trace_classify(m);
    }
    LtcDiag d = {0};
    PassOptions po;
    memset(&po, 0, sizeof po);
    if (getenv("LTC_E2E_NO_QKV")) {     /* while the CPU backend lacks `cat` (the qkv pass makes one) */
        po.no_fuse[0] = "qkv";
        po.nno_fuse = 1;
    }
    BackendOptions bo = {.cpu = "native", .opt_level = 2};
    Backend *be = backend_new("cpu", &m->a, &bo, &d);
    cr_assert_not_null(be, "%s", d.msg);
    Plan *p[2];
    for (int i = 0; i < ng; i++) {
        cr_assert_eq(passes_run(g[i], &po, NULL, NULL, &d), 0, "passes: %s", d.msg);
        int rc = plan_build(g[i], be, &m->a, &p[i], &d);
        if (rc != 0 && strstr(d.msg, "does not generate")) {
            /* an op the CPU backend does not generate yet: skip, visibly */
            be->destroy(be);
            cr_skip_test("CPU backend: %s", d.msg);
        }
        cr_assert_eq(rc, 0, "plan: %s", d.msg);
    }
    cr_assert_eq(be->generate(be, p, ng, &bo, &d), 0, "generate: %s", d.msg);
    cr_assert_eq(be->emit_library(be, p, ng, so, NULL, 0, &d), 0, "emit_library: %s", d.msg);
    /* weights: every PARAM of the plans, by name, from its eager origin */
    StTensor ts[32];
    int nt = 0;
    memset(ts, 0, sizeof ts);
    for (int e = 0; e < ng; e++)
        for (int i = 0; i < p[e]->nparams; i++) {
            bool dup = false;
            for (int k = 0; k < nt; k++) dup |= strcmp(ts[k].name, p[e]->params[i].name) == 0;
            if (dup) continue;
            Node *origin = NULL;
            for (int k = 0; k < g[e]->nparams; k++)
                if (strcmp(g[e]->params[k]->name, p[e]->params[i].name) == 0) origin = g[e]->params[k]->origin;
            cr_assert_not_null(origin, "param %s", p[e]->params[i].name);
            cr_assert_lt(nt, 32);
            ts[nt].name = p[e]->params[i].name;
            ts[nt].dtype = ST_F32;
            ts[nt].rank = origin->shape.rank;
            size_t n = 1;
            for (int k = 0; k < ts[nt].rank; k++) n *= (size_t)(ts[nt].shape[k] = origin->shape.d[k].k);
            ts[nt].data = origin->data;
            ts[nt].nbytes = n * 4;
            nt++;
        }
    char err[256];
    cr_assert_eq(st_write(wpath, ts, nt, NULL, 0, err, sizeof err), 0, "%s", err);
    be->destroy(be);
}

static void build(Model *m, Graph **ref) { build2(m, ref, NULL, false); }

static void compare_entry(Model *m, Graph *ref, ltc_model *lm, const char *entry, int64_t B, int64_t S) {
    int64_t W = strcmp(entry, "attend") == 0 ? EA : E;
    int64_t WO = strcmp(entry, "classify") == 0 ? F : W;     /* output width */
    int64_t n = B * S * W, no = B * S * WO;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = rt_rand(&m->seed);
    int64_t shape[3] = {B, S, W};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *out[1];
    cr_assert_eq(ltc_model_run_alloc(lm, entry, &in, 1, out, 1), 0, "%s: %s", entry, ltc_last_error(lm)->message);
    cr_assert_eq(out[0]->ndim, 3);
    cr_assert_eq(out[0]->shape[1], S);

    Arena scratch; arena_init(&scratch);
    int64_t ish[1][LTC_MAX_RANK] = {{B, S, W}};
    void *ins[1] = {x}, *outs[1];
    int64_t osh[1][LTC_MAX_RANK];
    RunArgs ra = {.inputs = ins, .in_shapes = ish, .outputs = outs, .out_shapes = osh,
                  .call = ltc_model_call_count(lm) - 1};     /* the run above was this call */
    LtcDiag d = {0};
    cr_assert_eq(ir_run(ref, &ra, &scratch, &d), 0, "ir_run: %s", d.msg);
    const float *y = out[0]->data, *r = outs[0];
    double maxerr = 0, maxref = 0;
    for (int64_t i = 0; i < no; i++) {
        maxerr = fmax(maxerr, fabs((double)y[i] - r[i]));
        maxref = fmax(maxref, fabs((double)r[i]));
    }
    cr_assert_lt(maxerr, 1e-4 * (maxref > 1 ? maxref : 1), "%s B=%lld S=%lld: max |err| %g", entry, (long long)B, (long long)S, maxerr);
    arena_free(&scratch);
    ltc_tensor_free(out[0]);
    free(x);
}

static void compare(Model *m, Graph *ref, ltc_model *lm, int64_t B, int64_t S) {
    compare_entry(m, ref, lm, "forward", B, S);
}

Test(e2e, two_entries_with_attention) {
    Model m;
    Graph *ref, *ref2;
    build2(&m, &ref, &ref2, true);
    ltc_error err;
    ltc_model *lm = ltc_model_open(so, &err);
    cr_assert_not_null(lm, "%s", err.message);
    cr_assert_eq(ltc_model_num_entries(lm), 2);
    cr_assert_str_eq(ltc_model_entry_name(lm, 1), "attend");
    cr_assert_eq(ltc_model_bind_weights_file(lm, wpath), 0, "%s", ltc_last_error(lm)->message);
    compare_entry(&m, ref2, lm, "attend", 2, 8);
    compare_entry(&m, ref, lm, "forward", 2, 9);
    compare_entry(&m, ref2, lm, "attend", 1, 45);
    cr_assert_eq(ltc_set_num_threads(lm, 2), 0);
    compare_entry(&m, ref2, lm, "attend", 3, 17);
    ltc_model_close(lm);
    arena_free(&m.a);
}

Test(e2e, two_entries_share_params) {
    Model m;
    Graph *ref, *ref2;
    build2(&m, &ref, &ref2, false);
    ltc_error err;
    ltc_model *lm = ltc_model_open(so, &err);
    cr_assert_not_null(lm, "%s", err.message);
    cr_assert_eq(ltc_model_num_entries(lm), 2);
    cr_assert_str_eq(ltc_model_entry_name(lm, 1), "classify");
    cr_assert_eq(ltc_model_bind_weights_file(lm, wpath), 0, "%s", ltc_last_error(lm)->message);
    compare_entry(&m, ref2, lm, "classify", 2, 8);
    compare_entry(&m, ref, lm, "forward", 2, 9);
    compare_entry(&m, ref2, lm, "classify", 3, 31);
    ltc_model_close(lm);
    arena_free(&m.a);
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
             "%s/libltc_runtime.a %s/libltc_plan.a %s/libltc_support.a -ldl -lpthread -lm",
             san, LTC_SOURCE_DIR, exe, LTC_SOURCE_DIR, LTC_BINARY_DIR, LTC_BINARY_DIR, LTC_BINARY_DIR);
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

/* Training dropout in a model.so: run k uses the masks of call k (the
 * model's counter), as the interpreter computes them; the counter can be
 * set back to replay a call. */
Test(e2e, dropout_masks_follow_the_call_counter) {
    Model m;
    Graph *ref;
    with_dropout = true;
    build(&m, &ref);
    with_dropout = false;
    ltc_error err;
    ltc_model *lm = ltc_model_open(so, &err);
    cr_assert_not_null(lm, "%s", err.message);
    cr_assert_eq(ltc_model_bind_weights_file(lm, wpath), 0, "%s", ltc_last_error(lm)->message);
    cr_assert_eq(ltc_model_call_count(lm), 0);
    compare(&m, ref, lm, 2, 8);       /* call 0 */
    compare(&m, ref, lm, 2, 37);      /* call 1 */
    compare(&m, ref, lm, 3, 5);       /* call 2 */
    cr_assert_eq(ltc_model_call_count(lm), 3);
    /* same input twice: different masks, then a replay of the first */
    int64_t shape[3] = {2, 6, E}, n = 2 * 6 * E;
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = rt_rand(&m.seed);
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, shape, NULL, 0};
    DLTensor *o[3][1];
    cr_assert_eq(ltc_model_set_call_count(lm, 10), 0);
    for (int r = 0; r < 3; r++) {
        if (r == 2) cr_assert_eq(ltc_model_set_call_count(lm, 10), 0);
        cr_assert_eq(ltc_model_run_alloc(lm, "forward", &in, 1, o[r], 1), 0, "%s", ltc_last_error(lm)->message);
    }
    const float *y0 = o[0][0]->data, *y1 = o[1][0]->data, *y2 = o[2][0]->data;
    cr_assert(memcmp(y0, y1, (size_t)n * 4) != 0, "calls 10 and 11 gave the same output");
    cr_assert(memcmp(y0, y2, (size_t)n * 4) == 0, "a replay of call 10 differs");
    for (int r = 0; r < 3; r++) ltc_tensor_free(o[r][0]);
    free(x);
    ltc_model_close(lm);
    arena_free(&m.a);
}

/* An entry with 70 inputs and 70 outputs (the runtime API had a fixed
 * limit of 64): y_i = x_i * (i + 1), at two sequence lengths. */
Test(e2e, seventy_inputs_and_outputs) {
    enum { N = 70 };
    Arena a;
    arena_init(&a);
    Graph *g = graph_new(&a, "many", false);
    int S = graph_add_symbol(g, "S", 4);
    Shape xs = {.rank = 2};
    xs.d[0] = (Dim){1, 1u << S};
    xs.d[1] = dim_const(3);
    for (int i = 0; i < N; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "x%d", i);
        Node *x = ir_input(g, arena_strdup(&a, nm), DT_F32, &xs, (SrcLoc){0});
        cr_assert_not_null(x);
        ir_add_output(g, emit(g, OP_MUL_SCALAR, &x, 1, &(Attr){.f = i + 1}));
    }
    LtcDiag d = {0};
    BackendOptions bo = {.cpu = "native", .opt_level = 1};
    Backend *be = backend_new("cpu", &a, &bo, &d);
    cr_assert_not_null(be, "%s", d.msg);
    Plan *p;
    cr_assert_eq(passes_run(g, NULL, NULL, NULL, &d), 0, "%s", d.msg);
    cr_assert_eq(plan_build(g, be, &a, &p, &d), 0, "plan: %s", d.msg);
    cr_assert_eq(be->generate(be, &p, 1, &bo, &d), 0, "%s", d.msg);
    cr_assert_eq(be->emit_library(be, &p, 1, so, NULL, 0, &d), 0, "%s", d.msg);
    be->destroy(be);
    ltc_error err;
    ltc_model *lm = ltc_model_open(so, &err);
    cr_assert_not_null(lm, "%s", err.message);
    for (int64_t s = 2; s <= 9; s += 7) {
        float *x = malloc(sizeof(float) * N * (size_t)s * 3);
        int64_t shape[2] = {s, 3};
        DLTensor in[N];
        DLTensor *out[N];
        for (int i = 0; i < N; i++) {
            for (int e = 0; e < s * 3; e++) x[i * s * 3 + e] = (float)(e + 1);
            in[i] = (DLTensor){x + i * s * 3, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
        }
        cr_assert_eq(ltc_model_run_alloc(lm, NULL, in, N, out, N), 0, "%s", ltc_last_error(lm)->message);
        for (int i = 0; i < N; i++) {
            const float *y = out[i]->data;
            for (int e = 0; e < s * 3; e++) cr_assert_eq(y[e], (float)(e + 1) * (i + 1), "output %d [%d]", i, e);
            ltc_tensor_free(out[i]);
        }
        free(x);
    }
    ltc_model_close(lm);
    arena_free(&a);
}
