/* repl.c: `lispetorchc repl` - an interactive LispE session with run's
 * evaluator, builtins, JIT engine and options (docs/cli.md, "REPL").
 *
 * Lines are gathered until the reader (frontend/reader.c, through
 * lisp_read_partial) finds complete forms: an input that only ends inside
 * a list, string or dictionary waits for more lines behind a continuation
 * prompt.  Each form is evaluated in the one session and its value printed
 * as println prints it; an error prints its diagnostic and the session
 * goes on with the definitions made before it.  Diagnostics name the file
 * `<repl>` and the line as the session numbers its input lines.
 *
 * When stdin is not a terminal: no prompts, no readline, no history; forms
 * are read and evaluated one by one all the same, and the exit status is 1
 * when one of them failed (as `run` would), else 0. */
#include "driver/driver.h"
#include "driver/line_input.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/session.h"

#define PROMPT "ltc> "
#define PROMPT_MORE "...> "

/* The history file: $LTC_HISTORY (empty: none), else
 * $XDG_STATE_HOME/lispetorchc/history (the directory made when missing),
 * else ~/.lispetorchc_history; none without HOME. */
static const char *history_file(Driver *d) {
    const char *env = getenv("LTC_HISTORY");
    if (env) return *env ? env : NULL;
    const char *state = getenv("XDG_STATE_HOME");
    if (state && state[0] == '/') {
        const char *dir = arena_printf(&d->arena, "%s/lispetorchc", state);
        if (!dir) return NULL;
        if (mkdir(state, 0700) != 0 && errno != EEXIST) {
            drv_warning(d, "no REPL history: cannot create '%s': %s", state, strerror(errno));
            return NULL;
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            drv_warning(d, "no REPL history: cannot create '%s': %s", dir, strerror(errno));
            return NULL;
        }
        return arena_printf(&d->arena, "%s/history", dir);
    }
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    return arena_printf(&d->arena, "%s/.lispetorchc_history", home);
}

/* `:quit` on a line of its own (spaces around allowed). */
static bool is_quit_command(const char *line) {
    while (*line == ' ' || *line == '\t') line++;
    if (strncmp(line, ":quit", 5) != 0) return false;
    line += 5;
    while (*line == ' ' || *line == '\t' || *line == '\r') line++;
    return *line == 0;
}

/* The form (quit). */
static bool is_quit_form(const Value *v) {
    return v->kind == V_LIST && v->nitems == 1 && v->items[0]->kind == V_SYM && strcmp(v->items[0]->s, "quit") == 0;
}

/* The pending input as a source "file" whose lines are the session's:
 * diag_print finds a line by counting newlines from the start of the text,
 * so the text starts with one newline per line read before the pending
 * input (a byte per earlier line: sessions are typed, not megabytes). */
static SrcFile *pending_source(Driver *d, const StrBuf *pending, int first_line) {
    SrcFile *f = arena_alloc(&d->arena, sizeof *f);
    size_t pad = (size_t)(first_line - 1), len;
    if (!f || __builtin_add_overflow(pad, pending->len, &len) || len == SIZE_MAX) return NULL;
    char *text = arena_alloc_big(&d->arena, len + 1);
    if (!text) return NULL;
    memset(text, '\n', pad);
    memcpy(text + pad, pending->s, pending->len);
    text[len] = 0;
    f->name = "<repl>";
    f->text = text;
    f->len = len;
    return f;
}

/* Each evaluation gets the whole --max-steps and --timeout budget. */
static void reset_limits(Driver *d, Interp *I) {
    I->steps = 0;
    I->next_check = 0;
    /* (the Ctrl-C flag is not cleared here: reading the line cleared it,
     * and a Ctrl-C typed just after Enter must stop the form) */
    if (d->o.timeout_s > 0) I->deadline_ms = now_ms() + d->o.timeout_s * 1e3;
}

typedef enum { FORMS_OK, FORMS_FAILED, FORMS_QUIT, FORMS_MORE } FormsResult;

/* Does the pending input end inside a form?  Read in a scratch arena that
 * is freed at once: a long form typed line by line is read once per line. */
static bool pending_incomplete(const StrBuf *pending) {
    Arena scratch;
    arena_init(&scratch);
    SrcFile probe = {.name = "<repl>", .text = pending->s, .len = pending->len};
    LtcDiag diag;
    memset(&diag, 0, sizeof diag);
    bool incomplete = false;
    lisp_read_partial(&scratch, &probe, &diag, &incomplete);
    arena_free(&scratch);
    return incomplete;
}

/* Read and evaluate the pending input. */
static FormsResult eval_pending(Driver *d, Interp *I, const StrBuf *pending, int first_line) {
    if (pending_incomplete(pending)) return FORMS_MORE;
    SrcFile *f = pending_source(d, pending, first_line);
    if (!f) {
        drv_error(d, "out of memory reading the input");
        return FORMS_FAILED;
    }
    LtcDiag diag;
    memset(&diag, 0, sizeof diag);
    Value *forms = lisp_read(&d->arena, f, &diag);
    if (!forms) {
        drv_diag(d, &diag);
        return FORMS_FAILED;
    }
    for (int k = 0; k < forms->nitems; k++) {
        if (is_quit_form(forms->items[k])) return FORMS_QUIT;
        reset_limits(d, I);
        if (lisp_eval_toplevel(I, f, forms->items[k], stdout) != 0) {
            drv_diag(d, &I->diag);
            return FORMS_FAILED;        /* the rest of the entry is not run */
        }
    }
    return FORMS_OK;
}

int driver_repl(Driver *d) {
    bool tty = isatty(STDIN_FILENO) == 1;
    Interp I;
    memset(&I, 0, sizeof I);
    if (drv_interp_start(d, &I, MODE_RUN, stdout) != 0) {
        jit_detach(d, I.eager);
        return EXIT_ERROR;
    }
    const char *hist = tty ? history_file(d) : NULL;
    int lrc = line_input_start(tty, hist);
    if (lrc < 0) {
        drv_error(d, "cannot install the REPL's SIGINT handler: %s", strerror(errno));
        jit_detach(d, I.eager);
        return EXIT_ERROR;
    }
    I.interrupt = line_input_interrupt_flag();   /* Ctrl-C stops a running form */
    if (lrc > 0) drv_warning(d, "cannot read the REPL history '%s': %s", hist, strerror(errno));
    if (tty) {
        printf("lispetorchc " LTC_VERSION " REPL (%s); Ctrl-D or :quit to leave\n",
               d->o.interpret ? "--interpret" : "JIT");
        fflush(stdout);
    }

    StrBuf pending = {0};
    int line_no = 0;            /* lines read so far */
    int first_line = 1;         /* the line where the pending input starts */
    bool failed = false, read_error = false;
    for (;;) {
        char *line = NULL;
        int st = line_input_read(pending.len ? PROMPT_MORE : PROMPT, &line);
        if (st == LINE_INTERRUPTED) {
            /* Ctrl-C: the lines typed so far are dropped, the session stays */
            pending.len = 0;
            if (pending.s) pending.s[0] = 0;
            first_line = line_no + 1;
            continue;
        }
        if (st == LINE_ERROR) {
            drv_error(d, "cannot read standard input: %s", strerror(errno));
            read_error = true;
            break;
        }
        if (st == LINE_EOF) {
            if (pending.len && !tty) {
                /* a form left open at the end of piped input: the reader's error */
                LtcDiag diag;
                SrcFile *f = pending_source(d, &pending, first_line);
                memset(&diag, 0, sizeof diag);
                if (f && !lisp_read(&d->arena, f, &diag)) drv_diag(d, &diag);
                failed = true;
            }
            if (tty) fputs("\n", stdout);
            break;
        }
        if (!pending.len && is_quit_command(line)) { free(line); break; }
        /* a recalled multi-line entry brings its newlines along */
        int nl = 1;
        for (const char *p = line; *p && nl < INT_MAX; p++) nl += *p == '\n';
        if (line_no > INT_MAX - 1 - nl) {
            free(line);
            drv_error(d, "too many input lines");
            read_error = true;
            break;
        }
        line_no += nl;
        if (!pending.len && strspn(line, " \t\r") == strlen(line)) {
            free(line);
            first_line = line_no + 1;
            continue;
        }
        sb_puts(&pending, line);
        sb_putc(&pending, '\n');
        free(line);
        if (pending.oom) {
            drv_error(d, "out of memory reading the input");
            read_error = true;
            break;
        }
        FormsResult r = eval_pending(d, &I, &pending, first_line);
        if (r == FORMS_MORE) continue;
        /* the complete entry, without its last newline, is one history entry */
        pending.s[pending.len - 1] = 0;
        line_input_remember(pending.s);
        pending.len = 0;
        pending.s[0] = 0;
        first_line = line_no + 1;
        if (r == FORMS_QUIT) break;
        if (r == FORMS_FAILED) failed = true;
    }
    sb_free(&pending);
    I.interrupt = NULL;
    if (line_input_stop() != 0 && hist)
        drv_warning(d, "cannot write the REPL history '%s': %s", hist, strerror(errno));
    fflush(stdout);
    /* --weights: what the session left must be bound too */
    int wrc = run_weights_finish(d, &I, true);
    jit_detach(d, I.eager);
    if (read_error) return EXIT_ERROR;
    if (wrc != 0) return wrc;
    /* on a terminal an error is part of the conversation; piped, it fails the run */
    return !tty && failed ? EXIT_ERROR : EXIT_OK;
}
