/* cpu_misc.c: reductions, layout copies, cat, embedding, triu/tril and
 * cast against the interpreter. */
#include "cpu_harness.h"

TestSuite(cpu_misc, .init = h_setup, .fini = h_teardown, .timeout = 120);

Test(cpu_misc, reductions) {
    Op ops[] = {OP_SUM_DIM, OP_MEAN_DIM, OP_MAX_DIM, OP_ARGMAX};
    for (int o = 0; o < 4; o++)
        for (int ax = 0; ax < 3; ax++)
            for (int keep = 0; keep < 2; keep++) {
                h_fresh();
                Node *x = h_input(3, (int64_t[]){4, 7, 33}, DT_F32);
                h_check(h_emit(ops[o], &x, 1, &(Attr){.axis = ax, .keepdim = keep}), 1e-6);
            }
}

Test(cpu_misc, permute_expand_slice_reshape) {
    h_fresh();
    Node *x = h_input(4, (int64_t[]){2, 3, 5, 7}, DT_F32);
    h_check(h_emit(OP_PERMUTE, &x, 1, &(Attr){.perm = {0, 2, 1, 3}}), 0);
    h_fresh();
    x = h_input(3, (int64_t[]){2, 5, 7}, DT_F32);
    h_check(h_emit(OP_PERMUTE, &x, 1, &(Attr){.perm = {2, 0, 1}}), 0);
    h_fresh();
    x = h_input(3, (int64_t[]){2, 1, 7}, DT_F32);
    h_check(h_emit(OP_EXPAND, &x, 1, &(Attr){.shape = h_shape(4, (int64_t[]){3, 2, 6, 7})}), 0);
    h_fresh();
    x = h_input(3, (int64_t[]){2, 9, 7}, DT_F32);
    h_check(h_emit(OP_SLICE, &x, 1, &(Attr){.axis = 1, .start = dim_const(2), .end = dim_const(9), .step = 3}), 0);
    h_fresh();
    x = h_input(3, (int64_t[]){2, 9, 7}, DT_F32);
    h_check(h_emit(OP_SLICE, &x, 1, &(Attr){.axis = 2, .start = dim_const(1), .end = dim_const(5), .step = 1}), 0);
    h_fresh();
    x = h_input(3, (int64_t[]){2, 9, 7}, DT_F32);
    h_check(h_emit(OP_RESHAPE, &x, 1, &(Attr){.shape = h_shape(2, (int64_t[]){18, 7})}), 0);
}

Test(cpu_misc, cat) {
    for (int ax = 0; ax < 3; ax++) {
        h_fresh();
        int64_t d0[3] = {2, 3, 4}, d1[3] = {2, 3, 4}, d2[3] = {2, 3, 4};
        d0[ax] = 1; d1[ax] = 5; d2[ax] = 2;
        Node *in[3] = {h_input(3, d0, DT_F32), h_input(3, d1, DT_F32), h_input(3, d2, DT_F32)};
        h_check(h_emit(OP_CAT, in, 3, &(Attr){.axis = ax}), 0);
    }
}

Test(cpu_misc, embedding_triu_cast) {
    h_fresh();
    Node *ids = h_input(2, (int64_t[]){3, 5}, DT_I64);
    Node *tab = h_param(2, (int64_t[]){7, 33});
    h_check(h_emit(OP_EMBEDDING, (Node *[]){ids, tab}, 2, NULL), 0);
    for (int diag = -1; diag <= 2; diag++)
        for (int up = 0; up < 2; up++) {
            h_fresh();
            Node *x = h_input(3, (int64_t[]){2, 6, 9}, DT_F32);
            h_check(h_emit(up ? OP_TRIU : OP_TRIL, &x, 1, &(Attr){.i = diag}), 0);
        }
    DType ts[3] = {DT_F32, DT_I64, DT_BOOL};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            if (a == b) continue;
            h_fresh();
            Node *x = h_input(2, (int64_t[]){3, 17}, ts[a]);
            if (ts[a] == DT_F32) {
                float *xd = h_in_data[0];
                for (int e = 0; e < 51; e++) xd[e] = e % 4 ? xd[e] * 5 : 0;
            }
            h_check(h_emit(OP_CAST, &x, 1, &(Attr){.dtype = ts[b]}), 0);
        }
}
