/* code_image.c: the GPU code image (plan/code_image.h).  Read with
 * explicit little-endian loads, never by casting the bytes to
 * LtcCodeSection: the image is data from a file and need not be aligned. */
#include "plan/code_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

enum { HDR = sizeof(LtcCodeSection) };     /* 16: kind, arch, len */
_Static_assert(sizeof(LtcCodeSection) == 16, "LtcCodeSection is 16 bytes");

int code_image_find(const uint8_t *img, uint64_t len, uint32_t kind, uint32_t arch,
                    const uint8_t **data, uint64_t *data_len, char *err, size_t errlen) {
    if (!img || len < 8 || get64(img) != LTC_CODE_MAGIC) {
        if (err && errlen) snprintf(err, errlen, "code image: bad magic (not a lispetorchc code image)");
        return -1;
    }
    uint64_t pos = 8;
    while (pos < len) {
        if (len - pos < HDR) {
            if (err && errlen) snprintf(err, errlen, "code image: section header at byte %llu runs past the end (%llu bytes)",
                                        (unsigned long long)pos, (unsigned long long)len);
            return -1;
        }
        uint32_t k = get32(img + pos), a = get32(img + pos + 4);
        uint64_t n = get64(img + pos + 8);
        uint64_t body = pos + HDR;
        if (n > len - body) {
            if (err && errlen) snprintf(err, errlen, "code image: section at byte %llu claims %llu bytes, %llu remain",
                                        (unsigned long long)pos, (unsigned long long)n, (unsigned long long)(len - body));
            return -1;
        }
        if (k == kind && a == arch) {
            *data = img + body;
            *data_len = n;
            return 1;
        }
        uint64_t pad = (8 - n % 8) % 8;
        /* n <= len - body, so body + n cannot wrap; the padding may be
         * missing after the last section only */
        pos = body + n;
        pos = len - pos < pad ? len : pos + pad;
    }
    return 0;
}

int code_image_append(uint8_t **img, uint64_t *len, uint32_t kind, uint32_t arch,
                      const void *data, uint64_t data_len) {
    uint64_t start = *img ? *len : 0;
    uint64_t head = start ? 0 : 8;            /* the magic, for a new image */
    uint64_t pad = (8 - data_len % 8) % 8, total;
    if (__builtin_add_overflow(start, head, &total) || __builtin_add_overflow(total, (uint64_t)HDR, &total) ||
        __builtin_add_overflow(total, data_len, &total) || __builtin_add_overflow(total, pad, &total) ||
        total > SIZE_MAX)
        return -1;
    uint8_t *p = realloc(*img, (size_t)total);
    if (!p) return -1;
    uint8_t *w = p + start;
    if (head) { put64(w, LTC_CODE_MAGIC); w += 8; }
    put32(w, kind);
    put32(w + 4, arch);
    put64(w + 8, data_len);
    if (data_len) memcpy(w + HDR, data, (size_t)data_len);
    memset(w + HDR + data_len, 0, (size_t)pad);
    *img = p;
    *len = total;
    return 0;
}
