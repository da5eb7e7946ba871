/* ir_interp.c: reference interpreter kernels against hand-computed values
 * and naive loops written here. */
#include "ir_util.h"

static Arena A;
static Graph *E;
static void setup(void) { arena_init(&A); E = graph_new(&A, NULL, true); }
static void teardown(void) { arena_free(&A); }
TestSuite(ir_interp, .init = setup, .fini = teardown);

static Node *F(Shape s, const float *v) { return konst(E, DT_F32, s, v); }

Test(ir_interp, binary_broadcast) {
    float a[6] = {1, 2, 3, 4, 5, 6};      /* [2,1,3] */
    float b[4] = {10, 20, 30, 40};        /* [4,1] */
    Node *x[2] = {F(S(3, 2, 1, 3), a), F(S(2, 4, 1), b)};
    float *r = evalf(E, OP_SUB, x, 2, NULL);
    cr_assert_eq(x[0]->graph->nodes[2]->shape.rank, 3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++) cr_assert_eq(r[(i * 4 + j) * 3 + k], a[i * 3 + k] - b[j]);
    /* i64 + f32 -> f32, bool mask fill */
    int64_t iv[3] = {1, 2, 3};
    Node *y[2] = {konst(E, DT_I64, S(1, 3), iv), F(S(1, 3), (float[]){0.5f, 0.25f, 0.125f})};
    r = evalf(E, OP_DIV, y, 2, NULL);
    cr_assert_eq(r[0], 2.0f); cr_assert_eq(r[1], 8.0f); cr_assert_eq(r[2], 24.0f);
    uint8_t mv[3] = {1, 0, 1};
    Node *z[2] = {F(S(2, 2, 3), a), konst(E, DT_BOOL, S(1, 3), mv)};
    Attr fa = {.f = -1};
    r = evalf(E, OP_MASKED_FILL, z, 2, &fa);
    float want[6] = {-1, 2, -1, -1, 5, -1};
    for (int i = 0; i < 6; i++) cr_assert_eq(r[i], want[i]);
}

Test(ir_interp, unary) {
    float v[6] = {-1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 0};
    Node *x = F(S(1, 6), v);
    float *r = evalf(E, OP_ROUND, &x, 1, NULL);
    float wr[6] = {-2, -0, 0, 2, 2, 0};
    for (int i = 0; i < 6; i++) cr_assert_eq(r[i], wr[i]);
    r = evalf(E, OP_GELU, &x, 1, NULL);
    for (int i = 0; i < 6; i++) cr_assert_float_eq(r[i], 0.5 * v[i] * (1 + erf(v[i] / sqrt(2.0))), 1e-6);
    r = evalf(E, OP_SILU, &x, 1, NULL);
    cr_assert_float_eq(r[3], 1.5 / (1 + exp(-1.5)), 1e-6);
    Attr c = {.f = -1, .f2 = 1};
    r = evalf(E, OP_CLAMP, &x, 1, &c);
    cr_assert_eq(r[0], -1); cr_assert_eq(r[1], -0.5f); cr_assert_eq(r[4], 1);
    Attr p = {.f = 2};
    r = evalf(E, OP_POW_SCALAR, &x, 1, &p);
    cr_assert_eq(r[4], 6.25f);
    Attr rs = {.f = 1};
    r = evalf(E, OP_RSUB_SCALAR, &x, 1, &rs);
    cr_assert_eq(r[0], 2.5f);
    r = evalf(E, OP_RELU, &x, 1, NULL);
    cr_assert_eq(r[0], 0); cr_assert_eq(r[3], 1.5f);
    Attr ci = {.dtype = DT_I64};
    Node *xi = emit(E, OP_CAST, &x, 1, &ci);
    LtcDiag d;
    cr_assert_eq(ir_force(xi, &d), 0);
    int64_t *iv = xi->data;
    cr_assert_eq(iv[0], -1); cr_assert_eq(iv[3], 1); cr_assert_eq(iv[4], 2);
}

Test(ir_interp, matmul) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    Node *x[2] = {F(S(2, 2, 3), a), F(S(2, 3, 2), b)};
    float *r = evalf(E, OP_MATMUL, x, 2, NULL);
    float w[4] = {58, 64, 139, 154};
    for (int i = 0; i < 4; i++) cr_assert_eq(r[i], w[i]);
    /* 1-D x 2-D and 2-D x 1-D and 1-D x 1-D */
    Node *v3 = F(S(1, 3), (float[]){1, 0, -1});
    Node *p[2] = {v3, x[1]};
    r = evalf(E, OP_MATMUL, p, 2, NULL);
    cr_assert_eq(r[0], 7 - 11); cr_assert_eq(r[1], 8 - 12);
    p[0] = x[0]; p[1] = v3;
    r = evalf(E, OP_MATMUL, p, 2, NULL);
    cr_assert_eq(r[0], 1 - 3); cr_assert_eq(r[1], 4 - 6);
    p[0] = v3; p[1] = v3;
    r = evalf(E, OP_MATMUL, p, 2, NULL);
    cr_assert_eq(r[0], 2);
}

Test(ir_interp, matmul_batched_random) {
    for (int t = 0; t < 6; t++) {
        int B1 = 1 + (int)(philox_u32(10, t) % 3), B2 = 1 + (int)(philox_u32(11, t) % 3);
        int M = 1 + (int)(philox_u32(12, t) % 7), K = 1 + (int)(philox_u32(13, t) % 9), N = 1 + (int)(philox_u32(14, t) % 5);
        Node *a = rconst(E, S(4, B1, 1, M, K), 100 + t), *b = rconst(E, S(3, B2, K, N), 200 + t);
        Node *p[2] = {a, b};
        float *r = evalf(E, OP_MATMUL, p, 2, NULL);
        const float *A_ = a->data, *B_ = b->data;
        for (int i = 0; i < B1; i++)
            for (int j = 0; j < B2; j++)
                for (int m = 0; m < M; m++)
                    for (int n = 0; n < N; n++) {
                        double s = 0;
                        for (int k = 0; k < K; k++) s += (double)A_[(i * M + m) * K + k] * B_[(j * K + k) * N + n];
                        cr_assert_float_eq(r[((i * B2 + j) * M + m) * N + n], s, 1e-5);
                    }
    }
}

Test(ir_interp, linear) {
    float x[6] = {1, 2, 3, 4, 5, 6};                 /* [2,3] */
    float w[6] = {1, 0, 0, 0, 1, 1};                 /* [2,3] */
    float b[2] = {0.5f, -1};
    Node *p[3] = {F(S(2, 2, 3), x), F(S(2, 2, 3), w), F(S(1, 2), b)};
    float *r = evalf(E, OP_LINEAR, p, 3, NULL);
    float want[4] = {1.5f, 4, 4.5f, 10};
    for (int i = 0; i < 4; i++) cr_assert_eq(r[i], want[i]);
    r = evalf(E, OP_LINEAR, p, 2, NULL);
    cr_assert_eq(r[3], 11);
}

Test(ir_interp, softmax_and_norms) {
    float v[3] = {1, 2, 3};
    Node *x = F(S(1, 3), v);
    Attr a = {.axis = 0};
    float *r = evalf(E, OP_SOFTMAX, &x, 1, &a);
    double z = exp(1) + exp(2) + exp(3);
    double want[3] = {exp(1) / z, exp(2) / z, exp(3) / z};
    assert_close(r, want, 3, 1e-6, "softmax");
    r = evalf(E, OP_LOG_SOFTMAX, &x, 1, &a);
    double wl[3] = {1 - log(z), 2 - log(z), 3 - log(z)};
    assert_close(r, wl, 3, 1e-6, "log_softmax");
    /* axis 0 of a [2,2] */
    Node *m = F(S(2, 2, 2), (float[]){0, 5, 0, 5});
    r = evalf(E, OP_SOFTMAX, &m, 1, &a);
    for (int i = 0; i < 4; i++) cr_assert_float_eq(r[i], 0.5, 1e-7);
    Node *inf = F(S(1, 2), (float[]){-INFINITY, -INFINITY});
    r = evalf(E, OP_SOFTMAX, &inf, 1, &a);
    cr_assert(isnan(r[0]) && isnan(r[1]));

    float lv[4] = {1, 2, 3, 4};
    Node *p[3] = {F(S(1, 4), lv), F(S(1, 4), (float[]){1, 2, 1, 1}), F(S(1, 4), (float[]){0, 0, 0, 1})};
    Attr ln = {.eps = 1e-5};
    r = evalf(E, OP_LAYER_NORM, p, 3, &ln);
    double sd = sqrt(1.25 + 1e-5);                         /* mean 2.5, biased var 1.25 */
    double wn[4] = {-1.5 / sd, 2 * -0.5 / sd, 0.5 / sd, 1.5 / sd + 1};
    assert_close(r, wn, 4, 1e-6, "layer_norm");
    Attr rn = {.eps = 1e-6};
    r = evalf(E, OP_RMS_NORM, p, 2, &rn);
    double rr = 1 / sqrt(7.5 + 1e-6);                      /* mean of squares 30/4 */
    double wr[4] = {rr, 4 * rr, 3 * rr, 4 * rr};
    assert_close(r, wr, 4, 1e-6, "rms_norm");
}

Test(ir_interp, reductions) {
    float v[6] = {1, 5, 3, 4, 2, 6};                      /* [2,3] */
    Node *x = F(S(2, 2, 3), v);
    Attr a1 = {.axis = 1}, a0 = {.axis = 0, .keepdim = true};
    float *r = evalf(E, OP_SUM_DIM, &x, 1, &a1);
    cr_assert_eq(r[0], 9); cr_assert_eq(r[1], 12);
    r = evalf(E, OP_MEAN_DIM, &x, 1, &a0);
    cr_assert_eq(r[0], 2.5f); cr_assert_eq(r[1], 3.5f); cr_assert_eq(r[2], 4.5f);
    r = evalf(E, OP_MAX_DIM, &x, 1, &a1);
    cr_assert_eq(r[0], 5); cr_assert_eq(r[1], 6);
    Node *am = emit(E, OP_ARGMAX, &x, 1, &a1);
    LtcDiag d;
    cr_assert_eq(ir_force(am, &d), 0);
    cr_assert_eq(((int64_t *)am->data)[0], 1);
    cr_assert_eq(((int64_t *)am->data)[1], 2);
    r = evalf(E, OP_CUMSUM, &x, 1, &a1);
    float wc[6] = {1, 6, 9, 4, 6, 12};
    for (int i = 0; i < 6; i++) cr_assert_eq(r[i], wc[i]);
}

Test(ir_interp, triu_tril) {
    float v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    Node *x = F(S(2, 3, 3), v);
    Attr a = {.i = 1};
    float *r = evalf(E, OP_TRIU, &x, 1, &a);
    float wu[9] = {0, 2, 3, 0, 0, 6, 0, 0, 0};
    for (int i = 0; i < 9; i++) cr_assert_eq(r[i], wu[i]);
    Attr b = {.i = 0};
    r = evalf(E, OP_TRIL, &x, 1, &b);
    float wl[9] = {1, 0, 0, 4, 5, 0, 7, 8, 9};
    for (int i = 0; i < 9; i++) cr_assert_eq(r[i], wl[i]);
}

Test(ir_interp, layout) {
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i;
    Node *x = F(S(3, 2, 3, 4), v);
    Attr p = {.perm = {2, 0, 1}};
    float *r = evalf(E, OP_PERMUTE, &x, 1, &p);                /* [4,2,3] */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) cr_assert_eq(r[(k * 2 + i) * 3 + j], v[(i * 3 + j) * 4 + k]);
    Attr s = {.axis = 2, .start = dim_const(1), .end = dim_const(4), .step = 2};
    r = evalf(E, OP_SLICE, &x, 1, &s);                          /* [2,3,2]: k = 1,3 */
    for (int i = 0; i < 6; i++) { cr_assert_eq(r[2 * i], v[4 * i + 1]); cr_assert_eq(r[2 * i + 1], v[4 * i + 3]); }
    Attr rs = {0};
    rs.shape = S(2, 6, 4);
    r = evalf(E, OP_RESHAPE, &x, 1, &rs);
    for (int i = 0; i < 24; i++) cr_assert_eq(r[i], v[i]);
    Node *c = F(S(2, 2, 1), (float[]){-1, -2});
    Node *q[3] = {x, c, x};
    Attr ct = {.axis = 1};
    Attr rs2 = {0};
    rs2.shape = S(2, 2, 12);
    Node *x2 = emit(E, OP_RESHAPE, &x, 1, &rs2);
    q[0] = x2; q[2] = x2;
    r = evalf(E, OP_CAT, q, 3, &ct);                            /* [2,25] */
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 12; j++) { cr_assert_eq(r[i * 25 + j], v[i * 12 + j]); cr_assert_eq(r[i * 25 + 13 + j], v[i * 12 + j]); }
        cr_assert_eq(r[i * 25 + 12], -1 - i);
    }
    Attr e = {0};
    e.shape = S(3, 3, 2, 2);
    Node *col = F(S(2, 2, 1), (float[]){7, 8});
    r = evalf(E, OP_EXPAND, &col, 1, &e);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(r[i * 4 + 0], 7); cr_assert_eq(r[i * 4 + 1], 7);
        cr_assert_eq(r[i * 4 + 2], 8); cr_assert_eq(r[i * 4 + 3], 8);
    }
}

Test(ir_interp, embedding) {
    float t[6] = {0, 1, 10, 11, 20, 21};                        /* [3,2] */
    int64_t ids[4] = {2, 0, 1, 2};
    Node *p[2] = {konst(E, DT_I64, S(2, 2, 2), ids), F(S(2, 3, 2), t)};
    float *r = evalf(E, OP_EMBEDDING, p, 2, NULL);
    float w[8] = {20, 21, 0, 1, 10, 11, 20, 21};
    for (int i = 0; i < 8; i++) cr_assert_eq(r[i], w[i]);
    int64_t bad[1] = {3};
    Node *q[2] = {konst(E, DT_I64, S(1, 1), bad), p[1]};
    Node *n = emit(E, OP_EMBEDDING, q, 2, NULL);
    LtcDiag d;
    cr_assert_eq(ir_force(n, &d), -1);
    cr_assert_str_eq(d.msg, "embedding: id 3 is out of range [0, 3)");
}

/* Naive attention: scores, mask, causal, softmax, weighted sum. */
static void naive_sdpa(const float *q, const float *k, const float *v, const void *mask, int mkind /*0 none,1 bool,2 float*/,
                       bool causal, int BH, int Sq, int Sk, int D, int Dv, double *out) {
    double scale = 1 / sqrt((double)D);
    double *s = malloc(sizeof(double) * (size_t)Sk);
    for (int b = 0; b < BH; b++)
        for (int i = 0; i < Sq; i++) {
            double mx = -INFINITY;
            for (int j = 0; j < Sk; j++) {
                double x = 0;
                for (int e = 0; e < D; e++) x += (double)q[(b * Sq + i) * D + e] * k[(b * Sk + j) * D + e];
                x *= scale;
                if (mkind == 1 && !((const uint8_t *)mask)[i * Sk + j]) x = -INFINITY;
                if (mkind == 2) x += ((const float *)mask)[i * Sk + j];
                if (causal && j > i) x = -INFINITY;
                s[j] = x;
                if (x > mx) mx = x;
            }
            double z = 0;
            for (int j = 0; j < Sk; j++) z += exp(s[j] - mx);
            for (int e = 0; e < Dv; e++) {
                double acc = 0;
                for (int j = 0; j < Sk; j++) acc += exp(s[j] - mx) / z * v[(b * Sk + j) * Dv + e];
                out[(b * Sq + i) * Dv + e] = mx == -INFINITY ? NAN : acc;
            }
        }
    free(s);
}

Test(ir_interp, sdpa_masks) {
    for (int t = 0; t < 8; t++) {
        int H = 1 + (int)(philox_u32(30, t) % 3), Sq = 1 + (int)(philox_u32(31, t) % 6);
        int Sk = 1 + (int)(philox_u32(32, t) % 7), D = 1 + (int)(philox_u32(33, t) % 8), Dv = 1 + (int)(philox_u32(34, t) % 5);
        Node *q = rconst(E, S(3, H, Sq, D), 40 + t), *k = rconst(E, S(3, H, Sk, D), 50 + t), *v = rconst(E, S(3, H, Sk, Dv), 60 + t);
        size_t no = (size_t)H * Sq * Dv;
        double *want = malloc(no * sizeof *want);
        uint8_t *bm = malloc((size_t)Sq * Sk);
        float *fm = malloc((size_t)Sq * Sk * sizeof *fm);
        for (int i = 0; i < Sq * Sk; i++) { bm[i] = philox_u32(70 + t, i) % 3 != 0; fm[i] = philox_uniform(80 + t, i) * 4 - 2; }
        if (t == 3) for (int j = 0; j < Sk; j++) bm[j] = 0;         /* a fully masked row -> NaN */
        for (int mode = 0; mode < 4; mode++) {
            Node *p[4] = {q, k, v, NULL};
            int nin = 3, mk = 0;
            Attr a = {0};
            if (mode == 1) { p[3] = konst(E, DT_BOOL, S(2, Sq, Sk), bm); nin = 4; mk = 1; }
            if (mode == 2) { p[3] = konst(E, DT_F32, S(2, Sq, Sk), fm); nin = 4; mk = 2; }
            if (mode == 3) a.causal = true;
            float *r = evalf(E, OP_SDPA, p, nin, &a);
            naive_sdpa(q->data, k->data, v->data, mk == 1 ? (void *)bm : (void *)fm, mk, a.causal, H, Sq, Sk, D, Dv, want);
            assert_close(r, want, no, 1e-5, "sdpa");
        }
        free(want); free(bm); free(fm);
    }
}

Test(ir_interp, half_precision) {
    Attr c = {.dtype = DT_F16};
    Node *x = F(S(1, 2), (float[]){1.0f, 2048.0f});
    Node *h = emit(E, OP_CAST, &x, 1, &c);
    Attr s = {.f = 0x1p-11};                      /* 1 + 2^-11 is a tie in f16 -> 1 */
    float *r = evalf(E, OP_ADD_SCALAR, &h, 1, &s);
    cr_assert_eq(r[0], 1.0f);
    cr_assert_eq(r[1], 2048.0f);
    Attr s3 = {.f = 3};                           /* 2051 -> 2052 (spacing 2, tie to even) */
    r = evalf(E, OP_ADD_SCALAR, &h, 1, &s3);
    cr_assert_eq(r[1], 2052.0f);
    Attr cb = {.dtype = DT_BF16};
    Node *b = emit(E, OP_CAST, &x, 1, &cb);
    Attr t = {.f = 1.0 / 3};
    r = evalf(E, OP_MUL_SCALAR, &b, 1, &t);
    cr_assert_eq(r[0], bf16_to_f32(f32_to_bf16(1.0f / 3)));
}

Test(ir_interp, random_and_dropout) {
    Attr a = {0};
    a.shape = S(2, 64, 64);
    a.dtype = DT_F32;
    a.seed = 1234;
    a.hi = 1;                                     /* N(0, 1) */
    float *r1 = evalf(E, OP_RANDN, NULL, 0, &a);
    float *r2 = evalf(E, OP_RANDN, NULL, 0, &a);
    cr_assert_eq(memcmp(r1, r2, 64 * 64 * 4), 0);
    cr_assert_eq(r1[5], philox_normal(1234, 5));
    Attr u = a;
    u.lo = 2; u.hi = 3;
    float *r3 = evalf(E, OP_RAND, NULL, 0, &u);
    for (int i = 0; i < 4096; i++) cr_assert(r3[i] >= 2 && r3[i] < 3);
    Node *ones = emit(E, OP_FULL, NULL, 0, &(Attr){.shape = S(1, 10000), .dtype = DT_F32, .f = 1});
    Attr dp = {.p = 0.25, .training = true, .seed = 99};
    float *r = evalf(E, OP_DROPOUT, &ones, 1, &dp);
    int kept = 0;
    for (int i = 0; i < 10000; i++) {
        cr_assert(r[i] == 0 || fabsf(r[i] - 1 / 0.75f) < 1e-6f);
        cr_assert_eq(r[i] != 0, philox_uniform(99, (uint64_t)i) >= 0.25f);
        kept += r[i] != 0;
    }
    cr_assert(kept > 7200 && kept < 7800);
    dp.training = false;
    r = evalf(E, OP_DROPOUT, &ones, 1, &dp);
    for (int i = 0; i < 10000; i++) cr_assert_eq(r[i], 1);
    Node *ar = emit(E, OP_ARANGE, NULL, 0, &(Attr){.shape = S(1, 4), .dtype = DT_I64, .lo = 3, .hi = 2});
    LtcDiag d;
    cr_assert_eq(ir_force(ar, &d), 0);
    cr_assert_eq(((int64_t *)ar->data)[3], 9);
}

Test(ir_interp, big_matmul_speed) {
    /* [256x512] x [512x384] must be quick even in a debug build. */
    Node *a = rconst(E, S(2, 256, 512), 1), *b = rconst(E, S(2, 512, 384), 2);
    Node *p[2] = {a, b};
    double t0 = now_ms();
    float *r = evalf(E, OP_MATMUL, p, 2, NULL);
    double ms = now_ms() - t0;
    const float *A_ = a->data, *B_ = b->data;
    double s = 0;
    for (int k = 0; k < 512; k++) s += (double)A_[100 * 512 + k] * B_[k * 384 + 77];
    cr_assert_float_eq(r[100 * 384 + 77], s, 1e-4);
    cr_assert(ms < 5000, "matmul took %.0f ms", ms);
}

Test(ir_interp, long_chain_and_users) {
    Node *x = F(S(1, 4), (float[]){1, 2, 3, 4});
    Attr a = {.f = 1};
    Node *y = x;
    for (int i = 0; i < 20000; i++) y = emit(E, OP_ADD_SCALAR, &y, 1, &a);   /* no deep recursion */
    LtcDiag d;
    cr_assert_eq(ir_force(y, &d), 0, "%s", d.msg);
    cr_assert_eq(((float *)y->data)[3], 20004);
    Node *p[2] = {x, x};
    Node *s = emit(E, OP_MUL, p, 2, NULL);
    ir_add_output(E, s);
    ir_count_users(E);
    cr_assert_eq(x->nusers, 3);                   /* first add_scalar, mul twice */
    cr_assert_eq(s->nusers, 1);                   /* the graph output */
    cr_assert_eq(y->nusers, 0);
}

Test(ir_interp, cat_promotes) {
    int64_t iv[2] = {7, -3};
    Node *p[2] = {konst(E, DT_I64, S(1, 2), iv), F(S(1, 1), (float[]){0.5f})};
    Attr a = {.axis = 0};
    Node *c = emit(E, OP_CAT, p, 2, &a);
    cr_assert_eq(c->dtype, DT_F32);
    LtcDiag d;
    cr_assert_eq(ir_force(c, &d), 0);
    float *r = c->data;
    cr_assert_eq(r[0], 7); cr_assert_eq(r[1], -3); cr_assert_eq(r[2], 0.5f);
}
