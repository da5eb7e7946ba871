/* gpu_ocl_examples.c: the OpenCL C of every example, as the opencl
 * backend writes it, builds with the machine's OpenCL (PoCL) — the build
 * log is shown on failure — and passes clang-14's OpenCL C 1.2 syntax
 * check where clang-14 is installed; in f32, bf16 and f16 (--dtype: u16
 * storage, vload_half/vstore_half_rte of OpenCL 1.2 core, no cl_khr_fp16). */
#include "tests/unit/gpu_examples.h"
#include "tests/unit/ocl_runner.h"

TestSuite(gpu_ocl_examples, .init = o_setup, .fini = o_teardown, .timeout = 900);

static void every_example(const char *extra) {
    int nex;
    char **ex = gx_examples(&nex);
    cr_assert_gt(nex, 0);
    bool clang = system("command -v clang-14 > /dev/null 2>&1") == 0;
    for (int e = 0; e < nex; e++) {
        GxSource g;
        gx_generate_opts(ex[e], "opencl", "opencl", extra, &g);
        char *log = NULL;
        cl_program p = ocl_build(&og.cl, g.all, &log);
        cr_expect(p, "%s: clBuildProgram failed:\n%s", ex[e], log ? log : "(no log)");
        if (p) og.cl.ReleaseProgram(p);
        free(log);
        if (clang) {
            char path[256], cmd[512];
            snprintf(path, sizeof path, "%s/gx_%d.cl", LTC_BINARY_DIR, (int)getpid());
            FILE *f = fopen(path, "w");
            cr_assert(f);
            fputs(g.all, f);
            fclose(f);
            snprintf(cmd, sizeof cmd, "clang-14 -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -fsyntax-only '%s'", path);
            cr_expect(system(cmd) == 0, "%s: clang-14 -fsyntax-only rejects the OpenCL C", ex[e]);
            remove(path);
        }
        fprintf(stderr, "opencl: %s%s: %d kernels build%s\n", strrchr(ex[e], '/') + 1, extra ? extra : "", g.n,
                clang ? ", clang-14 syntax ok" : "");
        gx_free(&g);
    }
}

Test(gpu_ocl_examples, every_example_builds) { every_example(NULL); }
Test(gpu_ocl_examples, every_example_builds_bf16) { every_example(" --dtype bf16"); }
Test(gpu_ocl_examples, every_example_builds_f16) { every_example(" --dtype f16"); }
