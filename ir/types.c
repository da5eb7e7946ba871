/* types.c: the op table, dtypes, half-precision rounding and symbolic
 * dimensions (monomials k * s1 * s2 ...). */
#include "ir/ir_internal.h"

#include <stdio.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(e, name, mn, mx, shp, ker, fl, ex) [OP_##e] = {name, mn, mx, fl, ex},
#include "ir/ops.def"
#undef OP
};

/* ---- dtypes ---------------------------------------------------------------- */
static const char *const dt_names[DT_COUNT] = {"f32", "f16", "bf16", "i64", "bool"};

const char *dtype_name(DType t) { return (unsigned)t < DT_COUNT ? dt_names[t] : "?"; }

bool dtype_is_float(DType t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16; }

size_t dtype_storage_size(DType t) {
    if (dtype_is_float(t)) return sizeof(float);
    return t == DT_I64 ? sizeof(int64_t) : 1;
}

DType dtype_promote(DType a, DType b) {
    if (a == b) return a;
    bool fa = dtype_is_float(a), fb = dtype_is_float(b);
    if (fa && fb) return DT_F32;        /* mixed floats: f32 */
    if (fa) return a;                   /* float with integer/bool: the float */
    if (fb) return b;
    return DT_I64;                      /* i64 with bool */
}

/* ---- f16 / bf16, round to nearest even ------------------------------------ */
static uint32_t f2u(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
static float u2f(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

uint16_t f32_to_f16(float x) {
    uint32_t u = f2u(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t ex = (u >> 23) & 0xff, man = u & 0x7fffff;
    if (ex == 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);   /* inf / NaN */
    int e = (int)ex - 127 + 15;                                 /* half exponent */
    if (e >= 31) return sign | 0x7c00;                          /* overflow */
    if (e <= 0) {
        /* subnormal half: value = m * 2^-24 with m = round(|x| * 2^24) */
        if (e < -10) return sign;                               /* below half the smallest */
        uint32_t m = man | 0x800000;                            /* 24-bit significand */
        int shift = 14 - e;                                     /* 1 - e + 13 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;                              /* q may carry into the exponent: fine */
    }
    uint32_t q = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;        /* carry may give inf: correct */
    return sign | (uint16_t)q;
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, ex = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (ex == 0x1f) return u2f(sign | 0x7f800000 | (man << 13));
    if (ex == 0) {
        float v = (float)man * 0x1p-24f;                        /* exact */
        return sign ? -v : v;
    }
    return u2f(sign | ((ex - 15 + 127) << 23) | (man << 13));
}

uint16_t f32_to_bf16(float x) {
    uint32_t u = f2u(x);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);   /* quiet NaN */
    uint32_t lsb = (u >> 16) & 1;
    u += 0x7fff + lsb;                                          /* RNE; overflow -> inf */
    return (uint16_t)(u >> 16);
}

float bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

float round_to_dtype(DType t, float x) {
    if (t == DT_F16) return f16_to_f32(f32_to_f16(x));
    if (t == DT_BF16) return bf16_to_f32(f32_to_bf16(x));
    return x;
}

/* ---- symbolic dims ------------------------------------------------------------ */
bool dim_eq(Dim a, Dim b) { return a.k == b.k && (a.sym == b.sym || a.k == 0); }

bool dim_mul(Dim a, Dim b, Dim *out) {
    if (a.sym & b.sym) return false;                /* s*s is not a monomial here */
    if (a.k < 0 || b.k < 0) return false;
    if (a.k != 0 && b.k > INT64_MAX / a.k) return false;
    out->k = a.k * b.k;
    out->sym = out->k ? (a.sym | b.sym) : 0;
    return true;
}

bool dim_div(Dim a, Dim b, Dim *out) {
    if (b.k <= 0 || (a.sym & b.sym) != b.sym || a.k % b.k) return false;
    out->k = a.k / b.k;
    out->sym = a.sym & ~b.sym;
    return true;
}

bool shape_eq(const Shape *a, const Shape *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (!dim_eq(a->d[i], b->d[i])) return false;
    return true;
}

Dim shape_numel(const Shape *s) {
    Dim n = dim_const(1);
    for (int i = 0; i < s->rank; i++)
        if (!dim_mul(n, s->d[i], &n) || n.k > LTC_MAX_NUMEL) return dim_const(-1);
    return n;
}

static void put_dim(const Graph *g, Dim d, StrBuf *b) {
    if (d.k == -1 && d.sym == 0) { sb_puts(b, "-1"); return; }
    bool first = true;
    if (d.k != 1 || d.sym == 0) { sb_printf(b, "%lld", (long long)d.k); first = false; }
    for (int i = 0; i < LTC_MAX_SYMS; i++) {
        if (!(d.sym & (1u << i))) continue;
        if (!first) sb_putc(b, '*');
        if (g && i < g->nsyms && g->syms[i].name) sb_puts(b, g->syms[i].name);
        else sb_printf(b, "s%d", i);
        first = false;
    }
}

const char *shape_str(const Graph *g, const Shape *s, char *buf, size_t n) {
    if (s->rank < 0 || s->rank > LTC_MAX_RANK) {       /* never read past d[] */
        if (n) snprintf(buf, n, "[rank %d]", s->rank);
        return buf;
    }
    StrBuf b = {0};
    sb_putc(&b, '[');
    for (int i = 0; i < s->rank; i++) {
        if (i) sb_putc(&b, ',');
        put_dim(g, s->d[i], &b);
    }
    sb_putc(&b, ']');
    if (n) snprintf(buf, n, "%s", b.s);
    sb_free(&b);
    return buf;
}

/* ---- evaluation under a binding -------------------------------------------- */
int64_t dim_eval(Dim d, const SymBind *b) {
    int64_t v = d.k;
    for (int i = 0; i < LTC_MAX_SYMS; i++)
        if (d.sym & (1u << i)) v *= (b && i < b->n) ? b->vals[i] : 0;
    return v;
}

void shape_eval(const Shape *s, const SymBind *b, int64_t out[LTC_MAX_RANK]) {
    for (int i = 0; i < s->rank; i++) out[i] = dim_eval(s->d[i], b);
}

size_t shape_numel_eval(const Shape *s, const SymBind *b) {
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= (size_t)dim_eval(s->d[i], b);
    return n;
}

/* ---- strides -------------------------------------------------------------------- */
void contig_strides(const int64_t *shape, int r, int64_t *st) {
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
}

void bcast_strides(const int64_t *shape, int r, const int64_t *oshape, int R, int64_t *st) {
    int64_t cs[LTC_MAX_RANK];
    contig_strides(shape, r, cs);
    for (int i = 0; i < R; i++) {
        int j = i - (R - r);
        st[i] = (j < 0 || (shape[j] == 1 && oshape[i] != 1)) ? 0 : cs[j];
    }
}
