/* r_eltwise.c: the eltwise family in C (every dialect): one group per
 * output row, work-item t takes columns t, t + T, ...
 *
 * Row `tile` -> each input's offset through the merged leading dims
 * (compile-time count, sizes and strides in dims: codegen/lower_eltwise.c);
 * an input's last dim is contiguous (x[j]) or broadcast (x[0]), as the
 * spec says.  The per-element expression is the op's, from the op table's
 * expr column (codegen/ew_expr.h), with the dialect's primitive names. */
#include "codegen/csrc/csrc.h"
#include "codegen/ew_expr.h"
#include "codegen/kernel_layout.h"

/* The dialect's function for each primitive of codegen/ew_prims.def:
 * the math library's float version, or a helper of the preamble. */
static const char *prim_name(const Cs *c, int p) {
    if (p == EWP_SIGMOID) return "ltc_sigmoid";
    if (p == EWP_GELU) return "ltc_gelu";
    return cs_math(c, ew_prim_info[p].name);
}

/* The op's per-element expression (ops.def's expr column) in C, with x, y
 * the C text of its operands and s0, s1 = args.f[0..1]. */
int cs_ew_expr(Cs *c, int op, const char *x, const char *y, StrBuf *o) {
    const char *src = op > 0 && op < OP_COUNT ? op_info[op].expr : NULL;
    EwExpr e;
    if (!src || ew_expr_parse(src, &e, NULL) != 0) return -1;
    const char *names[EWP_COUNT];
    for (int p = 0; p < EWP_COUNT; p++) names[p] = prim_name(c, p);
    return ew_expr_render_c(&e, names, x, y, "args.f[0]", "args.f[1]", o);
}

bool cs_eltwise_op(int op) {
    Cs c = {.dl = &csrc_opencl};
    StrBuf t = {0};
    int rc = cs_ew_expr(&c, op, "a", "b", &t);
    sb_free(&t);
    return rc == 0;
}

int cs_eltwise(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    const KsEltwise *L = &s->ew;
    StrBuf *o = c->o, e = {0};
    if (cs_ew_expr(c, s->opcode, "a", "b", &e) != 0 || e.oom) {
        sb_free(&e);
        return diag_set(d, s->loc, "%s backend: no element-wise expression for %s", c->dl->name, s->op ? s->op : "?");
    }
    int nl = L->nlead, nin = L->ninputs;
    /* operands loaded as float, the result stored in its dtype */
    const DType t0 = s->in_dtypes[0], t1 = s->nin > 1 ? s->in_dtypes[1] : t0, ft = s->dtype;
    cs_begin(c, 3);
    cs_tile(c);
    cs_ptr(c, cs_etype(t0), "in0", 0);
    cs_ptr(c, L->bool_mask ? "u8" : cs_etype(t1), "in1", 1);
    cs_ptr(c, cs_etype(ft), "out", 2);
    sb_puts(o, "    const i64 cols = args.dims[0];\n    i64 rem = tile, o0 = 0, o1 = 0;\n");
    for (int i = nl - 1; i >= 0; i--) {
        if (i) sb_printf(o, "    { const i64 ix = rem %% args.dims[%d]; rem /= args.dims[%d];\n", ED_SIZES + i, ED_SIZES + i);
        else sb_puts(o, "    { const i64 ix = rem;\n");
        sb_printf(o, "      o0 += ix * args.dims[%d]; o1 += ix * args.dims[%d]; }\n", ED_SIZES + nl + i,
                  ED_SIZES + 2 * nl + i);
    }
    sb_puts(o, "    (void)o1;\n"
               "    for (i64 j = tid; j < cols; j += T) {\n");
    sb_printf(o, "        const float a = %s;\n", cs_ld(c, t0, "in0", L->vec[0] ? "o0 + j" : "o0 + 0"));
    if (nin > 1 && L->bool_mask) sb_printf(o, "        const u8 b = in1[o1 + %s];\n", L->vec[1] ? "j" : "0");
    else if (nin > 1) sb_printf(o, "        const float b = %s;\n", cs_ld(c, t1, "in1", L->vec[1] ? "o1 + j" : "o1 + 0"));
    sb_printf(o, "        %s;\n    }\n", cs_st(c, ft, "out", "tile * cols + j", e.s));
    sb_free(&e);
    cs_end(c);
    return 0;
}
