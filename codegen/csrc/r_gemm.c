/* r_gemm.c: the gemm and gemm_pack families in C (every dialect).
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual   (or * residual: res_mul)
 *
 * One group per tile; a tile is a row slot and a block of NB = 64 columns
 * (matmul: of one batch entry, or every block of it when N is symbolic):
 * the group computes the row blocks of BM = 64 rows rs, rs + nrs, ... where
 * nrs = ntiles / (other tiles) (codegen/lower_gemm.c row_slots: one block
 * per slot when M is constant or a multiple of 64).  A pass keeps a 64 x 64 block of
 * C in registers, 4 x 4 per work-item (rows ty + 16i, columns tx + 16j:
 * neighbouring work-items touch neighbouring columns, so shared-memory
 * reads are conflict-free and stores coalesce), and steps through K by
 * BK = 16: A[BM x BK] and B[BK x NB] are staged in shared memory, stored
 * k-major so the inner loop reads one row of each.  Ragged edges: loads
 * past M, N or K read zero, stores are guarded.
 *
 * B: linear W [N,K] row-major (B[k][n] = W[n*K + k]) or, when the weight
 * is made at bind time, the gemm_pack panel layout [N/64][K][64] (zero
 * past N: tune.nr = 64, so a tile is one panel); matmul B [K,N] with ldb.
 * bufs/dims: codegen/kernel_layout.h. */
#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

enum { NB = CS_GEMM_NB, BM = CS_GEMM_BM, BK = CS_GEMM_BK };

void cs_gemm_tile(Cs *c, bool matmul, int nb) {
    StrBuf *o = c->o;
    /* in u32: tile counts are < 2^31 (plan/kernel_footprint.c), and i64
     * division (a call) made ptxas spill on sm_90a */
    if (!matmul) {
        /* tile = row slot * column blocks + column block (lower_gemm row_slots) */
        sb_printf(o, "    const u32 ncbk = N > 0 ? (u32)((N + %d) / %d) : 1u, nrs = (u32)args.ntiles / ncbk;\n"
                     "    const i64 rs = (u32)tile / ncbk, cb0 = (u32)tile %% ncbk, cb1 = cb0 + 1;\n", nb - 1, nb);
        if (c->s->gemm.qkv)
            sb_printf(o, "    const i64 qS = args.dims[%d], qDh = args.dims[%d], qE = args.dims[%d];\n"
                         "    const i64 qPs = args.dims[%d], qLs = args.dims[%d], qHs = args.dims[%d];\n",
                      QD_S, QD_DH, QD_E, QD_PS, QD_LS, QD_HS);
        return;
    }
    /* column tiles: blocks (ncb > 0), or one that walks every column block
     * (N symbolic: ncb = 0); tile = (batch entry * row slots + row slot) *
     * column tiles + column block */
    sb_printf(o, "    const i64 ldb = args.dims[%d], ldc = args.dims[%d], nb1 = args.dims[%d], ncb = args.dims[%d];\n",
              MD_LDB, MD_LDC, MD_NB1, MD_NCB);
    sb_printf(o, "    const u32 ct = ncb > 0 ? (u32)ncb : 1u, nbc = (u32)(args.dims[%d] * nb1) * ct;\n"
                 "    const u32 nrs0 = nbc > 0 ? (u32)args.ntiles / nbc : 1u, nrs = nrs0 > 0 ? nrs0 : 1u;\n"
                 "    const i64 tb = (u32)tile / ct / nrs, rs = (u32)tile / ct %% nrs;\n"
                 "    const i64 cb0 = ncb > 0 ? (i64)((u32)tile %% ct) : 0, cb1 = ncb > 0 ? cb0 + 1 : (N + %d) / %d;\n",
              MD_NB0, nb - 1, nb);
}

void cs_gemm_head(Cs *c, const char *locals) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const char *et = cs_etype(s->dtype), *bt = s->gemm.packed ? "float" : et, *gl = c->dl->global;
    cs_tile_live(c);
    cs_ptr(c, et, "A0", GB_A);
    cs_ptr(c, bt, "B0", GB_B);
    cs_ptr(c, et, "bias", GB_BIAS);
    cs_ptr(c, et, "R", GB_RES);
    cs_ptr(c, et, "C0", GB_C);
    sb_puts(o, "    const i64 M = live ? args.dims[0] : 0, N = args.dims[1], K = args.dims[2], lda = args.dims[3];\n");
    sb_puts(o, locals);
    if (s->gemm.kind != 1) {
        sb_printf(o, "    const i64 ldc = args.dims[%d], ldr = args.dims[%d];\n", LD_LDC, LD_LDR);
        cs_gemm_tile(c, false, NB);
        sb_printf(o, "    %s%s *A = A0, *C = C0;\n    %s%s *B = B0;\n", gl, et, gl, bt);
    } else {
        cs_gemm_tile(c, true, NB);
        sb_printf(o, "    const i64 b0 = tb / nb1, b1 = tb %% nb1;\n"
                     "    %s%s *A = A0 + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    %s%s *B = B0 + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    %s%s *C = C0 + tb * M * ldc;\n",
                  gl, et, MD_SA0, MD_SA1, gl, bt, MD_SB0, MD_SB1, gl, et);
    }
}

void cs_gemm_stage_b(Cs *c) {
    StrBuf *o = c->o;
    const DType ft = c->s->dtype;
    sb_printf(o, "                for (int e = tid; e < %d; e += T) {\n", BK * NB);
    if (c->s->gemm.kind == 1)
        sb_printf(o, "                    const int kk = e / %d, cc = e %% %d;\n"
                     "                    const i64 k = k0 + kk, col = j0 + cc;\n"
                     "                    Bs[kk * %d + cc] = (k < K && col < N) ? %s : 0.0f;\n",
                  NB, NB, NB, cs_ld(c, ft, "B", "k * ldb + col"));
    else if (c->s->gemm.packed)   /* panel cb is [K][64], zero past N */
        sb_printf(o, "                    const int kk = e / %d, cc = e %% %d;\n"
                     "                    const i64 k = k0 + kk;\n"
                     "                    Bs[kk * %d + cc] = k < K ? B[(cb * K + k) * %d + cc] : 0.0f;\n",
                  NB, NB, NB, NB);
    else               /* W [N,K]: consecutive work-items read along a row of W */
        sb_printf(o, "                    const int kk = e %% %d, cc = e / %d;\n"
                     "                    const i64 k = k0 + kk, col = j0 + cc;\n"
                     "                    Bs[kk * %d + cc] = (k < K && col < N) ? %s : 0.0f;\n",
                  BK, BK, NB, cs_ld(c, ft, "B", "col * K + k"));
    sb_puts(o, "                }\n");
}

void cs_gemm_epilogue(Cs *c, const char *ind, const char *acc) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const DType ft = s->dtype;
    sb_printf(o, "%sfloat v = %s;\n", ind, acc);
    if (s->bias) sb_printf(o, "%sv += %s;\n", ind, cs_ld(c, ft, "bias", "col"));
    if (s->act) {
        StrBuf a = {0};
        cs_act(c, s->act, "v", &a);
        sb_printf(o, "%sv = %s;\n", ind, a.s ? a.s : "v");
        sb_free(&a);
    }
    if (s->residual) sb_printf(o, "%sv %s= %s;\n", ind, s->res_mul ? "*" : "+", cs_ld(c, ft, "R", "row * ldr + col"));
    if (s->gemm.qkv)
        sb_printf(o, "%sconst i64 e = col %% qE;\n%s%s;\n", ind, ind,
                  cs_st(c, ft, "C", "(row / qS) * qLs + (row % qS) * qDh + (col / qE) * qPs + (e / qDh) * qHs + e % qDh", "v"));
    else
        sb_printf(o, "%s%s;\n", ind, cs_st(c, ft, "C", "row * ldc + col", "v"));
}

int cs_gemm(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    /* one float dtype for A, W, bias, residual and C (csrc_supports);
     * packed panels are f32; the accumulators are float */
    const DType ft = s->dtype;
    if (c->threads != 256 || s->tune.nr != NB || s->tune.nb != NB || s->tune.mt != BM)
        return diag_set(d, s->loc, "%s backend: %s: GEMM blocking nr %d nb %d mt %d threads %d is not the renderer's",
                        c->dl->name, s->name, s->tune.nr, s->tune.nb, s->tune.mt, c->threads);
    cs_begin(c, 5);
    cs_shared(c, "float", "As", BK * BM);
    cs_shared(c, "float", "Bs", BK * NB);
    cs_gemm_head(c, "    const int tx = tid % 16, ty = tid / 16;\n");
    sb_printf(o, "    for (i64 cb = cb0; cb < cb1; cb++) {\n"
                 "        const i64 j0 = cb * %d;\n"
                 "        for (i64 m0 = rs * %d; m0 < M; m0 += (i64)nrs * %d) {\n"
                 "            float acc[4][4];\n"
                 "            for (int i = 0; i < 4; i++)\n"
                 "                for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;\n"
                 "            for (i64 k0 = 0; k0 < K; k0 += %d) {\n", NB, BM, BM, BK);
    /* stage A[m0.., k0..] as As[kk][r]: consecutive work-items read along a row of A */
    sb_printf(o, "                for (int e = tid; e < %d; e += T) {\n"
                 "                    const int kk = e %% %d, r = e / %d;\n"
                 "                    const i64 row = m0 + r, k = k0 + kk;\n"
                 "                    As[kk * %d + r] = (row < M && k < K) ? %s : 0.0f;\n"
                 "                }\n", BK * BM, BK, BK, BM, cs_ld(c, ft, "A", "row * lda + k"));
    cs_gemm_stage_b(c);
    sb_printf(o, "                %s;\n"
                 "                for (int kk = 0; kk < %d; kk++) {\n"
                 "                    float a[4], b[4];\n"
                 "                    for (int i = 0; i < 4; i++) a[i] = As[kk * %d + ty + 16 * i];\n"
                 "                    for (int j = 0; j < 4; j++) b[j] = Bs[kk * %d + tx + 16 * j];\n"
                 "                    for (int i = 0; i < 4; i++)\n"
                 "                        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];\n"
                 "                }\n"
                 "                %s;\n"
                 "            }\n", c->dl->barrier, BK, BM, NB, c->dl->barrier);
    /* epilogue: + bias, act, + residual, store (qkv: head-split offsets) */
    sb_puts(o, "            for (int i = 0; i < 4; i++) {\n"
               "                const i64 row = m0 + ty + 16 * i;\n"
               "                if (row >= M) continue;\n"
               "                for (int j = 0; j < 4; j++) {\n"
               "                    const i64 col = j0 + tx + 16 * j;\n"
               "                    if (col >= N) continue;\n");
    cs_gemm_epilogue(c, "                    ", "acc[i][j]");
    sb_puts(o, "                }\n            }\n        }\n    }\n");
    cs_end(c);
    return 0;
}

/* Bind-time packing: packed[t][k][c] = W[(t*64 + c)*K + k], zero past N;
 * one tile per panel of 64 columns. */
int cs_gemm_pack(Cs *c, LtcDiag *d) {
    if (c->s->tune.nr != NB)
        return diag_set(d, c->s->loc, "%s backend: %s: panel width %d is not the renderer's %d", c->dl->name,
                        c->s->name, c->s->tune.nr, NB);
    const DType wt = c->s->dtype;   /* W's (the linear's one float dtype); the panels are f32 */
    cs_begin(c, 2);
    cs_tile(c);
    cs_ptr(c, cs_etype(wt), "W", 0);
    cs_ptr(c, "float", "P", 1);
    sb_printf(c->o, "    const i64 N = args.dims[0], K = args.dims[1];\n"
                    "    for (i64 e = tid; e < K * %d; e += T) {\n"
                    "        const i64 k = e / %d, col = tile * %d + e %% %d;\n"
                    "        P[tile * K * %d + e] = col < N ? %s : 0.0f;\n"
                    "    }\n", NB, NB, NB, NB, NB, cs_ld(c, wt, "W", "col * K + k"));
    cs_end(c);
    return 0;
}
