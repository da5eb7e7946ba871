/* api_internal.h: what the files of api/ (the embedding API, embed.h)
 * share.
 *
 *   module.c   compile a script into a module through the driver's
 *              pipeline; run it through the runtime
 *   diags.c    the diagnostic records of a compile */
#ifndef LTC_API_INTERNAL_H
#define LTC_API_INTERNAL_H

#include "lispetorchc/embed.h"
#include "support/support.h"

struct ltc_diags {
    ltc_diag *v;
    size_t n, cap;
    size_t nerrors;                 /* errors seen, recorded or not */
    size_t lost;                    /* records dropped for want of memory */
};

ltc_diags *api_diags_new(void);     /* NULL: out of memory */
/* Copy a record into ds (NULL: nothing); file NULL: no location. */
void api_diags_add(ltc_diags *ds, ltc_diag_severity sev, const char *file, int line, int col,
                   const char *message);
/* The driver's diag sink (Driver.diag_sink); ctx is the ltc_diags. */
void api_diag_sink(void *ctx, const LtcDiag *d);

#endif
