/* k_eltwise.c: one generator for every element-wise op (binary with
 * broadcasting, scalar ops, unary activations, masked_fill).
 *
 * The output is seen as rows x cols (cols = last dim).  Leading dims are
 * merged while every input stays regular (stride[i] = stride[i+1] *
 * size[i+1]), so same-shape operands become one flat row index.  Each
 * input has, per leading dim, an element stride (0 where it broadcasts),
 * and a compile-time last-dim stride of 1 (vector load) or 0 (broadcast
 * scalar).  One row per tile.
 *
 * Other ops go to k_misc.c (reductions, copies, cat, embedding, triu/tril,
 * cast); what neither generates gets an error naming the op, so the caller
 * keeps a fallback.  Dtypes here: f32 (bool only as a masked_fill mask). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

#define EW_MAXLEAD 4   /* 2 + 3 * 4 = 14 dims <= PLAN_MAX_DIMS */
enum { ED_COLS, ED_NLEAD, ED_SIZES };   /* then sizes[nlead], strides[nin][nlead] */

static bool is_one(Dim d) { return d.k == 1 && d.sym == 0; }

static bool op_supported(Op op) {
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MASKED_FILL:
    case OP_ADD_SCALAR: case OP_MUL_SCALAR: case OP_DIV_SCALAR: case OP_RSUB_SCALAR:
    case OP_POW_SCALAR: case OP_CLAMP:
    case OP_NEG: case OP_ABS: case OP_EXP: case OP_LOG: case OP_LOG2: case OP_LOG10:
    case OP_SQRT: case OP_RSQRT: case OP_RECIPROCAL: case OP_SIN: case OP_COS: case OP_TAN:
    case OP_TANH: case OP_SIGMOID: case OP_RELU: case OP_GELU: case OP_SILU:
    case OP_FLOOR: case OP_CEIL: case OP_ROUND:
        return true;
    default:
        return false;
    }
}

/* The leading-dim layout both lower and generate derive from the node. */
typedef struct EwLayout {
    int nlead;
    Dim size[LTC_MAX_RANK];
    Dim st[2][LTC_MAX_RANK];
    bool vec[2];            /* last-dim stride 1 (else 0: broadcast) */
} EwLayout;

static bool ew_layout(Node *n, EwLayout *L) {
    const Shape *os = &n->shape;
    int R = os->rank;
    memset(L, 0, sizeof *L);
    if (R == 0) {            /* a scalar: one row of one column */
        L->vec[0] = L->vec[1] = true;
        return true;
    }
    L->nlead = R - 1;
    for (int i = 0; i < R - 1; i++) L->size[i] = os->d[i];
    for (int k = 0; k < n->nin && k < 2; k++) {
        const Shape *is = &n->in[k]->shape;
        Dim st[LTC_MAX_RANK];
        if (!shape_strides(n->graph, is, st)) return false;
        for (int i = 0; i < R; i++) {
            int j = i - (R - is->rank);
            bool bc = j < 0 || (is_one(is->d[j]) && !is_one(os->d[i]));
            Dim s = bc ? dim_const(0) : st[j];
            if (i == R - 1) L->vec[k] = !bc;
            else L->st[k][i] = s;
        }
    }
    /* merge leading dims from the right while every input stays regular */
    for (int i = L->nlead - 2; i >= 0; i--) {
        bool ok = true;
        for (int k = 0; k < n->nin && k < 2 && ok; k++) {
            Dim m;
            ok = (L->st[k][i].k == 0 && L->st[k][i + 1].k == 0) ||
                 (dim_mul_sq(n->graph, L->st[k][i + 1], L->size[i + 1], &m) && dim_eq(m, L->st[k][i]));
        }
        Dim ms;
        if (!ok || !dim_mul_sq(n->graph, L->size[i], L->size[i + 1], &ms)) continue;
        L->size[i] = ms;
        for (int k = 0; k < 2; k++) L->st[k][i] = L->st[k][i + 1];
        for (int j = i + 1; j + 1 < L->nlead; j++) {
            L->size[j] = L->size[j + 1];
            for (int k = 0; k < 2; k++) L->st[k][j] = L->st[k][j + 1];
        }
        L->nlead--;
    }
    return L->nlead <= EW_MAXLEAD;
}

int cpu_lower_eltwise(CpuBackend *be, Plan *p, Node *n, const int *in_bufs, int out_buf,
                      PlanStep *s, LtcDiag *d) {
    (void)be;
    if (!op_supported(n->op)) return cpu_lower_misc(be, p, n, in_bufs, out_buf, s, d);
    if (n->dtype != DT_F32 || n->in[0]->dtype != DT_F32 ||
        (n->nin > 1 && n->in[1]->dtype != DT_F32 && !(n->op == OP_MASKED_FILL && n->in[1]->dtype == DT_BOOL)))
        return cpu_unsupported(n, d, "dtype other than f32");
    EwLayout L;
    if (!ew_layout(n, &L)) return cpu_unsupported(n, d, "broadcast pattern with too many dims");
    Dim rows = dim_const(1);
    for (int i = 0; i < L.nlead; i++)
        if (!dim_mul_sq(n->graph, rows, L.size[i], &rows)) return cpu_unsupported(n, d, "rows are not one monomial");
    int kid = cpu_add_kernel(p, n, "eltwise", d);
    if (kid < 0) return -1;
    /* inputs read, last-dim contiguity of each, element size of input 1 */
    bool bmask = n->op == OP_MASKED_FILL && n->in[1]->dtype == DT_BOOL;
    cpu_kernel_consts(p, kid, 4, (int64_t[]){n->nin > 2 ? 2 : n->nin, L.vec[0], L.vec[1], bmask ? 1 : 4});
    s->kernel = kid;
    s->nbufs = 3;
    s->bufs[0] = in_bufs[0];
    s->bufs[1] = n->nin > 1 ? in_bufs[1] : out_buf;
    s->bufs[2] = out_buf;
    int R = n->shape.rank;
    cpu_set_dim(s, R ? n->shape.d[R - 1] : dim_const(1));
    cpu_set_dimk(s, L.nlead);
    for (int i = 0; i < L.nlead; i++) cpu_set_dim(s, L.size[i]);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < L.nlead; i++) cpu_set_dim(s, L.st[k][i]);
    s->f[0] = (float)n->a.f;
    s->f[1] = (float)n->a.f2;
    s->ntiles = cpu_poly(rows);
    return 0;
}

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

int cpu_gen_eltwise(Cg *c, const PlanKernel *pk, LtcDiag *d) {
    Node *n = pk->node;
    EwLayout L;
    if (!ew_layout(n, &L)) return cpu_unsupported(n, d, "broadcast pattern");
    int nin = n->nin > 2 ? 2 : n->nin;
    bool bmask = n->op == OP_MASKED_FILL && n->in[1]->dtype == DT_BOOL;
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
    switch (n->op) {
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
    default: r = unary(c, n->op, v[0], f0, f1); break;
    }
    cg_mstore(c, r, cg_gep(c, c->f32, y, j), m);
    cg_endfor(c, &lj);
    cg_endfor(c, &lt);
    cg_kernel_end(c);
    return 0;
}
