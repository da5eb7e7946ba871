/* cg.c: small helpers over the LLVM-C builder so the kernel generators
 * read like the loops they produce.
 *
 * Loop-carried values other than induction variables live in allocas of
 * the entry block (cg_var); default<O3> promotes them to registers, so the
 * generators never juggle phi nodes. */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

void cg_init(Cg *c, CpuBackend *be) {
    memset(c, 0, sizeof *c);
    c->be = be;
    c->ctx = be->ctx;
    c->mod = be->mod;
    c->b = LLVMCreateBuilderInContext(c->ctx);
    c->ab = LLVMCreateBuilderInContext(c->ctx);
    c->v = LLVMVoidTypeInContext(c->ctx);
    c->i1 = LLVMInt1TypeInContext(c->ctx);
    c->i8 = LLVMInt8TypeInContext(c->ctx);
    c->i32 = LLVMInt32TypeInContext(c->ctx);
    c->i64 = LLVMInt64TypeInContext(c->ctx);
    c->f32 = LLVMFloatTypeInContext(c->ctx);
    c->f64 = LLVMDoubleTypeInContext(c->ctx);
    c->ptr = LLVMPointerTypeInContext(c->ctx, 0);
    c->vw = be->t.vw;
    c->vf = LLVMVectorType(c->f32, (unsigned)c->vw);
    c->vi32 = LLVMVectorType(c->i32, (unsigned)c->vw);
    c->vmask = LLVMVectorType(c->i1, (unsigned)c->vw);
}

void cg_dispose(Cg *c) {
    if (c->b) LLVMDisposeBuilder(c->b);
    if (c->ab) LLVMDisposeBuilder(c->ab);
    c->b = c->ab = NULL;
}

void cg_set_fn_attrs(Cg *c, LLVMValueRef fn) {
    const CpuTarget *t = &c->be->t;
    char feat[8192];
    const char *features = t->features;
    if (c->extra_features && snprintf(feat, sizeof feat, "%s%s%s", t->features, *t->features ? "," : "",
                                      c->extra_features) < (int)sizeof feat)
        features = feat;
    struct { const char *k, *v; } kv[] = {
        {"target-cpu", t->cpu},
        {"target-features", features},
        /* LLVM prefers 256-bit vectors even with AVX-512; ask for zmm. */
        {"prefer-vector-width", t->avx512 ? "512" : "256"},
        {"min-legal-vector-width", t->avx512 ? "512" : "256"},
        {"frame-pointer", "none"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        LLVMAttributeRef a = LLVMCreateStringAttribute(c->ctx, kv[i].k, (unsigned)strlen(kv[i].k),
                                                       kv[i].v, (unsigned)strlen(kv[i].v));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
    }
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(c->ctx, nounwind, 0));
}

static void begin_body(Cg *c, LLVMValueRef fn) {
    c->fn = fn;
    c->entry = LLVMAppendBasicBlockInContext(c->ctx, fn, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "body");
    LLVMPositionBuilderAtEnd(c->b, c->entry);
    LLVMValueRef br = LLVMBuildBr(c->b, body);
    LLVMPositionBuilderBefore(c->ab, br);
    LLVMPositionBuilderAtEnd(c->b, body);
}

LLVMValueRef cg_kernel_begin(Cg *c, const char *name) {
    LLVMTypeRef ps[5] = {c->ptr, c->ptr, c->ptr, c->i64, c->i64};
    LLVMTypeRef ft = LLVMFunctionType(c->v, ps, 5, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, ft);
    cg_set_fn_attrs(c, fn);
    begin_body(c, fn);
    c->ptrs = LLVMGetParam(fn, 0);
    c->dims = LLVMGetParam(fn, 1);
    c->fargs = LLVMGetParam(fn, 2);
    c->t0 = LLVMGetParam(fn, 3);
    c->t1 = LLVMGetParam(fn, 4);
    return fn;
}

void cg_kernel_end(Cg *c) { LLVMBuildRetVoid(c->b); }

LLVMValueRef cg_func_begin(Cg *c, const char *name, LLVMTypeRef *params, int n) {
    LLVMTypeRef ft = LLVMFunctionType(c->v, params, (unsigned)n, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, ft);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    cg_set_fn_attrs(c, fn);
    begin_body(c, fn);
    return fn;
}

/* ---- arguments and constants ---------------------------------------------- */
LLVMValueRef cg_buf(Cg *c, int i) {
    return cg_load(c, c->ptr, cg_gep(c, c->ptr, c->ptrs, cg_i64c(c, i)), 8);
}
LLVMValueRef cg_dim(Cg *c, int i) {
    return cg_load(c, c->i64, cg_gep(c, c->i64, c->dims, cg_i64c(c, i)), 8);
}
LLVMValueRef cg_fa(Cg *c, int i) {
    return cg_load(c, c->f32, cg_gep(c, c->f32, c->fargs, cg_i64c(c, i)), 4);
}

LLVMValueRef cg_i64c(Cg *c, int64_t k) { return LLVMConstInt(c->i64, (unsigned long long)k, 1); }
LLVMValueRef cg_i32c(Cg *c, int32_t k) { return LLVMConstInt(c->i32, (unsigned long long)(int64_t)k, 1); }
LLVMValueRef cg_f32c(Cg *c, double x) { return LLVMConstReal(c->f32, x); }

LLVMValueRef cg_vf32c(Cg *c, double x) {
    LLVMValueRef e[64];
    for (int i = 0; i < c->vw; i++) e[i] = cg_f32c(c, x);
    return LLVMConstVector(e, (unsigned)c->vw);
}

LLVMValueRef cg_splat(Cg *c, LLVMValueRef s) {
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)c->vw);
    LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt), s, cg_i32c(c, 0), "");
    LLVMValueRef zero = LLVMConstNull(c->vi32);
    return LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(vt), zero, "splat");
}

LLVMValueRef cg_iota(Cg *c) {
    LLVMValueRef e[64];
    for (int i = 0; i < c->vw; i++) e[i] = cg_i32c(c, i);
    return LLVMConstVector(e, (unsigned)c->vw);
}

LLVMValueRef cg_mask_lt(Cg *c, LLVMValueRef n64) {
    /* clamp to [0, vw] first so the i32 truncation is exact */
    LLVMValueRef n = cg_max64(c, cg_min64(c, n64, cg_i64c(c, c->vw)), cg_i64c(c, 0));
    LLVMValueRef n32 = LLVMBuildTrunc(c->b, n, c->i32, "");
    return LLVMBuildICmp(c->b, LLVMIntSLT, cg_iota(c), cg_splat(c, n32), "mask");
}

LLVMValueRef cg_min64(Cg *c, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "min");
}
LLVMValueRef cg_max64(Cg *c, LLVMValueRef a, LLVMValueRef b) {
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, b, ""), a, b, "max");
}

/* ---- memory ----------------------------------------------------------------- */
LLVMValueRef cg_gep(Cg *c, LLVMTypeRef elt, LLVMValueRef base, LLVMValueRef idx) {
    return LLVMBuildGEP2(c->b, elt, base, &idx, 1, "");
}
LLVMValueRef cg_load(Cg *c, LLVMTypeRef t, LLVMValueRef p, unsigned align) {
    LLVMValueRef v = LLVMBuildLoad2(c->b, t, p, "");
    LLVMSetAlignment(v, align);
    return v;
}
void cg_store(Cg *c, LLVMValueRef v, LLVMValueRef p, unsigned align) {
    LLVMValueRef s = LLVMBuildStore(c->b, v, p);
    LLVMSetAlignment(s, align);
}
LLVMValueRef cg_vload(Cg *c, LLVMValueRef p) { return cg_load(c, c->vf, p, 4); }
void cg_vstore(Cg *c, LLVMValueRef v, LLVMValueRef p) { cg_store(c, v, p, 4); }

LLVMValueRef cg_mload(Cg *c, LLVMValueRef p, LLVMValueRef mask, LLVMValueRef passthru) {
    LLVMTypeRef vt = passthru ? LLVMTypeOf(passthru) : c->vf;
    LLVMTypeRef ts[2] = {vt, c->ptr};
    LLVMValueRef args[4] = {p, cg_i32c(c, 4), mask, passthru ? passthru : LLVMConstNull(vt)};
    return cg_intr(c, "llvm.masked.load", ts, 2, args, 4);
}
void cg_mstore(Cg *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
    LLVMTypeRef ts[2] = {LLVMTypeOf(v), c->ptr};
    LLVMValueRef args[4] = {v, p, cg_i32c(c, 4), mask};
    cg_intr(c, "llvm.masked.store", ts, 2, args, 4);
}

LLVMValueRef cg_mgather(Cg *c, LLVMValueRef ptrs, LLVMValueRef mask) {
    LLVMTypeRef ts[2] = {c->vf, LLVMTypeOf(ptrs)};
    LLVMValueRef args[4] = {ptrs, cg_i32c(c, 4), mask, LLVMConstNull(c->vf)};
    return cg_intr(c, "llvm.masked.gather", ts, 2, args, 4);
}
void cg_mscatter(Cg *c, LLVMValueRef v, LLVMValueRef ptrs, LLVMValueRef mask) {
    LLVMTypeRef ts[2] = {LLVMTypeOf(v), LLVMTypeOf(ptrs)};
    LLVMValueRef args[4] = {v, ptrs, cg_i32c(c, 4), mask};
    cg_intr(c, "llvm.masked.scatter", ts, 2, args, 4);
}

/* ---- float data in its stored dtype ----------------------------------------
 * Compiled buffers hold each float dtype in its own width (lower_misc.c):
 * f32 as float, f16 as IEEE half (F16C converts), bf16 as the top 16 bits
 * of a float.  Kernels compute in f32: a load widens, a store rounds to
 * nearest even (ir/types.c f32_to_bf16: NaN stays a quiet NaN, overflow
 * goes to inf), so a kernel's output is what the interpreter's rounding of
 * its f32 result gives. */
LLVMTypeRef cg_elt(Cg *c, DType t) {
    switch (t) {
    case DT_BF16: return LLVMInt16TypeInContext(c->ctx);
    case DT_F16: return LLVMHalfTypeInContext(c->ctx);
    case DT_I64: return c->i64;
    case DT_BOOL: return c->i8;
    default: return c->f32;
    }
}

static LLVMTypeRef like(Cg *c, LLVMValueRef v, LLVMTypeRef elt) {
    LLVMTypeRef t = LLVMTypeOf(v);
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(elt, LLVMGetVectorSize(t)) : elt;
}

static LLVMValueRef splat_like(Cg *c, LLVMValueRef v, LLVMValueRef k) {
    LLVMTypeRef t = LLVMTypeOf(v);
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return k;
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef e[64];
    for (unsigned i = 0; i < n && i < 64; i++) e[i] = k;
    return LLVMConstVector(e, n);
}

LLVMValueRef cg_widen(Cg *c, DType t, LLVMValueRef v) {
    LLVMBuilderRef b = c->b;
    if (t == DT_F16) return LLVMBuildFPExt(b, v, like(c, v, c->f32), "");
    if (t != DT_BF16) return v;
    LLVMValueRef w = LLVMBuildZExt(b, v, like(c, v, c->i32), "");
    w = LLVMBuildShl(b, w, splat_like(c, w, cg_i32c(c, 16)), "");
    return LLVMBuildBitCast(b, w, like(c, v, c->f32), "");
}

LLVMValueRef cg_narrow(Cg *c, DType t, LLVMValueRef v) {
    LLVMBuilderRef b = c->b;
    if (t == DT_F16) return LLVMBuildFPTrunc(b, v, like(c, v, LLVMHalfTypeInContext(c->ctx)), "");
    if (t != DT_BF16) return v;
    LLVMTypeRef it = like(c, v, c->i32);
    LLVMValueRef u = LLVMBuildBitCast(b, v, it, "");
    LLVMValueRef k16 = splat_like(c, u, cg_i32c(c, 16));
    /* RNE: u + 0x7fff + ((u >> 16) & 1), then the top half */
    LLVMValueRef lsb = LLVMBuildAnd(b, LLVMBuildLShr(b, u, k16, ""), splat_like(c, u, cg_i32c(c, 1)), "");
    LLVMValueRef r = LLVMBuildAdd(b, LLVMBuildAdd(b, u, splat_like(c, u, cg_i32c(c, 0x7fff)), ""), lsb, "");
    LLVMValueRef q = LLVMBuildOr(b, LLVMBuildLShr(b, u, k16, ""), splat_like(c, u, cg_i32c(c, 0x40)), "");
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, v, v, "");
    r = LLVMBuildSelect(b, nan, q, LLVMBuildLShr(b, r, k16, ""), "");
    return LLVMBuildTrunc(b, r, like(c, v, LLVMInt16TypeInContext(c->ctx)), "");
}

LLVMValueRef cg_ldv(Cg *c, DType t, LLVMValueRef p, LLVMValueRef mask, LLVMValueRef passthru) {
    LLVMTypeRef vt = LLVMVectorType(cg_elt(c, t), (unsigned)c->vw);
    if (!mask) return cg_widen(c, t, cg_load(c, vt, p, (unsigned)dtype_size(t)));
    if (t == DT_F32) return cg_mload(c, p, mask, passthru);
    LLVMTypeRef ts[2] = {vt, c->ptr};
    LLVMValueRef args[4] = {p, cg_i32c(c, 2), mask, LLVMConstNull(vt)};
    LLVMValueRef v = cg_widen(c, t, cg_intr(c, "llvm.masked.load", ts, 2, args, 4));
    return passthru ? LLVMBuildSelect(c->b, mask, v, passthru, "") : v;
}

void cg_stv(Cg *c, DType t, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
    if (!mask) { cg_store(c, cg_narrow(c, t, v), p, (unsigned)dtype_size(t)); return; }
    if (t == DT_F32) { cg_mstore(c, v, p, mask); return; }
    LLVMValueRef n = cg_narrow(c, t, v);
    LLVMTypeRef ts[2] = {LLVMTypeOf(n), c->ptr};
    LLVMValueRef args[4] = {n, p, cg_i32c(c, 2), mask};
    cg_intr(c, "llvm.masked.store", ts, 2, args, 4);
}

LLVMValueRef cg_lds(Cg *c, DType t, LLVMValueRef p) {
    return cg_widen(c, t, cg_load(c, cg_elt(c, t), p, (unsigned)dtype_size(t)));
}
void cg_sts(Cg *c, DType t, LLVMValueRef v, LLVMValueRef p) {
    cg_store(c, cg_narrow(c, t, v), p, (unsigned)dtype_size(t));
}
LLVMValueRef cg_gepd(Cg *c, DType t, LLVMValueRef base, LLVMValueRef idx) {
    return cg_gep(c, cg_elt(c, t), base, idx);
}

/* ---- bf16 dot products (AVX512-BF16) ---------------------------------------- */
LLVMValueRef cg_bf16_pair_splat(Cg *c, LLVMValueRef pair) {
    /* splat as <2 x bfloat> lanes: a bitcast of an i32 splat sends LLVM
     * 16's VectorCombine into endless recursion (a SEGV at -O1 and up) */
    LLVMTypeRef bf = LLVMBFloatTypeInContext(c->ctx);
    LLVMValueRef two = LLVMBuildBitCast(c->b, pair, LLVMVectorType(bf, 2), "");
    LLVMValueRef idx[32];
    for (int l = 0; l < 32; l++) idx[l] = cg_i32c(c, l & 1);
    return LLVMBuildShuffleVector(c->b, two, LLVMGetPoison(LLVMTypeOf(two)), LLVMConstVector(idx, 32), "");
}
LLVMValueRef cg_bf16_pairs(Cg *c, LLVMValueRef v) {
    return LLVMBuildBitCast(c->b, v, LLVMVectorType(LLVMBFloatTypeInContext(c->ctx), 32), "");
}
LLVMValueRef cg_dpbf16(Cg *c, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef args[3] = {acc, a, b};
    return cg_intr(c, "llvm.x86.avx512bf16.dpbf16ps.512", NULL, 0, args, 3);
}

/* cpuid(leaf, sub) -> {eax, ebx, ecx, edx} */
static LLVMValueRef cpuid(Cg *c, int leaf, int sub) {
    LLVMTypeRef ps[2] = {c->i32, c->i32}, rs[4] = {c->i32, c->i32, c->i32, c->i32};
    LLVMTypeRef ft = LLVMFunctionType(LLVMStructTypeInContext(c->ctx, rs, 4, 0), ps, 2, 0);
    static const char code[] = "cpuid", cons[] = "={ax},={bx},={cx},={dx},{ax},{cx}";
    LLVMValueRef fn = LLVMGetInlineAsm(ft, (char *)code, sizeof code - 1, (char *)cons, sizeof cons - 1, 0, 0,
                                       LLVMInlineAsmDialectATT, 0);
    LLVMValueRef args[2] = {cg_i32c(c, leaf), cg_i32c(c, sub)};
    return LLVMBuildCall2(c->b, ft, fn, args, 2, "");
}

LLVMValueRef cg_cpu_has_bf16dot(Cg *c) {
    LLVMBuilderRef b = c->b;
    /* 0: not asked yet, 1: no, 2: yes; racing first calls store the same value */
    LLVMValueRef st = LLVMGetNamedGlobal(c->mod, ".ltc.cpu_bf16dot");
    if (!st) {
        st = LLVMAddGlobal(c->mod, c->i32, ".ltc.cpu_bf16dot");
        LLVMSetInitializer(st, cg_i32c(c, 0));
        LLVMSetLinkage(st, LLVMInternalLinkage);
        LLVMSetAlignment(st, 4);
    }
    LLVMValueRef v = cg_var(c, c->i32, NULL);
    LLVMValueRef cur = LLVMBuildLoad2(b, c->i32, st, "");
    LLVMSetOrdering(cur, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(cur, 4);
    cg_set(c, v, cur);
    CgIf ask;
    cg_if(c, &ask, LLVMBuildICmp(b, LLVMIntEQ, cur, cg_i32c(c, 0), ""), false);
    {
        LLVMValueRef maxleaf = LLVMBuildExtractValue(b, cpuid(c, 0, 0), 0, "");
        LLVMValueRef has = cg_var(c, c->i1, LLVMConstInt(c->i1, 0, 0));
        CgIf l7;
        cg_if(c, &l7, LLVMBuildICmp(b, LLVMIntUGE, maxleaf, cg_i32c(c, 7), ""), false);
        LLVMValueRef eax = LLVMBuildExtractValue(b, cpuid(c, 7, 1), 0, "");
        cg_set(c, has, LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, eax, cg_i32c(c, 1 << 5), ""), cg_i32c(c, 0), ""));
        cg_endif(c, &l7);
        /* LTC_CPU_NO_BF16DOT set: the f32 variant even here (tests, comparisons) */
        LLVMTypeRef gt = LLVMFunctionType(c->ptr, &c->ptr, 1, 0);
        LLVMValueRef ge = LLVMGetNamedFunction(c->mod, "getenv");
        if (!ge) ge = LLVMAddFunction(c->mod, "getenv", gt);
        LLVMValueRef name = LLVMBuildGlobalStringPtr(b, "LTC_CPU_NO_BF16DOT", "");
        LLVMValueRef env = LLVMBuildCall2(b, gt, ge, &name, 1, "");
        LLVMValueRef off = LLVMBuildICmp(b, LLVMIntNE, env, LLVMConstNull(c->ptr), "");
        LLVMValueRef yes = LLVMBuildAnd(b, cg_get(c, c->i1, has), LLVMBuildNot(b, off, ""), "");
        LLVMValueRef nv = LLVMBuildSelect(b, yes, cg_i32c(c, 2), cg_i32c(c, 1), "");
        LLVMValueRef s = LLVMBuildStore(b, nv, st);
        LLVMSetOrdering(s, LLVMAtomicOrderingMonotonic);
        LLVMSetAlignment(s, 4);
        cg_set(c, v, nv);
    }
    cg_endif(c, &ask);
    return LLVMBuildICmp(b, LLVMIntEQ, cg_get(c, c->i32, v), cg_i32c(c, 2), "bf16dot");
}

LLVMValueRef cg_var(Cg *c, LLVMTypeRef t, LLVMValueRef init) {
    LLVMValueRef a = LLVMBuildAlloca(c->ab, t, "var");
    if (init) LLVMBuildStore(c->b, init, a);
    return a;
}
LLVMValueRef cg_array(Cg *c, LLVMTypeRef elt, int64_t n, unsigned align) {
    LLVMValueRef a = LLVMBuildAlloca(c->ab, LLVMArrayType(elt, (unsigned)n), "arr");
    LLVMSetAlignment(a, align);
    return a;
}
LLVMValueRef cg_get(Cg *c, LLVMTypeRef t, LLVMValueRef var) { return LLVMBuildLoad2(c->b, t, var, ""); }
void cg_set(Cg *c, LLVMValueRef var, LLVMValueRef v) { LLVMBuildStore(c->b, v, var); }

/* ---- control flow ------------------------------------------------------------ */
LLVMValueRef cg_for(Cg *c, CgLoop *l, LLVMValueRef start, LLVMValueRef end, LLVMValueRef step) {
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    l->head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "for.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "for.body");
    l->latch = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "for.latch");
    l->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "for.exit");
    l->step = step;
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->head);
    l->iv = LLVMBuildPhi(c->b, c->i64, "i");
    LLVMAddIncoming(l->iv, &start, &pre, 1);
    LLVMValueRef cond = LLVMBuildICmp(c->b, LLVMIntSLT, l->iv, end, "");
    LLVMBuildCondBr(c->b, cond, body, l->exit);
    LLVMPositionBuilderAtEnd(c->b, body);
    return l->iv;
}

void cg_endfor(Cg *c, CgLoop *l) {
    LLVMBuildBr(c->b, l->latch);
    LLVMPositionBuilderAtEnd(c->b, l->latch);
    LLVMValueRef next = LLVMBuildAdd(c->b, l->iv, l->step, "");
    LLVMBuildBr(c->b, l->head);
    LLVMAddIncoming(l->iv, &next, &l->latch, 1);
    LLVMPositionBuilderAtEnd(c->b, l->exit);
}

void cg_if(Cg *c, CgIf *f, LLVMValueRef cond, bool with_else) {
    f->then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "then");
    f->els = with_else ? LLVMAppendBasicBlockInContext(c->ctx, c->fn, "else") : NULL;
    f->join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "join");
    f->has_else = with_else;
    LLVMBuildCondBr(c->b, cond, f->then, with_else ? f->els : f->join);
    LLVMPositionBuilderAtEnd(c->b, f->then);
}
void cg_else(Cg *c, CgIf *f) {
    LLVMBuildBr(c->b, f->join);
    LLVMPositionBuilderAtEnd(c->b, f->els);
}
void cg_endif(Cg *c, CgIf *f) {
    LLVMBuildBr(c->b, f->join);
    LLVMPositionBuilderAtEnd(c->b, f->join);
}

/* ---- calls -------------------------------------------------------------------- */
LLVMValueRef cg_intr(Cg *c, const char *name, LLVMTypeRef *types, int ntypes,
                     LLVMValueRef *args, int nargs) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    /* An unknown name is a bug in a generator: remember it (the module
     * build reports it) and emit an undef so generation can go on. */
    if (id == 0) {
        if (!c->bad_intrinsic) c->bad_intrinsic = name;
        return LLVMGetUndef(ntypes ? types[0] : c->f32);
    }
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, types, (size_t)ntypes);
    LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, types, (size_t)ntypes);
    return LLVMBuildCall2(c->b, ft, fn, args, (unsigned)nargs, "");
}

LLVMValueRef cg_call_libm(Cg *c, const char *name, LLVMValueRef x) {
    LLVMTypeRef ft = LLVMFunctionType(c->f32, &c->f32, 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
    if (!fn) fn = LLVMAddFunction(c->mod, name, ft);
    return LLVMBuildCall2(c->b, ft, fn, &x, 1, "");
}

LLVMValueRef cg_vlibm(Cg *c, const char *name, LLVMValueRef v) {
    LLVMValueRef r = LLVMGetUndef(c->vf);
    for (int i = 0; i < c->vw; i++) {
        LLVMValueRef e = LLVMBuildExtractElement(c->b, v, cg_i32c(c, i), "");
        r = LLVMBuildInsertElement(c->b, r, cg_call_libm(c, name, e), cg_i32c(c, i), "");
    }
    return r;
}

/* ---- math ------------------------------------------------------------------------ */
LLVMValueRef cg_fma(Cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc) {
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[3] = {a, b, acc};
    return cg_intr(c, "llvm.fmuladd", &t, 1, args, 3);
}
LLVMValueRef cg_vmax(Cg *c, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[2] = {a, b};
    return cg_intr(c, "llvm.maxnum", &t, 1, args, 2);
}
LLVMValueRef cg_vmin(Cg *c, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef args[2] = {a, b};
    return cg_intr(c, "llvm.minnum", &t, 1, args, 2);
}

/* exp(x), Cephes expf: n = round(x log2 e), r = x - n ln2 (two-part ln2),
 * exp(r) by a degree-6 polynomial, times 2^n built in the exponent bits.
 * Inputs below -87.3 (exp underflows) give exactly 0, so exp(-inf) = 0. */
LLVMValueRef cg_vexp(Cg *c, LLVMValueRef x0) {
    LLVMBuilderRef b = c->b;
    LLVMValueRef x = cg_vmin(c, cg_vmax(c, x0, cg_vf32c(c, -87.3)), cg_vf32c(c, 88.3762626647949));
    LLVMValueRef fx = LLVMBuildFMul(b, x, cg_vf32c(c, 1.44269504088896341), "");
    LLVMTypeRef vt = c->vf;
    fx = cg_intr(c, "llvm.roundeven", &vt, 1, &fx, 1);
    x = cg_fma(c, fx, cg_vf32c(c, -0.693359375), x);
    x = cg_fma(c, fx, cg_vf32c(c, 2.12194440e-4), x);
    LLVMValueRef y = cg_vf32c(c, 1.9875691500E-4);
    y = cg_fma(c, y, x, cg_vf32c(c, 1.3981999507E-3));
    y = cg_fma(c, y, x, cg_vf32c(c, 8.3334519073E-3));
    y = cg_fma(c, y, x, cg_vf32c(c, 4.1665795894E-2));
    y = cg_fma(c, y, x, cg_vf32c(c, 1.6666665459E-1));
    y = cg_fma(c, y, x, cg_vf32c(c, 5.0000001201E-1));
    LLVMValueRef x2 = LLVMBuildFMul(b, x, x, "");
    y = cg_fma(c, y, x2, x);
    y = LLVMBuildFAdd(b, y, cg_vf32c(c, 1.0), "");
    /* 2^n: (n + 127) << 23 */
    LLVMValueRef n = LLVMBuildFPToSI(b, fx, c->vi32, "");
    n = LLVMBuildAdd(b, n, cg_splat(c, cg_i32c(c, 127)), "");
    n = LLVMBuildShl(b, n, cg_splat(c, cg_i32c(c, 23)), "");
    LLVMValueRef p2 = LLVMBuildBitCast(b, n, c->vf, "");
    y = LLVMBuildFMul(b, y, p2, "");
    LLVMValueRef under = LLVMBuildFCmp(b, LLVMRealOLT, x0, cg_vf32c(c, -87.3), "");
    return LLVMBuildSelect(b, under, cg_vf32c(c, 0.0), y, "exp");
}

/* erf(x), Abramowitz & Stegun 7.1.26: 1 - t(a1 + t(a2 + ...)) e^{-x^2},
 * t = 1/(1 + p|x|); absolute error below 1.5e-7. */
LLVMValueRef cg_verf(Cg *c, LLVMValueRef x) {
    LLVMBuilderRef b = c->b;
    LLVMTypeRef vt = c->vf;
    LLVMValueRef ax = cg_intr(c, "llvm.fabs", &vt, 1, &x, 1);
    LLVMValueRef t = LLVMBuildFDiv(b, cg_vf32c(c, 1.0),
                                   cg_fma(c, ax, cg_vf32c(c, 0.3275911), cg_vf32c(c, 1.0)), "");
    LLVMValueRef y = cg_vf32c(c, 1.061405429);
    y = cg_fma(c, y, t, cg_vf32c(c, -1.453152027));
    y = cg_fma(c, y, t, cg_vf32c(c, 1.421413741));
    y = cg_fma(c, y, t, cg_vf32c(c, -0.284496736));
    y = cg_fma(c, y, t, cg_vf32c(c, 0.254829592));
    y = LLVMBuildFMul(b, y, t, "");
    LLVMValueRef e = cg_vexp(c, LLVMBuildFNeg(b, LLVMBuildFMul(b, ax, ax, ""), ""));
    LLVMValueRef r = LLVMBuildFSub(b, cg_vf32c(c, 1.0), LLVMBuildFMul(b, y, e, ""), "");
    LLVMValueRef args[2] = {r, x};
    return cg_intr(c, "llvm.copysign", &vt, 1, args, 2);
}

LLVMValueRef cg_vsigmoid(Cg *c, LLVMValueRef x) {
    LLVMValueRef e = cg_vexp(c, LLVMBuildFNeg(c->b, x, ""));
    return LLVMBuildFDiv(c->b, cg_vf32c(c, 1.0), LLVMBuildFAdd(c->b, e, cg_vf32c(c, 1.0), ""), "");
}

LLVMValueRef cg_vtanh(Cg *c, LLVMValueRef x) { return cg_vlibm(c, "tanhf", x); }

LLVMValueRef cg_vgelu(Cg *c, LLVMValueRef x) {
    LLVMValueRef e = cg_verf(c, LLVMBuildFMul(c->b, x, cg_vf32c(c, 0.70710678118654752), ""));
    LLVMValueRef h = LLVMBuildFMul(c->b, x, cg_vf32c(c, 0.5), "");
    return cg_fma(c, h, e, h);      /* x/2 (1 + erf(x/sqrt2)) */
}

bool cg_act_supported(int op) {
    return op == 0 || op == OP_RELU || op == OP_GELU || op == OP_SILU || op == OP_SIGMOID ||
           op == OP_TANH;
}

/* The GEMM epilogue's activation is the op's own expr (ops.def), so it
 * computes exactly what the element-wise kernel of that op does. */
LLVMValueRef cg_act(Cg *c, int op, LLVMValueRef x) {
    if (!op) return x;
    LLVMValueRef r = cpu_ew_build(c, op, x, NULL, false, NULL, NULL);
    if (r) return r;
    if (!c->bad_expr) c->bad_expr = op >= 0 && op < OP_COUNT ? op_info[op].name : "?";
    return x;   /* the module is discarded: generate() sees bad_expr */
}

/* Horizontal reductions by halving: v[i] op v[i + w] for w = vw/2 .. 1. */
static LLVMValueRef hreduce(Cg *c, LLVMValueRef v, bool is_max) {
    for (int w = c->vw / 2; w >= 1; w /= 2) {
        LLVMValueRef m[64];
        for (int i = 0; i < c->vw; i++) m[i] = cg_i32c(c, i < w ? i + w : i);
        LLVMValueRef s = LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(c->vf),
                                                LLVMConstVector(m, (unsigned)c->vw), "");
        v = is_max ? cg_vmax(c, v, s) : LLVMBuildFAdd(c->b, v, s, "");
    }
    return LLVMBuildExtractElement(c->b, v, cg_i32c(c, 0), "");
}
LLVMValueRef cg_hsum(Cg *c, LLVMValueRef v) { return hreduce(c, v, false); }
LLVMValueRef cg_hmax(Cg *c, LLVMValueRef v) { return hreduce(c, v, true); }

/* philox_u32_at(seed, call, idx) of ir/philox.c on a vector of indices:
 * word idx % 4 of Philox-4x32-10 block (idx / 4) in counter space 0 at
 * call `call` (an i64 scalar): counter (blk lo, blk hi, call hi << 1,
 * call lo), key = (seed_lo, seed_hi), i64 scalars holding 32 bits each
 * (the kernel's dims, so one kernel serves every seed). */
LLVMValueRef cg_philox(Cg *c, LLVMValueRef seed_lo, LLVMValueRef seed_hi, LLVMValueRef call, LLVMValueRef idx) {
    LLVMBuilderRef b = c->b;
    LLVMTypeRef v64 = LLVMTypeOf(idx);
    LLVMValueRef s32 = cg_splat(c, LLVMConstInt(c->i64, 32, 0));
    LLVMValueRef blk = LLVMBuildLShr(b, idx, cg_splat(c, LLVMConstInt(c->i64, 2, 0)), "");
    LLVMValueRef w[4] = {LLVMBuildTrunc(b, blk, c->vi32, ""),
                         LLVMBuildTrunc(b, LLVMBuildLShr(b, blk, s32, ""), c->vi32, ""),
                         cg_splat(c, LLVMBuildShl(b, LLVMBuildTrunc(b, LLVMBuildLShr(b, call, LLVMConstInt(c->i64, 32, 0), ""),
                                                                     c->i32, ""), cg_i32c(c, 1), "")),
                         cg_splat(c, LLVMBuildTrunc(b, call, c->i32, ""))};
    LLVMValueRef k0 = LLVMBuildTrunc(b, seed_lo, c->i32, ""), k1 = LLVMBuildTrunc(b, seed_hi, c->i32, "");
    LLVMValueRef m0 = cg_splat(c, LLVMConstInt(c->i64, 0xD2511F53u, 0));
    LLVMValueRef m1 = cg_splat(c, LLVMConstInt(c->i64, 0xCD9E8D57u, 0));
    for (int r = 0; r < 10; r++) {
        LLVMValueRef p0 = LLVMBuildMul(b, LLVMBuildZExt(b, w[0], v64, ""), m0, "");
        LLVMValueRef p1 = LLVMBuildMul(b, LLVMBuildZExt(b, w[2], v64, ""), m1, "");
        LLVMValueRef hi0 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p0, s32, ""), c->vi32, "");
        LLVMValueRef lo0 = LLVMBuildTrunc(b, p0, c->vi32, "");
        LLVMValueRef hi1 = LLVMBuildTrunc(b, LLVMBuildLShr(b, p1, s32, ""), c->vi32, "");
        LLVMValueRef lo1 = LLVMBuildTrunc(b, p1, c->vi32, "");
        LLVMValueRef n0 = LLVMBuildXor(b, LLVMBuildXor(b, hi1, w[1], ""), cg_splat(c, k0), "");
        LLVMValueRef n2 = LLVMBuildXor(b, LLVMBuildXor(b, hi0, w[3], ""), cg_splat(c, k1), "");
        w[0] = n0; w[1] = lo1; w[2] = n2; w[3] = lo0;
        k0 = LLVMBuildAdd(b, k0, LLVMConstInt(c->i32, 0x9E3779B9u, 0), "");   /* wraps mod 2^32 */
        k1 = LLVMBuildAdd(b, k1, LLVMConstInt(c->i32, 0xBB67AE85u, 0), "");
    }
    LLVMValueRef sel = LLVMBuildTrunc(b, LLVMBuildAnd(b, idx, cg_splat(c, LLVMConstInt(c->i64, 3, 0)), ""), c->vi32, "");
    LLVMValueRef r = w[3];
    for (int k = 2; k >= 0; k--)
        r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, sel, cg_splat(c, cg_i32c(c, k)), ""), w[k], r, "");
    return r;
}
