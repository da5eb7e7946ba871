/* rt_api.h: helpers shared by the public API files (api.c, tensor.c). */
#ifndef LTC_RT_API_H
#define LTC_RT_API_H

#include <stdbool.h>
#include <stdio.h>
#include "lispetorchc/runtime.h"

const char *rt_dl_dtype_str(DLDataType d, char *buf, size_t n);
bool   rt_dl_dtype_eq(DLDataType a, DLDataType b);
size_t rt_ltc_dtype_size(ltc_dtype t);
bool   rt_numel(const int64_t *shape, int ndim, int64_t *out);
bool   rt_is_contiguous(const DLTensor *t);
bool   rt_strides_ok(const DLTensor *t, size_t esize);
void   rt_copy_strided(const DLTensor *t, size_t esize, void *dst);

#endif
