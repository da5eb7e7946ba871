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
