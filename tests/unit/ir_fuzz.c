/* ir_fuzz.c: random ops with random inputs and attributes must either be
 * rejected with a message or evaluate without crashing (run under
 * LTC_SANITIZE to catch memory errors). */
#include "ir_util.h"

static uint64_t R(uint64_t *st, uint64_t n) { return philox_u32(0xf022, (*st)++) % n; }

static Shape rshape(uint64_t *st) {
    Shape s = {(int)R(st, 5), {{0, 0}}};
    for (int i = 0; i < s.rank; i++) s.d[i] = dim_const((int64_t)R(st, 4) + (R(st, 8) == 0 ? 0 : 1));
    return s;
}

Test(ir_fuzz, random_ops) {
    uint64_t st = 1;
    int ok = 0, rejected = 0;
    for (int iter = 0; iter < 4000; iter++) {
        Arena a;
        arena_init(&a);
        Graph *E = graph_new(&a, NULL, true);
        Node *pool[6];
        Shape base = rshape(&st);
        for (int i = 0; i < 6; i++) {
            Attr fa = {0};
            fa.shape = R(&st, 2) ? base : rshape(&st);
            fa.dtype = (DType)R(&st, DT_COUNT);
            fa.f = (double)R(&st, 5) - 1;
            LtcDiag d;
            pool[i] = ir_emit(E, OP_FULL, NULL, 0, &fa, NOLOC, &d);
            cr_assert(pool[i], "%s", d.msg);
        }
        Op op = (Op)R(&st, OP_COUNT);
        if (op_info[op].flags & OPF_FUSED || op == OP_INPUT || op == OP_PARAM || op == OP_CONST) { arena_free(&a); continue; }
        Attr at = {0};
        at.axis = (int)R(&st, 9) - 4;
        at.keepdim = R(&st, 2);
        at.causal = R(&st, 2);
        at.training = R(&st, 2);
        at.p = R(&st, 3) * 0.25;
        at.eps = 1e-5;
        at.f = (double)R(&st, 7) - 3;
        at.f2 = (double)R(&st, 7) - 3;
        at.i = (int64_t)R(&st, 5) - 2;
        at.flags = (int)R(&st, 5);
        at.step = (int64_t)R(&st, 4);
        at.start = dim_const((int64_t)R(&st, 9) - 4);
        at.end = dim_const((int64_t)R(&st, 9) - 4);
        at.dtype = (DType)R(&st, DT_COUNT + 1);
        for (int i = 0; i < LTC_MAX_RANK; i++) at.perm[i] = (int)R(&st, 6) - 1;
        at.shape = rshape(&st);
        if (R(&st, 4) == 0) at.shape.d[R(&st, 5) % (at.shape.rank ? at.shape.rank : 1)].k = -1;
        if (R(&st, 20) == 0) at.shape.rank = 12;
        int nin = (int)R(&st, 5);
        Node *in[5];
        for (int i = 0; i < nin; i++) in[i] = pool[R(&st, 6)];
        LtcDiag d;
        Node *n = ir_emit(E, op, in, nin, &at, NOLOC, &d);
        if (!n) { rejected++; cr_assert(d.msg[0]); arena_free(&a); continue; }
        if (ir_force(n, &d) == 0) ok++;
        else cr_assert(d.msg[0]);
        StrBuf b = {0};
        ir_print(E, &b);
        ir_print_dot(E, &b);
        sb_free(&b);
        arena_free(&a);
    }
    cr_assert(ok > 100 && rejected > 100, "ok %d rejected %d", ok, rejected);
}
