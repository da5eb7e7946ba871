/* cpu_plan_cat.c: cat of any number of tensors compiles (item 5 of
 * issue 6: a plan step has PLAN_MAX_ARGS buffer slots, so a cat of more
 * inputs is lowered as several steps writing parts of one output), and
 * the compiled plan matches the interpreter at sizes other than the
 * traced ones. */
#include "tests/unit/plan_harness.h"

TestSuite(cpu_plan_cat, .init = ph_setup, .fini = ph_teardown, .timeout = 300);

typedef struct CatCase { int n, axis; } CatCase;

/* x [B,S,4], y [B,S,2]; items alternate x*k, y, x+k along `axis`. */
static void build_cat(Graph *g, void *ctx) {
    const CatCase *c = ctx;
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 5);
    Shape xs = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {4, 0}}};
    Shape ys = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {c->axis == 2 ? 2 : 4, 0}}};
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    Node *y = ir_input(g, "y", DT_F32, &ys, (SrcLoc){0});
    cr_assert(x && y);
    Node **items = arena_alloc(g->arena, (size_t)c->n * sizeof *items);
    for (int k = 0; k < c->n; k++) {
        if (k % 3 == 0) items[k] = ph_emit(g, OP_MUL_SCALAR, &x, 1, &(Attr){.f = k + 1});
        else if (k % 3 == 1) items[k] = y;
        else items[k] = ph_emit(g, OP_ADD_SCALAR, &x, 1, &(Attr){.f = k});
    }
    Node *cat = ph_emit(g, OP_CAT, items, c->n, &(Attr){.axis = c->axis});
    ir_add_output(g, cat);
}

static void check(int n, int axis) {
    CatCase c = {n, axis};
    ph_compile(build_cat, &c);
    int64_t sizes[][2] = {{1, 3}, {3, 7}, {2, 1}};
    for (int i = 0; i < 3; i++) ph_compare_at(sizes[i], 2, 0);
}

Test(cpu_plan_cat, seven_inputs) { check(7, 2); }
Test(cpu_plan_cat, eight_inputs) { check(8, 2); }
Test(cpu_plan_cat, seventy_inputs_last_axis) { check(70, 2); }
Test(cpu_plan_cat, seventy_inputs_symbolic_axis) { check(70, 1); }
Test(cpu_plan_cat, three_hundred_inputs_leading_axis) { check(300, 0); }

/* Ten linears of one input: the qkv pass concatenates their weights (a
 * prepacked cat of 10 parameters, two cat steps) into one GEMM. */
static Node *Ws[10];
static void build_linears(Graph *g, void *ctx) {
    (void)ctx;
    int B = graph_add_symbol(g, "B", 2), S = graph_add_symbol(g, "S", 5);
    Shape xs = {.rank = 3, .d = {{1, 1u << B}, {1, 1u << S}, {8, 0}}};
    Node *x = ir_input(g, "x", DT_F32, &xs, (SrcLoc){0});
    cr_assert(x);
    for (int i = 0; i < 10; i++) ir_add_output(g, ph_emit(g, OP_LINEAR, (Node *[]){x, Ws[i]}, 2, NULL));
}

Test(cpu_plan_cat, ten_linears_share_one_gemm) {
    for (int i = 0; i < 10; i++) Ws[i] = ph_param(2, (int64_t[]){3 + i, 8});
    Plan *p = ph_compile(build_linears, NULL);
    int ngemm = 0, ncat = 0;
    for (int i = 0; i < p->nkernels; i++) {
        ngemm += strcmp(p->kernels[i].family, "gemm") == 0;
        ncat += strcmp(p->kernels[i].family, "cat") == 0;
    }
    cr_assert_eq(ngemm, 1, "%s", ph_plan_text());
    cr_assert_eq(ncat, 1, "%s", ph_plan_text());
    int64_t sizes[][2] = {{1, 3}, {3, 7}};
    for (int i = 0; i < 2; i++) ph_compare_at(sizes[i], 2, 1e-5);
}
