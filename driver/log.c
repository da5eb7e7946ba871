/* log.c: the command line's messages on stderr: errors, warnings and
 * notes in the clang style of support/diag.c (or, with a diag sink, handed
 * to it as records), -v progress lines, and the --time-passes report. */
#include "driver/driver.h"

#include <stdarg.h>
#include <string.h>

static void vreport(Driver *d, DiagLevel level, SrcLoc loc, const char *fmt, va_list ap) {
    LtcDiag diag;
    diag_vset(&diag, loc, fmt, ap);
    diag.level = level;
    drv_diag(d, &diag);
}

void drv_error(Driver *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport(d, DIAG_ERROR, (SrcLoc){0}, fmt, ap);
    va_end(ap);
}

void drv_warning(Driver *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport(d, DIAG_WARNING, (SrcLoc){0}, fmt, ap);
    va_end(ap);
}

void drv_note(Driver *d, SrcLoc loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport(d, DIAG_NOTE, loc, fmt, ap);
    va_end(ap);
}

void drv_note_line(Driver *d, SrcLoc loc, const char *fmt, ...) {
    LtcDiag diag;
    va_list ap;
    va_start(ap, fmt);
    diag_vset(&diag, loc, fmt, ap);
    va_end(ap);
    diag.level = DIAG_NOTE;
    if (d->diag_sink) d->diag_sink(d->diag_ctx, &diag);
    else diag_print_line(&diag, d->err, d->o.color);
}

void drv_diag(Driver *d, const LtcDiag *diag) {
    if (d->diag_sink) d->diag_sink(d->diag_ctx, diag);
    else diag_print(diag, d->err, d->o.color);
}

void drv_verbose(Driver *d, const char *fmt, ...) {
    if (!d->o.verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("lispetorchc: ", d->err);
    vfprintf(d->err, fmt, ap);
    fputc('\n', d->err);
    va_end(ap);
}

void drv_phase(Driver *d, const char *phase, double start) {
    double ms = now_ms() - start;
    for (int i = 0; i < d->nphases; i++)
        if (strcmp(d->phase_names[i], phase) == 0) { d->phase_ms[i] += ms; return; }
    if (d->nphases < 16) {
        d->phase_names[d->nphases] = phase;
        d->phase_ms[d->nphases++] = ms;
    }
}

void drv_print_times(Driver *d) {
    if (!d->o.time_passes) return;
    double total = 0;
    for (int i = 0; i < d->nphases; i++) total += d->phase_ms[i];
    fprintf(d->err, "===-------------------------------------------===\n"
                    "  lispetorchc time report\n"
                    "===-------------------------------------------===\n");
    for (int i = 0; i < d->nphases; i++)
        fprintf(d->err, "  %10.3f ms  %5.1f%%  %s\n", d->phase_ms[i],
                total > 0 ? 100.0 * d->phase_ms[i] / total : 0.0, d->phase_names[i]);
    fprintf(d->err, "  %10.3f ms  100.0%%  total\n", total);
}
