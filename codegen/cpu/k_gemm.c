/* k_gemm.c: linear, fused_linear and matmul as one BLIS-style GEMM.
 *
 *   C[M,N] = act(A[M,K] . B[K,N] + bias) + residual   (or * residual: res_mul)
 *
 * with B = W^T for linear (W [N,K]) and B as given for matmul.  The
 * micro-kernel keeps an mr x nr block of C in registers (8 x 48 floats =
 * 24 zmm on AVX-512, 6 x 16 = 12 ymm on AVX2) for kc rank-1 updates:
 * per k it loads nr/vw vectors of a packed B panel, broadcasts mr values
 * of A (read in place, one row pointer each) and issues mr nr/vw FMAs.
 *
 * B is packed into nr-wide panels, [panel][k][nr], zero padded past N, so
 * the inner loop needs no masks.  A linear's weight that depends on
 * parameters only (a PARAM, or qkv's cat of PARAMs) is packed once at bind
 * time by the gemm_pack prepack step; matmul's B and a
 * non-parameter weight are packed per (column block, k block) on the stack.
 * Ragged edges: rows past M read row M-1 (valid memory) and are not
 * stored; columns past N are zero in B and masked on store.
 *
 * Loop nest of one tile (a block of nb columns):
 *   for kc0 (k blocks of kc):   [pack B block: nb x kc, L1/L2]
 *     for ic (row blocks of mc): A block mc x kc stays in L2
 *       for jp (nr panels of the tile): B panel kc x nr stays in L1
 *         for ir (mr rows): micro-kernel; at the last k block it applies
 *                           the epilogue (+bias, act, +residual) and stores.
 * A, B, bias, residual and C share one dtype (f32, bf16 or f16), widened
 * at the loads; accumulation is f32 and packed panels are f32.  When C is
 * not f32 the row-block loop moves outside the k-block loop and partial
 * sums live in an f32 block on the stack (GemmCfg.scratch): C is written
 * once, rounded once.
 * See docs/cpu_backend.md for the bufs/dims/tiles convention. */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"

/* The CPU's blocking for a GEMM spec (cpu_tune, backend.c, chose it). */
static int gemm_cfg(const KernelSpec *ks, GemmCfg *g, LtcDiag *d) {
    memset(g, 0, sizeof *g);
    const KernelTune *t = &ks->tune;
    if (t->nr < 1 || t->vw < 1 || t->mr < 1 || t->nr % t->vw || t->nb % t->nr)
        return diag_set(d, ks->loc, "cpu backend: %s has no GEMM blocking (a tune bug)", ks->name);
    g->kind = ks->gemm.kind;
    g->packed = ks->gemm.packed;
    g->has_bias = ks->bias;
    g->has_res = ks->residual;
    g->res_mul = ks->res_mul;
    g->qkv = ks->gemm.qkv;
    g->scatter = t->scatter;
    g->act = ks->act;
    g->mr = t->mr; g->nr = t->nr; g->vw = t->vw;
    g->nb = t->nb; g->mc = t->mc; g->kc = t->kc;
    g->dt = ks->dtype;
    g->scratch = g->dt != DT_F32;
    g->kpairs = t->kpairs == 1;
    if (t->kpairs == KPAIRS_AT_RUN)
        return diag_set(d, ks->loc, "cpu backend: %s: a run-time choice of kernels reached the generator (a backend bug)",
                        ks->name);
    if (g->kpairs && (g->dt != DT_BF16 || g->vw != 16 || g->kc % 2))
        return diag_set(d, ks->loc, "cpu backend: %s: k-pair panels need bf16, 16 lanes and an even kc (a tune bug)",
                        ks->name);
    return 0;
}

/* ---- micro-kernel ------------------------------------------------------------------- */
/* void ukr(a, lda, mval, bp, kcl, c, offs, nval, flags, bias, res, ldr, sp, sld)
 * C element (r, v-th vector) lives at c + offs[r] + offs[mr + v]: row and
 * column offsets are separable, which covers plain row-major C and the
 * head-split output of qkv_linear alike (with g->scatter, offs[mr + j] per
 * column j: a head dim that is not a vector multiple).
 * flags bit 0: first k block (start from 0, not from C); bit 1: last (epilogue).
 * With g->scratch, partial sums are read from and written to the f32 block
 * at sp (row stride sld, every lane in bounds), and only the last k block
 * writes C. */
/* One k pair of the bf16 micro-kernel: acc[r][v] += A pair . B pair
 * (vdpbf16ps, cg_dpbf16).  The pair at
 * arow[r] + 2 kp is one 32-bit load (A[r][2kp] in the low half, as the
 * instruction pairs it with B's low half); `last` reads A[r][2kp] alone. */
static void dp_step(Cg *c, const GemmCfg *g, LLVMValueRef acc[32][4], const LLVMValueRef *arow,
                    LLVMValueRef bp, LLVMValueRef kp, bool last) {
    LLVMBuilderRef b = c->b;
    int nv = g->nr / g->vw;
    LLVMTypeRef i16 = LLVMInt16TypeInContext(c->ctx);
    LLVMValueRef bk = cg_gep(c, c->i32, bp, LLVMBuildMul(b, kp, cg_i64c(c, g->nr), ""));
    LLVMValueRef bv[4];
    for (int v = 0; v < nv; v++)
        bv[v] = cg_bf16_pairs(c, cg_load(c, c->vi32, cg_gep(c, c->i32, bk, cg_i64c(c, v * g->vw)), 64));
    for (int r = 0; r < g->mr; r++) {
        LLVMValueRef ap = cg_gep(c, i16, arow[r], LLVMBuildMul(b, kp, cg_i64c(c, 2), ""));
        LLVMValueRef pair = last ? LLVMBuildZExt(b, cg_load(c, i16, ap, 2), c->i32, "") : cg_load(c, c->i32, ap, 2);
        LLVMValueRef av = cg_bf16_pair_splat(c, pair);
        for (int v = 0; v < nv; v++) cg_set(c, acc[r][v], cg_dpbf16(c, cg_get(c, c->vf, acc[r][v]), av, bv[v]));
    }
}

static LLVMValueRef gen_ukr(Cg *c, const GemmCfg *g, const char *name) {
    LLVMTypeRef ps[14] = {c->ptr, c->i64, c->i64, c->ptr, c->i64, c->ptr,
                          c->ptr, c->i64, c->i32, c->ptr, c->ptr, c->i64, c->ptr, c->i64};
    LLVMValueRef fn = cg_func_begin(c, name, ps, 14);
    LLVMValueRef sp = LLVMGetParam(fn, 12), sld = LLVMGetParam(fn, 13);
    DType dt = g->dt;
    LLVMTypeRef et = cg_elt(c, dt);
    LLVMValueRef a = LLVMGetParam(fn, 0), lda = LLVMGetParam(fn, 1), mval = LLVMGetParam(fn, 2);
    LLVMValueRef bp = LLVMGetParam(fn, 3), kcl = LLVMGetParam(fn, 4), cp = LLVMGetParam(fn, 5);
    LLVMValueRef offs = LLVMGetParam(fn, 6), nval = LLVMGetParam(fn, 7), flags = LLVMGetParam(fn, 8);
    LLVMValueRef bias = LLVMGetParam(fn, 9), res = LLVMGetParam(fn, 10), ldr = LLVMGetParam(fn, 11);
    LLVMBuilderRef b = c->b;
    int mr = g->mr, nv = g->nr / g->vw;
    LLVMValueRef arow[32], rowvalid[32], cm[4], m[32][4], acc[32][4];
    LLVMValueRef last_row = LLVMBuildSub(b, mval, cg_i64c(c, 1), "");
    for (int v = 0; v < nv; v++)
        cm[v] = cg_mask_lt(c, LLVMBuildSub(b, nval, cg_i64c(c, v * g->vw), ""));
    LLVMValueRef nomask = LLVMConstNull(c->vmask);
    /* C addresses: a pointer per (row, vector), or with g->scatter a
     * vector of lane pointers (gather / scatter) */
    LLVMValueRef caddr[32][4];
    LLVMTypeRef v64 = LLVMVectorType(c->i64, (unsigned)g->vw);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            LLVMValueRef ro = cg_load(c, c->i64, cg_gep(c, c->i64, offs, cg_i64c(c, r)), 8);
            if (g->scatter) {
                LLVMValueRef co = cg_load(c, v64, cg_gep(c, c->i64, offs, cg_i64c(c, mr + v * g->vw)), 8);
                caddr[r][v] = cg_gep(c, et, cp, LLVMBuildAdd(b, cg_splat(c, ro), co, ""));
            } else {
                LLVMValueRef co = cg_load(c, c->i64, cg_gep(c, c->i64, offs, cg_i64c(c, mr + v)), 8);
                caddr[r][v] = cg_gep(c, et, cp, LLVMBuildAdd(b, ro, co, ""));
            }
        }
    for (int r = 0; r < mr; r++) {
        /* rows past M read row M-1: valid memory, never stored */
        LLVMValueRef rr = cg_min64(c, cg_i64c(c, r), last_row);
        arow[r] = cg_gep(c, et, a, LLVMBuildMul(b, rr, lda, ""));
        rowvalid[r] = LLVMBuildICmp(b, LLVMIntSLT, cg_i64c(c, r), mval, "");
        for (int v = 0; v < nv; v++) {
            m[r][v] = LLVMBuildSelect(b, rowvalid[r], cm[v], nomask, "");
            acc[r][v] = cg_var(c, c->vf, cg_vf32c(c, 0.0));
        }
    }
    LLVMValueRef first = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, flags, cg_i32c(c, 1), ""),
                                       cg_i32c(c, 0), "");
    CgIf f;
    /* f32 scratch: sp + r * sld + v * vw */
    LLVMValueRef saddr[32][4];
    for (int r = 0; r < mr && g->scratch; r++)
        for (int v = 0; v < nv; v++)
            saddr[r][v] = cg_gep(c, c->f32, sp, LLVMBuildAdd(b, LLVMBuildMul(b, cg_i64c(c, r), sld, ""),
                                                             cg_i64c(c, v * g->vw), ""));
    cg_if(c, &f, LLVMBuildNot(b, first, ""), false);
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            cg_set(c, acc[r][v], g->scratch ? cg_vload(c, saddr[r][v])
                                 : g->scatter ? cg_mgather(c, caddr[r][v], m[r][v])
                                              : cg_mload(c, caddr[r][v], m[r][v], NULL));
    cg_endif(c, &f);

    CgLoop k;
    if (g->kpairs) {
        /* acc += A[r][2p] B[2p][:] + A[r][2p+1] B[2p+1][:], one vdpbf16ps
         * per (row, vector), over the full pairs; then an odd last k, its
         * A element paired with 0 (never reading past the row) and its B
         * pair zero-padded by the pack */
        LLVMValueRef nfull = LLVMBuildSDiv(b, kcl, cg_i64c(c, 2), "");
        LLVMValueRef kp = cg_for(c, &k, cg_i64c(c, 0), nfull, cg_i64c(c, 1));
        dp_step(c, g, acc, arow, bp, kp, false);
        cg_endfor(c, &k);
        CgIf odd;
        cg_if(c, &odd, LLVMBuildICmp(b, LLVMIntNE, LLVMBuildSRem(b, kcl, cg_i64c(c, 2), ""), cg_i64c(c, 0), ""), false);
        dp_step(c, g, acc, arow, bp, nfull, true);
        cg_endif(c, &odd);
    } else {
        LLVMValueRef kk = cg_for(c, &k, cg_i64c(c, 0), kcl, cg_i64c(c, 1));
        LLVMValueRef bk = cg_gep(c, c->f32, bp, LLVMBuildMul(b, kk, cg_i64c(c, g->nr), ""));
        LLVMValueRef bv[4];
        for (int v = 0; v < nv; v++)
            bv[v] = cg_load(c, c->vf, cg_gep(c, c->f32, bk, cg_i64c(c, v * g->vw)), 64);
        for (int r = 0; r < mr; r++) {
            LLVMValueRef av = cg_splat(c, cg_lds(c, dt, cg_gep(c, et, arow[r], kk)));
            for (int v = 0; v < nv; v++)
                cg_set(c, acc[r][v], cg_fma(c, av, bv[v], cg_get(c, c->vf, acc[r][v])));
        }
        cg_endfor(c, &k);
    }

    LLVMValueRef last = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, flags, cg_i32c(c, 2), ""),
                                      cg_i32c(c, 0), "");
    bool epi = g->has_bias || g->has_res || g->act;
    if (epi) {
        cg_if(c, &f, last, false);
        LLVMValueRef bvec[4];
        for (int v = 0; v < nv && g->has_bias; v++)
            bvec[v] = cg_ldv(c, dt, cg_gep(c, et, bias, cg_i64c(c, v * g->vw)), cm[v], NULL);
        for (int r = 0; r < mr; r++) {
            LLVMValueRef rrow = g->has_res ? cg_gep(c, et, res, LLVMBuildMul(b, cg_i64c(c, r), ldr, "")) : NULL;
            for (int v = 0; v < nv; v++) {
                LLVMValueRef x = cg_get(c, c->vf, acc[r][v]);
                if (g->has_bias) x = LLVMBuildFAdd(b, x, bvec[v], "");
                x = cg_act(c, g->act, x);
                if (g->has_res) {
                    LLVMValueRef rv = cg_ldv(c, dt, cg_gep(c, et, rrow, cg_i64c(c, v * g->vw)), m[r][v], NULL);
                    x = g->res_mul ? LLVMBuildFMul(b, x, rv, "") : LLVMBuildFAdd(b, x, rv, "");
                }
                cg_set(c, acc[r][v], x);
            }
        }
        cg_endif(c, &f);
    }
    if (g->scratch) {
        /* not the last k block: partial sums to the scratch; return */
        CgIf part;
        cg_if(c, &part, LLVMBuildNot(b, last, ""), false);
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) cg_vstore(c, cg_get(c, c->vf, acc[r][v]), saddr[r][v]);
        LLVMBuildRetVoid(b);
        LLVMPositionBuilderAtEnd(b, part.join);   /* no cg_endif: the then block has returned */
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) {
            LLVMValueRef x = cg_get(c, c->vf, acc[r][v]);
            if (!g->scatter) {
                cg_stv(c, dt, x, caddr[r][v], m[r][v]);
            } else if (dt == DT_F32) {
                cg_mscatter(c, x, caddr[r][v], m[r][v]);
            } else {
                LLVMValueRef n = cg_narrow(c, dt, x);
                LLVMTypeRef ts[2] = {LLVMTypeOf(n), LLVMTypeOf(caddr[r][v])};
                LLVMValueRef sa[4] = {n, caddr[r][v], cg_i32c(c, 2), m[r][v]};
                cg_intr(c, "llvm.masked.scatter", ts, 2, sa, 4);
            }
        }
    LLVMBuildRetVoid(b);
    return fn;
}

/* ---- the kernel ---------------------------------------------------------------------- */
static LLVMValueRef ceil_div(Cg *c, LLVMValueRef a, int64_t k) {
    return LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, a, cg_i64c(c, k - 1), ""), cg_i64c(c, k), "");
}

/* k-pair panels (bf16 dot products): K rounded up to even (a panel holds
 * Ke / 2 pairs), and the slot of B(k, col) in a panel [Ke/2][nr][2]:
 * (k / 2) 2 nr + 2 col + (k & 1).  One definition for the prepack, the
 * per-block pack of matmul and the GEMM's panel stride. */
static LLVMValueRef kpair_even(Cg *c, LLVMValueRef k) {
    return LLVMBuildAnd(c->b, LLVMBuildAdd(c->b, k, cg_i64c(c, 1), ""), cg_i64c(c, -2), "");
}
static LLVMValueRef kpair_slot(Cg *c, const GemmCfg *g, LLVMValueRef k, LLVMValueRef col) {
    LLVMBuilderRef b = c->b;
    return LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildSDiv(b, k, cg_i64c(c, 2), ""), cg_i64c(c, 2 * g->nr), ""),
                        LLVMBuildAdd(b, LLVMBuildMul(b, col, cg_i64c(c, 2), ""), LLVMBuildSRem(b, k, cg_i64c(c, 2), ""), ""),
                        "");
}

/* Pack B(k, col) for k in [kc0, kc0+kcl), col in [j0, j0 + np*nr) into
 * bp[jp][k - kc0][nr] (panel stride kc*nr), zero past N. */
static void gen_pack_block(Cg *c, const GemmCfg *g, LLVMValueRef bp, LLVMValueRef B,
                           LLVMValueRef ldb, LLVMValueRef N, LLVMValueRef K, LLVMValueRef j0,
                           LLVMValueRef np, LLVMValueRef kc0, LLVMValueRef kcl) {
    LLVMBuilderRef b = c->b;
    CgLoop lj, lk;
    if (g->kpairs) {
        /* bp[jp][k/2][col][k&1] = B(kc0 + k, col) as bf16 bits, zero past N
         * and past kcl (an odd last k's partner) */
        LLVMTypeRef i16 = LLVMInt16TypeInContext(c->ctx);
        LLVMValueRef kce = kpair_even(c, kcl);
        LLVMValueRef jp = cg_for(c, &lj, cg_i64c(c, 0), np, cg_i64c(c, 1));
        LLVMValueRef col0 = LLVMBuildAdd(b, j0, LLVMBuildMul(b, jp, cg_i64c(c, g->nr), ""), "");
        LLVMValueRef pan = cg_gep(c, i16, bp, LLVMBuildMul(b, jp, cg_i64c(c, (int64_t)g->kc * g->nr), ""));
        LLVMValueRef k = cg_for(c, &lk, cg_i64c(c, 0), kce, cg_i64c(c, 1));
        LLVMValueRef kok = LLVMBuildICmp(b, LLVMIntSLT, k, kcl, "");
        LLVMValueRef kg = LLVMBuildAdd(b, kc0, LLVMBuildSelect(b, kok, k, cg_i64c(c, 0), ""), "");
        CgLoop lc;
        LLVMValueRef cc = cg_for(c, &lc, cg_i64c(c, 0), cg_i64c(c, g->nr), cg_i64c(c, 1));
        LLVMValueRef col = LLVMBuildAdd(b, col0, cc, "");
        LLVMValueRef ok = LLVMBuildAnd(b, kok, LLVMBuildICmp(b, LLVMIntSLT, col, N, ""), "");
        LLVMValueRef safe = LLVMBuildSelect(b, ok, col, cg_i64c(c, 0), "");
        LLVMValueRef at = g->kind == 1 ? LLVMBuildAdd(b, LLVMBuildMul(b, kg, ldb, ""), safe, "")
                                       : LLVMBuildAdd(b, LLVMBuildMul(b, safe, K, ""), kg, "");
        LLVMValueRef x = cg_load(c, i16, cg_gep(c, i16, B, at), 2);
        cg_store(c, LLVMBuildSelect(b, ok, x, LLVMConstInt(i16, 0, 0), ""), cg_gep(c, i16, pan, kpair_slot(c, g, k, cc)), 2);
        cg_endfor(c, &lc);
        cg_endfor(c, &lk);
        cg_endfor(c, &lj);
        return;
    }
    LLVMValueRef jp = cg_for(c, &lj, cg_i64c(c, 0), np, cg_i64c(c, 1));
    LLVMValueRef col0 = LLVMBuildAdd(b, j0, LLVMBuildMul(b, jp, cg_i64c(c, g->nr), ""), "");
    LLVMValueRef pan = cg_gep(c, c->f32, bp, LLVMBuildMul(b, jp, cg_i64c(c, (int64_t)g->kc * g->nr), ""));
    LLVMValueRef k = cg_for(c, &lk, cg_i64c(c, 0), kcl, cg_i64c(c, 1));
    LLVMValueRef dst = cg_gep(c, c->f32, pan, LLVMBuildMul(b, k, cg_i64c(c, g->nr), ""));
    LLVMValueRef kg = LLVMBuildAdd(b, kc0, k, "");
    if (g->kind == 1) {
        /* matmul: B row kg is contiguous in columns */
        LLVMValueRef row = cg_gepd(c, g->dt, B, LLVMBuildAdd(b, LLVMBuildMul(b, kg, ldb, ""), col0, ""));
        for (int v = 0; v < g->nr / g->vw; v++) {
            LLVMValueRef left = LLVMBuildSub(b, N, LLVMBuildAdd(b, col0, cg_i64c(c, v * g->vw), ""), "");
            LLVMValueRef x = cg_ldv(c, g->dt, cg_gepd(c, g->dt, row, cg_i64c(c, v * g->vw)), cg_mask_lt(c, left), NULL);
            cg_store(c, x, cg_gep(c, c->f32, dst, cg_i64c(c, v * g->vw)), 64);
        }
    } else {
        /* linear: B(k, col) = W[col][k], a gather with stride K (a loop,
         * not unrolled: 48 unrolled gathers cost O3 more than they save) */
        CgLoop lc;
        LLVMValueRef cc = cg_for(c, &lc, cg_i64c(c, 0), cg_i64c(c, g->nr), cg_i64c(c, 1));
        LLVMValueRef col = LLVMBuildAdd(b, col0, cc, "");
        LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntSLT, col, N, "");
        LLVMValueRef safe = LLVMBuildSelect(b, ok, col, cg_i64c(c, 0), "");
        LLVMValueRef x = cg_lds(c, g->dt, cg_gepd(c, g->dt, B, LLVMBuildAdd(b, LLVMBuildMul(b, safe, K, ""), kg, "")));
        x = LLVMBuildSelect(b, ok, x, cg_f32c(c, 0.0), "");
        cg_store(c, x, cg_gep(c, c->f32, dst, cc), 4);
        cg_endfor(c, &lc);
    }
    cg_endfor(c, &lk);
    cg_endfor(c, &lj);
}

int cpu_gen_gemm(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    GemmCfg g;
    if (gemm_cfg(pk, &g, d)) return -1;
    char uname[300];
    snprintf(uname, sizeof uname, "%s_ukr", pk->name);
    LLVMValueRef ukr = gen_ukr(c, &g, uname);
    LLVMTypeRef ukr_t = LLVMGlobalGetValueType(ukr);

    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef A0 = cg_buf(c, GB_A), B0 = cg_buf(c, GB_B), C0 = cg_buf(c, GB_C);
    LLVMValueRef bias = g.has_bias ? cg_buf(c, GB_BIAS) : LLVMConstNull(c->ptr);
    LLVMValueRef R0 = g.has_res ? cg_buf(c, GB_RES) : LLVMConstNull(c->ptr);
    LLVMValueRef M = cg_dim(c, 0), N = cg_dim(c, 1), K = cg_dim(c, 2);
    LLVMValueRef lda = cg_dim(c, 3);
    LLVMValueRef ldb, ldc, ldr;
    if (g.kind == 0) { ldb = K; ldc = cg_dim(c, LD_LDC); ldr = cg_dim(c, LD_LDR); }
    else { ldb = cg_dim(c, MD_LDB); ldc = cg_dim(c, MD_LDC); ldr = ldc; }
    LLVMTypeRef pt = g.kpairs ? LLVMInt16TypeInContext(c->ctx) : c->f32;   /* packed B's element */
    LLVMValueRef bpack = g.packed ? NULL : cg_array(c, pt, (int64_t)g.nb * g.kc, 64);
    LLVMValueRef offs = cg_array(c, c->i64, g.mr + g.nr, 8);
    LLVMValueRef scratch = g.scratch ? cg_array(c, c->f32, (int64_t)g.mc * g.nb, 64) : LLVMConstNull(c->ptr);
    LLVMTypeRef et = cg_elt(c, g.dt);
    LLVMValueRef qS = NULL, qDh = NULL, qE = NULL, qPs = NULL, qLs = NULL, qHs = NULL;
    if (g.qkv) {
        qS = cg_dim(c, QD_S); qDh = cg_dim(c, QD_DH); qE = cg_dim(c, QD_E);
        qPs = cg_dim(c, QD_PS); qLs = cg_dim(c, QD_LS); qHs = cg_dim(c, QD_HS);
    }

    CgLoop lt, lcb, lkc, lic, ljp, lir;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef cb0, cb1, A = A0, B = B0, C = C0;
    if (g.kind == 0) {
        cb0 = t;
        cb1 = LLVMBuildAdd(b, t, cg_i64c(c, 1), "");
    } else {
        LLVMValueRef ncb = cg_dim(c, MD_NCB), nb1 = cg_dim(c, MD_NB1);
        LLVMValueRef split = LLVMBuildICmp(b, LLVMIntSGT, ncb, cg_i64c(c, 0), "");
        LLVMValueRef ncb1 = LLVMBuildSelect(b, split, ncb, cg_i64c(c, 1), "");
        LLVMValueRef tb = LLVMBuildSDiv(b, t, ncb1, "");
        LLVMValueRef cbt = LLVMBuildSRem(b, t, ncb1, "");
        cb0 = LLVMBuildSelect(b, split, cbt, cg_i64c(c, 0), "");
        cb1 = LLVMBuildSelect(b, split, LLVMBuildAdd(b, cbt, cg_i64c(c, 1), ""), ceil_div(c, N, g.nb), "");
        LLVMValueRef b0 = LLVMBuildSDiv(b, tb, nb1, ""), b1 = LLVMBuildSRem(b, tb, nb1, "");
        LLVMValueRef aoff = LLVMBuildAdd(b, LLVMBuildMul(b, b0, cg_dim(c, MD_SA0), ""),
                                         LLVMBuildMul(b, b1, cg_dim(c, MD_SA1), ""), "");
        LLVMValueRef boff = LLVMBuildAdd(b, LLVMBuildMul(b, b0, cg_dim(c, MD_SB0), ""),
                                         LLVMBuildMul(b, b1, cg_dim(c, MD_SB1), ""), "");
        A = cg_gep(c, et, A0, aoff);
        B = cg_gep(c, et, B0, boff);
        C = cg_gep(c, et, C0, LLVMBuildMul(b, tb, LLVMBuildMul(b, M, ldc, ""), ""));
    }
    LLVMValueRef cb = cg_for(c, &lcb, cb0, cb1, cg_i64c(c, 1));
    LLVMValueRef j0 = LLVMBuildMul(b, cb, cg_i64c(c, g.nb), "");
    LLVMValueRef nbw = cg_min64(c, cg_i64c(c, g.nb), LLVMBuildSub(b, N, j0, ""));
    LLVMValueRef np = ceil_div(c, nbw, g.nr);

    /* k blocks outside row blocks (C accumulates in place), or with a
     * scratch inside them (the row block's partial sums stay on the stack) */
    LLVMValueRef kc0 = NULL, kcl = NULL, flags = NULL, ic = NULL, mcl = NULL;
    for (int level = 0; level < 2; level++) {
        if ((level == 0) == !g.scratch) {
            /* at least one k block, so K = 0 still writes act(bias) + residual */
            kc0 = cg_for(c, &lkc, cg_i64c(c, 0), cg_max64(c, K, cg_i64c(c, 1)), cg_i64c(c, g.kc));
            kcl = cg_min64(c, cg_i64c(c, g.kc), LLVMBuildSub(b, K, kc0, ""));
            LLVMValueRef is_first = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntEQ, kc0, cg_i64c(c, 0), ""), c->i32, "");
            LLVMValueRef is_last = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSGE, LLVMBuildAdd(b, kc0, kcl, ""), K, ""), c->i32, "");
            flags = LLVMBuildOr(b, is_first, LLVMBuildShl(b, is_last, cg_i32c(c, 1), ""), "");
            if (!g.packed) gen_pack_block(c, &g, bpack, B, ldb, N, K, j0, np, kc0, kcl);
        } else {
            ic = cg_for(c, &lic, cg_i64c(c, 0), M, cg_i64c(c, g.mc));
            mcl = cg_min64(c, cg_i64c(c, g.mc), LLVMBuildSub(b, M, ic, ""));
        }
    }
    LLVMValueRef jp = cg_for(c, &ljp, cg_i64c(c, 0), np, cg_i64c(c, 1));
    LLVMValueRef col = LLVMBuildAdd(b, j0, LLVMBuildMul(b, jp, cg_i64c(c, g.nr), ""), "");
    LLVMValueRef nval = cg_min64(c, cg_i64c(c, g.nr), LLVMBuildSub(b, N, col, ""));
    /* C column offsets of this panel: one per vector, or one per lane when
     * a vector may straddle two heads (scatter) */
    int step = g.scatter ? 1 : g.vw;
    for (int v = 0; v < g.nr; v += step) {
        LLVMValueRef cv = LLVMBuildAdd(b, col, cg_i64c(c, v), "");
        LLVMValueRef co = cv;
        if (g.qkv) {   /* col = p*E + h*Dh + dd -> p*(L H S Dh) + h*(S Dh) + dd */
            LLVMValueRef e = LLVMBuildSRem(b, cv, qE, "");
            co = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildSDiv(b, cv, qE, ""), qPs, ""),
                              LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildSDiv(b, e, qDh, ""), qHs, ""),
                                           LLVMBuildSRem(b, e, qDh, ""), ""), "");
        }
        cg_store(c, co, cg_gep(c, c->i64, offs, cg_i64c(c, g.mr + v / step)), 8);
    }
    LLVMValueRef bpan;
    if (g.packed) {
        /* prepacked: [panel][K][nr] (k pairs: [panel][Ke/2][nr][2], Ke = K rounded up to even) */
        LLVMValueRef panel = LLVMBuildSDiv(b, col, cg_i64c(c, g.nr), "");
        LLVMValueRef kp = g.kpairs ? kpair_even(c, K) : K;
        bpan = cg_gep(c, pt, B, LLVMBuildMul(b, LLVMBuildAdd(b, LLVMBuildMul(b, panel, kp, ""), kc0, ""),
                                             cg_i64c(c, g.nr), ""));
    } else {
        bpan = cg_gep(c, pt, bpack, LLVMBuildMul(b, jp, cg_i64c(c, (int64_t)g.kc * g.nr), ""));
    }
    LLVMValueRef ir = cg_for(c, &lir, cg_i64c(c, 0), mcl, cg_i64c(c, g.mr));
    LLVMValueRef row = LLVMBuildAdd(b, ic, ir, "");
    LLVMValueRef mval = cg_min64(c, cg_i64c(c, g.mr), LLVMBuildSub(b, M, row, ""));
    /* C row offsets (rows clamped to M-1: never stored past M) */
    for (int r = 0; r < g.mr; r++) {
        LLVMValueRef rr = cg_min64(c, LLVMBuildAdd(b, row, cg_i64c(c, r), ""), LLVMBuildSub(b, M, cg_i64c(c, 1), ""));
        LLVMValueRef ro;
        if (g.qkv) {   /* row = l*S + s -> l*(H S Dh) + s*Dh */
            ro = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildSDiv(b, rr, qS, ""), qLs, ""),
                              LLVMBuildMul(b, LLVMBuildSRem(b, rr, qS, ""), qDh, ""), "");
        } else {
            ro = LLVMBuildMul(b, rr, ldc, "");
        }
        cg_store(c, ro, cg_gep(c, c->i64, offs, cg_i64c(c, r)), 8);
    }
    LLVMValueRef args[14] = {
        cg_gep(c, et, A, LLVMBuildAdd(b, LLVMBuildMul(b, row, lda, ""), kc0, "")),
        lda, mval, bpan, kcl, C, offs, nval, flags,
        cg_gep(c, et, bias, col),
        cg_gep(c, et, R0, LLVMBuildAdd(b, LLVMBuildMul(b, row, ldr, ""), col, "")),
        ldr,
        cg_gep(c, c->f32, scratch, LLVMBuildAdd(b, LLVMBuildMul(b, ir, cg_i64c(c, g.nb), ""),
                                                LLVMBuildMul(b, jp, cg_i64c(c, g.nr), ""), "")),
        cg_i64c(c, g.nb),
    };
    LLVMBuildCall2(b, ukr_t, ukr, args, 14, "");
    cg_endfor(c, &lir);
    cg_endfor(c, &ljp);
    cg_endfor(c, g.scratch ? &lkc : &lic);
    cg_endfor(c, g.scratch ? &lic : &lkc);
    cg_endfor(c, &lcb);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}

/* Prepack: packed[p][k][nr] = W[p*nr + c][k], zero past N.  One tile per
 * panel; runs once when the weights are bound. */
int cpu_gen_gemm_pack(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    GemmCfg g;
    if (gemm_cfg(pk, &g, d)) return -1;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef W = cg_buf(c, 0), P = cg_buf(c, 1), N = cg_dim(c, 0), K = cg_dim(c, 1);
    CgLoop lt, lk;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    if (g.kpairs) {
        /* packed[p][k/2][c][k&1] = W[p*nr + c][k] as bf16 bits, zero past N
         * and at k = K when K is odd; panel stride Ke nr (Ke = K rounded up
         * to even: Ke nr 2 bytes <= the K nr 4 the lowering allocates) */
        LLVMTypeRef i16 = LLVMInt16TypeInContext(c->ctx);
        LLVMValueRef Ke = kpair_even(c, K);
        LLVMValueRef pan = cg_gep(c, i16, P, LLVMBuildMul(b, LLVMBuildMul(b, t, Ke, ""), cg_i64c(c, g.nr), ""));
        CgLoop lc;
        LLVMValueRef cc = cg_for(c, &lc, cg_i64c(c, 0), cg_i64c(c, g.nr), cg_i64c(c, 1));
        LLVMValueRef col = LLVMBuildAdd(b, LLVMBuildMul(b, t, cg_i64c(c, g.nr), ""), cc, "");
        LLVMValueRef cok = LLVMBuildICmp(b, LLVMIntSLT, col, N, "");
        LLVMValueRef wrow = cg_gep(c, i16, W, LLVMBuildMul(b, LLVMBuildSelect(b, cok, col, cg_i64c(c, 0), ""), K, ""));
        LLVMValueRef k = cg_for(c, &lk, cg_i64c(c, 0), Ke, cg_i64c(c, 1));
        LLVMValueRef ok = LLVMBuildAnd(b, cok, LLVMBuildICmp(b, LLVMIntSLT, k, K, ""), "");
        LLVMValueRef x = cg_load(c, i16, cg_gep(c, i16, wrow, LLVMBuildSelect(b, ok, k, cg_i64c(c, 0), "")), 2);
        cg_store(c, LLVMBuildSelect(b, ok, x, LLVMConstInt(i16, 0, 0), ""), cg_gep(c, i16, pan, kpair_slot(c, &g, k, cc)), 2);
        cg_endfor(c, &lk);
        cg_endfor(c, &lc);
        cg_endfor(c, &lt);
        cg_kernel_end(c);
        return 0;
    }
    LLVMValueRef pan = cg_gep(c, c->f32, P, LLVMBuildMul(b, LLVMBuildMul(b, t, K, ""), cg_i64c(c, g.nr), ""));
    LLVMValueRef col0 = LLVMBuildMul(b, t, cg_i64c(c, g.nr), "");
    /* column-major walk: W row `col` is read contiguously */
    CgLoop lc;
    LLVMValueRef cc = cg_for(c, &lc, cg_i64c(c, 0), cg_i64c(c, g.nr), cg_i64c(c, 1));
    LLVMValueRef col = LLVMBuildAdd(b, col0, cc, "");
    LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntSLT, col, N, "");
    LLVMValueRef wrow = cg_gepd(c, g.dt, W, LLVMBuildMul(b, LLVMBuildSelect(b, ok, col, cg_i64c(c, 0), ""), K, ""));
    LLVMValueRef k = cg_for(c, &lk, cg_i64c(c, 0), K, cg_i64c(c, 1));
    LLVMValueRef x = cg_lds(c, g.dt, cg_gepd(c, g.dt, wrow, k));
    cg_store(c, LLVMBuildSelect(b, ok, x, cg_f32c(c, 0.0), ""),
             cg_gep(c, c->f32, pan, LLVMBuildAdd(b, LLVMBuildMul(b, k, cg_i64c(c, g.nr), ""), cc, "")), 4);
    cg_endfor(c, &lk);
    cg_endfor(c, &lc);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}
