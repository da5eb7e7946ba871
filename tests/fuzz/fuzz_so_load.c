/* fuzz_so_load.c: libFuzzer target for ltc_model_open on damaged model.so
 * files (hardening issue, item 4e).
 *
 * Each input is written to a file and opened: the ELF check and the seal
 * (runtime/rt_seal.h) must refuse every damaged file before dlopen maps it.
 * A file that opens is closed again.  Seeds: model.so files (scripts/
 * fuzz-runtime.sh puts the toy model and compiled examples there). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lispetorchc/runtime.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (!path[0]) snprintf(path, sizeof path, "/tmp/ltc_fuzz_so_%d.so", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = fwrite(data, 1, n, f);
    if (fclose(f) != 0 || w != n) return 0;
    ltc_error err;
    ltc_model *m = ltc_model_open(path, &err);
    ltc_model_close(m);
    unlink(path);
    return 0;
}
