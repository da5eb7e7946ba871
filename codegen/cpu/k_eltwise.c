/* k_eltwise.c: one generator for every element-wise op (binary with
 * broadcasting, scalar ops, unary activations, masked_fill).
 *
 * The lowering (codegen/lower_eltwise.c) sees the output as rows x cols
 * with merged leading dims and per-input strides in the step's dims; the
 * spec says how many leading dims there are and whether each input's last
 * dim is contiguous (a vector load) or broadcast (a scalar per row).  One
 * row per tile.  Dtypes here: f32 (bool only as a masked_fill mask). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"


static LLVMValueRef unary(Cg *c, Op op, LLVMValueRef x, LLVMValueRef f0, LLVMValueRef f1) {
    LLVMBuilderRef b = c->b;
    LLVMTypeRef vt = c->vf;
    LLVMValueRef one = cg_vf32c(c, 1.0);
    switch (op) {
    case OP_ADD_SCALAR: return LLVMBuildFAdd(b, x, f0, "");
    case OP_MUL_SCALAR: return LLVMBuildFMul(b, x, f0, "");
    case OP_DIV_SCALAR: return LLVMBuildFDiv(b, x, f0, "");
    case OP_RSUB_SCALAR: return LLVMBuildFSub(b, f0, x, "");
    case OP_POW_SCALAR: { LLVMValueRef a[2] = {x, f0}; return cg_intr(c, "llvm.pow", &vt, 1, a, 2); }
    case OP_CLAMP: {
        /* min(max(x, lo), hi) with NaN kept, as torch */
        LLVMValueRef lo = LLVMBuildFCmp(b, LLVMRealOLT, x, f0, "");
        x = LLVMBuildSelect(b, lo, f0, x, "");
        LLVMValueRef hi = LLVMBuildFCmp(b, LLVMRealOGT, x, f1, "");
        return LLVMBuildSelect(b, hi, f1, x, "");
    }
    case OP_NEG: return LLVMBuildFNeg(b, x, "");
    case OP_ABS: return cg_intr(c, "llvm.fabs", &vt, 1, &x, 1);
    case OP_EXP: return cg_vlibm(c, "expf", x);
    case OP_LOG: return cg_vlibm(c, "logf", x);
    case OP_LOG2: return cg_vlibm(c, "log2f", x);
    case OP_LOG10: return cg_vlibm(c, "log10f", x);
    case OP_SQRT: return cg_intr(c, "llvm.sqrt", &vt, 1, &x, 1);
    case OP_RSQRT: return LLVMBuildFDiv(b, one, cg_intr(c, "llvm.sqrt", &vt, 1, &x, 1), "");
    case OP_RECIPROCAL: return LLVMBuildFDiv(b, one, x, "");
    case OP_SIN: return cg_vlibm(c, "sinf", x);
    case OP_COS: return cg_vlibm(c, "cosf", x);
    case OP_TAN: return cg_vlibm(c, "tanf", x);
    case OP_FLOOR: return cg_intr(c, "llvm.floor", &vt, 1, &x, 1);
    case OP_CEIL: return cg_intr(c, "llvm.ceil", &vt, 1, &x, 1);
    case OP_ROUND: return cg_intr(c, "llvm.roundeven", &vt, 1, &x, 1);
    default: return cg_act(c, op, x);    /* relu, gelu, silu, sigmoid, tanh */
    }
}

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
    for (int k = 0; k < nin; k++)
        base[k] = cg_gep(c, (k == 1 && bmask) ? c->i8 : c->f32, in[k], off[k]);
    LLVMValueRef y = cg_gep(c, c->f32, OUT, LLVMBuildMul(b, t, cols, ""));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, c->vw));
    LLVMValueRef m = cg_mask_lt(c, LLVMBuildSub(b, cols, j, ""));
    LLVMValueRef v[2];
    for (int k = 0; k < nin; k++) {
        LLVMTypeRef et = (k == 1 && bmask) ? c->i8 : c->f32;
        if (L.vec[k]) {
            if (et == c->i8) {
                LLVMTypeRef vt = LLVMVectorType(c->i8, (unsigned)c->vw);
                LLVMTypeRef ts[2] = {vt, c->ptr};
                LLVMValueRef a[4] = {cg_gep(c, c->i8, base[k], j), cg_i32c(c, 1), m, LLVMConstNull(vt)};
                v[k] = cg_intr(c, "llvm.masked.load", ts, 2, a, 4);
            } else {
                v[k] = cg_mload(c, cg_gep(c, c->f32, base[k], j), m, NULL);
            }
        } else {
            v[k] = cg_splat(c, cg_load(c, et, base[k], et == c->i8 ? 1 : 4));
        }
    }
    LLVMValueRef r;
    switch (pk->opcode) {
    case OP_ADD: r = LLVMBuildFAdd(b, v[0], v[1], ""); break;
    case OP_SUB: r = LLVMBuildFSub(b, v[0], v[1], ""); break;
    case OP_MUL: r = LLVMBuildFMul(b, v[0], v[1], ""); break;
    case OP_DIV: r = LLVMBuildFDiv(b, v[0], v[1], ""); break;
    case OP_MASKED_FILL: {
        LLVMValueRef set = bmask ? LLVMBuildICmp(b, LLVMIntNE, v[1], LLVMConstNull(LLVMTypeOf(v[1])), "")
                                 : LLVMBuildFCmp(b, LLVMRealUNE, v[1], cg_vf32c(c, 0), "");
        r = LLVMBuildSelect(b, set, f0, v[0], "");
        break;
    }
    default: r = unary(c, pk->opcode, v[0], f0, f1); break;
    }
    cg_mstore(c, r, cg_gep(c, c->f32, y, j), m);
    cg_endfor(c, &lj);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}
