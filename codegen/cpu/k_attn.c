/* k_attn.c: scaled dot-product attention as a flash kernel.
 *
 * For one (batch, head) and a block of Br = 64 query rows, keys are visited
 * in blocks of Bc = vw.  The key block is transposed on the stack (KT[d][c])
 * so a row of scores is D broadcast-FMAs: s = sum_d q[i,d] KT[d][:].
 * Online softmax per row (Dao et al.):
 *   m' = max(m, max_c s_c)        p_c = exp(s_c - m')
 *   l' = l e^(m - m') + sum_c p_c  O' = O e^(m - m') + sum_c p_c V[c,:]
 * and out = O / l at the end, so memory is O(Br D), never S x S.
 * Masked scores are -inf (p = 0); a fully masked row ends with l = 0 and
 * out = 0/0 = NaN, as torch and the interpreter.  Causal (j <= i) stops the
 * key loop after the block's last row.  Dropout (training) draws
 * philox_u32(seed, flat index of the [batch.., Sq, Sk] weight), the same
 * stream as the interpreter.
 *
 * Tiles are query rows of the flattened [batch.., Sq] (so the tile count is
 * a polynomial); a tile range is cut into blocks of up to Br rows of one
 * batch entry.  Transposing the key block is D x Bc scalar moves, so Br
 * must be large to amortise it (16 rows ran at a third of 64's speed).
 * Q, K, V, mask are read through strides (dims), so broadcast and
 * head-split views need no copies.  Grouped-query attention (a.i = G > 1)
 * maps query head h to key/value head h / G: K and V keep their Hq / G
 * heads, nothing is repeated.
 * Q, K, V, a float mask and the output are each in their dtype (f32,
 * bf16, f16), widened at the load; scores, m, l and O are f32.
 * With bf16 Q, K, V on AVX512-BF16 (tune.kpairs) the blocks of >= ATT_RG
 * rows take both products as vdpbf16ps: KT holds K's d pairs as 32-bit
 * words, KP[d/2][c] = (K[c][d], K[c][d+1]) (a transpose of words, half
 * the moves), s += (q[d], q[d+1]) . KP[d/2][:]; the weights p are rounded
 * to bf16 pairs PP[u][c/2] = (p[c], p[c+1]) (as flash attention on GPUs
 * does; l keeps the f32 sum) and O += PP[u][c/2] . (V[c][:], V[c+1][:]),
 * two V rows interleaved per vector. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"

int cpu_gen_attn(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    int D = (int)pk->head_dim, Dv = (int)pk->value_dim;
    bool mask_bool = pk->mask == 1;
    bool causal = pk->causal;
    bool drop = pk->training && pk->p > 0;
    int64_t group = pk->group;                  /* query heads per key/value head */
    if (group < 1) return diag_set(d, pk->loc, "cpu backend: sdpa: key and value broadcast differently");
    const int BR = pk->tune.att_br;              /* query rows per block, as tuned */
    if (BR < ATT_RG || BR % ATT_RG || pk->tune.att_rg != ATT_RG || pk->tune.att_bc != ATT_BCV * c->vw)
        return diag_set(d, pk->loc, "cpu backend: %s: attention blocks %dx%d (group %d) are not what this "
                        "generator is built for (a tune bug)", pk->name, pk->tune.att_br, pk->tune.att_bc,
                        pk->tune.att_rg);
    DType qt = pk->in_dtypes[0], kt = pk->in_dtypes[1], vt = pk->in_dtypes[2], ot = pk->dtype;
    DType mt = pk->mask == 2 ? pk->in_dtypes[3] : DT_F32;
    double scale = pk->scale > 0 ? pk->scale : 1.0 / sqrt((double)D);
    /* O rows are padded to Dvp (a vector multiple); V loads and output
     * stores of the last vector are masked when Dv is not a multiple */
    /* PV takes O in chunks of DVC vectors (up to ATT_DVC), so Dvp is a
     * chunk multiple: a chunk never runs into the next row's O */
    int vw = c->vw, BC = ATT_BCV * vw, ndv = (Dv + vw - 1) / vw;
    const int DVC = ndv < ATT_DVC ? ndv : ATT_DVC;
    int Dvp = (ndv + DVC - 1) / DVC * DVC * vw;
    bool dp = pk->tune.kpairs == 1;   /* KPAIRS_AT_RUN: backend.c generates both */
    if (pk->tune.kpairs == KPAIRS_AT_RUN)
        return diag_set(d, pk->loc, "cpu backend: %s: a run-time choice of kernels reached the generator (a backend bug)",
                        pk->name);
    if (dp && (vw != 16 || BC != 32 || D % 2 || qt != DT_BF16 || kt != DT_BF16 || vt != DT_BF16))
        return diag_set(d, pk->loc, "cpu backend: %s: bf16 dot products need bf16 q, k, v, an even head dim "
                        "and 32 keys of 16 lanes (a tune bug)", pk->name);
    LLVMTypeRef i16 = LLVMInt16TypeInContext(c->ctx);

    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef Q = cg_buf(c, AB_Q), K = cg_buf(c, AB_K), V = cg_buf(c, AB_V);
    LLVMValueRef MK = cg_buf(c, AB_MASK), OUT = cg_buf(c, AB_OUT);
    LLVMValueRef Sq = cg_dim(c, AD_SQ), Sk = cg_dim(c, AD_SK), nb1 = cg_dim(c, AD_NB1);
    LLVMValueRef qss = cg_dim(c, AD_QSS), kss = cg_dim(c, AD_KSS), vss = cg_dim(c, AD_VSS);
    LLVMValueRef msi = cg_dim(c, AD_MSI), msj = cg_dim(c, AD_MSJ);
    LLVMValueRef call = cg_dim(c, AD_COUNT);    /* the call number (plan.h: dims[ndims]) */
    LLVMValueRef seed_lo = cg_dim(c, AD_SEED_LO), seed_hi = cg_dim(c, AD_SEED_HI);
    LLVMValueRef O = cg_array(c, c->f32, (int64_t)BR * Dvp, 64);
    LLVMValueRef Mr = cg_array(c, c->f32, BR, 64), Lr = cg_array(c, c->f32, BR, 64);
    LLVMValueRef KT = cg_array(c, c->f32, (int64_t)D * BC, 64);
    LLVMValueRef P = cg_array(c, c->f32, (int64_t)ATT_RG * BC, 64);
    LLVMValueRef PP = cg_array(c, c->i32, (int64_t)ATT_RG * BC / 2, 64);   /* dp: p pairs in bf16 */
    LLVMValueRef SD = cg_array(c, c->f32, BC, 64);   /* one row's scores (dot path) */
    LLVMValueRef ninf = cg_f32c(c, -INFINITY), vninf = cg_splat(c, ninf);
    LLVMValueRef zero = cg_i64c(c, 0), one = cg_i64c(c, 1);

    /* while (t < t1): one block of rows of one batch entry */
    LLVMValueRef tv = cg_var(c, c->i64, c->t0);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "blk.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "blk.body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "blk.done");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef t = cg_get(c, c->i64, tv);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, t, c->t1, ""), body, done);
    LLVMPositionBuilderAtEnd(b, body);
    LLVMValueRef bh = LLVMBuildSDiv(b, t, Sq, ""), i0 = LLVMBuildSRem(b, t, Sq, "");
    LLVMValueRef nrows = cg_min64(c, cg_min64(c, cg_i64c(c, BR), LLVMBuildSub(b, Sq, i0, "")),
                                  LLVMBuildSub(b, c->t1, t, ""));
    LLVMValueRef iend = LLVMBuildAdd(b, i0, nrows, "");
    LLVMValueRef b0 = LLVMBuildSDiv(b, bh, nb1, ""), b1 = LLVMBuildSRem(b, bh, nb1, "");
    /* grouped-query attention: query head b1 reads key/value head b1 / G
     * (b1 is the head axis, dim -3; K/V strides are those of their own
     * Hq / G heads), so K and V are never copied */
    LLVMValueRef b1kv = group > 1 ? LLVMBuildUDiv(b, b1, cg_i64c(c, group), "") : b1;
#define BOFF(h, s0, s1) LLVMBuildAdd(b, LLVMBuildMul(b, b0, cg_dim(c, s0), ""), LLVMBuildMul(b, h, cg_dim(c, s1), ""), "")
    LLVMValueRef qb = cg_gepd(c, qt, Q, BOFF(b1, AD_QS0, AD_QS1));
    LLVMValueRef kb = cg_gepd(c, kt, K, BOFF(b1kv, AD_KS0, AD_KS1));
    LLVMValueRef vb = cg_gepd(c, vt, V, BOFF(b1kv, AD_VS0, AD_VS1));
    LLVMValueRef mb = cg_gep(c, mask_bool ? c->i8 : cg_elt(c, mt), MK, BOFF(b1, AD_MS0, AD_MS1));
#undef BOFF
    CgLoop lr, ld, lc, lj, ldv, lp;
    /* init every slot (rows past the block use spare ones) */
    LLVMValueRef r = cg_for(c, &lr, zero, cg_i64c(c, BR), one);
    cg_store(c, ninf, cg_gep(c, c->f32, Mr, r), 4);
    cg_store(c, cg_f32c(c, 0), cg_gep(c, c->f32, Lr, r), 4);
    for (int e = 0; e < Dvp / vw; e++)
        cg_vstore(c, cg_vf32c(c, 0), cg_gep(c, c->f32, O, LLVMBuildAdd(b, LLVMBuildMul(b, r, cg_i64c(c, Dvp), ""), cg_i64c(c, e * vw), "")));
    cg_endfor(c, &lr);

    /* Two ways through the keys: blocks of >= ATT_RG rows transpose each key
     * block once and share every load among ATT_RG rows; smaller blocks (a
     * decode step, a ragged tail) take dot products on K in place, since a
     * transpose for one row costs more than it saves. */
    CgIf pathif;
    cg_if(c, &pathif, LLVMBuildICmp(b, LLVMIntSGE, nrows, cg_i64c(c, ATT_RG), ""), true);
    for (int path = 0; path < 2; path++) {
        const int G = path == 0 ? ATT_RG : 1;   /* rows per group */
        if (path == 1) cg_else(c, &pathif);
        LLVMValueRef kend = causal ? cg_min64(c, Sk, iend) : Sk;
        LLVMValueRef j0 = cg_for(c, &lj, zero, kend, cg_i64c(c, BC));
        LLVMValueRef nk = cg_min64(c, cg_i64c(c, BC), LLVMBuildSub(b, kend, j0, ""));
        LLVMValueRef dd;
        if (path == 0 && dp) {
            /* KP[p][c] = K[j0 + c][2p .. 2p+1] as one word, zero past nk */
            dd = cg_for(c, &ld, zero, cg_i64c(c, D / 2), one);
            LLVMValueRef cc = cg_for(c, &lc, zero, cg_i64c(c, BC), one);
            LLVMValueRef okc = LLVMBuildICmp(b, LLVMIntSLT, cc, nk, "");
            LLVMValueRef jj = LLVMBuildAdd(b, j0, LLVMBuildSelect(b, okc, cc, zero, ""), "");
            LLVMValueRef at = LLVMBuildAdd(b, LLVMBuildMul(b, jj, kss, ""), LLVMBuildMul(b, dd, cg_i64c(c, 2), ""), "");
            LLVMValueRef kx = cg_load(c, c->i32, cg_gep(c, i16, kb, at), 2);
            cg_store(c, LLVMBuildSelect(b, okc, kx, cg_i32c(c, 0), ""),
                     cg_gep(c, c->i32, KT, LLVMBuildAdd(b, LLVMBuildMul(b, dd, cg_i64c(c, BC), ""), cc, "")), 4);
            cg_endfor(c, &lc);
            cg_endfor(c, &ld);
        } else if (path == 0) {
            /* KT[d][c] = K[j0 + c][d], zero past nk */
            dd = cg_for(c, &ld, zero, cg_i64c(c, D), one);
            LLVMValueRef cc = cg_for(c, &lc, zero, cg_i64c(c, BC), one);
            LLVMValueRef okc = LLVMBuildICmp(b, LLVMIntSLT, cc, nk, "");
            LLVMValueRef jj = LLVMBuildAdd(b, j0, LLVMBuildSelect(b, okc, cc, zero, ""), "");
            LLVMValueRef kx = cg_lds(c, kt, cg_gepd(c, kt, kb, LLVMBuildAdd(b, LLVMBuildMul(b, jj, kss, ""), dd, "")));
            cg_store(c, LLVMBuildSelect(b, okc, kx, cg_f32c(c, 0), ""),
                     cg_gep(c, c->f32, KT, LLVMBuildAdd(b, LLVMBuildMul(b, dd, cg_i64c(c, BC), ""), cc, "")), 4);
            cg_endfor(c, &lc);
            cg_endfor(c, &ld);
        }

        /* Rows in groups of G: on path 0 each KT and V vector load feeds
         * ATT_RG FMAs (one row at a time is load-bound: two loads per FMA). */
        LLVMValueRef rg = cg_for(c, &lr, zero, nrows, cg_i64c(c, G));
        LLVMValueRef lastr = LLVMBuildSub(b, nrows, one, "");
        LLVMValueRef slot[ATT_RG], iu[ATT_RG], qrow[ATT_RG], sv[ATT_RG][ATT_BCV], alpha[ATT_RG];
        for (int u = 0; u < G; u++) {
            slot[u] = LLVMBuildAdd(b, rg, cg_i64c(c, u), "");   /* its O/m/l slot, < BR */
            /* rows past the block recompute the last row into slots never read */
            iu[u] = LLVMBuildAdd(b, i0, cg_min64(c, slot[u], lastr), "");
            qrow[u] = cg_gepd(c, qt, qb, LLVMBuildMul(b, iu[u], qss, ""));
            for (int cv = 0; cv < ATT_BCV; cv++) {
                sv[u][cv] = cg_var(c, c->vf, NULL);
                cg_set(c, sv[u][cv], cg_vf32c(c, 0));
            }
        }
        if (path == 0 && dp) {
            /* s[u] += (q[u][2p], q[u][2p+1]) . KP[p][:] */
            dd = cg_for(c, &ld, zero, cg_i64c(c, D / 2), one);
            LLVMValueRef kprow = cg_gep(c, c->i32, KT, LLVMBuildMul(b, dd, cg_i64c(c, BC), ""));
            LLVMValueRef kpv[ATT_BCV];
            for (int cv = 0; cv < ATT_BCV; cv++)
                kpv[cv] = cg_bf16_pairs(c, cg_load(c, c->vi32, cg_gep(c, c->i32, kprow, cg_i64c(c, cv * vw)), 64));
            for (int u = 0; u < G; u++) {
                LLVMValueRef qp = cg_load(c, c->i32, cg_gep(c, i16, qrow[u], LLVMBuildMul(b, dd, cg_i64c(c, 2), "")), 2);
                LLVMValueRef qs = cg_bf16_pair_splat(c, qp);
                for (int cv = 0; cv < ATT_BCV; cv++)
                    cg_set(c, sv[u][cv], cg_dpbf16(c, cg_get(c, c->vf, sv[u][cv]), qs, kpv[cv]));
            }
            cg_endfor(c, &ld);
        } else if (path == 0) {
            /* s[u] = sum_d q[u][d] KT[d][:] */
            dd = cg_for(c, &ld, zero, cg_i64c(c, D), one);
            LLVMValueRef ktrow = cg_gep(c, c->f32, KT, LLVMBuildMul(b, dd, cg_i64c(c, BC), ""));
            LLVMValueRef ktv[ATT_BCV];
            for (int cv = 0; cv < ATT_BCV; cv++)
                ktv[cv] = cg_load(c, c->vf, cg_gep(c, c->f32, ktrow, cg_i64c(c, cv * vw)), (unsigned)vw * 4);
            for (int u = 0; u < G; u++) {
                LLVMValueRef qx = cg_splat(c, cg_lds(c, qt, cg_gepd(c, qt, qrow[u], dd)));
                for (int cv = 0; cv < ATT_BCV; cv++)
                    cg_set(c, sv[u][cv], cg_fma(c, qx, ktv[cv], cg_get(c, c->vf, sv[u][cv])));
            }
            cg_endfor(c, &ld);
        } else {
            /* one row: s[c] = q . K[j0 + c], vectorised over d, no transpose */
            LLVMValueRef kc = cg_for(c, &lc, zero, nk, one);
            LLVMValueRef krow = cg_gepd(c, kt, kb, LLVMBuildMul(b, LLVMBuildAdd(b, j0, kc, ""), kss, ""));
            LLVMValueRef acc = NULL;
            for (int e = 0; e < D; e += vw) {
                LLVMValueRef m = D - e >= vw ? NULL : cg_mask_lt(c, cg_i64c(c, D - e));
                LLVMValueRef qx = cg_ldv(c, qt, cg_gepd(c, qt, qrow[0], cg_i64c(c, e)), m, NULL);
                LLVMValueRef kx = cg_ldv(c, kt, cg_gepd(c, kt, krow, cg_i64c(c, e)), m, NULL);
                acc = acc ? cg_fma(c, qx, kx, acc) : LLVMBuildFMul(b, qx, kx, "");
            }
            cg_store(c, cg_hsum(c, acc), cg_gep(c, c->f32, SD, kc), 4);
            cg_endfor(c, &lc);
            for (int cv = 0; cv < ATT_BCV; cv++)   /* lanes past nk are masked below */
                cg_set(c, sv[0][cv], cg_load(c, c->vf, cg_gep(c, c->f32, SD, cg_i64c(c, cv * vw)), (unsigned)vw * 4));
        }
        /* Two passes over the group's rows: the masked scores and new
         * maxima first, so the G rescale factors e^(m - m') take one vector
         * exp (lane u), not one each; then p, l and the weights. */
        LLVMValueRef scg[ATT_RG][ATT_BCV], moldg[ATT_RG], mnewg[ATT_RG], museg[ATT_RG];
        for (int u = 0; u < G; u++) {
            LLVMValueRef i = iu[u], r = slot[u];
            LLVMValueRef *sc = scg[u], bmax = NULL;
            for (int cv = 0; cv < ATT_BCV; cv++) {
                LLVMValueRef s = LLVMBuildFMul(b, cg_get(c, c->vf, sv[u][cv]), cg_vf32c(c, scale), "");
                LLVMValueRef jc = LLVMBuildAdd(b, j0, cg_i64c(c, cv * vw), "");   /* first key of this vector */
                LLVMValueRef valid = cg_mask_lt(c, LLVMBuildSub(b, nk, cg_i64c(c, cv * vw), ""));
                if (pk->mask) {
                    LLVMValueRef mrow = cg_gep(c, mask_bool ? c->i8 : cg_elt(c, mt), mb, LLVMBuildMul(b, i, msi, ""));
                    LLVMValueRef mv = LLVMGetUndef(c->vf);
                    LLVMValueRef keep = LLVMConstNull(c->vmask);
                    for (int l = 0; l < vw; l++) {
                        /* lanes past nk re-read the last key (valid memory), then masked */
                        LLVMValueRef lc_ = cg_min64(c, cg_i64c(c, cv * vw + l), LLVMBuildSub(b, nk, one, ""));
                        LLVMValueRef addr = LLVMBuildMul(b, LLVMBuildAdd(b, j0, lc_, ""), msj, "");
                        if (mask_bool) {
                            LLVMValueRef x = cg_load(c, c->i8, cg_gep(c, c->i8, mrow, addr), 1);
                            keep = LLVMBuildInsertElement(b, keep, LLVMBuildICmp(b, LLVMIntNE, x, LLVMConstInt(c->i8, 0, 0), ""), cg_i32c(c, l), "");
                        } else {
                            mv = LLVMBuildInsertElement(b, mv, cg_lds(c, mt, cg_gepd(c, mt, mrow, addr)), cg_i32c(c, l), "");
                        }
                    }
                    if (mask_bool) valid = LLVMBuildAnd(b, valid, keep, "");
                    else s = LLVMBuildFAdd(b, s, mv, "");
                }
                if (causal) {
                    /* jc + lane <= i; clamp so the i32 compare cannot wrap */
                    LLVMValueRef gap = cg_max64(c, cg_min64(c, LLVMBuildSub(b, i, jc, ""), cg_i64c(c, vw)), cg_i64c(c, -1));
                    LLVMValueRef lim = LLVMBuildTrunc(b, gap, c->i32, "");
                    valid = LLVMBuildAnd(b, valid, LLVMBuildICmp(b, LLVMIntSLE, cg_iota(c), cg_splat(c, lim), ""), "");
                }
                sc[cv] = LLVMBuildSelect(b, valid, s, vninf, "");
                bmax = bmax ? cg_vmax(c, bmax, sc[cv]) : sc[cv];
            }
            moldg[u] = cg_load(c, c->f32, cg_gep(c, c->f32, Mr, r), 4);
            mnewg[u] = cg_vmax(c, moldg[u], cg_hmax(c, bmax));
            /* all masked so far: subtract 0 instead of -inf so exp gives 0, not NaN */
            LLVMValueRef isinf = LLVMBuildFCmp(b, LLVMRealOEQ, mnewg[u], ninf, "");
            museg[u] = LLVMBuildSelect(b, isinf, cg_f32c(c, 0), mnewg[u], "");
        }
        LLVMValueRef dm = cg_vf32c(c, 0);   /* lane u: m - m' of row u; unused lanes e^0 */
        for (int u = 0; u < G; u++)
            dm = LLVMBuildInsertElement(b, dm, LLVMBuildFSub(b, moldg[u], museg[u], ""), cg_i32c(c, u), "");
        LLVMValueRef alphav = cg_vexp(c, dm);
        for (int u = 0; u < G; u++) {
            LLVMValueRef i = iu[u], r = slot[u];
            LLVMValueRef *sc = scg[u], pv[ATT_BCV];
            LLVMValueRef mptr = cg_gep(c, c->f32, Mr, r), lptr = cg_gep(c, c->f32, Lr, r);
            LLVMValueRef mnew = mnewg[u], muse = cg_splat(c, museg[u]);
            LLVMValueRef psum = NULL;
            for (int cv = 0; cv < ATT_BCV; cv++) {
                pv[cv] = cg_vexp(c, LLVMBuildFSub(b, sc[cv], muse, ""));
                psum = psum ? LLVMBuildFAdd(b, psum, pv[cv], "") : pv[cv];
            }
            LLVMValueRef alpha_u = LLVMBuildExtractElement(b, alphav, cg_i32c(c, u), "");
            cg_store(c, cg_fma(c, cg_load(c, c->f32, lptr, 4), alpha_u, cg_hsum(c, psum)), lptr, 4);
            cg_store(c, mnew, mptr, 4);
            for (int cv = 0; cv < ATT_BCV; cv++) {
                if (drop) {
                    /* dropout on the normalised weights: O takes p * keep / (1 - p),
                     * l keeps the undropped sum, so O / l = dropout(softmax) . V */
                    LLVMValueRef row = LLVMBuildAdd(b, LLVMBuildMul(b, bh, Sq, ""), i, "");
                    LLVMValueRef base = LLVMBuildAdd(b, LLVMBuildMul(b, row, Sk, ""),
                                                     LLVMBuildAdd(b, j0, cg_i64c(c, cv * vw), ""), "");
                    LLVMTypeRef v64 = LLVMVectorType(c->i64, (unsigned)vw);
                    LLVMValueRef idx = LLVMBuildAdd(b, cg_splat(c, base), LLVMBuildZExt(b, cg_iota(c), v64, ""), "");
                    LLVMValueRef bits = cg_philox(c, seed_lo, seed_hi, call, idx);
                    LLVMValueRef uf = LLVMBuildFMul(b, LLVMBuildUIToFP(b, LLVMBuildLShr(b, bits, cg_splat(c, cg_i32c(c, 8)), ""), c->vf, ""),
                                                    cg_vf32c(c, 0x1p-24), "");
                    LLVMValueRef keep = LLVMBuildFCmp(b, LLVMRealOGE, uf, cg_vf32c(c, (float)pk->p), "");
                    double ks = pk->p >= 1 ? 0 : 1.0 / (1.0 - pk->p);
                    pv[cv] = LLVMBuildSelect(b, keep, LLVMBuildFMul(b, pv[cv], cg_vf32c(c, ks), ""), cg_vf32c(c, 0), "");
                }
                if (!(path == 0 && dp))   /* the dot-product PV reads PP only */
                    cg_store(c, pv[cv], cg_gep(c, c->f32, P, cg_i64c(c, u * BC + cv * vw)), (unsigned)vw * 4);
            }
            if (path == 0 && dp) {
                /* PP[u][c/2] = (bf16 p[c], bf16 p[c+1]): the two vectors'
                 * 16-bit halves side by side are the pairs in order */
                LLVMValueRef idx[32];
                for (int l = 0; l < 32; l++) idx[l] = cg_i32c(c, l);
                LLVMValueRef h = LLVMBuildShuffleVector(b, cg_narrow(c, DT_BF16, pv[0]), cg_narrow(c, DT_BF16, pv[1]),
                                                        LLVMConstVector(idx, 32), "");
                cg_store(c, LLVMBuildBitCast(b, h, c->vi32, ""), cg_gep(c, c->i32, PP, cg_i64c(c, u * BC / 2)), 64);
            }
            alpha[u] = alpha_u;
        }
        /* O[slot] = O[slot] * alpha + sum_c p[c] V[j0 + c], in chunks of
         * DVC vectors of O per row: each p broadcast feeds DVC FMAs and
         * each V load G (ATT_RG rows x DVC vectors of accumulators) */
        LLVMValueRef dv = cg_for(c, &ldv, zero, cg_i64c(c, Dvp), cg_i64c(c, DVC * vw));
        LLVMValueRef vmask[DVC], optr[ATT_RG][DVC], ov[ATT_RG][DVC];
        for (int e = 0; e < DVC; e++) {
            LLVMValueRef col = LLVMBuildAdd(b, dv, cg_i64c(c, e * vw), "");
            vmask[e] = Dv % (DVC * vw) ? cg_mask_lt(c, LLVMBuildSub(b, cg_i64c(c, Dv), col, "")) : NULL;
            for (int u = 0; u < G; u++) {
                optr[u][e] = cg_gep(c, c->f32, O, LLVMBuildAdd(b, LLVMBuildMul(b, slot[u], cg_i64c(c, Dvp), ""), col, ""));
                ov[u][e] = cg_var(c, c->vf, NULL);
                cg_set(c, ov[u][e], LLVMBuildFMul(b, cg_load(c, c->vf, optr[u][e], (unsigned)vw * 4), cg_splat(c, alpha[u]), ""));
            }
        }
        if (path == 0 && dp) {
            /* key pairs: (V[c][..], V[c+1][..]) interleaved; an odd last
             * key pairs with zeros (its p partner is 0 too), never reading
             * the row past nk */
            LLVMValueRef pc2 = cg_for(c, &lp, zero, LLVMBuildSDiv(b, LLVMBuildAdd(b, nk, one, ""), cg_i64c(c, 2), ""), one);
            LLVMValueRef c0 = LLVMBuildMul(b, pc2, cg_i64c(c, 2), "");
            LLVMValueRef has1 = LLVMBuildICmp(b, LLVMIntSLT, LLVMBuildAdd(b, c0, one, ""), nk, "");
            LLVMValueRef c1 = LLVMBuildSelect(b, has1, LLVMBuildAdd(b, c0, one, ""), c0, "");
            LLVMTypeRef vh = LLVMVectorType(i16, (unsigned)vw);
            LLVMValueRef il[32];
            for (int l = 0; l < 32; l++) il[l] = cg_i32c(c, (l & 1) * vw + l / 2);
            LLVMValueRef vp[DVC];
            for (int e = 0; e < DVC; e++) {
                LLVMValueRef vrows[2];
                for (int q = 0; q < 2; q++) {
                    LLVMValueRef at = cg_gep(c, i16, vb, LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildAdd(b, j0, q ? c1 : c0, ""), vss, ""),
                                                                  LLVMBuildAdd(b, dv, cg_i64c(c, e * vw), ""), ""));
                    if (vmask[e]) {
                        LLVMTypeRef ts[2] = {vh, c->ptr};
                        LLVMValueRef a[4] = {at, cg_i32c(c, 2), vmask[e], LLVMConstNull(vh)};
                        vrows[q] = cg_intr(c, "llvm.masked.load", ts, 2, a, 4);
                    } else {
                        vrows[q] = cg_load(c, vh, at, 2);
                    }
                }
                vrows[1] = LLVMBuildSelect(b, has1, vrows[1], LLVMConstNull(vh), "");
                vp[e] = cg_bf16_pairs(c, LLVMBuildShuffleVector(b, vrows[0], vrows[1], LLVMConstVector(il, 32), ""));
            }
            for (int u = 0; u < G; u++) {
                LLVMValueRef pp = cg_load(c, c->i32, cg_gep(c, c->i32, PP, LLVMBuildAdd(b, pc2, cg_i64c(c, u * BC / 2), "")), 4);
                LLVMValueRef ps = cg_bf16_pair_splat(c, pp);
                for (int e = 0; e < DVC; e++) cg_set(c, ov[u][e], cg_dpbf16(c, cg_get(c, c->vf, ov[u][e]), ps, vp[e]));
            }
            cg_endfor(c, &lp);
        } else {
            LLVMValueRef pc = cg_for(c, &lp, zero, nk, one);
            LLVMValueRef vrow = cg_gepd(c, vt, vb, LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildAdd(b, j0, pc, ""), vss, ""), dv, ""));
            LLVMValueRef vv[DVC];
            for (int e = 0; e < DVC; e++) vv[e] = cg_ldv(c, vt, cg_gepd(c, vt, vrow, cg_i64c(c, e * vw)), vmask[e], NULL);
            for (int u = 0; u < G; u++) {
                LLVMValueRef pcv = cg_splat(c, cg_load(c, c->f32, cg_gep(c, c->f32, P, LLVMBuildAdd(b, pc, cg_i64c(c, u * BC), "")), 4));
                for (int e = 0; e < DVC; e++) cg_set(c, ov[u][e], cg_fma(c, pcv, vv[e], cg_get(c, c->vf, ov[u][e])));
            }
            cg_endfor(c, &lp);
        }
        for (int u = 0; u < G; u++)
            for (int e = 0; e < DVC; e++) cg_store(c, cg_get(c, c->vf, ov[u][e]), optr[u][e], (unsigned)vw * 4);
        cg_endfor(c, &ldv);
        cg_endfor(c, &lr);
        cg_endfor(c, &lj);
    }
    cg_endif(c, &pathif);

    /* out = O / l */
    r = cg_for(c, &lr, zero, nrows, one);
    LLVMValueRef inv = cg_splat(c, cg_load(c, c->f32, cg_gep(c, c->f32, Lr, r), 4));
    LLVMValueRef orow2 = cg_gep(c, c->f32, O, LLVMBuildMul(b, r, cg_i64c(c, Dvp), ""));
    LLVMValueRef dst = cg_gepd(c, ot, OUT, LLVMBuildMul(b, LLVMBuildAdd(b, t, r, ""), cg_i64c(c, Dv), ""));
    for (int e = 0; e < ndv; e++) {
        LLVMValueRef x = cg_load(c, c->vf, cg_gep(c, c->f32, orow2, cg_i64c(c, e * vw)), (unsigned)vw * 4);
        x = LLVMBuildFDiv(b, x, inv, "");
        LLVMValueRef at = cg_gepd(c, ot, dst, cg_i64c(c, e * vw));
        cg_stv(c, ot, x, at, Dv - e * vw < vw ? cg_mask_lt(c, cg_i64c(c, Dv - e * vw)) : NULL);
    }
    cg_endfor(c, &lr);

    cg_set(c, tv, LLVMBuildAdd(b, t, nrows, ""));
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, done);
    cg_kernel_end(c);
    (void)d;
    return 0;
}
