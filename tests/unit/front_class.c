/* front_class.c: class@ (frontend/class.c) and load (frontend/load.c),
 * checked against LispE's semantics (reference §2, the exemples folder). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/lisp.h"

#include "front_lisp.h"

/* ---- class@ ------------------------------------------------------------------ */

#define POINT "(class@ Point (x (y 0) (z (+ x 1)))" \
              "  (defun norm1 () (+ x y z))" \
              "  (defun scale (k) (setqi x (* x k)) (setq y 100) (norm1))" \
              "  (defun tag () (setqi label \"p\") label))"

Test(cls, fields_defaults_and_methods) {
    EXPECT_OUT(POINT "(setq p (Point 2)) (println (p x) (p y) (p z) (p (norm1)))", "2 0 3 5\n");
    /* a default sees the earlier fields; an explicit argument wins */
    EXPECT_OUT(POINT "(setq p (Point 2 5 7)) (println (p (norm1)))", "14\n");
    /* setqi sets a field; setq in a method makes a local (y stays 0) */
    EXPECT_OUT(POINT "(setq p (Point 2)) (println (p (scale 3)) (p x) (p y))", "9 6 0\n");
    /* setqi adds a field; an instance is a dictionary of its fields */
    EXPECT_OUT(POINT "(setq p (Point 1)) (p (tag)) (println p (@ p \"label\"))",
               "{\"x\":1 \"y\":0 \"z\":2 \"label\":\"p\"} p\n");
    /* several calls in one form: the value of the last */
    EXPECT_OUT(POINT "(setq p (Point 1)) (println (p (scale 2) (norm1)))", "4\n");
}

Test(cls, init_field_runs_a_method_on_the_new_instance) {
    /* lispe_torch's idiom (exemples/generate_qwen.lisp): (Model path cfg (configure)) */
    EXPECT_OUT("(class@ M (a init) (defun configure () (setqi b (* a 10)) 'done))"
               "(setq m (M 4 (configure))) (println (m b) (m init))", "40 done\n");
}

Test(cls, scopes) {
    /* a defun called from a method does not see the fields; a global of the
     * same name is what it sees */
    EXPECT_OUT("(setq x 'global) (defun f () x)"
               "(class@ C (x) (defun m () (list x (f))))"
               "(println ((C 1) (m)))", "(1 global)\n");
    /* a method argument and the caller's locals come before the fields */
    EXPECT_OUT("(class@ C (x) (defun m (x) x)) (println ((C 1) (m 2)))", "2\n");
    /* methods call each other without the instance */
    EXPECT_OUT("(class@ C (n) (defun twice () (* 2 (once))) (defun once () n)) (println ((C 3) (twice)))", "6\n");
    /* an instance in a variable named like a builtin: its methods, else the builtin */
    EXPECT_OUT("(class@ C (n) (defun get () n)) (setq list (C 5)) (println (list (get)) (list 1 2))", "5 (1 2)\n");
    /* an instance held in a field is called the same way */
    EXPECT_OUT("(class@ In (v) (defun get () v)) (class@ Out (inner) (defun get () (inner (get))))"
               "(println ((Out (In 7)) (get)))", "7\n");
}

Test(cls, errors) {
    EXPECT_ERR(POINT "((Point 1) (nosuch))", "class 'Point' has no method 'nosuch'");
    EXPECT_ERR(POINT "((Point 1) (scale))", "method 'Point.scale' expects 1 argument, got 0");
    EXPECT_ERR(POINT "(Point 1 2 3 4)", "class 'Point' has 3 fields, got 4 arguments");
    EXPECT_ERR(POINT "(Point)", "class 'Point': missing argument for field 'x'");
    EXPECT_ERR("(setqi x 1)", "1:1 'setqi' sets a field of an instance");
    EXPECT_ERR("(class@ C (x) (println 1))", "the body of class 'C' holds methods");
    EXPECT_ERR("(class@ C (x x))", "class 'C' has two fields named 'x'");
    EXPECT_ERR("(class@ C (x) (defun m () 1) (defun m () 2))", "defines method 'm' twice");
}

/* ---- load --------------------------------------------------------------------- */
/* Files in a fresh directory; the script's SrcFile is named by its path. */
static const char *tmpdir(Lisp *L) {
    char *d = arena_strdup(&L->arena, "/tmp/ltc_front_class_XXXXXX");
    cr_assert(mkdtemp(d) != NULL);
    return d;
}

static void put(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    cr_assert(fputs(text, f) >= 0);
    cr_assert(fclose(f) == 0);
}

static const char *run_file(Lisp *L, const char *path) {
    SrcFile *f = arena_alloc(&L->arena, sizeof *f);
    LtcDiag d;
    cr_assert_eq(read_file(&L->arena, path, f, &d), 0, "%s", d.msg);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    L->I.out = out;
    int rc = lisp_eval_file(&L->I, f);
    fclose(out);
    L->I.out = NULL;
    const char *r = rc == 0 ? arena_strdup(&L->arena, buf)
                            : arena_printf(&L->arena, "ERROR %s:%d:%d %s", L->I.diag.loc.file ? L->I.diag.loc.file->name : "?",
                                           L->I.diag.loc.line, L->I.diag.loc.col, L->I.diag.msg);
    free(buf);
    return r;
}

Test(load, relative_to_the_loading_file_and_current) {
    Lisp *L = lisp_new();
    const char *d = tmpdir(L);
    cr_assert(mkdir(arena_printf(&L->arena, "%s/sub", d), 0700) == 0);
    put(arena_printf(&L->arena, "%s/sub/part.lsp", d), "(load \"leaf.lsp\")\n(defun twice (x) (* 2 (leaf x)))\n");
    put(arena_printf(&L->arena, "%s/sub/leaf.lsp", d), "(defun leaf (x) (+ x 1))\n(setq where _current)\n");
    put(arena_printf(&L->arena, "%s/main.lsp", d), "(load \"sub/part.lsp\")\n(println (twice 4))\n(load (+ _current \"sub/leaf.lsp\"))\n");
    cr_expect_str_eq(run_file(L, arena_printf(&L->arena, "%s/main.lsp", d)), "10\n");
    Value *w = interp_global(&L->I, "where");
    cr_assert(w && w->kind == V_STR);
    cr_expect_str_eq(w->s, arena_printf(&L->arena, "%s/sub/", d));     /* mkdtemp's path is already real */
    lisp_free(L);
}

Test(load, errors_carry_the_loaded_file) {
    Lisp *L = lisp_new();
    const char *d = tmpdir(L);
    put(arena_printf(&L->arena, "%s/bad.lsp", d), "(setq a 1)\n  (car 1 2)\n");
    put(arena_printf(&L->arena, "%s/main.lsp", d), "(load \"bad.lsp\")\n");
    cr_expect_str_eq(run_file(L, arena_printf(&L->arena, "%s/main.lsp", d)),
                     arena_printf(&L->arena, "ERROR %s/bad.lsp:2:3 'car' expects 1 argument, got 2", d));
    put(arena_printf(&L->arena, "%s/syn.lsp", d), "(setq a (1 2)\n");
    put(arena_printf(&L->arena, "%s/main2.lsp", d), "(load \"syn.lsp\")\n");
    const char *r = run_file(L, arena_printf(&L->arena, "%s/main2.lsp", d));
    cr_expect(strstr(r, "/syn.lsp:1:") != NULL, "%s", r);
    put(arena_printf(&L->arena, "%s/self.lsp", d), "(load \"self.lsp\")\n");
    r = run_file(L, arena_printf(&L->arena, "%s/self.lsp", d));
    cr_expect(strstr(r, "self.lsp:1:1 load: 'self.lsp' is already being loaded") != NULL, "%s", r);
    put(arena_printf(&L->arena, "%s/miss.lsp", d), "(load \"gone.lsp\")\n");
    r = run_file(L, arena_printf(&L->arena, "%s/miss.lsp", d));
    cr_expect(strstr(r, "miss.lsp:1:1 load: cannot open") != NULL, "%s", r);
    /* after errors the chain is empty again: loading twice is fine */
    put(arena_printf(&L->arena, "%s/twice.lsp", d), "(setq n 0)\n(load \"leaf2.lsp\")\n(load \"leaf2.lsp\")\n(println n)\n");
    put(arena_printf(&L->arena, "%s/leaf2.lsp", d), "(setq n (+ n 1))\n");
    cr_expect_str_eq(run_file(L, arena_printf(&L->arena, "%s/twice.lsp", d)), "2\n");
    lisp_free(L);
}
