/* link.h: linking a shared library with the system C compiler. */
#ifndef LTC_LINK_H
#define LTC_LINK_H

#include "support/support.h"

#define LINK_MAX_INPUTS 8

/* cc -shared -fPIC -o out inputs... -Wl,-z,defs -lm (inputs: objects, .c or
 * .s files).  0, or -1 with the compiler's messages in d; out is removed
 * on failure. */
int link_shared(const char *const *inputs, int ninputs, const char *out, LtcDiag *d);

#endif
