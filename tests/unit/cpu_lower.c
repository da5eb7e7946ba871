/* cpu_lower.c: graph -> Plan (codegen/lower.c) with a recording fake
 * backend, so the storage rules and the memory plan are checked on their
 * own: no two simultaneously live arena buffers overlap (recomputed here
 * from the steps, at several symbol values), peak <= sum of sizes,
 * aliases/views make no steps, parameter-only values are prepacked,
 * ADD_NORM gets its sum buffer, an op the backend refuses is named. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/kernel_spec.h"
#include "codegen/lower.h"
#include "ir/passes/passes.h"

static Arena A;
static Graph *eager;
static LtcDiag dg;
static Dim B, S;

static void setup(void) {
    arena_init(&A);
    eager = graph_new(&A, "<eager>", true);
    eager->seed = 5;
    memset(&dg, 0, sizeof dg);
}
static void teardown(void) { arena_free(&A); }

/* ---- fake backend: one kernel per node, bufs = inputs + extra + output ---- */
typedef struct Fake { Op refuse; int calls; } Fake;

static int fake_lower(Backend *b, Plan *p, Node *n, const int *in_bufs, int out_buf, PlanStep *st, LtcDiag *d) {
    Fake *f = b->self;
    f->calls++;
    if (n->op == f->refuse) return diag_set(d, n->loc, "op '%s' is not supported", op_info[n->op].name);
    PlanKernel *k = arena_alloc(&A, (size_t)(p->nkernels + 1) * sizeof *k);
    if (p->nkernels) memcpy(k, p->kernels, (size_t)p->nkernels * sizeof *k);
    k[p->nkernels].name = arena_printf(&A, "k%d_%s", p->nkernels, op_info[n->op].name);
    k[p->nkernels].family = "fake";
    k[p->nkernels].node = n;
    p->kernels = k;
    st->kernel = p->nkernels++;
    int nb = 0;
    for (int i = 0; i < n->nin; i++) st->bufs[nb++] = in_bufs[i];
    if (in_bufs[n->nin] >= 0) st->bufs[nb++] = in_bufs[n->nin];
    st->bufs[nb++] = out_buf;
    st->nbufs = nb;
    st->ntiles = poly_dim(dim_const(1));
    return 0;
}

static Fake fake;
static Backend fake_be = {.name = "fake", .self = &fake, .lower_node = fake_lower};

/* ---- graph helpers ---------------------------------------------------------------- */
static Attr A0(void) { Attr a; memset(&a, 0, sizeof a); return a; }
static Node *emit(Graph *g, Op op, Node **in, int nin, Attr a) {
    Node *n = ir_emit(g, op, in, nin, &a, (SrcLoc){0}, &dg);
    cr_assert(n, "%s: %s", op_info[op].name, dg.msg);
    return n;
}
static Node *e1(Graph *g, Op op, Node *x) { return emit(g, op, &x, 1, A0()); }
static Node *param(int64_t r, int64_t c) {
    Attr a = A0();
    a.shape.rank = c ? 2 : 1; a.shape.d[0] = dim_const(r); a.shape.d[1] = dim_const(c);
    a.dtype = DT_F32; a.hi = 0.3;
    Node *n = ir_emit(eager, OP_RANDN, NULL, 0, &a, (SrcLoc){0}, &dg);
    cr_assert(n, "%s", dg.msg);
    return n;
}
static Node *linear(Graph *g, Node *x, Node *w, Node *b) {
    Node *in[3] = {x, w, b};
    return emit(g, OP_LINEAR, in, b ? 3 : 2, A0());
}
static Graph *newg(void) {
    Graph *g = graph_new(&A, "f", false);
    int b = graph_add_symbol(g, "B", 2), s = graph_add_symbol(g, "S", 7);
    B = (Dim){1, 1u << b}; S = (Dim){1, 1u << s};
    return g;
}
static Shape shp3(Dim a, Dim b, Dim c) { Shape s = {3, {a, b, c}}; return s; }

/* ---- the independent memory check ----------------------------------------------- */
static int group_of(const LowerInfo *in, int b) {
    while (b < in->nbufs && in->alias_of[b] >= 0 && in->alias_of[b] != b) b = in->alias_of[b];
    return b;
}

static void check_memory(const Plan *p, const LowerInfo *info, int64_t bv, int64_t sv) {
    int64_t syms[LTC_MAX_SYMS] = {bv, sv};
    int n = p->nbufs;
    int first[256], last[256];
    cr_assert(n < 256);
    for (int i = 0; i < n; i++) { first[i] = 1 << 30; last[i] = -1; }
    /* live from the first to the last step that touches the buffer or any
     * buffer of its alias group */
    for (int s = 0; s < p->nsteps; s++)
        for (int j = 0; j < p->steps[s].nbufs; j++) {
            int g = group_of(info, p->steps[s].bufs[j]);
            if (s < first[g]) first[g] = s;
            if (s > last[g]) last[g] = s;
        }
    int64_t peak = poly_eval(&p->arena_bytes, syms), sum = 0;
    for (int i = 0; i < n; i++) {
        const PlanBuf *a = &p->bufs[i];
        if (a->kind != BUF_ARENA) continue;
        int64_t ao = poly_eval(&a->offset, syms), al = poly_eval(&a->bytes, syms);
        cr_assert(ao % 64 == 0 || group_of(info, i) != i, "b%d offset %lld not aligned", i, (long long)ao);
        cr_assert(ao >= 0 && ao + al <= peak, "b%d [%lld,+%lld) outside peak %lld", i, (long long)ao, (long long)al, (long long)peak);
        if (group_of(info, i) == i) {
            /* the plan aligns every term of a size: the no-reuse bound is the
             * sum of those aligned sizes */
            Poly r = a->bytes;
            for (int t = 0; t < r.n; t++) r.t[t].k = (r.t[t].k + 63) / 64 * 64;
            sum += poly_eval(&r, syms);
        }
        for (int j = i + 1; j < n; j++) {
            const PlanBuf *b = &p->bufs[j];
            if (b->kind != BUF_ARENA) continue;
            int ga = group_of(info, i), gb = group_of(info, j);
            if (ga == gb) continue;
            bool live_both = !(last[ga] < first[gb] || last[gb] < first[ga]);
            if (!live_both) continue;
            int64_t bo = poly_eval(&b->offset, syms), bl = poly_eval(&b->bytes, syms);
            cr_assert(ao + al <= bo || bo + bl <= ao, "B=%lld S=%lld: b%d [%lld,+%lld) and b%d [%lld,+%lld) overlap while live",
                      (long long)bv, (long long)sv, i, (long long)ao, (long long)al, j, (long long)bo, (long long)bl);
        }
    }
    cr_assert(peak <= sum || sum == 0, "peak %lld > sum of sizes %lld", (long long)peak, (long long)sum);
}

static void check_all_sizes(const Plan *p, const LowerInfo *info) {
    static const int64_t sz[][2] = {{1, 1}, {2, 7}, {3, 128}, {17, 5}, {64, 1024}};
    for (int i = 0; i < 5; i++) check_memory(p, info, sz[i][0], sz[i][1]);
}

static int count_kind(const Plan *p, BufKind k) {
    int n = 0;
    for (int i = 0; i < p->nbufs; i++) n += p->bufs[i].kind == k;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */
/* A deep MLP stack with widths that differ: slots must be reused, never
 * while live. */
Test(lower, memory_plan_mlp_stack, .init = setup, .fini = teardown) {
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(16)}}, (SrcLoc){0});
    int widths[] = {64, 16, 48, 16, 128, 16, 32, 16};
    Node *h = x;
    int in = 16;
    for (int l = 0; l < 8; l++) {
        Node *w = param(widths[l], in), *b = param(widths[l], 0);
        Node *y = e1(g, OP_GELU, linear(g, h, w, b));
        if (widths[l] == in) { Node *ab[2] = {y, h}; y = emit(g, OP_ADD, ab, 2, A0()); }
        h = y;
        in = widths[l];
    }
    ir_add_output(g, h);
    FusionReport r = {0};
    cr_assert_eq(passes_run(g, NULL, &r, NULL, &dg), 0, "%s", dg.msg);
    sb_free(&r.text);
    Plan *p; LowerInfo info;
    cr_assert_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
    cr_expect_eq(p->nsteps, 8);                       /* 8 fused linears */
    cr_expect_eq(count_kind(p, BUF_OUTPUT), 1);
    int narena = count_kind(p, BUF_ARENA);
    cr_expect_eq(narena, 7);
    cr_expect(info.nslots < narena, "slots %d, buffers %d: nothing reused", info.nslots, narena);
    check_all_sizes(p, &info);
    StrBuf t = {0};
    SymBind ex = {.vals = {2, 7}, .n = 2};
    plan_print(p, ex, &t);
    cr_expect(strstr(t.s, "peak scratch: ") && strstr(t.s, "formula "), "%s", t.s);
    sb_free(&t);
}

/* Random DAGs of linears/activations/adds over a few widths, with skip
 * connections to older values (long lives), some values also outputs. */
Test(lower, memory_plan_random_dags, .init = setup, .fini = teardown) {
    int widths[3] = {8, 24, 40};
    Node *W[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) W[i][j] = param(widths[j], widths[i]);
    uint64_t st = 12345;
    for (int trial = 0; trial < 60; trial++) {
        Graph *g = newg();
        Node *v[48]; int wv[48], n = 0;
        v[n] = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(8)}}, (SrcLoc){0}); wv[n++] = 0;
        int len = 5 + trial % 30;
        for (int t = 0; t < len && n < 48; t++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(st >> 33);
            int a = (int)(r % (uint32_t)n), to = (int)((r >> 8) % 3);
            Node *y;
            switch ((r >> 12) % 4) {
            case 0: case 1: y = linear(g, v[a], W[wv[a]][to], NULL); wv[n] = to; break;
            case 2: y = e1(g, OP_RELU, v[a]); wv[n] = wv[a]; break;
            default: {
                int b = -1;
                for (int k = 0; k < n; k++) if (wv[k] == wv[a] && k != a && (int)((r >> 16) % 2)) b = k;
                if (b < 0) { y = e1(g, OP_SILU, v[a]); wv[n] = wv[a]; break; }
                Node *ab[2] = {v[a], v[b]};
                y = emit(g, OP_ADD, ab, 2, A0()); wv[n] = wv[a];
            }
            }
            v[n++] = y;
            if ((r >> 20) % 7 == 0) ir_add_output(g, y);
        }
        ir_add_output(g, v[n - 1]);
        if (trial % 2) cr_assert_eq(passes_run(g, NULL, NULL, NULL, &dg), 0, "%s", dg.msg);
        Plan *p; LowerInfo info;
        cr_assert_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
        check_all_sizes(p, &info);
    }
}

/* An MHA block through the passes: head-split qkv (slices are aliases at
 * offsets, the weight cat is prepacked), output permute + reshape copy,
 * pre-LN add_norm with its sum. */
Test(lower, mha_block, .init = setup, .fini = teardown) {
    Graph *g = newg();
    int E = 16;
    Dim H = dim_const(4), Dh = dim_const(4), Ed = dim_const(E);
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, Ed}}, (SrcLoc){0});
    Node *r = ir_input(g, "r", DT_F32, &(Shape){3, {B, S, Ed}}, (SrcLoc){0});
    Node *xr[2] = {x, r};
    Node *s = emit(g, OP_ADD, xr, 2, A0());                  /* residual stream */
    Node *lnin[3] = {s, param(E, 0), param(E, 0)};
    Attr la = A0(); la.eps = 1e-5;
    Node *h = emit(g, OP_LAYER_NORM, lnin, 3, la);
    Node *qkv[3];
    for (int i = 0; i < 3; i++) {
        Node *l = linear(g, h, param(E, E), param(E, 0));
        Attr ra = A0(); ra.shape = (Shape){4, {B, S, H, Dh}};
        Node *rs = emit(g, OP_RESHAPE, &l, 1, ra);
        Attr pa = A0(); pa.perm[0] = 0; pa.perm[1] = 2; pa.perm[2] = 1; pa.perm[3] = 3;
        qkv[i] = emit(g, OP_PERMUTE, &rs, 1, pa);
    }
    Node *at = emit(g, OP_SDPA, qkv, 3, A0());
    Attr pa = A0(); pa.perm[0] = 0; pa.perm[1] = 2; pa.perm[2] = 1; pa.perm[3] = 3;
    Node *t = emit(g, OP_PERMUTE, &at, 1, pa);
    Attr ra = A0(); ra.shape = shp3(B, S, Ed);
    Node *m = emit(g, OP_RESHAPE, &t, 1, ra);
    Node *o = linear(g, m, param(E, E), NULL);
    Node *so[2] = {s, o};
    ir_add_output(g, emit(g, OP_ADD, so, 2, A0()));
    FusionReport rep = {0};
    cr_assert_eq(passes_run(g, NULL, &rep, NULL, &dg), 0, "%s", dg.msg);
    Plan *p; LowerInfo info;
    cr_assert_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
    /* steps: add_norm, qkv_linear, sdpa, permute copy, fused_linear(+res) */
    int seen[OP_COUNT] = {0};
    for (int i = 0; i < p->nsteps; i++) seen[p->kernels[p->steps[i].kernel].node->op]++;
    cr_expect_eq(seen[OP_ADD_NORM], 1, "%s", rep.text.s);
    cr_expect_eq(seen[OP_QKV_LINEAR], 1);
    cr_expect_eq(seen[OP_SDPA], 1);
    cr_expect_eq(seen[OP_SLICE] + seen[OP_RESHAPE], 0);     /* aliases */
    cr_expect_eq(seen[OP_PERMUTE], 1);                      /* [B,H,S,Dh] -> [B,S,H,Dh] copy */
    cr_expect_eq(seen[OP_FUSED_LINEAR], 1);
    cr_expect_eq(p->nsteps, 5);
    /* the weight and bias cats run once, at bind time */
    cr_expect_eq(p->nprepack, 2);
    cr_expect_eq(count_kind(p, BUF_PACKED), 2);
    /* add_norm got the buffer of its sum (read later by the residual) */
    for (int i = 0; i < p->nsteps; i++) {
        const PlanStep *st = &p->steps[i];
        Node *n = p->kernels[st->kernel].node;
        if (n->op == OP_ADD_NORM) cr_expect_eq(st->nbufs, n->nin + 2);
        if (n->op == OP_SDPA) {
            /* q, k, v: three different alias buffers at offsets 0, 1/3, 2/3 of the qkv output */
            int64_t syms[LTC_MAX_SYMS] = {2, 7};
            int64_t o0 = poly_eval(&p->bufs[st->bufs[0]].offset, syms);
            int64_t o1 = poly_eval(&p->bufs[st->bufs[1]].offset, syms);
            int64_t o2 = poly_eval(&p->bufs[st->bufs[2]].offset, syms);
            cr_expect_eq(o1 - o0, 2 * 7 * E * 4);
            cr_expect_eq(o2 - o1, 2 * 7 * E * 4);
        }
    }
    check_all_sizes(p, &info);
    if (getenv("LTC_SHOW")) {
        StrBuf t = {0};
        SymBind ex = {.vals = {2, 7}, .n = 2};
        plan_print(p, ex, &t);
        printf("%s\n%s", rep.text.s, t.s);
        sb_free(&t);
    }
    sb_free(&rep.text);
}

/* Without the qkv pass the permutes feed SDPA as strided views. */
Test(lower, sdpa_reads_permute_views, .init = setup, .fini = teardown) {
    Graph *g = newg();
    Dim H = dim_const(2), D = dim_const(8);
    Node *q = ir_input(g, "q", DT_F32, &(Shape){4, {B, S, H, D}}, (SrcLoc){0});
    Attr pa = A0(); pa.perm[0] = 0; pa.perm[1] = 2; pa.perm[2] = 1; pa.perm[3] = 3;
    Node *qp = emit(g, OP_PERMUTE, &q, 1, pa);
    Node *in[3] = {qp, qp, qp};
    Node *at = emit(g, OP_SDPA, in, 3, A0());
    ir_add_output(g, at);
    Plan *p; LowerInfo info;
    cr_assert_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
    cr_expect_eq(p->nsteps, 1);
    cr_expect_eq(p->bufs[p->steps[0].bufs[0]].kind, BUF_INPUT);
    Dim st[LTC_MAX_RANK];
    cr_assert_eq(lower_input_strides(at, 0, st), 4);
    /* q [B,S,H,D] read as [B,H,S,D]: strides S*H*D, D, H*D, 1 */
    cr_expect(dim_eq(st[0], (Dim){16, S.sym}));
    cr_expect(dim_eq(st[1], dim_const(8)));
    cr_expect(dim_eq(st[2], dim_const(16)));
    cr_expect(dim_eq(st[3], dim_const(1)));
}

/* Outputs that are inputs, duplicates and reshapes get steps/buffers of their own. */
Test(lower, output_claims_and_copies, .init = setup, .fini = teardown) {
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(6)}}, (SrcLoc){0});
    Node *y = e1(g, OP_RELU, x);
    Attr ra = A0(); ra.shape = (Shape){2, {B, (Dim){6, S.sym}}};
    Node *yr = emit(g, OP_RESHAPE, &y, 1, ra);
    ir_add_output(g, yr);          /* relu writes straight into output 0 */
    ir_add_output(g, x);           /* a copy */
    ir_add_output(g, yr);          /* a second copy */
    Plan *p; LowerInfo info;
    cr_assert_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
    cr_expect_eq(p->nsteps, 3);
    cr_expect_eq(count_kind(p, BUF_OUTPUT), 3);
    cr_expect_eq(count_kind(p, BUF_ARENA), 0);
    const PlanStep *s0 = &p->steps[0];
    cr_expect_eq(p->bufs[s0->bufs[s0->nbufs - 1]].kind, BUF_OUTPUT);
    cr_expect_eq(p->bufs[s0->bufs[s0->nbufs - 1]].index, 0);
}

Test(lower, refused_op_is_named, .init = setup, .fini = teardown) {
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(6)}}, (SrcLoc){0});
    Attr ca = A0(); ca.axis = 2;
    ir_add_output(g, e1(g, OP_RELU, emit(g, OP_CUMSUM, &x, 1, ca)));
    fake.refuse = OP_CUMSUM;
    Plan *p;
    cr_expect_eq(plan_build(g, &fake_be, &A, &p, &dg), -1);
    cr_expect(strstr(dg.msg, "cumsum"), "%s", dg.msg);
    fake.refuse = 0;
}

/* plan_build_ex names the refused node and keeps the backend's reason
 * (`run` puts both in its fallback note) */
Test(lower, refused_op_is_reported, .init = setup, .fini = teardown) {
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(6)}}, (SrcLoc){0});
    Attr ca = A0(); ca.axis = 2;
    ir_add_output(g, e1(g, OP_RELU, emit(g, OP_CUMSUM, &x, 1, ca)));
    fake.refuse = OP_CUMSUM;
    Plan *p;
    LowerInfo info;
    cr_expect_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), -1);
    cr_assert(info.refused, "no refused node");
    cr_expect_eq(info.refused->op, OP_CUMSUM);
    cr_expect_str_eq(info.refused_why, "op 'cumsum' is not supported");
    fake.refuse = 0;
    cr_expect_eq(plan_build_ex(g, &fake_be, &A, &p, &info, &dg), 0, "%s", dg.msg);
    cr_expect_null(info.refused);
}

/* 300 residual steps h = h + relu(h) from a parameter: 2^300 paths from the
 * parameter to the output.  Deciding what is a bind-time constant must not
 * walk them (it did: exponential in depth); every step but the output,
 * which is computed on each call, is prepacked. */
Test(lower, deep_residual_stack_is_linear, .init = setup, .fini = teardown, .timeout = 20) {
    Graph *g = graph_new(&A, "f", false);
    Node *h = ir_param_for(g, param(4, 6));
    cr_assert(h);
    for (int i = 0; i < 300; i++) {
        Node *in[2] = {h, e1(g, OP_RELU, h)};
        h = emit(g, OP_ADD, in, 2, A0());
    }
    ir_add_output(g, h);
    Plan *p;
    cr_assert_eq(plan_build(g, &fake_be, &A, &p, &dg), 0, "%s", dg.msg);
    cr_expect_eq(p->nprepack + p->nsteps, 600);
    cr_expect_eq(p->nsteps, 1, "%d steps (only the output's is per call)", p->nsteps);
}

/* ---- the example scripts: traced, rewritten, run, planned ----------------------------- */
#include <dirent.h>
#include <math.h>
#include "frontend/lisp.h"

static bool ends_with(const char *s, const char *t) {
    size_t a = strlen(s), b = strlen(t);
    return a >= b && strcmp(s + a - b, t) == 0;
}

/* Trace the script's last entry call twice, rewrite one copy, and check both
 * compute the same outputs on the example inputs; then plan it. */
static void check_example(const char *path) {
    Arena a;
    arena_init(&a);
    SrcFile f;
    LtcDiag d;
    cr_assert_eq(read_file(&a, path, &f, &d), 0, "%s", d.msg);
    Interp I;
    interp_init(&I, &a, MODE_COMPILE, 0);
    torch_register(&I);
    I.out = NULL;
    if (lisp_eval_file(&I, &f) != 0 || I.ncalls == 0) {
        cr_log_warn("%s: skipped (%s)", path, I.ncalls ? I.diag.msg : "no entry call");
        arena_free(&a);
        return;
    }
    EntryCall *c = &I.calls[I.ncalls - 1];
    Graph *g0, *g1;
    TraceOptions to = {0};
    if (trace_entry(&I, c, "entry", &to, &g0) != 0 || trace_entry(&I, c, "entry", &to, &g1) != 0) {
        cr_log_warn("%s: skipped, trace failed (%s)", path, I.diag.msg);
        arena_free(&a);
        return;
    }
    void *in[16];
    int64_t ish[16][LTC_MAX_RANK];
    int k = 0;
    size_t total = 0;
    for (int i = 0; i < c->nargs && k < 16; i++) {
        Value *v = c->args[i];
        if (v->kind != V_TENSOR) continue;
        cr_assert_eq(ir_force(v->t, &d), 0, "%s", d.msg);
        in[k] = v->t->data;
        for (int j = 0; j < v->t->shape.rank; j++) ish[k][j] = v->t->shape.d[j].k;
        total += shape_numel_eval(&v->t->shape, NULL);
        k++;
    }
    cr_assert_eq(k, g0->ninputs);
    FusionReport rep = {0};
    cr_assert_eq(passes_run(g1, NULL, &rep, NULL, &d), 0, "%s: %s", path, d.msg);
    cr_log_info("%s:\n%s", path, rep.text.s ? rep.text.s : "(nothing to fuse)\n");
    void *o0[16], *o1[16];
    int64_t s0[16][LTC_MAX_RANK], s1[16][LTC_MAX_RANK];
    RunArgs r0 = {.inputs = in, .in_shapes = ish, .outputs = o0, .out_shapes = s0};
    RunArgs r1 = {.inputs = in, .in_shapes = ish, .outputs = o1, .out_shapes = s1};
    cr_assert_eq(ir_run(g0, &r0, &a, &d), 0, "%s: %s", path, d.msg);
    cr_assert_eq(ir_run(g1, &r1, &a, &d), 0, "%s (fused): %s", path, d.msg);
    cr_assert_eq(g0->noutputs, g1->noutputs);
    for (int o = 0; o < g0->noutputs; o++) {
        Node *on = g0->outputs[o];
        int64_t n = 1;
        for (int j = 0; j < on->shape.rank; j++) n *= s0[o][j];
        if (on->dtype != DT_F32) continue;
        for (int64_t e = 0; e < n; e++) {
            float x = ((float *)o0[o])[e], y = ((float *)o1[o])[e];
            cr_assert(fabsf(x - y) <= 1e-5f * fmaxf(1.0f, fmaxf(fabsf(x), fabsf(y))) || (isnan(x) && isnan(y)),
                      "%s output %d [%lld]: %g vs %g", path, o, (long long)e, x, y);
        }
    }
    Plan *p;
    LowerInfo info;
    if (plan_build_ex(g1, &fake_be, &A, &p, &info, &d) != 0) {
        cr_log_warn("%s: no plan: %s", path, d.msg);
    } else {
        check_all_sizes(p, &info);
    }
    (void)total;
    sb_free(&rep.text);
    arena_free(&a);
}

Test(examples, passes_keep_values_and_plan, .init = setup, .fini = teardown, .timeout = 600) {
    DIR *dir = opendir(LTC_SOURCE_DIR "/examples");
    cr_assert(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!ends_with(e->d_name, ".lsp")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/examples/%s", LTC_SOURCE_DIR, e->d_name);
        check_example(path);
    }
    closedir(dir);
}

/* ---- the backend interface seen by the target-neutral lowering --------------------- */
/* A backend without its own lowering: lower_node (codegen/lower_node.c)
 * builds each node's KernelSpec and asks it. */
typedef struct Picky { int asked, tuned; } Picky;
static bool picky_supports(Backend *b, const struct KernelSpec *s, const char **why) {
    Picky *pk = b->self;
    pk->asked++;
    const KernelSpec *ks = (const KernelSpec *)s;
    if (strcmp(ks->family, "eltwise") == 0 && ks->opcode == OP_GELU) { *why = "no gelu here"; return false; }
    return true;
}
static void picky_tune(Backend *b, struct KernelSpec *s) { ((Picky *)b->self)->tuned++; (void)s; }

Test(lower, backend_supports_and_tune_are_asked, .init = setup, .fini = teardown) {
    Picky pk = {0};
    Backend be = {.name = "picky", .self = &pk, .supports = picky_supports, .tune = picky_tune};
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {B, S, dim_const(6)}}, (SrcLoc){0});
    ir_add_output(g, e1(g, OP_RELU, e1(g, OP_EXP, x)));
    Plan *p;
    cr_assert_eq(plan_build(g, &be, &A, &p, &dg), 0, "%s", dg.msg);
    cr_expect_eq(pk.asked, 2);
    cr_expect_eq(pk.tuned, 2);
    cr_expect_eq(p->nkernels, 2);
    cr_expect_str_eq(p->kernels[0].family, "eltwise");
    /* the spec the generator would get: the loop nest merged B*S rows */
    KernelSpec ks;
    kernel_spec(p, 1, &be, &ks);
    cr_expect_eq(ks.opcode, OP_RELU);
    cr_expect_eq(ks.ew.nlead, 1);
    cr_expect(ks.ew.vec[0]);
    cr_expect_eq(pk.tuned, 3);

    /* a refusal names the backend, the op and the backend's reason */
    Graph *g2 = newg();
    Node *y = ir_input(g2, "y", DT_F32, &(Shape){2, {B, dim_const(4)}}, (SrcLoc){0});
    ir_add_output(g2, e1(g2, OP_GELU, y));
    LowerInfo info;
    cr_expect_eq(plan_build_ex(g2, &be, &A, &p, &info, &dg), -1);
    cr_assert(info.refused);
    cr_expect_eq(info.refused->op, OP_GELU);
    cr_expect_str_eq(info.refused_why, "the PICKY backend does not generate gelu: no gelu here");
}

/* a backend that needs more alignment than the memory plan gives is refused */
Test(lower, backend_alignment_checked, .init = setup, .fini = teardown) {
    Picky pk = {0};
    Backend be = {.name = "wide", .self = &pk, .supports = picky_supports, .tune = picky_tune,
                  .buf_align = 2 * PLAN_BUF_ALIGN};
    Graph *g = newg();
    Node *x = ir_input(g, "x", DT_F32, &(Shape){2, {B, dim_const(4)}}, (SrcLoc){0});
    ir_add_output(g, e1(g, OP_RELU, x));
    Plan *p;
    cr_expect_eq(plan_build(g, &be, &A, &p, &dg), -1);
    cr_expect(strstr(dg.msg, "128-byte aligned"), "%s", dg.msg);
    be.buf_align = 16;
    cr_expect_eq(plan_build(g, &be, &A, &p, &dg), 0, "%s", dg.msg);
}
