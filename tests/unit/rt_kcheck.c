/* rt_kcheck.c: the kernel contract through a host's path (model.so,
 * ltc_model_open, bind, run) on the toy model of rt_testlib.h: a step
 * whose dims or tiles reach past its buffers, or that lost a buffer, is
 * refused before any kernel runs, with the step, kernel and family named;
 * a kernel of an unknown family is refused when the model is opened. */
#include <criterion/criterion.h>
#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static RtToyFiles tf;
static const char *so = tf.so, *wfile = tf.wfile;
static void setup(void) { cr_assert_eq(rt_toy_files(&tf), 0); }
static void teardown(void) { rt_rmdir(tf.dir); }
TestSuite(kcheck, .init = setup, .fini = teardown);

typedef void (*Mutate)(Plan *p);

/* Build the toy model with mutate applied, open, bind, run at B=2, S=3. */
static int run_with(Mutate mutate, char *msg, size_t n) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    if (mutate) mutate(p[0]);
    RtSoOpts o = rt_so_defaults();
    cr_assert_eq(rt_build_so(so, p, 1, &o), 0);
    arena_free(&a);
    return rt_toy_open_run(so, wfile, msg, n);
}

Test(kcheck, intact_plan_runs) {
    char msg[600];
    cr_assert_eq(run_with(NULL, msg, sizeof msg), 0, "%s", msg);
}

/* rows of 5 floats over the [B*S, 4] relu buffer: 6 * 5 * 4 = 120 > 96 */
static void wider_rows(Plan *p) { p->steps[1].dims[0] = rt_p(5, 0); }
Test(kcheck, a_dim_past_the_buffer_is_refused) {
    char msg[600];
    cr_assert_eq(run_with(wider_rows, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "plan: step 1 (k2_affine, family toy_affine): buffer 0 needs 120 bytes, the plan gives 96"),
              "%s", msg);
}

static void more_tiles(Plan *p) { p->steps[2].ntiles.t[0].k = 2; }    /* 2*B*S rows */
Test(kcheck, more_tiles_than_rows_is_refused) {
    char msg[600];
    cr_assert_eq(run_with(more_tiles, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "plan: step 2 (k3_rowsum, family toy_rowsum): buffer 0 needs 192 bytes, the plan gives 96"),
              "%s", msg);
}

static void wider_pack(Plan *p) { p->prepack[0].dims[0] = rt_p(8, 0); }
Test(kcheck, prepack_steps_are_checked_when_weights_are_bound) {
    char msg[600];
    cr_assert_eq(run_with(wider_pack, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "plan: prepack step 0 (k0_pack, family toy_pack): buffer 0 needs 32 bytes, the plan gives 16"),
              "%s", msg);
}

static void drop_buffer(Plan *p) { p->steps[0].nbufs = 1; }
Test(kcheck, a_missing_buffer_is_refused) {
    char msg[600];
    cr_assert_eq(run_with(drop_buffer, msg, sizeof msg), -1);
    cr_assert(strstr(msg, "plan: step 0 (k1_relu, family toy_rows): 1 buffers, the family takes 2"), "%s", msg);
}

static void unknown_family(Plan *p) { p->kernels[3].family = "rowsum2"; }
Test(kcheck, an_unknown_family_is_refused_at_open) {
    char msg[600];
    cr_assert_eq(run_with(unknown_family, msg, sizeof msg), -2);
    cr_assert(strstr(msg, "kernel 'k3_rowsum' of unknown family 'rowsum2'"), "%s", msg);
}
