/* link.h: linking a shared library with the system C compiler. */
#ifndef LTC_LINK_H
#define LTC_LINK_H

#include <stddef.h>

#include "support/support.h"

#define LINK_MAX_INPUTS 8

/* cc -shared -fPIC -o out inputs... -Wl,-z,defs -lm (inputs: objects, .c or
 * .s files).  0, or -1 with the compiler's messages in d; out is removed
 * on failure. */
int link_shared(const char *const *inputs, int ninputs, const char *out, LtcDiag *d);

/* Run argv (argv[0] searched in PATH) with stdin /dev/null and stdout and
 * stderr into the file `log`, as the child the signal handler kills
 * (tempfiles_add_child).  0 with *status as waitpid gives it, or -1 with
 * errno (ENOENT: no such program). */
int tool_run(char *const argv[], const char *log, int *status);
/* The start of file log (at most n-1 bytes, trailing blanks dropped)
 * into buf; "" when it cannot be read. */
void tool_read_log(const char *log, char *buf, size_t n);

#endif
