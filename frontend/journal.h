/* journal.h: the function JIT's undo log, its life cycle (journal.c; the
 * recording calls are in lisp.h, made by the evaluator and builtins). */
#ifndef LTC_JOURNAL_H
#define LTC_JOURNAL_H

#include "frontend/lisp.h"

struct Journal *journal_begin(Interp *I);     /* NULL: out of memory */
bool journal_oom(const struct Journal *j);      /* a copy could not be made */
void journal_undo(Interp *I, struct Journal *j);
void journal_commit(Interp *I, struct Journal *j);
void journal_end(Interp *I, struct Journal *j);

#endif
