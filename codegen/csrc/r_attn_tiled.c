/* r_attn_tiled.c: the flash_attention family (sdpa) in C, tiled for SIMT
 * (every dialect; the tensor-core kernel, r_attn_mma.c, takes the CUDA
 * bf16/f16 shapes it accepts).
 *
 * A group of T = 128 work-items owns BR query rows [i0, i0 + BR) of one
 * batch entry (b0, b1) and visits the keys in blocks of BC, with the online
 * softmax of Dao et al. per query row i:
 *   s_ij = scale q_i . k_j (+ mask), -inf where masked, j >= Sk, or j > i (causal)
 *   m' = max(m, max_j s_ij)      p_ij = exp(s_ij - m')
 *   l' = l e^(m - m') + sum_j p_ij
 *   O' = O e^(m - m') + sum_j p_ij V[j,:]          out_i = O / l
 * exactly as r_attn.c: a row masked so far subtracts 0, not -inf (so exp
 * gives 0, not NaN); a fully masked row ends with l = 0 and 0/0 = NaN, as
 * the interpreter; the maxima propagate NaN (ltc_max).  Grouped-query
 * attention: query head b1 reads key/value head b1 / G.  Training dropout
 * keeps weight (row, j) iff philox_uniform_at(seed, call, row * Sk + j) >= p
 * (row = the flattened [b0, b1, Sq] index) and scales it by 1/(1-p); l keeps
 * the undropped sum.
 *
 * Shared memory, all float: Qs [BR][D+1] (once), KV [BC][Dm+1] (Dm =
 * max(D, Dv): the K block, then the V block over it), Ps [BR][BC+1] (the
 * scores, then the weights p; column BC, the pad, holds the row's rescale
 * e^(m - m') and at the end its l).  The +1 pads make the micro-tiles'
 * column walks conflict-free (odd row strides).  Budget:
 *   bytes = 4 (BR (D+1) + BC (Dm+1) + BR (BC+1)) <= 32 KiB
 * (the least local memory OpenCL 1.2 guarantees, CL_DEVICE_LOCAL_MEM_SIZE,
 * and Apple GPUs' threadgroup memory; CUDA's static limit is 48 KiB),
 * through the blocking by Dm below, checked at render time.  Per key
 * block, three barriers:
 *   1. K block staged (coalesced: consecutive work-items, consecutive e);
 *   2. scores: work-item (tr, tc) of an STR x STC grid computes rows tr +
 *      STR a (a < RM) x keys tc + STC b (b < CN), each Qs/KV element read
 *      once per micro-tile and reused CN (RM) times; written to Ps;
 *   3. V block staged over K while work-item r < BR walks row r of Ps: max,
 *      m', alpha, p (dropout), l (m, l of row r live in its registers);
 *   4. O: work-item (tr, tc) of an OTR x OTC grid owns rows tr + OTR a x
 *      columns tc + OTC k (k < NV = ceil(Dv / OTC)), scaled by alpha of
 *      its row, plus sum_c Ps[r][c] V[c][dv].
 * Every micro-tile is a register array indexed by constant-bound loops
 * only.  Causal: the group's key range ends at its last row (later key
 * blocks are never visited).
 *
 * Tiles: as r_attn_mma.c, the plan's ntiles stays the rows of [b0, b1, Sq]
 * (codegen/lower_attn.c, plan/kernel_footprint.c: every row written is a row
 * < ntiles); group g works on row block g % nrb of batch entry g / nrb, nrb =
 * ceil(Sq / BR), and groups g >= (ntiles / Sq) nrb run with `live` false
 * (cs_tile_live: no return before a barrier).
 * bufs/dims: codegen/kernel_layout.h (AD_*, AB_*). */
#include <math.h>
#include <stdio.h>

#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

/* Blocking by Dm = max(D, Dv): rows, keys, score grid, output grid.
 * Shared bytes at each row's largest Dm (D = Dv = maxd):
 *    64: 4 (64*65 + 24*65 + 64*25) = 29280
 *   128: 4 (32*129 + 24*129 + 32*25) = 32096
 *   256: 4 (16*257 + 8*257 + 16*9) = 25248
 * Registers per work-item: RM CN scores + RM NV accumulators: 12 + 32,
 * 6 + 32, 1 + 32.  Dm in (256, CS_ATT_MAXD] has no row here and stays on
 * r_attn.c (the tune's att_br = 1): a Q block and a K block of 512 floats a
 * row leave room for 8 rows x 4 keys, 32 of the 128 work-items scoring,
 * three barriers per 4 keys; the one-row kernel stages 2 KB and uses all
 * of its work-items. */
typedef struct AttTiling { int maxd, br, bc, str, stc, otr, otc; } AttTiling;
static const AttTiling tilings[] = {
    {64, 64, 24, 16, 8, 16, 8},    /* scores 4 x 3, output 4 rows x <= 8 columns */
    {128, 32, 24, 16, 8, 16, 8},   /* scores 2 x 3, output 2 x <= 16 */
    {256, 16, 8, 16, 8, 16, 8},    /* scores 1 x 1, output 1 x <= 32 */
};
enum { CS_ATT_SHARED_MAX = 32 * 1024 };

static const AttTiling *tiling_for(int64_t D, int64_t Dv) {
    int64_t dm = D > Dv ? D : Dv;
    for (size_t k = 0; k < sizeof tilings / sizeof *tilings; k++)
        if (dm <= tilings[k].maxd) return &tilings[k];
    return NULL;
}

bool cs_attn_tiled_tune(const KernelSpec *s, KernelTune *t) {
    const AttTiling *b = tiling_for(s->head_dim, s->value_dim);
    if (!b) return false;
    t->att_br = b->br;
    t->att_bc = b->bc;
    t->att_rg = b->br / b->str;   /* query rows per work-item in the score micro-tile */
    return true;
}

int cs_attn_tiled(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const int D = (int)s->head_dim, Dv = (int)s->value_dim, T = c->threads;
    const int64_t G = s->group;
    const bool drop = s->training && s->p > 0;
    const AttTiling *b = D >= 1 && Dv >= 1 ? tiling_for(D, Dv) : NULL;
    if (!b || G < 1)
        return diag_set(d, s->loc, "%s backend: %s: head dims %d, %d or group %lld out of range", c->dl->name,
                        s->name, D, Dv, (long long)G);
    const int BR = b->br, BC = b->bc, Dm = D > Dv ? D : Dv;
    const int RM = BR / b->str, CN = BC / b->stc, RO = BR / b->otr, NV = (Dv + b->otc - 1) / b->otc;
    const int QP = D + 1, KP = Dm + 1, PP = BC + 1;   /* padded shared row strides, floats */
    if (T != b->otr * b->otc || b->str * b->stc > T || s->tune.att_br != BR || s->tune.att_bc != BC ||
        s->tune.att_rg != RM)
        return diag_set(d, s->loc, "%s backend: %s: tiled attention tuned %dx%d (%d rows a work-item), %d work-items; "
                        "the renderer's blocking for head dims %d, %d is %dx%d (%d), %d (a tune bug)", c->dl->name,
                        s->name, s->tune.att_br, s->tune.att_bc, s->tune.att_rg, T, D, Dv, BR, BC, RM,
                        b->otr * b->otc);
    const int shared = 4 * (BR * QP + BC * KP + BR * PP);
    if (shared > CS_ATT_SHARED_MAX)
        return diag_set(d, s->loc, "%s backend: %s: tiled attention needs %d bytes of shared memory (over %d)",
                        c->dl->name, s->name, shared, CS_ATT_SHARED_MAX);
    const double scale = s->scale > 0 ? s->scale : 1.0 / sqrt((double)D);
    const char *gl = c->dl->global, *ex = cs_math(c, "exp"), *bar = c->dl->barrier;
    const DType ft = s->dtype, mt = s->mask == 2 ? s->in_dtypes[3] : DT_BOOL;
    const char *et = cs_etype(ft), *mty = s->mask == 1 ? "u8" : cs_etype(mt);

    cs_begin(c, 5);
    cs_shared(c, "float", "Qs", BR * QP);
    cs_shared(c, "float", "KV", BC * KP);
    cs_shared(c, "float", "Ps", BR * PP);
    cs_ptr(c, et, "Q", AB_Q);
    cs_ptr(c, et, "K", AB_K);
    cs_ptr(c, et, "V", AB_V);
    cs_ptr(c, mty, "MK", AB_MASK);
    cs_ptr(c, et, "OUT", AB_OUT);
    /* the group's row block; a dead group runs on block 0 with no keys and no stores */
    sb_printf(o, "    const i64 Sq = args.dims[%d], Sk = args.dims[%d], nb1 = args.dims[%d];\n"
                 "    const i64 nrb = Sq > 0 ? (Sq + %d) / %d : 1, g0 = args.tile0 + %s;\n"
                 "    const bool live = Sq > 0 && nb1 > 0 && g0 < args.ntiles / (Sq > 0 ? Sq : 1) * nrb;\n"
                 "    const i64 g = live ? g0 : 0;\n"
                 "    const i64 bh = g / nrb, i0 = (g %% nrb) * %d, b0 = bh / (nb1 > 0 ? nb1 : 1), "
                 "b1 = bh %% (nb1 > 0 ? nb1 : 1), b1kv = b1 / %lld;\n",
              AD_SQ, AD_SK, AD_NB1, BR - 1, BR, c->dl->group_id, BR, (long long)G);
    sb_printf(o, "    %s%s *qb = Q + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                 "    %s%s *kb = K + b0 * args.dims[%d] + b1kv * args.dims[%d];\n"
                 "    %s%s *vb = V + b0 * args.dims[%d] + b1kv * args.dims[%d];\n"
                 "    const i64 qss = args.dims[%d], kss = args.dims[%d], vss = args.dims[%d];\n",
              gl, et, AD_QS0, AD_QS1, gl, et, AD_KS0, AD_KS1, gl, et, AD_VS0, AD_VS1, AD_QSS, AD_KSS, AD_VSS);
    if (s->mask)
        sb_printf(o, "    %s%s *mb = MK + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    const i64 msi = args.dims[%d], msj = args.dims[%d];\n",
                  gl, mty, AD_MS0, AD_MS1, AD_MSI, AD_MSJ);
    cs_attn_seeds(c, drop);
    /* rows i0 .. ilim - 1 exist; causal: no key past the last of them */
    sb_printf(o, "    const i64 ilim = !live ? i0 : Sq < i0 + %d ? Sq : i0 + %d;\n", BR, BR);
    sb_printf(o, "    const i64 kend = !live ? 0 : %s;\n", s->causal ? "Sk < ilim ? Sk : ilim" : "Sk");
    /* Q block, zero past Sq (a dead group: nothing; it reads no Qs) */
    sb_printf(o, "    for (int x = tid; x < (live ? %d : 0); x += T) {\n"
                 "        const int r = x / %d, e = x %% %d;\n"
                 "        Qs[r * %d + e] = i0 + r < ilim ? %s : 0.0f;\n"
                 "    }\n",
              BR * D, D, D, QP, cs_ld(c, ft, "qb", "(i0 + r) * qss + e"));
    /* work-item grids: scores (st*), output (ot*); row stats: work-item r < BR */
    sb_printf(o, "    const int str = tid / %d, stc = tid %% %d, otr = tid / %d, otc = tid %% %d;\n", b->stc, b->stc,
              b->otc, b->otc);
    sb_printf(o, "    float acc[%d][%d];\n"
                 "    for (int a = 0; a < %d; a++)\n"
                 "        for (int k = 0; k < %d; k++) acc[a][k] = 0.0f;\n"
                 "    float m = -LTC_INF, l = 0.0f;\n",
              RO, NV, RO, NV);
    sb_printf(o, "    for (i64 j0 = 0; j0 < kend; j0 += %d) {\n", BC);
    /* 1. K block, zero past Sk (Qs too is complete after this barrier) */
    sb_printf(o, "        for (int x = tid; x < %d; x += T) {\n"
                 "            const int cc = x / %d, e = x %% %d;\n"
                 "            KV[cc * %d + e] = j0 + cc < Sk ? %s : 0.0f;\n"
                 "        }\n"
                 "        %s;\n",
              BC * D, D, D, KP, cs_ld(c, ft, "kb", "(j0 + cc) * kss + e"), bar);
    /* 2. the score micro-tile */
    if (b->str * b->stc < T) sb_printf(o, "        if (tid < %d) {\n", b->str * b->stc);
    else sb_puts(o, "        {\n");
    sb_printf(o, "            float sc[%d][%d];\n"
                 "            for (int a = 0; a < %d; a++)\n"
                 "                for (int bb = 0; bb < %d; bb++) sc[a][bb] = 0.0f;\n"
                 "            for (int e = 0; e < %d; e++) {\n"
                 "                float qv[%d], kv[%d];\n"
                 "                for (int a = 0; a < %d; a++) qv[a] = Qs[(str + %d * a) * %d + e];\n"
                 "                for (int bb = 0; bb < %d; bb++) kv[bb] = KV[(stc + %d * bb) * %d + e];\n"
                 "                for (int a = 0; a < %d; a++)\n"
                 "                    for (int bb = 0; bb < %d; bb++) sc[a][bb] += qv[a] * kv[bb];\n"
                 "            }\n",
              RM, CN, RM, CN, D, RM, CN, RM, b->str, QP, CN, b->stc, KP, RM, CN);
    sb_printf(o, "            for (int a = 0; a < %d; a++)\n"
                 "                for (int bb = 0; bb < %d; bb++) {\n"
                 "                    const int r = str + %d * a, cc = stc + %d * bb;\n"
                 "                    const i64 i = i0 + r, j = j0 + cc;\n"
                 "                    float v = sc[a][bb] * ",
              RM, CN, b->str, b->stc);
    cs_flt(o, scale);
    sb_printf(o, ";\n"
                 "                    const bool ok = i < ilim && j < kend%s;\n",
              s->causal ? " && j <= i" : "");
    if (s->mask == 1) sb_puts(o, "                    if (ok && mb[i * msi + j * msj] == 0) v = -LTC_INF;\n");
    else if (s->mask == 2) sb_printf(o, "                    if (ok) v += %s;\n", cs_ld(c, mt, "mb", "i * msi + j * msj"));
    sb_printf(o, "                    Ps[r * %d + cc] = ok ? v : -LTC_INF;\n"
                 "                }\n"
                 "        }\n"
                 "        %s;\n",
              PP, bar);
    /* 3. V block over K; row r's statistics and weights */
    sb_printf(o, "        for (int x = tid; x < %d; x += T) {\n"
                 "            const int cc = x / %d, e = x %% %d;\n"
                 "            KV[cc * %d + e] = j0 + cc < Sk ? %s : 0.0f;\n"
                 "        }\n",
              BC * Dv, Dv, Dv, KP, cs_ld(c, ft, "vb", "(j0 + cc) * vss + e"));
    sb_printf(o, "        if (tid < %d) {\n"
                 "            float mx = -LTC_INF;\n"
                 "            for (int cc = 0; cc < %d; cc++) mx = ltc_max(mx, Ps[tid * %d + cc]);\n"
                 "            const float mnew = ltc_max(m, mx);\n"
                 "            const float muse = mnew == -LTC_INF ? 0.0f : mnew;\n"
                 "            const float alpha = %s(m - muse);\n"
                 "            float ps = 0.0f;\n"
                 "            for (int cc = 0; cc < %d; cc++) {\n"
                 "                float p = %s(Ps[tid * %d + cc] - muse);\n"
                 "                ps += p;\n",
              BR, BC, PP, ex, BC, ex, PP);
    if (drop) {
        double ks = s->p >= 1 ? 0 : 1.0 / (1.0 - s->p);
        /* as r_attn.c: the weights of keys the row visits (j < its end) */
        sb_printf(o, "                const i64 i = i0 + tid, j = j0 + cc;\n"
                     "                if (i < ilim && j < kend%s)\n"
                     "                    p = ltc_uniform(seed0, seed1, call, (u64)((bh * Sq + i) * Sk + j)) >= ",
                  s->causal ? " && j <= i" : "");
        cs_flt(o, s->p);
        sb_puts(o, " ? p * ");
        cs_flt(o, ks);
        sb_puts(o, " : 0.0f;\n");
    }
    sb_printf(o, "                Ps[tid * %d + cc] = p;\n"
                 "            }\n"
                 "            l = l * alpha + ps;\n"
                 "            m = mnew;\n"
                 "            Ps[tid * %d + %d] = alpha;\n"
                 "        }\n"
                 "        %s;\n",
              PP, PP, BC, bar);
    /* 4. O = O alpha + P V on the output micro-tile */
    /* columns past Dv (Dv % OTC != 0) read 0, not past the row's end */
    char vload[96];
    if (Dv % b->otc) snprintf(vload, sizeof vload, "otc + %d * k < %d ? KV[cc * %d + otc + %d * k] : 0.0f", b->otc, Dv, KP, b->otc);
    else snprintf(vload, sizeof vload, "KV[cc * %d + otc + %d * k]", KP, b->otc);
    sb_printf(o, "        for (int a = 0; a < %d; a++) {\n"
                 "            const float s_ = Ps[(otr + %d * a) * %d + %d];\n"
                 "            for (int k = 0; k < %d; k++) acc[a][k] *= s_;\n"
                 "        }\n"
                 "        for (int cc = 0; cc < %d; cc++) {\n"
                 "            float pv[%d], vv[%d];\n"
                 "            for (int a = 0; a < %d; a++) pv[a] = Ps[(otr + %d * a) * %d + cc];\n"
                 "            for (int k = 0; k < %d; k++) vv[k] = %s;\n"
                 "            for (int a = 0; a < %d; a++)\n"
                 "                for (int k = 0; k < %d; k++) acc[a][k] += pv[a] * vv[k];\n"
                 "        }\n"
                 "        %s;\n"
                 "    }\n",
              RO, b->otr, PP, BC, NV, BC, RO, NV, RO, b->otr, PP, NV, vload, RO, NV, bar);
    /* out = O / l, rows < Sq, columns < Dv */
    sb_printf(o, "    if (tid < %d) Ps[tid * %d + %d] = l;\n"
                 "    %s;\n"
                 "    for (int a = 0; a < %d; a++) {\n"
                 "        const int r = otr + %d * a;\n"
                 "        const i64 i = i0 + r;\n"
                 "        const float lr = Ps[r * %d + %d];\n"
                 "        for (int k = 0; k < %d; k++) {\n"
                 "            const int dv = otc + %d * k;\n",
              BR, PP, BC, bar, RO, b->otr, PP, BC, NV, b->otc);
    char oi[48];
    snprintf(oi, sizeof oi, "(bh * Sq + i) * %d + dv", Dv);
    sb_printf(o, "            if (i < ilim && dv < %d) %s;\n"
                 "        }\n"
                 "    }\n",
              Dv, cs_st(c, ft, "OUT", oi, "acc[a][k] / lr"));
    cs_end(c);
    return 0;
}
