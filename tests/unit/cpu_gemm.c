/* cpu_gemm.c: linear, fused_linear and matmul kernels against the
 * interpreter, on ragged shapes, plus a GFLOP/s printout. */
#include "cpu_harness.h"

TestSuite(cpu_gemm, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void linear_case(int64_t M, int64_t N, int64_t K, bool param, int bias, int res, int act) {
    h_fresh();
    Node *x = h_input(2, (int64_t[]){M, K}, DT_F32);
    Node *w = param ? h_param(2, (int64_t[]){N, K}) : h_input(2, (int64_t[]){N, K}, DT_F32);
    Node *in[4] = {x, w};
    int nin = 2;
    if (bias) in[nin++] = h_param(1, (int64_t[]){N});
    if (res) in[nin++] = h_input(2, (int64_t[]){M, N}, DT_F32);
    Attr a = {.flags = (bias ? LINEAR_BIAS : 0) | (res ? LINEAR_RES : 0) | (res == 2 ? LINEAR_RES_MUL : 0), .act = act};
    Node *y = h_emit(act || res ? OP_FUSED_LINEAR : OP_LINEAR, in, act || res ? nin : 2 + bias, &a);
    h_check(y, 1e-5);
}

Test(cpu_gemm, linear_ragged) {
    int64_t sizes[] = {1, 7, 33, 100, 257};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            linear_case(sizes[i], sizes[j], sizes[(i + j) % 5], true, 0, 0, 0);
}

Test(cpu_gemm, empty_k) {
    linear_case(5, 7, 0, true, 1, 1, OP_RELU);   /* y = relu(bias) + residual */
    linear_case(5, 7, 0, false, 0, 0, 0);
}

Test(cpu_gemm, linear_unpacked_weight) {
    linear_case(33, 100, 257, false, 1, 0, 0);
    linear_case(7, 33, 1, false, 0, 0, 0);
}

Test(cpu_gemm, fused_epilogues) {
    int acts[] = {0, OP_RELU, OP_GELU, OP_SILU, OP_SIGMOID, OP_TANH};
    for (int i = 0; i < 6; i++) {
        linear_case(37, 70, 300, true, 1, 1, acts[i]);
        linear_case(15, 64, 64, true, 1, 0, acts[i]);
    }
    linear_case(20, 33, 17, true, 0, 1, OP_RELU);
    /* res 2: the residual multiplies (SwiGLU's silu(gate) * up) */
    linear_case(37, 70, 300, true, 0, 2, OP_SILU);
    linear_case(15, 64, 64, true, 1, 2, 0);
    linear_case(5, 7, 0, true, 0, 2, OP_SILU);   /* K = 0: silu(0) * r = 0 */
}

Test(cpu_gemm, big_k_blocks) {
    linear_case(130, 96, 1030, true, 1, 0, OP_GELU);
}

/* the AVX2 code path (8-float vectors, 6x16 micro-tile) */
Test(cpu_gemm, avx2_baseline) {
    h_use_cpu("x86-64-v3");
    linear_case(33, 100, 257, true, 1, 1, OP_GELU);
    linear_case(7, 17, 5, false, 0, 0, 0);
}

static void matmul_case(int ra, const int64_t *da, int rb, const int64_t *db) {
    h_fresh();
    Node *a = h_input(ra, da, DT_F32), *b = h_input(rb, db, DT_F32);
    h_check(h_emit(OP_MATMUL, (Node *[]){a, b}, 2, NULL), 1e-5);
}

Test(cpu_gemm, matmul) {
    matmul_case(2, (int64_t[]){33, 100}, 2, (int64_t[]){100, 7});
    matmul_case(2, (int64_t[]){1, 257}, 2, (int64_t[]){257, 33});
    matmul_case(3, (int64_t[]){3, 17, 40}, 3, (int64_t[]){3, 40, 45});
    matmul_case(4, (int64_t[]){2, 3, 9, 300}, 4, (int64_t[]){2, 3, 300, 130});
    matmul_case(4, (int64_t[]){2, 3, 9, 16}, 2, (int64_t[]){16, 70});          /* B broadcast */
    matmul_case(4, (int64_t[]){2, 1, 9, 16}, 4, (int64_t[]){1, 3, 16, 20});    /* both broadcast */
    matmul_case(5, (int64_t[]){2, 2, 2, 5, 6}, 5, (int64_t[]){2, 2, 2, 6, 3}); /* 3 batch dims */
}

/* Not an assertion: single-thread GFLOP/s of a 512x1024x1024 linear. */
Test(cpu_gemm, gflops) {
    int64_t M = 512, N = 1024, K = 1024;
    const char *env = getenv("LTC_GEMM_MNK");      /* e.g. "512,4096,1024" */
    if (env) sscanf(env, "%ld,%ld,%ld", &M, &N, &K);
    h_fresh();
    Node *x = h_input(2, (int64_t[]){M, K}, DT_F32);
    Node *w = h_param(2, (int64_t[]){N, K});
    Node *y = h_emit(OP_LINEAR, (Node *[]){x, w}, 2, NULL);
    Plan *p = arena_alloc(&h.a, sizeof *p);
    p->graph = h.g;
    p->bufs = arena_alloc(&h.a, 8 * sizeof *p->bufs);
    p->nbufs = 3;
    PlanStep s;
    memset(&s, 0, sizeof s);
    bool bind_const[64] = {false};     /* the weight is a parameter: packed once (what plan_build would say) */
    cr_assert(w->id < 64);
    bind_const[w->id] = true;
    s.bind_const = bind_const;
    cr_assert(lower_node(h.be, p, y, (int[]){x->id, w->id}, y->id, &s, &h.d) == 0, "%s", h.d.msg);
    double tg = now_ms();
    cr_assert(h.be->generate(h.be, &p, 1, NULL, &h.d) == 0, "%s", h.d.msg);
    double tj = now_ms();
    void *f0;
    cr_assert(h.be->jit_lookup(h.be, p->kernels[s.kernel].name, &f0, &h.d) == 0, "%s", h.d.msg);
    printf("cpu_gemm: generate + O3 %.1f ms, JIT codegen %.1f ms\n", tj - tg, now_ms() - tj);
    if (getenv("LTC_DUMP_ASM")) {          /* inspect the micro-kernel */
        StrBuf sb = {0};
        cr_assert(h.be->emit_text(h.be, "asm", &sb, &h.d) == 0, "%s", h.d.msg);
        FILE *f = fopen(getenv("LTC_DUMP_ASM"), "w");
        if (f) { fputs(sb.s, f); fclose(f); }
        sb_free(&sb);
    }
    void *bufp[8] = {0};
    bufp[x->id] = h_in_data[0];
    bufp[w->id] = w->origin->data;
    bufp[y->id] = arena_alloc_big(&h.a, (size_t)(M * N * 4));
    bufp[3] = arena_alloc_big(&h.a, (size_t)h_poly(&p->bufs[3].bytes));
    void *fn;
    cr_assert(h.be->jit_lookup(h.be, p->kernels[p->prepack[0].kernel].name, &fn, &h.d) == 0);
    h_run_step((KernelFn)fn, &p->prepack[0], bufp, 1);
    cr_assert(h.be->jit_lookup(h.be, p->kernels[s.kernel].name, &fn, &h.d) == 0);
    double best = 1e30;
    for (int it = 0; it < 5; it++) {
        double t0 = now_ms();
        h_run_step((KernelFn)fn, &s, bufp, 1);
        double t = now_ms() - t0;
        if (t < best) best = t;
    }
    printf("cpu_gemm: linear %ldx%ldx%ld single thread: %.2f ms, %.1f GFLOP/s\n", (long)M, (long)N,
           (long)K, best, 2.0 * M * N * K / best * 1e-6);
    /* two threads, each a contiguous half of the tiles (as runtime/pool.c) */
    best = 1e30;
    for (int it = 0; it < 5; it++) {
        double t0 = now_ms();
        h_run_threads((KernelFn)fn, &s, bufp, 2);
        double t = now_ms() - t0;
        if (t < best) best = t;
    }
    printf("cpu_gemm: linear %ldx%ldx%ld two threads: %.2f ms, %.1f GFLOP/s\n", (long)M, (long)N,
           (long)K, best, 2.0 * M * N * K / best * 1e-6);
}

/* symbolic batch and sequence: M = B*S stays a polynomial in the plan */
Test(cpu_gemm, symbolic_rows) {
    h_fresh();
    graph_add_symbol(h.g, "B", 3);
    graph_add_symbol(h.g, "S", 11);
    Node *x = h_input(3, (int64_t[]){-1, -2, 40}, DT_F32);
    Node *w = h_param(2, (int64_t[]){50, 40});
    Node *b = h_param(1, (int64_t[]){50});
    h_check(h_emit(OP_LINEAR, (Node *[]){x, w, b}, 3, NULL), 1e-5);
}

Test(cpu_gemm, symbolic_matmul) {
    h_fresh();
    graph_add_symbol(h.g, "S", 13);
    Node *q = h_input(3, (int64_t[]){2, -1, 24}, DT_F32);
    Node *k = h_input(3, (int64_t[]){2, 24, -1}, DT_F32);
    h_check(h_emit(OP_MATMUL, (Node *[]){q, k}, 2, NULL), 1e-5);
}

/* qkv_linear: the GEMM writes [P, B, H, S, Dh] directly */
static void qkv_case(int64_t P, int64_t B, int64_t S, int64_t H, int64_t Dh, int64_t K, bool bias) {
    h_fresh();
    Node *x = h_input(3, (int64_t[]){B, S, K}, DT_F32);
    Node *w = h_param(2, (int64_t[]){P * H * Dh, K});
    Node *in[3] = {x, w, bias ? h_param(1, (int64_t[]){P * H * Dh}) : NULL};
    Attr a = {.shape = h_shape(5, (int64_t[]){P, B, H, S, Dh})};
    h_check(h_emit(OP_QKV_LINEAR, in, bias ? 3 : 2, &a), 1e-5);
}

Test(cpu_gemm, qkv_linear) {
    qkv_case(3, 2, 7, 4, 32, 128, true);
    qkv_case(3, 1, 33, 2, 64, 100, false);
    qkv_case(2, 3, 1, 2, 16 * 2, 50, true);
    qkv_case(3, 2, 9, 3, 8, 40, true);      /* Dh = 8: vectors straddle heads */
    qkv_case(3, 1, 5, 5, 20, 33, false);
}

/* --emit llvm / asm: the text names the kernel; FMAs are explicit */
Test(cpu_gemm, emit_text) {
    h_fresh();
    Node *x = h_input(2, (int64_t[]){4, 32}, DT_F32);
    Node *w = h_param(2, (int64_t[]){16, 32});
    Node *y = h_emit(OP_LINEAR, (Node *[]){x, w}, 2, NULL);
    Plan *p = arena_alloc(&h.a, sizeof *p);
    p->graph = h.g;
    PlanStep s;
    memset(&s, 0, sizeof s);
    bool bind_const[64] = {false};     /* the weight is a parameter: packed once (what plan_build would say) */
    cr_assert(w->id < 64);
    bind_const[w->id] = true;
    s.bind_const = bind_const;
    cr_assert(lower_node(h.be, p, y, (int[]){x->id, w->id}, y->id, &s, &h.d) == 0, "%s", h.d.msg);
    StrBuf t = {0};
    cr_assert(h.be->emit_text(h.be, "llvm", &t, &h.d) != 0, "nothing generated yet must be an error");
    cr_assert(h.be->generate(h.be, &p, 1, NULL, &h.d) == 0, "%s", h.d.msg);
    cr_assert(h.be->emit_text(h.be, "llvm", &t, &h.d) == 0, "%s", h.d.msg);
    cr_assert(strstr(t.s, p->kernels[s.kernel].name) && strstr(t.s, "fmuladd"));
    sb_free(&t);
    memset(&t, 0, sizeof t);
    cr_assert(h.be->emit_text(h.be, "asm", &t, &h.d) == 0, "%s", h.d.msg);
    cr_assert(strstr(t.s, "vfmadd"));
    sb_free(&t);
    memset(&t, 0, sizeof t);
    cr_assert(h.be->emit_text(h.be, "bogus", &t, &h.d) != 0);
    void *fn;
    cr_assert(h.be->jit_lookup(h.be, "no_such_kernel", &fn, &h.d) != 0);
    /* text still available after the JIT took its clone */
    cr_assert(h.be->emit_text(h.be, "llvm", &t, &h.d) == 0, "%s", h.d.msg);
    sb_free(&t);
}
