/* k_eltwise.c: one generator for every element-wise op (binary with
 * broadcasting, scalar ops, unary activations, masked_fill).
 *
 * The lowering (codegen/lower_eltwise.c) sees the output as rows x cols
 * with merged leading dims and per-input strides in the step's dims; the
 * spec says how many leading dims there are and whether each input's last
 * dim is contiguous (a vector load) or broadcast (a scalar per row).  One
 * row per tile.  Float data in its stored dtype (f32, bf16, f16; cg_ldv),
 * computed in f32; bool only as a masked_fill mask. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"

int cpu_gen_eltwise(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    (void)d;
    const KsEltwise L = pk->ew;     /* the loop nest the lowering chose */
    int nin = L.ninputs;
    bool bmask = L.bool_mask;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef in[2] = {cg_buf(c, 0), cg_buf(c, 1)}, OUT = cg_buf(c, 2);
    LLVMValueRef cols = cg_dim(c, ED_COLS);
    LLVMValueRef f0 = cg_splat(c, cg_fa(c, 0)), f1 = cg_splat(c, cg_fa(c, 1));
    LLVMValueRef size[EW_MAXLEAD], st[2][EW_MAXLEAD];
    for (int i = 0; i < L.nlead; i++) size[i] = cg_dim(c, ED_SIZES + i);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < L.nlead; i++) st[k][i] = cg_dim(c, ED_SIZES + L.nlead * (1 + k) + i);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    /* row t -> per-input offsets */
    LLVMValueRef off[2] = {cg_i64c(c, 0), cg_i64c(c, 0)}, rem = t;
    for (int i = L.nlead - 1; i >= 0; i--) {
        LLVMValueRef idx = i ? LLVMBuildSRem(b, rem, size[i], "") : rem;
        if (i) rem = LLVMBuildSDiv(b, rem, size[i], "");
        for (int k = 0; k < nin; k++) off[k] = LLVMBuildAdd(b, off[k], LLVMBuildMul(b, idx, st[k][i], ""), "");
    }
    LLVMValueRef base[2];
    DType dt[2] = {pk->in_dtypes[0], nin > 1 ? pk->in_dtypes[1] : DT_F32};
    for (int k = 0; k < nin; k++)
        base[k] = (k == 1 && bmask) ? cg_gep(c, c->i8, in[k], off[k]) : cg_gepd(c, dt[k], in[k], off[k]);
    LLVMValueRef y = cg_gepd(c, pk->dtype, OUT, LLVMBuildMul(b, t, cols, ""));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, c->vw));
    LLVMValueRef m = cg_mask_lt(c, LLVMBuildSub(b, cols, j, ""));
    LLVMValueRef v[2];
    for (int k = 0; k < nin; k++) {
        bool is_mask = k == 1 && bmask;
        if (L.vec[k]) {
            if (is_mask) {
                LLVMTypeRef vt = LLVMVectorType(c->i8, (unsigned)c->vw);
                LLVMTypeRef ts[2] = {vt, c->ptr};
                LLVMValueRef a[4] = {cg_gep(c, c->i8, base[k], j), cg_i32c(c, 1), m, LLVMConstNull(vt)};
                v[k] = cg_intr(c, "llvm.masked.load", ts, 2, a, 4);
            } else {
                v[k] = cg_ldv(c, dt[k], cg_gepd(c, dt[k], base[k], j), m, NULL);
            }
        } else {
            v[k] = cg_splat(c, is_mask ? cg_load(c, c->i8, base[k], 1) : cg_lds(c, dt[k], base[k]));
        }
    }
    /* the op's expr column (ops.def), as every backend computes it */
    LLVMValueRef r = cpu_ew_build(c, pk->opcode, v[0], nin > 1 ? v[1] : NULL, bmask, f0, f1);
    if (!r)
        return diag_set(d, pk->loc, "cpu backend: %s: the element-wise expression of %s (ops.def) does not build",
                        pk->name, pk->op ? pk->op : "?");
    cg_stv(c, pk->dtype, r, cg_gepd(c, pk->dtype, y, j), m);
    cg_endfor(c, &lj);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}
