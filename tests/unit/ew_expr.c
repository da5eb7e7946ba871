/* ew_expr.c: ops.def's expr column and its parser (codegen/ew_expr.h).
 * Every element-wise op has an expression that parses and reads the
 * operands its arity gives it; bad expressions are errors with the
 * position of the fault, never an exit; the C renderer writes the text a
 * GPU dialect will compile.  That the CPU computes each expression as
 * before is tests/unit/cpu_eltwise.c's and backend_ops.c's job. */
#include <criterion/criterion.h>
#include <string.h>

#include "codegen/ew_expr.h"
#include "ir/ir.h"

/* cast is element-wise but a dtype conversion, not an expression */
static bool wants_expr(int op) { return (op_info[op].flags & OPF_ELEMENTWISE) && op != OP_CAST; }

Test(ew_expr, every_elementwise_op_has_an_expression_that_parses) {
    int n = 0;
    for (int op = 1; op < OP_COUNT; op++) {
        const char *src = op_info[op].expr;
        if (!wants_expr(op)) {
            cr_expect_null(src, "%s is not element-wise but has an expr", op_info[op].name);
            continue;
        }
        cr_assert_not_null(src, "%s has no expr", op_info[op].name);
        EwExpr e;
        EwError err;
        cr_expect_eq(ew_expr_parse(src, &e, &err), 0, "%s: \"%s\": %d: %s", op_info[op].name, src, err.pos, err.msg);
        /* x always; y exactly for the two-input ops */
        cr_expect(ew_expr_uses(&e, EW_X), "%s does not read x", op_info[op].name);
        cr_expect_eq(ew_expr_uses(&e, EW_Y), op_info[op].min_in == 2, "%s and y", op_info[op].name);
        n++;
    }
    cr_expect_eq(n, 31, "element-wise ops with an expression: %d", n);
}

Test(ew_expr, printing_reparses_to_the_same_tree) {
    for (int op = 1; op < OP_COUNT; op++) {
        if (!op_info[op].expr) continue;
        EwExpr a, b;
        StrBuf s1 = {0}, s2 = {0};
        cr_assert_eq(ew_expr_parse(op_info[op].expr, &a, NULL), 0);
        cr_assert_eq(ew_expr_print(&a, &s1), 0);
        cr_assert_eq(ew_expr_parse(s1.s, &b, NULL), 0, "%s", s1.s);
        cr_assert_eq(ew_expr_print(&b, &s2), 0);
        cr_expect_str_eq(s1.s, s2.s);
        cr_expect_eq(a.n, b.n, "%s: %d nodes, reparsed %d", op_info[op].name, a.n, b.n);
        sb_free(&s1);
        sb_free(&s2);
    }
}

/* clamp repeats its first select; the parser shares it, so a builder
 * makes the two compares and two selects it made before the column. */
Test(ew_expr, repeated_subexpressions_are_one_node) {
    EwExpr e;
    cr_assert_eq(ew_expr_parse(op_info[OP_CLAMP].expr, &e, NULL), 0);
    cr_expect_eq(e.n, 7, "x s0 < ?: s1 > ?: is 7 nodes, got %d", e.n);
    int sel = 0, cmp = 0;
    for (int i = 0; i < e.n; i++) {
        sel += e.node[i].kind == EW_SELECT;
        cmp += ew_is_cond(e.node[i].kind);
        for (int k = 0; k < e.node[i].nargs; k++) cr_expect_lt(e.node[i].a[k], i, "children come first");
    }
    cr_expect_eq(sel, 2);
    cr_expect_eq(cmp, 2);
}

Test(ew_expr, precedence_and_literals) {
    EwExpr e;
    StrBuf s = {0};
    cr_assert_eq(ew_expr_parse("-x * 2.5 + y / s0 - s1", &e, NULL), 0);
    cr_assert_eq(ew_expr_print(&e, &s), 0);
    cr_expect_str_eq(s.s, "((((-x) * 2.5) + (y / s0)) - s1)");
    sb_free(&s);
    cr_assert_eq(ew_expr_parse("0.25", &e, NULL), 0);
    cr_expect_eq(e.node[e.root].num, 0.25);
    /* ?: is right-associative */
    s = (StrBuf){0};
    cr_assert_eq(ew_expr_parse("x < 0 ? y : x > 1 ? s0 : s1", &e, NULL), 0);
    cr_assert_eq(ew_expr_print(&e, &s), 0);
    cr_expect_str_eq(s.s, "((x < 0) ? y : ((x > 1) ? s0 : s1))");
    sb_free(&s);
}

Test(ew_expr, bad_expressions_are_errors_at_their_position) {
    static const struct { const char *src; int pos; const char *msg; } bad[] = {
        {"", 0, "expected an operand"},
        {"x +", 3, "expected an operand"},
        {"x + * y", 4, "expected an operand"},
        {"z + 1", 0, "unknown operand 'z'"},
        {"x + erfc(x)", 4, "unknown function 'erfc'"},
        {"exp(x, y)", 0, "exp takes 1 argument, not 2"},
        {"pow(x)", 0, "pow takes 2 arguments, not 1"},
        {"exp(x", 5, "expected ',' or ')'"},
        {"(x + y", 6, "expected ')'"},
        {"x y", 2, "unexpected 'y'"},
        {"x < y", 0, "a condition where a value is expected"},
        {"x ? 1 : 2", 0, "'?' needs a condition"},
        {"x < 0 ? 1", 9, "expected ':'"},
        {"(x < 0) + 1", 0, "a condition where a value is expected"},
        {"x < 0 ? x < 1 : x", 8, "a condition where a value is expected"},
        {"1e5", 1, "bad numeric literal"},
        {"x != ", 5, "expected an operand"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EwExpr e;
        EwError err;
        cr_expect_eq(ew_expr_parse(bad[i].src, &e, &err), -1, "\"%s\" parsed", bad[i].src);
        cr_expect_eq(err.pos, bad[i].pos, "\"%s\": at %d, not %d (%s)", bad[i].src, err.pos, bad[i].pos, err.msg);
        cr_expect(strstr(err.msg, bad[i].msg), "\"%s\": '%s' lacks '%s'", bad[i].src, err.msg, bad[i].msg);
        cr_expect_lt(e.root, 0);
    }
    /* no error record wanted: still -1, nothing written */
    EwExpr e;
    cr_expect_eq(ew_expr_parse("x +", &e, NULL), -1);
}

Test(ew_expr, an_expression_too_long_for_the_node_array_is_an_error) {
    char src[1024] = "x";
    for (int i = 1; i <= 60; i++) snprintf(src + strlen(src), sizeof src - strlen(src), " + %d", i);
    EwExpr e;
    EwError err;
    cr_expect_eq(ew_expr_parse(src, &e, &err), -1);
    cr_expect(strstr(err.msg, "too long"), "%s", err.msg);
}

/* Render op's expr with a CUDA-like dialect's names. */
static const char *render(int op, const char *x, const char *y, const char *s0, const char *s1, StrBuf *s) {
    static const char *const names[EWP_COUNT] = {
        [EWP_EXP] = "expf", [EWP_LOG] = "logf", [EWP_LOG2] = "log2f", [EWP_LOG10] = "log10f",
        [EWP_SQRT] = "sqrtf", [EWP_SIN] = "sinf", [EWP_COS] = "cosf", [EWP_TAN] = "tanf",
        [EWP_FLOOR] = "floorf", [EWP_CEIL] = "ceilf", [EWP_RINT] = "rintf", [EWP_FABS] = "fabsf",
        [EWP_POW] = "powf", [EWP_SIGMOID] = "ltc_sigmoid", [EWP_TANH] = "tanhf", [EWP_GELU] = "ltc_gelu"};
    EwExpr e;
    *s = (StrBuf){0};
    if (ew_expr_parse(op_info[op].expr, &e, NULL)) return "(parse error)";
    if (ew_expr_render_c(&e, names, x, y, s0, s1, s)) return "(render error)";
    return s->s;
}

Test(ew_expr, render_c_writes_a_parenthesised_c_expression) {
    static const struct { int op; const char *want; } cases[] = {
        {OP_ADD, "(a[i] + b[i])"},
        {OP_RSUB_SCALAR, "(lo - a[i])"},
        {OP_RSQRT, "(1.0f / sqrtf(a[i]))"},
        {OP_POW_SCALAR, "powf(a[i], lo)"},
        {OP_RELU, "((a[i] < 0.0f) ? 0.0f : a[i])"},
        {OP_SILU, "(a[i] * ltc_sigmoid(a[i]))"},
        {OP_ROUND, "rintf(a[i])"},
        {OP_NEG, "(-a[i])"},
        {OP_MASKED_FILL, "((b[i] != 0.0f) ? lo : a[i])"},
        {OP_CLAMP, "((((a[i] < lo) ? lo : a[i]) > hi) ? hi : ((a[i] < lo) ? lo : a[i]))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        StrBuf s;
        cr_expect_str_eq(render(cases[i].op, "a[i]", "b[i]", "lo", "hi", &s), cases[i].want, "%s",
                         op_info[cases[i].op].name);
        sb_free(&s);
    }
}

Test(ew_expr, render_c_refuses_a_missing_operand_or_primitive_name) {
    EwExpr e;
    StrBuf s = {0};
    cr_assert_eq(ew_expr_parse(op_info[OP_ADD].expr, &e, NULL), 0);
    cr_expect_eq(ew_expr_render_c(&e, NULL, "x", NULL, NULL, NULL, &s), -1, "y has no text");
    sb_free(&s);
    const char *none[EWP_COUNT] = {0};
    s = (StrBuf){0};
    cr_assert_eq(ew_expr_parse(op_info[OP_EXP].expr, &e, NULL), 0);
    cr_expect_eq(ew_expr_render_c(&e, none, "x", NULL, NULL, NULL, &s), -1, "exp has no name");
    sb_free(&s);
    /* a NULL table means the primitives' own names */
    s = (StrBuf){0};
    cr_assert_eq(ew_expr_render_c(&e, NULL, "v", NULL, NULL, NULL, &s), 0);
    cr_expect_str_eq(s.s, "exp(v)");
    sb_free(&s);
}
