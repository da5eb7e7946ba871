/* fuzz_plan.c: libFuzzer target for the plan reader and the runtime's
 * checks on what it accepts (hardening issue, item 4c).
 *
 * Input: a plan blob (plan/serialize.h).  A blob the reader accepts is
 * then run through every check the runtime makes before a kernel runs
 * (buffers against tensors, limits, symbol binding, the kernel families'
 * contract on every step's dims and tiles) and, when its sizes are
 * small, through the executor with a kernel that does nothing: a crash or a
 * sanitizer report anywhere is a bug (a corrupt plan must be refused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan/serialize.h"
#include "runtime/rt_internal.h"

static void nop_kernel(void *const *ptrs, const int64_t *dims, const float *f, int64_t b, int64_t e) {
    (void)ptrs; (void)dims; (void)f; (void)b; (void)e;
}

static int lookup(void *ctx, const char *name, void **fn) {
    (void)ctx; (void)name;
    *fn = (void *)nop_kernel;
    return 0;
}

/* Bytes of t at symvals, or -1. */
static int64_t bytes_of(const PlanTensor *t, const int64_t *sv) {
    int64_t d[LTC_MAX_RANK], n = (int64_t)dtype_size(t->dtype);
    if (plan_tensor_dims(t, sv, d) != 0) return -1;
    for (int i = 0; i < t->shape.rank; i++)
        if (__builtin_mul_overflow(n, d[i], &n)) return -1;
    return n;
}

static void exercise(const Plan *p, RtDevice *pool) {
    char err[512];
    int64_t sv[LTC_MAX_SYMS] = {0};
    for (int i = 0; i < p->graph->nsyms; i++) sv[i] = 1 + (p->graph->syms[i].example & 7);
    int ranks[64];
    int64_t shapes[64][LTC_MAX_RANK];
    const int64_t *sp[64];
    int nin = p->ninputs < 64 ? p->ninputs : 64;
    for (int i = 0; i < nin; i++) {
        ranks[i] = p->inputs[i].shape.rank;
        if (plan_tensor_dims(&p->inputs[i], sv, shapes[i]) != 0) return;
        sp[i] = shapes[i];
    }
    if (p->ninputs <= 64 && rt_bind_symbols(p, ranks, sp, sv, err, sizeof err) != 0) return;
    (void)plan_check_limits(p, sv, err, sizeof err);
    if (rt_check_buffers(p, sv, false, err, sizeof err) != 0) return;
    /* every step, even of a plan too big to run below (rt_prepack and
     * rt_run make the same checks again) */
    (void)rt_check_kernels(p, sv, true, err, sizeof err);
    if (rt_check_kernels(p, sv, false, err, sizeof err) != 0) return;
    /* Small enough to run: allocate every input/output/param, run no-ops. */
    int64_t total = 0;
    for (int i = 0; i < p->ninputs + p->noutputs + p->nparams; i++) {
        const PlanTensor *t = i < p->ninputs ? &p->inputs[i] : i < p->ninputs + p->noutputs
                            ? &p->outputs[i - p->ninputs] : &p->params[i - p->ninputs - p->noutputs];
        int64_t b = bytes_of(t, sv);
        if (b < 0 || __builtin_add_overflow(total, b, &total) || total > (1 << 20)) return;
    }
    /* The scratch too: rt_run allocates it.  Up to 64 MB is allocated and
     * run; from 2^40 bytes (ASan's largest allocation) malloc returns NULL
     * and the runtime's answer, LTC_ERR_NOMEM, is exercised; in between a
     * real allocation would trip libFuzzer's malloc limit, which is a limit
     * of this harness, not a fault of the runtime (regress/scratch-12g.plan). */
    int64_t scratch_bytes;
    if (!poly_value(&p->arena_bytes, sv, &scratch_bytes) ||
        (scratch_bytes > (64 << 20) && scratch_bytes < ((int64_t)1 << 40)))
        return;
    /* The same for the packed buffers rt_prepack allocates (and zeroes):
     * a plan asking for GBs of them is legal (packed weights), but running
     * it would trip the harness's RSS limit (regress/packed-3g.plan). */
    int64_t packed_total = 0, zero[LTC_MAX_SYMS] = {0};
    for (int i = 0; i < p->npacked; i++) {
        int64_t b;
        if (!poly_value(&p->packed[i].bytes, zero, &b)) continue;   /* rt_prepack refuses it */
        if (b >= ((int64_t)1 << 40)) continue;                      /* malloc says NULL: exercised */
        if (__builtin_add_overflow(packed_total, b, &packed_total) || packed_total > (64 << 20)) return;
    }
    RtProgram pr;
    if (rt_program_init(&pr, p, lookup, NULL, err, sizeof err) != 0) return;
    void **in = calloc((size_t)p->ninputs + 1, sizeof *in), **out = calloc((size_t)p->noutputs + 1, sizeof *out);
    for (int i = 0; in && i < p->ninputs; i++) in[i] = calloc(1, (size_t)bytes_of(&p->inputs[i], sv) + 64);
    for (int i = 0; out && i < p->noutputs; i++) out[i] = calloc(1, (size_t)bytes_of(&p->outputs[i], sv) + 64);
    for (int i = 0; i < p->nparams; i++) pr.params[i] = calloc(1, (size_t)bytes_of(&p->params[i], sv) + 64);
    RtScratch scratch = {0};
    if (in && out && rt_prepack(&pr, pool, err, sizeof err) == 0)
        (void)rt_run(&pr, pool, &scratch, sv, in, out, err, sizeof err);
    rt_scratch_free(&scratch);
    for (int i = 0; in && i < p->ninputs; i++) free(in[i]);
    for (int i = 0; out && i < p->noutputs; i++) free(out[i]);
    for (int i = 0; i < p->nparams; i++) free(pr.params[i]);
    free(in); free(out);
    rt_program_free(&pr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    static RtDevice *pool;
    if (!pool) pool = rt_device_open("cpu", 2, NULL, 0);
    Arena a;
    arena_init(&a);
    Plan **ps;
    int np;
    LtcDiag d = {0};
    if (plan_deserialize(&a, data, n, &ps, &np, &d) == 0)
        for (int i = 0; i < np; i++) exercise(ps[i], pool);
    arena_free(&a);
    return 0;
}
