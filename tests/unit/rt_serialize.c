/* rt_serialize.c: Plan -> bytes -> Plan (plan/serialize.c and
 * plan/plan_read.c): exact round trip, and corrupt or truncated blobs
 * are refused without crashing. */
#include <criterion/criterion.h>

#include "tests/unit/rt_testlib.h"

static void same_poly(const Poly *a, const Poly *b) {
    cr_assert_eq(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        cr_assert_eq(a->t[i].k, b->t[i].k);
        cr_assert_eq(a->t[i].sym, b->t[i].sym);
    }
}

static void same_tensors(const PlanTensor *a, const PlanTensor *b, int n) {
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(a[i].name, b[i].name);
        cr_assert_eq(a[i].dtype, b[i].dtype);
        cr_assert_eq(a[i].shape.rank, b[i].shape.rank);
        for (int j = 0; j < a[i].shape.rank; j++) {
            cr_assert_eq(a[i].shape.d[j].k, b[i].shape.d[j].k);
            cr_assert_eq(a[i].shape.d[j].sym, b[i].shape.d[j].sym);
        }
    }
}

static void same_bufs(const PlanBuf *a, const PlanBuf *b, int n) {
    for (int i = 0; i < n; i++) {
        cr_assert_eq(a[i].kind, b[i].kind);
        cr_assert_eq(a[i].index, b[i].index);
        same_poly(&a[i].offset, &b[i].offset);
        same_poly(&a[i].bytes, &b[i].bytes);
        cr_assert_str_eq(a[i].what, b[i].what);
    }
}

static void same_steps(const PlanStep *a, const PlanStep *b, int n) {
    for (int i = 0; i < n; i++) {
        cr_assert_eq(a[i].kernel, b[i].kernel);
        cr_assert_eq(a[i].nbufs, b[i].nbufs);
        for (int j = 0; j < a[i].nbufs; j++) cr_assert_eq(a[i].bufs[j], b[i].bufs[j]);
        cr_assert_eq(a[i].ndims, b[i].ndims);
        for (int j = 0; j < a[i].ndims; j++) same_poly(&a[i].dims[j], &b[i].dims[j]);
        cr_assert_eq(memcmp(a[i].f, b[i].f, sizeof a[i].f), 0);
        same_poly(&a[i].ntiles, &b[i].ntiles);
    }
}

static void same_plan(const Plan *a, const Plan *b) {
    cr_assert_str_eq(a->graph->name, b->graph->name);
    cr_assert_eq(a->graph->nsyms, b->graph->nsyms);
    for (int i = 0; i < a->graph->nsyms; i++) {
        cr_assert_str_eq(a->graph->syms[i].name, b->graph->syms[i].name);
        cr_assert_eq(a->graph->syms[i].example, b->graph->syms[i].example);
    }
    cr_assert_eq(a->ninputs, b->ninputs);  same_tensors(a->inputs, b->inputs, a->ninputs);
    cr_assert_eq(a->noutputs, b->noutputs); same_tensors(a->outputs, b->outputs, a->noutputs);
    cr_assert_eq(a->nparams, b->nparams);  same_tensors(a->params, b->params, a->nparams);
    cr_assert_eq(a->nbufs, b->nbufs);      same_bufs(a->bufs, b->bufs, a->nbufs);
    cr_assert_eq(a->nkernels, b->nkernels);
    for (int i = 0; i < a->nkernels; i++) {
        cr_assert_str_eq(a->kernels[i].name, b->kernels[i].name);
        cr_assert_str_eq(a->kernels[i].family, b->kernels[i].family);
        cr_assert_null(b->kernels[i].node);
    }
    cr_assert_eq(a->nprepack, b->nprepack); same_steps(a->prepack, b->prepack, a->nprepack);
    cr_assert_eq(a->nsteps, b->nsteps);     same_steps(a->steps, b->steps, a->nsteps);
    same_poly(&a->arena_bytes, &b->arena_bytes);
    cr_assert_eq(a->npacked, b->npacked);   same_bufs(a->packed, b->packed, a->npacked);
}

Test(serialize, round_trip_two_entries) {
    Arena a; arena_init(&a);
    Plan *p[2] = {rt_toy_plan(&a), rt_toy_plan(&a)};
    /* make the second one different: another name, more terms, odd floats */
    ((Graph *)p[1]->graph)->name = "decode";
    p[1]->steps[1].f[0] = -0.0f; p[1]->steps[1].f[3] = 1e-30f;
    p[1]->arena_bytes.t[p[1]->arena_bytes.n++] = rt_d(64, SS);
    p[1]->bufs[4].what = NULL;
    StrBuf b = {0};
    LtcDiag d = {0};
    cr_assert_eq(plan_serialize(p, 2, &b, &d), 0, "%s", d.msg);
    Arena r; arena_init(&r);
    Plan **q; int nq;
    cr_assert_eq(plan_deserialize(&r, b.s, b.len, &q, &nq, &d), 0, "%s", d.msg);
    cr_assert_eq(nq, 2);
    same_plan(p[0], q[0]);
    cr_assert_null(q[1]->bufs[4].what);
    p[1]->bufs[4].what = "x"; q[1]->bufs[4].what = "x";
    same_plan(p[1], q[1]);
    /* serializing the copy gives the same bytes */
    StrBuf b2 = {0};
    q[1]->bufs[4].what = NULL; p[1]->bufs[4].what = NULL;
    cr_assert_eq(plan_serialize(q, nq, &b2, &d), 0);
    cr_assert_eq(b2.len, b.len);
    cr_assert_eq(memcmp(b.s, b2.s, b.len), 0);
    sb_free(&b); sb_free(&b2);
    arena_free(&r); arena_free(&a);
}

Test(serialize, truncated_and_corrupt_blobs_are_refused) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    StrBuf b = {0};
    LtcDiag d = {0};
    cr_assert_eq(plan_serialize(p, 1, &b, &d), 0);
    for (size_t n = 0; n < b.len; n++) {
        Arena r; arena_init(&r);
        Plan **q; int nq;
        cr_assert_eq(plan_deserialize(&r, b.s, n, &q, &nq, &d), -1, "prefix of %zu bytes accepted", n);
        cr_assert(d.msg[0]);
        arena_free(&r);
    }
    /* random byte changes: either refused, or a plan whose indices are valid */
    unsigned seed = 12345;
    char *c = malloc(b.len);
    for (int it = 0; it < 3000; it++) {
        memcpy(c, b.s, b.len);
        int flips = 1 + it % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % b.len;
            seed = seed * 1103515245u + 12345u;
            c[pos] = (char)(seed >> 16);
        }
        Arena r; arena_init(&r);
        Plan **q; int nq;
        if (plan_deserialize(&r, c, b.len, &q, &nq, &d) == 0)
            for (int i = 0; i < nq; i++)
                for (int s = 0; s < q[i]->nsteps; s++) {
                    cr_assert_lt(q[i]->steps[s].kernel, q[i]->nkernels);
                    for (int j = 0; j < q[i]->steps[s].nbufs; j++) cr_assert_lt(q[i]->steps[s].bufs[j], q[i]->nbufs);
                }
        arena_free(&r);
    }
    free(c);
    cr_assert_eq(plan_deserialize(&a, "LTCPLAN0xxxxxxxxxx", 18, &(Plan **){0}, &(int){0}, &d), -1);
    cr_assert(strstr(d.msg, "bad magic"));
    sb_free(&b);
    arena_free(&a);
}
