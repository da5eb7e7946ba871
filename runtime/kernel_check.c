/* kernel_check.c: every step of a plan against its kernel family's
 * contract (kernel_contract.h), for the symbol values of this call.
 *
 * Why: buf_check.c proves each buffer fits the memory behind it, but a
 * kernel reaches as far into its buffers as its dims say.  A step whose
 * dims were corrupted (a GEMM's M larger than its A, an eltwise stride
 * past the end, more tiles than rows) would read or write out of bounds;
 * here the bytes each kernel may touch are computed from the step's own
 * values and compared with the buffers it is given, before any kernel
 * runs.  Done with concrete values, as buf_check.c, because the
 * comparison is then exact. */
#include "runtime/kernel_contract.h"
#include "runtime/rt_internal.h"

#include <stdio.h>

_Static_assert(KF_MAX_ARGS == PLAN_MAX_ARGS, "kernel_contract.h and plan.h disagree on buffer arguments");

static int check_list(const Plan *p, const PlanStep *steps, int n, const char *list,
                      const int64_t *symvals, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        const PlanStep *s = &steps[i];
        if (s->kernel < 0 || s->kernel >= p->nkernels || s->nbufs < 0 || s->nbufs > PLAN_MAX_ARGS ||
            s->ndims < 0 || s->ndims > PLAN_MAX_DIMS) {
            snprintf(err, errlen, "plan: %sstep %d is malformed", list, i);
            return -1;
        }
        const PlanKernel *k = &p->kernels[s->kernel];
        const char *fam = k->family ? k->family : "(none)";
        const KernelFamily *kf = kf_find(k->family);
        if (!kf) {
            snprintf(err, errlen, "plan: %sstep %d (%s): unknown kernel family '%s'", list, i, k->name, fam);
            return -1;
        }
        int64_t dims[PLAN_MAX_DIMS], ntiles, need[PLAN_MAX_ARGS] = {0};
        for (int j = 0; j < s->ndims; j++)
            if (!rt_poly_eval(&s->dims[j], symvals, &dims[j])) {
                snprintf(err, errlen, "plan: %sstep %d (%s, family %s): dims[%d] is negative or overflows",
                         list, i, k->name, fam, j);
                return -1;
            }
        if (!rt_poly_eval(&s->ntiles, symvals, &ntiles)) {
            snprintf(err, errlen, "plan: %sstep %d (%s, family %s): the tile count is negative or overflows",
                     list, i, k->name, fam);
            return -1;
        }
        KfStep ks = {dims, s->ndims, s->f, ntiles, k->consts,
                     k->nconsts < 0 || k->nconsts > PLAN_MAX_KCONSTS ? -1 : k->nconsts, s->nbufs};
        char why[200];
        if (kf_check_step(kf, &ks, need, why, sizeof why) != 0) {
            snprintf(err, errlen, "plan: %sstep %d (%s, family %s): %s", list, i, k->name, fam, why);
            return -1;
        }
        for (int j = 0; j < s->nbufs; j++) {
            int b = s->bufs[j];
            int64_t have;
            if (b < 0 || b >= p->nbufs || !rt_poly_eval(&p->bufs[b].bytes, symvals, &have)) {
                snprintf(err, errlen, "plan: %sstep %d (%s, family %s): bad buffer %d", list, i, k->name, fam, b);
                return -1;
            }
            if (need[j] > have) {
                snprintf(err, errlen, "plan: %sstep %d (%s, family %s): buffer %d needs %lld bytes, the plan gives %lld",
                         list, i, k->name, fam, j, (long long)need[j], (long long)have);
                return -1;
            }
        }
    }
    return 0;
}

int rt_check_kernels(const Plan *p, const int64_t *symvals, bool prepack, char *err, size_t errlen) {
    if (prepack) return check_list(p, p->prepack, p->nprepack, "prepack ", symvals, err, errlen);
    return check_list(p, p->steps, p->nsteps, "", symvals, err, errlen);
}
