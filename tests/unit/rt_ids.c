/* rt_ids.c: run-time checks of embedding ids (PlanIdCheck, plan/plan.h).
 *
 *  - plan_build (CPU backend) records one check for an embedding whose ids
 *    are an i64 entry input, directly or through a reshape; --emit plan
 *    shows it;
 *  - the executor (JIT path: real kernels, rt_run) runs ids in range and
 *    matches the interpreter; refuses id = num and a negative id with a
 *    message naming the input, the value, its position and the table;
 *  - the serialized plan keeps its checks; a check naming a non-i64 input
 *    is refused by the writer and the reader;
 *  - end to end: gpt.lsp as a model.so through the public API refuses an
 *    id = vocab size. */
#include <criterion/criterion.h>
#include <math.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "plan/serialize.h"
#include "ir/passes/passes.h"
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

enum { NUM = 11, DIM = 5 };

typedef struct Fix { Arena a; Graph *eager; Node *tab; unsigned seed; } Fix;

static void fix_init(Fix *f) {
    arena_init(&f->a);
    f->seed = 7;
    f->eager = graph_new(&f->a, "<eager>", true);
    Shape s = {2, {{NUM, 0}, {DIM, 0}}};
    f->tab = ir_input(f->eager, "emb.tab", DT_F32, &s, (SrcLoc){0});
    cr_assert_not_null(f->tab);
    float *d = arena_alloc_big(&f->a, NUM * DIM * 4);
    for (int i = 0; i < NUM * DIM; i++) d[i] = rt_rand(&f->seed);
    f->tab->data = d;
}

static Node *emit(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    LtcDiag d = {0};
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(g, op, in, nin, a ? a : &z, (SrcLoc){0}, &d);
    cr_assert_not_null(n, "%s: %s", op_info[op].name, d.msg);
    return n;
}

/* y = relu(embedding(ids[B,S], tab)); via_reshape: the ids go through a
 * reshape to [B*S] first (a layout-only view: still checked). */
static Graph *trace(Fix *f, bool via_reshape) {
    Graph *g = graph_new(&f->a, "f", false);
    int b = graph_add_symbol(g, "B", 2), s = graph_add_symbol(g, "S", 3);
    Shape xs = {2, {{1, 1u << b}, {1, 1u << s}}};
    Node *x = ir_input(g, "ids", DT_I64, &xs, (SrcLoc){0});
    if (via_reshape) {
        Attr a;
        memset(&a, 0, sizeof a);
        a.shape.rank = 1;
        a.shape.d[0] = (Dim){1, (1u << b) | (1u << s)};
        x = emit(g, OP_RESHAPE, &x, 1, &a);
    }
    Node *e = emit(g, OP_EMBEDDING, (Node *[]){x, f->tab}, 2, NULL);
    ir_add_output(g, emit(g, OP_RELU, &e, 1, NULL));
    return g;
}

static int lookup(void *ctx, const char *name, void **fn) {
    Backend *b = ctx;
    LtcDiag d;
    return b->jit_lookup(b, name, fn, &d);
}

typedef struct Built { Backend *be; Plan *p; RtProgram prog; } Built;

static void build(Fix *f, Graph *g, Built *o) {
    LtcDiag d = {0};
    PassOptions po;
    memset(&po, 0, sizeof po);
    cr_assert_eq(passes_run(g, &po, NULL, NULL, &d), 0, "passes: %s", d.msg);
    BackendOptions bo = {.cpu = "native", .opt_level = 1};
    o->be = backend_new("cpu", &f->a, &bo, &d);
    cr_assert_not_null(o->be, "%s", d.msg);
    cr_assert_eq(plan_build(g, o->be, &f->a, &o->p, &d), 0, "plan: %s", d.msg);
    char err[512] = "";
    cr_assert_eq(o->be->generate(o->be, &o->p, 1, &bo, &d), 0, "generate: %s", d.msg);
    cr_assert_eq(rt_program_init(&o->prog, o->p, lookup, o->be, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < o->p->nparams; i++)
        for (int k = 0; k < g->nparams; k++)
            if (strcmp(g->params[k]->name, o->p->params[i].name) == 0) o->prog.params[i] = g->params[k]->origin->data;
    cr_assert_eq(rt_prepack(&o->prog, rt_test_device(), err, sizeof err), 0, "%s", err);
}

static void built_free(Built *o) {
    rt_program_free(&o->prog);
    o->be->destroy(o->be);
}

/* Run at ids [B,S]; on success compare with ir_run on an unlowered copy. */
static int run_ids(Built *o, Graph *ref, int64_t B, int64_t S, int64_t *ids, char *err, size_t errlen) {
    const Plan *p = o->p;
    int64_t shape[2] = {B, S};
    const int64_t *sh[1] = {shape};
    int rk[1] = {2};
    int64_t sv[LTC_MAX_SYMS];
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, errlen), 0, "%s", err);
    int64_t on = B * S * DIM;
    float *y = malloc((size_t)(on > 0 ? on : 1) * 4);
    RtScratch scr = {0};
    void *ins[1] = {ids}, *outs[1] = {y};
    int rc = rt_run(&o->prog, rt_test_device(), &scr, sv, ins, outs, err, errlen);
    Arena s; arena_init(&s);
    int64_t ish[1][LTC_MAX_RANK] = {{B, S}};
    void *rin[1] = {ids}, *rout[1];
    int64_t rsh[1][LTC_MAX_RANK];
    RunArgs ra = {.inputs = rin, .in_shapes = ish, .outputs = rout, .out_shapes = rsh};
    LtcDiag d = {0};
    int rrc = ir_run(ref, &ra, &s, &d);
    /* the compiled code refuses exactly what the interpreter refuses */
    cr_assert_eq(rc, rrc, "rt_run %d (%s), ir_run %d (%s)", rc, err, rrc, d.msg);
    if (rc == 0) {
        const float *r = rout[0];
        for (int64_t i = 0; i < on; i++) cr_assert_float_eq(y[i], r[i], 1e-6, "y[%lld]", (long long)i);
    }
    arena_free(&s);
    rt_scratch_free(&scr);
    free(y);
    return rc;
}

static void in_range_and_refused(bool via_reshape) {
    Fix f; fix_init(&f);
    Graph *g = trace(&f, via_reshape), *ref = trace(&f, via_reshape);
    Built o;
    build(&f, g, &o);
    cr_assert_eq(o.p->nidchecks, 1);
    cr_assert_eq(o.p->idchecks[0].input, 0);
    cr_assert_eq(o.p->idchecks[0].num, NUM);
    cr_assert_str_eq(o.p->idchecks[0].what, "the embedding table 'emb.tab' [11,5]");
    StrBuf t = {0};
    plan_print(o.p, (SymBind){{0}, 0}, &t);
    cr_assert(strstr(t.s, "id checks (checked at run time):\n  input 0 ids in [0, 11)  the embedding table 'emb.tab' [11,5]\n"),
              "%s", t.s);
    sb_free(&t);
    char err[512] = "";
    unsigned seed = 11;
    int64_t sizes[][2] = {{2, 3}, {1, 1}, {3, 7}, {4, 5}};
    int64_t ids[64];
    for (size_t k = 0; k < 4; k++) {
        int64_t B = sizes[k][0], S = sizes[k][1];
        for (int64_t i = 0; i < B * S; i++) ids[i] = (int64_t)(rt_rand(&seed) * 1e6 + 1e6) % NUM;
        ids[0] = 0;
        ids[B * S - 1] = NUM - 1;                  /* both ends of the range */
        cr_assert_eq(run_ids(&o, ref, B, S, ids, err, sizeof err), 0, "%s", err);
    }
    for (int i = 0; i < 12; i++) ids[i] = i % NUM;
    ids[1 * 4 + 3] = NUM;                           /* [1,3] of [3,4] */
    cr_assert_eq(run_ids(&o, ref, 3, 4, ids, err, sizeof err), -1);
    cr_assert_str_eq(err, "input 'ids': value 11 at [1,3] is out of range for the embedding table 'emb.tab' [11,5] "
                          "(ids must be in [0, 11))");
    ids[1 * 4 + 3] = 3;
    ids[2 * 4 + 0] = -1;
    cr_assert_eq(run_ids(&o, ref, 3, 4, ids, err, sizeof err), -1);
    cr_assert_str_eq(err, "input 'ids': value -1 at [2,0] is out of range for the embedding table 'emb.tab' [11,5] "
                          "(ids must be in [0, 11))");
    ids[2 * 4 + 0] = 4;
    cr_assert_eq(run_ids(&o, ref, 3, 4, ids, err, sizeof err), 0, "%s", err);
    /* a tiny message buffer is cut, not overrun; no buffer at all still fails */
    int64_t sv[LTC_MAX_SYMS] = {3, 4};
    ids[5] = 99;
    void *ins[1] = {ids};
    char small[8];
    cr_assert_eq(plan_check_ids(o.p, sv, ins, small, sizeof small), -1);
    cr_assert_str_eq(small, "input '");
    cr_assert_eq(plan_check_ids(o.p, sv, ins, NULL, 0), -1);
    built_free(&o);
    arena_free(&f.a);
}

Test(ids, embedding_of_an_input) { in_range_and_refused(false); }
Test(ids, embedding_of_a_reshaped_input) { in_range_and_refused(true); }

Test(ids, serialized_plans_keep_their_checks) {
    Fix f; fix_init(&f);
    Built o;
    build(&f, trace(&f, false), &o);
    StrBuf blob = {0};
    LtcDiag d = {0};
    cr_assert_eq(plan_serialize(&o.p, 1, &blob, &d), 0, "%s", d.msg);
    Plan **ps;
    int np;
    cr_assert_eq(plan_deserialize(&f.a, blob.s, blob.len, &ps, &np, &d), 0, "%s", d.msg);
    cr_assert_eq(np, 1);
    cr_assert_eq(ps[0]->nidchecks, 1);
    cr_assert_eq(ps[0]->idchecks[0].input, 0);
    cr_assert_eq(ps[0]->idchecks[0].num, NUM);
    cr_assert_str_eq(ps[0]->idchecks[0].what, o.p->idchecks[0].what);
    /* the deserialized plan checks as the original */
    int64_t sv[LTC_MAX_SYMS] = {1, 2}, ids[2] = {3, 12};
    void *ins[1] = {ids};
    char err[256];
    cr_assert_eq(plan_check_ids(ps[0], sv, ins, err, sizeof err), -1);
    cr_assert(strstr(err, "value 12 at [0,1]"), "%s", err);
    ids[1] = 10;
    cr_assert_eq(plan_check_ids(ps[0], sv, ins, err, sizeof err), 0);
    /* every truncation is refused */
    for (size_t n = 0; n < blob.len; n++)
        cr_assert_eq(plan_deserialize(&f.a, blob.s, n, &ps, &np, &d), -1, "truncated at %zu", n);
    sb_free(&blob);
    /* a check naming a non-i64 input: the writer refuses it ... */
    o.p->inputs[0].dtype = DT_F32;
    cr_assert_eq(plan_serialize(&o.p, 1, &blob, &d), -1);
    cr_assert(strstr(d.msg, "id check"), "%s", d.msg);
    sb_free(&blob);
    /* ... and so does the reader (forge it: the input's dtype is the u32
     * after its name, in the first tensor list) */
    o.p->inputs[0].dtype = DT_I64;
    cr_assert_eq(plan_serialize(&o.p, 1, &blob, &d), 0, "%s", d.msg);
    char *at = memmem(blob.s, blob.len, "\3\0\0\0ids", 7);
    cr_assert_not_null(at);
    uint32_t dt = DT_F32;
    memcpy(at + 7, &dt, 4);
    cr_assert_eq(plan_deserialize(&f.a, blob.s, blob.len, &ps, &np, &d), -1);
    cr_assert(strstr(d.msg, "id check"), "%s", d.msg);
    sb_free(&blob);
    built_free(&o);
    arena_free(&f.a);
}

/* ---- end to end: the gpt oracle script as a model.so ------------------------------------------ */
static char dir[64];

static void e2e_setup(void) { cr_assert_not_null(rt_tmpdir(dir, sizeof dir)); }
static void e2e_teardown(void) { rt_rmdir(dir); }

static int run_gpt(ltc_model *m, const int64_t *ids, int64_t B, int64_t S) {
    int64_t shape[2] = {B, S};
    DLTensor in = {(void *)ids, {kDLCPU, 0}, 2, {kDLInt, 64, 1}, shape, NULL, 0};
    DLTensor *out[1];
    if (ltc_model_run_alloc(m, "gpt_forward", &in, 1, out, 1) != 0) return -1;
    ltc_tensor_free(out[0]);
    return 0;
}

Test(ids, gpt_model_so_refuses_bad_ids, .init = e2e_setup, .fini = e2e_teardown, .timeout = 300) {
    char cmd[1024], so[200], w[200];
    snprintf(so, sizeof so, "%s/gpt.so", dir);
    snprintf(w, sizeof w, "%s/gpt.safetensors", dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/lispetorchc' tests/oracle/gpt.lsp -o '%s' 2>&1", LTC_SOURCE_DIR, LTC_BINARY_DIR, so);
    FILE *pf = popen(cmd, "r");
    cr_assert_not_null(pf);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, pf);
    out[n] = 0;
    cr_assert_eq(pclose(pf), 0, "%s\n%s", cmd, out);
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(ltc_model_bind_weights_file(m, w), 0, "%s", ltc_last_error(m)->message);
    int64_t ids[2 * 5];
    for (int i = 0; i < 10; i++) ids[i] = (i * 7 + 3) % 37;
    cr_assert_eq(run_gpt(m, ids, 2, 5), 0, "%s", ltc_last_error(m)->message);
    ids[1 * 5 + 2] = 37;                                /* the vocabulary has 37 ids */
    cr_assert_eq(run_gpt(m, ids, 2, 5), -1);
    const char *msg = ltc_last_error(m)->message;
    cr_assert_eq(ltc_last_error(m)->code, LTC_ERR_ARG);
    cr_assert_str_eq(msg, "entry 'gpt_forward': input 'ids': value 37 at [1,2] is out of range for the embedding "
                          "table 'gpt.tok_emb.weight' [37,40] (ids must be in [0, 37))");
    ids[1 * 5 + 2] = 36;
    cr_assert_eq(run_gpt(m, ids, 2, 5), 0, "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
}
