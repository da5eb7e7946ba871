/* rt_bufcheck.c: a plan whose buffer is larger than the tensor, parameter
 * or packed buffer it names is refused before a kernel runs (buf_check.c). */
#include <criterion/criterion.h>
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static char dir[64], so[200], wfile[200];
static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/toy.so", dir);
    snprintf(wfile, sizeof wfile, "%s/w.safetensors", dir);
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
}
static void teardown(void) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}
TestSuite(bufcheck, .init = setup, .fini = teardown);

/* buffer `which` of the toy plan gets `bytes`; open, bind, run. */
static int run_with(int which, Poly bytes, char *msg, size_t n) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    p[0]->bufs[which].bytes = bytes;
    RtSoOpts o = rt_so_defaults();
    cr_assert_eq(rt_build_so(so, p, 1, &o), 0);
    arena_free(&a);
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    int rc = ltc_model_bind_weights_file(m, wfile);
    if (rc == 0) {
        float x[24] = {0}, y[24], s[6];
        int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
        DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
        DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                           {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
        rc = ltc_model_run(m, NULL, &in, 1, out, 2);
    }
    snprintf(msg, n, "%s", ltc_last_error(m)->message);
    ltc_model_close(m);
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
