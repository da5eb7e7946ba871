/* front_gc.c: the evaluator's collector (frontend/gc.c) and the eager
 * pool's releasable values (ir/eager_mem.c): a long loop over a large
 * tensor stays bounded, collecting at every safe point changes no result,
 * a released value is never read silently, and --max-memory still stops a
 * script that really keeps its tensors. */
#include "front_lisp.h"

#include "frontend/core.h"

#define MB ((size_t)1 << 20)

static Lisp *tlisp(void) {
    Lisp *L = lisp_new();
    torch_register(&L->I);
    return L;
}

/* 1000 iterations over a 1 MB tensor ([512,512] f32). */
#define LAZY "(setq x (tensor_zeros (integers 512 512))) (setq y (tensor_ones (integers 512 512)))" \
             "(loopcount 1000 (setq x (tensor_add x y))) (println (tensor_sum x))"
#define FORCED "(setq x (tensor_zeros (integers 512 512))) (setq y (tensor_ones (integers 512 512)))" \
               "(setq s 0) (loopcount 1000 (setq x (tensor_add x y)) (setq s (tensor_sum x))) (println s)"

static void expect_bounded(const char *src, const char *out) {
    Lisp *L = tlisp();
    cr_expect_str_eq(run(L, src), out);
    cr_expect_gt(L->I.gc_runs, 0u);
    cr_expect_lt(L->I.eager->peak, 64 * MB, "peak of live tensor values: %zu MB", L->I.eager->peak / MB);
    cr_expect_lt(gc_memory(&L->I), 64 * MB, "values at the end: %zu MB", gc_memory(&L->I) / MB);
    lisp_free(L);
}

/* Before the collector both took about 1 GB (every value kept). */
Test(gc, loop_over_1mb_tensor_is_bounded) {
    expect_bounded(FORCED, "2.62144e+08\n");   /* each value read on the way */
    expect_bounded(LAZY, "2.62144e+08\n");     /* one chain of 1000 forced at the end */
}

/* The control: without collecting, the values of the chain all stay. */
Test(gc, without_collecting_the_values_stay) {
    Lisp *L = tlisp();
    L->I.gc_off = true;
    cr_expect_str_eq(run(L, "(setq x (tensor_zeros (integers 512 512))) (setq y (tensor_ones (integers 512 512)))"
                            "(loopcount 100 (setq x (tensor_add x y)) (tensor_sum x)) (println (tensor_sum x))"),
                     "2.62144e+07\n");
    cr_expect_geq(L->I.eager->peak, 100 * MB);
    cr_expect_eq(L->I.gc_runs, 0u);
    lisp_free(L);
}

/* Scripts where tensors are held only by C locals of the evaluator while
 * a nested evaluation loops, by containers, instances and views. */
static const char *const scripts[] = {
    "(setq b (tensor_ones (integers 4 8)))"
    "(defun spin (t n) (setq acc t) (loopcount n (setq acc (tensor_add acc b))) acc)"
    "(println (map (lambda (t) (tensor_sum t)) (map (lambda (k) (spin (tensor_mul_scalar b k) 9)) '(1 2 3))))"
    "(defun three (p q r) (tensor_sum (tensor_add (tensor_add p q) r)))"
    "(println (three (tensor_mul_scalar b 2) (three b b (spin b 4)) (spin b 7)))"
    "(println (filter (lambda (t) (> (tensor_sum (spin t 3)) 100)) (list (tensor_mul_scalar b 1) (tensor_mul_scalar b 2))))",
    "(setq b (tensor_ones (integers 4 8)))"
    "(defun spin (t n) (setq acc t) (loopcount n (setq acc (tensor_add acc b))) acc)"
    "(setq d (dictionary \"w\" (tensor_mul_scalar (tensor_randn (integers 4 8)) 2.0)))"
    "(setq keep (list)) (loopcount 5 i (push keep (tensor_mul_scalar b i)) (spin b 3))"
    "(println (tensor_sum (@ d \"w\")) (map (lambda (t) (tensor_sum t)) keep))"
    "(println (let ((p (tensor_add b b)) (q (spin b 11))) (tensor_sum (tensor_sub q p))))"
    "(setq tot 0) (loop t (list (tensor_mul_scalar b 3) (tensor_mul_scalar b 4)) (spin b 6) (setq tot (+ tot (tensor_sum t))))"
    "(println tot)",
    "(setq b (tensor_ones (integers 4 8)))"
    "(class@ Acc (v (w nil)) (defun step (n) (loopcount n (setqi v (tensor_add v b))) v) (defun total () (tensor_sum v)))"
    "(setq a (Acc (tensor_zeros (integers 4 8)))) (a (step 25)) (println (a (total)))"
    "(setq c (Acc (tensor_add b b) (step 3))) (println (c (total)))"
    "(defun spin (t n) (setq acc t) (loopcount n (setq acc (tensor_add acc b))) acc)"
    "(setq e (Acc (tensor_mul_scalar b 5) (spin b 6))) (println (e (total)) (tensor_sum (e w)))"
    "(class@ Grow (v) (defun grow (n) (setq r (spin b n)) (tensor_sum (tensor_add r v))))"
    "(println ((Grow (tensor_mul_scalar b 2)) (grow 5)))"
    "(println ((Grow (tensor_mul_scalar b 3)) (spin b 5) (grow 2)))",
    "(setq b (tensor_ones (integers 4 8)))"
    "(defun spin (t n) (setq acc t) (loopcount n (setq acc (tensor_add acc b))) acc)"
    "(setq o (tensor_randn (integers 8 8))) (setq s1 (tensor_sum o))"
    "(setq v (tensor_slice o 0 2 5)) (setq r (tensor_reshape o (integers 64))) (setq o nil) (spin b 20)"
    "(println (tensor_shape v) (= (tensor_sum r) s1))"
    "(setq w (tensor_slice (tensor_reshape (tensor_arange 0 16) (integers 4 4)) 1 1 3)) (spin b 5)"
    "(println (tensor_to_list w)) (println (tensor_sum (spin b 4)))",
};

Test(gc, stress_changes_no_result) {
    for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++) {
        Lisp *A = tlisp(), *B = tlisp();
        A->I.gc_off = true;
        B->I.gc_stress = true;
        const char *a = run(A, scripts[i]), *b = run(B, scripts[i]);
        cr_expect(strncmp(a, "ERROR", 5) != 0, "script %zu: %s", i, a);
        cr_expect_str_eq(b, a, "script %zu under stress", i);
        cr_expect_gt(B->I.gc_runs, 10u, "script %zu: %llu collections", i, (unsigned long long)B->I.gc_runs);
        cr_expect_gt(B->I.eager->released, 0u, "script %zu released nothing", i);
        lisp_free(A);
        lisp_free(B);
    }
}

/* A released value is an internal error at the reader, never a value. */
Test(gc, released_value_is_never_read) {
    Lisp *L = tlisp();
    cr_expect_str_eq(run(L, "(setq x (tensor_add (tensor_ones (integers 4)) (tensor_ones (integers 4)))) (println (tensor_sum x))"),
                     "8\n");
    Node *n = interp_global(&L->I, "x")->t;
    cr_assert(n->owned && n->data);
    eager_release(n);
    cr_expect(n->freed && !n->data);
    const char *r = run(L, "(println (tensor_sum x))");
    cr_expect(strstr(r, "ERROR") && strstr(r, "internal error (") && strstr(r, "released by the collector"), "got: %s", r);
    /* and a pending node that needs it */
    r = run(L, "(println (tensor_sum (tensor_mul_scalar x 2)))");
    cr_expect(strstr(r, "released by the collector"), "got: %s", r);
    lisp_free(L);
}

/* --max-memory counts live tensor values: a loop that drops them runs in
 * a small limit, one that keeps them in a list is stopped. */
Test(gc, max_memory_counts_live_values) {
    Lisp *L = tlisp();
    L->I.max_memory = 48 * MB;
    L->I.gc_threshold = 8 * MB;
    cr_expect_str_eq(run(L, FORCED), "2.62144e+08\n");
    lisp_free(L);
    L = tlisp();
    L->I.max_memory = 48 * MB;
    const char *r = run(L, "(setq y (tensor_ones (integers 512 512))) (setq keep (list))"
                           "(loopcount 1000 (push keep (tensor_add y y)) (tensor_sum (@ keep -1)))");
    cr_expect(strstr(r, "its values take more than 48 MB (--max-memory) in 'loopcount'"), "got: %s", r);
    cr_expect_lt(L->I.eager->peak, 64 * MB);
    lisp_free(L);
}
