/* stage.c: a run's inputs and outputs on a device whose memory is not the
 * host's (device.h, host_memory false).  Callers hand the runtime host
 * tensors; the kernels can only reach device memory.  So each run copies
 * the inputs in before its first step and the outputs out after its last
 * (then the device has finished), through one region placed after the
 * scratch arena in the same device allocation: it grows with the arena
 * and is kept between runs, so a run allocates nothing on the device. */
#include "runtime/rt_internal.h"
#include "runtime/rt_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of tensor t at symvals, overflow-checked. */
static int tensor_bytes(const PlanTensor *t, const int64_t *symvals, uint64_t *out) {
    int64_t dims[LTC_MAX_RANK], n;
    uint64_t b;
    if (plan_tensor_dims(t, symvals, dims) != 0 || !rt_numel(dims, t->shape.rank, &n) ||
        __builtin_mul_overflow((uint64_t)n, (uint64_t)dtype_size(t->dtype), &b))
        return -1;
    *out = b;
    return 0;
}

static const PlanTensor *io_tensor(const Plan *p, int i) {
    return i < p->ninputs ? &p->inputs[i] : &p->outputs[i - p->ninputs];
}

int rt_stage_layout(const Plan *p, const int64_t *symvals, uint64_t arena_bytes, uint64_t *offs,
                    uint64_t *total, char *err, size_t errlen) {
    uint64_t pos = arena_bytes;
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        uint64_t b;
        /* 64-byte aligned like every buffer the runtime allocates (PLAN_BUF_ALIGN) */
        bool ok = !__builtin_add_overflow(pos, (uint64_t)PLAN_BUF_ALIGN - 1, &pos);
        pos &= ~(uint64_t)(PLAN_BUF_ALIGN - 1);
        ok = ok && tensor_bytes(io_tensor(p, i), symvals, &b) == 0;
        offs[i] = pos;
        ok = ok && !__builtin_add_overflow(pos, b, &pos);
        if (!ok) {
            if (err && errlen) snprintf(err, errlen, "%s '%s': size overflows", i < p->ninputs ? "input" : "output",
                                        io_tensor(p, i)->name);
            return -1;
        }
    }
    if (pos > (uint64_t)INT64_MAX) {
        if (err && errlen) snprintf(err, errlen, "inputs and outputs take more than 2^63 bytes");
        return -1;
    }
    *total = pos;
    return 0;
}

/* LTC_POISON_OUTPUTS=1 (the GPU checks): fill output i's staging area
 * with 0xff bytes (NaN in every float dtype) before the run, so that an
 * element no kernel writes shows as NaN instead of an old value. */
static int poison_output(const Plan *p, RtDevice *dev, void *d, const int64_t *symvals, int i, char *err,
                         size_t errlen) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("LTC_POISON_OUTPUTS");
        on = e && strcmp(e, "1") == 0;
    }
    uint64_t b;
    if (!on || tensor_bytes(&p->outputs[i], symvals, &b) != 0 || b == 0) return 0;
    void *junk = malloc((size_t)b);
    if (!junk) return rt_fail(err, errlen, "out of memory poisoning output '%s'", p->outputs[i].name);
    memset(junk, 0xff, (size_t)b);
    int rc = dev->ops->copy_to_device(dev, d, junk, (size_t)b, err, errlen);
    free(junk);
    return rc;
}

int rt_stage_in(const Plan *p, RtDevice *dev, char *scratch, const int64_t *symvals, const uint64_t *offs,
                void *const *inputs, void *const *outputs, const uint8_t *resident, void **din, void **dout,
                char *err, size_t errlen) {
    for (int i = 0; i < p->ninputs + p->noutputs; i++) {
        void *d = scratch + offs[i];
        /* a tensor in device memory already is used where it is */
        if (resident && resident[i]) d = i < p->ninputs ? inputs[i] : outputs[i - p->ninputs];
        if (i >= p->ninputs) {
            dout[i - p->ninputs] = d;
            if (!(resident && resident[i]) && poison_output(p, dev, d, symvals, i - p->ninputs, err, errlen) != 0) return -1;
            continue;
        }
        din[i] = d;
        if (resident && resident[i]) continue;
        uint64_t b;
        if (tensor_bytes(&p->inputs[i], symvals, &b) != 0) return -1;   /* checked by the layout */
        if (b && dev->ops->copy_to_device(dev, d, inputs[i], (size_t)b, err, errlen) != 0) return -1;
    }
    return 0;
}

int rt_stage_out(const Plan *p, RtDevice *dev, const int64_t *symvals, void *const *dout, void *const *outputs,
                 const uint8_t *resident, char *err, size_t errlen) {
    for (int i = 0; i < p->noutputs; i++) {
        uint64_t b;
        if (resident && resident[p->ninputs + i]) continue;   /* written in place */
        if (tensor_bytes(&p->outputs[i], symvals, &b) != 0) return -1;
        if (b && dev->ops->copy_to_host(dev, outputs[i], dout[i], (size_t)b, err, errlen) != 0) return -1;
    }
    return 0;
}
