/* k_norm.c: row-wise kernels over the last axis, one row per tile.
 *
 *   layer_norm  y = (x - mean) / sqrt(var + eps) * w + b   (two passes:
 *               mean, then var = mean((x - mean)^2): no cancellation)
 *   rms_norm    y = x / sqrt(mean(x^2) + eps) * w
 *   add_norm    the same on s = x + r; s is also stored when the node has
 *               ADDNORM_HAS_SUM (bufs[5], see docs/cpu_backend.md)
 *   softmax     y = exp(x - max) / sum exp(x - max)
 *   log_softmax y = x - max - log(sum exp(x - max))
 * Sums are fp32 vectors of vw partial sums, reduced by a tree at the end.
 * Every tensor of a kernel is in its dtype (f32, bf16 or f16: cpu_supports
 * checks they agree), computed in f32; add_norm's s is rounded to it once,
 * where it is stored, and every pass reads that value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"

/* for (j = 0; j < N; j += vw) with mask = lanes < N - j */
#define VLOOP(l, j, m, N)                                             \
    LLVMValueRef j = cg_for(c, &(l), cg_i64c(c, 0), (N), cg_i64c(c, c->vw)); \
    LLVMValueRef m = cg_mask_lt(c, LLVMBuildSub(c->b, (N), j, ""))

int cpu_gen_norm(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    bool add = pk->opcode == OP_ADD_NORM;
    bool rms = pk->norm == OP_RMS_NORM;
    bool has_w = pk->weight;
    bool has_b = pk->bias;
    bool has_sum = pk->stores_sum;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, NB_X), Rr = cg_buf(c, NB_R), W = cg_buf(c, NB_W), Bb = cg_buf(c, NB_B);
    LLVMValueRef OUT = cg_buf(c, NB_OUT), SUM = cg_buf(c, NB_SUM);
    LLVMValueRef N = cg_dim(c, 1), eps = cg_fa(c, 0);
    LLVMValueRef Nf = LLVMBuildSIToFP(b, N, c->f32, "");
    LLVMValueRef acc = cg_var(c, c->vf, NULL);
    CgLoop lt, l1, l2, l3;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef off = LLVMBuildMul(b, t, N, "");
    DType dt = pk->dtype;
    LLVMValueRef x = cg_gepd(c, dt, X, off), y = cg_gepd(c, dt, OUT, off);
    LLVMValueRef src = x;
    LLVMValueRef zero = cg_vf32c(c, 0);

    /* pass 1: s = x (+ r), sum s (or s^2 for rms) */
    cg_set(c, acc, zero);
    {
        VLOOP(l1, j, m, N);
        LLVMValueRef v = cg_ldv(c, dt, cg_gepd(c, dt, x, j), m, NULL);
        if (add) {
            v = LLVMBuildFAdd(b, v, cg_ldv(c, dt, cg_gepd(c, dt, cg_gepd(c, dt, Rr, off), j), m, NULL), "");
            v = cg_widen(c, dt, cg_narrow(c, dt, v));   /* the value stored */
            cg_stv(c, dt, v, cg_gepd(c, dt, y, j), m);
            if (has_sum) cg_stv(c, dt, v, cg_gepd(c, dt, cg_gepd(c, dt, SUM, off), j), m);
        }
        LLVMValueRef a = cg_get(c, c->vf, acc);
        cg_set(c, acc, rms ? cg_fma(c, v, v, a) : LLVMBuildFAdd(b, a, v, ""));
        cg_endfor(c, &l1);
    }
    if (add) src = y;
    LLVMValueRef mean = rms ? cg_f32c(c, 0) : LLVMBuildFDiv(b, cg_hsum(c, cg_get(c, c->vf, acc)), Nf, "");
    LLVMValueRef var;
    if (rms) {
        var = LLVMBuildFDiv(b, cg_hsum(c, cg_get(c, c->vf, acc)), Nf, "");
    } else {
        /* pass 2: var = mean((s - mean)^2) */
        cg_set(c, acc, zero);
        VLOOP(l2, j, m, N);
        LLVMValueRef v = LLVMBuildFSub(b, cg_ldv(c, dt, cg_gepd(c, dt, src, j), m, NULL), cg_splat(c, mean), "");
        v = LLVMBuildSelect(b, m, v, zero, "");
        cg_set(c, acc, cg_fma(c, v, v, cg_get(c, c->vf, acc)));
        cg_endfor(c, &l2);
        var = LLVMBuildFDiv(b, cg_hsum(c, cg_get(c, c->vf, acc)), Nf, "");
    }
    LLVMTypeRef ft = c->f32;
    LLVMValueRef ve = LLVMBuildFAdd(b, var, eps, "");
    LLVMValueRef rstd = LLVMBuildFDiv(b, cg_f32c(c, 1.0), cg_intr(c, "llvm.sqrt", &ft, 1, &ve, 1), "");
    LLVMValueRef vmean = cg_splat(c, mean), vrstd = cg_splat(c, rstd);
    /* pass 3: y = (s - mean) * rstd * w + b */
    {
        VLOOP(l3, j, m, N);
        LLVMValueRef v = cg_ldv(c, dt, cg_gepd(c, dt, src, j), m, NULL);
        v = LLVMBuildFMul(b, LLVMBuildFSub(b, v, vmean, ""), vrstd, "");
        if (has_w) v = LLVMBuildFMul(b, v, cg_ldv(c, dt, cg_gepd(c, dt, W, j), m, NULL), "");
        if (has_b) v = LLVMBuildFAdd(b, v, cg_ldv(c, dt, cg_gepd(c, dt, Bb, j), m, NULL), "");
        cg_stv(c, dt, v, cg_gepd(c, dt, y, j), m);
        cg_endfor(c, &l3);
    }
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}

int cpu_gen_softmax(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    bool logsm = pk->opcode == OP_LOG_SOFTMAX;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, NB_X), OUT = cg_buf(c, NB_OUT), N = cg_dim(c, 1);
    LLVMValueRef acc = cg_var(c, c->vf, NULL);
    LLVMValueRef ninf = cg_vf32c(c, -INFINITY);
    CgLoop lt, l1, l2, l3;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef off = LLVMBuildMul(b, t, N, "");
    /* exp(x - max) is kept in y, in f32 when y is f32; else recomputed in
     * pass 3 (y in bf16 would round it twice) */
    DType dt = pk->dtype;
    bool keep_e = dt == DT_F32 && !logsm;
    LLVMValueRef x = cg_gepd(c, dt, X, off), y = cg_gepd(c, dt, OUT, off);
    cg_set(c, acc, ninf);
    {
        VLOOP(l1, j, m, N);
        cg_set(c, acc, cg_vmax(c, cg_get(c, c->vf, acc), cg_ldv(c, dt, cg_gepd(c, dt, x, j), m, ninf)));
        cg_endfor(c, &l1);
    }
    LLVMValueRef vmax = cg_splat(c, cg_hmax(c, cg_get(c, c->vf, acc)));
    cg_set(c, acc, cg_vf32c(c, 0));
    {
        VLOOP(l2, j, m, N);
        LLVMValueRef e = cg_vexp(c, LLVMBuildFSub(b, cg_ldv(c, dt, cg_gepd(c, dt, x, j), m, ninf), vmax, ""));
        if (keep_e) cg_mstore(c, e, cg_gep(c, c->f32, y, j), m);
        cg_set(c, acc, LLVMBuildFAdd(b, cg_get(c, c->vf, acc), LLVMBuildSelect(b, m, e, cg_vf32c(c, 0), ""), ""));
        cg_endfor(c, &l2);
    }
    LLVMValueRef sum = cg_hsum(c, cg_get(c, c->vf, acc));
    {
        VLOOP(l3, j, m, N);
        LLVMValueRef v;
        if (logsm) {
            LLVMValueRef shift = LLVMBuildFAdd(b, vmax, cg_splat(c, cg_call_libm(c, "logf", sum)), "");
            v = LLVMBuildFSub(b, cg_ldv(c, dt, cg_gepd(c, dt, x, j), m, NULL), shift, "");
        } else {
            LLVMValueRef e = keep_e ? cg_mload(c, cg_gep(c, c->f32, y, j), m, NULL)
                                    : cg_vexp(c, LLVMBuildFSub(b, cg_ldv(c, dt, cg_gepd(c, dt, x, j), m, ninf), vmax, ""));
            v = LLVMBuildFMul(b, e, cg_splat(c, LLVMBuildFDiv(b, cg_f32c(c, 1.0), sum, "")), "");
        }
        cg_stv(c, dt, v, cg_gepd(c, dt, y, j), m);
        cg_endfor(c, &l3);
    }
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}
