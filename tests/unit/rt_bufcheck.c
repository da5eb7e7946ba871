/* rt_bufcheck.c: a plan whose buffer is larger than the tensor, parameter
 * or packed buffer it names is refused before a kernel runs (buf_check.c). */
#include <criterion/criterion.h>
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static RtToyFiles tf;
static const char *so = tf.so, *wfile = tf.wfile;
static void setup(void) { cr_assert_eq(rt_toy_files(&tf), 0); }
static void teardown(void) { rt_rmdir(tf.dir); }
TestSuite(bufcheck, .init = setup, .fini = teardown);

/* buffer `which` of the toy plan gets `bytes`; open, bind, run. */
static int run_with(int which, Poly bytes, char *msg, size_t n) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    p[0]->bufs[which].bytes = bytes;
    RtSoOpts o = rt_so_defaults();
    cr_assert_eq(rt_build_so(so, p, 1, &o), 0);
    arena_free(&a);
    int rc = rt_toy_open_run(so, wfile, msg, n);
    cr_assert_neq(rc, -2, "%s", msg);
    return rc;
}

Test(bufcheck, intact_plan_runs) {
    char msg[600];
    cr_assert_eq(run_with(0, rt_p(16, SB | SS), msg, sizeof msg), 0, "%s", msg);
}

Test(bufcheck, input_buffer_larger_than_the_input) {
    char msg[600];
    cr_assert_eq(run_with(0, rt_p(32, SB | SS), msg, sizeof msg), -1);
    cr_assert(strstr(msg, "does not fit in the input"), "%s", msg);
}

Test(bufcheck, output_buffer_larger_than_the_output) {
    char msg[600];
    cr_assert_eq(run_with(6, rt_p(8, SB | SS), msg, sizeof msg), -1);
    cr_assert(strstr(msg, "does not fit in the output"), "%s", msg);
}

Test(bufcheck, param_and_packed_buffers_are_checked_at_prepack) {
    char msg[600];
    cr_assert_eq(run_with(1, rt_p(4096, 0), msg, sizeof msg), -1);
    cr_assert(strstr(msg, "does not fit in the parameter"), "%s", msg);
    cr_assert_eq(run_with(3, rt_p(64, 0), msg, sizeof msg), -1);
    cr_assert(strstr(msg, "does not fit in the packed buffer"), "%s", msg);
}
