/* exec.c: the executor.  Runs a Plan (plan.h) with kernel pointers, on the
 * host, for model.so files (through api.c) and for the compiler's JIT.
 *
 * One call:
 *   1. bind the symbols (B, S...) from the input shapes and check them,
 *      and the plan's limits (plan/limits.c);
 *   2. evaluate the scratch size (a polynomial) and grow the scratch buffer;
 *   3. on a device without host memory, copy the inputs in (stage.c);
 *   4. for each step: base address of each buffer, dims evaluated, and the
 *      tile range [0, ntiles) on the device (device.h: the CPU device splits it across the thread pool);
 *   5. on a device without host memory, copy the outputs out.
 * Prepack steps run once, after the weights are bound (rt_prepack). */
#include "runtime/rt_internal.h"
#include "runtime/rt_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int rt_fail(char *err, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (err && n) vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

const char *rt_dim_str(const Plan *p, Dim d, char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    if (d.k != 1 || d.sym == 0) len += (size_t)snprintf(buf, n, "%lld", (long long)d.k);
    for (int i = 0; i < 32 && len < n; i++)
        if (d.sym & (1u << i)) {
            const char *name = p && p->graph && i < p->graph->nsyms ? p->graph->syms[i].name : "?";
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "*" : "", name);
        }
    return buf;
}

const char *rt_shape_str(const Plan *p, const Shape *s, char *buf, size_t n) {
    size_t len = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && len < n; i++) {
        char d[64];
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", rt_dim_str(p, s->d[i], d, sizeof d));
    }
    if (len < n) snprintf(buf + len, n - len, "]");
    return buf;
}


/* Symbols are solved from dimensions that hold exactly one unknown symbol:
 * value = k * prod(known) * s  =>  s = value / (k * prod(known)), which
 * must divide exactly.  Repeat until nothing changes, then check every
 * dimension of every input against its concrete size. */
int rt_bind_symbols(const Plan *p, const int *ranks, const int64_t *const *shapes,
                    int64_t symvals[LTC_MAX_SYMS], char *err, size_t errlen) {
    int nsyms = p->graph ? p->graph->nsyms : 0;
    uint32_t known = 0;
    for (int i = 0; i < LTC_MAX_SYMS; i++) symvals[i] = 0;
    char want[256], got[256];
    for (int i = 0; i < p->ninputs; i++) {
        const PlanTensor *t = &p->inputs[i];
        if (ranks[i] != t->shape.rank)
            return rt_fail(err, errlen, "input '%s': expected rank %d %s, got rank %d %s", t->name,
                        t->shape.rank, rt_shape_str(p, &t->shape, want, sizeof want), ranks[i],
                        dims_str(shapes[i], ranks[i] < 0 ? 0 : ranks[i] > LTC_MAX_RANK ? LTC_MAX_RANK : ranks[i],
                                    got, sizeof got));
        for (int j = 0; j < ranks[i]; j++)
            if (shapes[i][j] < 0)
                return rt_fail(err, errlen, "input '%s': negative size %lld in dimension %d", t->name,
                            (long long)shapes[i][j], j);
    }
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < p->ninputs; i++)
            for (int j = 0; j < p->inputs[i].shape.rank; j++) {
                Dim d = p->inputs[i].shape.d[j];
                uint32_t unknown = d.sym & ~known;
                if (!unknown || (unknown & (unknown - 1))) continue;   /* none, or several */
                int s = __builtin_ctz(unknown);
                if (s >= nsyms || s >= LTC_MAX_SYMS) continue;
                int64_t coef;
                Dim kd = {d.k, d.sym & known};
                if (!dim_value(kd, symvals, &coef)) continue;
                int64_t v = shapes[i][j];
                if (coef == 0 || v % coef != 0) continue;    /* reported by the check below */
                symvals[s] = v / coef;
                known |= 1u << s;
                progress = true;
            }
    }
    for (int i = 0; i < p->ninputs; i++) {
        const PlanTensor *t = &p->inputs[i];
        for (int j = 0; j < t->shape.rank; j++) {
            int64_t v;
            bool ok = (t->shape.d[j].sym & ~known) == 0 && dim_value(t->shape.d[j], symvals, &v) &&
                      v == shapes[i][j];
            if (!ok)
                return rt_fail(err, errlen, "input '%s': expected rank %d %s, got %s", t->name,
                            t->shape.rank, rt_shape_str(p, &t->shape, want, sizeof want),
                            dims_str(shapes[i], ranks[i], got, sizeof got));
        }
    }
    /* Derived symbols (S-1, S/2, S^2...) from the free ones, in index
     * order; a size that comes out negative or inexact is refused. */
    for (int s = 0; s < nsyms && s < LTC_MAX_SYMS; s++) {
        const Symbol *sy = &p->graph->syms[s];
        if (sy->def.kind == SYM_FREE) continue;
        char why[128];
        if (symdef_eval(&sy->def, s, symvals, &symvals[s], why, sizeof why) != 0) {
            char ctx[256] = "";
            size_t l = 0;
            for (int j = 0; j < s && l + 1 < sizeof ctx; j++)
                if (p->graph->syms[j].def.kind == SYM_FREE && (known >> j & 1))
                    l += (size_t)snprintf(ctx + l, sizeof ctx - l, "%s%s=%lld", l ? ", " : "",
                                          p->graph->syms[j].name, (long long)symvals[j]);
            return rt_fail(err, errlen, "input sizes give %s, but the size %s%s%s %s", ctx, sy->name,
                        sy->where ? " computed at " : "", sy->where ? sy->where : "", why);
        }
        known |= 1u << s;
    }
    /* Symbols that appear in no input cannot be bound. */
    for (int s = 0; s < nsyms && s < LTC_MAX_SYMS; s++) {
        bool used = false;
        for (int i = 0; i < p->noutputs; i++)
            for (int j = 0; j < p->outputs[i].shape.rank; j++)
                if (p->outputs[i].shape.d[j].sym & (1u << s)) used = true;
        if (used && !(known & (1u << s)))
            return rt_fail(err, errlen, "symbol '%s' is not determined by the inputs' shapes",
                        p->graph->syms[s].name);
    }
    return 0;
}

void rt_scratch_free(RtScratch *s) {
    if (s->mem && s->dev) s->dev->ops->free(s->dev, s->mem);
    s->mem = NULL;
    s->cap = 0;
    s->dev = NULL;
}

/* Run steps[0..n) with buffer base addresses from bases. */
static int run_steps(RtProgram *pr, RtDevice *dev, const PlanStep *steps, int n, void **bases,
                     const int64_t *symvals, char *err, size_t errlen) {
    const Plan *p = pr->plan;
    for (int i = 0; i < n; i++) {
        const PlanStep *s = &steps[i];
        if (s->kernel < 0 || s->kernel >= p->nkernels || !pr->kernels[s->kernel])
            return rt_fail(err, errlen, "step %d: kernel %d has no code", i, s->kernel);
        void *ptrs[PLAN_MAX_ARGS];
        int64_t dims[PLAN_MAX_DIMS + 1];     /* + the call number (plan.h) */
        int64_t ntiles;
        for (int j = 0; j < s->nbufs; j++) ptrs[j] = bases[s->bufs[j]];
        for (int j = 0; j < s->ndims; j++)
            if (!poly_value(&s->dims[j], symvals, &dims[j]))
                return rt_fail(err, errlen, "step %d (%s): size overflow", i, p->kernels[s->kernel].name);
        dims[s->ndims] = (int64_t)pr->call;
        if (!poly_value(&s->ntiles, symvals, &ntiles))
            return rt_fail(err, errlen, "step %d (%s): tile count overflow", i, p->kernels[s->kernel].name);
        int64_t bytes = 0;                  /* what the step touches: the device's hint */
        for (int j = 0; j < s->nbufs; j++) {
            int64_t b;
            if (!poly_value(&p->bufs[s->bufs[j]].bytes, symvals, &b) || __builtin_add_overflow(bytes, b, &bytes))
                bytes = INT64_MAX / 2;
        }
        uint32_t threads = pr->threads ? pr->threads[s->kernel] : 0;
        if (dev->ops->launch(dev, pr->kernels[s->kernel], ptrs, s->nbufs, dims, s->ndims + 1, s->f, ntiles, bytes,
                             threads, err, errlen) != 0)
            return -1;
    }
    return dev->ops->sync(dev, err, errlen);
}

/* Base address of every plan buffer for this call. */
static int buffer_bases(RtProgram *pr, char *scratch, const int64_t *symvals, void *const *inputs,
                        void *const *outputs, void **bases, char *err, size_t errlen) {
    const Plan *p = pr->plan;
    for (int i = 0; i < p->nbufs; i++) {
        const PlanBuf *b = &p->bufs[i];
        switch (b->kind) {
        case BUF_INPUT:  bases[i] = inputs ? inputs[b->index] : NULL; break;
        case BUF_OUTPUT: bases[i] = outputs ? outputs[b->index] : NULL; break;
        case BUF_PARAM:
            bases[i] = pr->params ? pr->params[b->index] : NULL;
            if (!bases[i] && p->nparams)
                return rt_fail(err, errlen, "entry '%s': parameter '%s' is not bound (bind a weights file first)",
                            p->graph ? p->graph->name : "?", p->params[b->index].name);
            break;
        case BUF_PACKED: bases[i] = pr->packed ? pr->packed[b->index] : NULL; break;
        case BUF_ARENA: {
            int64_t off;
            if (!poly_value(&b->offset, symvals, &off))
                return rt_fail(err, errlen, "buffer %d: offset overflow", i);
            bases[i] = scratch ? scratch + off : NULL;
            break;
        }
        }
        /* A view into a caller's buffer at a byte offset (the lowering
         * only makes those in the arena today; cheap to allow). */
        if (b->kind != BUF_ARENA && b->offset.n && bases[i]) {
            int64_t off;
            if (!poly_value(&b->offset, symvals, &off))
                return rt_fail(err, errlen, "buffer %d: offset overflow", i);
            bases[i] = (char *)bases[i] + off;
        }
    }
    return 0;
}

int rt_prepack(RtProgram *pr, RtDevice *dev, char *err, size_t errlen) {
    const Plan *p = pr->plan;
    rt_program_free_packed(pr);
    if (p->npacked) {
        pr->packed = calloc((size_t)p->npacked, sizeof *pr->packed);
        if (!pr->packed) return rt_fail(err, errlen, "out of memory");
        pr->packed_on = dev;
        for (int i = 0; i < p->npacked; i++) {
            int64_t n;
            int64_t zero[LTC_MAX_SYMS] = {0};
            if (!poly_value(&p->packed[i].bytes, zero, &n))
                return rt_fail(err, errlen, "packed buffer %d: bad size", i);
            pr->packed[i] = dev->ops->alloc(dev, (size_t)n);
            if (!pr->packed[i]) return rt_fail(err, errlen, "out of memory (%lld bytes packed)", (long long)n);
        }
    }
    if (p->nprepack) {
        int64_t zero[LTC_MAX_SYMS] = {0};
        void **bases = calloc((size_t)p->nbufs + 1, sizeof *bases);
        if (!bases) return rt_fail(err, errlen, "out of memory");
        /* Prepack steps read params and write packed buffers only. */
        int rc = rt_check_buffers(p, zero, true, err, errlen);
        if (rc == 0) rc = rt_check_kernels(p, zero, true, err, errlen);
        if (rc == 0) rc = buffer_bases(pr, NULL, zero, NULL, NULL, bases, err, errlen);
        if (rc == 0) rc = run_steps(pr, dev, p->prepack, p->nprepack, bases, zero, err, errlen);
        free(bases);
        if (rc) return rc;
    }
    pr->prepacked = true;
    return 0;
}

void rt_program_free_packed(RtProgram *pr) {
    if (pr->packed)
        for (int i = 0; i < pr->plan->npacked; i++)
            if (pr->packed[i]) pr->packed_on->ops->free(pr->packed_on, pr->packed[i]);
    free(pr->packed);
    pr->packed = NULL;
    pr->packed_on = NULL;
    pr->prepacked = false;
}

/* plan_check_ids, with the ids of inputs in device memory read back first
 * (the check reads them on the host). */
static int check_ids(const Plan *p, RtDevice *dev, const int64_t *symvals, void *const *inputs,
                     const uint8_t *resident, char *err, size_t errlen) {
    bool any = false;
    for (int c = 0; resident && c < p->nidchecks; c++)
        any |= p->idchecks[c].input >= 0 && p->idchecks[c].input < p->ninputs && resident[p->idchecks[c].input];
    if (!any) return plan_check_ids(p, symvals, inputs, err, errlen);
    void **host = calloc((size_t)p->ninputs + 1, sizeof *host);
    bool *owned = calloc((size_t)p->ninputs + 1, sizeof *owned);
    int rc = !host || !owned ? rt_fail(err, errlen, "out of memory") : 0;
    for (int i = 0; rc == 0 && i < p->ninputs; i++) {
        host[i] = inputs[i];
        if (!resident[i] || p->inputs[i].dtype != DT_I64) continue;
        int64_t dims[LTC_MAX_RANK], n;
        size_t b;
        if (plan_tensor_dims(&p->inputs[i], symvals, dims) != 0 || !rt_numel(dims, p->inputs[i].shape.rank, &n) ||
            __builtin_mul_overflow((size_t)n, sizeof(int64_t), &b))
            rc = rt_fail(err, errlen, "input '%s': size overflow", p->inputs[i].name);
        else if (!(host[i] = malloc(b ? b : 8)))
            rc = rt_fail(err, errlen, "out of memory reading input '%s'", p->inputs[i].name);
        else {
            owned[i] = true;
            if (b) rc = dev->ops->copy_to_host(dev, host[i], inputs[i], b, err, errlen);
        }
    }
    if (rc == 0) rc = plan_check_ids(p, symvals, host, err, errlen);
    for (int i = 0; host && owned && i < p->ninputs; i++)
        if (owned[i]) free(host[i]);
    free(host);
    free(owned);
    return rc;
}

int rt_run(RtProgram *pr, RtDevice *dev, RtScratch *scratch, const int64_t *symvals, void *const *inputs,
           void *const *outputs, char *err, size_t errlen) {
    return rt_run_placed(pr, dev, scratch, symvals, inputs, outputs, NULL, err, errlen);
}

int rt_run_placed(RtProgram *pr, RtDevice *dev, RtScratch *scratch, const int64_t *symvals, void *const *inputs,
                  void *const *outputs, const uint8_t *resident, char *err, size_t errlen) {
    const Plan *p = pr->plan;
    if ((p->nprepack || p->npacked) && !pr->prepacked)
        return rt_fail(err, errlen, "entry '%s': weights are not bound (pre-packing has not run)",
                    p->graph ? p->graph->name : "?");
    /* Bounds lowering relies on (pe[:S] of a [512,..] buffer needs S <= 512):
     * checked before any kernel reads memory.  api.c checks them too, right
     * after binding, for the error code; this check covers every caller. */
    if (plan_check_limits(p, symvals, err, errlen) != 0) return -1;
    /* Embedding ids that are entry inputs must index the table: the kernel
     * cannot report a bad one (it writes zeros), so they are scanned here. */
    if (check_ids(p, dev, symvals, inputs, resident, err, errlen) != 0) return -1;
    /* A buffer larger than the tensor it serves would let a kernel read or
     * write past the caller's memory. */
    if (rt_check_buffers(p, symvals, false, err, errlen) != 0) return -1;
    /* ...and dims that reach past a buffer would too (the kernel contract). */
    if (rt_check_kernels(p, symvals, false, err, errlen) != 0) return -1;
    int64_t need;
    if (!poly_value(&p->arena_bytes, symvals, &need))
        return rt_fail(err, errlen, "scratch size overflows");
    /* Every arena buffer must fit in the scratch size: a check on the plan. */
    for (int i = 0; i < p->nbufs; i++)
        if (p->bufs[i].kind == BUF_ARENA) {
            int64_t off, len, end;
            if (!poly_value(&p->bufs[i].offset, symvals, &off) || !poly_value(&p->bufs[i].bytes, symvals, &len) ||
                __builtin_add_overflow(off, len, &end) || end > need)
                return rt_fail(err, errlen, "plan: buffer %d lies outside the scratch arena", i);
        }
    /* A device without host memory gets the inputs and outputs after the
     * arena, in the same allocation (stage.c). */
    bool staged = !dev->ops->host_memory;
    uint64_t total = (uint64_t)need, *offs = NULL;
    void **din = NULL, **dout = NULL;
    if (staged) {
        offs = calloc((size_t)(p->ninputs + p->noutputs) + 1, sizeof *offs);
        din = calloc((size_t)p->ninputs + 1, sizeof *din);
        dout = calloc((size_t)p->noutputs + 1, sizeof *dout);
        int rc = !offs || !din || !dout ? rt_fail(err, errlen, "out of memory")
                                        : rt_stage_layout(p, symvals, (uint64_t)need, offs, &total, err, errlen);
        if (rc != 0) { free(offs); free(din); free(dout); return -1; }
    }
    int rc = 0;
    if (total > scratch->cap || (scratch->mem && scratch->dev != dev)) {
        void *mem = dev->ops->alloc(dev, (size_t)total);
        if (!mem) rc = rt_fail(err, errlen, "out of memory (scratch of %llu bytes)", (unsigned long long)total);
        else {
            rt_scratch_free(scratch);
            scratch->mem = mem;
            scratch->cap = (size_t)total;
            scratch->dev = dev;
        }
    }
    if (rc == 0 && staged) rc = rt_stage_in(p, dev, scratch->mem, symvals, offs, inputs, outputs, resident, din, dout,
                                             err, errlen);
    void *stackb[64];
    void **bases = p->nbufs <= 64 ? stackb : calloc((size_t)p->nbufs, sizeof *bases);
    if (rc == 0 && !bases) rc = rt_fail(err, errlen, "out of memory");
    if (rc == 0) rc = buffer_bases(pr, scratch->mem, symvals, staged ? din : inputs, staged ? dout : outputs, bases, err, errlen);
    if (rc == 0) rc = run_steps(pr, dev, p->steps, p->nsteps, bases, symvals, err, errlen);
    /* run_steps ends with the device's sync: the outputs are final */
    if (rc == 0 && staged) rc = rt_stage_out(p, dev, symvals, dout, outputs, resident, err, errlen);
    if (bases && bases != stackb) free(bases);
    free(offs); free(din); free(dout);
    return rc;
}

int rt_program_init(RtProgram *pr, const Plan *p, RtLookupFn lookup, void *ctx,
                    char *err, size_t errlen) {
    memset(pr, 0, sizeof *pr);
    pr->plan = p;
    pr->kernels = calloc((size_t)p->nkernels + 1, sizeof *pr->kernels);
    pr->params = calloc((size_t)p->nparams + 1, sizeof *pr->params);
    if (!pr->kernels || !pr->params) {
        rt_program_free(pr);
        return rt_fail(err, errlen, "out of memory");
    }
    for (int i = 0; i < p->nkernels; i++) {
        void *fn = NULL;
        if (lookup(ctx, p->kernels[i].name, &fn) != 0 || !fn) {
            int rc = rt_fail(err, errlen, "kernel '%s' not found", p->kernels[i].name);
            rt_program_free(pr);
            return rc;
        }
        /* the CPU device's handle: the function address (device_cpu.c) */
        pr->kernels[i] = fn;
    }
    return 0;
}

void rt_program_free(RtProgram *pr) {
    if (pr->plan) rt_program_free_packed(pr);
    free(pr->kernels);
    free(pr->params);
    memset(pr, 0, sizeof *pr);
}
