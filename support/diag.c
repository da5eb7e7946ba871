/* diag.c: clang-style diagnostics with the source line and a caret. */
#include "support/support.h"

#include <stdio.h>
#include <string.h>

int diag_vset(LtcDiag *d, SrcLoc loc, const char *fmt, va_list ap) {
    d->level = DIAG_ERROR;
    d->loc = loc;
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    return -1;
}

int diag_set(LtcDiag *d, SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    diag_vset(d, loc, fmt, ap);
    va_end(ap);
    return -1;
}

/* Bytes that would reach the terminal raw are written as \xHH: control
 * characters (ESC would let a corrupt file or a string literal drive the
 * terminal, NUL hides the rest of the line), DEL and bytes that are not
 * well-formed UTF-8.  Tab is kept, and newline where keep_nl (a message
 * may quote the linker's lines).  Returns the length of the sequence at
 * p (1..4) and whether it is printed as is. */
static size_t seq_at(const unsigned char *p, const unsigned char *end, bool keep_nl, bool *plain) {
    unsigned c = *p;
    *plain = true;
    if (c == '\t' || (c == '\n' && keep_nl) || (c >= 0x20 && c < 0x7f)) return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = n > 0 && (size_t)(end - p) >= n;
    for (size_t i = 1; ok && i < n; i++) ok = (p[i] & 0xC0) == 0x80;
    /* overlong 3/4-byte forms, surrogates and code points past U+10FFFF */
    if (ok && n == 3) ok = !(c == 0xE0 && p[1] < 0xA0) && !(c == 0xED && p[1] >= 0xA0);
    if (ok && n == 4) ok = !(c == 0xF0 && p[1] < 0x90) && !(c == 0xF4 && p[1] >= 0x90);
    if (ok) return n;
    *plain = false;
    return 1;
}

/* Write n bytes of s escaped (see seq_at). */
static void put_escaped(FILE *f, const char *s, size_t n, bool keep_nl) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        bool plain;
        size_t k = seq_at(p, end, keep_nl, &plain);
        if (plain) fwrite(p, 1, k, f);
        else fprintf(f, "\\x%02X", *p);
        p += k;
    }
}

void diag_print_line(const LtcDiag *d, void *stream, bool color) {
    FILE *f = stream;
    static const char *names[] = {"error", "warning", "note"};
    static const char *colors[] = {"\033[1;31m", "\033[1;35m", "\033[1;36m"};
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    const char *lc = color ? colors[d->level] : "";
    if (!d->loc.file) {
        fprintf(f, "%slispetorchc: %s%s:%s %s", bold, lc, names[d->level], reset, bold);
    } else {
        fputs(bold, f);
        put_escaped(f, d->loc.file->name, strlen(d->loc.file->name), false);
        fprintf(f, ":%d:%d: %s%s:%s %s", d->loc.line, d->loc.col, lc, names[d->level], reset, bold);
    }
    put_escaped(f, d->msg, strnlen(d->msg, sizeof d->msg), true);
    fprintf(f, "%s\n", reset);
}

void diag_print(const LtcDiag *d, void *stream, bool color) {
    FILE *f = stream;
    const char *reset = color ? "\033[0m" : "";
    diag_print_line(d, stream, color);
    if (!d->loc.file) return;
    /* find the line: by length, not by NUL (a corrupt file may hold NULs) */
    const char *text = d->loc.file->text, *end = text + d->loc.file->len;
    if (!text) return;
    const char *p = text;
    for (int ln = 1; ln < d->loc.line && p < end; p++)
        if (*p == '\n') ln++;
    const char *e = p;
    while (e < end && *e != '\n') e++;
    if (p == e && p == end) return;
    fprintf(f, "%5d | ", d->loc.line);
    put_escaped(f, p, (size_t)(e - p), false);
    fputs("\n      | ", f);
    /* the caret under the column (col counts bytes): a byte shown as \xHH
     * takes 4 places, a UTF-8 character 1 */
    const unsigned char *q = (const unsigned char *)p, *qe = (const unsigned char *)e;
    for (int i = 1; i < d->loc.col && q < qe;) {
        bool plain;
        size_t k = seq_at(q, qe, false, &plain);
        if (*q == '\t') fputc('\t', f);
        else fputs(plain ? " " : "    ", f);
        q += k;
        i += (int)k;
    }
    fprintf(f, "%s^%s\n", color ? "\033[1;32m" : "", reset);
}
