/* gpu_ocl_ops.c: every kernel family of the GPU renderers (codegen/csrc),
 * as the opencl backend generates it, run on PoCL with the ABI of
 * plan/gpu_abi.h (ocl_runner.h) against the reference interpreter, on
 * ragged shapes (1, primes, not multiples of any block), with masks,
 * causal, decode steps (S = 1), grouped-query attention and dropout.
 * Tolerances as backend_ops.c: 1e-5 (GEMM, norms, reductions), 1e-4
 * (attention), 1e-6 (element-wise, softmax), exact for data movement and
 * dropout. */
#include "tests/unit/ocl_runner.h"

/* The same cases run as MSL through the shim when built as unit_gpu_msl_ops
 * (tests/metal/CMakeLists.txt: GPU_SUITE gpu_msl, LTC_GPU_MSL). */
#ifndef GPU_SUITE
#define GPU_SUITE gpu_ocl
#endif
#define GPU_IMPL_(suite, name) suite##_##name##_impl
#define GPU_IMPL(suite, name) GPU_IMPL_(suite, name)

TestSuite(GPU_SUITE, .init = o_setup, .fini = o_teardown, .timeout = 900);

#define D(...) (int64_t[]){__VA_ARGS__}
#define N(...) (Node *[]){__VA_ARGS__}

/* ---- gemm, gemm_pack ------------------------------------------------------------------ */
/* res: 0 none, 1 added, 2 multiplied (SwiGLU's epilogue) */
static void linear(int64_t M, int64_t Nn, int64_t K, bool param, bool bias, int res, int act) {
    o_fresh();
    Node *x = o_input(2, D(M, K), DT_F32);
    Node *w = param ? o_param(2, D(Nn, K)) : o_input(2, D(Nn, K), DT_F32);
    Node *in[4] = {x, w};
    int nin = 2;
    if (bias) in[nin++] = o_param(1, D(Nn));
    if (res) in[nin++] = o_input(2, D(M, Nn), DT_F32);
    Attr a = {.flags = (bias ? LINEAR_BIAS : 0) | (res ? LINEAR_RES : 0) | (res == 2 ? LINEAR_RES_MUL : 0), .act = act};
    bool fused = act || res;
    o_check(o_emit(fused ? OP_FUSED_LINEAR : OP_LINEAR, in, fused ? nin : 2 + bias, &a), 1e-5);
}

Test(GPU_SUITE, gemm_linear_ragged) {
    linear(1, 1, 1, true, false, false, 0);
    linear(7, 33, 37, true, true, false, 0);
    linear(70, 100, 300, true, true, false, 0);
    linear(65, 129, 17, true, false, false, 0);
    linear(5, 7, 0, true, true, true, OP_RELU);   /* K = 0: act(bias) + residual */
}

Test(GPU_SUITE, gemm_unpacked_weight) {
    linear(33, 100, 57, false, true, false, 0);
    linear(3, 65, 1, false, false, false, 0);
}

Test(GPU_SUITE, gemm_epilogues) {
    int acts[] = {0, OP_RELU, OP_GELU, OP_SILU, OP_SIGMOID, OP_TANH};
    for (int i = 0; i < 6; i++) linear(37, 70, 61, true, true, true, acts[i]);
    linear(37, 70, 61, true, false, 2, OP_SILU);
}

Test(GPU_SUITE, gemm_qkv_head_split) {
    int64_t cases[][6] = {{3, 2, 7, 4, 16, 40}, {3, 1, 1, 2, 8, 24}, {2, 3, 5, 3, 20, 33}};
    for (int c = 0; c < 3; c++) {
        int64_t P = cases[c][0], B = cases[c][1], S = cases[c][2], H = cases[c][3], Dh = cases[c][4], K = cases[c][5];
        o_fresh();
        Node *x = o_input(3, D(B, S, K), DT_F32);
        Node *w = o_param(2, D(P * H * Dh, K));
        Node *b = o_param(1, D(P * H * Dh));
        Attr a = {.shape = o_shape(5, D(P, B, H, S, Dh))};
        o_check(o_emit(OP_QKV_LINEAR, N(x, w, b), 3, &a), 1e-5);
    }
}

Test(GPU_SUITE, gemm_batched_matmul) {
    o_fresh();
    o_check(o_emit(OP_MATMUL, N(o_input(3, D(2, 7, 16), DT_F32), o_input(3, D(2, 16, 13), DT_F32)), 2, NULL), 1e-5);
    o_fresh();   /* B broadcast over the batch, N past one block */
    o_check(o_emit(OP_MATMUL, N(o_input(4, D(2, 3, 33, 20), DT_F32), o_input(2, D(20, 70), DT_F32)), 2, NULL), 1e-5);
    o_fresh();   /* scores: [B,H,S,D] x [B,H,D,S] */
    o_check(o_emit(OP_MATMUL, N(o_input(4, D(1, 2, 65, 8), DT_F32), o_input(4, D(1, 2, 8, 65), DT_F32)), 2, NULL), 1e-5);
}

/* ---- flash_attention ------------------------------------------------------------------- */
static void attn(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t Dd, int mask, Attr a) {
    o_fresh();
    Node *q = o_input(4, D(B, H, Sq, Dd), DT_F32);
    Node *k = o_input(4, D(B, Hkv, Sk, Dd), DT_F32);
    Node *v = o_input(4, D(B, Hkv, Sk, Dd), DT_F32);
    Node *in[4] = {q, k, v};
    int nin = 3;
    if (mask == 1) in[nin++] = o_input(4, D(B, 1, Sq, Sk), DT_BOOL);
    if (mask == 2) in[nin++] = o_input(2, D(Sq, Sk), DT_F32);
    if (mask == 3) in[nin++] = o_input(4, D(B, 1, 1, Sk), DT_BOOL);
    if (H != Hkv) a.i = H / Hkv;
    o_check(o_emit(OP_SDPA, in, nin, &a), 1e-4);
}

Test(GPU_SUITE, attention) {
    attn(2, 3, 3, 37, 37, 32, 0, (Attr){0});
    attn(1, 2, 2, 50, 300, 64, 0, (Attr){0});             /* several key blocks */
    attn(1, 2, 2, 19, 19, 24, 0, (Attr){.causal = true});
    attn(1, 1, 1, 130, 130, 16, 0, (Attr){.causal = true});
    attn(1, 4, 4, 1, 1, 64, 0, (Attr){0});                /* S = 1 */
    attn(1, 4, 4, 1, 77, 64, 0, (Attr){0});               /* a decode step */
    attn(2, 2, 2, 17, 23, 8, 1, (Attr){0});               /* bool mask */
    attn(1, 3, 3, 9, 140, 40, 2, (Attr){.scale = 0.3});   /* additive mask */
    attn(2, 2, 2, 5, 31, 16, 3, (Attr){.causal = true});
    attn(1, 8, 2, 19, 37, 32, 0, (Attr){0});              /* GQA */
    attn(1, 6, 1, 1, 300, 64, 0, (Attr){0});              /* MQA decode */
    attn(1, 4, 2, 23, 23, 16, 0, (Attr){.causal = true});
    attn(1, 2, 2, 7, 300, 128, 0, (Attr){0});             /* D = 128: a column per work-item */
}

/* The tiled renderer's (codegen/csrc/r_attn_tiled.c) edges: its blocking by
 * max(D, Dv) (BR x BC = 64 x 24 to 64, 32 x 24 to 128, 16 x 8 to 256;
 * above, r_attn.c), sizes one either side of the row and key blocks, Dv not a
 * multiple of the output grid's 8 or 16 columns, causal with Sq != Sk,
 * GQA, masks (bool [B,1,Sq,Sk], float [B,H,Sq,Sk] and broadcast [1,Sk]),
 * rows fully masked (NaN, as the interpreter) or masked only in their
 * first key blocks.  mask: 1 bool [B,1,Sq,Sk], 4 float [B,H,Sq,Sk], 5
 * float [1,Sk]; dead: that row (in every batch entry and head) masked at
 * keys < dead_to (Sk: the whole row). */
static void attn_t(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t Dd, int64_t Dv, int mask,
                   int64_t dead, int64_t dead_to, Attr a) {
    o_fresh();
    Node *q = o_input(4, D(B, H, Sq, Dd), DT_F32);
    Node *k = o_input(4, D(B, Hkv, Sk, Dd), DT_F32);
    Node *v = o_input(4, D(B, Hkv, Sk, Dv), DT_F32);
    Node *in[4] = {q, k, v};
    int nin = 3;
    int64_t mh = 1;
    if (mask == 1) in[nin++] = o_input(4, D(B, 1, Sq, Sk), DT_BOOL);
    if (mask == 4) in[nin++] = o_input(4, D(B, H, Sq, Sk), DT_F32), mh = H;
    if (mask == 5) in[nin++] = o_input(2, D(1, Sk), DT_F32);
    if (dead >= 0) {
        cr_assert(mask == 1 || mask == 4);
        for (int64_t e = 0; e < B * mh; e++)
            for (int64_t j = 0; j < dead_to; j++) {
                size_t at = (size_t)((e * Sq + dead) * Sk + j);
                if (mask == 1) ((uint8_t *)og.in_data[og.nin - 1])[at] = 0;
                else ((float *)og.in_data[og.nin - 1])[at] = -INFINITY;
            }
    }
    if (H != Hkv) a.i = H / Hkv;
    o_check(o_emit(OP_SDPA, in, nin, &a), 1e-4);
}

Test(GPU_SUITE, attention_tiled) {
    /* under Oclgrind (LTC_OCL_LIB: the memory and race checks, ~100x slower
     * than PoCL) the cases marked `all` are left out: each path of the
     * kernel keeps a case there (one-past edges, decode, causal Sq > Sk,
     * ragged Dv, the 16 x 8 blocking, masks, dead and masked-so-far rows, GQA) */
    const bool all = !getenv("LTC_OCL_LIB");
    attn_t(1, 2, 2, 65, 25, 64, 64, 0, -1, 0, (Attr){0});     /* BR 64, BC 24: one past each */
    if (all) attn_t(1, 1, 1, 63, 47, 64, 64, 0, -1, 0, (Attr){0});     /* one short of each */
    if (all) attn_t(2, 2, 2, 129, 97, 40, 40, 0, -1, 0, (Attr){0});    /* D = 40 */
    if (all) attn_t(1, 2, 2, 33, 49, 128, 128, 0, -1, 0, (Attr){0});   /* BR 32, BC 24 */
    if (all) attn_t(1, 3, 3, 1, 70, 40, 40, 0, -1, 0, (Attr){0});      /* Sq = 1 */
    attn_t(1, 2, 2, 1, 33, 128, 128, 0, -1, 0, (Attr){.causal = true});   /* decode, causal: key 0 alone */
    if (all) attn_t(1, 2, 2, 40, 70, 64, 64, 0, -1, 0, (Attr){.causal = true});    /* causal, Sq < Sk */
    attn_t(1, 2, 2, 70, 40, 64, 64, 0, -1, 0, (Attr){.causal = true});    /* causal, Sq > Sk */
    if (all) attn_t(1, 2, 2, 97, 97, 128, 128, 0, -1, 0, (Attr){.causal = true});
    if (all) attn_t(2, 8, 2, 35, 67, 128, 128, 0, -1, 0, (Attr){0});   /* GQA at D = 128 */
    if (all) attn_t(1, 4, 1, 66, 34, 40, 40, 0, -1, 0, (Attr){.causal = true});    /* MQA, causal */
    attn_t(1, 2, 2, 37, 45, 32, 20, 0, -1, 0, (Attr){0});     /* Dv = 20: not a multiple of 8 */
    if (all) attn_t(1, 2, 2, 21, 19, 64, 96, 0, -1, 0, (Attr){0});     /* D != Dv, blocking by Dv */
    attn_t(1, 1, 1, 17, 35, 200, 250, 0, -1, 0, (Attr){0});   /* BR 16, BC 8, Dv % 8 != 0 */
    if (all) attn_t(1, 2, 2, 33, 17, 256, 256, 0, -1, 0, (Attr){.causal = true});  /* Dm = 256, the last tiled */
    if (all) attn_t(1, 1, 1, 9, 21, 300, 72, 0, -1, 0, (Attr){0});     /* Dm > 256: r_attn.c */
    if (all) attn_t(1, 1, 1, 10, 17, 512, 500, 0, -1, 0, (Attr){0});   /* D = CS_ATT_MAXD (r_attn.c) */
    attn_t(2, 2, 2, 70, 45, 40, 40, 1, 5, 45, (Attr){0});     /* bool mask, row 5 fully masked: NaN */
    attn_t(1, 2, 2, 70, 75, 64, 64, 1, 66, 50, (Attr){0});    /* row 66 masked for its first two key blocks */
    attn_t(1, 2, 2, 33, 40, 128, 128, 4, 32, 40, (Attr){.scale = 0.2});   /* float mask, row 32 all -inf */
    if (all) attn_t(2, 2, 2, 19, 50, 64, 64, 4, 3, 33, (Attr){.causal = true});  /* float mask + causal, masked so far */
    attn_t(2, 3, 3, 67, 38, 64, 64, 5, -1, 0, (Attr){0});     /* float mask broadcast over batch and rows */
    attn_t(1, 4, 2, 36, 36, 64, 64, 1, -1, 0, (Attr){.causal = true});  /* GQA + bool mask + causal */
}

/* dropout on the tiled blocking: the same Philox index row * Sk + j */
Test(GPU_SUITE, attention_tiled_dropout) {
    o_fresh();
    og.call = 3;
    Node *q = o_input(4, D(1, 2, 70, 64), DT_F32), *k = o_input(4, D(1, 2, 45, 64), DT_F32);
    Node *v = o_input(4, D(1, 2, 45, 64), DT_F32);
    o_check(o_emit(OP_SDPA, N(q, k, v), 3, &(Attr){.training = true, .p = 0.25, .seed = 0x1234}), 1e-4);
    o_fresh();
    og.call = 11;
    q = o_input(4, D(2, 4, 35, 128), DT_F32), k = o_input(4, D(2, 2, 67, 128), DT_F32);
    v = o_input(4, D(2, 2, 67, 128), DT_F32);
    o_check(o_emit(OP_SDPA, N(q, k, v), 3, &(Attr){.training = true, .p = 0.4, .seed = 0x99, .causal = true, .i = 2}),
            1e-4);
}

/* value dim != head dim, and SDPA broadcasting over a group axis (three
 * batch dims, K/V of size 1 on the last: grouped-query attention) */
Test(GPU_SUITE, attention_shapes) {
    o_fresh();
    Node *q = o_input(4, D(1, 2, 9, 32), DT_F32), *k = o_input(4, D(1, 2, 150, 32), DT_F32);
    Node *v = o_input(4, D(1, 2, 150, 200), DT_F32);        /* Dv = 200 > T: two columns per work-item */
    o_check(o_emit(OP_SDPA, N(q, k, v), 3, NULL), 1e-4);
    o_fresh();
    q = o_input(5, D(2, 2, 3, 19, 16), DT_F32);
    k = o_input(5, D(2, 2, 1, 37, 16), DT_F32);
    v = o_input(5, D(2, 2, 1, 37, 16), DT_F32);
    o_check(o_emit(OP_SDPA, N(q, k, v), 3, &(Attr){.causal = true}), 1e-4);
}

Test(GPU_SUITE, attention_dropout) {
    for (uint64_t call = 0; call < 2; call++) {
        o_fresh();
        og.call = call * 7;
        Node *q = o_input(4, D(1, 2, 21, 16), DT_F32), *k = o_input(4, D(1, 2, 33, 16), DT_F32);
        Node *v = o_input(4, D(1, 2, 33, 16), DT_F32);
        o_check(o_emit(OP_SDPA, N(q, k, v), 3, &(Attr){.training = true, .p = 0.3, .seed = 0x77, .causal = true}), 1e-4);
    }
}

/* ---- norm, softmax ------------------------------------------------------------------------ */
Test(GPU_SUITE, norms) {
    int64_t cols[] = {1, 20, 77, 1000};
    for (int c = 0; c < 4; c++) {
        int64_t Nn = cols[c];
        o_fresh();
        o_check(o_emit(OP_LAYER_NORM, N(o_input(2, D(5, Nn), DT_F32), o_param(1, D(Nn)), o_param(1, D(Nn))), 3,
                       &(Attr){.eps = 1e-5, .flags = NORM_W | NORM_B}), 1e-5);
        o_fresh();
        o_check(o_emit(OP_LAYER_NORM, N(o_input(2, D(3, Nn), DT_F32)), 1, &(Attr){.eps = 1e-5}), 1e-5);
        o_fresh();
        o_check(o_emit(OP_RMS_NORM, N(o_input(2, D(4, Nn), DT_F32), o_param(1, D(Nn))), 2,
                       &(Attr){.eps = 1e-6, .flags = NORM_W}), 1e-5);
        for (int which = 0; which < 2; which++) {
            o_fresh();
            Node *x = o_input(2, D(6, Nn), DT_F32), *r = o_input(2, D(6, Nn), DT_F32);
            Attr a = {.eps = 1e-5, .flags = NORM_W | (which ? 0 : NORM_B), .i = which ? OP_RMS_NORM : OP_LAYER_NORM};
            Node *in[4] = {x, r, o_param(1, D(Nn)), which ? NULL : o_param(1, D(Nn))};
            o_check(o_emit(OP_ADD_NORM, in, which ? 3 : 4, &a), 1e-5);
        }
    }
}

/* ADDNORM_HAS_SUM: the kernel also stores x + r (the ADD_NORM_SUM
 * companion's value, bufs[5]) */
Test(GPU_SUITE, add_norm_stores_sum) {
    for (int which = 0; which < 2; which++) {
        o_fresh();
        Node *x = o_input(2, D(5, 77), DT_F32), *r = o_input(2, D(5, 77), DT_F32), *w = o_param(1, D(77));
        Attr a = {.eps = 1e-5, .flags = NORM_W | ADDNORM_HAS_SUM, .i = which ? OP_RMS_NORM : OP_LAYER_NORM};
        Node *an = o_emit(OP_ADD_NORM, N(x, r, w), 3, &a);
        Node *sum = o_emit(OP_ADD_NORM_SUM, N(an, x, r), 3, NULL);
        ir_add_output(og.g, an);
        ir_add_output(og.g, sum);
        o_check_outputs(N(an, sum), 2, 1e-5);
    }
}

Test(GPU_SUITE, softmax) {
    int64_t cols[] = {1, 13, 300, 1025};
    for (int c = 0; c < 4; c++) {
        o_fresh();
        o_check(o_emit(OP_SOFTMAX, N(o_input(2, D(7, cols[c]), DT_F32)), 1, &(Attr){.axis = 1}), 1e-6);
        o_fresh();
        o_check(o_emit(OP_LOG_SOFTMAX, N(o_input(3, D(2, 3, cols[c]), DT_F32)), 1, &(Attr){.axis = 2}), 1e-6);
    }
}

/* ---- eltwise -------------------------------------------------------------------------------- */
Test(GPU_SUITE, eltwise_binary_broadcast) {
    Op ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
    for (int i = 0; i < 4; i++) {
        o_fresh();   /* a row vector */
        o_check(o_emit(ops[i], N(o_input(2, D(9, 11), DT_F32), o_input(1, D(11), DT_F32)), 2, NULL), 1e-6);
        o_fresh();   /* a column: a scalar per row */
        o_check(o_emit(ops[i], N(o_input(3, D(2, 5, 300), DT_F32), o_input(3, D(2, 5, 1), DT_F32)), 2, NULL), 1e-6);
        o_fresh();   /* both broadcast on different dims */
        o_check(o_emit(ops[i], N(o_input(3, D(3, 1, 7), DT_F32), o_input(3, D(1, 4, 7), DT_F32)), 2, NULL), 1e-6);
    }
    o_fresh();
    o_check(o_emit(OP_MASKED_FILL, N(o_input(3, D(2, 3, 17), DT_F32), o_input(3, D(2, 1, 17), DT_BOOL)), 2,
                   &(Attr){.f = -1e9}), 0);
}

Test(GPU_SUITE, eltwise_unary) {
    Op ops[] = {OP_NEG, OP_ABS, OP_EXP, OP_SQRT, OP_RSQRT, OP_RECIPROCAL, OP_SIN, OP_COS, OP_TANH, OP_SIGMOID,
                OP_RELU, OP_GELU, OP_SILU, OP_FLOOR, OP_CEIL, OP_ROUND, OP_LOG, OP_LOG2};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        o_fresh();
        o_check(o_emit(ops[i], N(o_input(2, D(3, 130), DT_F32)), 1, NULL), 1e-6);
    }
    Op sops[] = {OP_ADD_SCALAR, OP_MUL_SCALAR, OP_DIV_SCALAR, OP_RSUB_SCALAR, OP_POW_SCALAR};
    for (size_t i = 0; i < sizeof sops / sizeof *sops; i++) {
        o_fresh();
        o_check(o_emit(sops[i], N(o_input(2, D(4, 33), DT_F32)), 1, &(Attr){.f = i == 4 ? 2.0 : 0.7}), 1e-6);
    }
    o_fresh();
    o_check(o_emit(OP_CLAMP, N(o_input(1, D(257), DT_F32)), 1, &(Attr){.f = -0.25, .f2 = 0.5}), 0);
}

/* ---- reduce, copy, cat, misc, dropout ------------------------------------------------------ */
Test(GPU_SUITE, reduce) {
    Op ops[] = {OP_SUM_DIM, OP_MEAN_DIM, OP_MAX_DIM, OP_ARGMAX};
    for (int i = 0; i < 4; i++)
        for (int ax = 0; ax < 3; ax++) {
            o_fresh();
            o_check(o_emit(ops[i], N(o_input(3, D(3, 300, 5), DT_F32)), 1, &(Attr){.axis = ax}), 1e-5);
        }
}

Test(GPU_SUITE, copies) {
    o_fresh();
    o_check(o_emit(OP_PERMUTE, N(o_input(3, D(7, 3, 5), DT_F32)), 1, &(Attr){.perm = {1, 0, 2}}), 0);
    o_fresh();
    o_check(o_emit(OP_PERMUTE, N(o_input(4, D(2, 3, 5, 4), DT_F32)), 1, &(Attr){.perm = {0, 2, 3, 1}}), 0);
    o_fresh();
    o_check(o_emit(OP_EXPAND, N(o_input(3, D(2, 1, 5), DT_F32)), 1, &(Attr){.shape = o_shape(3, D(2, 6, 5))}), 0);
    o_fresh();   /* a strided slice (not an alias) */
    o_check(o_emit(OP_SLICE, N(o_input(2, D(9, 10), DT_F32)), 1,
                   &(Attr){.axis = 1, .start = dim_const(1), .end = dim_const(9), .step = 3}), 0);
    o_fresh();   /* i64 elements */
    o_check(o_emit(OP_PERMUTE, N(o_input(2, D(4, 3), DT_I64)), 1, &(Attr){.perm = {1, 0}}), 0);
}

Test(GPU_SUITE, cat) {
    o_fresh();
    o_check(o_emit(OP_CAT, N(o_input(2, D(5, 4), DT_F32), o_input(2, D(5, 6), DT_F32)), 2, &(Attr){.axis = 1}), 0);
    o_fresh();   /* more inputs than one step's buffers: several parts */
    Node *in[9];
    for (int i = 0; i < 9; i++) in[i] = o_input(2, D(3, 1 + i), DT_F32);
    o_check(o_emit(OP_CAT, in, 9, &(Attr){.axis = 1}), 0);
}

Test(GPU_SUITE, misc) {
    o_fresh();
    o_check(o_emit(OP_EMBEDDING, N(o_input(1, D(13), DT_I64), o_param(2, D(10, 8))), 2, NULL), 0);
    o_fresh();
    o_check(o_emit(OP_TRIU, N(o_input(3, D(2, 6, 9), DT_F32)), 1, &(Attr){.i = 1}), 0);
    o_fresh();
    o_check(o_emit(OP_TRIL, N(o_input(2, D(7, 5), DT_F32)), 1, &(Attr){.i = -1}), 0);
    o_fresh();
    o_check(o_emit(OP_CAST, N(o_input(2, D(3, 7), DT_BOOL)), 1, &(Attr){.dtype = DT_F32}), 0);
    o_fresh();
    o_check(o_emit(OP_CAST, N(o_input(2, D(3, 7), DT_I64)), 1, &(Attr){.dtype = DT_F32}), 0);
}

/* more tiles than one launch takes (LTC_GPU_MAX_GROUPS): args.tile0 > 0 */
Test(GPU_SUITE, launches_split) {
    o_fresh();
    o_check(o_emit(OP_ADD_SCALAR, N(o_input(2, D(LTC_GPU_MAX_GROUPS + 77, 3), DT_F32)), 1, &(Attr){.f = 1.5}), 1e-6);
}

Test(GPU_SUITE, dropout_training) {
    for (uint64_t call = 0; call < 3; call++) {
        o_fresh();
        og.call = call;
        o_check(o_emit(OP_DROPOUT, N(o_input(2, D(3, 3001), DT_F32)), 1,
                       &(Attr){.p = 0.3, .training = true, .seed = 77}), 0);
    }
}

/* ---- --dtype bf16 / f16 ------------------------------------------------------------------
 * The same cases with the graph in bf16 and in f16 (ir/passes/dtype.c, as
 * --dtype: inputs, parameters, values and outputs; 2-byte elements in the
 * kernels' buffers, float arithmetic) against the interpreter on the
 * converted graph (float storage rounded after every op).  Tolerance
 * (relative to max(1, max |ref|)): at least one rounding of the result,
 * 1e-2 for bf16 (8-bit mantissa), 2e-3 for f16 (11 bits).  Each case body
 * is the f32 test's (Criterion names it SUITE_NAME_impl).  Not under
 * Oclgrind (LTC_OCL_LIB set): the kernels' structure is the f32 one. */
static void in_dtype(DType t, void (*body)(void)) {
    if (getenv("LTC_OCL_LIB")) cr_skip_test("bf16/f16 cases are not run under another OpenCL library");
    og.dtype = t;
    og.dtype_tol = t == DT_BF16 ? 1e-2 : 2e-3;
    body();
    og.dtype = DT_F32;
    og.dtype_tol = 0;
}

#define HALF_CASES(X)                                                                                     \
    X(gemm_linear_ragged) X(gemm_unpacked_weight) X(gemm_epilogues) X(gemm_qkv_head_split)               \
    X(gemm_batched_matmul) X(attention) X(attention_shapes) X(attention_dropout) X(attention_tiled)     \
    X(attention_tiled_dropout) X(norms)                                                                   \
    X(add_norm_stores_sum) X(softmax) X(eltwise_binary_broadcast) X(eltwise_unary) X(reduce) X(copies)   \
    X(cat) X(misc) X(dropout_training)
#define HALF_TEST(name)                                                                                   \
    Test(GPU_SUITE, name##_bf16) { in_dtype(DT_BF16, GPU_IMPL(GPU_SUITE, name)); }                           \
    Test(GPU_SUITE, name##_f16) { in_dtype(DT_F16, GPU_IMPL(GPU_SUITE, name)); }
HALF_CASES(HALF_TEST)
