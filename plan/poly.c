/* poly.c: sizes as polynomials over the entry's symbols (plan.h), the one
 * implementation the lowering, the backends and the runtime share.
 *
 * Evaluation is overflow-checked: at run time the symbol values come from
 * the caller's tensor shapes, so a product of sizes may exceed int64, and
 * a wrapped size would make a buffer look smaller than it is. */
#include "plan/plan.h"

#include <string.h>

Poly poly_dim(Dim d) {
    Poly p;
    memset(&p, 0, sizeof p);
    if (d.k != 0) { p.n = 1; p.t[0] = d; }
    return p;
}

Poly poly_const(int64_t k) { return poly_dim(dim_const(k)); }

bool poly_add(Poly *p, Dim d) {
    if (d.k == 0) return true;
    for (int i = 0; i < p->n; i++)
        if (p->t[i].sym == d.sym) {
            if (__builtin_add_overflow(p->t[i].k, d.k, &p->t[i].k)) return false;
            if (p->t[i].k == 0) p->t[i] = p->t[--p->n];
            return true;
        }
    if (p->n >= PLAN_MAX_TERMS) return false;
    p->t[p->n++] = d;
    return true;
}

bool poly_add_poly(Poly *p, const Poly *q) {
    for (int i = 0; i < q->n; i++)
        if (!poly_add(p, q->t[i])) return false;
    return true;
}

/* |k| * prod(symbols), checked. */
static bool magnitude(int64_t k, uint32_t sym, const int64_t *symvals, int64_t *out) {
    if (k == INT64_MIN) return false;
    int64_t v = k < 0 ? -k : k;
    for (int i = 0; i < 32; i++)
        if (sym & (1u << i)) {
            if (i >= LTC_MAX_SYMS || symvals[i] < 0) return false;
            if (__builtin_mul_overflow(v, symvals[i], &v)) return false;
        }
    *out = v;
    return true;
}

bool dim_value(Dim d, const int64_t *symvals, int64_t *out) {
    return d.k >= 0 && magnitude(d.k, d.sym, symvals, out);
}

static bool eval(const Poly *p, const int64_t *symvals, bool signed_ok, int64_t *out) {
    int64_t s = 0;
    if (p->n < 0 || p->n > PLAN_MAX_TERMS) return false;
    for (int i = 0; i < p->n; i++) {
        int64_t k = p->t[i].k, t;
        if ((k < 0 && !signed_ok) || !magnitude(k, p->t[i].sym, symvals, &t)) return false;
        if (k < 0 ? __builtin_sub_overflow(s, t, &s) : __builtin_add_overflow(s, t, &s)) return false;
    }
    *out = s;
    return true;
}

bool poly_value(const Poly *p, const int64_t *symvals, int64_t *out) { return eval(p, symvals, false, out); }
bool poly_value_signed(const Poly *p, const int64_t *symvals, int64_t *out) { return eval(p, symvals, true, out); }

int64_t poly_eval(const Poly *p, const int64_t *symvals) {
    int64_t v;
    return eval(p, symvals, true, &v) ? v : INT64_MAX;
}

int plan_tensor_dims(const PlanTensor *t, const int64_t *symvals, int64_t out[LTC_MAX_RANK]) {
    if (t->shape.rank < 0 || t->shape.rank > LTC_MAX_RANK) return -1;
    for (int i = 0; i < t->shape.rank; i++)
        if (!dim_value(t->shape.d[i], symvals, &out[i])) return -1;
    return 0;
}

void *plan_grow(Arena *a, void *old, int n, int *cap, size_t elt) {
    if (old && n < *cap) return old;
    if (n < 0 || n > (1 << 29)) return NULL;
    int ncap = n < 8 ? 8 : 2 * n;
    size_t bytes;
    if (__builtin_mul_overflow((size_t)ncap, elt, &bytes)) return NULL;
    void *p = arena_alloc(a, bytes);
    if (!p) return NULL;
    if (n && old) memcpy(p, old, (size_t)n * elt);
    *cap = ncap;
    return p;
}
