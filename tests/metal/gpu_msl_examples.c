/* gpu_msl_examples.c: the MSL of every example, as `lispetorchc EX
 * --target metal --emit metal` writes it (gpu_examples.h), in f32, bf16
 * and f16: it passes msl_check (the shim's CHECK mode and attribute
 * whitelist) and builds in RUN mode with every kernel's lane entry (the
 * parameters of each kernel read and passed).  Needs lispetorchc built;
 * skipped where it has no metal target (the backend lives on its own
 * branch until merged). */
#include <sys/stat.h>

#include "tests/unit/gpu_examples.h"
#include "tests/metal/msl_runner.h"

TestSuite(gpu_msl_examples, .timeout = 900);

static char err[1 << 16];

static bool have_metal_target(const char *ex) {
    char out[256], cmd[1024];
    snprintf(out, sizeof out, "%s/gx_probe_%d.metal", LTC_BINARY_DIR, (int)getpid());
    snprintf(cmd, sizeof cmd, "'%s/lispetorchc' '%s' --target metal --emit metal -o '%s' > /dev/null 2>&1", LTC_BINARY_DIR,
             ex, out);
    bool ok = system(cmd) == 0;
    remove(out);
    return ok;
}

static void every_example(const char *extra) {
    int nex;
    char **ex = gx_examples(&nex);
    cr_assert_gt(nex, 0);
    struct stat st;
    cr_assert(stat(LTC_BINARY_DIR "/lispetorchc", &st) == 0, "build lispetorchc first (ninja lispetorchc)");
    if (!have_metal_target(ex[0])) cr_skip_test("this lispetorchc has no --target metal");
    for (int e = 0; e < nex; e++) {
        GxSource g;
        gx_generate_opts(ex[e], "metal", "metal", extra, &g);
        cr_expect(msl_check(g.all, err, sizeof err) == 0, "%s%s: msl_check:\n%s", ex[e], extra ? extra : "", err);
        const char *names[256];
        for (int k = 0; k < g.n; k++) names[k] = g.k[k].name;
        MslProgram *p = msl_build(g.all, names, g.n, err, sizeof err);
        cr_expect(p, "%s%s: msl_build:\n%s", ex[e], extra ? extra : "", err);
        msl_free(p);
        fprintf(stderr, "metal: %s%s: %d kernels check and build\n", strrchr(ex[e], '/') + 1, extra ? extra : "", g.n);
        gx_free(&g);
    }
}

Test(gpu_msl_examples, every_example_checks) { every_example(NULL); }
Test(gpu_msl_examples, every_example_checks_bf16) { every_example(" --dtype bf16"); }
Test(gpu_msl_examples, every_example_checks_f16) { every_example(" --dtype f16"); }
