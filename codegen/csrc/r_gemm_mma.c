/* r_gemm_mma.c: the gemm family on tensor cores, for dialects with
 * `has_mma` (CUDA C, sm_80 and later), when A and B are bf16 or f16.
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual     (fp32 accumulation)
 *
 * Elements are 16 bits in memory (u16: A, B, bias, residual and C all of
 * the kernel's dtype); the preamble's ltc_bf16_f / ltc_f_bf16 (round to
 * nearest even) and ltc_f16_f / ltc_f_f16 (cvt.rn) convert.
 *
 * A tile is a row slot and a block of MB = 128 x NB = 128 of C (row slots as
 * the fp32 renderer: codegen/lower_gemm.c row_slots, tune.mt = 128); the
 * group of 8 warps (256 threads) holds it in registers, each warp 64 x 32
 * (4 x 4 mma.sync.m16n8k16 tiles: 64 floats per thread).  K is stepped by
 * KB = 32 through two shared-memory stages (double buffering): the next
 * stage is copied by cp.async.cg (16 bytes, zero-filled past M, N, K with
 * src-size) while the tensor cores work on the current one; fragments come
 * from ldmatrix.x4 (B of a matmul, stored [k][n]: ldmatrix.trans).  Rows of
 * the stages are padded (40 and 136 halves) so ldmatrix is conflict-free.
 *
 * cp.async needs 16-byte aligned sources: when a row stride (lda, K for W,
 * ldb) is not a multiple of 8 elements or a base is misaligned, the same
 * kernel loads the stages with guarded scalar reads instead (a per-tile,
 * uniform branch), so any shape is right; only aligned ones are fast.
 *
 * B: linear W [N,K] row-major (W rows are B columns: "col" for mma, no
 * transpose), never the gemm_pack panels (csrc_tune turns packing off for
 * these kernels); matmul B [K,N] with ldb.  Epilogue per element: + bias,
 * act (the op's expr), + residual, rounded store; qkv: head-split offsets.
 * bufs/dims: codegen/kernel_layout.h. */
#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

enum { MB = CS_MMA_MB, NB = CS_MMA_NB, KB = CS_MMA_KB, SA = 40, SBT = 136 };

bool cs_gemm_is_mma(const KernelSpec *s) {
    DType t = s->nin >= 2 ? s->in_dtypes[0] : DT_F32;
    return (t == DT_BF16 || t == DT_F16) && s->in_dtypes[1] == t;
}

int cs_gemm_mma(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    bool matmul = s->gemm.kind == 1, qkv = s->gemm.qkv;
    bool bf = s->in_dtypes[0] == DT_BF16;
    const char *ld = bf ? "ltc_bf16_f" : "ltc_f16_f", *st = bf ? "ltc_f_bf16" : "ltc_f_f16";
    const char *mma = bf ? "bf16" : "f16";
    if (!c->dl->has_mma)
        return diag_set(d, s->loc, "%s backend: %s: no tensor-core GEMM in this dialect", c->dl->name, s->name);
    if (c->threads != 256 || s->tune.nr != NB || s->tune.nb != NB || s->tune.mt != MB || s->gemm.packed)
        return diag_set(d, s->loc, "%s backend: %s: tensor-core GEMM blocking nr %d nb %d mt %d threads %d%s is not the renderer's",
                        c->dl->name, s->name, s->tune.nr, s->tune.nb, s->tune.mt, c->threads,
                        s->gemm.packed ? " (packed)" : "");
    if (s->dtype != s->in_dtypes[0] || (s->bias && s->in_dtypes[2] != s->dtype) ||
        (s->residual && s->in_dtypes[2 + s->bias] != s->dtype))
        return diag_set(d, s->loc, "%s backend: %s: tensor-core GEMM with mixed dtypes", c->dl->name, s->name);
    cs_begin(c, 5);
    /* u32 arrays (the byte count of cs_shared): 2 stages of A [128][40
     * halves], B [128][40] (W rows) or [32][136] (matmul rows of k) */
    int na = 2 * MB * SA / 2, nbs = matmul ? 2 * KB * SBT / 2 : 2 * NB * SA / 2;
    cs_shared(c, "__align__(16) u32", "As", na);
    cs_shared(c, "__align__(16) u32", "Bs", nbs);
    cs_tile_live(c);
    sb_puts(o, "    const u16 *A0 = (const u16 *)p0, *B0 = (const u16 *)p1, *bias = (const u16 *)p2, *R = (const u16 *)p3;\n"
               "    u16 *C0 = (u16 *)p4;\n"
               "    const i64 M = live ? args.dims[0] : 0, N = args.dims[1], K = args.dims[2], lda = args.dims[3];\n");
    if (!matmul) {
        sb_printf(o, "    const i64 ldc = args.dims[%d], ldr = args.dims[%d], ldb = K;\n", LD_LDC, LD_LDR);
        cs_gemm_tile(c, false, NB);
        sb_puts(o, "    const u16 *A = A0, *B = B0;\n    u16 *C = C0;\n");
    } else {
        cs_gemm_tile(c, true, NB);
        sb_printf(o, "    const i64 b0 = nb1 > 0 ? tb / nb1 : 0, b1 = nb1 > 0 ? tb %% nb1 : 0;\n"
                     "    const u16 *A = A0 + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    const u16 *B = B0 + b0 * args.dims[%d] + b1 * args.dims[%d];\n"
                     "    u16 *C = C0 + tb * M * ldc;\n",
                  MD_SA0, MD_SA1, MD_SB0, MD_SB1);
    }
    /* 16-byte copies need 8-element aligned rows and bases */
    sb_puts(o, "    const bool vec = lda % 8 == 0 && ldb % 8 == 0 && ((u64)A & 15) == 0 && ((u64)B & 15) == 0;\n"
               "    const u32 sA = ltc_smem(As), sB = ltc_smem(Bs);\n"
               "    const int warp = tid >> 5, lane = tid & 31, wm = warp >> 2, wn = warp & 3;\n");
    /* one stage: A rows m0.. (and W rows n0..) as 4 chunks of 8 halves per row */
    sb_printf(o, "    for (i64 cb = cb0; cb < cb1; cb++) {\n"
                 "      const i64 n0 = cb * %d;\n"
                 "      for (i64 m0 = rs * %d; m0 < M; m0 += (i64)nrs * %d) {\n", NB, MB, MB);
    sb_printf(o, "        auto load = [&](int st, i64 k0) {\n"
                 "            for (int i = 0; i < 2; i++) {\n"
                 "                const int ch = tid + i * 256, r = ch >> 2, kc = (ch & 3) * 8;\n"
                 "                const i64 row = m0 + r, k = k0 + kc;\n"
                 "                const int h = (st * %d + r) * %d + kc;\n"
                 "                if (vec) {\n"
                 "                    const int bytes = row < M && k < K ? (K - k < 8 ? (int)(K - k) * 2 : 16) : 0;\n"
                 "                    ltc_cp16(sA + h * 2, bytes ? A + row * lda + k : A, bytes);\n"
                 "                } else {\n"
                 "                    for (int j = 0; j < 4; j++) {\n"
                 "                        const u32 lo = row < M && k + 2 * j < K ? A[row * lda + k + 2 * j] : 0;\n"
                 "                        const u32 hi = row < M && k + 2 * j + 1 < K ? A[row * lda + k + 2 * j + 1] : 0;\n"
                 "                        As[h / 2 + j] = lo | hi << 16;\n"
                 "                    }\n"
                 "                }\n", MB, SA);
    if (!matmul)
        sb_printf(o, "                const i64 col = n0 + r;\n"
                     "                if (vec) {\n"
                     "                    const int bytes = col < N && k < K ? (K - k < 8 ? (int)(K - k) * 2 : 16) : 0;\n"
                     "                    ltc_cp16(sB + h * 2, bytes ? B + col * K + k : B, bytes);\n"
                     "                } else {\n"
                     "                    for (int j = 0; j < 4; j++) {\n"
                     "                        const u32 lo = col < N && k + 2 * j < K ? B[col * K + k + 2 * j] : 0;\n"
                     "                        const u32 hi = col < N && k + 2 * j + 1 < K ? B[col * K + k + 2 * j + 1] : 0;\n"
                     "                        Bs[h / 2 + j] = lo | hi << 16;\n"
                     "                    }\n"
                     "                }\n");
    else   /* B [K,N]: 32 rows of k, 16 chunks of 8 columns */
        sb_printf(o, "                const int rk = ch >> 4, nc = (ch & 15) * 8, hb = (st * %d + rk) * %d + nc;\n"
                     "                const i64 kb = k0 + rk, col = n0 + nc;\n"
                     "                if (vec) {\n"
                     "                    const int bytes = kb < K && col < N ? (N - col < 8 ? (int)(N - col) * 2 : 16) : 0;\n"
                     "                    ltc_cp16(sB + hb * 2, bytes ? B + kb * ldb + col : B, bytes);\n"
                     "                } else {\n"
                     "                    for (int j = 0; j < 4; j++) {\n"
                     "                        const u32 lo = kb < K && col + 2 * j < N ? B[kb * ldb + col + 2 * j] : 0;\n"
                     "                        const u32 hi = kb < K && col + 2 * j + 1 < N ? B[kb * ldb + col + 2 * j + 1] : 0;\n"
                     "                        Bs[hb / 2 + j] = lo | hi << 16;\n"
                     "                    }\n"
                     "                }\n", KB, SBT);
    sb_puts(o, "            }\n"
               "            ltc_cp_commit();\n"
               "        };\n");
    sb_printf(o, "        float acc[4][4][4];\n"
                 "        for (int i = 0; i < 4; i++)\n"
                 "            for (int j = 0; j < 4; j++)\n"
                 "                for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;\n"
                 "        const i64 nk = (K + %d) / %d;\n"
                 "        if (nk > 0) load(0, 0);\n"
                 "        for (i64 kt = 0; kt < nk; kt++) {\n"
                 "            const int cur = (int)(kt & 1);\n"
                 "            if (kt + 1 < nk) {\n"
                 "                load(cur ^ 1, (kt + 1) * %d);\n"
                 "                ltc_cp_wait1();\n"
                 "            } else {\n"
                 "                ltc_cp_wait0();\n"
                 "            }\n"
                 "            __syncthreads();\n"
                 "#pragma unroll\n"
                 "            for (int ks = 0; ks < %d; ks += 16) {\n"
                 "                u32 a[4][4], b[4][2];\n"
                 "#pragma unroll\n"
                 "                for (int mi = 0; mi < 4; mi++)\n"
                 "                    ltc_ldm4(sA + ((cur * %d + wm * 64 + mi * 16 + (lane & 15)) * %d + ks + (lane >> 4) * 8) * 2,\n"
                 "                             a[mi]);\n", KB - 1, KB, KB, KB, MB, SA);
    if (!matmul)
        sb_printf(o, "#pragma unroll\n"
                     "                for (int nj = 0; nj < 2; nj++) {\n"
                     "                    const int q = lane >> 3, n = wn * 32 + nj * 16 + (q >> 1) * 8 + (lane & 7);\n"
                     "                    u32 t[4];\n"
                     "                    ltc_ldm4(sB + ((cur * %d + n) * %d + ks + (q & 1) * 8) * 2, t);\n"
                     "                    b[2 * nj][0] = t[0]; b[2 * nj][1] = t[1]; b[2 * nj + 1][0] = t[2]; b[2 * nj + 1][1] = t[3];\n"
                     "                }\n", NB, SA);
    else
        sb_printf(o, "#pragma unroll\n"
                     "                for (int nj = 0; nj < 2; nj++) {\n"
                     "                    const int q = lane >> 3, kr = ks + (q & 1) * 8 + (lane & 7), n = wn * 32 + nj * 16 + (q >> 1) * 8;\n"
                     "                    u32 t[4];\n"
                     "                    ltc_ldm4t(sB + ((cur * %d + kr) * %d + n) * 2, t);\n"
                     "                    b[2 * nj][0] = t[0]; b[2 * nj][1] = t[1]; b[2 * nj + 1][0] = t[2]; b[2 * nj + 1][1] = t[3];\n"
                     "                }\n", KB, SBT);
    sb_printf(o, "#pragma unroll\n"
                 "                for (int mi = 0; mi < 4; mi++)\n"
                 "#pragma unroll\n"
                 "                    for (int ni = 0; ni < 4; ni++) ltc_mma_%s(acc[mi][ni], a[mi], b[ni]);\n"
                 "            }\n"
                 "            __syncthreads();\n"
                 "        }\n", mma);
    /* epilogue: c0 c1 at row lane/4, c2 c3 at row lane/4 + 8; columns
     * (lane%4)*2 + 0, 1.  A thread's columns and each of its 8 rows have
     * their offsets into C computed once (the qkv head split divides:
     * per element it made the qkv GEMM half as fast as the others) */
    /* the even column of each pair; the odd one is its neighbour in C
     * when a head's width qDh is even (a uniform test), else computed */
    sb_printf(o, "        i64 coff[4];\n"
                 "#pragma unroll\n"
                 "        for (int q = 0; q < 4; q++) {\n"
                 "            const i64 col = n0 + wn * 32 + q * 8 + (lane & 3) * 2;\n"
                 "            coff[q] = %s;\n"
                 "        }\n",
              qkv ? "(col / qE) * qPs + ((col % qE) / qDh) * qHs + (col % qE) % qDh" : "col");
    sb_printf(o, "#pragma unroll\n"
                 "        for (int mi = 0; mi < 4; mi++)\n"
                 "#pragma unroll\n"
                 "          for (int h = 0; h < 2; h++) {\n"
                 "            const i64 row = m0 + wm * 64 + mi * 16 + (lane >> 2) + h * 8;\n"
                 "            if (row >= M) continue;\n"
                 "            const i64 roff = %s;\n"
                 "#pragma unroll\n"
                 "            for (int ni = 0; ni < 4; ni++)\n"
                 "#pragma unroll\n"
                 "              for (int e = 2 * h; e < 2 * h + 2; e++) {\n"
                 "                const i64 col = n0 + wn * 32 + ni * 8 + (lane & 3) * 2 + (e & 1);\n"
                 "                if (col >= N) continue;\n"
                 "                float v = acc[mi][ni][e];\n",
              qkv ? "(row / qS) * qLs + (row % qS) * qDh" : "row * ldc");
    if (s->bias) sb_printf(o, "                v += %s(bias[col]);\n", ld);
    if (s->act) {
        StrBuf a = {0};
        cs_act(c, s->act, "v", &a);
        sb_printf(o, "                v = %s;\n", a.s ? a.s : "v");
        sb_free(&a);
    }
    if (s->residual) sb_printf(o, "                v += %s(R[row * ldr + col]);\n", ld);
    if (qkv)
        sb_printf(o, "                const i64 e2 = col %% qE;\n"
                     "                C[roff + (!(e & 1) ? coff[ni] : qDh %% 2 == 0 ? coff[ni] + 1 :\n"
                     "                          (col / qE) * qPs + (e2 / qDh) * qHs + e2 %% qDh)] = %s(v);\n", st);
    else
        sb_printf(o, "                C[roff + coff[ni] + (e & 1)] = %s(v);\n", st);
    sb_puts(o, "              }\n          }\n      }\n    }\n");
    cs_end(c);
    return 0;
}
