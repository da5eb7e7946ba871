/* cpu_norm.c: layer_norm, rms_norm, add_norm, softmax and log_softmax
 * kernels against the interpreter, on ragged row lengths. */
#include "cpu_harness.h"

TestSuite(cpu_norm, .init = h_setup, .fini = h_teardown, .timeout = 120);

static const int64_t lens[] = {1, 7, 33, 100, 257, 1024};

Test(cpu_norm, layer_norm) {
    for (int i = 0; i < 6; i++)
        for (int f = 0; f < 4; f++) {
            h_fresh();
            int64_t N = lens[i];
            Node *in[3] = {h_input(3, (int64_t[]){2, 5, N}, DT_F32)};
            int nin = 1;
            if (f & 1) in[nin++] = h_param(1, (int64_t[]){N});
            if (f & 2) in[nin++] = h_param(1, (int64_t[]){N});
            Attr a = {.eps = 1e-5, .flags = f};
            h_check(h_emit(OP_LAYER_NORM, in, nin, &a), 1e-5);
        }
}

Test(cpu_norm, rms_norm) {
    for (int i = 0; i < 6; i++)
        for (int f = 0; f < 2; f++) {
            h_fresh();
            int64_t N = lens[i];
            Node *in[2] = {h_input(2, (int64_t[]){9, N}, DT_F32), f ? h_param(1, (int64_t[]){N}) : NULL};
            Attr a = {.eps = 1e-6, .flags = f};
            h_check(h_emit(OP_RMS_NORM, in, 1 + f, &a), 1e-5);
        }
}

Test(cpu_norm, add_norm) {
    for (int i = 0; i < 6; i++)
        for (int which = 0; which < 2; which++) {
            h_fresh();
            int64_t N = lens[i];
            Node *in[4] = {h_input(2, (int64_t[]){6, N}, DT_F32), h_input(2, (int64_t[]){6, N}, DT_F32)};
            int nin = 2, f = which ? 1 : 3;
            in[nin++] = h_param(1, (int64_t[]){N});
            if (!which) in[nin++] = h_param(1, (int64_t[]){N});
            Attr a = {.eps = 1e-5, .flags = f, .i = which ? OP_RMS_NORM : OP_LAYER_NORM};
            h_check(h_emit(OP_ADD_NORM, in, nin, &a), 1e-5);
        }
}

Test(cpu_norm, softmax) {
    for (int i = 0; i < 6; i++)
        for (int lg = 0; lg < 2; lg++) {
            h_fresh();
            Node *x = h_input(3, (int64_t[]){3, 4, lens[i]}, DT_F32);
            Attr a = {.axis = 2};
            h_check(h_emit(lg ? OP_LOG_SOFTMAX : OP_SOFTMAX, &x, 1, &a), 1e-5);
        }
}

/* ADDNORM_HAS_SUM: the kernel also stores x + r into bufs[5] */
Test(cpu_norm, add_norm_stores_sum) {
    h_fresh();
    int64_t R = 5, N = 77;
    Node *x = h_input(2, (int64_t[]){R, N}, DT_F32), *r = h_input(2, (int64_t[]){R, N}, DT_F32);
    Node *w = h_param(1, (int64_t[]){N});
    Attr a = {.eps = 1e-5, .flags = 1 | 4, .i = OP_RMS_NORM};
    Node *y = h_emit(OP_ADD_NORM, (Node *[]){x, r, w}, 3, &a);
    Plan *p = arena_alloc(&h.a, sizeof *p);
    p->graph = h.g;
    PlanStep s;
    memset(&s, 0, sizeof s);
    /* the plan builder passes the sum buffer after the inputs */
    cr_assert(lower_node(h.be, p, y, (int[]){x->id, r->id, w->id, 7}, y->id, &s, &h.d) == 0, "%s", h.d.msg);
    cr_assert_eq(s.nbufs, 6);
    cr_assert_eq(s.bufs[5], 7);
    cr_assert(h.be->generate(h.be, &p, 1, NULL, &h.d) == 0, "%s", h.d.msg);
    float *sum = arena_alloc_big(&h.a, (size_t)(R * N) * 4), *out = arena_alloc_big(&h.a, (size_t)(R * N) * 4);
    void *bufp[8] = {0};
    bufp[x->id] = h_in_data[0];
    bufp[r->id] = h_in_data[1];
    bufp[w->id] = w->origin->data;
    bufp[y->id] = out;
    bufp[7] = sum;
    void *fn;
    cr_assert(h.be->jit_lookup(h.be, p->kernels[s.kernel].name, &fn, &h.d) == 0);
    h_run_step((KernelFn)fn, &s, bufp, 2);
    const float *xd = h_in_data[0], *rd = h_in_data[1];
    for (int64_t i = 0; i < R * N; i++) cr_assert_eq(sum[i], xd[i] + rd[i]);
}
