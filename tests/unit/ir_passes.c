/* ir_passes.c: every pass on small hand-built graphs.  Each test builds
 * the same graph twice over one eager pool of parameters: the first copy is
 * the reference, the second goes through passes_run; both are run by the
 * interpreter on the same random inputs at several (ragged) symbol values
 * and must agree to 1e-5 relative.  The rewritten graph's ops and the
 * fusion report are checked too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/passes/passes.h"

typedef struct Fx {
    Arena A;
    Graph *eager;
    Dim B, S;           /* symbols */
    LtcDiag d;
} Fx;

static Fx fx;

static void setup(void) {
    memset(&fx, 0, sizeof fx);
    arena_init(&fx.A);
    fx.eager = graph_new(&fx.A, "<eager>", true);
    fx.eager->seed = 1234;
}
static void teardown(void) { arena_free(&fx.A); }

static Shape shp(int rank, ...) {
    Shape s = {0};
    va_list ap;
    va_start(ap, rank);
    s.rank = rank;
    for (int i = 0; i < rank; i++) s.d[i] = va_arg(ap, Dim);
    va_end(ap);
    return s;
}
#define C(k) dim_const(k)

/* A parameter: an eager randn node (values fixed by its seed). */
static Node *param(Shape s) {
    Attr a = {0};
    a.shape = s; a.dtype = DT_F32; a.lo = 0; a.hi = 0.5;
    Node *n = ir_emit(fx.eager, OP_RANDN, NULL, 0, &a, (SrcLoc){0}, &fx.d);
    cr_assert(n, "%s", fx.d.msg);
    return n;
}

static Node *emit(Graph *g, Op op, Node **in, int nin, Attr a) {
    Node *n = ir_emit(g, op, in, nin, &a, (SrcLoc){0}, &fx.d);
    cr_assert(n, "emit %s: %s", op_info[op].name, fx.d.msg);
    return n;
}
static Node *e1(Graph *g, Op op, Node *x, Attr a) { return emit(g, op, &x, 1, a); }
static Node *e2(Graph *g, Op op, Node *x, Node *y, Attr a) { Node *in[2] = {x, y}; return emit(g, op, in, 2, a); }
static Attr A0(void) { Attr a; memset(&a, 0, sizeof a); return a; }
static Attr Aperm(int r, ...) {
    Attr a = A0();
    va_list ap; va_start(ap, r);
    for (int i = 0; i < r; i++) a.perm[i] = va_arg(ap, int);
    va_end(ap);
    return a;
}
static Attr Ashape(Shape s) { Attr a = A0(); a.shape = s; return a; }
static Attr Af(double f) { Attr a = A0(); a.f = f; return a; }
static Attr Aaxis(int ax) { Attr a = A0(); a.axis = ax; return a; }

static Node *linear(Graph *g, Node *x, Node *W, Node *b) {
    Node *in[3] = {x, W, b};
    return emit(g, OP_LINEAR, in, b ? 3 : 2, A0());
}

typedef void (*Build)(Graph *g, void *ctx);

static Graph *make(Build f, void *ctx) {
    Graph *g = graph_new(&fx.A, "f", false);
    g->seed = 99;
    int b = graph_add_symbol(g, "B", 2), s = graph_add_symbol(g, "S", 5);
    fx.B = (Dim){1, 1u << b};
    fx.S = (Dim){1, 1u << s};
    f(g, ctx);
    return g;
}

static int count_op(const Graph *g, Op op) {
    int n = 0;
    for (int i = 0; i < g->nnodes; i++) n += g->nodes[i]->op == op;
    return n;
}

/* Deterministic input data: uniform in [-1,1) (bool: keep pattern j <= i + 1). */
static void fill(Node *x, const int64_t *sh, void *buf, size_t n, uint64_t seed) {
    if (x->dtype == DT_BOOL) {
        int64_t cols = sh[x->shape.rank - 1], rows = x->shape.rank >= 2 ? sh[x->shape.rank - 2] : 1;
        for (size_t i = 0; i < n; i++) {
            int64_t c = (int64_t)i % cols, r = ((int64_t)i / cols) % rows;
            ((uint8_t *)buf)[i] = c > r + 1;           /* true = masked (masked_fill) */
        }
        return;
    }
    for (size_t i = 0; i < n; i++) ((float *)buf)[i] = 2.0f * philox_uniform(seed, i) - 1.0f;
}

/* Run ref and opt on the same inputs for symbol values (b, s). */
static void compare_at(Graph *ref, Graph *opt, int64_t bv, int64_t sv) {
    SymBind sb = {.n = ref->nsyms};
    sb.vals[0] = bv; sb.vals[1] = sv;
    int ni = ref->ninputs, no = ref->noutputs;
    cr_assert_eq(opt->ninputs, ni);
    cr_assert_eq(opt->noutputs, no);
    void *in[8]; int64_t ish[8][LTC_MAX_RANK];
    for (int i = 0; i < ni; i++) {
        Node *x = ref->inputs[i];
        shape_eval(&x->shape, &sb, ish[i]);
        size_t n = shape_numel_eval(&x->shape, &sb);
        in[i] = arena_alloc_big(&fx.A, n * dtype_storage_size(x->dtype) + 4);
        fill(x, ish[i], in[i], n, 7 + (uint64_t)i * 31 + (uint64_t)(bv * 1000 + sv));
    }
    void *o1[128], *o2[128]; int64_t s1[128][LTC_MAX_RANK], s2[128][LTC_MAX_RANK];
    cr_assert(no <= 128 && ni <= 8);
    RunArgs r1 = {.inputs = in, .in_shapes = ish, .outputs = o1, .out_shapes = s1};
    RunArgs r2 = {.inputs = in, .in_shapes = ish, .outputs = o2, .out_shapes = s2};
    cr_assert_eq(ir_run(ref, &r1, &fx.A, &fx.d), 0, "ref: %s", fx.d.msg);
    cr_assert_eq(ir_run(opt, &r2, &fx.A, &fx.d), 0, "opt: %s", fx.d.msg);
    for (int k = 0; k < no; k++) {
        Node *o = ref->outputs[k];
        size_t n = shape_numel_eval(&o->shape, &sb);
        cr_assert(memcmp(s1[k], s2[k], sizeof(int64_t) * (size_t)o->shape.rank) == 0, "output %d shape", k);
        for (size_t i = 0; i < n; i++) {
            float a = ((float *)o1[k])[i], b = ((float *)o2[k])[i];
            cr_assert(fabsf(a - b) <= 1e-5f * fmaxf(1.0f, fmaxf(fabsf(a), fabsf(b))) || (isnan(a) && isnan(b)),
                      "B=%lld S=%lld output %d [%zu]: %g vs %g", (long long)bv, (long long)sv, k, i, a, b);
        }
    }
}

/* Build twice, optimise the second copy, compare at ragged sizes. */
static Graph *check(Build f, void *ctx, const PassOptions *o, FusionReport *r) {
    Graph *ref = make(f, ctx), *opt = make(f, ctx);
    StrBuf dump = {0};
    cr_assert_eq(passes_run(opt, o, r, &dump, &fx.d), 0, "%s", fx.d.msg);
    sb_free(&dump);
    static const int64_t sizes[][2] = {{2, 5}, {1, 1}, {3, 7}, {1, 13}};
    for (int i = 0; i < 4; i++) compare_at(ref, opt, sizes[i][0], sizes[i][1]);
    return opt;
}

static bool has(const FusionReport *r, const char *s) { return r->text.s && strstr(r->text.s, s); }

/* ==== simplify ============================================================ */
static void b_simplify(Graph *g, void *ctx) {
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(12)}}, (SrcLoc){0});
    Node *r1 = e1(g, OP_RESHAPE, x, Ashape(shp(4, fx.B, fx.S, C(3), C(4))));
    Node *r2 = e1(g, OP_RESHAPE, r1, Ashape(shp(3, fx.B, fx.S, C(12))));     /* back: identity */
    Node *p1 = e1(g, OP_PERMUTE, r2, Aperm(3, 1, 0, 2));
    Node *p2 = e1(g, OP_PERMUTE, p1, Aperm(3, 2, 1, 0));                       /* composed: [2,0,1] */
    Attr da = A0(); da.p = 0.5; da.training = false;
    Node *dr = e1(g, OP_DROPOUT, p2, da);
    Node *m = e1(g, OP_MUL_SCALAR, dr, Af(1.0));
    ir_add_output(g, e1(g, OP_RELU, m, A0()));
}

Test(simplify, folds_layouts_and_dropout, .init = setup, .fini = teardown) {
    FusionReport r = {0};
    Graph *g = check(b_simplify, NULL, NULL, &r);
    cr_expect_eq(count_op(g, OP_RESHAPE), 0);
    cr_expect_eq(count_op(g, OP_PERMUTE), 1);
    cr_expect_eq(count_op(g, OP_DROPOUT), 0);
    cr_expect_eq(count_op(g, OP_MUL_SCALAR), 0);
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_PERMUTE) {
            cr_expect_eq(g->nodes[i]->a.perm[0], 2);
            cr_expect_eq(g->nodes[i]->a.perm[1], 0);
            cr_expect_eq(g->nodes[i]->a.perm[2], 1);
        }
    sb_free(&r.text);
}

/* ==== attention ============================================================= */
typedef struct AttCfg {
    int scale_kind;     /* 0 none, 1 div_scalar, 2 mul_scalar, 3 mul by a full, 4 mul by an input (not constant) */
    int mask_kind;      /* 0 none, 1 float add, 2 masked_fill -inf, 3 masked_fill -1e9,
                           4 + triu(full(-inf)), 5 masked_fill(triu(full(1)), -1e9): causal */
    int k_layout;       /* 0 k [B,H,S,D] transposed (0,1,3,2); 1 k [B,S,H,D] permute(0,2,3,1) */
    bool share_scores;  /* the scores have a second user (output) */
    bool dropout;       /* training dropout on the weights */
} AttCfg;

static void b_attention(Graph *g, void *ctx) {
    const AttCfg *c = ctx;
    Dim H = C(2), D = C(8);
    Node *q = ir_input(g, "q", DT_F32, &(Shape){4, {fx.B, H, fx.S, D}}, (SrcLoc){0});
    Node *k = c->k_layout == 0 ? ir_input(g, "k", DT_F32, &(Shape){4, {fx.B, H, fx.S, D}}, (SrcLoc){0})
                               : ir_input(g, "k", DT_F32, &(Shape){4, {fx.B, fx.S, H, D}}, (SrcLoc){0});
    Node *v = ir_input(g, "v", DT_F32, &(Shape){4, {fx.B, H, fx.S, D}}, (SrcLoc){0});
    Node *kt = c->k_layout == 0 ? e1(g, OP_PERMUTE, k, Aperm(4, 0, 1, 3, 2)) : e1(g, OP_PERMUTE, k, Aperm(4, 0, 2, 3, 1));
    Node *s = e2(g, OP_MATMUL, q, kt, A0());
    Node *s0 = s;
    switch (c->scale_kind) {
    case 1: s = e1(g, OP_DIV_SCALAR, s, Af(sqrt(8.0))); break;
    case 2: s = e1(g, OP_MUL_SCALAR, s, Af(0.25)); break;
    case 3: { Attr fa = A0(); fa.shape = shp(0); fa.dtype = DT_F32; fa.f = 0.3;
              s = e2(g, OP_MUL, s, emit(g, OP_FULL, NULL, 0, fa), A0()); break; }
    case 4: { Node *sc = ir_input(g, "sc", DT_F32, &(Shape){0}, (SrcLoc){0});
              s = e2(g, OP_MUL, s, sc, A0()); break; }
    }
    if (c->mask_kind >= 4) {
        Attr fa = A0(); fa.shape = shp(2, fx.S, fx.S); fa.dtype = DT_F32; fa.f = c->mask_kind == 4 ? -INFINITY : 1.0;
        Attr ta = A0(); ta.i = 1;
        Node *m = e1(g, OP_TRIU, emit(g, OP_FULL, NULL, 0, fa), ta);
        s = c->mask_kind == 4 ? e2(g, OP_ADD, s, m, A0()) : e2(g, OP_MASKED_FILL, s, m, Af(-1e9));
    } else if (c->mask_kind == 1) {
        Node *m = ir_input(g, "mask", DT_F32, &(Shape){2, {fx.S, fx.S}}, (SrcLoc){0});
        s = e2(g, OP_ADD, m, s, A0());
    } else if (c->mask_kind >= 2) {
        Node *m = ir_input(g, "mask", DT_BOOL, &(Shape){2, {fx.S, fx.S}}, (SrcLoc){0});
        s = e2(g, OP_MASKED_FILL, s, m, Af(c->mask_kind == 2 ? -INFINITY : -1e9));
    }
    Node *p = e1(g, OP_SOFTMAX, s, Aaxis(3));
    if (c->dropout) { Attr da = A0(); da.p = 0.3; da.training = true; da.seed = 77; p = e1(g, OP_DROPOUT, p, da); }
    Node *o = e2(g, OP_MATMUL, p, v, A0());
    ir_add_output(g, o);
    if (c->share_scores) ir_add_output(g, s0);
}

static Graph *att(AttCfg c, FusionReport *r) { return check(b_attention, &c, NULL, r); }

Test(attention, forms_fuse_to_sdpa, .init = setup, .fini = teardown) {
    for (int sk = 0; sk <= 3; sk++)
        for (int mk = 0; mk <= 5; mk++)
            for (int kl = 0; kl <= 1; kl++) {
                FusionReport r = {0};
                Graph *g = att((AttCfg){sk, mk, kl, false, (sk + mk + kl) % 2 == 1}, &r);
                cr_expect_eq(count_op(g, OP_SDPA), 1, "scale %d mask %d k %d:\n%s", sk, mk, kl, r.text.s);
                cr_expect_eq(count_op(g, OP_SOFTMAX), 0);
                cr_expect_eq(count_op(g, OP_DROPOUT), 0);
                cr_expect_eq(count_op(g, OP_MATMUL), 0);
                cr_expect(has(&r, "-> sdpa"));
                if (mk >= 4) {
                    cr_expect(has(&r, ", causal"), "%s", r.text.s);
                    cr_expect_eq(count_op(g, OP_TRIU) + count_op(g, OP_FULL), 0);
                }
                sb_free(&r.text);
            }
}

Test(attention, scale_value, .init = setup, .fini = teardown) {
    FusionReport r = {0};
    Graph *g = att((AttCfg){1, 0, 0, false, false}, &r);
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_SDPA) cr_expect_float_eq(g->nodes[i]->a.scale, 1 / sqrt(8.0), 1e-12);
    cr_expect(has(&r, "attention: matmul %"), "%s", r.text.s);
    sb_free(&r.text);
}

Test(attention, not_fused_reasons, .init = setup, .fini = teardown) {
    FusionReport r = {0};
    Graph *g = att((AttCfg){4, 0, 0, false, false}, &r);
    cr_expect_eq(count_op(g, OP_SDPA), 0);
    cr_expect(has(&r, "scale is not a constant"), "%s", r.text.s);
    sb_free(&r.text);
    memset(&r, 0, sizeof r);
    g = att((AttCfg){0, 0, 0, true, false}, &r);
    cr_expect_eq(count_op(g, OP_SDPA), 0);
    cr_expect(has(&r, "matmul %") && has(&r, "has 2 users"), "%s", r.text.s);
    sb_free(&r.text);
}

/* ==== qkv ===================================================================== */
typedef struct MhaCfg {
    int form;           /* 0 three linears, 1 one wide linear sliced (GPT-2), 2 cross attention */
    bool bias;
} MhaCfg;

/* [B,S,E] -> [B,H,S,Dh] */
static Node *heads(Graph *g, Node *t, Dim H, Dim Dh) {
    Node *r = e1(g, OP_RESHAPE, t, Ashape(shp(4, fx.B, fx.S, H, Dh)));
    return e1(g, OP_PERMUTE, r, Aperm(4, 0, 2, 1, 3));
}

static Node *Wq, *Wk, *Wv, *Wo, *bq, *bk, *bv, *Wqkv, *bqkv;

static void b_mha(Graph *g, void *ctx) {
    const MhaCfg *c = ctx;
    int E = 16;
    Dim H = C(4), Dh = C(4);
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(E)}}, (SrcLoc){0});
    Node *q, *k, *v;
    if (c->form == 1) {
        Node *qkv = linear(g, x, Wqkv, c->bias ? bqkv : NULL);
        Node *part[3];
        for (int p = 0; p < 3; p++) {
            Attr sa = A0(); sa.axis = 2; sa.start = C(p * E); sa.end = C((p + 1) * E); sa.step = 1;
            part[p] = e1(g, OP_SLICE, qkv, sa);
        }
        q = heads(g, part[0], H, Dh); k = heads(g, part[1], H, Dh); v = heads(g, part[2], H, Dh);
    } else {
        Node *y = c->form == 2 ? ir_input(g, "y", DT_F32, &(Shape){3, {fx.B, fx.S, C(E)}}, (SrcLoc){0}) : x;
        q = heads(g, linear(g, x, Wq, c->bias ? bq : NULL), H, Dh);
        k = heads(g, linear(g, y, Wk, c->bias ? bk : NULL), H, Dh);
        v = heads(g, linear(g, y, Wv, c->bias ? bv : NULL), H, Dh);
    }
    Node *in[3] = {q, k, v};
    Node *a = emit(g, OP_SDPA, in, 3, A0());
    Node *t = e1(g, OP_PERMUTE, a, Aperm(4, 0, 2, 1, 3));
    Node *m = e1(g, OP_RESHAPE, t, Ashape(shp(3, fx.B, fx.S, C(E))));
    ir_add_output(g, linear(g, m, Wo, NULL));
}

static void mha_params(void) {
    Wq = param(shp(2, C(16), C(16))); Wk = param(shp(2, C(16), C(16))); Wv = param(shp(2, C(16), C(16)));
    Wo = param(shp(2, C(16), C(16)));
    bq = param(shp(1, C(16))); bk = param(shp(1, C(16))); bv = param(shp(1, C(16)));
    Wqkv = param(shp(2, C(48), C(16))); bqkv = param(shp(1, C(48)));
}

Test(qkv, three_linears_head_split, .init = setup, .fini = teardown) {
    mha_params();
    for (int bias = 0; bias <= 1; bias++) {
        FusionReport r = {0};
        MhaCfg c = {0, bias};
        Graph *g = check(b_mha, &c, NULL, &r);
        cr_expect_eq(count_op(g, OP_QKV_LINEAR), 1, "%s", r.text.s);
        cr_expect_eq(count_op(g, OP_CAT), bias ? 2 : 1);
        cr_expect_eq(count_op(g, OP_LINEAR), 1);            /* the out projection */
        cr_expect(has(&r, "qkv: linears %"), "%s", r.text.s);
        sb_free(&r.text);
    }
}

Test(qkv, wide_linear_sliced, .init = setup, .fini = teardown) {
    mha_params();
    FusionReport r = {0};
    MhaCfg c = {1, true};
    Graph *g = check(b_mha, &c, NULL, &r);
    cr_expect_eq(count_op(g, OP_QKV_LINEAR), 1, "%s", r.text.s);
    cr_expect_eq(count_op(g, OP_CAT), 0);
    cr_expect(has(&r, "sliced in 3 -> qkv_linear"), "%s", r.text.s);
    sb_free(&r.text);
}

Test(qkv, cross_attention_reports, .init = setup, .fini = teardown) {
    mha_params();
    FusionReport r = {0};
    MhaCfg c = {2, true};
    Graph *g = check(b_mha, &c, NULL, &r);
    cr_expect_eq(count_op(g, OP_QKV_LINEAR), 1);     /* k and v share y */
    cr_expect(has(&r, "read different inputs"), "%s", r.text.s);
    sb_free(&r.text);
}

static void b_swiglu(Graph *g, void *ctx) {
    Node **w = ctx;
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(8)}}, (SrcLoc){0});
    Node *gate = e1(g, OP_SILU, linear(g, x, w[0], NULL), A0());
    Node *up = linear(g, x, w[1], NULL);
    ir_add_output(g, linear(g, e2(g, OP_MUL, gate, up, A0()), w[2], NULL));
}

/* Two plain linears on one x, both outputs of the graph. */
static void b_two_linears(Graph *g, void *ctx) {
    Node **w = ctx;
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(8)}}, (SrcLoc){0});
    ir_add_output(g, linear(g, x, w[0], NULL));
    ir_add_output(g, e1(g, OP_NEG, linear(g, x, w[1], NULL), A0()));
}

Test(qkv, concatenated_with_slices, .init = setup, .fini = teardown) {
    Node *w[2] = {param(shp(2, C(12), C(8))), param(shp(2, C(5), C(8)))};
    FusionReport r = {0};
    Graph *g = check(b_two_linears, w, NULL, &r);
    cr_expect_eq(count_op(g, OP_SLICE), 2, "%s", r.text.s);
    cr_expect_eq(count_op(g, OP_CAT), 1);
    cr_expect(has(&r, "one linear on concatenated weights + 2 slices"), "%s", r.text.s);
    sb_free(&r.text);
}

/* SwiGLU: the gate keeps its own GEMM (its silu is an epilogue), and the
 * product with the up projection folds into it as a residual multiply:
 * two GEMMs, no slice, no element-wise kernel. */
Test(qkv, swiglu_in_epilogues, .init = setup, .fini = teardown) {
    Node *w[3] = {param(shp(2, C(12), C(8))), param(shp(2, C(12), C(8))), param(shp(2, C(8), C(12)))};
    FusionReport r = {0};
    Graph *g = check(b_swiglu, w, NULL, &r);
    cr_expect_eq(count_op(g, OP_SLICE) + count_op(g, OP_CAT) + count_op(g, OP_SILU) + count_op(g, OP_MUL), 0,
                 "%s", r.text.s);
    cr_expect_eq(count_op(g, OP_FUSED_LINEAR), 1);
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i]->op == OP_FUSED_LINEAR) {
            cr_expect_eq(g->nodes[i]->a.act, (int)OP_SILU);
            cr_expect_eq(g->nodes[i]->a.flags, LINEAR_RES | LINEAR_RES_MUL);
        }
    cr_expect(has(&r, "keeps its own GEMM, for its silu epilogue"), "%s", r.text.s);
    cr_expect(has(&r, "residual multiply"), "%s", r.text.s);
    sb_free(&r.text);
}

/* ==== epilogue ================================================================= */
typedef struct EpiCfg { Op act; bool hand_bias; int residual; bool extra_user; } EpiCfg;   /* residual: 1 add, 2 mul */
static Node *eW, *eb;

static void b_epi(Graph *g, void *ctx) {
    const EpiCfg *c = ctx;
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(6)}}, (SrcLoc){0});
    Node *y = linear(g, x, eW, c->hand_bias ? NULL : eb);
    if (c->extra_user) ir_add_output(g, y);
    if (c->hand_bias) y = e2(g, OP_ADD, eb, y, A0());
    if (c->act) y = e1(g, c->act, y, A0());
    if (c->residual) {
        Node *r = ir_input(g, "r", DT_F32, &(Shape){3, {fx.B, fx.S, C(10)}}, (SrcLoc){0});
        y = c->residual == 2 ? e2(g, OP_MUL, r, y, A0()) : e2(g, OP_ADD, y, r, A0());
    }
    ir_add_output(g, y);
}

Test(epilogue, fused_linear_forms, .init = setup, .fini = teardown) {
    eW = param(shp(2, C(10), C(6)));
    eb = param(shp(1, C(10)));
    Op acts[] = {0, OP_RELU, OP_GELU, OP_SILU, OP_SIGMOID, OP_TANH};
    for (int a = 0; a < 6; a++)
        for (int hb = 0; hb <= 1; hb++)
            for (int res = 0; res <= 2; res++) {
                if (!acts[a] && !hb && !res) continue;
                FusionReport r = {0};
                EpiCfg c = {acts[a], hb, res, false};
                Graph *g = check(b_epi, &c, NULL, &r);
                cr_expect_eq(count_op(g, OP_FUSED_LINEAR), 1, "act %d hb %d res %d\n%s", a, hb, res, r.text.s);
                cr_expect_eq(count_op(g, OP_LINEAR) + count_op(g, OP_ADD) + count_op(g, OP_MUL), 0);
                for (int i = 0; i < g->nnodes; i++)
                    if (g->nodes[i]->op == OP_FUSED_LINEAR) {
                        cr_expect_eq(g->nodes[i]->a.act, (int)acts[a]);
                        cr_expect_eq(g->nodes[i]->a.flags,
                                     LINEAR_BIAS | (res ? LINEAR_RES : 0) | (res == 2 ? LINEAR_RES_MUL : 0));
                    }
                sb_free(&r.text);
            }
}

Test(epilogue, not_fused_when_shared, .init = setup, .fini = teardown) {
    eW = param(shp(2, C(10), C(6)));
    eb = param(shp(1, C(10)));
    FusionReport r = {0};
    EpiCfg c = {OP_RELU, true, false, true};
    Graph *g = check(b_epi, &c, NULL, &r);
    cr_expect_eq(count_op(g, OP_FUSED_LINEAR), 0);
    cr_expect(has(&r, "bias add not fused: %") && has(&r, "has 2 users"), "%s", r.text.s);
    sb_free(&r.text);
}

/* ==== addnorm =================================================================== */
typedef struct NormCfg { Op norm; bool pre_ln; int nw; } NormCfg;
static Node *nW, *nB, *fW;

static void b_norm(Graph *g, void *ctx) {
    const NormCfg *c = ctx;
    Node *x = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(12)}}, (SrcLoc){0});
    Node *y = ir_input(g, "y", DT_F32, &(Shape){3, {fx.B, fx.S, C(12)}}, (SrcLoc){0});
    Node *s = e2(g, OP_ADD, x, y, A0());
    Node *in[3] = {s, nW, nB};
    Attr na = A0(); na.eps = 1e-5;
    Node *h = emit(g, c->norm, in, 1 + c->nw, na);
    if (c->pre_ln) {
        Node *f = e1(g, OP_RELU, e2(g, OP_MUL, h, h, A0()), A0());   /* not a linear: keeps the ADD */
        ir_add_output(g, e2(g, OP_ADD, s, f, A0()));
        ir_add_output(g, linear(g, h, fW, NULL));
    } else {
        ir_add_output(g, h);
    }
}

Test(addnorm, post_and_pre_ln, .init = setup, .fini = teardown) {
    nW = param(shp(1, C(12))); nB = param(shp(1, C(12))); fW = param(shp(2, C(5), C(12)));
    Op norms[2] = {OP_LAYER_NORM, OP_RMS_NORM};
    for (int k = 0; k < 2; k++)
        for (int pre = 0; pre <= 1; pre++)
            for (int nw = 0; nw <= (k == 0 ? 2 : 1); nw++) {
                FusionReport r = {0};
                NormCfg c = {norms[k], pre, nw};
                Graph *g = check(b_norm, &c, NULL, &r);
                cr_expect_eq(count_op(g, OP_ADD_NORM), 1, "%s", r.text.s);
                cr_expect_eq(count_op(g, norms[k]), 0);
                cr_expect_eq(count_op(g, OP_ADD_NORM_SUM), pre ? 1 : 0);
                if (pre) cr_expect(has(&r, "sum kept"), "%s", r.text.s);
                sb_free(&r.text);
            }
}

/* ==== pipeline ================================================================== */
Test(pipeline, no_fuse_and_dump, .init = setup, .fini = teardown) {
    mha_params();
    MhaCfg c = {0, true};
    PassOptions o = {0};
    o.no_fuse[o.nno_fuse++] = "qkv";
    o.dump_after = "attention";
    FusionReport r = {0};
    Graph *g = check(b_mha, &c, &o, &r);
    cr_expect_eq(count_op(g, OP_QKV_LINEAR), 0);
    cr_expect(has(&r, "qkv: disabled by --no-fuse"), "%s", r.text.s);
    StrBuf pr = {0};
    fusion_report_print(&r, "f", &pr);
    char head[128];
    snprintf(head, sizeof head, "; fusion report for f: %d fused, %d not fused\n", r.nfused, r.nmissed);
    cr_expect(strncmp(pr.s, head, strlen(head)) == 0, "%s", pr.s);
    sb_free(&pr);
    sb_free(&r.text);

    Graph *h = make(b_mha, &c);
    StrBuf dump = {0};
    cr_expect_eq(passes_run(h, &o, NULL, &dump, &fx.d), 0);
    cr_expect(dump.s && strstr(dump.s, "IR after attention"));
    sb_free(&dump);

    PassOptions bad = {0};
    bad.no_fuse[bad.nno_fuse++] = "nosuch";
    cr_expect_eq(passes_run(h, &bad, NULL, NULL, &fx.d), -1);
    cr_expect(strstr(fx.d.msg, "nosuch"));
    bad.nno_fuse = 0; bad.dump_after = "nosuch";
    cr_expect_eq(passes_run(h, &bad, NULL, NULL, &fx.d), -1);
}

Test(debug, print, .init = setup, .fini = teardown, .disabled = true) {
    mha_params();
    MhaCfg c = {0, true};
    PassOptions o = {0};
    o.dump_after = "addnorm";
    o.verbose = true;
    FusionReport r = {0};
    Graph *h = make(b_mha, &c);
    StrBuf dump = {0};
    ir_print(h, &dump);
    cr_expect_eq(passes_run(h, &o, &r, &dump, &fx.d), 0);
    printf("%s\n", dump.s);
    sb_free(&dump);
}

/* ==== dce and rank-2 head split ========================================================= */
static Node *dW[3];
static void b_dead(Graph *g, void *ctx) {
    Node *x = ir_input(g, "x", DT_F32, &(Shape){2, {fx.S, C(8)}}, (SrcLoc){0});
    Node *unused = linear(g, x, dW[2], NULL);              /* dead, with its own param */
    (void)unused;
    Node *q = e1(g, OP_PERMUTE, e1(g, OP_RESHAPE, linear(g, x, dW[0], NULL), Ashape(shp(3, fx.S, C(2), C(4)))),
                 Aperm(3, 1, 0, 2));
    Node *k = e1(g, OP_PERMUTE, e1(g, OP_RESHAPE, linear(g, x, dW[1], NULL), Ashape(shp(3, fx.S, C(2), C(4)))),
                 Aperm(3, 1, 0, 2));
    Node *in[3] = {q, k, k};
    ir_add_output(g, emit(g, OP_SDPA, in, 3, A0()));
}

Test(dce, sweeps_dead_nodes_and_params, .init = setup, .fini = teardown) {
    dW[0] = param(shp(2, C(8), C(8))); dW[1] = param(shp(2, C(8), C(8))); dW[2] = param(shp(2, C(5), C(8)));
    FusionReport r = {0};
    Graph *g = check(b_dead, NULL, NULL, &r);
    for (int i = 0; i < g->nparams; i++) cr_expect_neq(g->params[i]->origin, dW[2]);
    cr_expect_eq(g->nparams, 2);
    for (int i = 0; i < g->nnodes; i++) cr_expect_eq(g->nodes[i]->id, i);
    /* [S,8] -> qkv_linear [2,2,S,4] for the two projections of x */
    cr_expect_eq(count_op(g, OP_QKV_LINEAR), 1, "%s", r.text.s);
    sb_free(&r.text);
}

/* ==== random graphs ======================================================================= */
/* Random blocks over [B,S,8] values, with random sharing (values read by
 * several ops, some of them outputs), so every pass meets candidates it
 * must fuse and candidates it must refuse.  The rewritten graph must
 * compute the same outputs. */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}
static Node *fzW[8], *fzb[8], *fzn[2];

static void b_random(Graph *g, void *ctx) {
    uint64_t seed = *(uint64_t *)ctx;
    rng_state = seed;
    Node *v[64];
    int n = 0;
    v[n++] = ir_input(g, "x", DT_F32, &(Shape){3, {fx.B, fx.S, C(8)}}, (SrcLoc){0});
    v[n++] = ir_input(g, "y", DT_F32, &(Shape){3, {fx.B, fx.S, C(8)}}, (SrcLoc){0});
    int steps = 4 + (int)rnd(10);
    for (int t = 0; t < steps && n < 60; t++) {
        Node *x = v[rnd((uint32_t)n)], *y = v[rnd((uint32_t)n)];
        switch (rnd(8)) {
        case 0: v[n++] = linear(g, x, fzW[rnd(8)], rnd(2) ? fzb[rnd(8)] : NULL); break;
        case 1: v[n++] = e2(g, OP_ADD, x, y, A0()); break;
        case 2: v[n++] = e2(g, OP_ADD, x, fzb[rnd(8)], A0()); break;
        case 3: { Op acts[] = {OP_RELU, OP_GELU, OP_SILU, OP_TANH}; v[n++] = e1(g, acts[rnd(4)], x, A0()); break; }
        case 4: { Node *in[3] = {x, fzn[0], fzn[1]}; Attr a = A0(); a.eps = 1e-5;
                  v[n++] = emit(g, rnd(2) ? OP_LAYER_NORM : OP_RMS_NORM, in, 1 + (int)rnd(2), a); break; }
        case 5: { Node *r = e1(g, OP_RESHAPE, x, Ashape(shp(4, fx.B, fx.S, C(2), C(4))));
                  v[n++] = e1(g, OP_RESHAPE, rnd(2) ? e1(g, OP_RELU, r, A0()) : r, Ashape(shp(3, fx.B, fx.S, C(8)))); break; }
        case 6: case 7: {    /* attention, hand-written or not, projections maybe shared */
            Node *h[3];
            for (int i = 0; i < 3; i++) {
                Node *src = rnd(3) ? x : y;
                Node *l = rnd(4) ? linear(g, src, fzW[rnd(8)], rnd(2) ? fzb[rnd(8)] : NULL) : src;
                h[i] = e1(g, OP_PERMUTE, e1(g, OP_RESHAPE, l, Ashape(shp(4, fx.B, fx.S, C(2), C(4)))), Aperm(4, 0, 2, 1, 3));
                if (rnd(5) == 0) { Node *o = h[i]; ir_add_output(g, o); }
            }
            Node *a;
            if (rnd(2)) {
                Node *s = e2(g, OP_MATMUL, h[0], e1(g, OP_PERMUTE, h[1], Aperm(4, 0, 1, 3, 2)), A0());
                if (rnd(2)) s = e1(g, OP_MUL_SCALAR, s, Af(0.5));
                if (rnd(4) == 0) ir_add_output(g, s);
                a = e2(g, OP_MATMUL, e1(g, OP_SOFTMAX, s, Aaxis(3)), h[2], A0());
            } else {
                a = emit(g, OP_SDPA, h, 3, A0());
            }
            v[n++] = e1(g, OP_RESHAPE, e1(g, OP_PERMUTE, a, Aperm(4, 0, 2, 1, 3)), Ashape(shp(3, fx.B, fx.S, C(8))));
            break;
        }
        }
        if (rnd(6) == 0) ir_add_output(g, v[n - 1]);
    }
    ir_add_output(g, v[n - 1]);
}

Test(random, graphs_keep_their_values, .init = setup, .fini = teardown, .timeout = 300) {
    for (int i = 0; i < 8; i++) { fzW[i] = param(shp(2, C(8), C(8))); fzb[i] = param(shp(1, C(8))); }
    fzn[0] = param(shp(1, C(8))); fzn[1] = param(shp(1, C(8)));
    int fused = 0;
    for (uint64_t s = 1; s <= 300; s++) {
        FusionReport r = {0};
        check(b_random, &s, NULL, &r);
        fused += r.nfused;
        sb_free(&r.text);
    }
    cr_expect(fused > 100, "only %d fusions in 300 random graphs", fused);
}

/* --dtype (pass dtype): every f32 tensor in bf16, i64/bool kept, a PARAM's
 * origin an eager cast shared by every graph, idempotent; the interpreter
 * on the converted graph rounds its result to bf16. */
Test(dtype, every_f32_tensor_in_bf16, .init = setup, .fini = teardown) {
    Node *W = param(shp(2, C(8), C(5)));
    Graph *gs[2];
    for (int k = 0; k < 2; k++) {
        Graph *g = gs[k] = graph_new(&fx.A, "f", false);
        Node *x = ir_input(g, "x", DT_F32, &(Shape){2, {C(3), C(5)}}, (SrcLoc){0});
        Node *ids = ir_input(g, "ids", DT_I64, &(Shape){1, {C(3)}}, (SrcLoc){0});
        Node *y = e1(g, OP_RELU, linear(g, x, W, NULL), A0());
        ir_add_output(g, y);
        ir_add_output(g, ids);
        cr_assert_eq(pass_to_dtype(g, DT_BF16, &fx.d), 0, "%s", fx.d.msg);
        cr_assert_eq(pass_to_dtype(g, DT_BF16, &fx.d), 0, "%s", fx.d.msg);   /* idempotent */
        for (int i = 0; i < g->nnodes; i++) {
            Node *n = g->nodes[i];
            cr_assert(n->dtype == (n == ids ? DT_I64 : DT_BF16), "%%%d %s is %s", n->id, op_info[n->op].name,
                      dtype_name(n->dtype));
        }
        cr_assert_eq(g->nparams, 1);
        Node *o = g->params[0]->origin;
        cr_assert(o->op == OP_CAST && o->dtype == DT_BF16 && o->in[0] == W);
    }
    cr_assert_eq(gs[0]->params[0]->origin, gs[1]->params[0]->origin, "one eager cast per origin");
    /* the interpreter's values are bf16 numbers */
    float xv[15];
    for (int i = 0; i < 15; i++) xv[i] = round_to_dtype(DT_BF16, 0.1f * (float)i - 0.7f);
    int64_t idv[3] = {0, 1, 2};
    void *ins[2] = {xv, idv}, *outs[2];
    int64_t ish[2][LTC_MAX_RANK] = {{3, 5}, {3}}, osh[2][LTC_MAX_RANK];
    RunArgs ra = {.inputs = ins, .in_shapes = ish, .outputs = outs, .out_shapes = osh};
    cr_assert_eq(ir_run(gs[0], &ra, &fx.A, &fx.d), 0, "%s", fx.d.msg);
    for (int i = 0; i < 24; i++) {
        float v = ((float *)outs[0])[i];
        cr_assert_eq(v, round_to_dtype(DT_BF16, v));
    }
    PassOptions po = {0};
    po.dtype = DT_F16;
    Graph *g = graph_new(&fx.A, "h", false);
    Node *x = ir_input(g, "x", DT_F32, &(Shape){1, {C(4)}}, (SrcLoc){0});
    ir_add_output(g, e1(g, OP_EXP, x, A0()));
    cr_assert_eq(passes_run(g, &po, NULL, NULL, &fx.d), 0, "%s", fx.d.msg);
    cr_assert_eq(g->outputs[0]->dtype, DT_F16);
}
