/* fuzz_weights.c: libFuzzer target for binding weights into a compiled
 * model (hardening issue, item 4d).
 *
 * A toy model.so (tests/unit/rt_testlib.h: kernels in C, built with cc) is
 * built and opened once; every input is a safetensors image bound with
 * ltc_model_bind_weights_memory, and, when that succeeds, the model runs
 * once.  A failed binding must leave the model usable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lispetorchc/runtime.h"
#include "tests/unit/rt_testlib.h"

static ltc_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    char dir[64], so[128];
    if (!rt_tmpdir(dir, sizeof dir)) return 0;
    snprintf(so, sizeof so, "%s/toy.so", dir);
    Arena a;
    arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    RtSoOpts o = rt_so_defaults();
    if (rt_build_so(so, p, 1, &o) == 0) model = ltc_model_open(so, NULL);
    arena_free(&a);
    if (model) ltc_set_num_threads(model, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (!model) { fprintf(stderr, "fuzz_weights: cannot build the toy model (is cc installed?)\n"); abort(); }
    if (ltc_model_bind_weights_memory(model, data, n) != 0) return 0;
    float x[24], y[24], s[6];
    for (int i = 0; i < 24; i++) x[i] = (float)i - 12;
    int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
    DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                       {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
    (void)ltc_model_run(model, NULL, &in, 1, out, 2);
    return 0;
}
