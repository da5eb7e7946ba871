/* front_session.c: the REPL's entry points (frontend/session.h): which
 * inputs the reader calls incomplete (more lines may finish them) and
 * which are plain errors, and lisp_eval_toplevel keeping the session's
 * state across an error. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/session.h"

/* -1: an error more text cannot mend; 0: complete forms; 1: incomplete. */
static int status_of(const char *src) {
    Arena a;
    arena_init(&a);
    SrcFile f = {.name = "<repl>", .text = src, .len = strlen(src)};
    LtcDiag d;
    memset(&d, 0, sizeof d);
    bool incomplete = true;             /* must be overwritten */
    Value *forms = lisp_read_partial(&a, &f, &d, &incomplete);
    int st = forms ? 0 : incomplete ? 1 : -1;
    if (forms) cr_expect(!incomplete, "'%s': forms and incomplete", src);
    arena_free(&a);
    return st;
}

Test(session, incomplete_inputs_wait_for_more) {
    const char *more[] = {"(defun f (x)\n", "(a (b c)", "\"abc", "\"abc\\", "(f \"a)\" ", "`raw (",
                          "\"\"\"raw\n", "{\"k\":", "{\"k\" ", "'", "(a '", "(a ; )\n", "[a (b", "(a . b"};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        cr_expect_eq(status_of(more[i]), 1, "'%s' should be incomplete", more[i]);
}

Test(session, complete_inputs) {
    const char *done[] = {"", "  ; only a comment\n", "(a)", "(a) (b", "x", "(a ;; block ;; b)", "\"a;b\"",
                          "(a]", "[a (b c]", "'x", "{\"k\":1}", "#! shebang (\n"};
    /* "(a) (b": the second form is open: incomplete, not complete */
    for (size_t i = 0; i < sizeof done / sizeof *done; i++) {
        int want = strcmp(done[i], "(a) (b") == 0 ? 1 : 0;
        cr_expect_eq(status_of(done[i]), want, "'%s'", done[i]);
    }
}

Test(session, errors_more_text_cannot_mend) {
    const char *bad[] = {")", "(a))", "(a }", "{\"k\" 1}", "(. a)", "{\"k\":}", "(a) )"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_eq(status_of(bad[i]), -1, "'%s' should be an error", bad[i]);
}

/* Evaluate every form of src in the session; the number that failed. */
static int eval_all(Interp *I, Arena *a, const char *src, FILE *out) {
    SrcFile *f = arena_alloc(a, sizeof *f);
    f->name = "<repl>";
    f->text = arena_strdup(a, src);
    f->len = strlen(src);
    LtcDiag d;
    Value *forms = lisp_read(a, f, &d);
    cr_assert(forms, "%s", d.msg);
    int failed = 0;
    for (int k = 0; k < forms->nitems; k++) failed += lisp_eval_toplevel(I, f, forms->items[k], out) != 0;
    return failed;
}

Test(session, an_error_keeps_the_definitions_before_it) {
    Arena a;
    arena_init(&a);
    Interp I;
    interp_init(&I, &a, MODE_RUN, 1);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert(out);
    I.out = out;
    cr_expect_eq(eval_all(&I, &a, "(setq x 20) (defun f (n) (+ n x))", out), 0);
    /* an error deep in a call: the stack unwinds, the globals stay */
    cr_expect_eq(eval_all(&I, &a, "(defun g (n) (if (= n 0) (no_such 1) (g (- n 1)))) (g 50)", out), 1);
    cr_expect(strstr(I.diag.msg, "unknown function 'no_such'"), "%s", I.diag.msg);
    cr_expect_eq(I.depth, 0);
    cr_expect_eq(eval_all(&I, &a, "(f 22) (println \"p\") (g 0) (f 1)", out), 1);
    fclose(out);
    /* values printed, nil not: (setq) true, f, g, 42, p (println's line), 21 */
    cr_expect_str_eq(text, "true\n<function f>\n<function g>\n42\np\n21\n");
    free(text);
    arena_free(&a);
}
