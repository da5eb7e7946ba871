/* main.c: a host built against the installed lispetorchc package.
 *
 * Loads the model that CMakeLists.txt compiled at build time (its path is
 * SIMILARITY_MODEL_PATH, from the `similarity` target), runs it at two
 * sizes the example call never used, and checks every output against the
 * formula of model.lsp computed here:
 *
 *   y[b,i,j] = max(0, 0.5 * (x[b,i,:] . x[b,j,:]) - 1)
 *
 * and one value worked out by hand.  Prints "consumer: ok" and exits 0, or
 * says what differs and exits 1.  Uses only lispetorchc/runtime.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lispetorchc/runtime.h"

enum { E = 3 };

/* The reference: the same formula, in double precision. */
static double expected(const float *x, int S, int b, int i, int j) {
    double dot = 0;
    for (int e = 0; e < E; e++) dot += (double)x[(b * S + i) * E + e] * x[(b * S + j) * E + e];
    double v = 0.5 * dot - 1.0;
    return v > 0 ? v : 0;
}

/* One run at batch B and sequence length S: 0 when every value matches. */
static int run_at(ltc_model *m, int B, int S) {
    int64_t xs[3] = {B, S, E}, ys[3] = {B, S, S};
    DLTensor *x = ltc_tensor_alloc(LTC_F32, 3, xs), *y = ltc_tensor_alloc(LTC_F32, 3, ys);
    if (!x || !y) {
        fprintf(stderr, "consumer: out of memory\n");
        ltc_tensor_free(x), ltc_tensor_free(y);
        return 1;
    }
    float *xv = x->data;
    /* x[b,i,e] = (b + i + e) / 2: small exact binary fractions */
    for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++)
            for (int e = 0; e < E; e++) xv[(b * S + i) * E + e] = (float)(b + i + e) / 2;
    int bad = 0;
    if (ltc_model_run(m, "similarity", x, 1, y, 1) != 0) {
        fprintf(stderr, "consumer: run at B=%d S=%d: %s\n", B, S, ltc_last_error(m)->message);
        bad = 1;
    }
    const float *yv = y->data;
    for (int b = 0; b < B && !bad; b++)
        for (int i = 0; i < S && !bad; i++)
            for (int j = 0; j < S && !bad; j++) {
                double want = expected(xv, S, b, i, j), got = yv[(b * S + i) * S + j];
                if (fabs(got - want) > 1e-5 * (1 + fabs(want))) {
                    fprintf(stderr, "consumer: B=%d S=%d y[%d,%d,%d] = %g, expected %g\n", B, S, b, i, j, got, want);
                    bad = 1;
                }
            }
    /* by hand: x[1,2,:] = (1.5, 2, 2.5), x[1,0,:] = (0.5, 1, 1.5);
     * 0.75 + 2 + 3.75 = 6.5; 0.5 * 6.5 - 1 = 2.25 */
    if (!bad && B > 1 && S > 2 && yv[(1 * S + 2) * S + 0] != 2.25f) {
        fprintf(stderr, "consumer: y[1,2,0] = %g, 2.25 by hand\n", yv[(1 * S + 2) * S + 0]);
        bad = 1;
    }
    ltc_tensor_free(x);
    ltc_tensor_free(y);
    return bad;
}

int main(void) {
    ltc_error err;
    ltc_model *m = ltc_model_open(SIMILARITY_MODEL_PATH, &err);
    if (!m) {
        fprintf(stderr, "consumer: cannot open %s: %s\n", SIMILARITY_MODEL_PATH, err.message);
        return 1;
    }
    /* the model has no parameters; a model that has them binds the file
     * the compile wrote beside it */
    if (ltc_model_num_params(m) > 0 && ltc_model_bind_weights_file(m, SIMILARITY_WEIGHTS_PATH) != 0) {
        fprintf(stderr, "consumer: %s\n", ltc_last_error(m)->message);
        ltc_model_close(m);
        return 1;
    }
    int bad = run_at(m, 2, 3) || run_at(m, 3, 7);
    printf("consumer: runtime %s, model by lispetorchc %s: %s\n", ltc_runtime_version(),
           ltc_model_compiler_version(m), bad ? "FAILED" : "ok");
    ltc_model_close(m);
    return bad;
}
