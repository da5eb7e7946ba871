/* line_input.h: the REPL's line reader (line_input.c).
 *
 * On a terminal with GNU readline (found at configure time, LTC_HAVE_READLINE):
 * line editing and a history file.  Otherwise plain lines from stdin (no
 * editing, no history).  Ctrl-C while a line is being read abandons it
 * (LINE_INTERRUPTED); the SIGINT handler is the reader's from start to
 * stop, then the previous one again.  readline keeps global state: one
 * reader per process, which the driver is. */
#ifndef LTC_LINE_INPUT_H
#define LTC_LINE_INPUT_H

#include <signal.h>
#include <stdbool.h>

enum { LINE_OK, LINE_EOF, LINE_INTERRUPTED, LINE_ERROR };

/* interactive: prompts, editing and history (stdin is a terminal).
 * history: the file to load and append to, or NULL for none.
 * 0; 1 with errno when the history file exists but cannot be read (the
 * reader works, without the old entries); -1 with errno when the SIGINT
 * handler cannot be installed (nothing started). */
int  line_input_start(bool interactive, const char *history);
/* One line without its newline, malloc'ed, in *line (LINE_OK); LINE_EOF at
 * the end of input, LINE_INTERRUPTED after Ctrl-C, LINE_ERROR with errno
 * when reading failed. */
int  line_input_read(const char *prompt, char **line);
/* Remember a complete entry (a form as typed, its lines joined by '\n'). */
void line_input_remember(const char *entry);
/* The flag the SIGINT handler sets between line_input_start and
 * line_input_stop, also while a form is evaluated (Interp.interrupt: the
 * evaluator stops at its next check).  Reading a line clears it. */
volatile sig_atomic_t *line_input_interrupt_flag(void);
/* Append this session's entries to the history file and restore SIGINT.
 * 0, or -1 with errno when the history could not be written. */
int  line_input_stop(void);

#endif
