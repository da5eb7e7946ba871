/* tempfiles.h: temporary output files removed when the process is
 * interrupted (SIGINT, SIGTERM, SIGHUP).
 *
 * A compile stages every output as a temporary beside its target and
 * renames them into place at the end (driver/outputs.c).  Interrupted in
 * between, the old outputs must stay as they were and no temporary may be
 * left: the handler unlinks every registered path, then re-raises the
 * signal with its default action (so the exit status still says "killed
 * by SIGINT").
 *
 * A signal handler can reach only static storage, so this is the one
 * process-wide table of the compiler: a fixed number of fixed-size slots,
 * written with the signals blocked.  It is only consulted by the handler,
 * which only the command line installs (tempfiles_install): a long-lived
 * process embedding the compiler keeps its own signal handling, and
 * registering is then plain bookkeeping. */
#ifndef LTC_TEMPFILES_H
#define LTC_TEMPFILES_H

#include <signal.h>
#include <sys/types.h>

#define TEMPFILES_MAX 32
#define TEMPFILES_PATH_MAX 4096

/* Install the handlers for SIGINT, SIGTERM and SIGHUP.  0, or -1 (errno). */
int  tempfiles_install(void);
/* Register a path to unlink on a signal.  0, or -1 when the table is full
 * or the path is too long (the caller must not create the file then). */
int  tempfiles_add(const char *path);
/* Forget a path (renamed into place, or removed). */
void tempfiles_remove(const char *path);
/* A child process writing a registered temporary (the linker): killed by
 * the handler first, so that it cannot recreate the file.  One per thread
 * that links (compiles running at once in an embedding host).  add: 0, or
 * -1 when the table is full (the child is then not killed on a signal);
 * remove: once it has been waited for. */
int  tempfiles_add_child(pid_t pid);
void tempfiles_remove_child(pid_t pid);
/* Hold SIGINT/SIGTERM/SIGHUP (in this thread) while the outputs are renamed
 * into place, so that a signal cannot stop the commit half way (some files
 * new, some old); a signal held is delivered by tempfiles_release. */
typedef struct TempfilesHold { sigset_t old; int ok; } TempfilesHold;
void tempfiles_hold(TempfilesHold *h);
void tempfiles_release(TempfilesHold *h);

#endif
