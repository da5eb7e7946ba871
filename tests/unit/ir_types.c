/* ir_types.c: op table, dtypes, half rounding, symbolic dims, philox. */
#include "ir_util.h"

bool ir_has_shape_rule(Op op);
bool ir_has_kernel(Op op);

Test(ir_types, op_table_complete) {
    cr_assert_str_eq(op_info[OP_ADD].name, "add");
    cr_assert_eq(op_info[OP_CAT].max_in, -1);
    cr_assert(op_info[OP_RAND].flags & OPF_RANDOM);
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_info[op].flags & OPF_FUSED) continue;        /* the fusion engineer's rows */
        cr_assert(ir_has_shape_rule(op), "%s has no shape rule", op_info[op].name);
        cr_assert(ir_has_kernel(op), "%s has no kernel", op_info[op].name);
    }
}

Test(ir_types, dtypes) {
    cr_assert_str_eq(dtype_name(DT_BF16), "bf16");
    cr_assert_eq(dtype_size(DT_F16), 2);
    cr_assert_eq(dtype_size(DT_I64), 8);
    cr_assert_eq(dtype_storage_size(DT_BF16), 4);
    cr_assert_eq(dtype_promote(DT_F16, DT_BF16), DT_F32);
    cr_assert_eq(dtype_promote(DT_I64, DT_F16), DT_F16);
    cr_assert_eq(dtype_promote(DT_BOOL, DT_I64), DT_I64);
    cr_assert_eq(dtype_promote(DT_BOOL, DT_BOOL), DT_BOOL);
}

/* Independent reference: round |x| to the f16 grid with nearbyint in double. */
static double f16_ref(double x) {
    if (isnan(x)) return x;
    double ax = fabs(x);
    int e;
    frexp(ax, &e);                          /* ax = m * 2^e, m in [0.5,1) */
    int ulp_e = e - 11;                      /* 11 significant bits */
    if (ulp_e < -24) ulp_e = -24;            /* subnormal spacing 2^-24 */
    double q = nearbyint(ldexp(ax, -ulp_e));
    double r = ldexp(q, ulp_e);
    if (r >= 65520.0) r = INFINITY;          /* rounds past the largest half */
    return copysign(r, x);
}

static double bf16_ref(double x) {
    if (isnan(x) || isinf(x)) return x;
    double ax = fabs(x);
    if (ax == 0) return x;
    int e;
    frexp(ax, &e);
    int ulp_e = e - 8;
    if (ulp_e < -133) ulp_e = -133;
    double r = ldexp(nearbyint(ldexp(ax, -ulp_e)), ulp_e);
    if (r >= 0x1.ffp127 + 0x1p119) r = INFINITY;
    return copysign(r, x);
}

Test(ir_types, f16_rounding) {
    cr_assert_eq(f32_to_f16(1.0f), 0x3c00);
    cr_assert_eq(f32_to_f16(-2.0f), 0xc000);
    cr_assert_eq(f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(f32_to_f16(65520.0f), 0x7c00);            /* ties to even -> inf */
    cr_assert_eq(f32_to_f16(0x1p-24f), 0x0001);            /* smallest subnormal */
    cr_assert_eq(f32_to_f16(0x1p-25f), 0x0000);            /* tie -> even (0) */
    cr_assert_eq(f32_to_f16(0x1.8p-25f), 0x0001);
    cr_assert_eq(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);     /* tie -> even */
    cr_assert_eq(f32_to_f16(1.0f + 0x3p-11f), 0x3c02);     /* tie -> even (up) */
    cr_assert(isnan(f16_to_f32(f32_to_f16(NAN))));
    cr_assert_eq(f16_to_f32(0x0001), 0x1p-24f);
    cr_assert_eq(f16_to_f32(0x7c00), INFINITY);
    for (uint64_t i = 0; i < 200000; i++) {
        uint32_t u = philox_u32(7, i);
        float x;
        memcpy(&x, &u, 4);
        if (isnan(x) || fabsf(x) > 1e6f || fabsf(x) < 1e-9f) {
            x = (philox_uniform(8, i) - 0.5f) * ldexpf(1.0f, (int)(philox_u32(9, i) % 48) - 30);
        }
        float want = (float)f16_ref(x);
        float got = round_to_dtype(DT_F16, x);
        cr_assert(got == want || (isnan(got) && isnan(want)), "f16(%a): got %a want %a", x, got, want);
    }
    for (uint32_t h = 0; h < 0x7c00; h++)                   /* every finite half round-trips */
        cr_assert_eq(f32_to_f16(f16_to_f32((uint16_t)h)), h);
}

Test(ir_types, bf16_rounding) {
    cr_assert_eq(f32_to_bf16(1.0f), 0x3f80);
    cr_assert_eq(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);      /* tie -> even */
    cr_assert_eq(f32_to_bf16(1.0f + 0x3p-8f), 0x3f82);
    cr_assert(isnan(bf16_to_f32(f32_to_bf16(NAN))));
    for (uint64_t i = 0; i < 200000; i++) {
        float x = (philox_uniform(3, i) - 0.5f) * ldexpf(1.0f, (int)(philox_u32(4, i) % 80) - 40);
        float want = (float)bf16_ref(x), got = round_to_dtype(DT_BF16, x);
        cr_assert(got == want, "bf16(%a): got %a want %a", x, got, want);
    }
}

Test(ir_types, dims) {
    Dim B = {1, 1}, S = {1, 2}, r;
    cr_assert(dim_mul(B, S, &r));
    cr_assert_eq(r.k, 1); cr_assert_eq(r.sym, 3);
    cr_assert(!dim_mul(B, B, &r));
    Dim BS256 = {256, 3};
    cr_assert(dim_div(BS256, (Dim){256, 0}, &r));
    cr_assert(dim_eq(r, (Dim){1, 3}));
    cr_assert(dim_div(BS256, B, &r));
    cr_assert(dim_eq(r, (Dim){256, 2}));
    cr_assert(!dim_div(BS256, (Dim){3, 0}, &r));
    cr_assert(!dim_div((Dim){4, 1}, S, &r));

    Arena a; arena_init(&a);
    Graph *g = graph_new(&a, "t", false);
    cr_assert_eq(graph_add_symbol(g, "B", 2), 0);
    cr_assert_eq(graph_add_symbol(g, "S", 128), 1);
    cr_assert_eq(graph_add_symbol(g, "B", 2), 0);
    Shape s = {3, {{1, 1}, {1, 2}, {256, 0}}};
    char buf[64];
    cr_assert_str_eq(shape_str(g, &s, buf, sizeof buf), "[B,S,256]");
    Shape s2 = {2, {{1, 3}, {256, 0}}};
    cr_assert_str_eq(shape_str(g, &s2, buf, sizeof buf), "[B*S,256]");
    Shape s3 = {1, {{4, 2}}};
    cr_assert_str_eq(shape_str(g, &s3, buf, sizeof buf), "[4*S]");
    Shape s0 = {0, {{0, 0}}};
    cr_assert_str_eq(shape_str(g, &s0, buf, sizeof buf), "[]");
    Dim n = shape_numel(&s);
    cr_assert(dim_eq(n, (Dim){256, 3}));
    SymBind b = {{3, 5}, 2};
    cr_assert_eq(dim_eval(n, &b), 3 * 5 * 256);
    cr_assert_eq(shape_numel_eval(&s2, &b), 15 * 256);
    arena_free(&a);
}

Test(ir_types, philox) {
    /* Known-answer test from the Random123 distribution (kat_vectors):
     * philox4x32 10 rounds, counter 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8 */
    cr_assert_eq(philox_u32(0, 0), 0x6627e8d5u);
    cr_assert_eq(philox_u32(0, 1), 0xe169c58du);
    cr_assert_eq(philox_u32(0, 2), 0xbc57ac4cu);
    cr_assert_eq(philox_u32(0, 3), 0x9b00dbd8u);
    cr_assert_eq(philox_u32(42, 12345), philox_u32(42, 12345));
    cr_assert_neq(philox_u32(42, 12345), philox_u32(43, 12345));
    double sum = 0, sq = 0, usum = 0;
    int N = 100000;
    for (int i = 0; i < N; i++) {
        float u = philox_uniform(5, (uint64_t)i);
        cr_assert(u >= 0 && u < 1);
        usum += u;
        double z = philox_normal(5, (uint64_t)i);
        sum += z; sq += z * z;
    }
    cr_assert(fabs(usum / N - 0.5) < 0.01);
    cr_assert(fabs(sum / N) < 0.02);
    cr_assert(fabs(sq / N - 1) < 0.03);
}
