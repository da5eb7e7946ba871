/* r_gemm_mma.c: the gemm family on tensor cores, for dialects with
 * `has_mma` (CUDA C, sm_80 and later), when A and B are bf16 or f16.
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual (or * residual)   (fp32 accumulation)
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
 * On sm_90a (the code image's Hopper cubin) a linear GEMM runs the same
 * tile on wgmma instead (wgmma_loop below: two warpgroups, 128-byte
 * swizzled stages of KB = 64 in dynamic shared memory); the other targets
 * (sm_80 cubin, compute_80 PTX) and matmul keep mma.sync.  One source: the
 * branches are `#if defined(__CUDA_ARCH_FEAT_SM90_ALL)`.
 *
 * B: linear W [N,K] row-major (W rows are B columns: "col" for mma, no
 * transpose), never the gemm_pack panels (csrc_tune turns packing off for
 * these kernels); matmul B [K,N] with ldb.  Epilogue per element: + bias,
 * act (the op's expr), + residual, rounded store; qkv: head-split offsets.
 * bufs/dims: codegen/kernel_layout.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"
#include "plan/gpu_abi.h"

enum { MB = CS_MMA_MB, NB = CS_MMA_NB, KB = CS_MMA_KB, SA = 40, SBT = 136 };
/* the wgmma loop's stages: KB 64, A and W halves of 128 rows x 128 bytes,
 * WG_STAGES of them (TMA; the cp.async path uses two) and 1024 bytes to
 * align them */
enum { WG_KB = LTC_GPU_TMA_KBOX, WG_HALF = MB * WG_KB * 2, WG_STAGE = 2 * WG_HALF, WG_STAGES = 2 };

bool cs_gemm_is_mma(const KernelSpec *s) {
    DType t = s->nin >= 2 ? s->in_dtypes[0] : DT_F32;
    return (t == DT_BF16 || t == DT_F16) && s->in_dtypes[1] == t;
}

/* The mma.sync main loop (sm_80 and later): the stages of the header
 * comment, 8 warps of 64 x 32, acc[4][4][4]. */
static void mma_loop(Cs *c) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    bool matmul = s->gemm.kind == 1;
    const char *mma = s->in_dtypes[0] == DT_BF16 ? "bf16" : "f16";
    /* u32 arrays (the byte count of cs_shared): 2 stages of A [128][40
     * halves], B [128][40] (W rows) or [32][136] (matmul rows of k) */
    int na = 2 * MB * SA / 2, nbs = matmul ? 2 * KB * SBT / 2 : 2 * NB * SA / 2;
    cs_shared(c, "__align__(16) u32", "As", na);
    cs_shared(c, "__align__(16) u32", "Bs", nbs);
    sb_puts(o, "    const u32 sA = ltc_smem(As), sB = ltc_smem(Bs);\n"
               "    const int wm = warp >> 2, wn = warp & 3;\n");
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
}

/* The epilogue over a thread's accumulators acc[rm][rn][4]: fragment
 * (mi, ni) is an m16n8 block of C at rows m0 + rowbase + 16 mi, columns
 * n0 + colbase + 8 ni (mma.sync's and wgmma's accumulator layouts agree
 * per 16 x 8 block). */
static void epilogue(Cs *c, int rm, int rn, const char *rowbase, const char *colbase) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    bool qkv = s->gemm.qkv, bf = s->in_dtypes[0] == DT_BF16;
    const char *ld = bf ? "ltc_bf16_f" : "ltc_f16_f", *st = bf ? "ltc_f_bf16" : "ltc_f_f16";
    /* epilogue: c0 c1 at row lane/4, c2 c3 at row lane/4 + 8; columns
     * (lane%4)*2 + 0, 1.  The qkv head split divides: per element it made
     * the qkv GEMM half as fast as the others, so a column pair's offset
     * into C is computed once per row (wgmma: a thread has 2 rows), or
     * once for all 8 rows of a thread (mma.sync: coff[], when it has the
     * registers).  The odd column of a pair is the even one's neighbour
     * in C when a head's width qDh is even (a uniform test), else computed */
    bool cache = qkv && rm > 1;
    if (qkv)
        sb_puts(o, "        const bool pairs = ((u64)C & 3) == 0 && qDh % 2 == 0 && qPs % 2 == 0 && qHs % 2 == 0 && qLs % 2 == 0;\n");
    else
        sb_puts(o, "        const bool pairs = ((u64)C & 3) == 0 && ldc % 2 == 0;\n");
    if (cache)
        sb_printf(o, "        i64 coff[%d];\n"
                     "#pragma unroll\n"
                     "        for (int q = 0; q < %d; q++) {\n"
                     "            const i64 col = n0 + %s + q * 8 + (lane & 3) * 2;\n"
                     "            coff[q] = (col / qE) * qPs + ((col %% qE) / qDh) * qHs + (col %% qE) %% qDh;\n"
                     "        }\n",
                  rn, rn, colbase);
    sb_printf(o, "#pragma unroll\n"
                 "        for (int mi = 0; mi < %d; mi++)\n"
                 "#pragma unroll\n"
                 "          for (int h = 0; h < 2; h++) {\n"
                 "            const i64 row = m0 + %s + mi * 16 + (lane >> 2) + h * 8;\n"
                 "            if (row >= M) continue;\n"
                 "            const i64 roff = %s;\n"
                 "#pragma unroll\n"
                 "            for (int ni = 0; ni < %d; ni++) {\n"
                 "              const i64 c0 = n0 + %s + ni * 8 + (lane & 3) * 2;\n",
              rm, rowbase, qkv ? "(row / qS) * qLs + (row % qS) * qDh" : "row * ldc", rn, colbase);
    /* u32 division (i64 division is a call, and made the epilogue spill at
     * 128 registers): c0 < N, the weight's rows, checked to fit */
    if (qkv && !cache && (uint64_t)s->gemm.N > UINT32_MAX)
        sb_puts(o, "              const i64 cof = (c0 / qE) * qPs + ((c0 % qE) / qDh) * qHs + (c0 % qE) % qDh;\n");
    else if (qkv && !cache)
        sb_puts(o, "              const u32 cq = (u32)c0 / (u32)qE, cr = (u32)c0 % (u32)qE;\n"
                   "              const i64 cof = cq * qPs + (cr / (u32)qDh) * qHs + cr % (u32)qDh;\n");
    sb_puts(o, "              float vv[2];\n"
               "#pragma unroll\n"
               "              for (int e = 2 * h; e < 2 * h + 2; e++) {\n"
               "                const i64 col = c0 + (e & 1);\n"
               "                vv[e & 1] = 0.0f;\n"
               "                if (col >= N) continue;\n"
               "                float v = acc[mi][ni][e];\n");
    if (s->bias) sb_printf(o, "                v += %s(bias[col]);\n", ld);
    if (s->act) {
        StrBuf a = {0};
        cs_act(c, s->act, "v", &a);
        sb_printf(o, "                v = %s;\n", a.s ? a.s : "v");
        sb_free(&a);
    }
    if (s->residual) sb_printf(o, "                v %s= %s(R[row * ldr + col]);\n", s->res_mul ? "*" : "+", ld);
    sb_puts(o, "                vv[e & 1] = v;\n"
               "              }\n");
    /* the pair as one 4-byte store where both land side by side, 4-byte
     * aligned (pairs: a uniform test, above the loops) */
    const char *off0 = qkv ? (cache ? "coff[ni]" : "cof") : "c0";
    if (qkv)
        sb_printf(o, "              const i64 o0 = %s, o1 = qDh %% 2 == 0 ? o0 + 1 :\n"
                     "                  ((c0 + 1) / qE) * qPs + (((c0 + 1) %% qE) / qDh) * qHs + ((c0 + 1) %% qE) %% qDh;\n",
                  off0);
    else
        sb_puts(o, "              const i64 o0 = c0, o1 = c0 + 1;\n");
    sb_printf(o, "              if (pairs && c0 + 1 < N)\n"
                 "                  *(u32 *)(C + roff + o0) = (u32)%s(vv[0]) | (u32)%s(vv[1]) << 16;\n"
                 "              else {\n"
                 "                  if (c0 < N) C[roff + o0] = %s(vv[0]);\n"
                 "                  if (c0 + 1 < N) C[roff + o1] = %s(vv[1]);\n"
                 "              }\n", st, st, st, st);
    sb_puts(o, "            }\n          }\n      }\n    }\n");
}

/* The wgmma main loop (sm_90a): the same 128 x 128 tile, each of the two
 * warpgroups (4 warps, 128 threads) owning 64 rows x 128 columns as one
 * wgmma.m64n128k16 accumulator (64 floats per thread, acc[1][16][4]: the
 * mma.sync m16n8 layout per block of 8 columns, warp w of the group at
 * rows 16 w).  A and W are both K-major (W [N,K] rows are B's columns),
 * read by the tensor cores from shared memory through descriptors in the
 * 128-byte swizzled layout: KB = 64, so a row of a stage is 128 bytes and
 * its 16-byte chunk c lies at chunk c ^ (row % 8) (the hardware's XOR of
 * address bits 4-6 with bits 7-9: stages start 1024-aligned, 8-row atoms
 * 1024 bytes apart = SBO); k16 step ks of a row starts 32 ks bytes in.
 *
 * Two ways to fill the stages, chosen per launch by the same test as the
 * device's (plan/gpu_abi.h ltc_tma_usable):
 *
 * TMA (aligned operands, the fast path): WG_STAGES stages, each filled by
 * two bulk tensor copies (A's box of 128 rows x 64 k, W's likewise, the
 * tensor maps the device encodes: 128-byte swizzle, zeros past M, N, K)
 * that thread 0 issues, completing on the stage's "full" mbarrier; the
 * warpgroups wait on it, issue their 4 wgmma of the stage, and once
 * wgmma.wait_group 1 says the previous stage's products are done, each
 * warp's lane 0 arrives on that stage's "empty" mbarrier (8 arrivals),
 * which thread 0 waits on before refilling it with the step WG_STAGES
 * ahead.  So the copies run WG_STAGES - 1 steps ahead of the tensor cores,
 * which always have one group in flight, and no block-wide barrier is in
 * the loop.  Stage and phase advance as (stage, parity) pairs, the
 * producer's empty-barrier waits starting at parity 1 (a fresh barrier's
 * "previous phase" counts as complete), so the phases carry across the
 * row blocks a group walks.
 *
 * cp.async (unaligned rows or bases, or a device without tensor maps):
 * two stages, the copy of step kt + 1 issued after the barrier of step
 * kt, once every warpgroup has waited for its step kt - 1 products (the
 * last reads of that stage); cp.async and the scalar stores of the
 * unaligned path write through the generic proxy, so each thread fences to
 * the async proxy before the barrier.  Chunk ch of a copy is (row ch / 8,
 * k chunk ch % 8): 8 consecutive threads read one row's 128 contiguous
 * bytes.
 *
 * Measured on an H200 (tests/device/mma_check, 4096^3): the cp.async path
 * ran at 311 TFLOP/s, where an unswizzled layout with KB = 32 ran at 155
 * at any pipeline depth, and mma.sync at 140-221; on an H100 the TMA
 * path at 456-464 (wg_tma below).
 *
 * The stages are dynamic shared memory (more than the 48 KB of static),
 * published as ltc_dsm_<name> (the runtime sets the function's limit and
 * launches with it; sm_80's branch publishes 0); launch bounds ask for two
 * groups per SM (<= 128 registers), which WG_STAGES 2 (66560 bytes)
 * leaves room for. */
/* Is the TMA path rendered?  Yes, unless LTC_CUDA_GEMM_TMA=0 (the
 * cp.async path alone, for comparisons).  Measured on an H100
 * (tests/device/mma_check, 2026-12-07, two runs; TFLOP/s at 4096^3,
 * 8192x3072x1024, 8192x1024x4096): cp.async alone 331-332 / 225-226 /
 * 323-326; TMA with 2 stages 456-464 / 277-283 / 452-463, 3 stages 456-457
 * / 254-255 / 468-471, 4 stages 422-427 / 206-207 / 427-430.  So 2. */
static bool wg_tma(void) {
    const char *e = getenv("LTC_CUDA_GEMM_TMA");
    return !(e && strcmp(e, "0") == 0);
}

/* The stages in shared memory: WG_STAGES with TMA (LTC_CUDA_GEMM_STAGES
 * for tuning studies), two for the cp.async path alone.  Two groups per SM
 * either way (the registers: 127 of them x 256 threads), so more stages
 * only lengthen the prologue; 2 measured best (above). */
static int wg_stages(void) {
    if (!wg_tma()) return 2;
    const char *e = getenv("LTC_CUDA_GEMM_STAGES");
    int n = e && *e ? atoi(e) : WG_STAGES;
    return n < 2 ? 2 : n > 6 ? 6 : n;
}

static int wg_dsm(void) { return wg_stages() * WG_STAGE + 1024; }

/* The 4 wgmma (k16 steps) of the stage at shared address sW + stage *
 * WG_STAGE, committed as one group: the warpgroup's 64 rows of A, the 128
 * rows of W. */
static void wg_products(StrBuf *o, const char *stage, const char *mma) {
    sb_printf(o, "            ltc_wg_fence();\n"
                 "#pragma unroll\n"
                 "            for (int ks = 0; ks < %d; ks++) {\n"
                 "                const u64 da = ltc_wg_desc_sw(sW + %s * %du + (u32)wg * 8192u + ks * 32u);\n"
                 "                const u64 db = ltc_wg_desc_sw(sW + %s * %du + %du + ks * 32u);\n"
                 "                ltc_wgmma_%s(&acc[0][0][0], da, db);\n"
                 "            }\n"
                 "            ltc_wg_commit();\n",
              WG_KB / 16, stage, WG_STAGE, stage, WG_STAGE, WG_HALF, mma);
}

static void wgmma_loop(Cs *c) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const char *mma = s->in_dtypes[0] == DT_BF16 ? "bf16" : "f16";
    int ns = wg_stages(), dsm = wg_dsm();
    sb_printf(o, "    extern __shared__ __align__(1024) u32 Ws[];   /* %d bytes: ltc_dsm_%s */\n", dsm, s->name);
    sb_printf(o, "    __shared__ __align__(8) u64 ltc_bars[%d];      /* full[%d], empty[%d] */\n", 2 * ns, ns, ns);
    c->shared_bytes += dsm + 16 * ns;
    sb_printf(o, "    const u32 sW = (ltc_smem(Ws) + 1023u) & ~1023u, wso = sW - ltc_smem(Ws);\n"
                 "    const u32 sF = ltc_smem(ltc_bars), sE = sF + %du;\n"
                 "    const int wg = warp >> 2;\n", 8 * ns);
    /* the device's test (plan/gpu_abi.h ltc_tma_usable), on the same dims */
    if (!wg_tma())
        sb_puts(o, "    const bool tma = false;\n");
    else
        sb_puts(o, "    const bool tma = vec && M > 0 && N > 0 && K > 0 && M < 2147483648ll && N < 2147483648ll &&\n"
               "                     K < 2147483584ll && K % 8 == 0 && lda >= K && lda < (1ll << 38);\n");
    sb_printf(o, "    if (tma && tid == 0) {\n"
                 "        for (int i = 0; i < %d; i++) { ltc_mb_init(sF + 8u * i, 1u); ltc_mb_init(sE + 8u * i, 8u); }\n"
                 "        ltc_mb_init_fence();\n"
                 "    }\n"
                 "    __syncthreads();\n"
                 "    u32 cs = 0, cph = 0, ps = 0, pph = 0;   /* consumer's and producer's (stage, parity) */\n", ns);
    sb_printf(o, "    for (i64 cb = cb0; cb < cb1; cb++) {\n"
                 "      const i64 n0 = cb * %d;\n"
                 "      for (i64 m0 = rs * %d; m0 < M; m0 += (i64)nrs * %d) {\n", NB, MB, MB);
    sb_printf(o, "        float acc[1][16][4];\n"
                 "#pragma unroll\n"
                 "        for (int j = 0; j < 16; j++)\n"
                 "            for (int e = 0; e < 4; e++) acc[0][j][e] = 0.0f;\n"
                 "        const i64 nk = (K + %d) / %d;\n", WG_KB - 1, WG_KB);
    /* the TMA path */
    sb_printf(o, "        if (tma) {\n"
                 "          /* thread 0: step kk into stage ps, once its last readers are done */\n"
                 "          auto produce = [&](i64 kk) {\n"
                 "              ltc_mb_wait(sE + 8u * ps, pph ^ 1u);\n"
                 "              ltc_mb_expect(sF + 8u * ps, %du);\n"
                 "              const u32 dst = sW + ps * %du;\n"
                 "              ltc_tma2(dst, &ltc_tA, (int)(kk * %d), (int)m0, sF + 8u * ps);\n"
                 "              ltc_tma2(dst + %du, &ltc_tB, (int)(kk * %d), (int)n0, sF + 8u * ps);\n"
                 "              if (++ps == %du) { ps = 0; pph ^= 1u; }\n"
                 "          };\n"
                 "          if (tid == 0)\n"
                 "              for (i64 i = 0; i < %d && i < nk; i++) produce(i);\n"
                 "          __syncwarp();\n"
                 "          u32 prev = 0;\n"
                 "          for (i64 kt = 0; kt < nk; kt++) {\n"
                 "            ltc_mb_wait(sF + 8u * cs, cph);\n",
              2 * WG_HALF, WG_STAGE, WG_KB, WG_HALF, WG_KB, ns, ns);
    wg_products(o, "cs", mma);
    sb_printf(o, "            ltc_wg_wait1();\n"
                 "            if (kt > 0) {\n"
                 "                if (lane == 0) ltc_mb_arrive(sE + 8u * prev);\n"
                 "                if (tid == 0 && kt - 1 + %d < nk) produce(kt - 1 + %d);\n"
                 "            }\n"
                 "            __syncwarp();\n"
                 "            prev = cs;\n"
                 "            if (++cs == %du) { cs = 0; cph ^= 1u; }\n"
                 "          }\n"
                 "          ltc_wg_wait0();\n"
                 "          if (nk > 0 && lane == 0) ltc_mb_arrive(sE + 8u * prev);\n"
                 "        } else {\n",
              ns, ns, ns);
    /* the cp.async path: a stage: A rows at 0, W rows at WG_HALF; 128 rows x 8 chunks each */
    sb_printf(o, "        auto load = [&](int st, i64 k0) {\n"
                 "#pragma unroll\n"
                 "            for (int i = 0; i < 4; i++) {\n"
                 "                const int ch = tid + i * 256, r = ch >> 3, kc = ch & 7;\n"
                 "                const u32 off = (u32)st * %du + (u32)(r * 128 + ((kc ^ (r & 7)) * 16));\n"
                 "                const i64 row = m0 + r, col = n0 + r, k = k0 + kc * 8;\n"
                 "                if (vec) {\n"
                 "                    const int ka = k < K ? (K - k < 8 ? (int)(K - k) * 2 : 16) : 0;\n"
                 "                    ltc_cp16(sW + off, row < M && ka ? A + row * lda + k : A, row < M ? ka : 0);\n"
                 "                    ltc_cp16(sW + off + %du, col < N && ka ? B + col * K + k : B, col < N ? ka : 0);\n"
                 "                } else {\n"
                 "                    for (int j = 0; j < 4; j++) {\n"
                 "                        const i64 k2 = k + 2 * j;\n"
                 "                        const u32 alo = row < M && k2 < K ? A[row * lda + k2] : 0;\n"
                 "                        const u32 ahi = row < M && k2 + 1 < K ? A[row * lda + k2 + 1] : 0;\n"
                 "                        const u32 blo = col < N && k2 < K ? B[col * K + k2] : 0;\n"
                 "                        const u32 bhi = col < N && k2 + 1 < K ? B[col * K + k2 + 1] : 0;\n"
                 "                        Ws[(wso + off) / 4 + j] = alo | ahi << 16;\n"
                 "                        Ws[(wso + off + %du) / 4 + j] = blo | bhi << 16;\n"
                 "                    }\n"
                 "                }\n"
                 "            }\n"
                 "            ltc_cp_commit();\n"
                 "        };\n", WG_STAGE, WG_HALF, WG_HALF);
    sb_printf(o, "        if (nk > 0) load(0, 0);\n"
                 "        for (i64 kt = 0; kt < nk; kt++) {\n"
                 "            const u32 cur = (u32)(kt & 1);\n"
                 "            ltc_cp_wait0();\n"
                 "            ltc_fence_async();\n"
                 "            __syncthreads();\n"
                 "            if (kt + 1 < nk) load((int)(cur ^ 1u), (kt + 1) * %d);\n", WG_KB);
    wg_products(o, "cur", mma);
    sb_puts(o, "            ltc_wg_wait0();\n"
                 "        }\n"
                 "        __syncthreads();   /* the next tile's copies overwrite the stages */\n"
                 "        }\n");
}

int cs_gemm_mma(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    bool matmul = s->gemm.kind == 1;
    if (!c->dl->has_mma)
        return diag_set(d, s->loc, "%s backend: %s: no tensor-core GEMM in this dialect", c->dl->name, s->name);
    if (c->threads != 256 || s->tune.nr != NB || s->tune.nb != NB || s->tune.mt != MB || s->gemm.packed)
        return diag_set(d, s->loc, "%s backend: %s: tensor-core GEMM blocking nr %d nb %d mt %d threads %d%s is not the renderer's",
                        c->dl->name, s->name, s->tune.nr, s->tune.nb, s->tune.mt, c->threads,
                        s->gemm.packed ? " (packed)" : "");
    if (s->dtype != s->in_dtypes[0] || (s->bias && s->in_dtypes[2] != s->dtype) ||
        (s->residual && s->in_dtypes[2 + s->bias] != s->dtype))
        return diag_set(d, s->loc, "%s backend: %s: tensor-core GEMM with mixed dtypes", c->dl->name, s->name);
    if (!matmul) {
        /* the dynamic shared memory per target (plan/gpu_abi.h:
         * LTC_GPU_DSM_PREFIX); the tensor maps' parameters in every target
         * and their boxes (LTC_GPU_TMA_PREFIX: A and W boxes of 128 rows;
         * 0, no maps, when the TMA path is not rendered) */
        sb_printf(o, "\n#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n"
                     "extern \"C\" __device__ unsigned " LTC_GPU_DSM_PREFIX "%s = %du;\n"
                     "#else\n"
                     "extern \"C\" __device__ unsigned " LTC_GPU_DSM_PREFIX "%s = 0u;\n"
                     "#endif\n"
                     "extern \"C\" __device__ unsigned " LTC_GPU_TMA_PREFIX "%s = %uu;\n",
                  s->name, wg_dsm(), s->name, s->name, wg_tma() ? (unsigned)MB << 16 | NB : 0u);
        c->extra_params = ", const __grid_constant__ ltc_tmap ltc_tA, const __grid_constant__ ltc_tmap ltc_tB";
        c->min_groups = "LTC_WG_MINB";   /* sm_90a: two groups per SM (the preamble) */
    }
    cs_begin(c, 5);
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
               "    const int warp = tid >> 5, lane = tid & 31;\n");
    if (!matmul) {
        /* sm_90a (the one target with wgmma): the same tile by warpgroups */
        sb_puts(o, "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n");
        wgmma_loop(c);
        epilogue(c, 1, 16, "wg * 64 + (warp & 3) * 16", "0");
        sb_puts(o, "#else\n");
    }
    int wg_bytes = c->shared_bytes;
    c->shared_bytes = 0;
    mma_loop(c);
    epilogue(c, 4, 4, "wm * 64", "wn * 32");
    if (!matmul) sb_puts(o, "#endif\n");
    /* one of the two branches is compiled: its shared memory */
    if (wg_bytes > c->shared_bytes) c->shared_bytes = wg_bytes;
    cs_end(c);
    return 0;
}
