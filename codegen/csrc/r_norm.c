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
    cs_begin(c, 6);
    cs_shared(c, "float", "red", c->threads);
    cs_tile_live(c);
    const char *gl = c->dl->global;
    sb_printf(o, "    const i64 N = live ? args.dims[1] : 0, off = tile * N;\n"
                 "    %sfloat *x = (%sfloat *)p%d + off, *y = (%sfloat *)p%d + off;\n",
              gl, gl, NB_X, gl, NB_OUT);
    if (add) sb_printf(o, "    %sfloat *r = (%sfloat *)p%d + off;\n", gl, gl, NB_R);
    if (s->stores_sum) sb_printf(o, "    %sfloat *sm = (%sfloat *)p%d + off;\n", gl, gl, NB_SUM);
    if (s->weight) cs_ptr(c, "float", "w", NB_W);
    if (s->bias) cs_ptr(c, "float", "bb", NB_B);
    sb_puts(o, "    const float Nf = (float)N, eps = args.f[0];\n    float acc = 0.0f;\n"
               "    for (i64 j = tid; j < N; j += T) {\n");
    sb_printf(o, "        const float v = x[j]%s;\n", add ? " + r[j]" : "");
    if (add) sb_puts(o, "        y[j] = v;\n");
    if (s->stores_sum) sb_puts(o, "        sm[j] = v;\n");
    sb_printf(o, "        acc += %s;\n    }\n", rms ? "v * v" : "v");
    sb_printf(o, "    %sfloat *src = %s;\n", gl, add ? "y" : "x");
    cs_block_reduce(c, false, "acc", "red");
    if (rms) {
        sb_puts(o, "    const float mean = 0.0f, var = acc / Nf;\n");
    } else {
        sb_puts(o, "    const float mean = acc / Nf;\n"
                   "    acc = 0.0f;\n"
                   "    for (i64 j = tid; j < N; j += T) {\n"
                   "        const float e = src[j] - mean;\n"
                   "        acc += e * e;\n    }\n");
        cs_block_reduce(c, false, "acc", "red");
        sb_puts(o, "    const float var = acc / Nf;\n");
    }
    sb_printf(o, "    const float rstd = 1.0f / %s(var + eps);\n"
                 "    for (i64 j = tid; j < N; j += T) {\n"
                 "        float v = (src[j] - mean) * rstd;\n", cs_math(c, "sqrt"));
    if (s->weight) sb_puts(o, "        v *= w[j];\n");
    if (s->bias) sb_puts(o, "        v += bb[j];\n");
    sb_puts(o, "        y[j] = v;\n    }\n");
    cs_end(c);
    return 0;
}

int cs_softmax(Cs *c, LtcDiag *d) {
    (void)d;
    StrBuf *o = c->o;
    bool logsm = c->s->opcode == OP_LOG_SOFTMAX;
    const char *gl = c->dl->global;
    cs_begin(c, 6);
    cs_shared(c, "float", "red", c->threads);
    cs_tile_live(c);
    sb_printf(o, "    const i64 N = live ? args.dims[1] : 0, off = tile * N;\n"
                 "    %sfloat *x = (%sfloat *)p%d + off, *y = (%sfloat *)p%d + off;\n"
                 "    float mx = -LTC_INF, acc = 0.0f;\n"
                 "    for (i64 j = tid; j < N; j += T) mx = ltc_max(mx, x[j]);\n",
              gl, gl, NB_X, gl, NB_OUT);
    cs_block_reduce(c, true, "mx", "red");
    sb_printf(o, "    for (i64 j = tid; j < N; j += T) {\n"
                 "        const float e = %s(x[j] - mx);\n%s"
                 "        acc += e;\n    }\n", cs_math(c, "exp"), logsm ? "" : "        y[j] = e;\n");
    cs_block_reduce(c, false, "acc", "red");
    sb_puts(o, "    const float sum = acc;\n");
    if (logsm)
        sb_printf(o, "    const float shift = mx + %s(sum);\n"
                     "    for (i64 j = tid; j < N; j += T) y[j] = x[j] - shift;\n", cs_math(c, "log"));
    else
        sb_puts(o, "    const float inv = 1.0f / sum;\n"
                   "    for (i64 j = tid; j < N; j += T) y[j] = y[j] * inv;\n");
    cs_end(c);
    return 0;
}
