/* rt_exec.c: the executor (runtime/exec.c) and the thread pool, with the
 * hand-made toy plan of rt_testlib.h and kernels compiled into this test. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "tests/unit/rt_testlib.h"

/* ---- thread pool ------------------------------------------------------------ */
typedef struct Cover { _Atomic int *hits; _Atomic int calls; } Cover;

static void cover(void *arg, int64_t b, int64_t e) {
    Cover *c = arg;
    atomic_fetch_add(&c->calls, 1);
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hits[i], 1);
}

Test(pool, every_tile_exactly_once) {
    int threads[] = {1, 2, 3, 7};
    int64_t sizes[] = {0, 1, 2, 5, 100, 1001};
    for (size_t t = 0; t < 4; t++) {
        RtPool *p = rt_pool_new(threads[t]);
        cr_assert_not_null(p);
        cr_assert_eq(rt_pool_size(p), threads[t]);
        for (int rep = 0; rep < 20; rep++)
            for (size_t s = 0; s < 6; s++) {
                int64_t n = sizes[s];
                Cover c;
                c.hits = calloc((size_t)n + 1, sizeof *c.hits);
                atomic_init(&c.calls, 0);
                rt_pool_for(p, n, cover, &c);
                for (int64_t i = 0; i < n; i++)
                    cr_assert_eq(atomic_load(&c.hits[i]), 1, "threads %d n %lld tile %lld", threads[t], (long long)n, (long long)i);
                cr_assert_leq(atomic_load(&c.calls), threads[t]);
                free(c.hits);
            }
        rt_pool_free(p);
    }
}

Test(pool, default_is_online_cores) {
    RtPool *p = rt_pool_new(0);
    cr_assert_eq(rt_pool_size(p), rt_online_cores());
    rt_pool_free(p);
    rt_pool_free(NULL);
}

/* ---- polynomials and symbols ----------------------------------------------------- */
Test(exec, poly_eval) {
    int64_t sv[LTC_MAX_SYMS] = {3, 5};
    Poly p = rt_p(16, SB | SS);
    p.t[p.n++] = rt_d(7, 0);
    p.t[p.n++] = rt_d(2, SS);
    int64_t v;
    cr_assert(poly_value(&p, sv, &v));
    cr_assert_eq(v, 16 * 15 + 7 + 10);
    int64_t big[LTC_MAX_SYMS] = {INT64_MAX / 2, 5};
    cr_assert_not(poly_value(&p, big, &v), "overflow must be detected");
}

Test(exec, bind_symbols_and_errors) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    int64_t sv[LTC_MAX_SYMS];
    char err[512];
    int64_t s1[3] = {3, 17, 4};
    const int64_t *sh[1] = {s1};
    int rk[1] = {3};
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sv[0], 3);
    cr_assert_eq(sv[1], 17);

    int64_t s2[3] = {2, 128, 255};
    sh[0] = s2;
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), -1);
    cr_assert_str_eq(err, "input 'x': expected rank 3 [B,S,4], got [2,128,255]");

    int64_t s3[2] = {2, 4};
    sh[0] = s3; rk[0] = 2;
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), -1);
    cr_assert_str_eq(err, "input 'x': expected rank 3 [B,S,4], got rank 2 [2,4]");
    arena_free(&a);
}

Test(exec, bind_product_dims) {
    /* inputs a: [B*S, 8], b: [S]: S from b, then B from a's first dim. */
    Arena ar; arena_init(&ar);
    Plan *p = rt_toy_plan(&ar);
    PlanTensor in[2] = {0};
    in[0].name = "a"; in[0].shape.rank = 2; in[0].shape.d[0] = rt_d(1, SB | SS); in[0].shape.d[1] = rt_d(8, 0);
    in[1].name = "b"; in[1].shape.rank = 1; in[1].shape.d[0] = rt_d(1, SS);
    p->inputs = in; p->ninputs = 2;
    int64_t a[2] = {6 * 7, 8}, b[1] = {7};
    const int64_t *sh[2] = {a, b};
    int rk[2] = {2, 1};
    int64_t sv[LTC_MAX_SYMS];
    char err[512];
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sv[0], 6);
    cr_assert_eq(sv[1], 7);
    a[0] = 43;   /* not a multiple of S */
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), -1);
    cr_assert_str_eq(err, "input 'a': expected rank 2 [B*S,8], got [43,8]");
    arena_free(&ar);
}

/* ---- running the toy plan ---------------------------------------------------------- */
static void run_toy(int nthreads, int64_t B, int64_t S, unsigned seed) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    RtDevice *pool = rt_device_open("cpu", nthreads, NULL, 0);
    void *params[2] = {(void *)rt_w, (void *)rt_b};
    RtProgram pr = {p, rt_toy_fns(), NULL, params, NULL, NULL, false, 0};
    char err[512];
    cr_assert_eq(rt_prepack(&pr, pool, err, sizeof err), 0, "%s", err);
    int64_t rows = B * S;
    float *x = malloc(sizeof(float) * (size_t)(rows * 4 + 1)), *y = malloc(sizeof(float) * (size_t)(rows * 4 + 1));
    float *s = malloc(sizeof(float) * (size_t)(rows + 1)), *ry = malloc(sizeof(float) * (size_t)(rows * 4 + 1));
    float *rs = malloc(sizeof(float) * (size_t)(rows + 1));
    for (int64_t i = 0; i < rows * 4; i++) x[i] = rt_rand(&seed);
    int64_t shape[3] = {B, S, 4};
    const int64_t *sh[1] = {shape};
    int rk[1] = {3};
    int64_t sv[LTC_MAX_SYMS];
    cr_assert_eq(rt_bind_symbols(p, rk, sh, sv, err, sizeof err), 0, "%s", err);
    RtScratch scr = {0};
    void *ins[1] = {x}, *outs[2] = {y, s};
    cr_assert_eq(rt_run(&pr, pool, &scr, sv, ins, outs, err, sizeof err), 0, "%s", err);
    rt_toy_ref(x, rows, rt_w, rt_b, ry, rs);
    for (int64_t i = 0; i < rows * 4; i++) cr_assert_float_eq(y[i], ry[i], 1e-6, "y[%lld]", (long long)i);
    for (int64_t i = 0; i < rows; i++) cr_assert_float_eq(s[i], rs[i], 1e-5, "s[%lld]", (long long)i);
    cr_assert_geq(scr.cap, (size_t)(16 * rows));
    rt_scratch_free(&scr);
    rt_program_free_packed(&pr);
    rt_device_close(pool);
    free(x); free(y); free(s); free(ry); free(rs);
    arena_free(&a);
}

Test(exec, toy_plan_matches_reference) {
    /* small steps run on the calling thread; [4,1000] and [3,2049] are big
     * enough (> 16 KB per step) to be split across the pool */
    int64_t shapes[][2] = {{1, 1}, {2, 8}, {3, 17}, {1, 129}, {5, 3}, {4, 1000}, {3, 2049}};
    int threads[] = {1, 2, 3};
    unsigned seed = 7;
    for (size_t t = 0; t < 3; t++)
        for (size_t i = 0; i < 7; i++) run_toy(threads[t], shapes[i][0], shapes[i][1], seed++);
}

Test(exec, empty_batch_runs_nothing) { run_toy(2, 0, 5, 1); }

Test(exec, unbound_params_and_missing_prepack) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    void *params[2] = {NULL, NULL};
    RtProgram pr = {p, rt_toy_fns(), NULL, params, NULL, NULL, false, 0};
    char err[512];
    int64_t sv[LTC_MAX_SYMS] = {1, 1};
    float x[4] = {0}, y[4], s[1];
    void *ins[1] = {x}, *outs[2] = {y, s};
    RtScratch scr = {0};
    cr_assert_eq(rt_run(&pr, rt_test_device(), &scr, sv, ins, outs, err, sizeof err), -1);
    cr_assert(strstr(err, "not bound") != NULL, "%s", err);
    cr_assert_eq(rt_prepack(&pr, rt_test_device(), err, sizeof err), -1);
    cr_assert_str_eq(err, "entry 'forward': parameter 'layer.w' is not bound (bind a weights file first)");
    rt_scratch_free(&scr);
    rt_program_free_packed(&pr);
    arena_free(&a);
}

/* ---- program set-up through a lookup (the compiler's JIT path) ---------------------- */
static int toy_lookup(void *ctx, const char *name, void **fn) {
    static const char *const names[4] = {"k0_pack", "k1_relu", "k2_affine", "k3_rowsum"};
    (void)ctx;
    for (int i = 0; i < 4; i++)
        if (strcmp(names[i], name) == 0) {
            *fn = rt_toy_fns()[i];
            return 0;
        }
    return -1;
}

Test(exec, program_init_with_lookup) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    RtProgram pr;
    char err[256];
    cr_assert_eq(rt_program_init(&pr, p, toy_lookup, p, err, sizeof err), 0, "%s", err);
    pr.params[0] = (void *)rt_w;
    pr.params[1] = (void *)rt_b;
    cr_assert_eq(rt_prepack(&pr, rt_test_device(), err, sizeof err), 0, "%s", err);
    float x[8] = {1, -1, 2, -2, 0.5f, 3, -4, 1}, y[8], s[2], ry[8], rs[2];
    int64_t sv[LTC_MAX_SYMS] = {1, 2};
    void *ins[1] = {x}, *outs[2] = {y, s};
    RtScratch scr = {0};
    cr_assert_eq(rt_run(&pr, rt_test_device(), &scr, sv, ins, outs, err, sizeof err), 0, "%s", err);
    rt_toy_ref(x, 2, rt_w, rt_b, ry, rs);
    for (int i = 0; i < 8; i++) cr_assert_float_eq(y[i], ry[i], 1e-6);
    rt_scratch_free(&scr);
    rt_program_free(&pr);
    p->kernels[2].name = "k2_unknown";
    cr_assert_eq(rt_program_init(&pr, p, toy_lookup, p, err, sizeof err), -1);
    cr_assert_str_eq(err, "kernel 'k2_unknown' not found");
    arena_free(&a);
}

/* Big steps are split across the pool, small ones stay on the caller. */
static pthread_t seen_threads[64];
static _Atomic int nseen;

static void k1_recording(void *const *p, const int64_t *d, const float *f, int64_t t0, int64_t t1) {
    int i = atomic_fetch_add(&nseen, 1);
    if (i < 64) seen_threads[i] = pthread_self();
    k1_relu(p, d, f, t0, t1);
}

static int distinct_callers(int64_t B, int64_t S) {
    Arena a; arena_init(&a);
    Plan *p = rt_toy_plan(&a);
    RtDevice *pool = rt_device_open("cpu", 2, NULL, 0);
    void *fns[4];
    rt_cpu_handles((const LtcKernelFn[4]){k0_pack, k1_recording, k2_affine, k3_rowsum}, fns, 4);
    void *params[2] = {(void *)rt_w, (void *)rt_b};
    RtProgram pr = {p, fns, NULL, params, NULL, NULL, false, 0};
    char err[256];
    cr_assert_eq(rt_prepack(&pr, pool, err, sizeof err), 0, "%s", err);
    int64_t rows = B * S, sv[LTC_MAX_SYMS] = {B, S};
    float *x = calloc((size_t)rows * 4, 4), *y = calloc((size_t)rows * 4, 4), *s = calloc((size_t)rows, 4);
    void *ins[1] = {x}, *outs[2] = {y, s};
    RtScratch scr = {0};
    atomic_store(&nseen, 0);
    cr_assert_eq(rt_run(&pr, pool, &scr, sv, ins, outs, err, sizeof err), 0, "%s", err);
    int n = atomic_load(&nseen), distinct = n > 0;
    for (int i = 1; i < n && i < 64; i++) distinct += !pthread_equal(seen_threads[i], seen_threads[0]);
    rt_scratch_free(&scr);
    rt_program_free_packed(&pr);
    rt_device_close(pool);
    free(x); free(y); free(s);
    arena_free(&a);
    return distinct;
}

Test(exec, big_steps_use_the_pool) {
    cr_assert_eq(distinct_callers(1, 8), 1, "a 128-byte step must run on the caller only");
    cr_assert_eq(distinct_callers(4, 1000), 2, "a 64 KB step must be split over 2 threads");
}
