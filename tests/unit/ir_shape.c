/* ir_shape.c: shape rules, dtype rules and their error messages. */
#include "ir_util.h"

static Arena A;
static Graph *G;

static void setup(void) {
    arena_init(&A);
    G = graph_new(&A, "t", false);
    graph_add_symbol(G, "B", 2);
    graph_add_symbol(G, "S", 16);
}
static void teardown(void) { arena_free(&A); }

static const Dim B_ = {1, 1}, S_ = {1, 2};

static Node *in(const char *name, DType t, Shape s) { return ir_input(G, name, t, &s, NOLOC); }

static const char *str(const Node *n) {
    static char buf[8][128];
    static int k;
    k = (k + 1) % 8;
    return shape_str(G, &n->shape, buf[k], sizeof buf[k]);
}

TestSuite(ir_shape, .init = setup, .fini = teardown);

Test(ir_shape, broadcast) {
    Node *a = in("a", DT_F32, S(3, 2, 1, 64)), *b = in("b", DT_F32, S(2, 12, 1));
    Node *x[2] = {a, b};
    Node *r = emit(G, OP_ADD, x, 2, NULL);
    cr_assert_str_eq(str(r), "[2,12,64]");
    LtcDiag d;
    Node *y[2] = {in("c", DT_F32, S(3, 2, 16, 64)), in("e", DT_F32, S(3, 2, 12, 64))};
    cr_assert_str_eq(emit_err(G, OP_MUL, y, 2, NULL, &d), "mul: shapes [2,16,64] and [2,12,64] do not broadcast");
}

Test(ir_shape, dtypes) {
    Node *f = in("f", DT_F32, S(1, 4)), *h = in("h", DT_F16, S(1, 4)), *bf = in("bf", DT_BF16, S(1, 4));
    Node *i = in("i", DT_I64, S(1, 4)), *m = in("m", DT_BOOL, S(1, 4));
    Node *p[2];
    p[0] = h; p[1] = h; cr_assert_eq(emit(G, OP_ADD, p, 2, NULL)->dtype, DT_F16);
    p[0] = h; p[1] = bf; cr_assert_eq(emit(G, OP_ADD, p, 2, NULL)->dtype, DT_F32);
    p[0] = i; p[1] = f; cr_assert_eq(emit(G, OP_ADD, p, 2, NULL)->dtype, DT_F32);
    p[0] = i; p[1] = i; cr_assert_eq(emit(G, OP_ADD, p, 2, NULL)->dtype, DT_I64);
    p[0] = i; p[1] = i; cr_assert_eq(emit(G, OP_DIV, p, 2, NULL)->dtype, DT_F32);
    p[0] = m; p[1] = i; cr_assert_eq(emit(G, OP_MUL, p, 2, NULL)->dtype, DT_I64);
    cr_assert_eq(emit(G, OP_EXP, &i, 1, NULL)->dtype, DT_F32);
    cr_assert_eq(emit(G, OP_NEG, &i, 1, NULL)->dtype, DT_I64);
    cr_assert_eq(emit(G, OP_GELU, &bf, 1, NULL)->dtype, DT_BF16);
    Attr a = {.f = 2.5};
    cr_assert_eq(emit(G, OP_ADD_SCALAR, &i, 1, &a)->dtype, DT_F32);
    a.f = 2;
    cr_assert_eq(emit(G, OP_ADD_SCALAR, &i, 1, &a)->dtype, DT_I64);
    Attr c = {.dtype = DT_F16};
    cr_assert_eq(emit(G, OP_CAST, &f, 1, &c)->dtype, DT_F16);
    Attr r = {.axis = 0};
    cr_assert_eq(emit(G, OP_ARGMAX, &f, 1, &r)->dtype, DT_I64);
    cr_assert_eq(emit(G, OP_SUM_DIM, &m, 1, &r)->dtype, DT_I64);
    LtcDiag d;
    Node *q[2] = {f, in("w", DT_F32, S(2, 4, 4))};
    q[0] = i;
    cr_assert_str_eq(emit_err(G, OP_LINEAR, q, 2, NULL, &d), "linear: needs float tensors, input 0 is i64");
}

Test(ir_shape, arity) {
    LtcDiag d;
    Node *a = in("a", DT_F32, S(1, 4));
    Node *x[3] = {a, a, a};
    cr_assert_str_eq(emit_err(G, OP_ADD, x, 3, NULL, &d), "add takes 2 inputs, got 3");
    cr_assert_str_eq(emit_err(G, OP_LAYER_NORM, x, 0, NULL, &d), "layer_norm takes 1 to 3 inputs, got 0");
    cr_assert_str_eq(emit_err(G, OP_CAT, x, 0, NULL, &d), "cat takes at least 1 input, got 0");
}

Test(ir_shape, matmul) {
    LtcDiag d;
    Node *p[2];
    p[0] = in("a", DT_F32, S(2, 2, 3)); p[1] = in("b", DT_F32, S(2, 4, 5));
    cr_assert_str_eq(emit_err(G, OP_MATMUL, p, 2, NULL, &d), "matmul: [2,3] x [4,5]: inner dimensions 3 and 4 differ");
    p[0] = in("c", DT_F32, S(1, 3)); p[1] = in("e", DT_F32, S(1, 3));
    cr_assert_str_eq(str(emit(G, OP_MATMUL, p, 2, NULL)), "[]");
    p[0] = in("f", DT_F32, S(3, 5, 2, 3)); p[1] = in("g", DT_F32, S(1, 3));
    cr_assert_str_eq(str(emit(G, OP_MATMUL, p, 2, NULL)), "[5,2]");
    p[0] = in("h", DT_F32, S(1, 3)); p[1] = in("i", DT_F32, S(3, 7, 3, 4));
    cr_assert_str_eq(str(emit(G, OP_MATMUL, p, 2, NULL)), "[7,4]");
    p[0] = in("j", DT_F32, S(4, 2, 1, 5, 3)); p[1] = in("k", DT_F32, S(3, 6, 3, 4));
    cr_assert_str_eq(str(emit(G, OP_MATMUL, p, 2, NULL)), "[2,6,5,4]");
    p[0] = in("l", DT_F32, S(3, 2, 5, 3)); p[1] = in("m", DT_F32, S(3, 3, 3, 4));
    cr_assert_str_eq(emit_err(G, OP_MATMUL, p, 2, NULL, &d), "matmul: [2,5,3] x [3,3,4]: batch dimensions do not broadcast");
    Shape sx = {3, {B_, S_, dim_const(64)}};
    p[0] = ir_input(G, "x", DT_F32, &sx, NOLOC); p[1] = in("w", DT_F32, S(2, 64, 32));
    cr_assert_str_eq(str(emit(G, OP_MATMUL, p, 2, NULL)), "[B,S,32]");
}

Test(ir_shape, linear_and_norm) {
    LtcDiag d;
    Shape sx = {3, {B_, S_, dim_const(128)}};
    Node *x = ir_input(G, "x", DT_F32, &sx, NOLOC);
    Node *p[3] = {x, in("w", DT_F32, S(2, 256, 256)), in("b", DT_F32, S(1, 256))};
    cr_assert_str_eq(emit_err(G, OP_LINEAR, p, 3, NULL, &d),
                     "linear: input [B,S,128] and weight [256,256]: in features 128 and 256 differ");
    p[1] = in("w2", DT_F32, S(2, 64, 128));
    cr_assert_str_eq(emit_err(G, OP_LINEAR, p, 3, NULL, &d), "linear: bias [256] does not match weight [64,128]");
    cr_assert_str_eq(str(emit(G, OP_LINEAR, p, 2, NULL)), "[B,S,64]");
    Node *q[3] = {x, in("g", DT_F32, S(1, 128)), in("be", DT_F32, S(1, 127))};
    Attr a = {.eps = 1e-5};
    cr_assert_str_eq(emit_err(G, OP_LAYER_NORM, q, 3, &a, &d),
                     "layer_norm: bias [127] does not match the last dimension of input [B,S,128]");
    q[2] = in("be2", DT_F32, S(1, 128));
    Node *ln = emit(G, OP_LAYER_NORM, q, 3, &a);
    cr_assert_eq(ln->a.flags, 3);
    Attr only_b = {.eps = 1e-5, .flags = 2};
    Node *q2[2] = {x, q[2]};
    cr_assert_eq(emit(G, OP_LAYER_NORM, q2, 2, &only_b)->a.flags, 2);
    cr_assert_str_eq(str(emit(G, OP_RMS_NORM, q, 2, &a)), "[B,S,128]");
}

Test(ir_shape, reshape_symbolic) {
    LtcDiag d;
    Shape sx = {3, {B_, S_, dim_const(256)}};
    Node *x = ir_input(G, "x", DT_F32, &sx, NOLOC);
    Attr a = {0};
    a.shape = (Shape){2, {{-1, 0}, {256, 0}}};
    Node *r = emit(G, OP_RESHAPE, &x, 1, &a);
    cr_assert_str_eq(str(r), "[B*S,256]");
    a.shape = (Shape){3, {B_, S_, {-1, 0}}};
    cr_assert_str_eq(str(emit(G, OP_RESHAPE, &r, 1, &a)), "[B,S,256]");
    a.shape = (Shape){4, {B_, S_, {8, 0}, {-1, 0}}};
    cr_assert_str_eq(str(emit(G, OP_RESHAPE, &x, 1, &a)), "[B,S,8,32]");
    a.shape = S(4, 2, 128, 8, 33);
    cr_assert_str_eq(emit_err(G, OP_RESHAPE, &x, 1, &a, &d), "cannot reshape [B,S,256] into [2,128,8,33]");
    a.shape = (Shape){2, {{-1, 0}, {-1, 0}}};
    cr_assert_str_eq(emit_err(G, OP_RESHAPE, &x, 1, &a, &d), "reshape: more than one -1 in [-1,-1]");
    a.shape = (Shape){2, {{-1, 0}, {3, 0}}};
    cr_assert_str_eq(emit_err(G, OP_RESHAPE, &x, 1, &a, &d), "cannot reshape [B,S,256] into [-1,3]");
    Shape sq = {4, {B_, dim_const(8), S_, S_}};           /* scores: S appears twice */
    Node *sc = ir_input(G, "sc", DT_F32, &sq, NOLOC);
    a.shape = (Shape){3, {{-1, 0}, S_, S_}};
    cr_assert_str_eq(str(emit(G, OP_RESHAPE, &sc, 1, &a)), "[8*B,S,S]");
    a.shape = (Shape){2, {{-1, 0}, dim_const(8)}};
    cr_assert_str_eq(emit_err(G, OP_RESHAPE, &sc, 1, &a, &d), "cannot reshape [B,8,S,S] into [-1,8]");
    a.shape = (Shape){4, {dim_const(8), B_, S_, S_}};
    cr_assert_str_eq(str(emit(G, OP_RESHAPE, &sc, 1, &a)), "[8,B,S,S]");
    Node *c = in("c", DT_F32, S(2, 6, 4));
    a.shape = (Shape){3, {{2, 0}, {-1, 0}, {4, 0}}};
    cr_assert_str_eq(str(emit(G, OP_RESHAPE, &c, 1, &a)), "[2,3,4]");
}

Test(ir_shape, layout) {
    LtcDiag d;
    Shape sx = {4, {B_, S_, dim_const(8), dim_const(32)}};
    Node *x = ir_input(G, "x", DT_F32, &sx, NOLOC);
    Attr p = {.perm = {0, 2, 1, 3}};
    cr_assert_str_eq(str(emit(G, OP_PERMUTE, &x, 1, &p)), "[B,8,S,32]");
    Attr bad = {.perm = {0, 0, 1, 3}};
    cr_assert_str_eq(emit_err(G, OP_PERMUTE, &x, 1, &bad, &d), "permute: not a permutation of the 4 dimensions of [B,S,8,32]");
    Node *v = in("v", DT_F32, S(3, 1, 4, 1));
    Attr e = {0};
    e.shape = (Shape){4, {B_, {3, 0}, {-1, 0}, {5, 0}}};
    cr_assert_str_eq(str(emit(G, OP_EXPAND, &v, 1, &e)), "[B,3,4,5]");
    e.shape = S(3, 2, 5, 5);
    cr_assert_str_eq(emit_err(G, OP_EXPAND, &v, 1, &e, &d), "expand: cannot expand [1,4,1] to [2,5,5]");
    Node *c = in("c", DT_F32, S(2, 10, 6));
    Attr s = {.axis = -1, .start = dim_const(-4), .end = dim_const(100), .step = 3};
    Node *sl = emit(G, OP_SLICE, &c, 1, &s);
    cr_assert_str_eq(str(sl), "[10,2]");           /* 2..6 step 3 -> {2,5} */
}

Test(ir_shape, slice_and_cat) {
    LtcDiag d;
    Node *c = in("c", DT_F32, S(2, 10, 7));
    Attr s = {.axis = 1, .start = dim_const(-5), .end = dim_const(INT64_MAX), .step = 2};
    Node *sl = emit(G, OP_SLICE, &c, 1, &s);
    cr_assert_str_eq(str(sl), "[10,3]");           /* 2,4,6 */
    cr_assert_eq(sl->a.start.k, 2);
    cr_assert_eq(sl->a.end.k, 7);
    Attr z = {.axis = 0, .start = dim_const(8), .end = dim_const(3), .step = 1};
    cr_assert_str_eq(str(emit(G, OP_SLICE, &c, 1, &z)), "[0,7]");
    Attr st0 = {.axis = 0, .start = dim_const(0), .end = dim_const(3), .step = 0};
    cr_assert_str_eq(emit_err(G, OP_SLICE, &c, 1, &st0, &d), "slice: step 0 must be at least 1");
    Shape sx = {3, {B_, {2, 2}, dim_const(4)}};
    Node *x = ir_input(G, "x", DT_F32, &sx, NOLOC);
    Attr h = {.axis = 1, .start = S_, .end = {2, 2}, .step = 1};
    cr_assert_str_eq(str(emit(G, OP_SLICE, &x, 1, &h)), "[B,S,4]");
    Node *pe = in("pe", DT_F32, S(2, 32, 4));        /* positional table sliced to S rows */
    Attr ps = {.axis = 0, .start = dim_const(0), .end = S_, .step = 1};
    cr_assert_str_eq(str(emit(G, OP_SLICE, &pe, 1, &ps)), "[S,4]");
    Node *p[3] = {x, x, in("y", DT_F32, S(3, 1, 1, 4))};
    Attr a = {.axis = 1};
    cr_assert_str_eq(str(emit(G, OP_CAT, p, 2, &a)), "[B,4*S,4]");
    cr_assert_str_eq(emit_err(G, OP_CAT, p, 3, &a, &d), "cat: shapes [B,2*S,4] and [1,1,4] differ outside axis 1");
}

Test(ir_shape, reduce_embedding_misc) {
    LtcDiag d;
    Node *c = in("c", DT_F32, S(3, 2, 5, 7));
    Attr r = {.axis = -2};
    cr_assert_str_eq(str(emit(G, OP_SUM_DIM, &c, 1, &r)), "[2,7]");
    r.keepdim = true;
    cr_assert_str_eq(str(emit(G, OP_MEAN_DIM, &c, 1, &r)), "[2,1,7]");
    Attr bad = {.axis = 3};
    cr_assert_str_eq(emit_err(G, OP_SOFTMAX, &c, 1, &bad, &d), "softmax: axis 3 is out of range for shape [2,5,7]");
    Node *ids = in("ids", DT_I64, S(2, 3, 4)), *tab = in("tab", DT_F32, S(2, 100, 16));
    Node *p[2] = {ids, tab};
    cr_assert_str_eq(str(emit(G, OP_EMBEDDING, p, 2, NULL)), "[3,4,16]");
    p[0] = in("fid", DT_F32, S(1, 3));
    cr_assert_str_eq(emit_err(G, OP_EMBEDDING, p, 2, NULL, &d), "embedding: ids must be i64, got f32");
    cr_assert_str_eq(emit_err(G, OP_TRIU, &p[0], 1, NULL, &d), "triu: needs at least 2 dimensions, got [3]");
}

Test(ir_shape, sdpa) {
    LtcDiag d;
    Shape sq = {4, {B_, dim_const(8), S_, dim_const(32)}};
    Node *q = ir_input(G, "q", DT_F32, &sq, NOLOC);
    Node *kv = in("kv", DT_F32, S(4, 3, 8, 10, 32));
    Node *p[4] = {q, kv, kv, NULL};
    cr_assert_str_eq(emit_err(G, OP_SDPA, p, 3, NULL, &d), "sdpa: batch dimensions of query [B,8,S,32], key [3,8,10,32] and value [3,8,10,32] do not broadcast");
    Shape sk = {4, {B_, dim_const(8), S_, dim_const(32)}}, sv = {4, {B_, dim_const(1), S_, dim_const(16)}};
    p[1] = ir_input(G, "k", DT_F32, &sk, NOLOC);
    p[2] = ir_input(G, "v", DT_F32, &sv, NOLOC);
    cr_assert_str_eq(str(emit(G, OP_SDPA, p, 3, NULL)), "[B,8,S,16]");
    Shape sm = {2, {S_, S_}};
    p[3] = ir_input(G, "m", DT_BOOL, &sm, NOLOC);
    cr_assert_str_eq(str(emit(G, OP_SDPA, p, 4, NULL)), "[B,8,S,16]");
    p[3] = in("m2", DT_F32, S(2, 5, 5));
    cr_assert_str_eq(emit_err(G, OP_SDPA, p, 4, NULL, &d), "sdpa: mask [5,5] does not broadcast to the scores [B,8,S,S]");
    p[3] = ir_input(G, "m3", DT_I64, &sm, NOLOC);
    cr_assert_str_eq(emit_err(G, OP_SDPA, p, 4, NULL, &d), "sdpa: mask must be bool or float, got i64");
    p[1] = in("k2", DT_F32, S(4, 1, 8, 10, 30));
    cr_assert_str_eq(emit_err(G, OP_SDPA, p, 3, NULL, &d), "sdpa: query [B,8,S,32] and key [1,8,10,30] have different head dimensions");
}

Test(ir_shape, sources_and_limits) {
    LtcDiag d;
    Attr a = {0};
    a.shape = S(2, 3, 4);
    a.dtype = DT_F32;
    Node *r1 = emit(G, OP_RAND, NULL, 0, &a), *r2 = emit(G, OP_RAND, NULL, 0, &a);
    cr_assert_neq(r1->a.seed, 0);
    cr_assert_neq(r1->a.seed, r2->a.seed);
    a.shape = S(3, 1 << 20, 1 << 20, 2);
    cr_assert_str_eq(emit_err(G, OP_FULL, NULL, 0, &a, &d), "full: shape [1048576,1048576,2] has too many elements (more than 2^40)");
    a.shape = S(2, 3, -2);
    cr_assert_str_eq(emit_err(G, OP_FULL, NULL, 0, &a, &d), "full: invalid size in shape [3,-2]");
    a.shape = S(1, 3);
    a.dtype = DT_I64;
    cr_assert_str_eq(emit_err(G, OP_RANDN, NULL, 0, &a, &d), "randn: dtype i64 is not a float type");
}

Test(ir_shape, params_from_eager) {
    Graph *E = graph_new(&A, NULL, true);
    Node *w = rconst(E, S(2, 4, 4), 1);
    w->name = "layer.w";
    Shape sx = {2, {B_, dim_const(4)}};
    Node *x = ir_input(G, "x", DT_F32, &sx, NOLOC);
    Node *p[2] = {x, w};
    Node *l1 = emit(G, OP_LINEAR, p, 2, NULL);
    Node *l2 = emit(G, OP_LINEAR, p, 2, NULL);
    cr_assert_eq(G->nparams, 1);
    cr_assert_eq(l1->in[1], l2->in[1]);
    cr_assert_eq(l1->in[1]->op, OP_PARAM);
    cr_assert_eq(l1->in[1]->origin, w);
    cr_assert_str_eq(l1->in[1]->name, "layer.w");
    LtcDiag d;
    Graph *G2 = graph_new(&A, "other", false);
    Node *q[2] = {x, x};
    cr_assert_str_eq(emit_err(G2, OP_ADD, q, 2, NULL, &d), "add: input 0 belongs to graph 't', not 'other'");
}

/* ---- derived symbols (ir/symbolic.c) ---------------------------------------- */
static const char *dstr(Dim d) {
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    Shape s = {1, {d}};
    return shape_str(G, &s, buf[k], sizeof buf[k]);
}

Test(ir_shape, derived_symbols_are_canonical) {
    Dim m1, back, h, two_h, sq, cube, t2;
    cr_assert(dim_sub(G, S_, dim_const(1), NOLOC, &m1));
    cr_assert_str_eq(dstr(m1), "[(S-1)]");
    cr_assert_eq(dim_example(G, m1), 15);
    cr_assert(dim_add(G, m1, dim_const(1), NOLOC, &back));
    cr_assert(dim_eq(back, S_), "(S-1)+1 = %s", dstr(back));
    Dim again;
    cr_assert(dim_sub(G, S_, dim_const(1), NOLOC, &again));
    cr_assert(dim_eq(again, m1), "one symbol per expression");
    cr_assert(dim_divq(G, S_, 2, NOLOC, &h));
    cr_assert_str_eq(dstr(h), "[S/2]");
    cr_assert(dim_add(G, h, h, NOLOC, &two_h));
    cr_assert(dim_eq(two_h, S_), "S/2 + S/2 = %s", dstr(two_h));
    /* 2S - 2 = 2 * (S-1) */
    Dim twoS = {2, S_.sym};
    cr_assert(dim_sub(G, twoS, dim_const(2), NOLOC, &t2));
    cr_assert_eq(t2.k, 2);
    cr_assert_eq(t2.sym, m1.sym);
    /* S*S is a square symbol; S*S*S its product with S */
    cr_assert(dim_mul_sq(G, S_, S_, &sq));
    cr_assert_str_eq(dstr(sq), "[S^2]");
    cr_assert_eq(dim_example(G, sq), 256);
    cr_assert(dim_mul_sq(G, sq, S_, &cube));
    cr_assert_eq(dim_example(G, cube), 4096);
    Dim st[LTC_MAX_RANK];
    Shape bhss = {4, {B_, dim_const(4), S_, S_}};
    cr_assert(shape_strides(G, &bhss, st));
    cr_assert(dim_eq(st[1], sq) && dim_eq(st[2], S_) && dim_eq(st[3], dim_const(1)));
    /* a negative size at the traced values is refused */
    Dim neg;
    cr_assert_not(dim_sub(G, dim_const(3), S_, NOLOC, &neg) && dim_example(G, neg) >= 0);
}

Test(ir_shape, derived_symbols_at_run_time) {
    Dim m1, h;
    cr_assert(dim_sub(G, S_, dim_const(1), NOLOC, &m1));
    cr_assert(dim_divq(G, S_, 2, NOLOC, &h));
    int64_t vals[LTC_MAX_SYMS] = {3, 10};
    char err[512];
    cr_assert_eq(graph_derive_symbols(G, vals, err, sizeof err), 0, "%s", err);
    cr_assert_eq(dim_eval(m1, &(SymBind){{3, 10, vals[2], vals[3]}, G->nsyms}), 9);
    cr_assert_eq(vals[__builtin_ctz(h.sym)], 5);
    int64_t odd[LTC_MAX_SYMS] = {3, 7};
    cr_assert_eq(graph_derive_symbols(G, odd, err, sizeof err), -1);
    cr_assert(strstr(err, "S/2") && strstr(err, "not a whole number"), "%s", err);
    int64_t zero[LTC_MAX_SYMS] = {3, 0};
    cr_assert_eq(graph_derive_symbols(G, zero, err, sizeof err), -1);
    cr_assert(strstr(err, "(S-1)") && strstr(err, "negative"), "%s", err);
}

Test(ir_shape, guards) {
    cr_assert_eq(graph_add_guard(G, S_, INT64_MIN, 64, NOLOC, "a slice end"), 0);
    cr_assert_eq(graph_add_guard(G, S_, INT64_MIN, 64, NOLOC, "a slice end"), 0);
    cr_assert_eq(G->nguards, 1);
    int64_t ok[LTC_MAX_SYMS] = {2, 64}, bad[LTC_MAX_SYMS] = {2, 65};
    char err[512];
    cr_assert_eq(graph_check_guards(G, ok, err, sizeof err), 0);
    cr_assert_eq(graph_check_guards(G, bad, err, sizeof err), -1);
    cr_assert(strstr(err, "S = 65") && strstr(err, "S <= 64"), "%s", err);
}

Test(ir_shape, slice_and_cat_stay_symbolic) {
    Node *x = in("x", DT_F32, (Shape){3, {B_, S_, dim_const(8)}});
    Attr a = {0};
    a.axis = 1; a.start = dim_const(-1); a.end = S_; a.step = 1;
    Node *last = emit(G, OP_SLICE, &x, 1, &a);
    cr_assert_str_eq(str(last), "[B,1,8]");
    Attr b = {0};
    b.axis = 1; b.start = dim_const(0); b.end = dim_const(-1); b.step = 1;
    Node *head = emit(G, OP_SLICE, &x, 1, &b);
    cr_assert_str_eq(str(head), "[B,(S-1),8]");
    Node *parts[2] = {last, head};
    Attr c = {0};
    c.axis = 1;
    cr_assert_str_eq(str(emit(G, OP_CAT, parts, 2, &c)), "[B,S,8]");
}
