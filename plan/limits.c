/* limits.c: the run-time bounds of a Plan (PlanLimit in plan/plan.h).
 *
 * A limit reads value(symbols) <= max, value being a sum of monomials
 * whose coefficients may be negative.  Symbols are >= 0 (they are sizes),
 * so each term is evaluated with overflow checks; an overflow means the
 * sizes are far beyond any bound, i.e. the limit is violated. */
#include "plan/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A bounded appender: writes as much as fits, always NUL-terminated. */
typedef struct Out { char *buf; size_t n, len; } Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Out *o, const char *fmt, ...) {
    if (o->len >= o->n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
    va_end(ap);
    if (k > 0) o->len = o->len + (size_t)k < o->n ? o->len + (size_t)k : o->n - 1;
}

static const char *sym_name(const Plan *p, int i) {
    return p && p->graph && i < p->graph->nsyms && p->graph->syms[i].name ? p->graph->syms[i].name : "?";
}

/* k * s1 * s2 ... with |k| printed, "*" between factors, 1 left out. */
static void put_monomial(Out *o, const Plan *p, int64_t k, uint32_t sym) {
    bool first = true;
    if (k != 1 || sym == 0) { put(o, "%lld", (long long)k); first = false; }
    for (int b = 0; b < 32; b++)
        if (sym >> b & 1) {
            put(o, "%s%s", first ? "" : "*", sym_name(p, b));
            first = false;
        }
}

/* The terms of v with the given sign (as positive monomials), then the
 * constant c when nonzero (or when nothing else was written). */
static void put_side(Out *o, const Plan *p, const Poly *v, int sign, int64_t c) {
    bool any = false;
    for (int i = 0; i < v->n; i++) {
        int64_t k = v->t[i].k;
        if ((sign > 0) != (k > 0) || k == 0) continue;
        if (any) put(o, " + ");
        put_monomial(o, p, k > 0 ? k : -k, v->t[i].sym);
        any = true;
    }
    if (!any) put(o, "%lld", (long long)c);
    else if (c > 0) put(o, " + %lld", (long long)c);
    else if (c < 0) put(o, " - %llu", 0ull - (unsigned long long)c);
}

const char *plan_limit_rule(const Plan *p, const PlanLimit *l, char *buf, size_t n) {
    Out o = {buf, n, 0};
    if (!n) return buf;
    buf[0] = 0;
    bool pos = false, neg = false;
    for (int i = 0; i < l->value.n; i++) {
        pos |= l->value.t[i].k > 0;
        neg |= l->value.t[i].k < 0;
    }
    if (!pos && neg) {
        /* -(terms) <= max  reads better as  terms >= -max */
        put_side(&o, p, &l->value, -1, 0);
        if (l->max <= 0) put(&o, " >= %llu", 0ull - (unsigned long long)l->max);
        else put(&o, " >= -%lld", (long long)l->max);
    } else {
        put_side(&o, p, &l->value, +1, 0);
        put(&o, " <= ");
        put_side(&o, p, &l->value, -1, l->max);
    }
    return buf;
}


int plan_check_limits(const Plan *p, const int64_t *symvals, char *err, size_t n) {
    for (int i = 0; i < p->nlimits; i++) {
        const PlanLimit *l = &p->limits[i];
        int64_t v;
        if (poly_value_signed(&l->value, symvals, &v) && v <= l->max) continue;
        if (!err || !n) return -1;
        Out o = {err, n, 0};
        err[0] = 0;
        /* the symbols the bound involves, with their values */
        uint32_t used = 0;
        for (int j = 0; j < l->value.n; j++) used |= l->value.t[j].sym;
        char rule[256];
        plan_limit_rule(p, l, rule, sizeof rule);
        if (!used) {                        /* a constant bound: lowering makes none */
            put(&o, "the model breaks its own bound %s", rule);
        } else {
            put(&o, "input sizes give ");
            for (int b = 0, first = 1; b < LTC_MAX_SYMS; b++)
                if (used >> b & 1) {
                    put(&o, "%s%s=%lld", first ? "" : ", ", sym_name(p, b), (long long)symvals[b]);
                    first = 0;
                }
            put(&o, ", but the model was built for %s", rule);
        }
        if (l->what) put(&o, " (%s)", l->what);
        return -1;
    }
    return 0;
}

/* ---- id checks (PlanIdCheck) ------------------------------------------------------------- */
/* Every value of the checked input must be in [0, num): one pass over the
 * input before any kernel runs (the embedding kernel would write a zero
 * row for a bad id).  The first bad value is reported with its
 * multi-index, computed from the input's shape at symvals. */
int plan_check_ids(const Plan *p, const int64_t *symvals, void *const *inputs, char *err, size_t n) {
    for (int c = 0; c < p->nidchecks; c++) {
        const PlanIdCheck *ic = &p->idchecks[c];
        if (ic->input < 0 || ic->input >= p->ninputs || p->inputs[ic->input].dtype != DT_I64) {
            if (err && n) snprintf(err, n, "plan: id check %d names a bad input", c);
            return -1;
        }
        const PlanTensor *t = &p->inputs[ic->input];
        int64_t shape[LTC_MAX_RANK], numel = 1;
        bool ok = plan_tensor_dims(t, symvals, shape) == 0;
        for (int d = 0; ok && d < t->shape.rank; d++) ok = !__builtin_mul_overflow(numel, shape[d], &numel);
        if (!ok) {
            if (err && n) snprintf(err, n, "input '%s': size overflow", t->name);
            return -1;
        }
        const int64_t *ids = inputs ? inputs[ic->input] : NULL;
        if (numel > 0 && !ids) {
            if (err && n) snprintf(err, n, "input '%s': no data", t->name);
            return -1;
        }
        for (int64_t i = 0; i < numel; i++) {
            if (ids[i] >= 0 && ids[i] < ic->num) continue;
            if (!err || !n) return -1;
            Out o = {err, n, 0};
            err[0] = 0;
            int64_t idx[LTC_MAX_RANK], r = i;
            for (int d = t->shape.rank - 1; d >= 0; d--) {
                idx[d] = shape[d] ? r % shape[d] : 0;
                r = shape[d] ? r / shape[d] : 0;
            }
            put(&o, "input '%s': value %lld at [", t->name, (long long)ids[i]);
            for (int d = 0; d < t->shape.rank; d++) put(&o, "%s%lld", d ? "," : "", (long long)idx[d]);
            put(&o, "] is out of range for %s (ids must be in [0, %lld))",
                ic->what ? ic->what : "an embedding table", (long long)ic->num);
            return -1;
        }
    }
    return 0;
}
