/* cpu_attn.c: the flash attention kernel against the interpreter's sdpa:
 * head dims 32/64/128, ragged and length-1 sequences, causal, bool and
 * float masks with broadcasting, broadcast K/V batch. */
#include "cpu_harness.h"

TestSuite(cpu_attn, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void attn_case(int64_t B, int64_t H, int64_t Sq, int64_t Sk, int64_t D, bool causal,
                      int mask /* 0 none, 1 bool [B,1,Sq,Sk], 2 float [Sq,Sk], 3 bool [B,1,1,Sk] */) {
    h_fresh();
    Node *q = h_input(4, (int64_t[]){B, H, Sq, D}, DT_F32);
    Node *k = h_input(4, (int64_t[]){B, H, Sk, D}, DT_F32);
    Node *v = h_input(4, (int64_t[]){B, H, Sk, D}, DT_F32);
    Node *in[4] = {q, k, v};
    int nin = 3;
    if (mask == 1) in[nin++] = h_input(4, (int64_t[]){B, 1, Sq, Sk}, DT_BOOL);
    if (mask == 2) in[nin++] = h_input(2, (int64_t[]){Sq, Sk}, DT_F32);
    if (mask == 3) in[nin++] = h_input(4, (int64_t[]){B, 1, 1, Sk}, DT_BOOL);
    Attr a = {.causal = causal};
    h_check(h_emit(OP_SDPA, in, nin, &a), 1e-4);
}

Test(cpu_attn, plain_head_dims) {
    attn_case(2, 3, 37, 37, 32, false, 0);
    attn_case(1, 2, 50, 70, 64, false, 0);
    attn_case(2, 1, 20, 129, 128, false, 0);
}

Test(cpu_attn, seq_len_one) {
    attn_case(1, 4, 1, 1, 64, false, 0);
    attn_case(2, 2, 1, 33, 32, false, 0);
    attn_case(2, 2, 1, 33, 32, true, 0);
}

Test(cpu_attn, causal) {
    attn_case(2, 2, 45, 45, 64, true, 0);
    attn_case(1, 3, 17, 100, 32, true, 0);
}

Test(cpu_attn, masks) {
    attn_case(2, 2, 23, 41, 32, false, 1);
    attn_case(2, 2, 23, 41, 64, false, 2);
    attn_case(3, 2, 19, 19, 32, true, 3);
    attn_case(1, 1, 16, 16, 32, true, 2);
}

Test(cpu_attn, broadcast_kv_and_scale) {
    h_fresh();
    Node *q = h_input(4, (int64_t[]){2, 4, 13, 32}, DT_F32);
    Node *k = h_input(3, (int64_t[]){4, 29, 32}, DT_F32);
    Node *v = h_input(4, (int64_t[]){1, 4, 29, 32}, DT_F32);
    Attr a = {.scale = 0.3};
    h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &a), 1e-4);
}

Test(cpu_attn, avx2_baseline) {
    h_use_cpu("x86-64-v3");
    attn_case(2, 2, 21, 30, 32, true, 1);
    attn_case(1, 2, 9, 9, 24, false, 2);
}

Test(cpu_attn, symbolic_sequence) {
    h_fresh();
    graph_add_symbol(h.g, "S", 27);
    Node *q = h_input(4, (int64_t[]){2, 2, -1, 32}, DT_F32);
    Node *k = h_input(4, (int64_t[]){2, 2, -1, 32}, DT_F32);
    Node *v = h_input(4, (int64_t[]){2, 2, -1, 32}, DT_F32);
    h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &(Attr){.causal = true}), 1e-4);
}

/* dropout: the same Philox stream as the interpreter, so values match */
Test(cpu_attn, dropout_training) {
    double ps[] = {0.1, 0.5};
    for (int i = 0; i < 2; i++) {
        h_fresh();
        Node *q = h_input(4, (int64_t[]){2, 3, 19, 32}, DT_F32);
        Node *k = h_input(4, (int64_t[]){2, 3, 37, 32}, DT_F32);
        Node *v = h_input(4, (int64_t[]){2, 3, 37, 32}, DT_F32);
        Attr a = {.training = true, .p = ps[i], .seed = 0x123456789abcull, .causal = i == 1};
        h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &a), 1e-4);
    }
}

/* Not an assertion: single-thread GFLOP/s of B1 H8 S1024 D64 (4 B S^2 H D). */
Test(cpu_attn, gflops) {
    int64_t H = 8, S = 1024, D = 64, Sq;
    const char *env = getenv("LTC_ATTN_S");
    if (env) S = atol(env);
    env = getenv("LTC_ATTN_SQ");          /* e.g. 1: one decode step */
    Sq = env ? atol(env) : S;
    h_fresh();
    Node *q = h_input(4, (int64_t[]){1, H, Sq, D}, DT_F32);
    Node *k = h_input(4, (int64_t[]){1, H, S, D}, DT_F32);
    Node *v = h_input(4, (int64_t[]){1, H, S, D}, DT_F32);
    Node *y = h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, NULL);
    Plan *p = arena_alloc(&h.a, sizeof *p);
    p->graph = h.g;
    PlanStep s;
    memset(&s, 0, sizeof s);
    cr_assert(lower_node(h.be, p, y, (int[]){q->id, k->id, v->id}, y->id, &s, &h.d) == 0, "%s", h.d.msg);
    cr_assert(h.be->generate(h.be, &p, 1, NULL, &h.d) == 0, "%s", h.d.msg);
    void *bufp[8] = {0};
    bufp[q->id] = h_in_data[0]; bufp[k->id] = h_in_data[1]; bufp[v->id] = h_in_data[2];
    bufp[y->id] = arena_alloc_big(&h.a, (size_t)(H * Sq * D * 4));
    void *fn;
    cr_assert(h.be->jit_lookup(h.be, p->kernels[s.kernel].name, &fn, &h.d) == 0);
    for (int causal = 0; causal < 1; causal++) {
        double best = 1e30;
        for (int it = 0; it < 3; it++) {
            double t0 = now_ms();
            h_run_step((KernelFn)fn, &s, bufp, 1);
            double t = now_ms() - t0;
            if (t < best) best = t;
        }
        printf("cpu_attn: B1 H%ld Sq%ld Sk%ld D%ld single thread: %.3f ms, %.1f GFLOP/s\n", (long)H,
               (long)Sq, (long)S, (long)D, best, 4.0 * Sq * S * H * D / best * 1e-6);
    }
}

/* blocks of fewer than 4 rows take the dot-product path: decode steps,
 * ragged tails, masks, dropout, a head dim that is not a vector multiple */
Test(cpu_attn, small_blocks_dot_path) {
    attn_case(2, 2, 2, 50, 64, false, 1);
    attn_case(1, 3, 3, 70, 32, true, 2);
    attn_case(2, 1, 1, 100, 128, false, 3);
    for (int sq = 1; sq <= 40; sq += 39) {
        h_fresh();
        Node *q = h_input(4, (int64_t[]){2, 2, sq, 20}, DT_F32);
        Node *k = h_input(4, (int64_t[]){2, 2, 45, 20}, DT_F32);
        Node *v = h_input(4, (int64_t[]){2, 2, 45, 32}, DT_F32);
        Attr a = {.training = true, .p = 0.25, .seed = 77, .causal = sq > 1};
        h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &a), 1e-4);
    }
}

/* head-split views: q, k, v = permute([B,S,H,D]) are read in place through
 * the strides codegen/lower.c reports, without a copy */
Test(cpu_attn, permuted_views) {
    for (int sq = 3; sq <= 37; sq += 34) {
        h_fresh();
        Node *x[3];
        for (int i = 0; i < 3; i++) {
            Node *in = h_input(4, (int64_t[]){2, i ? 29 : sq, 4, i == 2 ? 32 : 16}, DT_F32);
            x[i] = h_emit(OP_PERMUTE, &in, 1, &(Attr){.perm = {0, 2, 1, 3}});
        }
        h_check(h_emit(OP_SDPA, x, 3, &(Attr){.causal = sq > 3}), 1e-4);
    }
}

/* head dims that are not a vector multiple: masked V loads / output stores */
Test(cpu_attn, odd_head_dims) {
    attn_case(2, 2, 21, 30, 8, true, 0);
    attn_case(1, 3, 2, 40, 24, false, 1);
    attn_case(1, 2, 70, 33, 40, false, 2);
}
