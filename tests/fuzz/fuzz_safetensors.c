/* fuzz_safetensors.c: libFuzzer target for the safetensors reader.  Any
 * byte string must be either refused with a message or accepted with
 * every tensor's data inside the buffer; the target touches each accepted
 * tensor's bytes and metadata so ASan sees an out-of-bounds view. */
#include <stdint.h>
#include <string.h>

#include "support/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    StFile f;
    char err[256];
    if (st_open_memory(data, size, &f, err, sizeof err) != 0) {
        if (!memchr(err, 0, sizeof err) || !err[0]) __builtin_trap();   /* a refusal always says why */
        return 0;
    }
    volatile unsigned sum = 0;
    for (int i = 0; i < f.n; i++) {
        const StTensor *t = &f.t[i];
        const unsigned char *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
        if (st_find(&f, t->name) == NULL) __builtin_trap();   /* every name is found */
        sum += (unsigned)strlen(st_dtype_name(t->dtype));
    }
    for (int i = 0; i < f.nmeta; i++) sum += (unsigned)strlen(f.meta_kv[2 * i]) + (unsigned)strlen(f.meta_kv[2 * i + 1]);
    (void)sum;
    st_close(&f);
    return 0;
}
