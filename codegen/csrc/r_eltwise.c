/* r_eltwise.c: the eltwise family in C (every dialect): one group per
 * output row, work-item t takes columns t, t + T, ...
 *
 * Row `tile` -> each input's offset through the merged leading dims
 * (compile-time count, sizes and strides in dims: codegen/lower_eltwise.c);
 * an input's last dim is contiguous (x[j]) or broadcast (x[0]), as the
 * spec says.  The per-element expression is the op's (ew_text). */
#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

/* The op on a = input 0, b = input 1, s0/s1 = args.f[0..1], as the
 * interpreter computes it (clamp keeps NaN; masked_fill's mask is a bool
 * byte or a float where nonzero, NaN included, means set). */
static int ew_text(Cs *c, int op, StrBuf *o) {
    const char *s0 = "args.f[0]", *s1 = "args.f[1]";
    switch (op) {
    case OP_ADD: sb_puts(o, "a + b"); break;
    case OP_SUB: sb_puts(o, "a - b"); break;
    case OP_MUL: sb_puts(o, "a * b"); break;
    case OP_DIV: sb_puts(o, "a / b"); break;
    case OP_MASKED_FILL: sb_printf(o, "b != 0 ? %s : a", s0); break;
    case OP_ADD_SCALAR: sb_printf(o, "a + %s", s0); break;
    case OP_MUL_SCALAR: sb_printf(o, "a * %s", s0); break;
    case OP_DIV_SCALAR: sb_printf(o, "a / %s", s0); break;
    case OP_RSUB_SCALAR: sb_printf(o, "%s - a", s0); break;
    case OP_POW_SCALAR: sb_printf(o, "%s(a, %s)", cs_math(c, "pow"), s0); break;
    case OP_CLAMP: sb_printf(o, "(a < %s ? %s : a) > %s ? %s : (a < %s ? %s : a)", s0, s0, s1, s1, s0, s0); break;
    case OP_NEG: sb_puts(o, "-a"); break;
    case OP_ABS: sb_printf(o, "%s(a)", cs_math(c, "fabs")); break;
    case OP_EXP: sb_printf(o, "%s(a)", cs_math(c, "exp")); break;
    case OP_LOG: sb_printf(o, "%s(a)", cs_math(c, "log")); break;
    case OP_LOG2: sb_printf(o, "%s(a)", cs_math(c, "log2")); break;
    case OP_LOG10: sb_printf(o, "%s(a)", cs_math(c, "log10")); break;
    case OP_SQRT: sb_printf(o, "%s(a)", cs_math(c, "sqrt")); break;
    case OP_RSQRT: sb_printf(o, "1.0f / %s(a)", cs_math(c, "sqrt")); break;
    case OP_RECIPROCAL: sb_puts(o, "1.0f / a"); break;
    case OP_SIN: sb_printf(o, "%s(a)", cs_math(c, "sin")); break;
    case OP_COS: sb_printf(o, "%s(a)", cs_math(c, "cos")); break;
    case OP_TAN: sb_printf(o, "%s(a)", cs_math(c, "tan")); break;
    case OP_FLOOR: sb_printf(o, "%s(a)", cs_math(c, "floor")); break;
    case OP_CEIL: sb_printf(o, "%s(a)", cs_math(c, "ceil")); break;
    case OP_ROUND: sb_printf(o, "%s(a)", cs_math(c, "rint")); break;   /* half to even */
    case OP_RELU: case OP_GELU: case OP_SILU: case OP_SIGMOID: case OP_TANH: cs_act(c, op, "a", o); break;
    default: return -1;
    }
    return 0;
}

bool cs_eltwise_op(int op) {
    Cs c = {.dl = &csrc_opencl};
    StrBuf t = {0};
    int rc = ew_text(&c, op, &t);
    sb_free(&t);
    return rc == 0;
}

int cs_eltwise(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    const KsEltwise *L = &s->ew;
    StrBuf *o = c->o, e = {0};
    if (ew_text(c, s->opcode, &e) != 0 || e.oom) {
        sb_free(&e);
        return diag_set(d, s->loc, "%s backend: no element-wise expression for %s", c->dl->name, s->op ? s->op : "?");
    }
    int nl = L->nlead, nin = L->ninputs;
    cs_begin(c, 3);
    cs_tile(c);
    cs_ptr(c, "float", "in0", 0);
    cs_ptr(c, L->bool_mask ? "u8" : "float", "in1", 1);
    cs_ptr(c, "float", "out", 2);
    sb_puts(o, "    const i64 cols = args.dims[0];\n    i64 rem = tile, o0 = 0, o1 = 0;\n");
    for (int i = nl - 1; i >= 0; i--) {
        if (i) sb_printf(o, "    { const i64 ix = rem %% args.dims[%d]; rem /= args.dims[%d];\n", ED_SIZES + i, ED_SIZES + i);
        else sb_puts(o, "    { const i64 ix = rem;\n");
        sb_printf(o, "      o0 += ix * args.dims[%d]; o1 += ix * args.dims[%d]; }\n", ED_SIZES + nl + i,
                  ED_SIZES + 2 * nl + i);
    }
    sb_puts(o, "    (void)o1;\n"
               "    for (i64 j = tid; j < cols; j += T) {\n");
    sb_printf(o, "        const float a = in0[o0 + %s];\n", L->vec[0] ? "j" : "0");
    if (nin > 1) sb_printf(o, "        const %s b = in1[o1 + %s];\n", L->bool_mask ? "u8" : "float", L->vec[1] ? "j" : "0");
    sb_printf(o, "        out[tile * cols + j] = %s;\n    }\n", e.s);
    sb_free(&e);
    cs_end(c);
    return 0;
}
