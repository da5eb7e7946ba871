/* cpu_plan_gqa.c: grouped- and multi-query attention (item 7 of issue 6).
 * The reference is the interpreter on K and V repeated explicitly
 * (repeat_interleave along dim -3 = reshape, expand, reshape, as PyTorch's
 * enable_gqa defines it) into a plain sdpa; the compiled graph is either
 * the same (the gqa pass must turn it into an sdpa head group) or an sdpa
 * with the head group given (enable_gqa).  Compared at sizes other than
 * the traced one; the plan must hold no copy of K or V. */
#include "tests/unit/plan_harness.h"

TestSuite(cpu_plan_gqa, .init = ph_setup, .fini = ph_teardown, .timeout = 300);

typedef struct GqaCase {
    int hq, hkv, d;
    bool explicit_cmp;       /* compiled graph repeats K/V explicitly too */
    bool causal, mask, dropout;
} GqaCase;

static Node *heads(Graph *g, Node *x, int B, int S, int h, int d) {
    Shape s = {.rank = 4, .d = {{1, 1u << B}, {1, 1u << S}, {h, 0}, {d, 0}}};
    Node *r = ph_emit(g, OP_RESHAPE, &x, 1, &(Attr){.shape = s});
    return ph_emit(g, OP_PERMUTE, &r, 1, &(Attr){.perm = {0, 2, 1, 3}});
}

/* repeat_interleave(x [B,H,S,D], G, dim 1) */
static Node *repeat_heads(Graph *g, Node *x, int B, int S, int h, int G, int d) {
    Shape u = {.rank = 5, .d = {{1, 1u << B}, {h, 0}, {1, 0}, {1, 1u << S}, {d, 0}}};
    Shape e = u, r = {.rank = 4, .d = {{1, 1u << B}, {h * G, 0}, {1, 1u << S}, {d, 0}}};
    e.d[2] = dim_const(G);
    Node *a = ph_emit(g, OP_RESHAPE, &x, 1, &(Attr){.shape = u});
    Node *b = ph_emit(g, OP_EXPAND, &a, 1, &(Attr){.shape = e});
    return ph_emit(g, OP_RESHAPE, &b, 1, &(Attr){.shape = r});
}

static void build(Graph *g, void *ctx) {
    const GqaCase *c = ctx;
    bool expl = g == ph.ref || c->explicit_cmp;
    int G = c->hq / c->hkv;
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 5);
    Shape qs = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {c->hq * c->d, 0}}};
    Shape ks = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {c->hkv * c->d, 0}}};
    Node *xq = ir_input(g, "q", DT_F32, &qs, (SrcLoc){0});
    Node *xk = ir_input(g, "k", DT_F32, &ks, (SrcLoc){0});
    Node *xv = ir_input(g, "v", DT_F32, &ks, (SrcLoc){0});
    Node *m = NULL;
    if (c->mask) {
        Shape ms = {.rank = 4, .d = {{1, 1u << B}, {1, 0}, {1, 0}, {1, 1u << S}}};   /* key padding */
        m = ir_input(g, "mask", DT_BOOL, &ms, (SrcLoc){0});
    }
    cr_assert(xq && xk && xv);
    Node *q = heads(g, xq, B, S, c->hq, c->d), *k = heads(g, xk, B, S, c->hkv, c->d), *v = heads(g, xv, B, S, c->hkv, c->d);
    if (expl) {
        k = repeat_heads(g, k, B, S, c->hkv, G, c->d);
        v = repeat_heads(g, v, B, S, c->hkv, G, c->d);
    }
    Attr a = {.causal = c->causal, .i = expl ? 0 : G};
    if (c->dropout) { a.training = true; a.p = 0.25; a.seed = 0x9a; }
    Node *o = ph_emit(g, OP_SDPA, (Node *[]){q, k, v, m}, m ? 4 : 3, &a);
    ir_add_output(g, o);
}

static void check(GqaCase c) {
    Plan *p = ph_compile(build, &c);
    int nflash = 0;
    for (int i = 0; i < p->nkernels; i++) {
        cr_assert(strcmp(p->kernels[i].family, "copy") != 0, "the plan copies a tensor:\n%s", ph_plan_text());
        nflash += strcmp(p->kernels[i].family, "flash_attention") == 0;
    }
    cr_assert_eq(nflash, 1, "%s", ph_plan_text());
    cr_assert_eq(p->nkernels, 1, "the plan has more than the flash kernel:\n%s", ph_plan_text());
    int64_t sizes[][2] = {{1, 3}, {3, 17}, {2, 70}};
    for (int i = 0; i < 3; i++) ph_compare_at(sizes[i], 2, 1e-4);
}

Test(cpu_plan_gqa, pass_turns_repeats_into_a_head_group) { check((GqaCase){8, 2, 32, true, false, false, false}); }
Test(cpu_plan_gqa, enable_gqa_head_group) { check((GqaCase){8, 2, 32, false, false, false, false}); }
Test(cpu_plan_gqa, multi_query) { check((GqaCase){6, 1, 16, true, false, false, false}); }
Test(cpu_plan_gqa, causal_ragged_head_dim) { check((GqaCase){4, 2, 24, true, .causal = true}); }
Test(cpu_plan_gqa, bool_mask) { check((GqaCase){6, 3, 16, false, .mask = true}); }
Test(cpu_plan_gqa, dropout_in_training) { check((GqaCase){4, 2, 16, true, .dropout = true}); }

/* The fusion report names the rewrite. */
Test(cpu_plan_gqa, report) {
    GqaCase c = {8, 2, 32, true, false, false, false};
    ph.cmp = graph_new(&ph.a, "cmp", false);
    build(ph.cmp, &c);
    FusionReport r = {0};
    cr_assert_eq(passes_run(ph.cmp, NULL, &r, NULL, &ph.d), 0, "%s", ph.d.msg);
    cr_assert(r.text.s && strstr(r.text.s, "gqa: sdpa") && strstr(r.text.s, "head group 4, no copy"), "%s",
              r.text.s ? r.text.s : "");
    sb_free(&r.text);
}

/* The interpreter's head-group sdpa equals sdpa on explicitly repeated K/V. */
Test(cpu_plan_gqa, interpreter_head_group_equals_repeat) {
    GqaCase cs[] = {{8, 2, 8, false, true, false, false}, {3, 1, 5, false, false, true, true}};
    for (int t = 0; t < 2; t++) {
        ph.ref = graph_new(&ph.a, "ref", false);
        ph.cmp = graph_new(&ph.a, "cmp", false);
        build(ph.ref, &cs[t]);
        build(ph.cmp, &cs[t]);
        int64_t B = 2, S = 11;
        void *in[4];
        int64_t ish[4][LTC_MAX_RANK];
        for (int i = 0; i < ph.ref->ninputs; i++) {
            Node *x = ph.ref->inputs[i];
            SymBind b = {.vals = {B, S}, .n = 2};
            shape_eval(&x->shape, &b, ish[i]);
            size_t ne = shape_numel_eval(&x->shape, &b);
            in[i] = arena_alloc_big(&ph.a, ne * 4 + 8);
            for (size_t e = 0; e < ne; e++) {
                if (x->dtype == DT_BOOL) ((uint8_t *)in[i])[e] = ph_rand() > -0.6f;
                else ((float *)in[i])[e] = ph_rand();
            }
        }
        void *o1[1], *o2[1];
        int64_t s1[1][LTC_MAX_RANK], s2[1][LTC_MAX_RANK];
        RunArgs r1 = {.inputs = in, .in_shapes = ish, .outputs = o1, .out_shapes = s1, .call = 3};
        RunArgs r2 = {.inputs = in, .in_shapes = ish, .outputs = o2, .out_shapes = s2, .call = 3};
        cr_assert_eq(ir_run(ph.ref, &r1, &ph.a, &ph.d), 0, "%s", ph.d.msg);
        cr_assert_eq(ir_run(ph.cmp, &r2, &ph.a, &ph.d), 0, "%s", ph.d.msg);
        size_t ne = (size_t)(B * cs[t].hq * S * cs[t].d);
        cr_assert(memcmp(o1[0], o2[0], ne * 4) == 0, "case %d: head group differs from explicit repeat", t);
    }
}

/* Shape rule: the query heads must be G times the key/value heads. */
Test(cpu_plan_gqa, shape_rule_checks_head_counts) {
    Graph *g = graph_new(&ph.a, "g", false);
    Shape qs = {.rank = 4, .d = {{1, 0}, {8, 0}, {5, 0}, {4, 0}}}, ks = {.rank = 4, .d = {{1, 0}, {3, 0}, {5, 0}, {4, 0}}};
    Node *q = ir_input(g, "q", DT_F32, &qs, (SrcLoc){0}), *k = ir_input(g, "k", DT_F32, &ks, (SrcLoc){0});
    LtcDiag d = {0};
    cr_assert_null(ir_emit(g, OP_SDPA, (Node *[]){q, k, k}, 3, &(Attr){.i = 2}, (SrcLoc){0}, &d));
    cr_assert(strstr(d.msg, "grouped-query attention with 2 query heads per key/value head"), "%s", d.msg);
    cr_assert_null(ir_emit(g, OP_SDPA, (Node *[]){q, k, k}, 3, &(Attr){0}, (SrcLoc){0}, &d));
}
