/* r_misc.c: the data-movement and small families in C (every dialect):
 *
 *   reduce   sum/mean/max/argmax over one axis: one group per output
 *            element of [outer, inner]; work-item t takes t, t + T, ...
 *            of the axis, partials meet in a tree; sums in double where
 *            the dialect has it (the reference sums in double); max and
 *            argmax: NaN wins, else the first maximum
 *   copy     strided copy: one group per output row, the input through
 *            per-dim strides and a base offset
 *   cat      one group per row before the axis; each input's row is one
 *            contiguous chunk of the output row
 *   misc     embedding (tile = id; an id out of range gives a zero row),
 *            full/arange of a symbolic shape, triu/tril, cast (tile = row)
 *   dropout  training: tiles of DROP_TILE elements; element i kept iff
 *            philox_uniform_at(seed, call, i) >= p, scaled by 1/(1-p) in
 *            double as interp_dropout (bit-identical where double exists)
 * Data moved unchanged is moved as unsigned integers of its size in
 * compiled buffers (dtype_size: bf16/f16 in 2 bytes), so every dtype works;
 * arithmetic loads bf16/f16 as float and stores through cs_st.  bufs/dims: codegen/lower_misc.c. */
#include <stdio.h>

#include "codegen/csrc/csrc.h"
#include "codegen/kernel_layout.h"

/* a double literal (the reference's constants are doubles); a float one
 * in a dialect without double (Metal: an unsuffixed literal would not be
 * the double the source seems to say) */
static void dbl(const Cs *c, StrBuf *o, double v) {
    if (c->dl->has_f64) sb_printf(o, "%.17e", v);
    else cs_flt(o, v);
}

int cs_reduce(Cs *c, LtcDiag *d) {
    (void)d;
    StrBuf *o = c->o;
    int op = c->s->opcode;
    bool sum = op == OP_SUM_DIM || op == OP_MEAN_DIM;
    const char *acc = cs_f64(c);
    const DType xt = c->s->in_dtypes[0], yt = c->s->dtype;
    cs_begin(c, 2);
    if (sum) {
        cs_shared(c, acc, "rs", c->threads);
    } else {
        cs_shared(c, "float", "rv", c->threads);
        cs_shared(c, "i64", "ri", c->threads);
    }
    cs_tile_live(c);
    cs_ptr(c, cs_etype(xt), "X", 0);
    cs_ptr(c, op == OP_ARGMAX ? "i64" : cs_etype(yt), "Y", 1);
    sb_puts(o, "    const i64 len = live ? args.dims[1] : 0, inner = args.dims[2];\n"
               "    const i64 base = (tile / inner) * len * inner + tile % inner;\n");
    if (sum) {
        sb_printf(o, "    %s a = 0;\n"
                     "    for (i64 j = tid; j < len; j += T) a += (%s)%s;\n"
                     "    rs[tid] = a;\n    %s;\n"
                     "    for (int s = T / 2; s > 0; s >>= 1) {\n"
                     "        if (tid < s) rs[tid] += rs[tid + s];\n        %s;\n    }\n",
                  acc, acc, cs_ld(c, xt, "X", "base + j * inner"), c->dl->barrier, c->dl->barrier);
        if (op == OP_MEAN_DIM) {
            char v[64];
            snprintf(v, sizeof v, "(float)(rs[0] / (%s)len)", acc);
            sb_printf(o, "    if (tid == 0 && live) %s;\n", cs_st(c, yt, "Y", "tile", v));
        } else {
            sb_printf(o, "    if (tid == 0 && live) %s;\n", cs_st(c, yt, "Y", "tile", "(float)rs[0]"));
        }
    } else {
        /* (a, ia) per work-item over its elements in order; ia == len: none */
        sb_printf(o, "    float a = -LTC_INF;\n    i64 ia = len;\n"
                     "    for (i64 j = tid; j < len; j += T) {\n"
                     "        const float x = %s;\n"
                     "        if (a == a && (x > a || x != x || ia == len)) { a = x; ia = j; }\n"
                     "    }\n"
                     "    rv[tid] = a; ri[tid] = ia;\n    %s;\n"
                     "    for (int s = T / 2; s > 0; s >>= 1) {\n"
                     "        if (tid < s) {\n"
                     "            const float b = rv[tid + s]; const i64 ib = ri[tid + s];\n"
                     "            a = rv[tid]; ia = ri[tid];\n"
                     "            const bool an = a != a, bn = b != b;\n"
                     "            /* NaN wins (the first one), else the larger, ties to the first */\n"
                     "            const bool tb = ib != len && (ia == len || (bn && (!an || ib < ia)) ||\n"
                     "                            (!an && !bn && (b > a || (b == a && ib < ia))));\n"
                     "            if (tb) { rv[tid] = b; ri[tid] = ib; }\n"
                     "        }\n        %s;\n    }\n", cs_ld(c, xt, "X", "base + j * inner"), c->dl->barrier, c->dl->barrier);
        if (op == OP_ARGMAX) sb_puts(o, "    if (tid == 0 && live) Y[tile] = ri[0] == len ? 0 : ri[0];\n");
        else sb_printf(o, "    if (tid == 0 && live) %s;\n", cs_st(c, yt, "Y", "tile", "rv[0]"));
    }
    cs_end(c);
    return 0;
}

int cs_copy(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const char *et = cs_uint((int)dtype_size(s->dtype));
    if (!et) return diag_set(d, s->loc, "%s backend: copy of %s elements", c->dl->name, dtype_name(s->dtype));
    int nl = s->copy.nlead;
    cs_begin(c, 2);
    cs_tile(c);
    cs_ptr(c, et, "X", 0);
    cs_ptr(c, et, "Y", 1);
    sb_printf(o, "    const i64 cols = args.dims[0], last = args.dims[%d];\n    i64 off = args.dims[%d], rem = tile;\n",
              2 + 2 * nl, 3 + 2 * nl);
    for (int i = nl - 1; i >= 0; i--) {
        if (i) sb_printf(o, "    { const i64 ix = rem %% args.dims[%d]; rem /= args.dims[%d]; off += ix * args.dims[%d]; }\n",
                         2 + i, 2 + i, 2 + nl + i);
        else sb_printf(o, "    off += rem * args.dims[%d];\n", 2 + nl + i);
    }
    sb_puts(o, "    (void)rem;\n"
               "    for (i64 j = tid; j < cols; j += T) Y[tile * cols + j] = X[off + j * last];\n");
    cs_end(c);
    return 0;
}

int cs_cat(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    const char *et = cs_uint((int)dtype_size(s->dtype));
    int G = s->cat_group;
    if (!et || G < 1 || G >= LTC_GPU_MAX_BUFS)
        return diag_set(d, s->loc, "%s backend: cat of %d %s inputs", c->dl->name, G, dtype_name(s->dtype));
    cs_begin(c, G + 1);
    cs_tile(c);
    cs_ptr(c, et, "Y", G);
    sb_puts(o, "    const i64 total = args.dims[1];\n");
    for (int k = 0; k < G; k++)   /* a part's unused slots have chunk 0: never read */
        sb_printf(o, "    {\n        const i64 ch = args.dims[%d], off = args.dims[%d];\n"
                     "        %s%s *src = (%s%s *)p%d + tile * ch;\n"
                     "        for (i64 j = tid; j < ch; j += T) Y[tile * total + off + j] = src[j];\n    }\n",
                  2 + k, 2 + G + k, c->dl->global, et, c->dl->global, et, k);
    cs_end(c);
    return 0;
}

/* "(float)(x)" / "(i64)(x)" / "(x != 0 ? 1 : 0)": the reference's double x
 * stored as dtype t (bf16/f16: the float the store rounds) */
static void store_as(StrBuf *o, DType t, const char *x) {
    if (t == DT_F32 || cs_half(t)) sb_printf(o, "(float)(%s)", x);
    else if (t == DT_I64) sb_printf(o, "(i64)(%s)", x);
    else sb_printf(o, "(u8)((%s) != 0 ? 1 : 0)", x);
}

int cs_misc(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    int op = s->opcode;
    const char *acc = cs_f64(c);
    if (op == OP_EMBEDDING) {
        const char *et = cs_uint((int)dtype_size(s->dtype));
        if (!et) return diag_set(d, s->loc, "%s backend: embedding of %s", c->dl->name, dtype_name(s->dtype));
        cs_begin(c, 3);
        cs_tile(c);
        cs_ptr(c, "i64", "ids", 0);
        cs_ptr(c, et, "Tb", 1);
        cs_ptr(c, et, "Y", 2);
        sb_puts(o, "    const i64 num = args.dims[0], dim = args.dims[1], id = ids[tile];\n"
                   "    const bool ok = id >= 0 && id < num;\n"
                   "    for (i64 j = tid; j < dim; j += T) Y[tile * dim + j] = ok ? Tb[id * dim + j] : 0;\n");
    } else if (op == OP_FULL || op == OP_ARANGE) {
        const char *vt = cs_half(s->dtype) ? "u16" : cs_vtype(s->dtype);
        if (!vt) return diag_set(d, s->loc, "%s backend: %s of %s", c->dl->name, s->op, dtype_name(s->dtype));
        cs_begin(c, 1);
        cs_tile(c);
        cs_ptr(c, vt, "Y", 0);
        sb_puts(o, "    const i64 cols = args.dims[0];\n    for (i64 j = tid; j < cols; j += T) {\n");
        sb_printf(o, "        const %s x = ", acc);
        if (op == OP_FULL) {
            dbl(c, o, s->f0);
        } else {   /* lo + j * step, in double as the interpreter */
            sb_printf(o, "(%s)j * ", acc);
            dbl(c, o, s->hi);
            sb_puts(o, " + ");
            dbl(c, o, s->lo);
        }
        StrBuf v = {0};
        store_as(&v, s->dtype, "x");
        sb_printf(o, ";\n        %s;\n    }\n", cs_st(c, s->dtype, "Y", "tile * cols + j", v.s ? v.s : "0"));
        sb_free(&v);
    } else if (op == OP_TRIU || op == OP_TRIL) {
        const char *et = cs_uint((int)dtype_size(s->dtype));
        if (!et) return diag_set(d, s->loc, "%s backend: %s of %s", c->dl->name, s->op, dtype_name(s->dtype));
        cs_begin(c, 2);
        cs_tile(c);
        cs_ptr(c, et, "X", 0);
        cs_ptr(c, et, "Y", 1);
        /* triu keeps j - i >= diag, tril keeps j - i <= diag */
        sb_printf(o, "    const i64 rows = args.dims[0], cols = args.dims[1], i = tile %% rows;\n"
                     "    for (i64 j = tid; j < cols; j += T)\n"
                     "        Y[tile * cols + j] = (j - i %s %lld) ? X[tile * cols + j] : 0;\n",
                  op == OP_TRIU ? ">=" : "<=", (long long)s->diag);
    } else if (op == OP_CAST) {
        DType fd = s->in_dtypes[0], td = s->dtype;
        const char *ft = cs_half(fd) ? "u16" : cs_vtype(fd), *tt = cs_half(td) ? "u16" : cs_vtype(td);
        if (!ft || !tt)
            return diag_set(d, s->loc, "%s backend: cast %s -> %s", c->dl->name, dtype_name(s->in_dtypes[0]),
                            dtype_name(s->dtype));
        cs_begin(c, 2);
        cs_tile(c);
        cs_ptr(c, ft, "X", 0);
        cs_ptr(c, tt, "Y", 1);
        StrBuf v = {0};
        store_as(&v, td, "x");
        sb_printf(o, "    const i64 cols = args.dims[0];\n"
                     "    for (i64 j = tid; j < cols; j += T) {\n"
                     "        const %s x = (%s)%s;\n"
                     "        %s;\n    }\n", acc, acc, cs_ld(c, fd, "X", "tile * cols + j"),
                  cs_st(c, td, "Y", "tile * cols + j", v.s ? v.s : "0"));
        sb_free(&v);
    } else {
        return diag_set(d, s->loc, "%s backend: %s is not a misc kernel", c->dl->name, s->op ? s->op : "?");
    }
    cs_end(c);
    return 0;
}

int cs_dropout(Cs *c, LtcDiag *d) {
    (void)d;
    const KernelSpec *s = c->s;
    StrBuf *o = c->o;
    double ks = s->p >= 1 ? 0 : 1.0 / (1.0 - s->p);
    cs_begin(c, 2);
    cs_tile(c);
    const DType ft = s->dtype;
    cs_ptr(c, cs_etype(ft), "X", 0);
    cs_ptr(c, cs_etype(ft), "Y", 1);
    c->reads_call = true;
    sb_printf(o, "    const i64 N = args.dims[0], lo = tile * %d, hi = lo + %d < N ? lo + %d : N;\n"
                 "    const u32 seed0 = (u32)args.dims[1], seed1 = (u32)args.dims[2];\n"
                 "    const u64 call = (u64)args.dims[3];\n"
                 "    for (i64 e = lo + tid; e < hi; e += T) {\n"
                 "        const bool keep = ltc_uniform(seed0, seed1, call, (u64)e) >= ", DROP_TILE, DROP_TILE, DROP_TILE);
    cs_flt(o, s->p);
    StrBuf v = {0};
    if (c->dl->has_f64) {
        sb_printf(&v, "keep ? (float)((%s)%s * ", cs_f64(c), cs_ld(c, ft, "X", "e"));
        dbl(c, &v, ks);
        sb_puts(&v, ") : 0.0f");
    } else {   /* no double: x * (kh + kl) through fma (the preamble's ltc_mul2) */
        float kh = (float)ks, kl = (float)(ks - (double)kh);
        sb_printf(&v, "keep ? ltc_mul2(%s, ", cs_ld(c, ft, "X", "e"));
        cs_flt(&v, kh);
        sb_puts(&v, ", ");
        cs_flt(&v, kl);
        sb_puts(&v, ") : 0.0f");
    }
    sb_printf(o, ";\n        %s;\n    }\n", cs_st(c, ft, "Y", "e", v.s ? v.s : "0"));
    sb_free(&v);
    cs_end(c);
    return 0;
}
