/* front_reader.c: the LispE reader: every lexical form, locations, errors
 * with line:col, and random bytes never crashing it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lisp.h"

/* ---- harness: read a string, print the forms back ------------------------- */

typedef struct {
    Arena arena;
    SrcFile file;
    LtcDiag diag;
    Interp interp;       /* only for v_print */
} RT;

static RT *rt_new(void) {
    RT *t = calloc(1, sizeof *t);
    arena_init(&t->arena);
    interp_init(&t->interp, &t->arena, MODE_RUN, 1);
    return t;
}

static void rt_free(RT *t) {
    arena_free(&t->arena);
    free(t);
}

static Value *rd(RT *t, const char *src) {
    t->file.name = "t.lsp";
    t->file.text = arena_strdup(&t->arena, src);
    t->file.len = strlen(src);
    memset(&t->diag, 0, sizeof t->diag);
    return lisp_read(&t->arena, &t->file, &t->diag);
}

/* The forms of src printed (strings quoted), separated by " | ". */
static char *show(RT *t, const char *src) {
    Value *forms = rd(t, src);
    if (!forms) return arena_printf(&t->arena, "ERROR %d:%d %s", t->diag.loc.line, t->diag.loc.col, t->diag.msg);
    StrBuf b = {0};
    for (int k = 0; k < forms->nitems; k++) {
        if (k) sb_puts(&b, " | ");
        v_print(&t->interp, forms->items[k], &b, true);
    }
    char *s = arena_strdup(&t->arena, b.s ? b.s : "");
    sb_free(&b);
    return s;
}

#define SHOWS(src, expect)                                          \
    do {                                                            \
        RT *t_ = rt_new();                                          \
        char *got_ = show(t_, src);                                 \
        cr_expect_str_eq(got_, expect, "reading %s: got %s", src, got_);        \
        rt_free(t_);                                                \
    } while (0)

/* ---- lexical forms ----------------------------------------------------------- */

Test(reader, integers_and_decimals) {
    SHOWS("12 -5 +5 0 -0", "12 | -5 | 5 | 0 | 0");
    SHOWS("1.5 -0.5 2e-4 -1e9 3.0e+2 1E3", "1.5 | -0.5 | 0.0002 | -1e+09 | 300 | 1000");
    SHOWS("0x1F 0xff -0x10", "31 | 255 | -16");
    SHOWS("0b101 -0b11 010", "5 | -3 | 10");      /* a leading 0 is decimal */
    SHOWS("99999999999999999999", "1e+20");       /* too big for 64 bits: a number */
}

Test(reader, number_kinds) {
    RT *t = rt_new();
    Value *f = rd(t, "7 7.0 2e3 -3");
    cr_assert(f);
    cr_expect_eq(f->items[0]->kind, V_INT);
    cr_expect_eq(f->items[1]->kind, V_NUM);
    cr_expect_eq(f->items[2]->kind, V_NUM);
    cr_expect_eq(f->items[3]->kind, V_INT);
    cr_expect_eq(f->items[3]->i, -3);
    rt_free(t);
}

Test(reader, not_numbers) {
    /* a sign needs a digit attached; "1." is 1 then a composition dot */
    SHOWS("(- 10 2)", "(- 10 2)");
    SHOWS("(f -x)", "(f - x)");
    RT *t = rt_new();
    Value *f = rd(t, "(a .5)");
    cr_assert(f);
    cr_expect_eq(f->items[0]->items[1]->kind, V_LIST);   /* (a (5)) */
    rt_free(t);
}

Test(reader, symbols) {
    SHOWS("torch_add key@ atom? model-path set@ _current #x λ", "torch_add | key@ | atom? | model-path | set@ | _current | #x | λ");
    SHOWS("a1 b_2 c3?", "a1 | b_2 | c3?");
}

Test(reader, operator_atoms) {
    SHOWS("(+ - * / < <= = != >= > % ^^ ** += -= @ @@)", "(+ - * / < <= = != >= > % ^^ ** += -= @ @@)");
    SHOWS("(\\ (x) x)", "(\\ (x) x)");
}

Test(reader, strings) {
    SHOWS("\"a\\nb\\tc\\\"d\\\\e\\qf\"", "\"a\\nb\\tc\\\"d\\\\eqf\"");
    SHOWS("`raw \\n\nline`", "\"raw \\\\n\\nline\"");
    SHOWS("\"\"\"x \"q\" y\"\"\"", "\"x \\\"q\\\" y\"");
    SHOWS("\"\"", "\"\"");
}

Test(reader, comments) {
    SHOWS("1 ; comment\n2", "1 | 2");
    SHOWS("1 ;; block\n still comment ;; 2", "1 | 2");
    SHOWS("1 ;; no closing\n2", "1 | 2");
    SHOWS("#!/usr/bin/lispe\n(a)\n#! again\n(b)", "(a) | (b)");
    SHOWS("(a ; x )\n b)", "(a b)");
}

Test(reader, quote_and_brackets) {
    SHOWS("'x '(1 2) ''y", "(quote x) | (quote (1 2)) | (quote (quote y))");
    SHOWS("[a [b c] d]", "(a (b c) d)");
    SHOWS("()", "()");
    /* `]` closes the innermost `[` and the `(` opened after it */
    SHOWS("[a (b (c] d", "(a (b (c))) | d");
    /* with no `[` open, `]` closes every open list */
    SHOWS("(a (b (c] d", "(a (b (c))) | d");
}

Test(reader, dictionary_literal) {
    SHOWS("{\"a\":1 \"b\":(f 2)}", "(dictionary \"a\" 1 \"b\" (f 2))");
    SHOWS("{}", "(dictionary)");
    SHOWS("{a:-5}", "(dictionary a -5)");
}

Test(reader, composition) {
    SHOWS("(f a . g b)", "(f a (g b))");
    SHOWS("(f a . g b . h c)", "(f a (g b (h c)))");
    SHOWS("(decode . integers w)", "(decode (integers w))");
    SHOWS("[f . g x]", "(f (g x))");
    SHOWS("(tensor_div loss . torch_to_mps . tensor_create . floats accum_steps)",
          "(tensor_div loss (torch_to_mps (tensor_create (floats accum_steps))))");
    SHOWS("(f 1.)", "ERROR 1:5 nothing follows the composition '.'");
}

Test(reader, locations) {
    RT *t = rt_new();
    Value *f = rd(t, "(setq x 1)\n  (f\n    \"s\" 2.5)");
    cr_assert(f);
    Value *a = f->items[0], *b = f->items[1];
    cr_expect_eq(a->loc.line, 1);
    cr_expect_eq(a->loc.col, 1);
    cr_expect_eq(a->items[1]->loc.col, 7);
    cr_expect_eq(b->loc.line, 2);
    cr_expect_eq(b->loc.col, 3);
    cr_expect_eq(b->items[1]->loc.line, 3);
    cr_expect_eq(b->items[1]->loc.col, 5);
    cr_expect_eq(b->items[2]->loc.col, 9);
    cr_expect(b->loc.file == &t->file);
    rt_free(t);
}

/* ---- errors ------------------------------------------------------------------- */

Test(reader, errors_have_locations) {
    SHOWS("(a b\n  (c d)", "ERROR 1:1 unterminated list: missing ')'");
    SHOWS("(a\n \"abc", "ERROR 2:2 unterminated string literal");
    SHOWS("x `abc", "ERROR 1:3 unterminated string literal");
    SHOWS("(a))", "ERROR 1:4 unexpected ')'");
    SHOWS("\n  }", "ERROR 2:3 unexpected '}'");
    SHOWS("{\"a\" 1}", "ERROR 1:6 expected ':' after a dictionary key");
    SHOWS("{\"a\":1", "ERROR 1:1 unterminated dictionary: missing '}'");
    SHOWS("(f ')", "ERROR 1:4 nothing to quote after '''");
    SHOWS("(. a)", "ERROR 1:2 unexpected '.' at the start of a list");
    SHOWS("a\x01", "ERROR 1:2 unexpected byte 0x01");
    SHOWS("[a b", "ERROR 1:1 unterminated list: missing ']'");
}

Test(reader, deep_nesting_is_an_error_not_a_crash) {
    RT *t = rt_new();
    size_t n = 200000;
    char *s = malloc(n + 1);
    memset(s, '(', n);
    s[n] = 0;
    Value *f = rd(t, s);
    cr_expect_null(f);
    cr_expect(strstr(t->diag.msg, "nested too deeply") != NULL, "%s", t->diag.msg);
    free(s);
    rt_free(t);
}

Test(reader, empty_and_blank) {
    SHOWS("", "");
    SHOWS("   \n\t ; only a comment", "");
    SHOWS("\xEF\xBB\xBF(a)\r\n(b)", "(a) | (b)");      /* BOM, CRLF */
}

/* Random bytes, and random mixes of the syntax's own characters: the
 * reader returns forms or a located error, never crashes or hangs. */
Test(reader, fuzz_random_input) {
    static const char alphabet[] = "()[]{}\"`';.:#!\\-+0123456789eExabc_@? \n\t";
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        RT *t = rt_new();
        int len = (int)(rand_r(&seed) % 64);
        char *buf = arena_alloc(&t->arena, (size_t)len + 1);
        for (int k = 0; k < len; k++) {
            unsigned r = (unsigned)rand_r(&seed);
            buf[k] = round % 2 ? alphabet[r % (sizeof alphabet - 1)] : (char)(r % 255 + 1);
        }
        buf[len] = 0;
        t->file.name = "fuzz";
        t->file.text = buf;
        t->file.len = (size_t)len;
        Value *f = lisp_read(&t->arena, &t->file, &t->diag);
        if (!f) {
            cr_assert(t->diag.msg[0], "an error must have a message");
            cr_assert(t->diag.loc.line >= 1 && t->diag.loc.col >= 1);
        }
        rt_free(t);
    }
}
