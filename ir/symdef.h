/* symdef.h: derived symbols, the part the runtime shares with the compiler.
 *
 * A *free* symbol (B, S...) is bound from the input shapes at run time.
 * A *derived* symbol stands for a size computed from other symbols, so a
 * model stays right at every size when a script writes (- S 1), (/ S 2),
 * a negative slice end, a cat of symbolic sizes or an [S,S] buffer:
 *
 *   SYM_AFFINE:  value = (sum_i t[i] + c) / div      t[i]: monomials over
 *                earlier symbols, k may be negative; div >= 1 divides
 *                exactly (a size that would not divide is refused);
 *   SYM_SQUARE:  value = sym[a]^2                    S*S for [S,S] sizes.
 *
 * A derived symbol only refers to symbols with a smaller index, so one
 * pass in index order computes them all.  Every value must be >= 0 (it is
 * a size); `where` says which script position made it, for the message
 * that refuses sizes breaking that.  Header-only: runtime/ includes it
 * without linking the IR library. */
#ifndef LTC_SYMDEF_H
#define LTC_SYMDEF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LTC_SYM_TERMS 4

typedef enum { SYM_FREE, SYM_AFFINE, SYM_SQUARE } SymKind;

typedef struct SymDef {
    SymKind kind;
    int     nterms;                 /* SYM_AFFINE */
    int64_t tk[LTC_SYM_TERMS];      /* term coefficients */
    uint32_t tsym[LTC_SYM_TERMS];   /* term symbol masks (never 0) */
    int64_t c;                      /* constant */
    int64_t div;                    /* >= 1 */
    int     a;                      /* SYM_SQUARE: the symbol squared */
} SymDef;

/* k * prod(vals[bits of sym]), false on overflow or an unknown symbol. */
static inline bool symdef_mono(int64_t k, uint32_t sym, const int64_t *vals, int nvals, int64_t *out) {
    int64_t v = k;
    for (int b = 0; b < 32; b++) {
        if (!(sym >> b & 1)) continue;
        if (b >= nvals || __builtin_mul_overflow(v, vals[b], &v)) return false;
    }
    *out = v;
    return true;
}

/* Value of derived symbol i (vals[0..i) known).  Returns 0, or -1 with a
 * reason in err (overflow, negative, inexact division). */
static inline int symdef_eval(const SymDef *d, int i, const int64_t *vals, int64_t *out,
                              char *err, size_t errlen) {
    int64_t v = 0, t;
    if (d->kind == SYM_SQUARE) {
        if (d->a < 0 || d->a >= i || __builtin_mul_overflow(vals[d->a], vals[d->a], &v)) {
            if (errlen) snprintf(err, errlen, "size overflow");
            return -1;
        }
        *out = v;
        return 0;
    }
    for (int j = 0; j < d->nterms && j < LTC_SYM_TERMS; j++)
        if (!symdef_mono(d->tk[j], d->tsym[j], vals, i, &t) || __builtin_add_overflow(v, t, &v)) {
            if (errlen) snprintf(err, errlen, "size overflow");
            return -1;
        }
    if (__builtin_add_overflow(v, d->c, &v) || d->div < 1) {
        if (errlen) snprintf(err, errlen, "size overflow");
        return -1;
    }
    if (v < 0) {
        if (errlen) snprintf(err, errlen, "is %lld, a negative size", (long long)v);
        return -1;
    }
    if (v % d->div) {
        if (errlen) snprintf(err, errlen, "is not a whole number (%lld / %lld)", (long long)v, (long long)d->div);
        return -1;
    }
    *out = v / d->div;
    return 0;
}

#endif
