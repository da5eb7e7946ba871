/* r_attn_mma.c: the flash_attention family on tensor cores, for dialects
 * with `has_mma` (CUDA C, sm_80 and later), when Q, K, V and the output
 * are bf16 or f16, the head dims are multiples of 16 up to 128, and there
 * is no training dropout (those run the one-row renderer, r_attn.c).
 *
 * The online softmax of Dao et al. (FlashAttention-2), per query row i:
 *   s_j = scale q_i . k_j (+ mask), -inf where masked or j > i (causal)
 *   m' = max(m, max_j s_j)      p_j = exp(s_j - m')
 *   l' = l e^(m - m') + sum_j p_j
 *   O' = O e^(m - m') + sum_j p_j v_j              out_i = O / l
 * with the same conventions as r_attn.c: a row masked so far subtracts 0,
 * not -inf (so exp gives 0, not NaN); a fully masked row ends with l = 0
 * and out = 0/0 = NaN, as the interpreter.
 *
 * A group of 4 warps (128 threads) owns the query rows of one batch entry
 * (b0, b1): BR = 64, 16 rows per warp, the Q block staged once through
 * shared memory into mma A fragments held in registers (ldmatrix.x4); or,
 * the tune's choice for unmasked attention, BR = 128 ("wide"), 32 rows per
 * warp as two m-tiles, the Q block kept in dynamic shared memory and its
 * fragments loaded per key block (as FlashAttention-2), so that each K
 * and V fragment feeds two products.  Keys are visited in
 * blocks of BC = 64: the K and V blocks are copied into shared memory by
 * cp.async (16 bytes, zero-filled past Sk; guarded scalar loads when a row
 * stride or base is not 16-byte aligned, a uniform branch), then
 *   S (16 x 64 per warp) = Q K^T   by mma.sync.m16n8k16 (K rows are the B
 *                                  columns: ldmatrix without .trans),
 *   the row maxima and sums over the 4 threads of a quad (shfl.xor 1, 2),
 *   P = exp(S - m) rounded to the 16-bit dtype, reused in registers as the
 *   A fragments of  O += P V  (V [key][dv] is B [k][n]: ldmatrix.trans).
 * Accumulators, scores and statistics are fp32; only P is rounded, as in
 * FlashAttention-2's bf16 kernels.  Scores are kept in base 2 (s log2 e,
 * the scale folded in; the additive mask times log2 e) so exp is one
 * exp2f: e^(s - m) = 2^(s log2 e - m log2 e).  Causal: key blocks past the group's
 * last row are skipped.  Grouped-query attention: query head b1 reads
 * key/value head b1 / G.
 *
 * Tiles: the plan's ntiles stays the rows of [b0, b1, Sq] (codegen/
 * lower_attn.c; the footprint contract of plan/kernel_footprint.c is
 * unchanged: every row written is a row < ntiles); group g works on row
 * block g % nrb of batch entry g / nrb, nrb = ceil(Sq / BR), and groups g
 * >= b0 nb1 nrb return at once (BR - 1 in BR of them: an empty group costs
 * about a microsecond per wave, not a row's work).  Rows of shared memory
 * are padded by 8 halves so ldmatrix is conflict-free.
 * bufs/dims: codegen/kernel_layout.h (AD_*, AB_*). */
#include <math.h>

#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"
#include "plan/gpu_abi.h"

enum { BR = CS_ATTM_BR, BC = CS_ATTM_BC };

bool cs_attn_is_mma(const KernelSpec *s) {
    bool half = s->dtype == DT_BF16 || s->dtype == DT_F16;
    for (int i = 0; i < 3 && half; i++) half = s->in_dtypes[i] == s->dtype;
    if (s->mask == 2) half = half && s->in_dtypes[3] == s->dtype;
    return half && !(s->training && s->p > 0) && s->head_dim % 16 == 0 && s->value_dim % 16 == 0 &&
           s->head_dim >= 16 && s->value_dim >= 16 && s->head_dim <= CS_ATTM_MAXD && s->value_dim <= CS_ATTM_MAXD &&
           s->group >= 1;
}

/* Rows [r0, r0 + rows) of src (row stride ss, n halves each, n % 8 == 0)
 * into shared memory at stride sh halves (sdst: its address, dst: the u32
 * array), rows >= rend zero: 16-byte cp.async when `vec`, else guarded
 * scalar loads; one commit group.  Written out at each use (a lambda
 * capturing by reference put tid and vec on the stack: ptxas spills). */
static void stage(StrBuf *o, int rows, const char *sdst, const char *dst, const char *src, const char *ss, int n,
                  int sh, const char *r0, const char *rend) {
    sb_printf(o, "        for (int ch = tid; ch < %d; ch += 128) {\n"
                 "            const int r = ch / %d, e = (ch %% %d) * 8, h = r * %d + e;\n"
                 "            const i64 row = %s + r;\n"
                 "            if (vec) {\n"
                 "                const bool in = row < %s;\n"
                 "                ltc_cp16(%s + h * 2, in ? %s + row * %s + e : %s, in ? 16 : 0);\n"
                 "            } else {\n"
                 "                for (int j = 0; j < 4; j++) {\n"
                 "                    const u32 lo = row < %s ? %s[row * %s + e + 2 * j] : 0;\n"
                 "                    const u32 hi = row < %s ? %s[row * %s + e + 2 * j + 1] : 0;\n"
                 "                    %s[h / 2 + j] = lo | hi << 16;\n"
                 "                }\n"
                 "            }\n"
                 "        }\n"
                 "        ltc_cp_commit();\n",
              rows * (n / 8), n / 8, n / 8, sh, r0, rend, sdst, src, ss, src, rend, src, ss, rend, src, ss, dst);
}

/* The shared memory of the wide blocking (BR = 128): Q [128][D + 8], K
 * [64][D + 8], V [64][Dv + 8] halves, dynamic (69632 bytes at D = Dv =
 * 128, over the 48 KB of static shared memory) on every target. */
static int wide_bytes(int D, int Dv) { return (CS_ATTM_BRW * (D + 8) + BC * (D + 8) + BC * (Dv + 8)) * 2; }

int cs_attn_mma(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const int D = (int)s->head_dim, Dv = (int)s->value_dim;
    const int SK = D + 8, SV = Dv + 8;               /* shared row strides, halves */
    const bool bf = s->dtype == DT_BF16;
    const char *ld = bf ? "ltc_bf16_f" : "ltc_f16_f", *st = bf ? "ltc_f_bf16" : "ltc_f_f16";
    const char *mma = bf ? "bf16" : "f16";
    if (!c->dl->has_mma || !cs_attn_is_mma(s))
        return diag_set(d, s->loc, "%s backend: %s: no tensor-core attention for these dtypes or head dims",
                        c->dl->name, s->name);
    const int br = s->tune.att_br;
    if (c->threads != 128 || (br != BR && br != CS_ATTM_BRW) || s->tune.att_bc != BC)
        return diag_set(d, s->loc, "%s backend: %s: tensor-core attention blocking %dx%d, %d threads is not the "
                        "renderer's (a tune bug)", c->dl->name, s->name, s->tune.att_br, s->tune.att_bc, c->threads);
    /* MT m-tiles of 16 rows per warp: 1 (BR 64: the Q fragments held in
     * registers) or 2 (BR 128: Q stays in shared memory and its fragments
     * are loaded per key block, as FlashAttention-2 does; each K and V
     * fragment then feeds twice the products) */
    const int MT = br / 64, WR = 16 * MT;            /* rows per warp */
    const bool wide = MT == 2;
    double scale = s->scale > 0 ? s->scale : 1.0 / sqrt((double)D);
    if (wide)
        sb_printf(o, "\nextern \"C\" __device__ unsigned " LTC_GPU_DSM_PREFIX "%s = %du;\n", s->name, wide_bytes(D, Dv));
    cs_begin(c, 5);
    if (wide) {
        /* u32 arrays: Q block [128][D + 8] halves, K [64][D + 8], V [64][Dv + 8] */
        sb_printf(o, "    extern __shared__ __align__(16) u32 Sm[];   /* %d bytes: ltc_dsm_%s */\n"
                     "    u32 *Qs = Sm, *Ks = Sm + %d, *Vs = Sm + %d;\n",
                  wide_bytes(D, Dv), s->name, CS_ATTM_BRW * SK / 2, CS_ATTM_BRW * SK / 2 + BC * SK / 2);
        c->shared_bytes += wide_bytes(D, Dv);
    } else {
        /* u32 arrays: K block [64][D + 8] halves (first the Q block), V [64][Dv + 8] */
        cs_shared(c, "__align__(16) u32", "Ks", BC * SK / 2);
        cs_shared(c, "__align__(16) u32", "Vs", BC * SV / 2);
    }
    const char *mty = s->mask == 1 ? "u8" : "u16";
    sb_printf(o, "    const u16 *Q = (const u16 *)p%d, *K = (const u16 *)p%d, *V = (const u16 *)p%d;\n"
                 "    const %s *MK = (const %s *)p%d;\n"
                 "    u16 *OUT = (u16 *)p%d;\n", AB_Q, AB_K, AB_V, mty, mty, AB_MASK, AB_OUT);
    sb_printf(o, "    const i64 Sq = args.dims[%d], Sk = args.dims[%d], nb1 = args.dims[%d];\n"
                 "    const i64 nrb = (Sq + %d) / %d, g = args.tile0 + %s;\n"
                 "    if (Sq < 1 || nb1 < 1 || g >= args.ntiles / Sq * nrb) return;\n"
                 "    const i64 bh = g / nrb, i0 = (g %% nrb) * %d, b0 = bh / nb1, b1 = bh %% nb1, b1kv = b1 / %lld;\n",
              AD_SQ, AD_SK, AD_NB1, br - 1, br, c->dl->group_id, br, (long long)s->group);
    sb_printf(o, "    const u16 *q = Q + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                 "    const u16 *kb = K + b0 * args.dims[%d] + b1kv * args.dims[%d];\n"
                 "    const u16 *vb = V + b0 * args.dims[%d] + b1kv * args.dims[%d];\n"
                 "    const i64 qss = args.dims[%d], kss = args.dims[%d], vss = args.dims[%d];\n",
              AD_QS0, AD_QS1, AD_KS0, AD_KS1, AD_VS0, AD_VS1, AD_QSS, AD_KSS, AD_VSS);
    if (s->mask)
        sb_printf(o, "    const %s *mb = MK + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    const i64 msi = args.dims[%d], msj = args.dims[%d];\n",
                  mty, AD_MS0, AD_MS1, AD_MSI, AD_MSJ);
    sb_printf(o, "    const u32 sK = ltc_smem(Ks), sV = ltc_smem(Vs);\n"
                 "    const int warp = tid >> 5, lane = tid & 31, qr = lane >> 2, qc = (lane & 3) * 2;\n"
                 "    const bool vec = qss %% 8 == 0 && kss %% 8 == 0 && vss %% 8 == 0 && ((u64)q & 15) == 0 &&\n"
                 "                     ((u64)kb & 15) == 0 && ((u64)vb & 15) == 0;\n"
                 "    const int wr0 = warp * %d;     /* the warp's first row in the block */\n", WR);
    if (wide) {
        /* Q: its own commit group, waited for with the first K block */
        sb_puts(o, "    const u32 sQ = ltc_smem(Qs);\n    {\n");
        stage(o, CS_ATTM_BRW, "sQ", "Qs", "q", "qss", D, SK, "i0", "Sq");
        sb_puts(o, "    }\n");
    } else {
        /* Q -> A fragments (as r_gemm_mma.c's A: row lane & 15, column half lane >> 4) */
        sb_printf(o, "    u32 qf[%d][4];\n    {\n", D / 16);
        stage(o, 64, "sK", "Ks", "q", "qss", D, SK, "i0", "Sq");
        sb_printf(o, "    }\n"
                     "    ltc_cp_wait0();\n"
                     "    __syncthreads();\n"
                     "#pragma unroll\n"
                     "    for (int kc = 0; kc < %d; kc++)\n"
                     "        ltc_ldm4(sK + ((wr0 + (lane & 15)) * %d + kc * 16 + (lane >> 4) * 8) * 2, qf[kc]);\n"
                     "    __syncthreads();\n",
                  D / 16, SK);
    }
    sb_printf(o, "    float oacc[%d][%d][4];\n"
                 "#pragma unroll\n"
                 "    for (int mt = 0; mt < %d; mt++)\n"
                 "#pragma unroll\n"
                 "        for (int n = 0; n < %d; n++) oacc[mt][n][0] = oacc[mt][n][1] = oacc[mt][n][2] = oacc[mt][n][3] = 0.0f;\n"
                 "    float m[%d][2], l[%d][2];\n"
                 "#pragma unroll\n"
                 "    for (int mt = 0; mt < %d; mt++) m[mt][0] = m[mt][1] = -LTC_INF, l[mt][0] = l[mt][1] = 0.0f;\n",
              MT, Dv / 8, MT, Dv / 8, MT, MT, MT);
    if (s->causal) sb_printf(o, "    const i64 kend = Sk < i0 + %d ? Sk : i0 + %d;\n", br, br);
    else sb_puts(o, "    const i64 kend = Sk;\n");
    /* the copies overlap the tensor cores: V_j arrives while S = Q K_j^T
     * is computed, K_(j+1) while O += P V_j (one stage of each) */
    sb_puts(o, "    if (kend > 0) {\n        const i64 j0 = 0;\n");
    stage(o, 64, "sK", "Ks", "kb", "kss", D, SK, "j0", "Sk");
    sb_puts(o, "    }\n");
    sb_printf(o, "#pragma unroll 1\n    for (i64 j0 = 0; j0 < kend; j0 += %d) {\n", BC);
    stage(o, 64, "sV", "Vs", "vb", "vss", Dv, SV, "j0", "Sk");
    sb_puts(o, "        ltc_cp_wait1();\n"
               "        __syncthreads();\n");
    /* S = Q K^T: 8 n-tiles of 8 keys per m-tile; K rows as B columns, as
     * r_gemm_mma.c's W; one K fragment feeds every m-tile.  Wide: the
     * k-chunk loop unrolled by 2 only (fully unrolled, ptxas hoisted the
     * fragment loads and spilled 146 bytes at D = 128; by 2: 255
     * registers, no spill) */
    sb_printf(o, "        float sc[%d][8][4];\n"
                 "#pragma unroll\n"
                 "        for (int mt = 0; mt < %d; mt++)\n"
                 "#pragma unroll\n"
                 "            for (int n = 0; n < 8; n++) sc[mt][n][0] = sc[mt][n][1] = sc[mt][n][2] = sc[mt][n][3] = 0.0f;\n"
                 "#pragma unroll %s\n"
                 "        for (int kc = 0; kc < %d; kc++) {\n",
              MT, MT, wide ? "2" : "", D / 16);
    if (wide)
        sb_printf(o, "            u32 qa[%d][4];\n"
                     "#pragma unroll\n"
                     "            for (int mt = 0; mt < %d; mt++)\n"
                     "                ltc_ldm4(sQ + ((wr0 + mt * 16 + (lane & 15)) * %d + kc * 16 + (lane >> 4) * 8) * 2, qa[mt]);\n",
                  MT, MT, SK);
    sb_printf(o, "#pragma unroll\n"
                 "            for (int nj = 0; nj < 4; nj++) {\n"
                 "                const int qq = lane >> 3, key = nj * 16 + (qq >> 1) * 8 + (lane & 7);\n"
                 "                u32 t[4];\n"
                 "                ltc_ldm4(sK + (key * %d + kc * 16 + (qq & 1) * 8) * 2, t);\n"
                 "#pragma unroll\n"
                 "                for (int mt = 0; mt < %d; mt++) {\n"
                 "                    ltc_mma_%s(sc[mt][2 * nj], %s, t);\n"
                 "                    ltc_mma_%s(sc[mt][2 * nj + 1], %s, t + 2);\n"
                 "                }\n"
                 "            }\n"
                 "        }\n",
              SK, MT, mma, wide ? "qa[mt]" : "qf[kc]", mma, wide ? "qa[mt]" : "qf[kc]");
    /* scale, mask, causal and Sk bounds; e: row qr (e < 2) or qr + 8, key 2 qc' + (e & 1) */
    sb_printf(o, "        __syncthreads();\n"
                 "        const bool more = j0 + %d < kend;\n"
                 "        if (more) {\n"
                 "            const i64 jn = j0 + %d;\n", BC, BC);
    stage(o, 64, "sK", "Ks", "kb", "kss", D, SK, "jn", "Sk");
    sb_puts(o, "        }\n");
    /* in-block key jj and row r as ints: key j0 + jj < Sk iff jj < klim;
     * causal j > i iff jj > r + cd, cd = i0 - j0 (clamped: jj < 64, r < 128) */
    sb_puts(o, "        const int klim = (int)(Sk - j0 < 64 ? Sk - j0 : 64);\n"
               "        const int cd = (int)(i0 - j0 < -256 ? -256 : i0 - j0 > 256 ? 256 : i0 - j0);\n");
    sb_printf(o, "        u32 pf[%d][4][4];\n"
                 "#pragma unroll\n"
                 "        for (int mt = 0; mt < %d; mt++) {\n"
                 "        float mx[2] = {-LTC_INF, -LTC_INF};\n"
                 "#pragma unroll\n"
                 "        for (int n = 0; n < 8; n++)\n"
                 "#pragma unroll\n"
                 "            for (int e = 0; e < 4; e++) {\n"
                 "                const int jj = n * 8 + qc + (e & 1), r = wr0 + mt * 16 + qr + (e >> 1) * 8;\n"
                 "                float v = sc[mt][n][e] * ",
              MT, MT);
    cs_flt(o, scale * 1.4426950408889634);   /* log2 e: exp2f below */
    sb_puts(o, ";\n");
    if (s->mask)
        sb_puts(o, "                const i64 i = i0 + r, j = j0 + jj;\n");
    if (s->mask == 1) sb_puts(o, "                if (jj < klim && i < Sq && mb[i * msi + j * msj] == 0) v = -LTC_INF;\n");
    else if (s->mask == 2)
        sb_printf(o, "                if (jj < klim && i < Sq) v += %s(mb[i * msi + j * msj]) * 1.44269504088896341f;\n", ld);
    sb_printf(o, "                if (jj >= klim%s) v = -LTC_INF;\n", s->causal ? " || jj > r + cd" : "");
    sb_puts(o, "                sc[mt][n][e] = v;\n"
               "                mx[e >> 1] = ltc_max(mx[e >> 1], v);\n"
               "            }\n");
    /* the quad's row maxima, the new m, the rescale and P */
    sb_printf(o, "        float muse[2];\n"
                 "#pragma unroll\n"
                 "        for (int r = 0; r < 2; r++) {\n"
                 "            mx[r] = ltc_max(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));\n"
                 "            mx[r] = ltc_max(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));\n"
                 "            const float mn = ltc_max(m[mt][r], mx[r]);\n"
                 "            muse[r] = mn == -LTC_INF ? 0.0f : mn;\n"
                 "            const float alpha = exp2f(m[mt][r] - muse[r]);\n"
                 "            m[mt][r] = mn;\n"
                 "            l[mt][r] *= alpha;\n"
                 "#pragma unroll\n"
                 "            for (int n = 0; n < %d; n++) oacc[mt][n][2 * r] *= alpha, oacc[mt][n][2 * r + 1] *= alpha;\n"
                 "        }\n",
              Dv / 8);
    /* P in registers: the accumulator of n-tiles 2k, 2k + 1 is the A fragment of keys 16k.. */
    sb_printf(o, "#pragma unroll\n"
                 "        for (int n = 0; n < 8; n++) {\n"
                 "            float pv[4];\n"
                 "#pragma unroll\n"
                 "            for (int e = 0; e < 4; e++) {\n"
                 "                pv[e] = exp2f(sc[mt][n][e] - muse[e >> 1]);\n"
                 "                l[mt][e >> 1] += pv[e];\n"
                 "            }\n"
                 "            pf[mt][n >> 1][(n & 1) * 2] = (u32)%s(pv[0]) | (u32)%s(pv[1]) << 16;\n"
                 "            pf[mt][n >> 1][(n & 1) * 2 + 1] = (u32)%s(pv[2]) | (u32)%s(pv[3]) << 16;\n"
                 "        }\n"
                 "        }\n",
              st, st, st, st);
    /* A fragment register order: a0 (row qr, k lo), a1 (row qr + 8, k lo), a2 (qr, k hi), a3 (qr + 8, k hi) */
    sb_printf(o, "        if (more) ltc_cp_wait1(); else ltc_cp_wait0();\n"
                 "        __syncthreads();\n"
                 "#pragma unroll\n"
                 "        for (int kc = 0; kc < 4; kc++) {\n"
                 "#pragma unroll\n"
                 "            for (int nj = 0; nj < %d; nj++) {\n"
                 "                const int qq = lane >> 3, kr = kc * 16 + (qq & 1) * 8 + (lane & 7), n = nj * 16 + (qq >> 1) * 8;\n"
                 "                u32 t[4];\n"
                 "                ltc_ldm4t(sV + (kr * %d + n) * 2, t);\n"
                 "#pragma unroll\n"
                 "                for (int mt = 0; mt < %d; mt++) {\n"
                 "                    ltc_mma_%s(oacc[mt][2 * nj], pf[mt][kc], t);\n"
                 "                    ltc_mma_%s(oacc[mt][2 * nj + 1], pf[mt][kc], t + 2);\n"
                 "                }\n"
                 "            }\n"
                 "        }\n"
                 "        __syncthreads();\n"
                 "    }\n",
              Dv / 16, SV, MT, mma, mma);
    /* l over the quad; out = O / l, rows < Sq */
    sb_printf(o, "    u16 *ob = OUT + bh * Sq * %d;\n"
                 "#pragma unroll\n"
                 "    for (int mt = 0; mt < %d; mt++) {\n"
                 "#pragma unroll\n"
                 "    for (int r = 0; r < 2; r++) {\n"
                 "        l[mt][r] += __shfl_xor_sync(0xffffffffu, l[mt][r], 1);\n"
                 "        l[mt][r] += __shfl_xor_sync(0xffffffffu, l[mt][r], 2);\n"
                 "    }\n"
                 "#pragma unroll\n"
                 "    for (int n = 0; n < %d; n++)\n"
                 "#pragma unroll\n"
                 "        for (int e = 0; e < 4; e++) {\n"
                 "            const i64 i = i0 + wr0 + mt * 16 + qr + (e >> 1) * 8;\n"
                 "            if (i < Sq) ob[i * %d + n * 8 + qc + (e & 1)] = %s(oacc[mt][n][e] / l[mt][e >> 1]);\n"
                 "        }\n"
                 "    }\n",
              Dv, MT, Dv / 8, Dv, st);
    cs_end(c);
    return 0;
}
