/* line_input.c: lines for the REPL (line_input.h).
 *
 * With readline, lines are read through its callback interface around a
 * select() on stdin, so that a SIGINT (whose handler only sets a flag,
 * without SA_RESTART) interrupts select and the partial line can be
 * dropped cleanly: readline's own signal handling is off. */
#include "driver/driver.h"
#include "driver/line_input.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#ifdef LTC_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

/* at most this many entries are kept in the history file */
#define HISTORY_MAX 1000

static volatile sig_atomic_t interrupted;
static struct sigaction old_sigint;
static bool interactive_mode;
static const char *history_path;
static int session_entries;             /* entries remembered this session */

static pthread_t reader;                 /* the thread that reads lines and evaluates */

/* SIGINT goes to any thread that does not block it: with the JIT's thread
 * pool running, a worker may take it while the reader waits in pselect
 * (SIGINT blocked outside it), and pselect would never return.  So a
 * handler on another thread sends it on to the reader, where it stays
 * pending until pselect unblocks it.  (pthread_self and pthread_kill are
 * async-signal-safe; pthread_equal is glibc's comparison of two values.) */
static void on_sigint(int sig) {
    interrupted = 1;
    if (!pthread_equal(pthread_self(), reader)) pthread_kill(reader, sig);
}

volatile sig_atomic_t *line_input_interrupt_flag(void) { return &interrupted; }

const char *line_input_kind(void) {
#ifdef LTC_HAVE_READLINE
    return "GNU readline (editing, history)";
#else
    return "plain line reader (built without GNU readline: no editing, no history)";
#endif
}

int line_input_start(bool interactive, const char *history) {
    interactive_mode = interactive;
    history_path = history;
    reader = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                    /* no SA_RESTART: select/read return EINTR */
    if (sigaction(SIGINT, &sa, &old_sigint) != 0) return -1;
#ifdef LTC_HAVE_READLINE
    if (interactive) {
        rl_catch_signals = 0;
        rl_catch_sigwinch = 1;
        rl_readline_name = "lispetorchc";
        using_history();
        stifle_history(HISTORY_MAX);
        /* an entry is a whole form, perhaps of several lines: the file
         * marks where each begins with a timestamp line so that it is read
         * back as one entry */
        history_write_timestamps = 1;
        history_multiline_entries = 1;
        /* a missing file is a first session */
        int e = history_path ? read_history(history_path) : 0;
        if (e != 0 && e != ENOENT) {
            errno = e;
            return 1;
        }
    }
#endif
    return 0;
}

#ifdef LTC_HAVE_READLINE
static char *got_line;
static bool got_done;

static void on_line(char *line) {
    got_line = line;
    got_done = true;
    rl_callback_handler_remove();       /* no prompt until the next read */
}

/* SIGINT is blocked except inside pselect: a Ctrl-C that came after the
 * flag was tested but before select started waiting (a loaded machine
 * did it) was lost, and the REPL waited for input with the flag set. */
static int read_readline_loop(char **line, const sigset_t *orig);

static int read_readline(const char *prompt, char **line) {
    got_line = NULL;
    got_done = false;
    interrupted = 0;
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    if (sigprocmask(SIG_BLOCK, &block, &orig) != 0) return LINE_ERROR;
    rl_callback_handler_install(prompt, on_line);
    int rc = read_readline_loop(line, &orig);
    int e = errno;
    sigprocmask(SIG_SETMASK, &orig, NULL);
    errno = e;
    return rc;
}

static int read_readline_loop(char **line, const sigset_t *orig) {
    while (!got_done) {
        fd_set in;
        FD_ZERO(&in);
        FD_SET(STDIN_FILENO, &in);
        int r = interrupted ? -1 : pselect(STDIN_FILENO + 1, &in, NULL, NULL, NULL, orig);
        if (interrupted) {
            /* drop what was typed and start a fresh prompt */
            interrupted = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            fputs("^C\n", rl_outstream ? rl_outstream : stdout);
            fflush(rl_outstream ? rl_outstream : stdout);
            return LINE_INTERRUPTED;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            rl_callback_handler_remove();
            errno = e;
            return LINE_ERROR;
        }
        rl_callback_read_char();
    }
    if (!got_line) return LINE_EOF;
    *line = got_line;
    return LINE_OK;
}
#endif

static int read_plain(const char *prompt, char **line) {
    if (interactive_mode && prompt) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    interrupted = 0;
    size_t cap = 0;
    char *buf = NULL;
    errno = 0;
    ssize_t n = getline(&buf, &cap, stdin);
    if (n < 0) {
        int e = errno;
        free(buf);
        if (interrupted || e == EINTR) {
            clearerr(stdin);
            interrupted = 0;
            if (interactive_mode) fputs("^C\n", stdout);
            return LINE_INTERRUPTED;
        }
        if (ferror(stdin)) { errno = e; return LINE_ERROR; }
        return LINE_EOF;
    }
    if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
    *line = buf;
    return LINE_OK;
}

int line_input_read(const char *prompt, char **line) {
    *line = NULL;
#ifdef LTC_HAVE_READLINE
    if (interactive_mode) return read_readline(prompt, line);
#endif
    return read_plain(prompt, line);
}

void line_input_remember(const char *entry) {
#ifdef LTC_HAVE_READLINE
    if (!interactive_mode || !*entry) return;
    /* a repeat of the previous entry is not kept twice */
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && strcmp(last->line, entry) == 0) return;
    add_history(entry);
    /* the timestamp line that starts the entry in the file */
    char stamp[32];
    snprintf(stamp, sizeof stamp, "#%lld", (long long)time(NULL));
    add_history_time(stamp);
    session_entries++;
#else
    (void)entry;
#endif
}

int line_input_stop(void) {
    int rc = 0, e = 0;
#ifdef LTC_HAVE_READLINE
    if (interactive_mode && history_path && session_entries > 0) {
        /* append (not rewrite): concurrent sessions each add theirs */
        int fd = open(history_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) rc = -1, e = errno;
        else if (close(fd) != 0) rc = -1, e = errno;
        int n = session_entries < history_length ? session_entries : history_length;
        if (rc == 0 && (e = append_history(n, history_path)) != 0) rc = -1;
        if (rc == 0 && (e = history_truncate_file(history_path, HISTORY_MAX)) != 0) rc = -1;
    }
    session_entries = 0;
#endif
    if (sigaction(SIGINT, &old_sigint, NULL) != 0 && rc == 0) rc = -1, e = errno;
    errno = e;
    return rc;
}
