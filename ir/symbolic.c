/* symbolic.c: size arithmetic that stays symbolic.
 *
 * A Dim is one monomial k * s1 * s2 ...; sums, differences, exact
 * quotients and squares of symbols are represented by *derived symbols*
 * (ir/symdef.h) added to the graph, so [B,S-1,E] or [B,H,S,S]'s S*S stay
 * exact at every size.  Canonical forms make equal expressions the same
 * symbol: a derived affine symbol is expanded back into free symbols
 * before arithmetic (so (S-1)+1 is S again), terms are sorted and merged,
 * and the gcd of the coefficients is kept outside (2S-2 is 2*(S-1)). */
#include "ir/ir_internal.h"

#include <stdio.h>

#define AFF_MAX 8

/* sum of k[i] * sym[i] (sym may be 0: a constant term) */
typedef struct Aff { int n; int64_t k[AFF_MAX]; uint32_t s[AFF_MAX]; } Aff;

static bool aff_push(Aff *a, int64_t k, uint32_t s) {
    for (int i = 0; i < a->n; i++)
        if (a->s[i] == s) return !__builtin_add_overflow(a->k[i], k, &a->k[i]);
    if (a->n == AFF_MAX) return false;
    a->k[a->n] = k;
    a->s[a->n++] = s;
    return true;
}

/* An affine derived symbol can be expanded into its terms when the
 * monomial's coefficient k is a multiple of its divisor: the division is
 * exact at every accepted size (the runtime refuses the others), so
 * k * (e / q) = (k / q) * e, and 2 * (S/2) is S again. */
static bool expandable(const Graph *g, int b, int64_t k) {
    const SymDef *d = &g->syms[b].def;
    return d->kind == SYM_AFFINE && d->div >= 1 && k % d->div == 0;
}

/* The monomial k * sym as a sum over free (or unexpandable) symbols. */
static bool aff_of_dim(const Graph *g, Dim m, Aff *out) {
    /* pick the symbols to expand, dividing k by their divisors */
    uint32_t rest = m.sym, exp = 0;
    int64_t k = m.k;
    for (int b = 0; b < g->nsyms && b < 32; b++)
        if ((m.sym >> b & 1) && expandable(g, b, k)) {
            rest &= ~(1u << b);
            exp |= 1u << b;
            k /= g->syms[b].def.div;
        }
    Aff p = {1, {k}, {rest}};         /* k * (the symbols that stay) */
    for (int b = 0; b < g->nsyms && b < 32; b++) {
        if (!(exp >> b & 1)) continue;
        /* multiply p by the definition of b: a sum (already expanded) */
        const SymDef *d = &g->syms[b].def;
        Aff def = {0};
        for (int j = 0; j < d->nterms; j++)
            if (!aff_push(&def, d->tk[j], d->tsym[j])) return false;
        if (d->c && !aff_push(&def, d->c, 0)) return false;
        Aff r = {0};
        for (int i = 0; i < p.n; i++)
            for (int j = 0; j < def.n; j++) {
                int64_t k;
                if ((p.s[i] & def.s[j]) || __builtin_mul_overflow(p.k[i], def.k[j], &k)) return false;
                if (!aff_push(&r, k, p.s[i] | def.s[j])) return false;
            }
        p = r;
    }
    *out = p;
    return true;
}

static int64_t gcd64(int64_t a, int64_t b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) { int64_t t = a % b; a = b; b = t; }
    return a;
}

static void put_mono(const Graph *g, StrBuf *b, int64_t k, uint32_t s, bool first) {
    if (!first) sb_puts(b, k < 0 ? "-" : "+");
    else if (k < 0) sb_putc(b, '-');
    uint64_t ak = k < 0 ? 0ull - (uint64_t)k : (uint64_t)k;
    bool lead = true;
    if (ak != 1 || s == 0) { sb_printf(b, "%llu", (unsigned long long)ak); lead = false; }
    for (int i = 0; i < 32; i++)
        if (s >> i & 1) {
            if (!lead) sb_putc(b, '*');
            sb_puts(b, i < g->nsyms ? g->syms[i].name : "?");
            lead = false;
        }
}

static const char *loc_str(Arena *a, SrcLoc loc) {
    if (!loc.file) return NULL;
    return arena_printf(a, "%s:%d:%d", loc.file->name, loc.line, loc.col);
}

static bool def_eq(const SymDef *x, const SymDef *y) {
    if (x->kind != y->kind) return false;
    if (x->kind == SYM_SQUARE) return x->a == y->a;
    if (x->nterms != y->nterms || x->c != y->c || x->div != y->div) return false;
    for (int i = 0; i < x->nterms; i++)
        if (x->tk[i] != y->tk[i] || x->tsym[i] != y->tsym[i]) return false;
    return true;
}

/* The symbol with definition def (made if new); -1 if g is full or the
 * example value is not a size. */
static int derived_symbol(Graph *g, const SymDef *def, const char *name, SrcLoc loc) {
    for (int i = 0; i < g->nsyms; i++)
        if (def_eq(&g->syms[i].def, def)) return i;
    if (g->nsyms == LTC_MAX_SYMS) return -1;
    int64_t ex[LTC_MAX_SYMS], v;
    for (int i = 0; i < g->nsyms; i++) ex[i] = g->syms[i].example;
    char why[128];
    if (symdef_eval(def, g->nsyms, ex, &v, why, sizeof why)) return -1;
    Symbol *s = &g->syms[g->nsyms];
    s->name = arena_strdup(g->arena, name);
    s->example = v;
    s->def = *def;
    s->where = loc_str(g->arena, loc);
    if (!s->name) return -1;
    return g->nsyms++;
}

/* f * (sum of p) / div as a Dim. */
static bool aff_to_dim(Graph *g, Aff p, int64_t div, SrcLoc loc, Dim *out) {
    /* merged terms may have become expandable: 1*(S/2) + 1*(S/2) = 2*(S/2) = S */
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < p.n && !again; i++) {
            Aff e;
            if (p.k[i] == 0 || p.s[i] == 0 || !aff_of_dim(g, (Dim){p.k[i], p.s[i]}, &e)) continue;
            if (e.n == 1 && e.k[0] == p.k[i] && e.s[0] == p.s[i]) continue;
            p.k[i] = 0;
            for (int j = 0; j < e.n; j++)
                if (!aff_push(&p, e.k[j], e.s[j])) return false;
            again = true;
        }
    }
    /* drop zeros, split off the constant, sort by mask */
    int64_t c = 0;
    Aff t = {0};
    for (int i = 0; i < p.n; i++) {
        if (p.k[i] == 0) continue;
        if (p.s[i] == 0) c = p.k[i];
        else { t.k[t.n] = p.k[i]; t.s[t.n++] = p.s[i]; }
    }
    for (int i = 1; i < t.n; i++)
        for (int j = i; j > 0 && t.s[j - 1] > t.s[j]; j--) {
            int64_t k = t.k[j]; t.k[j] = t.k[j - 1]; t.k[j - 1] = k;
            uint32_t s = t.s[j]; t.s[j] = t.s[j - 1]; t.s[j - 1] = s;
        }
    if (t.n == 0) {
        if (div < 1 || c % div) return false;
        *out = dim_const(c / div);
        return true;
    }
    /* sum = G * sum', value = (G/h) * sum' / (div/h) with h = gcd(G, div) */
    int64_t G = gcd64(c, 0);
    for (int i = 0; i < t.n; i++) G = gcd64(G, t.k[i]);
    if (div < 1 || G < 1) return false;
    int64_t h = gcd64(G, div), f = G / h;
    div /= h;
    for (int i = 0; i < t.n; i++) t.k[i] /= G;
    c /= G;
    if (t.n == 1 && c == 0 && div == 1) {
        if (t.k[0] != 1) return false;   /* a negative size */
        *out = (Dim){f, t.s[0]};
        return true;
    }
    if (t.n > LTC_SYM_TERMS) return false;
    SymDef d = {SYM_AFFINE, t.n, {0}, {0}, c, div, 0};
    for (int i = 0; i < t.n; i++) { d.tk[i] = t.k[i]; d.tsym[i] = t.s[i]; }
    StrBuf nm = {0};
    bool paren = t.n > 1 || c != 0 || t.k[0] != 1 || __builtin_popcount(t.s[0]) > 1;
    if (paren) sb_putc(&nm, '(');
    for (int i = 0; i < t.n; i++) put_mono(g, &nm, t.k[i], t.s[i], i == 0);
    if (c) put_mono(g, &nm, c, 0, false);
    if (paren) sb_putc(&nm, ')');
    if (div > 1) sb_printf(&nm, "/%lld", (long long)div);
    int s = derived_symbol(g, &d, nm.s ? nm.s : "?", loc);
    sb_free(&nm);
    if (s < 0) return false;
    *out = (Dim){f, 1u << s};
    return true;
}

static bool dim_combine(Graph *g, Dim a, Dim b, int sign, SrcLoc loc, Dim *out) {
    if (!g) return false;
    if (a.sym == 0 && b.sym == 0) {
        int64_t r;
        if (sign > 0 ? __builtin_add_overflow(a.k, b.k, &r) : __builtin_sub_overflow(a.k, b.k, &r)) return false;
        *out = dim_const(r);
        return true;
    }
    Aff x, y;
    if (!aff_of_dim(g, a, &x) || !aff_of_dim(g, b, &y)) return false;
    for (int i = 0; i < y.n; i++) {
        if (sign < 0 && y.k[i] == INT64_MIN) return false;
        if (!aff_push(&x, sign > 0 ? y.k[i] : -y.k[i], y.s[i])) return false;
    }
    return aff_to_dim(g, x, 1, loc, out);
}

bool dim_add(Graph *g, Dim a, Dim b, SrcLoc loc, Dim *out) { return dim_combine(g, a, b, +1, loc, out); }
bool dim_sub(Graph *g, Dim a, Dim b, SrcLoc loc, Dim *out) { return dim_combine(g, a, b, -1, loc, out); }

bool dim_divq(Graph *g, Dim a, int64_t q, SrcLoc loc, Dim *out) {
    if (q < 1) return false;
    if (dim_div(a, dim_const(q), out)) return true;
    if (!g) return false;
    Aff x;
    if (!aff_of_dim(g, a, &x)) return false;
    return aff_to_dim(g, x, q, loc, out);
}

/* s * s: the square symbol of s (made once). */
static int square_of(Graph *g, int s) {
    SymDef d = {SYM_SQUARE, 0, {0}, {0}, 0, 1, s};
    const char *base = g->syms[s].name;
    char nm[160];
    snprintf(nm, sizeof nm, base[0] == '(' ? "%s^2" : "%s^2", base);
    return derived_symbol(g, &d, nm, (SrcLoc){0});
}

bool dim_mul_sq(Graph *g, Dim a, Dim b, Dim *out) {
    if (dim_mul(a, b, out)) return true;
    if (!g || a.k < 0 || b.k < 0) return false;
    int64_t k;
    if (__builtin_mul_overflow(a.k, b.k, &k)) return false;
    uint32_t m = a.sym;
    /* add b's symbols one by one; a repeated symbol s becomes s^2 (which
     * may repeat in turn: binary carries up the tower of squares) */
    for (int s0 = 0; s0 < 32; s0++) {
        if (!(b.sym >> s0 & 1)) continue;
        int s = s0;
        while (m >> s & 1) {
            m &= ~(1u << s);
            s = square_of(g, s);
            if (s < 0) return false;
        }
        m |= 1u << s;
    }
    *out = (Dim){k, k ? m : 0};
    return true;
}

bool shape_strides(Graph *g, const Shape *s, Dim st[LTC_MAX_RANK]) {
    Dim acc = dim_const(1);
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = acc;
        if (i > 0 && !dim_mul_sq(g, acc, s->d[i], &acc)) return false;
    }
    return true;
}

int64_t dim_example(const Graph *g, Dim d) {
    int64_t v = d.k;
    for (int i = 0; i < 32; i++)
        if (d.sym >> i & 1) v *= i < g->nsyms ? g->syms[i].example : 0;
    return v;
}

int graph_derive_symbols(const Graph *g, int64_t *vals, char *err, size_t n) {
    for (int i = 0; i < g->nsyms; i++) {
        const Symbol *s = &g->syms[i];
        if (s->def.kind == SYM_FREE) continue;
        /* a symbol of an unbound one (vals < 0) stays unbound */
        uint32_t deps = s->def.kind == SYM_SQUARE ? 1u << s->def.a : 0;
        for (int j = 0; j < s->def.nterms; j++) deps |= s->def.tsym[j];
        bool bound = true;
        for (int j = 0; j < i; j++) bound &= !(deps >> j & 1) || vals[j] >= 0;
        if (!bound) { vals[i] = -1; continue; }
        char why[96];
        if (symdef_eval(&s->def, i, vals, &vals[i], why, sizeof why)) {
            char ctx[512] = "";
            size_t l = 0;
            for (int j = 0; j < i && l + 1 < sizeof ctx; j++)
                if (g->syms[j].def.kind == SYM_FREE)
                    l += (size_t)snprintf(ctx + l, sizeof ctx - l, "%s%s=%lld", l ? ", " : "", g->syms[j].name,
                                          (long long)vals[j]);
            if (n) snprintf(err, n, "input sizes give %s, but the size %s%s%s %s", ctx, s->name,
                            s->where ? " computed at " : "", s->where ? s->where : "", why);
            return -1;
        }
    }
    return 0;
}

int graph_add_guard(Graph *g, Dim d, int64_t lo, int64_t hi, SrcLoc loc, const char *why) {
    for (int i = 0; i < g->nguards; i++) {
        SymGuard *o = &g->guards[i];
        if (dim_eq(o->d, d) && o->lo == lo && o->hi == hi) return 0;
    }
    if (g->nguards == g->capguards) {
        int cap = g->capguards ? 2 * g->capguards : 8;
        SymGuard *ng = arena_alloc(g->arena, (size_t)cap * sizeof *ng);
        if (!ng) return -1;
        if (g->nguards) memcpy(ng, g->guards, (size_t)g->nguards * sizeof *ng);
        g->guards = ng;
        g->capguards = cap;
    }
    g->guards[g->nguards++] = (SymGuard){d, lo, hi, loc, why ? arena_strdup(g->arena, why) : NULL};
    return 0;
}

static const char *dim_text(const Graph *g, Dim d, char *buf, size_t n) {
    char t[200];
    Shape s = {1, {d}};
    shape_str(g, &s, t, sizeof t);
    size_t l = strlen(t);
    if (l >= 2) t[l - 1] = 0;
    snprintf(buf, n, "%s", t + 1);
    return buf;
}

const char *guard_str(const Graph *g, const SymGuard *gd, char *buf, size_t n) {
    char ds[200], rule[260];
    dim_text(g, gd->d, ds, sizeof ds);
    if (gd->lo == gd->hi) snprintf(rule, sizeof rule, "%s = %lld", ds, (long long)gd->lo);
    else if (gd->lo == INT64_MIN) snprintf(rule, sizeof rule, "%s <= %lld", ds, (long long)gd->hi);
    else if (gd->hi == INT64_MAX) snprintf(rule, sizeof rule, "%s >= %lld", ds, (long long)gd->lo);
    else snprintf(rule, sizeof rule, "%lld <= %s <= %lld", (long long)gd->lo, ds, (long long)gd->hi);
    if (gd->loc.file)
        snprintf(buf, n, "%s (%s:%d:%d: %s)", rule, gd->loc.file->name, gd->loc.line, gd->loc.col,
                 gd->why ? gd->why : "specialised");
    else
        snprintf(buf, n, "%s (%s)", rule, gd->why ? gd->why : "specialised");
    return buf;
}

int graph_check_guards(const Graph *g, const int64_t *vals, char *err, size_t n) {
    for (int i = 0; i < g->nguards; i++) {
        const SymGuard *gd = &g->guards[i];
        int64_t v = 0;
        if (symdef_mono(gd->d.k, gd->d.sym, vals, g->nsyms, &v) && v >= gd->lo && v <= gd->hi) continue;
        char ds[200], gs[700];
        if (n) snprintf(err, n, "input sizes give %s = %lld, but the model was built for %s",
                        dim_text(g, gd->d, ds, sizeof ds), (long long)v, guard_str(g, gd, gs, sizeof gs));
        return -1;
    }
    return 0;
}
