/* cpu_plan_dropout.c: training-mode dropout compiles outside attention
 * (item 9 of issue 6) and its masks follow the runtime's call counter:
 * compiled call k == interpreted call k (bit for bit on the mask), at
 * sizes other than the traced ones; two calls give different masks; a
 * replay of call k gives the same values. */
#include "tests/unit/plan_harness.h"

TestSuite(cpu_plan_dropout, .init = ph_setup, .fini = ph_teardown, .timeout = 300);

static Node *W;

/* y = dropout(linear(x, W), p = 0.4) ; z = sdpa(y4, y4, y4) with dropout 0.2 */
static void build(Graph *g, void *ctx) {
    (void)ctx;
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 5);
    Shape xs = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {16, 0}}};
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    cr_assert(x);
    Node *l = ph_emit(g, OP_LINEAR, (Node *[]){x, W}, 2, NULL);
    Node *y = ph_emit(g, OP_DROPOUT, &l, 1, &(Attr){.p = 0.4, .training = true, .seed = 0xd00d});
    Shape hs = {.rank = 4, .d = {{1, 1u << B}, {1, 1u << S}, {2, 0}, {8, 0}}};
    Node *r = ph_emit(g, OP_RESHAPE, &y, 1, &(Attr){.shape = hs});
    Node *h = ph_emit(g, OP_PERMUTE, &r, 1, &(Attr){.perm = {0, 2, 1, 3}});
    Node *z = ph_emit(g, OP_SDPA, (Node *[]){h, h, h}, 3, &(Attr){.p = 0.2, .training = true, .seed = 0xfeed});
    ir_add_output(g, y);
    ir_add_output(g, z);
}

Test(cpu_plan_dropout, compiled_equals_interpreted_at_call_k) {
    W = ph_param(2, (int64_t[]){16, 16});
    Plan *p = ph_compile(build, NULL);
    bool has_dropout = false;
    for (int i = 0; i < p->nkernels; i++) has_dropout |= strcmp(p->kernels[i].family, "dropout") == 0;
    cr_assert(has_dropout, "no dropout kernel in the plan:\n%s", ph_plan_text());
    int64_t sizes[][2] = {{1, 3}, {3, 7}, {2, 64}};
    uint64_t calls[] = {0, 1, 7};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 3; i++) {
            ph_call = calls[c];
            ph_compare_at(sizes[i], 2, 1e-5);
        }
}

Test(cpu_plan_dropout, masks_differ_between_calls_and_replay) {
    W = ph_param(2, (int64_t[]){16, 16});
    ph_compile(build, NULL);
    int64_t sz[2] = {2, 9};
    size_t ne = 2 * 9 * 16;
    float *out[3];
    uint64_t calls[3] = {0, 1, 0};
    for (int c = 0; c < 3; c++) {
        ph.rng = 12345;     /* the same inputs each time */
        ph_call = calls[c];
        float *o = ph_compare_at(sz, 2, 1e-5);
        out[c] = malloc(ne * sizeof(float));
        memcpy(out[c], o, ne * sizeof(float));
    }
    size_t differ = 0, replay_differ = 0;
    for (size_t e = 0; e < ne; e++) {
        differ += (out[0][e] == 0) != (out[1][e] == 0);
        replay_differ += memcmp(&out[0][e], &out[2][e], sizeof(float)) != 0;
    }
    cr_assert(differ > ne / 5, "calls 0 and 1 drop the same elements (%zu of %zu differ)", differ, ne);
    cr_assert_eq(replay_differ, 0, "replaying call 0 changed %zu values", replay_differ);
    for (int c = 0; c < 3; c++) free(out[c]);
}
