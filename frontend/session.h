/* session.h: top-level forms one at a time, for an interactive session
 * (driver/repl.c) that reads a form, evaluates it, prints its value and
 * goes on after an error with the state the earlier forms left.
 *
 * These are separate from lisp.h's whole-file entry points only because a
 * file is read and run in one piece; the rules (reader, evaluator, error
 * unwinding) are the same. */
#ifndef LTC_SESSION_H
#define LTC_SESSION_H

#include "frontend/lisp.h"

/* Parse the text of f as lisp_read does.  On an error, *incomplete is true
 * when the only fault is that the text ends inside a form (an open list,
 * string, dictionary or a quote with nothing after it): more input may
 * complete it. */
Value *lisp_read_partial(Arena *a, const SrcFile *f, LtcDiag *d, bool *incomplete);

/* Register f for diagnostics, then evaluate one top-level form as
 * lisp_eval_file evaluates each of its forms.  When out is not NULL, the
 * value (unless nil) is printed there as println prints it, inside the
 * same error handler (printing a tensor computes it, which may fail).
 * 0, or -1 with I->diag filled; after -1 the session is as the error left
 * it (definitions made before the error stay) and may go on. */
int    lisp_eval_toplevel(Interp *I, const SrcFile *f, Value *form, FILE *out);

#endif
