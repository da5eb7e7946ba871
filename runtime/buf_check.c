/* buf_check.c: every plan buffer that names a caller's tensor, a parameter
 * or a packed buffer lies inside that memory, for the symbol values of
 * this call.
 *
 * Why at run time: a buffer's size and the tensor it serves are both
 * polynomials in the symbols; comparing them for the concrete values of a
 * call is exact, where a symbolic comparison would need the polynomials in
 * one normal form.  A corrupt (or miscompiled) plan whose buffer is larger
 * than the tensor behind it is refused before any kernel touches memory. */
#include "runtime/rt_internal.h"

#include <stdio.h>

/* Bytes of tensor t at these symbol values; false on overflow. */
static bool tensor_bytes(const PlanTensor *t, const int64_t *symvals, int64_t *out) {
    int64_t dims[LTC_MAX_RANK], n = 1;
    if (t->shape.rank < 0 || t->shape.rank > LTC_MAX_RANK || plan_tensor_dims(t, symvals, dims) != 0) return false;
    for (int i = 0; i < t->shape.rank; i++)
        if (dims[i] < 0 || __builtin_mul_overflow(n, dims[i], &n)) return false;
    size_t es = dtype_size(t->dtype);
    return es && !__builtin_mul_overflow(n, (int64_t)es, out);
}

int rt_check_buffers(const Plan *p, const int64_t *symvals, bool prepack, char *err, size_t errlen) {
    for (int i = 0; i < p->nbufs; i++) {
        const PlanBuf *b = &p->bufs[i];
        int64_t have = 0, off = 0, len = 0, end;
        const char *what;
        switch (b->kind) {
        case BUF_INPUT:
            if (prepack) continue;
            what = "input";
            if (b->index < 0 || b->index >= p->ninputs || !tensor_bytes(&p->inputs[b->index], symvals, &have)) goto bad;
            break;
        case BUF_OUTPUT:
            if (prepack) continue;
            what = "output";
            if (b->index < 0 || b->index >= p->noutputs || !tensor_bytes(&p->outputs[b->index], symvals, &have)) goto bad;
            break;
        case BUF_PARAM:
            what = "parameter";
            if (b->index < 0 || b->index >= p->nparams || !tensor_bytes(&p->params[b->index], symvals, &have)) goto bad;
            break;
        case BUF_PACKED:
            what = "packed buffer";
            if (b->index < 0 || b->index >= p->npacked || !poly_value(&p->packed[b->index].bytes, symvals, &have)) goto bad;
            break;
        default:
            continue;                               /* arena: checked against the scratch size (exec.c) */
        }
        if ((b->offset.n && !poly_value(&b->offset, symvals, &off)) || !poly_value(&b->bytes, symvals, &len) ||
            __builtin_add_overflow(off, len, &end) || end > have) {
            snprintf(err, errlen, "plan: buffer %d (%lld bytes at offset %lld) does not fit in the %s it names (%lld bytes)",
                     i, (long long)len, (long long)off, what, (long long)have);
            return -1;
        }
        continue;
    bad:
        snprintf(err, errlen, "plan: buffer %d: bad %s index or size", i, what);
        return -1;
    }
    return 0;
}
