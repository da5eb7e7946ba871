/* front_lisp.h: the evaluate-and-capture harness the front_* tests share. */
#ifndef LTC_TEST_FRONT_LISP_H
#define LTC_TEST_FRONT_LISP_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lisp.h"

/* ---- harness: evaluate a script, return what it printed -------------------------
 * One Lisp per test.  run() evaluates src as a file and returns everything
 * println/print wrote, or "ERROR line:col message" if evaluation failed
 * (output printed before the error is dropped).  The Interp stays usable
 * after an error, so a test can run several scripts in one session. */

typedef struct Lisp {
    Arena arena;
    Interp I;
    int nrun;
} Lisp;

static Lisp *lisp_new(void) {
    Lisp *L = calloc(1, sizeof *L);
    arena_init(&L->arena);
    interp_init(&L->I, &L->arena, MODE_RUN, 42);
    return L;
}

static void lisp_free(Lisp *L) {
    arena_free(&L->arena);
    free(L);
}

static const char *run(Lisp *L, const char *src) {
    SrcFile *f = arena_alloc(&L->arena, sizeof *f);
    f->name = arena_printf(&L->arena, "run%d.lsp", L->nrun++);
    f->text = arena_strdup(&L->arena, src);
    f->len = strlen(src);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    L->I.out = out;
    int rc = lisp_eval_file(&L->I, f);
    fclose(out);
    L->I.out = NULL;
    const char *r = rc == 0 ? arena_strdup(&L->arena, buf)
                            : arena_printf(&L->arena, "ERROR %d:%d %s", L->I.diag.loc.line, L->I.diag.loc.col, L->I.diag.msg);
    free(buf);
    return r;
}

/* Expect src to print exactly `expect`. */
#define EXPECT_OUT(src, expect)                                     \
    do {                                                            \
        Lisp *L_ = lisp_new();                                      \
        cr_expect_str_eq(run(L_, src), expect, "script: %s", src);  \
        lisp_free(L_);                                              \
    } while (0)

/* Expect the printed value of one expression. */
#define EXPECT_VAL(expr, expect) EXPECT_OUT("(println " expr ")", expect "\n")

/* Expect an error whose "line:col message" contains `frag`. */
#define EXPECT_ERR(src, frag)                                                   \
    do {                                                                        \
        Lisp *L_ = lisp_new();                                                  \
        const char *r_ = run(L_, src);                                          \
        cr_expect(strncmp(r_, "ERROR", 5) == 0 && strstr(r_, frag) != NULL,     \
                  "script: %s\n got: %s\n want: %s", src, r_, frag);            \
        lisp_free(L_);                                                          \
    } while (0)

#endif
