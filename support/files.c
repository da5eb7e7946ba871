/* files.c: whole-file reads and atomic writes. */
#include "support/support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int read_file(Arena *a, const char *path, SrcFile *out, LtcDiag *d) {
    SrcLoc none = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return diag_set(d, none, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return diag_set(d, none, "'%s' is not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    char *buf = arena_alloc_big(a, n + 1);
    if (!buf) { fclose(f); return diag_set(d, none, "'%s': out of memory", path); }
    if (n && fread(buf, 1, n, f) != n) {
        fclose(f);
        return diag_set(d, none, "cannot read '%s': %s", path, strerror(errno));
    }
    fclose(f);
    buf[n] = 0;
    out->name = arena_strdup(a, path);
    out->text = buf;
    out->len = n;
    return 0;
}

int write_file_atomic(const char *path, const void *data, size_t n, LtcDiag *d) {
    SrcLoc none = {0};
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return diag_set(d, none, "output path too long: '%s'", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return diag_set(d, none, "cannot write '%s': %s", path, strerror(errno));
    bool ok = (n == 0 || fwrite(data, 1, n, f) == n);
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        int e = errno;
        unlink(tmp);
        return diag_set(d, none, "cannot write '%s': %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return diag_set(d, none, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

uint64_t hash_bytes(const void *p, size_t n, uint64_t seed) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    return h;
}

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
