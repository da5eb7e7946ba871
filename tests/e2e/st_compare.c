/* st_compare: compare two safetensors files tensor by tensor.
 *
 *   st_compare A.safetensors B.safetensors [TOL]
 *
 * Every tensor of A must exist in B with the same dtype and shape; float
 * tensors pass when max|a-b| / max(max|a|, tiny) <= TOL (default 1e-4),
 * integer and bool tensors must be equal.  Prints one line per tensor that
 * fails and a summary; exit 0 iff all pass.  Used to check `run` (JIT
 * kernels) against `run --interpret` (the reference interpreter). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "support/safetensors.h"

static double value(const StTensor *t, size_t i) {
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case ST_F32: { float f; memcpy(&f, p + 4 * i, 4); return f; }
    case ST_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return f16_to_f32(h); }
    case ST_BF16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return bf16_to_f32(h); }
    case ST_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case ST_BOOL: return p[i] != 0;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: st_compare A B [TOL]\n"); return 2; }
    double tol = argc > 3 ? atof(argv[3]) : 1e-4;
    StFile a, b;
    char err[512];
    if (st_open(argv[1], &a, err, sizeof err)) { fprintf(stderr, "%s: %s\n", argv[1], err); return 1; }
    if (st_open(argv[2], &b, err, sizeof err)) { fprintf(stderr, "%s: %s\n", argv[2], err); return 1; }
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < a.n; i++) {
        const StTensor *x = &a.t[i], *y = st_find(&b, x->name);
        if (!y) { printf("%s: missing in %s\n", x->name, argv[2]); bad++; continue; }
        if (x->dtype != y->dtype || x->rank != y->rank || memcmp(x->shape, y->shape, sizeof(int64_t) * x->rank)) {
            printf("%s: dtype or shape differ\n", x->name);
            bad++;
            continue;
        }
        size_t n = x->nbytes / st_dtype_size(x->dtype);
        double maxdiff = 0, maxref = 0;
        for (size_t k = 0; k < n; k++) {
            double u = value(x, k), v = value(y, k);
            if (isnan(u) && isnan(v)) continue;
            double dd = fabs(u - v);
            if (isnan(dd)) dd = INFINITY;
            if (dd > maxdiff) maxdiff = dd;
            if (fabs(u) > maxref) maxref = fabs(u);
        }
        double rel = maxdiff / (maxref > 1e-30 ? maxref : 1e-30);
        bool exact = x->dtype == ST_I64 || x->dtype == ST_BOOL;
        if (rel > worst) worst = rel;
        if ((exact && maxdiff != 0) || (!exact && rel > tol)) {
            printf("%s: max|a-b| = %.3g, relative %.3g > %.1g\n", x->name, maxdiff, rel, tol);
            bad++;
        }
    }
    printf("st_compare: %d tensors, %d differ, worst relative error %.3g\n", a.n, bad, worst);
    st_close(&a);
    st_close(&b);
    return bad ? 1 : 0;
}
