/* cpu_eltwise.c: the element-wise generator against the interpreter:
 * every supported op, broadcasting in each position, ragged rows. */
#include "cpu_harness.h"

TestSuite(cpu_eltwise, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void binary_case(Op op, int ra, const int64_t *da, int rb, const int64_t *db) {
    h_fresh();
    Node *a = h_input(ra, da, DT_F32), *b = h_input(rb, db, DT_F32);
    h_check(h_emit(op, (Node *[]){a, b}, 2, NULL), 1e-6);
}

Test(cpu_eltwise, binary_broadcast) {
    Op ops[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
    for (int i = 0; i < 4; i++) {
        binary_case(ops[i], 2, (int64_t[]){7, 33}, 2, (int64_t[]){7, 33});
        binary_case(ops[i], 3, (int64_t[]){2, 5, 33}, 1, (int64_t[]){33});
        binary_case(ops[i], 3, (int64_t[]){2, 5, 17}, 3, (int64_t[]){2, 5, 1});
        binary_case(ops[i], 3, (int64_t[]){2, 1, 17}, 3, (int64_t[]){1, 6, 17});
        binary_case(ops[i], 4, (int64_t[]){2, 3, 4, 100}, 4, (int64_t[]){2, 1, 4, 1});
        binary_case(ops[i], 1, (int64_t[]){1}, 2, (int64_t[]){3, 257});
    }
}

Test(cpu_eltwise, unary_and_scalar) {
    Op ops[] = {OP_NEG, OP_ABS, OP_EXP, OP_SQRT, OP_RSQRT, OP_RECIPROCAL, OP_LOG, OP_LOG2, OP_LOG10,
                OP_SIN, OP_COS, OP_TAN, OP_TANH, OP_SIGMOID, OP_RELU, OP_GELU, OP_SILU, OP_FLOOR,
                OP_CEIL, OP_ROUND, OP_ADD_SCALAR, OP_MUL_SCALAR, OP_DIV_SCALAR, OP_RSUB_SCALAR,
                OP_POW_SCALAR, OP_CLAMP};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        h_fresh();
        Node *x = h_input(3, (int64_t[]){3, 7, 37}, DT_F32);
        bool pos = ops[i] == OP_SQRT || ops[i] == OP_RSQRT || ops[i] == OP_LOG || ops[i] == OP_LOG2 ||
                   ops[i] == OP_LOG10 || ops[i] == OP_POW_SCALAR;
        float *xd = h_in_data[0];
        for (int e = 0; e < 3 * 7 * 37; e++)
            xd[e] = pos ? fabsf(xd[e]) + 0.5f : ops[i] == OP_ROUND ? xd[e] * 4 : xd[e];
        Attr a = {.f = ops[i] == OP_POW_SCALAR ? 1.7 : ops[i] == OP_CLAMP ? -0.3 : 2.5, .f2 = 0.4};
        h_check(h_emit(ops[i], &x, 1, &a), 1e-5);
    }
}

Test(cpu_eltwise, masked_fill) {
    h_fresh();
    Node *x = h_input(3, (int64_t[]){2, 5, 19}, DT_F32);
    Node *m = h_input(3, (int64_t[]){2, 1, 19}, DT_BOOL);
    Attr a = {.f = -1e9};
    h_check(h_emit(OP_MASKED_FILL, (Node *[]){x, m}, 2, &a), 1e-6);
}

Test(cpu_eltwise, unsupported_op_is_an_error) {
    h_fresh();
    Node *x = h_input(2, (int64_t[]){3, 4}, DT_F32);
    Node *y = h_emit(OP_CUMSUM, &x, 1, &(Attr){.axis = 1});
    Plan p = {.graph = h.g};
    PlanStep s;
    memset(&s, 0, sizeof s);
    cr_assert(lower_node(h.be, &p, y, (int[]){x->id}, y->id, &s, &h.d) != 0);
    cr_assert(strstr(h.d.msg, "the CPU backend does not generate cumsum"), "%s", h.d.msg);
}
