/* front_gqa.c: tensor_repeat_interleave, tensor_expand and SDPA's
 * enable_gqa argument (torch_gqa.c), values as PyTorch defines them, and
 * their errors. */
#include <criterion/criterion.h>

#include "tests/unit/front_torch_util.h"

TestSuite(gqa, .init = setup, .fini = teardown);

#define CHECK(name, ...) do { \
    float w_[] = {__VA_ARGS__}; \
    Node *n_ = gtensor(name); \
    cr_assert_eq(numel(n_), sizeof w_ / sizeof w_[0], "%s: %zu elements", name, numel(n_)); \
    assert_close(force(n_), w_, sizeof w_ / sizeof w_[0], 0); \
} while (0)

Test(gqa, repeat_interleave) {
    EVAL("(setq a (tensor_create (list (floats 1 2 3) (floats 4 5 6))))"
         "(setq r0 (tensor_repeat_interleave a 2 0))"
         "(setq r1 (tensor_repeat_interleave a 2 -1))"
         "(setq rf (tensor_repeat_interleave a 2))"
         "(setq one (tensor_repeat_interleave a 1 1))");
    assert_shape(gtensor("r0"), 2, (int64_t[]){4, 3});
    CHECK("r0", 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
    assert_shape(gtensor("r1"), 2, (int64_t[]){2, 6});
    CHECK("r1", 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6);
    assert_shape(gtensor("rf"), 1, (int64_t[]){12});
    CHECK("rf", 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6);
    CHECK("one", 1, 2, 3, 4, 5, 6);
}

Test(gqa, expand) {
    EVAL("(setq a (tensor_create (list (floats 1) (floats 2))))"      /* [2,1] */
         "(setq e (tensor_expand a (integers 3 -1 2)))");
    assert_shape(gtensor("e"), 3, (int64_t[]){3, 2, 2});
    CHECK("e", 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2);
}

Test(gqa, errors) {
    cr_assert_neq(eval("(tensor_expand (tensor_create (list (floats 1) (floats 2))) (integers -1 2 1))"), 0);
    cr_assert(strstr(I.diag.msg, "size -1 is not allowed for the new leading dimension"), "%s", I.diag.msg);
    cr_assert_neq(eval("(tensor_expand (tensor_create (floats 1 2)) (integers 3))"), 0);
    cr_assert_neq(eval("(tensor_repeat_interleave (tensor_create (floats 1 2)) 0)"), 0);
    cr_assert(strstr(I.diag.msg, "repeats) must be at least 1"), "%s", I.diag.msg);
    cr_assert_neq(eval("(torch_scaled_dot_product_attention (tensor_randn (integers 1 6 3 4))"
                       " (tensor_randn (integers 1 4 3 4)) (tensor_randn (integers 1 4 3 4)) nil nil nil nil true)"), 0);
    cr_assert(strstr(I.diag.msg, "must be a multiple of the key/value heads"), "%s", I.diag.msg);
}

/* enable_gqa = K/V repeat_interleave'd Hq/Hkv times along dim -3. */
Test(gqa, enable_gqa_equals_repeat_interleave) {
    EVAL("(setq q (tensor_randn (integers 2 6 5 4)))"
         "(setq k (tensor_randn (integers 2 2 7 4)))"
         "(setq v (tensor_randn (integers 2 2 7 3)))"
         "(setq a (torch_scaled_dot_product_attention q k v nil nil nil nil true))"
         "(setq b (torch_scaled_dot_product_attention q (tensor_repeat_interleave k 3 1) (tensor_repeat_interleave v 3 1)))");
    Node *a = gtensor("a"), *b = gtensor("b");
    assert_shape(a, 4, (int64_t[]){2, 6, 5, 3});
    assert_close(force(a), force(b), numel(b), 0);
}
