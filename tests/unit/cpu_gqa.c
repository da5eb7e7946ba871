/* cpu_gqa.c: the flash kernel with a head group (sdpa a.i = G: query head
 * h reads key/value head h / G) against interp_sdpa, on ragged shapes:
 * Sq != Sk, decode steps, rank 3 (no batch), MQA (one kv head), causal,
 * dropout at a call number, symbolic lengths. */
#include "tests/unit/cpu_harness.h"

TestSuite(cpu_gqa, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void one(int rank, const int64_t *qd, const int64_t *kd, int64_t G, Attr a) {
    h_fresh();
    int64_t vd[4];
    memcpy(vd, kd, sizeof(int64_t) * (size_t)rank);
    Node *q = h_input(rank, qd, DT_F32), *k = h_input(rank, kd, DT_F32), *v = h_input(rank, vd, DT_F32);
    a.i = G;
    h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &a), 1e-4);
}

Test(cpu_gqa, ragged) {
    one(4, (int64_t[]){2, 8, 19, 32}, (int64_t[]){2, 2, 37, 32}, 4, (Attr){0});
    one(4, (int64_t[]){1, 6, 1, 64}, (int64_t[]){1, 2, 300, 64}, 3, (Attr){0});      /* decode step */
    one(3, (int64_t[]){6, 13, 40}, (int64_t[]){2, 13, 40}, 3, (Attr){.causal = true});
    one(4, (int64_t[]){3, 5, 70, 16}, (int64_t[]){3, 1, 70, 16}, 5, (Attr){.causal = true});   /* MQA */
    one(4, (int64_t[]){2, 4, 23, 8}, (int64_t[]){2, 2, 23, 8}, 2, (Attr){.scale = 0.3});
}

Test(cpu_gqa, dropout_at_call_k) {
    h_call = 4;
    one(4, (int64_t[]){2, 4, 21, 16}, (int64_t[]){2, 2, 21, 16}, 2,
        (Attr){.training = true, .p = 0.3, .seed = 0x77, .causal = true});
}

Test(cpu_gqa, symbolic_sequence) {
    h_fresh();
    graph_add_symbol(h.g, "S", 29);
    Node *q = h_input(4, (int64_t[]){2, 6, -1, 32}, DT_F32);
    Node *k = h_input(4, (int64_t[]){2, 2, -1, 32}, DT_F32);
    Node *v = h_input(4, (int64_t[]){2, 2, -1, 32}, DT_F32);
    h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &(Attr){.causal = true, .i = 3}), 1e-4);
}

/* SDPA broadcasting over a group axis: q [B, Hkv, G, S, D] with k, v
 * [B, Hkv, 1, S, D] (no head group attribute: plain broadcasting) runs as
 * grouped-query attention, the group axis merged into the heads. */
static void bcast(int rk, const int64_t *qd, const int64_t *kd, Attr a, bool mask, const int64_t *md, int rm) {
    h_fresh();
    Node *q = h_input(5, qd, DT_F32), *k = h_input(rk, kd, DT_F32), *v = h_input(rk, kd, DT_F32);
    Node *in[4] = {q, k, v, mask ? h_input(rm, md, DT_BOOL) : NULL};
    h_check(h_emit(OP_SDPA, in, mask ? 4 : 3, &a), 1e-4);
}

Test(cpu_gqa, broadcast_over_group_axis) {
    bcast(5, (int64_t[]){2, 2, 3, 19, 16}, (int64_t[]){2, 2, 1, 37, 16}, (Attr){0}, false, NULL, 0);
    bcast(5, (int64_t[]){1, 4, 2, 33, 8}, (int64_t[]){1, 4, 1, 33, 8}, (Attr){.causal = true}, false, NULL, 0);
    bcast(4, (int64_t[]){2, 3, 4, 7, 24}, (int64_t[]){3, 1, 9, 24}, (Attr){0}, false, NULL, 0);   /* k without B */
    bcast(5, (int64_t[]){2, 2, 3, 5, 16}, (int64_t[]){2, 2, 1, 6, 16}, (Attr){0}, true,
          (int64_t[]){2, 1, 1, 1, 6}, 5);                                                     /* padding mask */
    h_call = 2;
    bcast(5, (int64_t[]){2, 2, 2, 11, 16}, (int64_t[]){2, 2, 1, 11, 16},
          (Attr){.training = true, .p = 0.2, .seed = 5}, false, NULL, 0);
}
