/* strbuf.c: growable heap strings.  Out of memory sets b->oom and drops
 * the rest of the text (support.h): no abort inside a host process. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for extra more bytes and the NUL; false (oom set) when there is none. */
static bool sb_reserve(StrBuf *b, size_t extra) {
    if (b->oom) return false;
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need)) goto oom;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        if (__builtin_mul_overflow(cap, 2, &cap)) goto oom;
    char *s = realloc(b->s, cap);
    if (!s) goto oom;
    b->s = s;
    b->cap = cap;
    return true;
oom:
    b->oom = true;
    return false;
}

void sb_putc(StrBuf *b, char c) {
    if (!sb_reserve(b, 1)) return;
    b->s[b->len++] = c;
    b->s[b->len] = 0;
}

void sb_puts(StrBuf *b, const char *s) {
    size_t n = strlen(s);
    if (!sb_reserve(b, n)) return;
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void sb_vprintf(StrBuf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0) b->oom = true;               /* an encoding error: the text is not whole either */
    if (n >= 0 && sb_reserve(b, (size_t)n)) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void sb_printf(StrBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void sb_free(StrBuf *b) { free(b->s); b->s = NULL; b->len = b->cap = 0; b->oom = false; }
