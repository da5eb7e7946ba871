/* r_gemm_simd.c: the gemm family on simdgroup matrices, for dialects with
 * `has_simdgroup_matrix` (Metal Shading Language 2.3+, Apple7 GPUs and
 * later: simdgroup_float8x8 with simdgroup_load / _multiply_accumulate /
 * _store).
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual (or * residual)   (fp32 accumulation)
 *
 * The blocking and the tune are r_gemm.c's (csrc_tune_in treats both
 * alike): a tile is a row slot and a column block of NB = 64 (cs_gemm_tile),
 * a pass makes a BM = 64 x 64 block of C, K is stepped by BK = 16 through
 * threadgroup memory, T = 256 work-items = 8 simdgroups of 32 lanes.
 * Simdgroup g = tid / 32 (a 1-D threadgroup fills its simdgroups in
 * thread order) owns rows wr = 16 (g / 2) .. + 16 and columns wc = 32 (g %
 * 2) .. + 32 of the block: 2 x 4 accumulators of 8 x 8, so a step of 8 in
 * k loads 2 A and 4 B fragments for 8 products.
 *
 * Per step of K: every work-item stages A[m0.., k0..] as As[r][kk] (rows of
 * BK) and B as r_gemm.c does, Bs[kk][cc] (cs_gemm_stage_b: W [N,K], the
 * gemm_pack panels or matmul B [K,N]), both float whatever the dtype
 * (cs_ld converts bf16/f16), zero past M, N and K, so ragged edges
 * multiply zeros.  Then C[r][c] += sum_kk As[r][kk] Bs[kk][c] on 8 x 8
 * fragments.  After K the accumulators go to threadgroup memory Cs[64][64]
 * (simdgroup_store) and the group runs the epilogue from there, element ei
 * = tid, tid + T, .. (consecutive work-items on consecutive columns:
 * coalesced stores): cs_gemm_epilogue, as r_gemm.c, guarded by row < M,
 * col < N.  24 KB of threadgroup memory (As 4, Bs 4, Cs 16; Metal has 32).
 *
 * Barriers: every work-item runs every pass (the loop bounds are uniform
 * in the group; a group past ntiles has M = 0: cs_tile_live), and the
 * simdgroup functions run in uniform control flow.  Threadgroup memory is
 * kernel-scope arrays only (cs_shared); the fragments are addressed as
 * &As[..] arguments, never through threadgroup pointer locals.
 * bufs/dims: codegen/kernel_layout.h. */
#include "codegen/csrc/csrc.h"

enum { NB = CS_GEMM_NB, BM = CS_GEMM_BM, BK = CS_GEMM_BK };

int cs_gemm_simd(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const DType ft = s->dtype;
    if (!c->dl->has_simdgroup_matrix)
        return diag_set(d, s->loc, "%s backend: %s: no simdgroup matrices in this dialect", c->dl->name, s->name);
    if (c->threads != 256 || s->tune.nr != NB || s->tune.nb != NB || s->tune.mt != BM)
        return diag_set(d, s->loc, "%s backend: %s: GEMM blocking nr %d nb %d mt %d threads %d is not the renderer's",
                        c->dl->name, s->name, s->tune.nr, s->tune.nb, s->tune.mt, c->threads);
    cs_begin(c, 5);
    cs_shared(c, "float", "As", BM * BK);
    cs_shared(c, "float", "Bs", BK * NB);
    cs_shared(c, "float", "Cs", BM * NB);
    cs_gemm_head(c, "    const int sg = tid / 32, wr = sg / 2 * 16, wc = sg % 2 * 32;\n");
    sb_printf(o, "    for (i64 cb = cb0; cb < cb1; cb++) {\n"
                 "        const i64 j0 = cb * %d;\n"
                 "        for (i64 m0 = rs * %d; m0 < M; m0 += (i64)nrs * %d) {\n"
                 "            simdgroup_float8x8 acc[2][4];\n"
                 "            for (int i = 0; i < 2; i++)\n"
                 "                for (int j = 0; j < 4; j++) acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);\n"
                 "            for (i64 k0 = 0; k0 < K; k0 += %d) {\n", NB, BM, BM, BK);
    /* As[r][kk]: consecutive work-items read along a row of A and write
     * consecutive words */
    sb_printf(o, "                for (int e = tid; e < %d; e += T) {\n"
                 "                    const int kk = e %% %d, r = e / %d;\n"
                 "                    const i64 row = m0 + r, k = k0 + kk;\n"
                 "                    As[r * %d + kk] = (row < M && k < K) ? %s : 0.0f;\n"
                 "                }\n", BM * BK, BK, BK, BK, cs_ld(c, ft, "A", "row * lda + k"));
    cs_gemm_stage_b(c);
    sb_printf(o, "                %s;\n"
                 "                for (int kk = 0; kk < %d; kk += 8) {\n"
                 "                    simdgroup_float8x8 a[2], b[4];\n"
                 "                    for (int i = 0; i < 2; i++) simdgroup_load(a[i], &As[(wr + 8 * i) * %d + kk], %d);\n"
                 "                    for (int j = 0; j < 4; j++) simdgroup_load(b[j], &Bs[kk * %d + wc + 8 * j], %d);\n"
                 "                    for (int i = 0; i < 2; i++)\n"
                 "                        for (int j = 0; j < 4; j++) simdgroup_multiply_accumulate(acc[i][j], a[i], b[j], acc[i][j]);\n"
                 "                }\n"
                 "                %s;\n"
                 "            }\n", c->dl->barrier, BK, BK, BK, NB, NB, c->dl->barrier);
    /* the block through Cs; the barrier after the epilogue keeps the next
     * pass's stores (with K = 0 at once) from overwriting unread values */
    sb_printf(o, "            for (int i = 0; i < 2; i++)\n"
                 "                for (int j = 0; j < 4; j++) simdgroup_store(acc[i][j], &Cs[(wr + 8 * i) * %d + wc + 8 * j], %d);\n"
                 "            %s;\n"
                 "            for (int ei = tid; ei < %d; ei += T) {\n"
                 "                const i64 row = m0 + ei / %d, col = j0 + ei %% %d;\n"
                 "                if (row >= M || col >= N) continue;\n",
              NB, NB, c->dl->barrier, BM * NB, NB, NB);
    cs_gemm_epilogue(c, "                ", "Cs[ei]");
    sb_printf(o, "            }\n"
                 "            %s;\n"
                 "        }\n    }\n", c->dl->barrier);
    cs_end(c);
    return 0;
}
