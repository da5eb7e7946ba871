/* cpu_dropout.c: the CPU training-dropout kernel (k_dropout.c) against
 * interp_dropout, bit for bit (tolerance 0), on random and ragged shapes,
 * symbolic sizes, several p, and call numbers 0 and k (the per-call
 * counter mixed into the Philox counter); and SDPA's internal dropout at
 * call k. */
#include "tests/unit/cpu_harness.h"

TestSuite(cpu_dropout, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void one(int rank, const int64_t *dims, double p, uint64_t call) {
    h_fresh();
    h_call = call;
    Node *x = h_input(rank, dims, DT_F32);
    h_check(h_emit(OP_DROPOUT, &x, 1, &(Attr){.p = p, .training = true, .seed = 0x5eed0001ull + (uint64_t)rank}), 0);
}

Test(cpu_dropout, ragged_shapes_and_p) {
    double ps[] = {0.1, 0.5, 0.9, 1.0};
    for (int i = 0; i < 4; i++) {
        one(1, (int64_t[]){1}, ps[i], 0);
        one(1, (int64_t[]){4097}, ps[i], 0);     /* one tile + 1 */
        one(2, (int64_t[]){7, 13}, ps[i], 0);
        one(3, (int64_t[]){3, 5, 1031}, ps[i], 3);
    }
}

Test(cpu_dropout, symbolic_size) {
    h_fresh();
    graph_add_symbol(h.g, "S", 77);
    Node *x = h_input(3, (int64_t[]){2, -1, 129}, DT_F32);
    h_check(h_emit(OP_DROPOUT, &x, 1, &(Attr){.p = 0.3, .training = true, .seed = 99}), 0);
}

Test(cpu_dropout, call_numbers) {
    uint64_t calls[] = {0, 1, 2, 12345, 0x100000001ull};   /* the last uses the high counter word */
    for (int i = 0; i < 5; i++) one(2, (int64_t[]){9, 1000}, 0.4, calls[i]);
}

/* The masks of two calls differ, and call 0 is the plain stream. */
Test(cpu_dropout, masks_change_per_call) {
    int same = 0, zero_same = 0;
    for (uint64_t i = 0; i < 4096; i++) {
        bool k0 = philox_uniform_at(7, 0, i) >= 0.5f, k1 = philox_uniform_at(7, 1, i) >= 0.5f;
        same += k0 == k1;
        zero_same += philox_uniform_at(7, 0, i) == philox_uniform(7, i);
    }
    cr_assert(same > 1800 && same < 2300, "calls 0 and 1 agree on %d of 4096 keep decisions", same);
    cr_assert_eq(zero_same, 4096);
}

Test(cpu_dropout, sdpa_dropout_at_call_k) {
    uint64_t calls[] = {0, 5};
    for (int i = 0; i < 2; i++) {
        h_fresh();
        h_call = calls[i];
        Node *q = h_input(4, (int64_t[]){2, 3, 19, 32}, DT_F32);
        Node *k = h_input(4, (int64_t[]){2, 3, 37, 32}, DT_F32);
        Node *v = h_input(4, (int64_t[]){2, 3, 37, 32}, DT_F32);
        Attr a = {.training = true, .p = 0.3, .seed = 0xabcdefull};
        h_check(h_emit(OP_SDPA, (Node *[]){q, k, v}, 3, &a), 1e-4);
    }
}
