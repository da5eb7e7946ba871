/* r_attn.c: the flash_attention family (sdpa) in C (every dialect).
 *
 * One group per query row (tile = row of the flattened [b0, b1, Sq]).  Its
 * query row is staged in shared memory; keys are visited in blocks of T,
 * one key per work-item (s_j = scale q . k_j, then the mask), with the
 * online softmax of Dao et al. over the blocks:
 *   m' = max(m, max_j s_j)      p_j = exp(s_j - m')
 *   l' = l e^(m - m') + sum_j p_j
 *   O' = O e^(m - m') + sum_j p_j V[j,:]
 * and out = O / l; work-item t owns the output columns t, t + T, ...
 * Masked scores are -inf (p = 0); a fully masked row ends with l = 0 and
 * 0/0 = NaN, as the interpreter.  Causal: keys j <= i only.  Grouped-query
 * attention: query head b1 reads key/value head b1 / G.  Training dropout
 * keeps weight (row, j) iff philox_uniform_at(seed, call, row * Sk + j) >=
 * p and scales it by 1/(1-p); l keeps the undropped sum, as k_attn.c.
 * bufs/dims: codegen/kernel_layout.h (AD_*, AB_*). */
#include <math.h>
#include <stdio.h>

#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

/* Training dropout's Philox key and call number (the kernel then reads
 * the call: LTC_GPU_READS_CALL); shared with r_attn_tiled.c. */
void cs_attn_seeds(Cs *c, bool drop) {
    c->reads_call = drop;
    if (drop)
        sb_printf(c->o, "    const u32 seed0 = (u32)args.dims[%d], seed1 = (u32)args.dims[%d];\n"
                        "    const u64 call = (u64)args.dims[%d];\n", AD_SEED_LO, AD_SEED_HI, AD_COUNT);
}

int cs_attn(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    int D = (int)s->head_dim, Dv = (int)s->value_dim, T = c->threads;
    int64_t G = s->group;
    bool drop = s->training && s->p > 0;
    if (D < 1 || Dv < 1 || D > CS_ATT_MAXD || Dv > CS_ATT_MAXD || G < 1)
        return diag_set(d, s->loc, "%s backend: %s: head dims %d, %d or group %lld out of range", c->dl->name,
                        s->name, D, Dv, (long long)G);
    int NV = (Dv + T - 1) / T;
    double scale = s->scale > 0 ? s->scale : 1.0 / sqrt((double)D);
    const char *gl = c->dl->global, *ex = cs_math(c, "exp");
    /* q, k, v, out (and a float mask) in one float dtype; scores,
     * softmax statistics and accumulators in float */
    const DType ft = s->dtype, mt = s->mask == 2 ? s->in_dtypes[3] : DT_BOOL;
    const char *et = cs_etype(ft), *mty = s->mask == 1 ? "u8" : cs_etype(mt);
    cs_begin(c, 5);
    cs_shared(c, "float", "qs", D);
    cs_shared(c, "float", "P", T);
    cs_shared(c, "float", "red", T);
    cs_tile_live(c);
    cs_ptr(c, et, "Q", AB_Q);
    cs_ptr(c, et, "K", AB_K);
    cs_ptr(c, et, "V", AB_V);
    cs_ptr(c, mty, "MK", AB_MASK);
    cs_ptr(c, et, "OUT", AB_OUT);
    sb_printf(o, "    const i64 Sq = args.dims[%d], Sk = args.dims[%d], nb1 = args.dims[%d];\n", AD_SQ, AD_SK, AD_NB1);
    sb_printf(o, "    const i64 bh = tile / Sq, i = tile %% Sq, b0 = bh / nb1, b1 = bh %% nb1, b1kv = b1 / %lld;\n",
              (long long)G);
    sb_printf(o, "    %s%s *q = Q + b0 * args.dims[%d] + b1 * args.dims[%d] + i * args.dims[%d];\n", gl, et, AD_QS0,
              AD_QS1, AD_QSS);
    sb_printf(o, "    %s%s *kb = K + b0 * args.dims[%d] + b1kv * args.dims[%d];\n", gl, et, AD_KS0, AD_KS1);
    sb_printf(o, "    %s%s *vb = V + b0 * args.dims[%d] + b1kv * args.dims[%d];\n", gl, et, AD_VS0, AD_VS1);
    sb_printf(o, "    const i64 kss = args.dims[%d], vss = args.dims[%d];\n", AD_KSS, AD_VSS);
    if (s->mask)
        sb_printf(o, "    %s%s *mrow = MK + b0 * args.dims[%d] + b1 * args.dims[%d] + i * args.dims[%d];\n"
                     "    const i64 msj = args.dims[%d];\n",
                  gl, mty, AD_MS0, AD_MS1, AD_MSI, AD_MSJ);
    cs_attn_seeds(c, drop);
    sb_printf(o, "    for (int e = tid; e < %d; e += T) qs[e] = %s;\n    %s;\n", D, cs_ld(c, ft, "q", "e"), c->dl->barrier);
    sb_printf(o, "    float acc[%d];\n    for (int v = 0; v < %d; v++) acc[v] = 0.0f;\n", NV, NV);
    sb_puts(o, "    float m = -LTC_INF, l = 0.0f;\n");
    sb_printf(o, "    const i64 kend = !live ? 0 : %s;\n", s->causal ? "Sk < i + 1 ? Sk : i + 1" : "Sk");
    sb_puts(o, "    for (i64 j0 = 0; j0 < kend; j0 += T) {\n"
               "        const i64 j = j0 + tid;\n"
               "        float sc = -LTC_INF;\n"
               "        if (j < kend) {\n"
               "            " );
    sb_printf(o, "%s%s *kr = kb + j * kss;\n"
                 "            float dot = 0.0f;\n"
                 "            for (int e = 0; e < %d; e++) dot += qs[e] * %s;\n"
                 "            sc = dot * ", gl, et, D, cs_ld(c, ft, "kr", "e"));
    cs_flt(o, scale);
    sb_puts(o, ";\n");
    if (s->mask == 1) sb_puts(o, "            if (mrow[j * msj] == 0) sc = -LTC_INF;\n");
    else if (s->mask == 2) sb_printf(o, "            sc += %s;\n", cs_ld(c, mt, "mrow", "j * msj"));
    sb_puts(o, "        }\n");
    /* all masked so far: subtract 0, not -inf, so exp gives 0, not NaN */
    sb_puts(o, "        float bm = sc;\n");
    cs_block_reduce(c, true, "bm", "red");
    sb_printf(o, "        const float mnew = ltc_max(m, bm);\n"
                 "        const float muse = mnew == -LTC_INF ? 0.0f : mnew;\n"
                 "        float p = %s(sc - muse);\n"
                 "        const float alpha = %s(m - muse);\n"
                 "        float ps = p;\n", ex, ex);
    cs_block_reduce(c, false, "ps", "red");
    sb_puts(o, "        l = l * alpha + ps;\n");
    if (drop) {
        double ks = s->p >= 1 ? 0 : 1.0 / (1.0 - s->p);
        sb_puts(o, "        if (j < kend) p = ltc_uniform(seed0, seed1, call, (u64)(tile * Sk + j)) >= ");
        cs_flt(o, s->p);
        sb_puts(o, " ? p * ");
        cs_flt(o, ks);
        sb_puts(o, " : 0.0f;\n");
    }
    sb_printf(o, "        P[tid] = p;\n        %s;\n", c->dl->barrier);
    sb_printf(o, "        const int nk = (int)(kend - j0 < T ? kend - j0 : T);\n"
                 "        for (int v = 0; v < %d; v++) {\n"
                 "            const int dv = tid + v * T;\n"
                 "            if (dv >= %d) break;\n"
                 "            float a = acc[v] * alpha;\n"
                 "            for (int c2 = 0; c2 < nk; c2++) a += P[c2] * %s;\n"
                 "            acc[v] = a;\n"
                 "        }\n"
                 "        %s;\n"
                 "        m = mnew;\n"
                 "    }\n", NV, Dv, cs_ld(c, ft, "vb", "(j0 + c2) * vss + dv"), c->dl->barrier);
    char oi[48];
    snprintf(oi, sizeof oi, "tile * %d + dv", Dv);
    sb_printf(o, "    for (int v = 0; v < %d; v++) {\n"
                 "        const int dv = tid + v * T;\n"
                 "        if (live && dv < %d) %s;\n"
                 "    }\n", NV, Dv, cs_st(c, ft, "OUT", oi, "acc[v] / l"));
    cs_end(c);
    return 0;
}
