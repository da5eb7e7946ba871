/* k_dropout.c: training-mode dropout (the `dropout` family).
 *
 * Element i of the flat tensor is kept when
 *     philox_uniform_at(seed, call, i) >= p
 * (ir/philox.c; `call` is the call number the executor passes at
 * dims[ndims], plan.h) and scaled by 1/(1-p); p = 1 gives zeros.  This is
 * interp_dropout bit for bit: the same 24-bit uniform compared in float.
 *
 *   bufs [x, out], dims [numel, seed_lo, seed_hi] (the Philox key in dims,
 *   so the JIT reuses the kernel for other seeds), call at dims[3];
 *   tiles: blocks of DROP_TILE elements.  x and out in their float dtype
 *   (f32, bf16, f16), computed in f32. */
#include "codegen/cpu/cpu.h"
#include "codegen/kernel_layout.h"


int cpu_gen_dropout(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    (void)d;
    double p = pk->p;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), N = cg_dim(c, 0), call = cg_dim(c, 3);
    LLVMValueRef seed_lo = cg_dim(c, 1), seed_hi = cg_dim(c, 2);
    int vw = c->vw;
    LLVMTypeRef v64 = LLVMVectorType(c->i64, (unsigned)vw);
    /* elements [t0*T, min(t1*T, N)) in vectors of vw, the tail masked */
    LLVMValueRef lo = cg_min64(c, LLVMBuildMul(b, c->t0, cg_i64c(c, DROP_TILE), ""), N);
    LLVMValueRef hi = cg_min64(c, LLVMBuildMul(b, c->t1, cg_i64c(c, DROP_TILE), ""), N);
    CgLoop l;
    LLVMValueRef i = cg_for(c, &l, lo, hi, cg_i64c(c, vw));
    LLVMValueRef m = cg_mask_lt(c, LLVMBuildSub(b, hi, i, ""));
    LLVMValueRef x = cg_ldv(c, pk->in_dtypes[0], cg_gepd(c, pk->in_dtypes[0], X, i), m, cg_vf32c(c, 0));
    LLVMValueRef idx = LLVMBuildAdd(b, cg_splat(c, i), LLVMBuildZExt(b, cg_iota(c), v64, ""), "");
    LLVMValueRef bits = cg_philox(c, seed_lo, seed_hi, call, idx);
    LLVMValueRef u = LLVMBuildFMul(b, LLVMBuildUIToFP(b, LLVMBuildLShr(b, bits, cg_splat(c, cg_i32c(c, 8)), ""), c->vf, ""),
                                   cg_vf32c(c, 0x1p-24), "");
    LLVMValueRef keep = LLVMBuildFCmp(b, LLVMRealOGE, u, cg_vf32c(c, (float)p), "");
    /* interp_dropout: (float)(x * s) with x, s in double */
    LLVMTypeRef vd = LLVMVectorType(c->f64, (unsigned)vw);
    LLVMValueRef xs = LLVMBuildFPTrunc(b, LLVMBuildFMul(b, LLVMBuildFPExt(b, x, vd, ""),
                                                        cg_splat(c, LLVMConstReal(c->f64, p >= 1 ? 0 : 1.0 / (1.0 - p))), ""),
                                       c->vf, "");
    LLVMValueRef y = LLVMBuildSelect(b, keep, xs, cg_vf32c(c, 0), "");
    cg_stv(c, pk->dtype, y, cg_gepd(c, pk->dtype, Y, i), m);
    cg_endfor(c, &l);
    cg_kernel_end(c);
    return 0;
}
