/* front_torch.c: the lispe_torch builtins against hand-computed values and
 * plain-C reference computations. */
#include "front_torch_util.h"

TestSuite(torch, .init = setup, .fini = teardown);

#define CHECK(name, tol, ...) do { \
    float w_[] = {__VA_ARGS__}; \
    Node *n_ = gtensor(name); \
    cr_assert_eq(numel(n_), sizeof w_ / sizeof w_[0], "%s: %zu elements", name, numel(n_)); \
    assert_close(force(n_), w_, sizeof w_ / sizeof w_[0], tol); \
} while (0)

Test(torch, create_and_layout) {
    EVAL("(setq a (tensor_create (list (floats 1 2 3) (floats 4 5 6))))"
         "(setq b (torch_tensor (integers 1 2 3)))"
         "(setq t (tensor_transpose a -1 -2))"
         "(setq r (torch_reshape a (integers 3 -1)))"
         "(setq s (tensor_slice a 1 -2 100))"
         "(setq e (tensor_select a 1 -1))"
         "(setq c0 (tensor_cat (list a a) 0))"
         "(setq c1 (torch_cat (list a a) -1))"
         "(setq u (tensor_unsqueeze a 0))"
         "(setq q (tensor_squeeze u 0))"
         "(setq p (tensor_permute (tensor_unsqueeze a -1) (integers 2 0 1)))"
         "(setq sz (tensor_size a))");
    Node *a = gtensor("a");
    SHAPE(a, 2, 3);
    cr_assert_eq(a->dtype, DT_F32);
    cr_assert_eq(gtensor("b")->dtype, DT_I64);
    SHAPE(gtensor("t"), 3, 2);
    CHECK("t", 0, 1, 4, 2, 5, 3, 6);
    SHAPE(gtensor("r"), 3, 2);
    CHECK("r", 0, 1, 2, 3, 4, 5, 6);
    SHAPE(gtensor("s"), 2, 2);
    CHECK("s", 0, 2, 3, 5, 6);
    SHAPE(gtensor("e"), 2);
    CHECK("e", 0, 3, 6);
    SHAPE(gtensor("c0"), 4, 3);
    SHAPE(gtensor("c1"), 2, 6);
    CHECK("c1", 0, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
    SHAPE(gtensor("u"), 1, 2, 3);
    SHAPE(gtensor("q"), 2, 3);
    SHAPE(gtensor("p"), 1, 2, 3);
    Value *sz = glob("sz");
    cr_assert_eq(sz->kind, V_LIST);
    cr_assert_eq(sz->lkind, L_INTEGERS);
    cr_assert_eq(sz->nitems, 2);
    cr_assert_eq(sz->items[0]->i, 2);
    cr_assert_eq(sz->items[1]->i, 3);
}

Test(torch, creation) {
    EVAL("(setq z (tensor_zeros (integers 2 2)))"
         "(setq o (torch_ones (integers 3)))"
         "(setq f (tensor_full (integers 2) 7))"
         "(setq fl (tensor_full_like o 2.5))"
         "(setq tu (tensor_triu (tensor_ones (integers 3 3)) 1))"
         "(setq tl (torch_tril (tensor_ones (integers 3 3))))"
         "(setq ar (tensor_arange 5))"
         "(setq af (tensor_arange 0.0 1.0 0.25))"
         "(setq rn (tensor_randn (integers 4000)))"
         "(setq ru (torch_rand (integers 4000)))");
    CHECK("z", 0, 0, 0, 0, 0);
    CHECK("o", 0, 1, 1, 1);
    CHECK("f", 0, 7, 7);
    CHECK("fl", 0, 2.5, 2.5, 2.5);
    CHECK("tu", 0, 0, 1, 1, 0, 0, 1, 0, 0, 0);
    CHECK("tl", 0, 1, 0, 0, 1, 1, 0, 1, 1, 1);
    Node *ar = gtensor("ar");
    cr_assert_eq(ar->dtype, DT_I64);
    const int64_t *ai = force(ar);
    for (int i = 0; i < 5; i++) cr_assert_eq(ai[i], i);
    CHECK("af", 0, 0, 0.25, 0.5, 0.75);
    const float *rn = fdata("rn"), *ru = fdata("ru");
    double m = 0, v = 0;
    for (int i = 0; i < 4000; i++) m += rn[i];
    m /= 4000;
    for (int i = 0; i < 4000; i++) v += (rn[i] - m) * (rn[i] - m);
    v /= 3999;
    cr_assert(fabs(m) < 0.1 && fabs(v - 1) < 0.1, "randn mean %g var %g", m, v);
    for (int i = 0; i < 4000; i++) cr_assert(ru[i] >= 0 && ru[i] < 1);
}

Test(torch, arithmetic) {
    EVAL("(setq a (tensor_create (list (floats 1 2 3) (floats 4 5 6))))"
         "(setq add (tensor_add a (tensor_create (floats 10 20 30))))"
         "(setq rsub (tensor_sub 1 a))"
         "(setq rdiv (torch_div 6 a))"
         "(setq ms (tensor_mul_scalar a 2))"
         "(setq as (tensor_add_scalar a -1))"
         "(setq ds (tensor_div_scalar a 2))"
         "(setq mm (tensor_matmul a (tensor_transpose a 0 1)))"
         "(setq w (tensor_create (list (floats 1 0 0) (floats 0 1 1))))"
         "(setq lin (tensor_linear a w (tensor_create (floats 1 2))))"
         "(setq pw (tensor_pow a 2))"
         "(setq cl (tensor_clamp a 2 4))"
         "(setq cl2 (tensor_clamp a nil 3))"
         "(setq mk (tensor_masked_fill a (tensor_create (list (integers 1 0 0) (integers 0 0 1))) -1))"
         "(setq sm (tensor_softmax (tensor_create (floats 1 2 3)) 0))"
         "(setq md (tensor_mean_dim a 1))"
         "(setq sd (tensor_sum_dim a 0))"
         "(setq cs (tensor_cumsum a 1))"
         "(setq am (tensor_argmax a 1))"
         "(setq act (tensor_create (floats -1 0 1)))"
         "(setq re (tensor_relu act))"
         "(setq ge (tensor_gelu act))"
         "(setq si (torch_silu act))"
         "(setq sg (tensor_sigmoid act))"
         "(setq rs (tensor_rsqrt (tensor_create (floats 4 16))))"
         "(setq rms (tensor_rms_norm (tensor_create (floats 3 4)) (tensor_create (floats 1 2)) 0.0))");
    CHECK("add", 0, 11, 22, 33, 14, 25, 36);
    CHECK("rsub", 0, 0, -1, -2, -3, -4, -5);
    CHECK("rdiv", 1e-6, 6, 3, 2, 1.5, 1.2, 1);
    CHECK("ms", 0, 2, 4, 6, 8, 10, 12);
    CHECK("as", 0, 0, 1, 2, 3, 4, 5);
    CHECK("ds", 0, 0.5, 1, 1.5, 2, 2.5, 3);
    CHECK("mm", 0, 14, 32, 32, 77);
    CHECK("lin", 0, 2, 7, 5, 13);
    CHECK("pw", 1e-6, 1, 4, 9, 16, 25, 36);
    CHECK("cl", 0, 2, 2, 3, 4, 4, 4);
    CHECK("cl2", 0, 1, 2, 3, 3, 3, 3);
    CHECK("mk", 0, -1, 2, 3, 4, 5, -1);
    double e1 = exp(1), e2 = exp(2), e3 = exp(3), s = e1 + e2 + e3;
    CHECK("sm", 1e-6, e1 / s, e2 / s, e3 / s);
    CHECK("md", 1e-6, 2, 5);
    CHECK("sd", 0, 5, 7, 9);
    CHECK("cs", 0, 1, 3, 6, 4, 9, 15);
    Node *am = gtensor("am");
    SHAPE(am, 2, 1);                 /* lispe_torch: keepdim defaults to true */
    const int64_t *ai = force(am);
    cr_assert(ai[0] == 2 && ai[1] == 2);
    CHECK("re", 0, 0, 0, 1);
    CHECK("ge", 1e-6, -0.15865525, 0, 0.84134475);
    CHECK("si", 1e-6, -0.26894142, 0, 0.73105858);
    CHECK("sg", 1e-6, 0.26894142, 0.5, 0.73105858);
    CHECK("rs", 1e-6, 0.5, 0.25);
    double r = sqrt(12.5);
    CHECK("rms", 1e-6, 3 / r, 8 / r);
}

Test(torch, lisp_operators_on_tensors) {
    EVAL("(setq a (tensor_create (floats 1 2 4)))"
         "(setq p (+ a 1))"
         "(setq m (- 10 a))"
         "(setq t (* a a))"
         "(setq d (/ a 2))");
    CHECK("p", 0, 2, 3, 5);
    CHECK("m", 0, 9, 8, 6);
    CHECK("t", 0, 1, 4, 16);
    CHECK("d", 0, 0.5, 1, 2);
}

Test(torch, scalar_reductions) {
    EVAL("(setq a (tensor_create (list (floats 1 2 3) (floats 4 5 6))))"
         "(setq s (tensor_sum a)) (setq m (tensor_mean a)) (setq hi (tensor_max a))"
         "(setq lo (tensor_min a)) (setq sd (tensor_std a))"
         "(setq it (tensor_item (tensor_create (floats 2.5))))"
         "(setq ii (tensor_item (tensor_create (integers 7))))");
    cr_assert_float_eq(glob("s")->n, 21, 1e-9);
    cr_assert_float_eq(glob("m")->n, 3.5, 1e-9);
    cr_assert_float_eq(glob("hi")->n, 6, 1e-9);
    cr_assert_float_eq(glob("lo")->n, 1, 1e-9);
    cr_assert_float_eq(glob("sd")->n, sqrt(3.5), 1e-6);
    cr_assert_float_eq(glob("it")->n, 2.5, 1e-9);
    cr_assert_eq(glob("ii")->kind, V_INT);
    cr_assert_eq(glob("ii")->i, 7);
    EVAL_FAILS("(tensor_item (tensor_create (floats 1 2)))", "cannot be converted");
}

Test(torch, errors) {
    EVAL_FAILS("(tensor_add (tensor_ones (integers 2 3)) (tensor_ones (integers 4)))", "broadcast");
    EVAL_FAILS("(torch_linear \"a\" 3)", "torch_linear: argument 1 (in_features) must be an integer, got a string");
    EVAL_FAILS("(torch_flash_attention_create 10 3)", "embed_dim must be divisible by num_heads");
    EVAL_FAILS("(tensor_transpose (tensor_ones (integers 2 3)) 0 2)", "out of range");
    EVAL_FAILS("(tensor_create (list (floats 1 2) (floats 3)))", "ragged");
    EVAL_FAILS("(tensor_relu \"x\")", "argument 1 must be a tensor");
    EVAL_FAILS("(torch_embedding_forward (torch_embedding 4 2) (tensor_ones (integers 2)))", "i64");
    EVAL_FAILS("(torch_to_device (tensor_ones (integers 2)) \"tpu\")", "unknown device");
}

Test(torch, dropout_only_when_training) {
    EVAL("(setq x (tensor_ones (integers 1000)))"
         "(setq y (tensor_dropout x 0.5))"
         "(setq z (torch_dropout x 0.5 true))");
    cr_assert_eq(gtensor("x"), gtensor("y"));
    const float *z = fdata("z");
    int zeros = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert(z[i] == 0 || fabsf(z[i] - 2) < 1e-6, "dropout keeps x/(1-p)");
        zeros += z[i] == 0;
    }
    cr_assert(zeros > 400 && zeros < 600, "%d zeros", zeros);
}

/* ---- module initialisation ---------------------------------------------------- */
static Node *field(Value *m, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    Value *v = m;
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, ".")) {
        cr_assert_eq(v->kind, V_MODULE, "%s: not a module at %s", path, tok);
        v = dict_get(v->mod->fields, tok);
        cr_assert(v != NULL, "no field %s in %s", tok, path);
    }
    cr_assert_eq(v->kind, V_TENSOR);
    return v->t;
}

static void check_bound(Node *t, double bound) {
    const float *p = force(t);
    size_t n = numel(t);
    float hi = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabsf(p[i]) <= bound + 1e-7, "|%g| > %g", p[i], bound);
        if (fabsf(p[i]) > hi) hi = fabsf(p[i]);
    }
    if (n >= 64) cr_assert(hi > 0.8 * bound, "values use the range (max %g of %g)", hi, bound);
}

static void check_fill(Node *t, float f) {
    const float *p = force(t);
    for (size_t i = 0; i < numel(t); i++) cr_assert_eq(p[i], f);
}

Test(torch, module_init) {
    EVAL("(setq l (torch_linear 64 32))"
         "(setq nb (torch_linear_create 4 3 false))"
         "(setq ln (torch_layer_norm_create 8))"
         "(setq em (torch_embedding 50 40))"
         "(setq fa (torch_flash_attention_create 16 4))"
         "(setq fnb (torch_flash_attention_create 16 4 0.0 false))"
         "(setq mha (torch_multihead_attention 16 4))"
         "(setq blk (torch_transformer_block 16 4 32))");
    Value *l = glob("l");
    SHAPE(field(l, "weight"), 32, 64);
    SHAPE(field(l, "bias"), 32);
    check_bound(field(l, "weight"), 1 / 8.0);
    check_bound(field(l, "bias"), 1 / 8.0);
    cr_assert_null(dict_get(glob("nb")->mod->fields, "bias"));
    check_fill(field(glob("ln"), "weight"), 1);
    check_fill(field(glob("ln"), "bias"), 0);
    Node *ew = field(glob("em"), "weight");
    SHAPE(ew, 50, 40);
    const float *e = force(ew);
    double m = 0, v = 0;
    for (int i = 0; i < 2000; i++) m += e[i];
    m /= 2000;
    for (int i = 0; i < 2000; i++) v += (e[i] - m) * (e[i] - m);
    cr_assert(fabs(m) < 0.1 && fabs(v / 1999 - 1) < 0.15, "N(0,1): mean %g var %g", m, v / 1999);
    Value *fa = glob("fa");
    const char *proj[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    for (int i = 0; i < 4; i++) {
        char w[64], b[64];
        snprintf(w, sizeof w, "%s.weight", proj[i]);
        snprintf(b, sizeof b, "%s.bias", proj[i]);
        SHAPE(field(fa, w), 16, 16);
        check_bound(field(fa, w), sqrt(6.0 / 32));
        check_bound(field(fa, b), 0.25);
        cr_assert_null(dict_get(dict_get(glob("fnb")->mod->fields, proj[i])->mod->fields, "bias"));
    }
    Value *mha = glob("mha");
    SHAPE(field(mha, "in_proj_weight"), 48, 16);
    check_bound(field(mha, "in_proj_weight"), sqrt(6.0 / 64));
    check_fill(field(mha, "in_proj_bias"), 0);
    check_bound(field(mha, "out_proj.weight"), 0.25);
    check_fill(field(mha, "out_proj.bias"), 0);
    Value *blk = glob("blk");
    SHAPE(field(blk, "attention.in_proj_weight"), 48, 16);
    SHAPE(field(blk, "ffn1.weight"), 32, 16);
    SHAPE(field(blk, "ffn2.weight"), 16, 32);
    SHAPE(field(blk, "norm2.bias"), 16);
}

Test(torch, seeds_are_deterministic) {
    EVAL("(torch_set_seed 7) (setq a (tensor_randn (integers 16)))"
         "(torch_manual_seed 7) (setq b (tensor_randn (integers 16)))"
         "(setq c (tensor_randn (integers 16)))");
    const float *a = fdata("a"), *b = fdata("b"), *c = fdata("c");
    cr_assert_eq(memcmp(a, b, 16 * sizeof(float)), 0);
    cr_assert_neq(memcmp(a, c, 16 * sizeof(float)), 0);
}

/* ---- attention against plain-C references ---------------------------------------- */
/* y[r, o] = sum_i x[r, i] W[o, i] + b[o] */
static void ref_linear(const float *x, int rows, int in, const float *W, const float *b, int out, float *y) {
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int i = 0; i < in; i++) s += (double)x[r * in + i] * W[o * in + i];
            y[r * out + o] = (float)s;
        }
}

/* One head: o[i] = softmax_j(q_i.k_j * scale + mask) v_j; strides in floats. */
static void ref_attention(const float *q, const float *k, const float *v, float *o, int Sq, int Sk, int D,
                          int qs, int ks, int vs, int os, double scale, bool causal) {
    for (int i = 0; i < Sq; i++) {
        double sc[64], mx = -INFINITY, sum = 0;
        for (int j = 0; j < Sk; j++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += (double)q[i * qs + d] * k[j * ks + d];
            sc[j] = causal && j > i ? -INFINITY : s * scale;
            if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j < Sk; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
        for (int d = 0; d < D; d++) {
            double acc = 0;
            for (int j = 0; j < Sk; j++) acc += sc[j] / sum * v[j * vs + d];
            o[i * os + d] = (float)acc;
        }
    }
}

Test(torch, flash_attention_matches_reference) {
    EVAL("(setq fa (torch_flash_attention_create 8 2))"
         "(setq x (tensor_randn (integers 2 3 8)))"
         "(setq kv (tensor_randn (integers 2 5 8)))"
         "(setq y (torch_flash_attention_forward fa x kv kv))");
    enum { B = 2, Sq = 3, Sk = 5, E = 8, H = 2, Dh = 4 };
    Value *fa = glob("fa");
    const float *x = fdata("x"), *kv = fdata("kv");
    float Q[B * Sq * E], K[B * Sk * E], V[B * Sk * E], O[B * Sq * E], Y[B * Sq * E];
    ref_linear(x, B * Sq, E, force(field(fa, "q_proj.weight")), force(field(fa, "q_proj.bias")), E, Q);
    ref_linear(kv, B * Sk, E, force(field(fa, "k_proj.weight")), force(field(fa, "k_proj.bias")), E, K);
    ref_linear(kv, B * Sk, E, force(field(fa, "v_proj.weight")), force(field(fa, "v_proj.bias")), E, V);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)          /* head h = features [h*Dh, (h+1)*Dh) */
            ref_attention(Q + b * Sq * E + h * Dh, K + b * Sk * E + h * Dh, V + b * Sk * E + h * Dh,
                          O + b * Sq * E + h * Dh, Sq, Sk, Dh, E, E, E, E, 1 / sqrt((double)Dh), false);
    ref_linear(O, B * Sq, E, force(field(fa, "out_proj.weight")), force(field(fa, "out_proj.bias")), E, Y);
    Node *y = gtensor("y");
    SHAPE(y, B, Sq, E);
    assert_close(force(y), Y, B * Sq * E, 1e-5);
}

Test(torch, sdpa_arity_and_reference) {
    EVAL("(setq q (tensor_randn (integers 1 2 4 3)))"
         "(setq k (tensor_randn (integers 1 2 4 3)))"
         "(setq v (tensor_randn (integers 1 2 4 3)))"
         "(setq a3 (torch_scaled_dot_product_attention q k v))"
         "(setq a4 (torch_scaled_dot_product_attention q k v nil))"
         "(setq a5 (torch_scaled_dot_product_attention q k v nil 0.0))"
         "(setq a6 (torch_scaled_dot_product_attention q k v nil 0.0 true))"
         "(setq a7 (torch_scaled_dot_product_attention q k v nil 0.0 false 0.5))"
         "(setq fl (torch_flash_attention q k v))");
    EVAL_FAILS("(torch_scaled_dot_product_attention q k v nil 0.0 false nil true 1)", "expects 3 to 8");
    EVAL_FAILS("(torch_scaled_dot_product_attention q k v (tensor_ones (integers 4 4)) 0.0 true)",
               "cannot both be set");
    const float *q = fdata("q"), *k = fdata("k"), *v = fdata("v");
    float r3[24], r6[24], r7[24];
    for (int h = 0; h < 2; h++) {
        int o = h * 12;
        ref_attention(q + o, k + o, v + o, r3 + o, 4, 4, 3, 3, 3, 3, 3, 1 / sqrt(3.0), false);
        ref_attention(q + o, k + o, v + o, r6 + o, 4, 4, 3, 3, 3, 3, 3, 1 / sqrt(3.0), true);
        ref_attention(q + o, k + o, v + o, r7 + o, 4, 4, 3, 3, 3, 3, 3, 0.5, false);
    }
    assert_close(fdata("a3"), r3, 24, 1e-5);
    assert_close(fdata("a4"), r3, 24, 1e-5);
    assert_close(fdata("a5"), r3, 24, 1e-5);
    assert_close(fdata("a6"), r6, 24, 1e-5);
    assert_close(fdata("a7"), r7, 24, 1e-5);
    assert_close(fdata("fl"), r3, 24, 1e-5);
}

Test(torch, flash_mask_and_layer_norm) {
    EVAL("(setq fa (torch_flash_attention_create 8 2))"
         "(setq x (tensor_randn (integers 2 4 8)))"
         "(setq keep (tensor_ones (integers 4 4)))"
         "(setq y0 (torch_flash_attention_forward fa x x x))"
         "(setq y1 (torch_flash_attention_with_mask fa x x x (tensor_mul_scalar keep 3.0)))"
         "(setq y2 (torch_flash_attention_with_dropout fa x x x 0.5 false))"
         "(setq ln (torch_layer_norm 8))"
         "(setq n (torch_layer_norm_forward ln x))");
    /* a constant additive mask changes nothing (softmax is shift-invariant) */
    assert_close(fdata("y1"), fdata("y0"), 64, 1e-5);
    cr_assert_eq(memcmp(fdata("y2"), fdata("y0"), 64 * sizeof(float)), 0);
    const float *n = fdata("n");
    for (int r = 0; r < 8; r++) {
        double m = 0, v = 0;
        for (int i = 0; i < 8; i++) m += n[r * 8 + i];
        m /= 8;
        for (int i = 0; i < 8; i++) v += (n[r * 8 + i] - m) * (n[r * 8 + i] - m);
        cr_assert(fabs(m) < 1e-5 && fabs(v / 8 - 1) < 1e-3, "row %d mean %g var %g", r, m, v / 8);
    }
}

Test(torch, mha_and_block_shapes) {
    EVAL("(setq blk (torch_transformer_block 16 4 32))"
         "(setq x (tensor_randn (integers 5 2 16)))"
         "(setq a (torch_attention_forward (@ blk \"attention\") x x x))"
         "(setq y (torch_transformer_forward blk x))");
    SHAPE(gtensor("a"), 5, 2, 16);
    SHAPE(gtensor("y"), 5, 2, 16);
    const float *y = fdata("y");
    for (int i = 0; i < 160; i++) cr_assert(isfinite(y[i]));
}

Test(torch, positional_and_rotary) {
    EVAL("(setq pe (torch_positional_encoding 6 10))"
         "(setq x (tensor_zeros (integers 3 2 6)))"
         "(setq y (torch_positional_forward pe x))"
         "(setq rope (torch_rotary_embedding 4 16))"
         "(setq cs (torch_rotary_forward rope 3 \"cpu\"))"
         "(setq c (car cs)) (setq s (car (cdr cs)))"
         "(setq t (tensor_randn (integers 1 2 3 4)))"
         "(setq r (torch_apply_rotary_pos_emb t c s))");
    Node *y = gtensor("y");
    SHAPE(y, 3, 2, 6);
    const float *p = force(y);
    for (int pos = 0; pos < 3; pos++)
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 3; i++) {
                double ang = pos * exp(-2.0 * i * log(10000.0) / 6);
                cr_assert(fabs(p[(pos * 2 + b) * 6 + 2 * i] - sin(ang)) < 1e-5);
                cr_assert(fabs(p[(pos * 2 + b) * 6 + 2 * i + 1] - cos(ang)) < 1e-5);
            }
    SHAPE(gtensor("c"), 3, 4);
    const float *t = fdata("t"), *r = fdata("r");
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 3; s++) {
            const float *x = t + (h * 3 + s) * 4;
            double f[2] = {s * 1.0, s / 100.0};     /* inv_freq = 1, 1/10000^(2/4) */
            for (int i = 0; i < 2; i++) {
                double c = cos(f[i]), sn = sin(f[i]);
                double want1 = x[i] * c - x[i + 2] * sn, want2 = x[i + 2] * c + x[i] * sn;
                cr_assert(fabs(r[(h * 3 + s) * 4 + i] - want1) < 1e-5);
                cr_assert(fabs(r[(h * 3 + s) * 4 + i + 2] - want2) < 1e-5);
            }
        }
}

Test(torch, devices) {
    EVAL("(setq d (torch_get_best_device))"
         "(setq x (tensor_ones (integers 2)))"
         "(setq y (torch_to_device x \"cuda:1\"))"
         "(setq c (torch_cuda_is_available))");
    cr_assert_str_eq(glob("d")->s, "cpu");
    cr_assert_eq(gtensor("x"), gtensor("y"));
    cr_assert_eq(glob("c")->kind, V_NIL);
}

/* Mask layouts [Sq,Sk], [B,1,Sq,Sk], [B,H,Sq,Sk]: an additive causal mask
 * (-1e9 above the diagonal) gives the causal reference. */
Test(torch, flash_mask_layouts) {
    EVAL("(setq fa (torch_flash_attention_create 8 2))"
         "(setq x (tensor_randn (integers 2 4 8)))"
         "(setq m2 (tensor_mul_scalar (tensor_triu (tensor_ones (integers 4 4)) 1) -1e9))"
         "(setq m4 (tensor_reshape m2 (integers 1 1 4 4)))"
         "(setq mb (tensor_add (tensor_zeros (integers 2 2 4 4)) m2))"
         "(setq y2 (torch_flash_attention_with_mask fa x x x m2))"
         "(setq y4 (torch_flash_attention_with_mask fa x x x m4))"
         "(setq yb (torch_flash_attention_with_mask fa x x x mb))");
    enum { B = 2, S = 4, E = 8, H = 2, Dh = 4 };
    Value *fa = glob("fa");
    const float *x = fdata("x");
    float Q[B * S * E], K[B * S * E], V[B * S * E], O[B * S * E], Y[B * S * E];
    ref_linear(x, B * S, E, force(field(fa, "q_proj.weight")), force(field(fa, "q_proj.bias")), E, Q);
    ref_linear(x, B * S, E, force(field(fa, "k_proj.weight")), force(field(fa, "k_proj.bias")), E, K);
    ref_linear(x, B * S, E, force(field(fa, "v_proj.weight")), force(field(fa, "v_proj.bias")), E, V);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            ref_attention(Q + b * S * E + h * Dh, K + b * S * E + h * Dh, V + b * S * E + h * Dh,
                          O + b * S * E + h * Dh, S, S, Dh, E, E, E, E, 0.5, true);
    ref_linear(O, B * S, E, force(field(fa, "out_proj.weight")), force(field(fa, "out_proj.bias")), E, Y);
    assert_close(fdata("y2"), Y, B * S * E, 1e-5);
    assert_close(fdata("y4"), Y, B * S * E, 1e-5);
    assert_close(fdata("yb"), Y, B * S * E, 1e-5);
}

/* libtorch MHA, sequence-first: in_proj rows [0,E) q, [E,2E) k, [2E,3E) v. */
Test(torch, mha_matches_reference) {
    EVAL("(setq mha (torch_multihead_attention 8 2))"
         "(setq q (tensor_randn (integers 3 2 8)))"
         "(setq kv (tensor_randn (integers 5 2 8)))"
         "(setq y (torch_multihead_attention_forward mha q kv kv))");
    enum { Sq = 3, Sk = 5, B = 2, E = 8, H = 2, Dh = 4 };
    Value *m = glob("mha");
    const float *W = force(field(m, "in_proj_weight")), *bias = force(field(m, "in_proj_bias"));
    const float *q = fdata("q"), *kv = fdata("kv");
    float Q[Sq * B * E], K[Sk * B * E], V[Sk * B * E], O[Sq * B * E], Y[Sq * B * E];
    ref_linear(q, Sq * B, E, W, bias, E, Q);
    ref_linear(kv, Sk * B, E, W + E * E, bias + E, E, K);
    ref_linear(kv, Sk * B, E, W + 2 * E * E, bias + 2 * E, E, V);
    for (int b = 0; b < B; b++)            /* row (s, b) at (s*B + b)*E */
        for (int h = 0; h < H; h++)
            ref_attention(Q + b * E + h * Dh, K + b * E + h * Dh, V + b * E + h * Dh, O + b * E + h * Dh,
                          Sq, Sk, Dh, B * E, B * E, B * E, B * E, 0.5, false);
    ref_linear(O, Sq * B, E, force(field(m, "out_proj.weight")), force(field(m, "out_proj.bias")), E, Y);
    Node *y = gtensor("y");
    SHAPE(y, Sq, B, E);
    assert_close(force(y), Y, Sq * B * E, 1e-5);
}

/* Ragged random shapes: linear and matmul against the C reference. */
Test(torch, random_shapes_linear) {
    unsigned seed = 12345;
    for (int it = 0; it < 6; it++) {
        seed = seed * 1103515245u + 12345u;
        int rows = 1 + (int)(seed >> 16) % 7, in = 1 + (int)(seed >> 8) % 13, out = 1 + (int)(seed >> 20) % 9;
        char src[256];
        snprintf(src, sizeof src, "(setq l (torch_linear %d %d)) (setq x (tensor_randn (integers %d %d)))"
                 "(setq y (torch_linear_forward l x)) (setq z (tensor_matmul x (tensor_transpose (@ l \"weight\") 0 1)))",
                 in, out, rows, in);
        EVAL(src);
        Value *l = glob("l");
        float Y[7 * 9], Z[7 * 9];
        ref_linear(fdata("x"), rows, in, force(field(l, "weight")), force(field(l, "bias")), out, Y);
        ref_linear(fdata("x"), rows, in, force(field(l, "weight")), NULL, out, Z);
        SHAPE(gtensor("y"), rows, out);
        assert_close(fdata("y"), Y, (size_t)(rows * out), 1e-5);
        assert_close(fdata("z"), Z, (size_t)(rows * out), 1e-5);
    }
}

/* Malformed calls fail with a message; none crashes. */
Test(torch, bad_input_never_crashes) {
    EVAL("(setq t (tensor_ones (integers 2 3)))");
    const char *bad[] = {
        "(tensor_reshape t (integers 4 4))", "(tensor_reshape t \"x\")", "(tensor_reshape t (list 1 \"a\"))",
        "(tensor_reshape t (integers -1 -1))", "(tensor_permute t (integers 0 0))", "(tensor_permute t (integers 0))",
        "(tensor_cat (list) 0)", "(tensor_cat (list t 3) 0)", "(tensor_cat (list t (tensor_ones (integers 4))) 0)",
        "(tensor_select t 0 5)", "(tensor_select t 3 0)", "(tensor_unsqueeze t 9)", "(tensor_squeeze t -7)",
        "(tensor_zeros (integers 2 -3))", "(tensor_matmul t t)", "(tensor_softmax t 2)", "(tensor_pow t t)",
        "(tensor_triu (tensor_ones (integers 3)))", "(tensor_create \"abc\")", "(tensor_create (list (list 1) 2))",
        "(tensor_arange 0 5 0)", "(torch_linear 0 3)", "(torch_linear 3)", "(torch_linear_forward t t)",
        "(torch_linear_forward (torch_linear 4 2) t)", "(torch_layer_norm_forward (torch_layer_norm 4) t)",
        "(torch_embedding_forward (torch_embedding 4 2) t)", "(torch_flash_attention_forward (torch_flash_attention_create 4 2) t t t)",
        "(torch_scaled_dot_product_attention t t)", "(torch_scaled_dot_product_attention t t t nil 2.0)",
        "(torch_rotary_embedding 3 10)", "(torch_rotary_forward (torch_rotary_embedding 4 10) 11)",
        "(torch_positional_forward (torch_positional_encoding 3 2) (tensor_ones (integers 4 1 3)))",
        "(torch_apply_rotary_pos_emb (tensor_ones (integers 1 3)) t t)", "(tensor_dropout t 2.0)",
        "(tensor_masked_fill t t \"x\")", "(tensor_item t)", "(torch_to_device t 5)", "(tensor_slice t 5 0 1)",
        "(torch_attention_forward (torch_multihead_attention 4 2) t t t)", "(torch_transformer_block 6 4 8)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_neq(eval(bad[i]), 0, "%s should fail", bad[i]);
        cr_assert(I.diag.msg[0] != 0, "%s: empty message", bad[i]);
    }
}
