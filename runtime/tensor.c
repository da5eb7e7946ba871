/* tensor.c: DLTensor helpers of the public API (allocation, dtype codes,
 * layout checks, strided -> contiguous copies). */
#include "lispetorchc/runtime.h"
#include "runtime/rt_api.h"
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

DLDataType ltc_dtype_to_dl(ltc_dtype t) {
    DLDataType d = {kDLFloat, 32, 1};
    switch (t) {
    case LTC_F32:  d.code = kDLFloat;  d.bits = 32; break;
    case LTC_F16:  d.code = kDLFloat;  d.bits = 16; break;
    case LTC_BF16: d.code = kDLBfloat; d.bits = 16; break;
    case LTC_I64:  d.code = kDLInt;    d.bits = 64; break;
    case LTC_BOOL: d.code = kDLBool;   d.bits = 8;  break;
    }
    return d;
}

const char *rt_dl_dtype_str(DLDataType d, char *buf, size_t n) {
    static const char *const codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
    const char *c = d.code < 7 ? codes[d.code] : "?";
    if (d.lanes == 1) snprintf(buf, n, "%s%u", c, d.bits);
    else snprintf(buf, n, "%s%ux%u", c, d.bits, d.lanes);
    return buf;
}

bool rt_dl_dtype_eq(DLDataType a, DLDataType b) {
    return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

/* the public dtypes are the IR's, in the same order */
_Static_assert((int)LTC_F32 == DT_F32 && (int)LTC_F16 == DT_F16 && (int)LTC_BF16 == DT_BF16 &&
               (int)LTC_I64 == DT_I64 && (int)LTC_BOOL == DT_BOOL, "ltc_dtype and DType differ");

size_t rt_ltc_dtype_size(ltc_dtype t) { return dtype_size((DType)t); }

/* numel with overflow check; false if any size is negative or it overflows. */
bool rt_numel(const int64_t *shape, int ndim, int64_t *out) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n)) return false;
    *out = n;
    return true;
}

/* C order: stride[i] = prod(shape[i+1..]); sizes 0/1 make strides free. */
bool rt_is_contiguous(const DLTensor *t) {
    if (!t->strides) return true;
    int64_t expect = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 0) return true;
        if (t->shape[i] != 1 && t->strides[i] != expect) return false;
        expect *= t->shape[i];
    }
    return true;
}

/* Every element's byte offset, sum(idx[i] * strides[i]) * esize, fits in
 * int64 (each partial sum too, whatever the signs), so the copy below
 * cannot overflow.  Sizes must be checked (rt_numel) before. */
bool rt_strides_ok(const DLTensor *t, size_t esize) {
    int64_t span = 0, es = (int64_t)esize, v;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] == 0) return true;                  /* no element at all */
        int64_t s = t->strides[i];
        if (s == INT64_MIN) return false;
        if (__builtin_mul_overflow(t->shape[i] - 1, s < 0 ? -s : s, &v) ||
            __builtin_add_overflow(span, v, &span))
            return false;
    }
    if (t->byte_offset > (uint64_t)INT64_MAX) return false;
    return !__builtin_mul_overflow(span, es, &v) && !__builtin_add_overflow(v, (int64_t)t->byte_offset, &v);
}

/* Gather a strided tensor into contiguous dst (elements of esize bytes);
 * rt_strides_ok must hold. */
void rt_copy_strided(const DLTensor *t, size_t esize, void *dst) {
    int64_t n;
    if (!rt_numel(t->shape, t->ndim, &n)) return;
    const char *base = (const char *)t->data + t->byte_offset;
    int64_t idx[LTC_MAX_NDIM] = {0};
    char *out = dst;
    for (int64_t e = 0; e < n; e++) {
        int64_t off = 0;
        for (int i = 0; i < t->ndim; i++) off += idx[i] * t->strides[i];
        memcpy(out + (size_t)e * esize, base + off * (int64_t)esize, esize);
        for (int i = t->ndim - 1; i >= 0; i--) {
            if (++idx[i] < t->shape[i]) break;
            idx[i] = 0;
        }
    }
}

/* One allocation: [DLTensor | shape[ndim] | pad] and a separate aligned
 * data block, so the data stays 64-byte aligned. */
DLTensor *ltc_tensor_alloc(ltc_dtype dtype, int ndim, const int64_t *shape) {
    int64_t n;
    if (ndim < 0 || ndim > LTC_MAX_NDIM || (ndim > 0 && !shape) || (unsigned)dtype > LTC_BOOL ||
        !rt_numel(shape, ndim, &n))
        return NULL;
    size_t es = rt_ltc_dtype_size(dtype);
    if ((uint64_t)n > SIZE_MAX / es - 64) return NULL;
    DLTensor *t = calloc(1, sizeof *t + sizeof(int64_t) * LTC_MAX_NDIM);
    if (!t) return NULL;
    size_t bytes = ((size_t)n * es + 63) & ~(size_t)63;
    t->data = aligned_alloc(64, bytes ? bytes : 64);
    if (!t->data) { free(t); return NULL; }
    memset(t->data, 0, bytes ? bytes : 64);
    t->shape = (int64_t *)(t + 1);
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->ndim = ndim;
    t->dtype = ltc_dtype_to_dl(dtype);
    t->device.device_type = kDLCPU;
    t->device.device_id = 0;
    t->strides = NULL;
    t->byte_offset = 0;
    return t;
}

void ltc_tensor_free(DLTensor *t) {
    if (!t) return;
    free(t->data);
    free(t);
}
