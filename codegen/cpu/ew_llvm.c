/* ew_llvm.c: an op's element-wise expression (ops.def's expr column,
 * codegen/ew_expr.h) built as LLVM IR.
 *
 * Each primitive maps to exactly the construct the generators used before
 * the expression column existed (libm per lane for exp/log/trig, LLVM
 * intrinsics for sqrt/fabs/floor/ceil/roundeven/pow, cg.c's polynomial
 * sigmoid/tanh/gelu), so the CPU's results did not change with it.  The
 * expression is parsed per call: it is a few dozen bytes, and a cache
 * would be shared mutable state across compiles running in one host. */
#include "codegen/cpu/cpu.h"
#include "codegen/ew_expr.h"

typedef enum { PK_NONE, PK_LIBM, PK_INTR, PK_FN } PrimKind;

typedef struct PrimMap {
    PrimKind kind;
    const char *name;                               /* libm function or intrinsic */
    LLVMValueRef (*fn)(Cg *c, LLVMValueRef x);      /* PK_FN */
} PrimMap;

/* Every primitive of ew_prims.def, once.  A missing row is PK_NONE and
 * makes cpu_ew_build fail, never miscompile. */
static const PrimMap prim_map[EWP_COUNT] = {
    [EWP_EXP] = {PK_LIBM, "expf", NULL},
    [EWP_LOG] = {PK_LIBM, "logf", NULL},
    [EWP_LOG2] = {PK_LIBM, "log2f", NULL},
    [EWP_LOG10] = {PK_LIBM, "log10f", NULL},
    [EWP_SIN] = {PK_LIBM, "sinf", NULL},
    [EWP_COS] = {PK_LIBM, "cosf", NULL},
    [EWP_TAN] = {PK_LIBM, "tanf", NULL},
    [EWP_SQRT] = {PK_INTR, "llvm.sqrt", NULL},
    [EWP_FLOOR] = {PK_INTR, "llvm.floor", NULL},
    [EWP_CEIL] = {PK_INTR, "llvm.ceil", NULL},
    [EWP_RINT] = {PK_INTR, "llvm.roundeven", NULL},
    [EWP_FABS] = {PK_INTR, "llvm.fabs", NULL},
    [EWP_POW] = {PK_INTR, "llvm.pow", NULL},
    [EWP_SIGMOID] = {PK_FN, NULL, cg_vsigmoid},
    [EWP_TANH] = {PK_FN, NULL, cg_vtanh},
    [EWP_GELU] = {PK_FN, NULL, cg_vgelu},
};

/* A literal in the type t of the value it meets: float (splat for a
 * vector), or an integer when compared with a bool mask. */
static LLVMValueRef lit(LLVMTypeRef t, double v) {
    bool vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    LLVMTypeRef et = vec ? LLVMGetElementType(t) : t;
    LLVMValueRef s = LLVMGetTypeKind(et) == LLVMIntegerTypeKind ? LLVMConstInt(et, (unsigned long long)(long long)v, 1)
                                                                 : LLVMConstReal(et, v);
    if (!vec) return s;
    unsigned n = LLVMGetVectorSize(t);
    LLVMValueRef e[64];
    if (n > 64) return NULL;
    for (unsigned i = 0; i < n; i++) e[i] = s;
    return LLVMConstVector(e, n);
}

static bool is_int(LLVMValueRef v) {
    LLVMTypeRef t = LLVMTypeOf(v);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) t = LLVMGetElementType(t);
    return LLVMGetTypeKind(t) == LLVMIntegerTypeKind;
}

typedef struct B {
    Cg *c;
    const EwExpr *e;
    LLVMValueRef val[EW_MAX_NODES];  /* per node; NULL for literals (typed at use) */
    LLVMTypeRef ft;                  /* the float type: x's */
} B;

/* Child k of node i as a value of type t (literals take t). */
static LLVMValueRef arg_as(const B *b, int i, int k, LLVMTypeRef t) {
    const EwNode *ch = &b->e->node[b->e->node[i].a[k]];
    return ch->kind == EW_NUM ? lit(t, ch->num) : b->val[b->e->node[i].a[k]];
}

/* Child k as an fp32 value: an integer mask here is an expression bug. */
static LLVMValueRef farg(const B *b, int i, int k) {
    LLVMValueRef v = arg_as(b, i, k, b->ft);
    return v && !is_int(v) ? v : NULL;
}

/* A comparison: a bool mask (integer) compares as an integer, with the
 * literal in its type; floats compare ordered for < >, unordered for !=
 * (true on NaN), as C and torch do. */
static LLVMValueRef compare(const B *b, int i) {
    const EwNode *nd = &b->e->node[i];
    LLVMValueRef l = b->e->node[nd->a[0]].kind == EW_NUM ? NULL : b->val[nd->a[0]];
    LLVMValueRef r = b->e->node[nd->a[1]].kind == EW_NUM ? NULL : b->val[nd->a[1]];
    LLVMTypeRef t = l ? LLVMTypeOf(l) : r ? LLVMTypeOf(r) : b->ft;
    l = arg_as(b, i, 0, t);
    r = arg_as(b, i, 1, t);
    if (!l || !r || LLVMTypeOf(l) != LLVMTypeOf(r)) return NULL;
    LLVMBuilderRef bl = b->c->b;
    if (is_int(l)) {
        LLVMIntPredicate p = nd->kind == EW_LT ? LLVMIntSLT : nd->kind == EW_GT ? LLVMIntSGT : LLVMIntNE;
        return LLVMBuildICmp(bl, p, l, r, "");
    }
    LLVMRealPredicate p = nd->kind == EW_LT ? LLVMRealOLT : nd->kind == EW_GT ? LLVMRealOGT : LLVMRealUNE;
    return LLVMBuildFCmp(bl, p, l, r, "");
}

static LLVMValueRef call(const B *b, int i) {
    const EwNode *nd = &b->e->node[i];
    const PrimMap *pm = &prim_map[nd->prim];
    LLVMValueRef a[EW_MAX_ARGS];
    for (int k = 0; k < nd->nargs; k++)
        if (!(a[k] = farg(b, i, k))) return NULL;
    LLVMTypeRef t = LLVMTypeOf(a[0]);
    switch (pm->kind) {
    case PK_LIBM: return nd->nargs == 1 ? cg_vlibm(b->c, pm->name, a[0]) : NULL;
    case PK_INTR: return cg_intr(b->c, pm->name, &t, 1, a, nd->nargs);
    case PK_FN: return nd->nargs == 1 ? pm->fn(b->c, a[0]) : NULL;
    default: return NULL;
    }
}

/* Node i from its children, which are built already. */
static LLVMValueRef build_node(B *b, int i, LLVMValueRef opnd[4]) {
    const EwNode *nd = &b->e->node[i];
    LLVMBuilderRef bl = b->c->b;
    LLVMValueRef l, r;
    switch (nd->kind) {
    case EW_X: case EW_Y: case EW_S0: case EW_S1: return opnd[nd->kind - EW_X];
    case EW_NEG: return (l = farg(b, i, 0)) ? LLVMBuildFNeg(bl, l, "") : NULL;
    case EW_ADD: case EW_SUB: case EW_MUL: case EW_DIV:
        if (!(l = farg(b, i, 0)) || !(r = farg(b, i, 1))) return NULL;
        switch (nd->kind) {
        case EW_ADD: return LLVMBuildFAdd(bl, l, r, "");
        case EW_SUB: return LLVMBuildFSub(bl, l, r, "");
        case EW_MUL: return LLVMBuildFMul(bl, l, r, "");
        default: return LLVMBuildFDiv(bl, l, r, "");
        }
    case EW_LT: case EW_GT: case EW_NE: return compare(b, i);
    case EW_SELECT:
        if (!(l = farg(b, i, 1)) || !(r = farg(b, i, 2))) return NULL;
        return LLVMBuildSelect(bl, b->val[nd->a[0]], l, r, "");
    case EW_CALL: return call(b, i);
    default: return NULL;
    }
}

LLVMValueRef cpu_ew_build(Cg *c, int op, LLVMValueRef x, LLVMValueRef y, bool y_is_bool,
                          LLVMValueRef s0, LLVMValueRef s1) {
    if (op <= 0 || op >= OP_COUNT || !op_info[op].expr || !x) return NULL;
    EwExpr e;
    if (ew_expr_parse(op_info[op].expr, &e, NULL)) return NULL;
    /* the mask's type says it is a bool; a caller that says so and passes
     * a float mask (or the reverse) has a bug */
    if (y && y_is_bool != is_int(y)) return NULL;
    B b = {.c = c, .e = &e, .ft = LLVMTypeOf(x)};
    LLVMValueRef opnd[4] = {x, y, s0, s1};
    for (int i = 0; i < e.n; i++) {
        if (e.node[i].kind == EW_NUM) continue;   /* typed where it is used */
        if (!(b.val[i] = build_node(&b, i, opnd))) return NULL;
    }
    /* a literal root ("0") has no node value: give it x's type */
    LLVMValueRef r = e.node[e.root].kind == EW_NUM ? lit(b.ft, e.node[e.root].num) : b.val[e.root];
    return r && !is_int(r) ? r : NULL;
}
