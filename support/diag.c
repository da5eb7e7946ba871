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

void diag_print_line(const LtcDiag *d, void *stream, bool color) {
    FILE *f = stream;
    static const char *names[] = {"error", "warning", "note"};
    static const char *colors[] = {"\033[1;31m", "\033[1;35m", "\033[1;36m"};
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    const char *lc = color ? colors[d->level] : "";
    if (!d->loc.file) {
        fprintf(f, "%slispetorchc: %s%s:%s %s%s%s\n", bold, lc, names[d->level], reset, bold, d->msg, reset);
        return;
    }
    fprintf(f, "%s%s:%d:%d: %s%s:%s %s%s%s\n", bold, d->loc.file->name, d->loc.line, d->loc.col,
            lc, names[d->level], reset, bold, d->msg, reset);
}

void diag_print(const LtcDiag *d, void *stream, bool color) {
    FILE *f = stream;
    const char *reset = color ? "\033[0m" : "";
    diag_print_line(d, stream, color);
    if (!d->loc.file) return;
    /* find the line */
    const char *p = d->loc.file->text;
    for (int ln = 1; ln < d->loc.line && *p; p++)
        if (*p == '\n') ln++;
    const char *e = p;
    while (*e && *e != '\n') e++;
    if (p == e && !*p) return;
    fprintf(f, "%5d | %.*s\n      | ", d->loc.line, (int)(e - p), p);
    for (int i = 1; i < d->loc.col && p + i - 1 < e; i++) fputc(p[i - 1] == '\t' ? '\t' : ' ', f);
    fprintf(f, "%s^%s\n", color ? "\033[1;32m" : "", reset);
}
