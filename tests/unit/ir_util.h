/* ir_util.h: helpers shared by the ir_* unit tests. */
#ifndef LTC_TEST_IR_UTIL_H
#define LTC_TEST_IR_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "ir/ir.h"

static SrcLoc NOLOC;

/* A constant shape from n sizes. */
static inline Shape S(int rank, ...) {
    Shape s = {rank, {{0, 0}}};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) s.d[i] = dim_const(va_arg(ap, int));
    va_end(ap);
    return s;
}

/* A CONST node of g holding a copy of vals (storage layout for t). */
static inline Node *konst(Graph *g, DType t, Shape s, const void *vals) {
    Attr a = {0};
    a.shape = s;
    a.dtype = t;
    LtcDiag d;
    Node *n = ir_emit(g, OP_CONST, NULL, 0, &a, NOLOC, &d);
    cr_assert(n, "const: %s", d.msg);
    size_t bytes = shape_numel_eval(&s, NULL) * dtype_storage_size(t);
    n->data = arena_alloc_big(g->arena, bytes);
    if (bytes) memcpy(n->data, vals, bytes);
    return n;
}

/* A float CONST filled with deterministic pseudo-random values in [-1,1). */
static inline Node *rconst(Graph *g, Shape s, uint64_t seed) {
    size_t n = shape_numel_eval(&s, NULL);
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = philox_uniform(seed, i) * 2 - 1;
    Node *x = konst(g, DT_F32, s, v);
    free(v);
    return x;
}

static inline Node *emit(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    LtcDiag d;
    Node *n = ir_emit(g, op, in, nin, a, NOLOC, &d);
    cr_assert(n, "%s: %s", op_info[op].name, d.msg);
    return n;
}

/* Emit and force; returns the float data. */
static inline float *evalf(Graph *g, Op op, Node **in, int nin, const Attr *a) {
    Node *n = emit(g, op, in, nin, a);
    LtcDiag d;
    cr_assert_eq(ir_force(n, &d), 0, "%s: %s", op_info[op].name, d.msg);
    return n->data;
}

/* The error message of an emit that must fail. */
static inline const char *emit_err(Graph *g, Op op, Node **in, int nin, const Attr *a, LtcDiag *d) {
    Node *n = ir_emit(g, op, in, nin, a, NOLOC, d);
    cr_assert_null(n, "%s should have failed", op_info[op].name);
    return d->msg;
}

static inline void assert_close(const float *got, const double *want, size_t n, double tol, const char *what) {
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        double lim = tol * (1 + fabs(want[i]));
        cr_assert(err <= lim || (isnan(got[i]) && isnan(want[i])),
                  "%s[%zu]: got %.9g, want %.9g", what, i, got[i], want[i]);
    }
}

#endif
