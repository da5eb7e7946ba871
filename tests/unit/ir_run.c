/* ir_run.c: traced graphs with symbolic dims run at several sizes against
 * the same computation done eagerly; symbol binding errors; printing. */
#include "ir_util.h"

static Arena A;
static Graph *E, *G;
static void setup(void) {
    arena_init(&A);
    E = graph_new(&A, NULL, true);
    G = graph_new(&A, "block", false);
    graph_add_symbol(G, "B", 2);
    graph_add_symbol(G, "S", 5);
}
static void teardown(void) { arena_free(&A); }
TestSuite(ir_run, .init = setup, .fini = teardown);

static const Dim B_ = {1, 1}, S_ = {1, 2};
enum { EMB = 8, HEADS = 2, HD = 4 };

/* y = linear(x) -> [B*S,E] -> [B,S,H,D] -> [B,H,S,D] -> sdpa(causal) ->
 * back to [B,S,E] -> layer_norm(x + .) */
static Node *build(Graph *g, Node *x, Node *w, Node *bias, Node *gamma) {
    Attr r1 = {0};
    r1.shape = (Shape){2, {{-1, 0}, {EMB, 0}}};
    Node *x2 = emit(g, OP_RESHAPE, &x, 1, &r1);
    Node *p[3] = {x2, w, bias};
    Node *h = emit(g, OP_LINEAR, p, 3, NULL);
    Attr r2 = {0};
    Shape xs = x->shape;
    r2.shape = (Shape){4, {xs.d[0], xs.d[1], {HEADS, 0}, {HD, 0}}};
    Node *h4 = emit(g, OP_RESHAPE, &h, 1, &r2);
    Attr pm = {.perm = {0, 2, 1, 3}};
    Node *q = emit(g, OP_PERMUTE, &h4, 1, &pm);
    Node *qkv[3] = {q, q, q};
    Attr sd = {.causal = true};
    Node *at = emit(g, OP_SDPA, qkv, 3, &sd);
    Node *back = emit(g, OP_PERMUTE, &at, 1, &pm);
    Attr r3 = {0};
    r3.shape = (Shape){3, {xs.d[0], xs.d[1], {-1, 0}}};
    Node *y = emit(g, OP_RESHAPE, &back, 1, &r3);
    Node *s[2] = {x, y};
    Node *sum = emit(g, OP_ADD, s, 2, NULL);
    Node *ln[2] = {sum, gamma};
    Attr la = {.eps = 1e-5};
    return emit(g, OP_LAYER_NORM, ln, 2, &la);
}

Test(ir_run, symbolic_two_sizes) {
    Node *w = rconst(E, S(2, EMB, EMB), 1), *bias = rconst(E, S(1, EMB), 2), *gamma = rconst(E, S(1, EMB), 3);
    w->name = "proj.weight"; bias->name = "proj.bias"; gamma->name = "norm.weight";
    Shape xs = {3, {B_, S_, dim_const(EMB)}};
    Node *x = ir_input(G, "x", DT_F32, &xs, NOLOC);
    Node *out = build(G, x, w, bias, gamma);
    ir_add_output(G, out);
    char buf[64];
    cr_assert_str_eq(shape_str(G, &out->shape, buf, sizeof buf), "[B,S,8]");
    cr_assert_eq(G->nparams, 3);
    int sizes[3][2] = {{2, 5}, {3, 7}, {1, 1}};
    for (int t = 0; t < 3; t++) {
        int b = sizes[t][0], s = sizes[t][1];
        Node *xe = rconst(E, S(3, b, s, EMB), 10 + t);     /* same computation, eagerly */
        Node *ye = build(E, xe, w, bias, gamma);
        LtcDiag d;
        cr_assert_eq(ir_force(ye, &d), 0, "%s", d.msg);
        Arena scratch;
        arena_init(&scratch);
        void *ins[1] = {xe->data}, *outs[1];
        int64_t ish[1][LTC_MAX_RANK] = {{b, s, EMB}}, osh[1][LTC_MAX_RANK];
        RunArgs ra = {ins, ish, NULL, outs, osh, 0};
        cr_assert_eq(ir_run(G, &ra, &scratch, &d), 0, "%s", d.msg);
        cr_assert_eq(osh[0][0], b); cr_assert_eq(osh[0][1], s); cr_assert_eq(osh[0][2], EMB);
        cr_assert_eq(memcmp(outs[0], ye->data, (size_t)b * s * EMB * 4), 0);
        arena_free(&scratch);
    }
}

Test(ir_run, binding_errors) {
    Shape xs = {3, {B_, S_, dim_const(4)}}, ms = {2, {S_, S_}};
    Node *x = ir_input(G, "x", DT_F32, &xs, NOLOC);
    Node *m = ir_input(G, "mask", DT_F32, &ms, NOLOC);
    Node *y = emit(G, OP_RELU, &x, 1, NULL);
    ir_add_output(G, y);
    ir_add_output(G, m);
    float data[2 * 3 * 4] = {0}, md[16] = {0};
    void *ins[2] = {data, md}, *outs[2];
    int64_t osh[2][LTC_MAX_RANK];
    LtcDiag d;
    Arena sc;
    arena_init(&sc);
    int64_t bad1[2][LTC_MAX_RANK] = {{2, 3, 5}, {3, 3}};
    RunArgs ra = {ins, bad1, NULL, outs, osh, 0};
    cr_assert_eq(ir_run(G, &ra, &sc, &d), -1);
    cr_assert_str_eq(d.msg, "input 'x': expected shape [B,S,4], got [2,3,5] (dimension 2)");
    int64_t bad2[2][LTC_MAX_RANK] = {{2, 3, 4}, {4, 4}};
    ra.in_shapes = bad2;
    cr_assert_eq(ir_run(G, &ra, &sc, &d), -1);
    cr_assert_str_eq(d.msg, "input 'mask': expected shape [S,S], got [4,4] (dimension 0)");
    int64_t good[2][LTC_MAX_RANK] = {{2, 3, 4}, {3, 3}};
    ra.in_shapes = good;
    cr_assert_eq(ir_run(G, &ra, &sc, &d), 0, "%s", d.msg);
    cr_assert_eq(osh[1][0], 3);
    arena_free(&sc);
}

Test(ir_run, print_golden) {
    Node *w = rconst(E, S(2, EMB, EMB), 1), *bias = rconst(E, S(1, EMB), 2), *gamma = rconst(E, S(1, EMB), 3);
    w->name = "proj.weight"; bias->name = "proj.bias"; gamma->name = "norm.weight";
    Shape xs = {3, {B_, S_, dim_const(EMB)}};
    Node *x = ir_input(G, "x", DT_F32, &xs, NOLOC);
    ir_add_output(G, build(G, x, w, bias, gamma));
    StrBuf b = {0};
    ir_print(G, &b);
    const char *want =
        "graph block(x: f32[B,S,8]) -> (%12)\n"
        "  symbols B=2 S=5\n"
        "  %0 = input \"x\" : f32[B,S,8]\n"
        "  %1 = reshape %0 : f32[B*S,8]\n"
        "  %2 = param \"proj.weight\" : f32[8,8]\n"
        "  %3 = param \"proj.bias\" : f32[8]\n"
        "  %4 = linear %1, %2, %3 : f32[B*S,8]\n"
        "  %5 = reshape %4 : f32[B,S,2,4]\n"
        "  %6 = permute %5 {perm=[0,2,1,3]} : f32[B,2,S,4]\n"
        "  %7 = sdpa %6, %6, %6 {causal=true} : f32[B,2,S,4]\n"
        "  %8 = permute %7 {perm=[0,2,1,3]} : f32[B,S,2,4]\n"
        "  %9 = reshape %8 : f32[B,S,8]\n"
        "  %10 = add %0, %9 : f32[B,S,8]\n"
        "  %11 = param \"norm.weight\" : f32[8]\n"
        "  %12 = layer_norm %10, %11 {eps=1e-05, flags=1} : f32[B,S,8]\n";
    cr_assert_str_eq(b.s, want);
    StrBuf b2 = {0};
    ir_print(G, &b2);
    cr_assert_str_eq(b.s, b2.s);
    StrBuf dot = {0};
    ir_print_dot(G, &dot);
    cr_assert(strstr(dot.s, "digraph \"block\" {"));
    cr_assert(strstr(dot.s, "n0 [label=\"%0 input x\\nf32[B,S,8]\", shape=invhouse"));
    cr_assert(strstr(dot.s, "n11 -> n12;"));
    cr_assert(strstr(dot.s, "n12 -> out0;"));
    sb_free(&b); sb_free(&b2); sb_free(&dot);
}

Test(ir_run, print_attrs) {
    Shape xs = {2, {S_, dim_const(6)}};
    Node *x = ir_input(G, "x", DT_F32, &xs, NOLOC);
    Attr s = {.axis = 1, .start = dim_const(1), .end = dim_const(5), .step = 2};
    Node *sl = emit(G, OP_SLICE, &x, 1, &s);
    Attr sm = {.axis = -1};
    Node *so = emit(G, OP_SOFTMAX, &sl, 1, &sm);
    Attr dr = {.p = 0.1, .training = true, .seed = 7};
    ir_add_output(G, emit(G, OP_DROPOUT, &so, 1, &dr));
    StrBuf b = {0};
    ir_print(G, &b);
    cr_assert_str_eq(b.s,
        "graph block(x: f32[S,6]) -> (%3)\n"
        "  symbols B=2 S=5\n"
        "  %0 = input \"x\" : f32[S,6]\n"
        "  %1 = slice %0 {axis=1, start=1, end=5, step=2} : f32[S,2]\n"
        "  %2 = softmax %1 {axis=1} : f32[S,2]\n"
        "  %3 = dropout %2 {p=0.1, training=true, seed=7} : f32[S,2]\n");
    sb_free(&b);
}

Test(ir_run, symbolic_slice_of_constant) {
    /* pos = table[0:S] with a constant 6-row table: fine for S <= 6, a
     * run-time error beyond. */
    float tab[6 * 2];
    for (int i = 0; i < 12; i++) tab[i] = (float)i;
    Node *t = konst(E, DT_F32, S(2, 6, 2), tab);
    Shape xs = {2, {S_, dim_const(2)}};
    Node *x = ir_input(G, "x", DT_F32, &xs, NOLOC);
    Attr sl = {.axis = 0, .start = dim_const(0), .end = S_, .step = 1};
    Node *pos = emit(G, OP_SLICE, &t, 1, &sl);
    Node *p[2] = {x, pos};
    ir_add_output(G, emit(G, OP_ADD, p, 2, NULL));
    float xd[7 * 2] = {0};
    void *ins[1] = {xd}, *outs[1];
    int64_t ish[1][LTC_MAX_RANK] = {{4, 2}}, osh[1][LTC_MAX_RANK];
    RunArgs ra = {ins, ish, NULL, outs, osh, 0};
    Arena sc;
    arena_init(&sc);
    LtcDiag d;
    cr_assert_eq(ir_run(G, &ra, &sc, &d), 0, "%s", d.msg);
    cr_assert_eq(osh[0][0], 4);
    for (int i = 0; i < 8; i++) cr_assert_eq(((float *)outs[0])[i], (float)i);
    ish[0][0] = 7;
    cr_assert_eq(ir_run(G, &ra, &sc, &d), -1);
    cr_assert_str_eq(d.msg, "slice: indices 0..6 step 1 are out of range for size 6");
    arena_free(&sc);
}
