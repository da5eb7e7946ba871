/* diags.c: the embedding API's diagnostic records (embed.h's ltc_diags).
 *
 * The driver hands every error, warning and note of a compile to a sink
 * (driver.h, Driver.diag_sink) instead of printing it; the sink copies it
 * here into heap memory, since the compile's arena (where the file names
 * and messages live) is freed before the host reads the list. */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

ltc_diags *api_diags_new(void) { return calloc(1, sizeof(ltc_diags)); }

/* A record whose strings could not be copied keeps a fixed message: the
 * list may lose detail, never the fact that an error happened. */
static const char oom_message[] = "out of memory recording a diagnostic";

void api_diags_add(ltc_diags *ds, ltc_diag_severity sev, const char *file, int line, int col,
                   const char *message) {
    if (!ds) return;
    if (sev == LTC_DIAG_ERROR) ds->nerrors++;
    if (ds->n == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 8;
        if (cap > SIZE_MAX / sizeof *ds->v) { ds->lost++; return; }
        ltc_diag *v = realloc(ds->v, cap * sizeof *v);
        if (!v) { ds->lost++; return; }
        ds->v = v;
        ds->cap = cap;
    }
    ltc_diag *g = &ds->v[ds->n++];
    g->severity = sev;
    g->line = file ? line : 0;
    g->col = file ? col : 0;
    g->file = file ? strdup(file) : NULL;
    if (file && !g->file) g->line = g->col = 0;
    char *m = strdup(message ? message : "");
    g->message = m ? m : oom_message;
}

/* Driver.diag_sink: the driver's LtcDiag as a record. */
void api_diag_sink(void *ctx, const LtcDiag *d) {
    ltc_diag_severity sev = d->level == DIAG_ERROR ? LTC_DIAG_ERROR
                          : d->level == DIAG_WARNING ? LTC_DIAG_WARNING
                                                     : LTC_DIAG_NOTE;
    const char *file = d->loc.file ? d->loc.file->name : NULL;
    api_diags_add(ctx, sev, file, d->loc.line, d->loc.col, d->msg);
}

size_t ltc_diags_count(const ltc_diags *d) { return d ? d->n : 0; }

const ltc_diag *ltc_diags_get(const ltc_diags *d, size_t i) { return d && i < d->n ? &d->v[i] : NULL; }

size_t ltc_diags_errors(const ltc_diags *d) { return d ? d->nerrors : 0; }

void ltc_diags_free(ltc_diags *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->v[i].file);
        if (d->v[i].message != oom_message) free((char *)d->v[i].message);
    }
    free(d->v);
    free(d);
}
