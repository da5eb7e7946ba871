/* r_norm.c: the norm and softmax families in C (every dialect): one group
 * per row of the last axis, work-item t takes columns t, t + T, ...; sums
 * and maxima over the row are tree reductions in shared memory.
 *
 *   layer_norm  y = (s - mean) / sqrt(var + eps) * w + b, var = mean((s - mean)^2)
 *               (two passes, no cancellation), s = x (+ r for add_norm)
 *   rms_norm    y = s / sqrt(mean(s^2) + eps) * w
 *   add_norm    s is stored to y (and to the sum buffer when the node keeps it)
 *   softmax     y = exp(x - max) / sum exp(x - max)
 *   log_softmax y = x - max - log(sum exp(x - max))
 * bufs [x, r, w, b, out, sum], dims [rows, cols], f[0] = eps.
 */
#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

int cs_norm(Cs *c, LtcDiag *d) {
    (void)d;
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    bool add = s->opcode == OP_ADD_NORM, rms = s->norm == OP_RMS_NORM;
    /* every operand in the one float dtype; the statistics in float */
    const DType ft = s->dtype;
    const char *et = cs_etype(ft);
    cs_begin(c, 6);
    cs_shared(c, "float", "red", c->threads);
    cs_tile_live(c);
    const char *gl = c->dl->global;
    sb_printf(o, "    const i64 N = live ? args.dims[1] : 0, off = tile * N;\n"
                 "    %s%s *x = (%s%s *)p%d + off, *y = (%s%s *)p%d + off;\n",
              gl, et, gl, et, NB_X, gl, et, NB_OUT);
    if (add) sb_printf(o, "    %s%s *r = (%s%s *)p%d + off;\n", gl, et, gl, et, NB_R);
    if (s->stores_sum) sb_printf(o, "    %s%s *sm = (%s%s *)p%d + off;\n", gl, et, gl, et, NB_SUM);
    if (s->weight) cs_ptr(c, et, "w", NB_W);
    if (s->bias) cs_ptr(c, et, "bb", NB_B);
    sb_puts(o, "    const float Nf = (float)N, eps = args.f[0];\n    float acc = 0.0f;\n"
               "    for (i64 j = tid; j < N; j += T) {\n");
    if (add && cs_half(ft)) {
        /* the statistics of the sum as stored (rounded), as the interpreter */
        sb_printf(o, "        float v = %s + %s;\n", cs_ld(c, ft, "x", "j"), cs_ld(c, ft, "r", "j"));
        sb_printf(o, "        %s;\n        v = %s;\n", cs_st(c, ft, "y", "j", "v"), cs_ld(c, ft, "y", "j"));
    } else if (add) {
        sb_printf(o, "        const float v = %s + %s;\n", cs_ld(c, ft, "x", "j"), cs_ld(c, ft, "r", "j"));
        sb_printf(o, "        %s;\n", cs_st(c, ft, "y", "j", "v"));
    } else {
        sb_printf(o, "        const float v = %s;\n", cs_ld(c, ft, "x", "j"));
    }
    if (s->stores_sum) sb_printf(o, "        %s;\n", cs_st(c, ft, "sm", "j", "v"));
    sb_printf(o, "        acc += %s;\n    }\n", rms ? "v * v" : "v");
    sb_printf(o, "    %s%s *src = %s;\n", gl, et, add ? "y" : "x");
    cs_block_reduce(c, false, "acc", "red");
    if (rms) {
        sb_puts(o, "    const float mean = 0.0f, var = acc / Nf;\n");
    } else {
        sb_puts(o, "    const float mean = acc / Nf;\n"
                   "    acc = 0.0f;\n"
                   "    for (i64 j = tid; j < N; j += T) {\n"
                   "        const float e = ");
        sb_printf(o, "%s - mean;\n"
                     "        acc += e * e;\n    }\n", cs_ld(c, ft, "src", "j"));
        cs_block_reduce(c, false, "acc", "red");
        sb_puts(o, "    const float var = acc / Nf;\n");
    }
    sb_printf(o, "    const float rstd = 1.0f / %s(var + eps);\n"
                 "    for (i64 j = tid; j < N; j += T) {\n"
                 "        float v = (%s - mean) * rstd;\n", cs_math(c, "sqrt"), cs_ld(c, ft, "src", "j"));
    if (s->weight) sb_printf(o, "        v *= %s;\n", cs_ld(c, ft, "w", "j"));
    if (s->bias) sb_printf(o, "        v += %s;\n", cs_ld(c, ft, "bb", "j"));
    sb_printf(o, "        %s;\n    }\n", cs_st(c, ft, "y", "j", "v"));
    cs_end(c);
    return 0;
}

int cs_softmax(Cs *c, LtcDiag *d) {
    (void)d;
    StrBuf *o = c->o;
    bool logsm = c->s->opcode == OP_LOG_SOFTMAX;
    const char *gl = c->dl->global;
    /* bf16/f16: the exponentials are not stored between the passes (a
     * rounded e would be rounded again); the last pass makes them again */
    const DType ft = c->s->dtype;
    const char *et = cs_etype(ft);
    bool half = cs_half(ft);
    cs_begin(c, 6);
    cs_shared(c, "float", "red", c->threads);
    cs_tile_live(c);
    sb_printf(o, "    const i64 N = live ? args.dims[1] : 0, off = tile * N;\n"
                 "    %s%s *x = (%s%s *)p%d + off, *y = (%s%s *)p%d + off;\n"
                 "    float mx = -LTC_INF, acc = 0.0f;\n"
                 "    for (i64 j = tid; j < N; j += T) mx = ltc_max(mx, %s);\n",
              gl, et, gl, et, NB_X, gl, et, NB_OUT, cs_ld(c, ft, "x", "j"));
    cs_block_reduce(c, true, "mx", "red");
    sb_printf(o, "    for (i64 j = tid; j < N; j += T) {\n"
                 "        const float e = %s(%s - mx);\n%s"
                 "        acc += e;\n    }\n", cs_math(c, "exp"), cs_ld(c, ft, "x", "j"),
              logsm || half ? "" : "        y[j] = e;\n");
    cs_block_reduce(c, false, "acc", "red");
    sb_puts(o, "    const float sum = acc;\n");
    if (logsm) {
        StrBuf e = {0};
        sb_printf(&e, "%s - shift", cs_ld(c, ft, "x", "j"));
        sb_printf(o, "    const float shift = mx + %s(sum);\n"
                     "    for (i64 j = tid; j < N; j += T) %s;\n", cs_math(c, "log"), cs_st(c, ft, "y", "j", e.s ? e.s : "0"));
        sb_free(&e);
    } else if (!half)
        sb_puts(o, "    const float inv = 1.0f / sum;\n"
                   "    for (i64 j = tid; j < N; j += T) y[j] = y[j] * inv;\n");
    else {
        StrBuf e = {0};
        sb_printf(&e, "%s(%s - mx) * inv", cs_math(c, "exp"), cs_ld(c, ft, "x", "j"));
        sb_printf(o, "    const float inv = 1.0f / sum;\n"
                     "    for (i64 j = tid; j < N; j += T) %s;\n", cs_st(c, ft, "y", "j", e.s ? e.s : "0"));
        sb_free(&e);
    }
    cs_end(c);
    return 0;
}
