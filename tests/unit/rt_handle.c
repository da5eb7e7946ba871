/* rt_handle.c: the runtime must never corrupt or kill the host through its
 * handles and size arithmetic: a closed handle is refused, the last-error
 * record is per thread, the reported thread count is the one used, and
 * input sizes whose byte count wraps size_t are refused (docs/hardening.md). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stddef.h>

#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static char dir[64];
static char so[200], wfile[200];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/toy.so", dir);
    snprintf(wfile, sizeof wfile, "%s/w.safetensors", dir);
}

static void teardown(void) { rt_rmdir(dir); }

static ltc_model *open_bound(void) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    RtSoOpts o = rt_so_defaults();
    cr_assert_eq(rt_build_so(so, p, 1, &o), 0, "cc failed");
    arena_free(&a);
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    cr_assert_not_null(m, "%s", err.message);
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
    cr_assert_eq(ltc_model_bind_weights_file(m, wfile), 0, "%s", ltc_last_error(m)->message);
    return m;
}

TestSuite(handle, .init = setup, .fini = teardown);

/* A legal stride-0 view of 2^62 elements: (size_t)n * 4 wraps to 0, so the
 * old code allocated 64 bytes and the strided copy wrote far past them. */
Test(handle, stride0_view_whose_bytes_wrap_is_refused) {
    ltc_model *m = open_bound();
    float x[4] = {1, 2, 3, 4}, y[4], s[1];
    int64_t xs[3] = {(int64_t)1 << 30, (int64_t)1 << 30, 4}, st[3] = {0, 0, 1};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, st, 0};
    int64_t ys[3] = {1, 1, 4}, ss[2] = {1, 1};
    DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, ys, NULL, 0},
                       {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
    cr_assert_eq(ltc_model_run(m, NULL, &in, 1, out, 2), -1);
    const ltc_error *e = ltc_last_error(m);
    cr_assert(e->code == LTC_ERR_SHAPE || e->code == LTC_ERR_NOMEM, "code %d: %s", e->code, e->message);
    /* Strides whose element offsets overflow int64 are refused too. */
    int64_t xs2[3] = {2, 2, 4}, st2[3] = {INT64_MAX / 2, 0, 1};
    DLTensor in2 = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs2, st2, 0};
    cr_assert_eq(ltc_model_run(m, NULL, &in2, 1, out, 2), -1);
    cr_assert(e->code == LTC_ERR_SHAPE || e->code == LTC_ERR_LAYOUT, "code %d: %s", e->code, e->message);
    ltc_model_close(m);
}

/* A closed handle is an error, not a use-after-free. */
Test(handle, closed_handle_is_refused) {
    ltc_model *m = open_bound();
    ltc_model_close(m);
    cr_assert_eq(ltc_get_num_threads(m), -1);
    cr_assert_eq(ltc_set_num_threads(m, 2), -1);
    cr_assert_eq(ltc_model_num_entries(m), -1);
    cr_assert_null(ltc_model_compiler_version(m));
    cr_assert_eq(ltc_model_run(m, NULL, NULL, 0, NULL, 0), -1);
    cr_assert_eq(ltc_model_bind_weights_file(m, wfile), -1);
    cr_assert_eq(ltc_last_error(m)->code, LTC_ERR_ARG);
    cr_assert(strstr(ltc_last_error(m)->message, "closed"), "%s", ltc_last_error(m)->message);
    ltc_model_close(m);                   /* a second close is harmless */
}

static void *fail_other_way(void *arg) {
    ltc_model *m = arg;
    cr_assert_eq(ltc_model_run(m, NULL, NULL, 5, NULL, 0), -1);
    cr_assert(strstr(ltc_last_error(m)->message, "takes 1 input"), "%s", ltc_last_error(m)->message);
    return NULL;
}

/* The last error is per thread: another thread's failure does not
 * overwrite the record this thread reads. */
Test(handle, last_error_is_per_thread) {
    ltc_model *m = open_bound();
    cr_assert_eq(ltc_model_run(m, "nope", NULL, 0, NULL, 0), -1);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fail_other_way, m), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_str_eq(ltc_last_error(m)->message, "no entry named 'nope'");
    ltc_model_close(m);
}

/* ltc_get_num_threads reports the pool's real size (it is capped). */
Test(handle, num_threads_is_the_count_used) {
    ltc_model *m = open_bound();
    cr_assert_eq(ltc_set_num_threads(m, 5000), 0, "%s", ltc_last_error(m)->message);
    int n = ltc_get_num_threads(m);
    cr_assert(n > 0 && n <= 1024, "reported %d threads", n);
    cr_assert_eq(ltc_set_num_threads(m, 2), 0);
    cr_assert_eq(ltc_get_num_threads(m), 2);
    ltc_model_close(m);
}
