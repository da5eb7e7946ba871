/* front_torch_util.h: a LispE session for the torch/trace unit tests. */
#ifndef FRONT_TORCH_UTIL_H
#define FRONT_TORCH_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "frontend/lisp.h"
#include "frontend/torch.h"

static Arena A;
static Interp I;

static void setup(void) {
    arena_init(&A);
    interp_init(&I, &A, MODE_RUN, 42);
    I.out = NULL;
    torch_register(&I);
}

static void teardown(void) { arena_free(&A); }

/* Evaluate source text; 0 or -1 (message in I.diag.msg). */
static int eval(const char *src) {
    SrcFile *f = arena_alloc(&A, sizeof *f);
    f->name = "<test>";
    f->text = arena_strdup(&A, src);
    f->len = strlen(src);
    return lisp_eval_file(&I, f);
}

#define EVAL(src) cr_assert_eq(eval(src), 0, "eval failed: %s", I.diag.msg)

static Value *glob(const char *name) {
    Value *v = interp_global(&I, name);
    cr_assert(v != NULL, "no global %s", name);
    return v;
}

static Node *gtensor(const char *name) {
    Value *v = glob(name);
    cr_assert_eq(v->kind, V_TENSOR, "%s is not a tensor", name);
    return v->t;
}

static const void *force(Node *n) {
    LtcDiag d;
    memset(&d, 0, sizeof d);
    cr_assert_eq(ir_force(n, &d), 0, "ir_force: %s", d.msg);
    return n->data;
}

static inline const float *fdata(const char *name) { return force(gtensor(name)); }

static inline void assert_shape(Node *n, int rank, const int64_t *dims) {
    cr_assert_eq(n->shape.rank, rank, "rank %d != %d", n->shape.rank, rank);
    for (int i = 0; i < rank; i++) {
        cr_assert_eq(n->shape.d[i].sym, 0u);
        cr_assert_eq(n->shape.d[i].k, dims[i], "dim %d: %lld != %lld", i, (long long)n->shape.d[i].k,
                     (long long)dims[i]);
    }
}
#define SHAPE(n, ...) do { int64_t d_[] = {__VA_ARGS__}; assert_shape((n), (int)(sizeof d_ / sizeof d_[0]), d_); } while (0)

static inline void assert_close(const float *got, const float *want, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs((double)got[i] - (double)want[i]) <= tol * (1 + fabs((double)want[i])),
                  "element %zu: %.9g vs %.9g", i, got[i], want[i]);
}

static inline size_t numel(Node *n) { return (size_t)shape_numel(&n->shape).k; }

/* The evaluation fails and its message contains `part`. */
#define EVAL_FAILS(src, part) do { \
    cr_assert_neq(eval(src), 0, "expected an error from %s", src); \
    cr_assert(strstr(I.diag.msg, part) != NULL, "message '%s' lacks '%s'", I.diag.msg, part); \
} while (0)

#endif
