/* rt_limits.c: run-time size limits of plans (PlanLimit, plan/plan.h).
 *
 *  - plan_check_limits against an independent 128-bit evaluation, at random
 *    symbol values and random signed polynomials; the rule text a user sees;
 *  - plan_build (CPU backend) records one limit per distinct bound of a
 *    slice with symbolic bounds (pe[:S] of a constant buffer; x[:, :4] of a
 *    symbolic dimension), none for bounds that hold for every size;
 *  - the executor (JIT path: real kernels, rt_run) refuses S one past the
 *    bound with the message, accepts S at the bound and then matches the
 *    interpreter;
 *  - the serialized plan keeps its limits; bad limit terms are refused;
 *  - end to end: `lispetorchc tests/oracle/gpt.lsp -o gpt.so`, then the
 *    model.so through the public C API: S = 12 (max_pos) runs and matches
 *    the interpreter's checksum, S = 13 is a shape error naming the bound. */
#include <criterion/criterion.h>
#include <math.h>

#include "codegen/backend.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

/* ---- the checker and the rule text ---------------------------------------------------- */
static Plan *two_sym_plan(Arena *a) {
    Graph *g = arena_alloc(a, sizeof *g);
    g->name = "f";
    g->nsyms = 2;
    g->syms[0].name = "B";
    g->syms[1].name = "S";
    Plan *p = arena_alloc(a, sizeof *p);
    p->graph = g;
    return p;
}

static PlanLimit limit(int64_t max, int n, const Dim *t, const char *what) {
    PlanLimit l;
    memset(&l, 0, sizeof l);
    l.max = max;
    l.value.n = n;
    for (int i = 0; i < n; i++) l.value.t[i] = t[i];
    l.what = what;
    return l;
}

Test(limits, rule_text) {
    Arena a; arena_init(&a);
    Plan *p = two_sym_plan(&a);
    char buf[128];
    struct { PlanLimit l; const char *want; } cases[] = {
        {limit(512, 1, (Dim[]){{1, SS}}, NULL), "S <= 512"},
        {limit(-4, 1, (Dim[]){{-1, SS}}, NULL), "S >= 4"},
        {limit(0, 2, (Dim[]){{1, SB}, {-1, SS}}, NULL), "B <= S"},
        {limit(1, 2, (Dim[]){{-1, SS}, {2, SB}}, NULL), "2*B <= S + 1"},
        {limit(-3, 2, (Dim[]){{1, SB | SS}, {-1, SS}}, NULL), "B*S <= S - 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_str_eq(plan_limit_rule(p, &cases[i].l, buf, sizeof buf), cases[i].want);
    /* a tiny buffer is cut, never overrun */
    char small[5];
    plan_limit_rule(p, &cases[0].l, small, sizeof small);
    cr_assert_str_eq(small, "S <=");
    arena_free(&a);
}

Test(limits, refuses_past_the_bound_accepts_at_it) {
    Arena a; arena_init(&a);
    Plan *p = two_sym_plan(&a);
    PlanLimit l[2] = {limit(512, 1, (Dim[]){{1, SS}}, "slice of the [512,1,64] buffer 'pe' at x.lsp:12"),
                      limit(-4, 1, (Dim[]){{-1, SS}}, "slice of a [B,S,8] tensor at x.lsp:3")};
    p->limits = l;
    p->nlimits = 2;
    int64_t sv[LTC_MAX_SYMS] = {2, 512};
    char err[512] = "";
    cr_assert_eq(plan_check_limits(p, sv, err, sizeof err), 0);
    sv[1] = 4;
    cr_assert_eq(plan_check_limits(p, sv, err, sizeof err), 0);
    sv[1] = 600;
    cr_assert_eq(plan_check_limits(p, sv, err, sizeof err), -1);
    cr_assert_str_eq(err, "input sizes give S=600, but the model was built for S <= 512 "
                          "(slice of the [512,1,64] buffer 'pe' at x.lsp:12)");
    sv[1] = 3;
    cr_assert_eq(plan_check_limits(p, sv, err, sizeof err), -1);
    cr_assert_str_eq(err, "input sizes give S=3, but the model was built for S >= 4 "
                          "(slice of a [B,S,8] tensor at x.lsp:3)");
    /* sizes so large the value overflows: refused, not wrapped around */
    sv[1] = INT64_MAX;
    l[0].value.t[0].k = 3;
    cr_assert_eq(plan_check_limits(p, sv, err, sizeof err), -1);
    cr_assert_eq(plan_check_limits(p, sv, NULL, 0), -1);
    arena_free(&a);
}

/* Random signed polynomials over B, S (and B*S) at random sizes, against a
 * 128-bit evaluation. */
Test(limits, random_values_match_exact_arithmetic) {
    Arena a; arena_init(&a);
    Plan *p = two_sym_plan(&a);
    unsigned seed = 7;
    PlanLimit l;
    p->limits = &l;
    p->nlimits = 1;
    int accepted = 0, refused = 0;
    for (int it = 0; it < 5000; it++) {
        memset(&l, 0, sizeof l);
        uint32_t syms[3] = {SB, SS, SB | SS};
        for (int j = 0; j < 3; j++) {
            int64_t k = (int64_t)(rand_r(&seed) % 9) - 4;
            if (k) l.value.t[l.value.n++] = rt_d(k, syms[j]);
        }
        if (l.value.n == 0) l.value.t[l.value.n++] = rt_d(1, SS);   /* lowering makes no constant limits */
        l.max = (int64_t)(rand_r(&seed) % 400) - 200;
        int64_t sv[LTC_MAX_SYMS] = {0};
        sv[0] = rand_r(&seed) % 40;
        sv[1] = it % 50 == 0 ? (int64_t)1 << 62 : rand_r(&seed) % 40;   /* some overflow */
        __int128 v = 0;
        for (int j = 0; j < l.value.n; j++) {
            __int128 t = l.value.t[j].k;
            if (l.value.t[j].sym & SB) t *= sv[0];
            if (l.value.t[j].sym & SS) t *= sv[1];
            v += t;
        }
        int want = v <= l.max ? 0 : -1;
        /* the checker refuses (rightly) whatever overflows 64 bits on the way */
        bool big = sv[1] > (1 << 20);
        char err[256];
        int got = plan_check_limits(p, sv, err, sizeof err);
        if (!big || want == -1) cr_assert_eq(got, want, "it %d", it);
        if (got == 0) accepted++;
        else {
            refused++;
            cr_assert(strstr(err, "but the model was built for") != NULL, "%s", err);
        }
    }
    cr_assert_gt(accepted, 500);
    cr_assert_gt(refused, 500);
    arena_free(&a);
}

/* ---- plan_build and the executor (JIT path) ---------------------------------------------- */
typedef struct Fix {
    Arena a;
    Graph *eager;
    Node *pe, *tab;         /* [12,4] and [2,20,4] */
    unsigned seed;
} Fix;

static Node *eager_param(Fix *f, const char *name, const Shape *s) {
    Node *n = ir_input(f->eager, name, DT_F32, s, (SrcLoc){0});
    cr_assert_not_null(n);
    SymBind none = {{0}, 0};
    size_t numel = shape_numel_eval(s, &none);
    float *d = arena_alloc_big(&f->a, numel * 4);
    for (size_t i = 0; i < numel; i++) d[i] = rt_rand(&f->seed);
    n->data = d;
    return n;
}

static void fix_init(Fix *f) {
    arena_init(&f->a);
    f->seed = 3;
    f->eager = graph_new(&f->a, "<eager>", true);
    Shape s2 = {2, {{12, 0}, {4, 0}}}, s3 = {3, {{2, 0}, {20, 0}, {4, 0}}};
    f->pe = eager_param(f, "pe", &s2);
    f->tab = eager_param(f, "tab", &s3);
}

static Node *emit(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    LtcDiag d = {0};
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(g, op, in, nin, a ? a : &z, (SrcLoc){0}, &d);
    cr_assert_not_null(n, "%s: %s", op_info[op].name, d.msg);
    return n;
}

static Node *slice(Graph *g, Node *x, int axis, Dim start, Dim end) {
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = axis; a.start = start; a.end = end; a.step = 1;
    return emit(g, OP_SLICE, &x, 1, &a);
}

enum { G_POS, G_COPY, G_HEAD, G_PROVABLE };

/* G_POS:  y = x[B,S,4] + pe[:S] + pe[:S]      (two identical bounds: one limit)
 * G_COPY: y = x[2,S,4] + tab[:, :S]           (a copy step, not an alias)
 * G_HEAD: y = x[B,S,4][:, :4] * 2             (needs S >= 4)
 * G_PROVABLE: y = x[2*S,4][:S]                (holds for every S: no limit) */
static Graph *trace(Fix *f, int kind) {
    Graph *g = graph_new(&f->a, "f", false);
    int b = graph_add_symbol(g, "B", 2), s = graph_add_symbol(g, "S", 8);
    Dim B = {1, 1u << b}, S = {1, 1u << s};
    Shape xs = {3, {B, S, {4, 0}}};
    if (kind == G_COPY) xs.d[0] = dim_const(2);
    if (kind == G_PROVABLE) { xs.rank = 2; xs.d[0] = (Dim){2, 1u << s}; xs.d[1] = dim_const(4); }
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0}), *y = NULL;
    switch (kind) {
    case G_POS: {
        Node *t = emit(g, OP_ADD, (Node *[]){x, slice(g, f->pe, 0, dim_const(0), S)}, 2, NULL);
        y = emit(g, OP_ADD, (Node *[]){t, slice(g, f->pe, 0, dim_const(0), S)}, 2, NULL);
        break;
    }
    case G_COPY:
        y = emit(g, OP_ADD, (Node *[]){x, slice(g, f->tab, 1, dim_const(0), S)}, 2, NULL);
        break;
    case G_HEAD: {
        Attr a;
        memset(&a, 0, sizeof a);
        a.f = 2;
        y = emit(g, OP_MUL_SCALAR, (Node *[]){slice(g, x, 1, dim_const(0), dim_const(4))}, 1, &a);
        break;
    }
    case G_PROVABLE:
        y = emit(g, OP_RELU, (Node *[]){slice(g, x, 0, dim_const(0), S)}, 1, NULL);
        break;
    }
    ir_add_output(g, y);
    return g;
}

static int lookup(void *ctx, const char *name, void **fn) {
    Backend *b = ctx;
    LtcDiag d;
    return b->jit_lookup(b, name, fn, &d);
}

typedef struct Built { Backend *be; Plan *p; RtProgram prog; } Built;

static void build(Fix *f, Graph *g, Built *o, bool generate) {
    LtcDiag d = {0};
    PassOptions po;
    memset(&po, 0, sizeof po);
    cr_assert_eq(passes_run(g, &po, NULL, NULL, &d), 0, "passes: %s", d.msg);
    BackendOptions bo = {.cpu = "native", .opt_level = 1};
    o->be = backend_new("cpu", &f->a, &bo, &d);
    cr_assert_not_null(o->be, "%s", d.msg);
    int rc = plan_build(g, o->be, &f->a, &o->p, &d);
    if (rc != 0 && strstr(d.msg, "does not generate")) {
        o->be->destroy(o->be);
        cr_skip_test("CPU backend: %s", d.msg);
    }
    cr_assert_eq(rc, 0, "plan: %s", d.msg);
    if (!generate) return;
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

/* Run the plan at [d0,S,4] (bind + rt_run); on success compare with ir_run
 * on an unlowered copy.  Returns rt_run's result; err holds its message. */
static int run_at(Fix *f, Built *o, Graph *ref, int64_t d0, int64_t S, char *err, size_t errlen) {
    const Plan *p = o->p;
    int rank = p->inputs[0].shape.rank;
    int64_t shape[3] = {d0, S, 4};
    if (rank == 2) { shape[0] = d0; shape[1] = 4; }
    const int64_t *sh[1] = {shape};
    int rk[1] = {rank};
    int64_t sv[LTC_MAX_SYMS];
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, errlen), 0, "%s", err);
    int64_t n = shape[0] * shape[1] * (rank == 3 ? shape[2] : 1);
    float *x = malloc((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) x[i] = rt_rand(&f->seed);
    int64_t osh[LTC_MAX_RANK] = {0};
    int64_t on = 1;
    if (plan_tensor_dims(&p->outputs[0], sv, osh) == 0)
        for (int i = 0; i < p->outputs[0].shape.rank; i++) on *= osh[i];
    float *y = malloc((size_t)(on > 0 ? on : 1) * 4);
    RtScratch scr = {0};
    void *ins[1] = {x}, *outs[1] = {y};
    int rc = rt_run(&o->prog, rt_test_device(), &scr, sv, ins, outs, err, errlen);
    if (rc == 0) {
        Arena s; arena_init(&s);
        int64_t ish[1][LTC_MAX_RANK] = {{shape[0], shape[1], shape[2]}};
        void *rin[1] = {x}, *rout[1];
        int64_t rsh[1][LTC_MAX_RANK];
        RunArgs ra = {.inputs = rin, .in_shapes = ish, .outputs = rout, .out_shapes = rsh};
        LtcDiag d = {0};
        cr_assert_eq(ir_run(ref, &ra, &s, &d), 0, "ir_run: %s", d.msg);
        const float *r = rout[0];
        for (int64_t i = 0; i < on; i++) cr_assert_float_eq(y[i], r[i], 1e-5, "y[%lld]", (long long)i);
        arena_free(&s);
    }
    rt_scratch_free(&scr);
    free(x);
    free(y);
    return rc;
}

Test(limits, positional_slice_of_a_constant_buffer) {
    Fix f; fix_init(&f);
    Graph *g = trace(&f, G_POS), *ref = trace(&f, G_POS);
    Built o;
    build(&f, g, &o, true);
    cr_assert_eq(o.p->nlimits, 1, "two identical bounds make one limit");
    char rule[64], err[512];
    cr_assert_str_eq(plan_limit_rule(o.p, &o.p->limits[0], rule, sizeof rule), "S <= 12");
    cr_assert_str_eq(o.p->limits[0].what, "slice of the [12,4] buffer 'pe'");
    /* --emit plan shows it */
    StrBuf t = {0};
    plan_print(o.p, (SymBind){{0}, 0}, &t);
    cr_assert(strstr(t.s, "limits (checked at run time):\n  S <= 12  slice of the [12,4] buffer 'pe'\n"), "%s", t.s);
    sb_free(&t);
    /* ragged sizes up to the bound run and match the interpreter */
    int64_t sizes[][2] = {{2, 8}, {3, 1}, {1, 12}, {2, 11}};
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(run_at(&f, &o, ref, sizes[i][0], sizes[i][1], err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_at(&f, &o, ref, 2, 13, err, sizeof err), -1);
    cr_assert_str_eq(err, "input sizes give S=13, but the model was built for S <= 12 (slice of the [12,4] buffer 'pe')");
    cr_assert_eq(run_at(&f, &o, ref, 1, 600, err, sizeof err), -1);
    cr_assert(strstr(err, "S=600") != NULL, "%s", err);
    built_free(&o);
    arena_free(&f.a);
}

Test(limits, copy_step_slice) {
    Fix f; fix_init(&f);
    Graph *g = trace(&f, G_COPY), *ref = trace(&f, G_COPY);
    Built o;
    build(&f, g, &o, true);
    cr_assert_eq(o.p->nlimits, 1);
    char rule[64], err[512];
    cr_assert_str_eq(plan_limit_rule(o.p, &o.p->limits[0], rule, sizeof rule), "S <= 20");
    cr_assert_eq(run_at(&f, &o, ref, 2, 20, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_at(&f, &o, ref, 2, 7, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_at(&f, &o, ref, 2, 21, err, sizeof err), -1);
    cr_assert(strstr(err, "S=21, but the model was built for S <= 20 (slice of the [2,20,4] buffer 'tab')"), "%s", err);
    built_free(&o);
    arena_free(&f.a);
}

Test(limits, constant_end_on_a_symbolic_dimension) {
    Fix f; fix_init(&f);
    Graph *g = trace(&f, G_HEAD), *ref = trace(&f, G_HEAD);
    Built o;
    build(&f, g, &o, true);
    cr_assert_eq(o.p->nlimits, 1);
    char rule[64], err[512];
    cr_assert_str_eq(plan_limit_rule(o.p, &o.p->limits[0], rule, sizeof rule), "S >= 4");
    cr_assert_str_eq(o.p->limits[0].what, "slice of a [B,S,4] tensor");
    cr_assert_eq(run_at(&f, &o, ref, 2, 4, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_at(&f, &o, ref, 3, 9, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_at(&f, &o, ref, 2, 3, err, sizeof err), -1);
    cr_assert(strstr(err, "input sizes give S=3, but the model was built for S >= 4"), "%s", err);
    built_free(&o);
    arena_free(&f.a);
}

Test(limits, bounds_true_for_every_size_make_none) {
    Fix f; fix_init(&f);
    Built o;
    build(&f, trace(&f, G_PROVABLE), &o, false);
    cr_assert_eq(o.p->nlimits, 0);
    StrBuf t = {0};
    plan_print(o.p, (SymBind){{0}, 0}, &t);
    cr_assert(!strstr(t.s, "limits"), "%s", t.s);
    sb_free(&t);
    o.be->destroy(o.be);
    arena_free(&f.a);
}

/* ---- serialization ------------------------------------------------------------------------ */
Test(limits, serialized_plans_keep_their_limits) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    PlanLimit l[2] = {limit(512, 1, (Dim[]){{1, SS}}, "slice of the [512,1,64] buffer 'pe' at x.lsp:12"),
                      limit(-1, 2, (Dim[]){{1, SB}, {-3, SS}}, NULL)};
    p->limits = l;
    p->nlimits = 2;
    StrBuf blob = {0};
    LtcDiag d = {0};
    cr_assert_eq(plan_serialize(&p, 1, &blob, &d), 0, "%s", d.msg);
    Plan **ps;
    int np;
    cr_assert_eq(plan_deserialize(&a, blob.s, blob.len, &ps, &np, &d), 0, "%s", d.msg);
    cr_assert_eq(np, 1);
    cr_assert_eq(ps[0]->nlimits, 2);
    for (int i = 0; i < 2; i++) {
        const PlanLimit *r = &ps[0]->limits[i];
        cr_assert_eq(r->max, l[i].max);
        cr_assert_eq(r->value.n, l[i].value.n);
        for (int j = 0; j < r->value.n; j++) {
            cr_assert_eq(r->value.t[j].k, l[i].value.t[j].k);
            cr_assert_eq(r->value.t[j].sym, l[i].value.t[j].sym);
        }
    }
    cr_assert_str_eq(ps[0]->limits[0].what, l[0].what);
    cr_assert_null(ps[0]->limits[1].what);
    char rule[64];
    cr_assert_str_eq(plan_limit_rule(ps[0], &ps[0]->limits[1], rule, sizeof rule), "B <= 3*S - 1");
    /* the deserialized plan checks as the original */
    int64_t sv[LTC_MAX_SYMS] = {2, 513};
    char err[256];
    cr_assert_eq(plan_check_limits(ps[0], sv, err, sizeof err), -1);
    cr_assert(strstr(err, "S=513") && strstr(err, "S <= 512"), "%s", err);
    sb_free(&blob);

    /* a constant term in a limit is not something the writer produces */
    l[1].value.t[1].sym = 0;
    cr_assert_eq(plan_serialize(&p, 1, &blob, &d), -1);
    sb_free(&blob);
    /* ... nor accepted by the reader: forge it after a valid write */
    l[1].value.t[1].sym = SS;
    cr_assert_eq(plan_serialize(&p, 1, &blob, &d), 0, "%s", d.msg);
    /* the last limit is: poly(n=2: {1,B}, {-3,S}) i64 max, str NULL, then
     * the id checks' count (u32 0); its second term's sym is
     * 4 + 8 + 4 + 4 bytes before the end */
    size_t at = blob.len - 4 - 4 - 8 - 4;
    uint32_t sym;
    memcpy(&sym, blob.s + at, 4);
    cr_assert_eq(sym, (uint32_t)SS);
    memset(blob.s + at, 0, 4);
    cr_assert_eq(plan_deserialize(&a, blob.s, blob.len, &ps, &np, &d), -1);
    cr_assert(strstr(d.msg, "limit"), "%s", d.msg);
    /* and every truncation is refused */
    for (size_t n = 0; n < blob.len; n++)
        cr_assert_eq(plan_deserialize(&a, blob.s, n, &ps, &np, &d), -1, "truncated at %zu", n);
    sb_free(&blob);
    arena_free(&a);
}

/* ---- end to end: the gpt oracle script as a model.so ------------------------------------------ */
static char dir[64];

static void e2e_setup(void) { cr_assert_not_null(rt_tmpdir(dir, sizeof dir)); }
static void e2e_teardown(void) { rt_rmdir(dir); }

/* logits of gpt_forward for ids [B,S] (values in [0,37)); sum of logits. */
static int run_gpt(ltc_model *m, const int64_t *ids, int64_t B, int64_t S, double *sum) {
    int64_t shape[2] = {B, S};
    DLTensor in = {(void *)ids, {kDLCPU, 0}, 2, {kDLInt, 64, 1}, shape, NULL, 0};
    DLTensor *out[1];
    if (ltc_model_run_alloc(m, "gpt_forward", &in, 1, out, 1) != 0) return -1;
    cr_assert_eq(out[0]->ndim, 3);
    cr_assert_eq(out[0]->shape[0], B);
    cr_assert_eq(out[0]->shape[1], S);
    cr_assert_eq(out[0]->shape[2], 37);
    const float *y = out[0]->data;
    double s = 0;
    for (int64_t i = 0; i < B * S * 37; i++) {
        cr_assert(isfinite(y[i]));
        s += y[i];
    }
    *sum = s;
    ltc_tensor_free(out[0]);
    return 0;
}

Test(limits, gpt_model_so_checks_max_positions, .init = e2e_setup, .fini = e2e_teardown, .timeout = 300) {
    char cmd[1024], so[200], w[200];
    snprintf(so, sizeof so, "%s/gpt.so", dir);
    snprintf(w, sizeof w, "%s/gpt.safetensors", dir);
    /* from the source dir, so the script is named as a user would name it */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/lispetorchc' tests/oracle/gpt.lsp -o '%s' 2>&1", LTC_SOURCE_DIR, LTC_BINARY_DIR, so);
    FILE *pf = popen(cmd, "r");
    cr_assert_not_null(pf);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, pf);
    out[n] = 0;
    int rc = pclose(pf);
    cr_assert_eq(rc, 0, "%s\n%s", cmd, out);
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(ltc_model_bind_weights_file(m, w), 0, "%s", ltc_last_error(m)->message);

    /* the script's own ids [2,9]: the interpreter printed checksum 20.2785 */
    int64_t ids[2 * 13] = {5, 17, 36, 8, 33, 1, 29, 12, 7, 20, 2, 19, 34, 3, 9, 27, 4, 13};
    double sum;
    cr_assert_eq(run_gpt(m, ids, 2, 9, &sum), 0, "%s", ltc_last_error(m)->message);
    cr_assert_float_eq(sum, 20.2785, 2e-3, "logits checksum %g", sum);
    /* S = max_pos: at the bound, accepted */
    for (int i = 0; i < 26; i++) ids[i] = (i * 7 + 3) % 37;
    cr_assert_eq(run_gpt(m, ids, 2, 12, &sum), 0, "%s", ltc_last_error(m)->message);
    /* one past: refused, naming the bound, the value and the script line */
    cr_assert_eq(run_gpt(m, ids, 2, 13, &sum), -1);
    const ltc_error *e = ltc_last_error(m);
    cr_assert_eq(e->code, LTC_ERR_SHAPE);
    cr_assert_str_eq(e->message, "entry 'gpt_forward': input sizes give S=13, but the model was built for S <= 12 "
                                 "(slice of the [12,40] buffer 'gpt.pos_emb' at tests/oracle/gpt.lsp:63)");
    /* still usable afterwards */
    cr_assert_eq(run_gpt(m, ids, 1, 5, &sum), 0, "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
}
