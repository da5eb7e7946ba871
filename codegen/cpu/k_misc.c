/* k_misc.c: the kernels that are mostly data movement, in plain scalar
 * loops (LLVM vectorises the contiguous cases):
 *
 *   reduce  sum/mean/max/argmax over one axis: tile = one output element of
 *           [outer, inner]; fp64 accumulation, NaN propagates (as the
 *           interpreter); argmax takes the first maximum.
 *   copy    reshape / permute / expand / slice / eval-mode dropout: the
 *           output is walked contiguously, the input through per-dim
 *           strides and a base offset; tile = output row.
 *   cat     tile = row of the dims before the axis; each input's row is one
 *           contiguous chunk of the output row.
 *   misc    embedding (tile = id; an id out of range gives a zero row, a
 *           kernel cannot report errors), triu/tril (tile = row), cast.
 * Data is moved as integers of the element's size in compiled buffers
 * (dtype_size: bf16/f16 in 2 bytes), so every dtype works; reduce and cast
 * read and write floats in their dtype through cg_lds/cg_sts. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

static LLVMTypeRef elt_type(Cg *c, DType t) {
    return LLVMIntTypeInContext(c->ctx, (unsigned)(8 * dtype_size(t)));
}

/* ---- reduce ---------------------------------------------------------------------------- */
int cpu_gen_reduce(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    int op = pk->opcode;
    bool sum = op == OP_SUM_DIM || op == OP_MEAN_DIM;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1);
    LLVMValueRef len = cg_dim(c, 1), inner = cg_dim(c, 2);
    LLVMValueRef acc = cg_var(c, c->f64, NULL), arg = cg_var(c, c->i64, NULL);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef o = LLVMBuildSDiv(b, t, inner, ""), i = LLVMBuildSRem(b, t, inner, "");
    LLVMValueRef base = LLVMBuildAdd(b, LLVMBuildMul(b, LLVMBuildMul(b, o, len, ""), inner, ""), i, "");
    cg_set(c, acc, LLVMConstReal(c->f64, sum ? 0.0 : -INFINITY));
    cg_set(c, arg, cg_i64c(c, 0));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), len, cg_i64c(c, 1));
    DType xt = pk->in_dtypes[0];
    LLVMValueRef x = cg_lds(c, xt, cg_gepd(c, xt, X, LLVMBuildAdd(b, base, LLVMBuildMul(b, j, inner, ""), "")));
    x = LLVMBuildFPExt(b, x, c->f64, "");
    LLVMValueRef a = cg_get(c, c->f64, acc);
    if (sum) {
        cg_set(c, acc, LLVMBuildFAdd(b, a, x, ""));
    } else {
        /* a is not NaN and (x > a or x is NaN or first): NaN wins, first max kept */
        LLVMValueRef take = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, x, a, ""),
                                        LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), "");
        take = LLVMBuildOr(b, take, LLVMBuildICmp(b, LLVMIntEQ, j, cg_i64c(c, 0), ""), "");
        take = LLVMBuildAnd(b, take, LLVMBuildFCmp(b, LLVMRealORD, a, a, ""), "");
        cg_set(c, acc, LLVMBuildSelect(b, take, x, a, ""));
        cg_set(c, arg, LLVMBuildSelect(b, take, j, cg_get(c, c->i64, arg), ""));
    }
    cg_endfor(c, &lj);
    LLVMValueRef r = cg_get(c, c->f64, acc);
    if (op == OP_MEAN_DIM) r = LLVMBuildFDiv(b, r, LLVMBuildSIToFP(b, len, c->f64, ""), "");
    if (op == OP_ARGMAX)
        cg_store(c, cg_get(c, c->i64, arg), cg_gep(c, c->i64, Y, t), 8);
    else
        cg_sts(c, pk->dtype, LLVMBuildFPTrunc(b, r, c->f32, ""), cg_gepd(c, pk->dtype, Y, t));
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}

/* ---- copy --------------------------------------------------------------------------------- */
int cpu_gen_copy(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    (void)d;
    const KsCopy L = pk->copy;      /* the loop nest the lowering chose */
    LLVMTypeRef et = elt_type(c, pk->dtype);
    unsigned al = (unsigned)dtype_size(pk->dtype);
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), cols = cg_dim(c, 0);
    int nl = L.nlead;
    LLVMValueRef size[CP_MAXLEAD], st[CP_MAXLEAD];
    for (int i = 0; i < nl; i++) { size[i] = cg_dim(c, 2 + i); st[i] = cg_dim(c, 2 + nl + i); }
    LLVMValueRef last = cg_dim(c, 2 + 2 * nl), base = cg_dim(c, 3 + 2 * nl);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef off = base, rem = t;
    for (int i = nl - 1; i >= 0; i--) {
        LLVMValueRef idx = i ? LLVMBuildSRem(b, rem, size[i], "") : rem;
        if (i) rem = LLVMBuildSDiv(b, rem, size[i], "");
        off = LLVMBuildAdd(b, off, LLVMBuildMul(b, idx, st[i], ""), "");
    }
    LLVMValueRef src = cg_gep(c, et, X, off), dst = cg_gep(c, et, Y, LLVMBuildMul(b, t, cols, ""));
    LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
    LLVMValueRef v = cg_load(c, et, cg_gep(c, et, src, LLVMBuildMul(b, j, last, "")), al);
    cg_store(c, v, cg_gep(c, et, dst, j), al);
    cg_endfor(c, &lj);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}

int cpu_gen_cat(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    LLVMTypeRef et = elt_type(c, pk->dtype);
    unsigned al = (unsigned)dtype_size(pk->dtype);
    int nin = pk->cat_group;       /* slots of one step; a part's unused ones have chunk 0 */
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    LLVMValueRef Y = cg_buf(c, nin), total = cg_dim(c, 1);
    CgLoop lt, lj;
    LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
    LLVMValueRef yrow = cg_gep(c, et, Y, LLVMBuildMul(b, t, total, ""));
    for (int k = 0; k < nin; k++) {
        LLVMValueRef ch = cg_dim(c, 2 + k), off = cg_dim(c, 2 + nin + k);
        LLVMValueRef src = cg_gep(c, et, cg_buf(c, k), LLVMBuildMul(b, t, ch, ""));
        LLVMValueRef dst = cg_gep(c, et, yrow, off);
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), ch, cg_i64c(c, 1));
        cg_store(c, cg_load(c, et, cg_gep(c, et, src, j), al), cg_gep(c, et, dst, j), al);
        cg_endfor(c, &lj);
    }
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    (void)d;
    return 0;
}

/* ---- embedding, triu/tril, cast ---------------------------------------------------------- */
static LLVMValueRef convert(Cg *c, LLVMValueRef v, DType from, DType to) {
    LLVMBuilderRef b = c->b;
    if (from == to) return v;
    LLVMValueRef x;   /* through the interpreter's double (bf16/f16: through f32) */
    if (from == DT_F32 || from == DT_BF16 || from == DT_F16) x = LLVMBuildFPExt(b, cg_widen(c, from, v), c->f64, "");
    else if (from == DT_I64) x = LLVMBuildSIToFP(b, v, c->f64, "");
    else x = LLVMBuildUIToFP(b, v, c->f64, "");
    if (to == DT_F32 || to == DT_BF16 || to == DT_F16) return cg_narrow(c, to, LLVMBuildFPTrunc(b, x, c->f32, ""));
    if (to == DT_I64) return LLVMBuildFPToSI(b, x, c->i64, "");
    return LLVMBuildZExt(b, LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(c->f64, 0), ""), c->i8, "");
}

static LLVMTypeRef val_type(Cg *c, DType t) { return cg_elt(c, t); }

int cpu_gen_misc(Cg *c, const KernelSpec *pk, LtcDiag *d) {
    int op = pk->opcode;
    cg_kernel_begin(c, pk->name);
    LLVMBuilderRef b = c->b;
    CgLoop lt, lj;
    if (op == OP_EMBEDDING) {
        LLVMTypeRef et = elt_type(c, pk->dtype);
        unsigned al = (unsigned)dtype_size(pk->dtype);
        LLVMValueRef ids = cg_buf(c, 0), T = cg_buf(c, 1), Y = cg_buf(c, 2);
        LLVMValueRef num = cg_dim(c, 0), dim = cg_dim(c, 1);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef id = cg_load(c, c->i64, cg_gep(c, c->i64, ids, t), 8);
        LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, id, cg_i64c(c, 0), ""),
                                       LLVMBuildICmp(b, LLVMIntSLT, id, num, ""), "");
        LLVMValueRef src = cg_gep(c, et, T, LLVMBuildMul(b, LLVMBuildSelect(b, ok, id, cg_i64c(c, 0), ""), dim, ""));
        LLVMValueRef dst = cg_gep(c, et, Y, LLVMBuildMul(b, t, dim, ""));
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), dim, cg_i64c(c, 1));
        LLVMValueRef v = cg_load(c, et, cg_gep(c, et, src, j), al);
        cg_store(c, LLVMBuildSelect(b, ok, v, LLVMConstNull(et), ""), cg_gep(c, et, dst, j), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (op == OP_FULL || op == OP_ARANGE) {
        /* full: every element f; arange: element j of the one row is
         * lo + j * hi, computed in double as the interpreter does */
        LLVMTypeRef tt = val_type(c, pk->dtype);
        unsigned al = (unsigned)dtype_size(pk->dtype);
        LLVMValueRef Y = cg_buf(c, 0), cols = cg_dim(c, 0);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        LLVMValueRef x;
        if (op == OP_FULL) {
            x = LLVMConstReal(c->f64, pk->f0);
        } else {
            x = LLVMBuildFMul(b, LLVMBuildSIToFP(b, j, c->f64, ""), LLVMConstReal(c->f64, pk->hi), "");
            x = LLVMBuildFAdd(b, x, LLVMConstReal(c->f64, pk->lo), "");
        }
        LLVMValueRef v;
        if (pk->dtype == DT_F32 || pk->dtype == DT_BF16 || pk->dtype == DT_F16)
            v = cg_narrow(c, pk->dtype, LLVMBuildFPTrunc(b, x, c->f32, ""));
        else if (pk->dtype == DT_I64) v = LLVMBuildFPToSI(b, x, c->i64, "");
        else v = LLVMBuildZExt(b, LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstReal(c->f64, 0), ""), c->i8, "");
        cg_store(c, v, cg_gep(c, tt, Y, LLVMBuildAdd(b, off, j, "")), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (op == OP_TRIU || op == OP_TRIL) {
        LLVMTypeRef et = elt_type(c, pk->dtype);
        unsigned al = (unsigned)dtype_size(pk->dtype);
        LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), rows = cg_dim(c, 0), cols = cg_dim(c, 1);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef i = LLVMBuildSRem(b, t, rows, "");
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        /* triu keeps j - i >= diag, tril keeps j - i <= diag */
        LLVMValueRef dj = LLVMBuildSub(b, j, i, "");
        LLVMValueRef keep = LLVMBuildICmp(b, op == OP_TRIU ? LLVMIntSGE : LLVMIntSLE, dj, cg_i64c(c, pk->diag), "");
        LLVMValueRef v = cg_load(c, et, cg_gep(c, et, X, LLVMBuildAdd(b, off, j, "")), al);
        cg_store(c, LLVMBuildSelect(b, keep, v, LLVMConstNull(et), ""), cg_gep(c, et, Y, LLVMBuildAdd(b, off, j, "")), al);
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else if (op == OP_CAST) {
        DType from = pk->in_dtypes[0], to = pk->dtype;
        LLVMTypeRef ft = val_type(c, from), tt = val_type(c, to);
        LLVMValueRef X = cg_buf(c, 0), Y = cg_buf(c, 1), cols = cg_dim(c, 0);
        LLVMValueRef t = cg_for(c, &lt, c->t0, c->t1, cg_i64c(c, 1));
        LLVMValueRef off = LLVMBuildMul(b, t, cols, "");
        LLVMValueRef j = cg_for(c, &lj, cg_i64c(c, 0), cols, cg_i64c(c, 1));
        LLVMValueRef e = LLVMBuildAdd(b, off, j, "");
        LLVMValueRef v = cg_load(c, ft, cg_gep(c, ft, X, e), (unsigned)dtype_size(from));
        cg_store(c, convert(c, v, from, to), cg_gep(c, tt, Y, e), (unsigned)dtype_size(to));
        cg_endfor(c, &lj);
        cg_endfor(c, &lt);
    } else {
        return diag_set(d, pk->loc, "cpu backend: %s is not a misc kernel", pk->op ? pk->op : "?");
    }
    cg_kernel_end(c);
    return 0;
}
