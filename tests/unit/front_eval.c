/* front_eval.c: the LispE evaluator and core library, checked against
 * hand-computed results and LispE's documented semantics. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lisp.h"

#include "front_lisp.h"

/* ---- arithmetic ------------------------------------------------------------- */

Test(eval, integer_and_decimal_arithmetic) {
    EXPECT_VAL("(+ 1 2 3)", "6");
    EXPECT_VAL("(- 10 2 3)", "5");
    EXPECT_VAL("(- 5)", "-5");
    EXPECT_VAL("(* 2 3.5)", "7");
    EXPECT_VAL("(/ 10 5)", "2");
    EXPECT_VAL("(/ 10 6)", "1.66667");
    EXPECT_VAL("(/ 1 4)", "0.25");
    EXPECT_VAL("(% 7 3)", "1");
    EXPECT_VAL("(^^ 2 10)", "1024");
    EXPECT_VAL("(** 2 0.5)", "1.41421");
    EXPECT_VAL("(+ 0.1 0.2)", "0.3");
    EXPECT_VAL("(+ \"ab\" \"cd\")", "abcd");
    EXPECT_VAL("(type (/ 10 5))", "integer_");
    EXPECT_VAL("(type (/ 10 4))", "number_");
    EXPECT_ERR("(/ 1 0)", "division by zero");
    EXPECT_ERR("(+ 1 'a)", "+: argument 2 must be a number, got a symbol");
}

Test(eval, elementwise_lists) {
    EXPECT_VAL("(+ '(1 2 3) '(4 5 6))", "(5 7 9)");
    EXPECT_VAL("(* (integers 1 2 3) 2)", "(2 4 6)");
    EXPECT_VAL("(- 10 (integers 1 2))", "(9 8)");
    EXPECT_VAL("(/ (integers 1 2) 2)", "(0.5 1)");
    EXPECT_VAL("(type (/ (integers 1 2) 2))", "numbers_");
    EXPECT_VAL("(type (+ (integers 1 2) 1))", "integers_");
}

Test(eval, compound_assignment) {
    EXPECT_OUT("(setq a 1) (setq b a) (+= a 5) (println a b)", "6 1\n");
    EXPECT_OUT("(setq a 10) (-= a 4) (*= a 2) (/= a 3) (println a)", "4\n");
    EXPECT_OUT("(setq l (integers 1 2)) (+= l 1) (println l)", "(2 3)\n");
    EXPECT_ERR("(+= nothere 1)", "unbound variable 'nothere'");
}

Test(eval, comparisons_and_logic) {
    EXPECT_VAL("(< 1 2 3)", "true");
    EXPECT_VAL("(< 1 3 2)", "nil");
    EXPECT_VAL("(>= 2 2.0)", "true");
    EXPECT_VAL("(= '(1 2) '(1 2))", "true");
    EXPECT_VAL("(eq '(1 2) '(1 2))", "nil");
    EXPECT_VAL("(eq 'a 'a)", "true");
    EXPECT_VAL("(neq 1 2)", "true");
    EXPECT_VAL("(!= \"a\" \"a\")", "nil");
    EXPECT_VAL("(< \"abc\" \"abd\")", "true");
    EXPECT_VAL("(and 1 2 nil)", "nil");
    EXPECT_VAL("(or nil false 3)", "true");
    EXPECT_VAL("(not nil)", "true");
    EXPECT_VAL("(xor true nil)", "true");
    EXPECT_VAL("(zero? 0.0)", "true");
    EXPECT_VAL("(null? nil)", "true");
    EXPECT_VAL("(nullp 1)", "nil");
    /* and/or stop early */
    EXPECT_OUT("(and nil (println \"no\")) (or 1 (println \"no\")) (println \"ok\")", "ok\n");
}

Test(eval, math) {
    EXPECT_VAL("(sqrt 16)", "4");
    EXPECT_VAL("(exp 0)", "1");
    EXPECT_VAL("(log 1)", "0");
    EXPECT_VAL("(log2 8)", "3");
    EXPECT_VAL("(log10 1000)", "3");
    EXPECT_VAL("(abs -3)", "3");
    EXPECT_VAL("(abs -2.5)", "2.5");
    EXPECT_VAL("(floor 2.7)", "2");
    EXPECT_VAL("(ceil 2.1)", "3");
    EXPECT_VAL("(round 2.5)", "3");
    EXPECT_VAL("(tanh 0)", "0");
    EXPECT_VAL("(max 1 5 3)", "5");
    EXPECT_VAL("(min (list 4 2 8))", "2");
    EXPECT_VAL("(cos 0)", "1");
}

/* ---- printing ----------------------------------------------------------------- */

Test(eval, printing) {
    EXPECT_OUT("(println 12 0.5 1e-6 -2.0 \"s\" (list \"s\" 1 (list)) nil true)",
               "12 0.5 1e-06 -2 s (\"s\" 1 ()) nil true\n");
    EXPECT_OUT("(print 1 2) (print \"a\") (println)", "12a\n");
    EXPECT_OUT("(println (dictionary \"a\" 1 \"b\" (list 2 \"x\")))", "{\"a\":1 \"b\":(2 \"x\")}\n");
    EXPECT_OUT("(println (string 12) (string 'abc))", "12 abc\n");
    EXPECT_OUT("(defun f (x) x) (println f)", "<function f>\n");
}

/* ---- variables and functions --------------------------------------------------- */

Test(eval, setq_is_local_to_the_function) {
    EXPECT_OUT("(setq x 1) (defun f () (setq x 2) x) (println (f) x)", "2 1\n");
    EXPECT_VAL("(setq y 3)", "true");
    EXPECT_VAL("(setqv y 3)", "3");
    EXPECT_OUT("(defun f () (setg gg 7)) (f) (println gg)", "7\n");
    /* reads fall back to globals */
    EXPECT_OUT("(setq g 10) (defun h (a) (+ a g)) (println (h 1))", "11\n");
    /* no closures over the caller's frame */
    EXPECT_ERR("(defun inner () a) (defun outer (a) (inner)) (outer 1)", "unbound variable 'a'");
    /* a function ending in setq returns true */
    EXPECT_OUT("(defun f () (setq z 5)) (println (f))", "true\n");
    EXPECT_OUT("(setq (a b c) (list 1 2)) (println a b c)", "1 2 nil\n");
}

Test(eval, optional_parameters_and_arity) {
    EXPECT_OUT("(defun f (a (b 10) (c)) (list a b c)) (println (f 1) (f 1 2) (f 1 2 3))",
               "(1 10 nil) (1 2 nil) (1 2 3)\n");
    /* a default may use an earlier parameter */
    EXPECT_OUT("(defun f (a (b (* a 2))) b) (println (f 4))", "8\n");
    EXPECT_ERR("(defun f (a (b 10)) a) (f)", "1:24 function 'f' expects 1 to 2 arguments, got 0");
    EXPECT_ERR("(defun f (a) a)\n(f 1 2)", "2:1 function 'f' expects 1 argument, got 2");
    EXPECT_ERR("(defun f ((a 1) b) a)", "mandatory parameter 'b' follows an optional one");
    EXPECT_ERR("(car 1 2)", "'car' expects 1 argument, got 2");
    EXPECT_ERR("(get '(1))", "'get' expects at least 2 arguments, got 1");   /* named as written */
    EXPECT_ERR("(range 1)", "'range' expects 2 to 3 arguments, got 1");
    EXPECT_ERR("(if 1)", "'if' expects 2 or 3 arguments");
}

Test(eval, lambda) {
    EXPECT_VAL("((lambda (x) (* x 2)) 4)", "8");
    EXPECT_OUT("(setq inc (λ (x) (+ x 1))) (println (inc 1))", "2\n");
    EXPECT_OUT("(setq dbl (\\ (x) (* 2 x))) (println (dbl 5))", "10\n");
    EXPECT_OUT("(defun app (f x) (f x)) (println (app (lambda (v) (+ v 100)) 1))", "101\n");
    EXPECT_OUT("(defun app (f x) (f x)) (println (app 'car '(7 8)) (app car '(9)))", "7 9\n");
}

Test(eval, let_and_block) {
    EXPECT_OUT("(setq x 1) (let ((x 2) (y 3)) (println x y)) (println x)", "2 3\n1\n");
    EXPECT_ERR("(let ((y 3)) y) y", "unbound variable 'y'");
    EXPECT_VAL("(block 1 2 3)", "3");
    /* block opens no scope */
    EXPECT_OUT("(block (setq q 4)) (println q)", "4\n");
}

Test(eval, conditionals) {
    EXPECT_VAL("(if (< 1 2) 'yes 'no)", "yes");
    EXPECT_VAL("(if nil 'yes)", "nil");
    EXPECT_VAL("(if false 1 2)", "2");
    EXPECT_VAL("(if _ 1 2)", "2");
    EXPECT_VAL("(if 0 1 2)", "2");
    EXPECT_OUT("(ife nil 1 (print \"a\") 2)", "a");
    EXPECT_VAL("(cond ((= 1 2) 'a) ((= 1 1) 'b 'c) (true 'd))", "c");
    EXPECT_VAL("(cond ((= 1 2) 'a))", "nil");
    EXPECT_VAL("(check (> 2 1) 1 2)", "2");
    EXPECT_VAL("(check nil 1)", "nil");
    EXPECT_VAL("(ncheck nil 'else 'body)", "else");
    EXPECT_VAL("(ncheck true 'else 'body)", "body");
    EXPECT_ERR("(cond (1))", "each clause is a list");
}

Test(eval, loops) {
    EXPECT_OUT("(loop x '(1 2 3) (print x))", "123");
    EXPECT_OUT("(loop c \"aé\" (print c \".\"))", "a.é.");
    EXPECT_OUT("(loop k (dictionary 'a 1 'b 2) (print k))", "ab");
    /* loop variables persist */
    EXPECT_OUT("(loop i (list 1 2) i) (println i)", "2\n");
    EXPECT_OUT("(loopcount 3 i (print i))", "012");
    EXPECT_OUT("(loopcount -3 i (print i))", "210");
    EXPECT_OUT("(loopcount 2 (print \"x\"))", "xx");
    EXPECT_OUT("(dotimes (i 3) (print i))", "012");
    EXPECT_OUT("(loopcount 3 into j (print j))", "012");
    EXPECT_VAL("(loopcount 3 i (* i 10))", "20");
    EXPECT_OUT("(setq i 0) (while (< i 3) (+= i 1)) (println i)", "3\n");
}

Test(eval, break_and_return) {
    EXPECT_OUT("(setq i 0) (while true (+= i 1) (check (= i 5) (break))) (println i)", "5\n");
    EXPECT_VAL("(loop x '(1 2 3) (check (= x 2) (break)) x)", "nil");
    EXPECT_OUT("(defun f () (loop x '(1 2 3) (check (= x 2) (return (* x 10)))) 99) (println (f))", "20\n");
    EXPECT_OUT("(defun f (n) (loopcount 10 i (loopcount 10 j (check (= (* i j) n) (return (list i j)))))) (println (f 6))",
               "(1 6)\n");
    EXPECT_OUT("(defun f () (return) 1) (println (f))", "nil\n");
    /* break leaves only the innermost loop */
    EXPECT_OUT("(loopcount 2 i (loopcount 5 j (check (= j 1) (break)) (print i j)))", "0010");
}

/* ---- lists, typed lists, dictionaries ------------------------------------------ */

Test(eval, lists) {
    EXPECT_VAL("(list 1 \"a\" 'b)", "(1 \"a\" b)");
    EXPECT_VAL("(cons 0 '(1 2))", "(0 1 2)");
    EXPECT_VAL("(car '(1 2 3))", "1");
    EXPECT_VAL("(cdr '(1 2 3))", "(2 3)");
    EXPECT_VAL("(cdr '(1))", "nil");
    EXPECT_VAL("(cadr '(1 2 3))", "2");
    EXPECT_VAL("(caddr '(1 2 3))", "3");
    EXPECT_VAL("(cddr '(1 2 3))", "(3)");
    EXPECT_OUT("(setq l (list 1)) (push l 2 3) (pushfirst l 0) (println l (size l))", "(0 1 2 3) 4\n");
    /* pushing onto a quoted constant does not change the code */
    EXPECT_OUT("(defun f () (push '(1) 2)) (println (f) (f))", "(1 2) (1 2)\n");
    EXPECT_VAL("(in '(1 2 3) 2)", "true");
    EXPECT_VAL("(in \"hello\" \"ell\")", "true");
    EXPECT_VAL("(size \"héllo\")", "5");
    EXPECT_VAL("(extend (list 1) '(2 3))", "(1 2 3)");
    EXPECT_VAL("(reverse '(1 2 3))", "(3 2 1)");
    EXPECT_VAL("(@ '(10 20 30) -1)", "30");
    EXPECT_VAL("(nth '(10 20 30) 1)", "20");
    EXPECT_VAL("(@ '((1 2) (3 4)) 1 0)", "3");
    EXPECT_ERR("(@ '(1 2) 2)", "index 2 out of range for 2 elements");
    EXPECT_OUT("(setq l (list 1 2 3)) (set@ l -1 9) (println l)", "(1 2 9)\n");
}

Test(eval, typed_lists) {
    EXPECT_VAL("(integers 1 (list 2 3) 4)", "(1 2 3 4)");
    EXPECT_VAL("(integers (list 1 2))", "(1 2)");
    EXPECT_VAL("(type (integers 1))", "integers_");
    EXPECT_VAL("(floats 1 2.5)", "(1 2.5)");
    EXPECT_VAL("(type (@ (floats 1) 0))", "float_");
    EXPECT_VAL("(numbers 1 2)", "(1 2)");
    EXPECT_VAL("(type (numbers 1))", "numbers_");
    EXPECT_VAL("(shorts 70000)", "(4464)");
    EXPECT_VAL("(strings 1 'a \"b\")", "(\"1\" \"a\" \"b\")");
    EXPECT_VAL("(integers 2.7 \"5\")", "(2 5)");
    EXPECT_VAL("(iota 3)", "(1 2 3)");
    EXPECT_VAL("(iota0 3)", "(0 1 2)");
    EXPECT_VAL("(range 0 10 3)", "(0 3 6 9)");
    EXPECT_VAL("(range 0 1 0.25)", "(0 0.25 0.5 0.75)");
    EXPECT_VAL("(range 3 0 -1)", "(3 2 1)");
    EXPECT_OUT("(setq l (integers 1)) (push l 2.9) (println l (type l))", "(1 2) integers_\n");
}

Test(eval, higher_order_and_helpers) {
    EXPECT_VAL("(maplist (lambda (x) (* x x)) '(1 2 3))", "(1 4 9)");
    EXPECT_VAL("(map 'abs '(-1 2 -3))", "(1 2 3)");
    EXPECT_VAL("(filter (lambda (x) (> x 1)) (integers 1 2 3))", "(2 3)");
    EXPECT_VAL("(apply + '(1 2 3))", "6");
    EXPECT_VAL("(apply '+ '(1 2 3))", "6");
    EXPECT_VAL("(sum (integers 1 2 3))", "6");
    EXPECT_VAL("(product '(2 3 4))", "24");
    EXPECT_VAL("(sum (floats 0.5 0.25))", "0.75");
    EXPECT_VAL("(last '(1 2 3))", "3");
    EXPECT_OUT("(setq a (list (list 1) 2)) (setq b (clone a)) (push (car b) 9) (println a b)", "((1) 2) ((1 9) 2)\n");
    EXPECT_VAL("(join (list 1 \"a\" 2.5) \", \")", "1, a, 2.5");
    EXPECT_ERR("(maplist 3 '(1))", "maplist: argument 1 must be a function, got an integer");
}

Test(eval, dictionaries) {
    EXPECT_OUT("(setq d (dictionary 'a 1 \"b\" 2 3 4)) (println d)", "{\"a\":1 \"b\":2 \"3\":4}\n");
    EXPECT_OUT("(setq d (dictionary 'a 1 \"b\" 2 3 4)) (println (@ d 'a) (@ d \"a\") (at d 3) (get d 'b))", "1 1 4 2\n");
    /* keys are stringified: a symbol that evaluates to the string works too */
    EXPECT_OUT("(setq d (dict 'attention 5)) (setq k \"attention\") (println (@ d k))", "5\n");
    EXPECT_VAL("{\"x\":1 \"y\":(+ 1 1)}", "{\"x\":1 \"y\":2}");
    EXPECT_VAL("(@ (dictionary 'l (list 10 20 30)) 'l -1)", "30");
    EXPECT_ERR("(@ (dictionary 'a 1 'b 2) 'c)", "no key 'c' in the dictionary (keys: a, b)");
    EXPECT_ERR("(dictionary 'a)", "expects key/value pairs");
    EXPECT_VAL("(key@ (dictionary 'a 1) 'zz)", "nil");
    EXPECT_VAL("(key (dictionary 'a 1) 'a)", "1");
    EXPECT_OUT("(setq d (dictionary)) (key@ d 'x 1 'y 2) (println d (keys@ d) (values@ d))",
               "{\"x\":1 \"y\":2} (\"x\" \"y\") (1 2)\n");
    EXPECT_OUT("(setq d (dictionary 'l (list 1 2))) (set@ d 'l 0 9) (set@ d 'n 3) (println d)",
               "{\"l\":(9 2) \"n\":3}\n");
    EXPECT_VAL("(in (dictionary 'a 1) 'a)", "true");
    EXPECT_VAL("(size {\"a\":1 \"b\":2})", "2");
}

Test(eval, conversions_and_misc) {
    EXPECT_VAL("(integer \"42\")", "42");
    EXPECT_VAL("(integer 3.9)", "3");
    EXPECT_VAL("(number \"2.5\")", "2.5");
    EXPECT_VAL("(type \"s\")", "string_");
    EXPECT_VAL("(type 'a)", "atom_");
    EXPECT_VAL("(type (dictionary))", "dictionary_");
    EXPECT_VAL("(use 'lispe_torch)", "true");
    EXPECT_VAL("(>= (elapse (+ 1 2)) 0)", "true");
    EXPECT_VAL("(type (elapse 1))", "number_");
    EXPECT_ERR("(integer \"x\")", "\"x\" is not an integer");
}

/* ---- diagnostics -------------------------------------------------------------------- */

Test(eval, unknown_function_did_you_mean) {
    EXPECT_ERR("(prinln 1)", "1:2 unknown function 'prinln'; did you mean 'println'?");
    EXPECT_ERR("(torch_ad 1 2)", "unknown function 'torch_ad'");
    EXPECT_ERR("(defun my_function () 1)\n(my_functon)", "2:2 unknown function 'my_functon'; did you mean 'my_function'?");
    EXPECT_ERR("(lamda (x) x)", "did you mean 'lambda'?");
    EXPECT_ERR("(zzzzzzzz 1)", "unknown function 'zzzzzzzz'");
}

Test(eval, unbound_and_not_a_function) {
    EXPECT_ERR("(println zz)", "1:10 unbound variable 'zz'");
    EXPECT_ERR("(setq counter 1) (println countr)", "unbound variable 'countr'; did you mean 'counter'?");
    EXPECT_ERR("(setq x 1) (x 2)", "'x' is not a function (it is an integer)");
    EXPECT_ERR("((list 1) 2)", "a list is not a function");
}

Test(eval, runaway_recursion) {
    EXPECT_ERR("(defun f (n) (f (+ n 1)))\n(f 0)", "1:14 runaway recursion in 'f' (depth ");
    /* deep but legitimate recursion works */
    EXPECT_VAL("(block (defun cnt (n) (if (= n 0) 0 (+ 1 (cnt (- n 1))))) (cnt 4000))", "4000");
    /* mutual recursion through conditionals */
    EXPECT_ERR("(defun a (n) (cond (true (b n)))) (defun b (n) (check true (a n))) (a 1)", "runaway recursion");
}

Test(eval, interp_usable_after_error) {
    Lisp *L = lisp_new();
    cr_expect_str_eq(run(L, "(setq keep 41) (defun f (x) (+ x 1))"), "");
    cr_expect(strncmp(run(L, "(defun g (n) (g n)) (g 1)"), "ERROR", 5) == 0);
    cr_expect(strncmp(run(L, "(loop x '(1 2) (car 1))"), "ERROR", 5) == 0);
    cr_expect_str_eq(run(L, "(println (f keep))"), "42\n");
    cr_expect_eq(L->I.depth, 0);
    lisp_free(L);
}

Test(eval, error_location_is_the_offending_form) {
    Lisp *L = lisp_new();
    const char *r = run(L, "(setq a 1)\n(defun f (x)\n  (- x \"s\"))\n(f 1)");
    cr_expect_str_eq(r, "ERROR 3:3 -: argument 2 must be a number, got a string");
    cr_assert(L->I.diag.loc.file);
    cr_expect_str_eq(L->I.diag.loc.file->name, "run0.lsp");
    lisp_free(L);
}

Test(eval, reader_errors_come_through) {
    EXPECT_ERR("(println 1", "1:1 unterminated list");
}

/* ---- C interface --------------------------------------------------------------------- */

Test(eval, lisp_call_and_globals) {
    Lisp *L = lisp_new();
    run(L, "(defun add3 (a b (c 3)) (+ a b c)) (setq v 5)");
    Value *fn = interp_global(&L->I, "add3"), *r = NULL;
    cr_assert(fn && fn->kind == V_FUNC);
    Value *args[2] = {v_int(&L->I, 1), v_int(&L->I, 2)};
    cr_expect_eq(lisp_call(&L->I, fn, args, 2, &r), 0);
    cr_expect_eq(r->kind, V_INT);
    cr_expect_eq(r->i, 6);
    cr_expect_eq(lisp_call(&L->I, fn, args, 1, &r), -1);
    cr_expect(strstr(L->I.diag.msg, "expects 2 to 3 arguments, got 1") != NULL, "%s", L->I.diag.msg);
    cr_expect_eq(interp_global(&L->I, "v")->i, 5);
    cr_expect_null(interp_global(&L->I, "nope"));
    const Builtin *b = interp_builtin(&L->I, "println");
    cr_expect(b && !strcmp(b->name, "println"));
    cr_expect_null(interp_builtin(&L->I, "no_such_builtin"));
    lisp_free(L);
}

static Value *bi_twice(Interp *I, Value **args, int n, Value *call) {
    return v_int(I, 2 * arg_int(I, call, args, 0));
}

Test(eval, register_builtins_with_alias) {
    static const Builtin table[] = {{"twice", 1, 1, bi_twice, "deux_fois"}, {NULL, 0, 0, NULL, NULL}};
    Lisp *L = lisp_new();
    interp_register(&L->I, table);
    cr_expect_str_eq(run(L, "(println (twice 4) (deux_fois 5) (twice 2.0))"), "8 10 4\n");
    cr_expect_str_eq(run(L, "(twice \"a\")"), "ERROR 1:1 twice: argument 1 must be an integer, got a string");
    cr_expect_str_eq(run(L, "(twice 2.5)"), "ERROR 1:1 twice: argument 1 must be an integer, got a number");
    cr_expect(strstr(run(L, "(twise 1)"), "did you mean 'twice'?") != NULL);
    lisp_free(L);
}

/* Symbolic sizes: * and exact / keep the monomial, everything else uses the
 * example value. */
Test(eval, symbolic_integers) {
    Lisp *L = lisp_new();
    run(L, "(setq s 0)");
    Value *s = v_int(&L->I, 7);
    s->sym = (Dim){1, 1u << 0};
    Value *t = v_int(&L->I, 3);
    t->sym = (Dim){1, 1u << 1};
    /* bind them as globals by evaluating setq on values injected via lisp_call */
    run(L, "(defun setit (name v) (setg tmp v) v)");
    Value *fn = interp_global(&L->I, "setit"), *r;
    Value *a1[2] = {v_str(&L->I, "s"), s};
    lisp_call(&L->I, fn, a1, 2, &r);
    run(L, "(setq S tmp)");
    Value *a2[2] = {v_str(&L->I, "t"), t};
    lisp_call(&L->I, fn, a2, 2, &r);
    run(L, "(setq T tmp)");
    cr_expect_str_eq(run(L, "(setq a (* S 4)) (setq b (/ a 2)) (setq c (* S T)) (setq d (+ S 1)) (setq e (/ c T))"
                            " (setq l (integers S 64)) (println a b c d e (= S 7) (< S 8))"),
                     "28 14 21 8 7 true true\n");
    Value *a = interp_global(&L->I, "a"), *b = interp_global(&L->I, "b"), *c = interp_global(&L->I, "c");
    Value *d = interp_global(&L->I, "d"), *e = interp_global(&L->I, "e"), *l = interp_global(&L->I, "l");
    cr_expect_eq(a->sym.k, 4);
    cr_expect_eq(a->sym.sym, 1u);
    cr_expect_eq(b->sym.k, 2);
    cr_expect_eq(b->sym.sym, 1u);
    cr_expect_eq(c->sym.k, 1);
    cr_expect_eq(c->sym.sym, 3u);
    cr_expect_eq(d->sym.sym, 0u);
    cr_expect_eq(e->sym.sym, 1u);
    cr_expect_eq(l->items[0]->sym.sym, 1u);
    /* arg_shape keeps the symbolic dims */
    Value *args[1] = {l};
    jmp_buf jb;
    L->I.on_error = &jb;
    if (!setjmp(jb)) {
        Shape sh = arg_shape(&L->I, NULL, args, 0);
        cr_expect_eq(sh.rank, 2);
        cr_expect_eq(sh.d[0].sym, 1u);
        cr_expect_eq(sh.d[0].k, 1);
        cr_expect_eq(sh.d[1].sym, 0u);
        cr_expect_eq(sh.d[1].k, 64);
    } else {
        cr_expect_fail("arg_shape failed: %s", L->I.diag.msg);
    }
    L->I.on_error = NULL;
    lisp_free(L);
}

/* A top-level call of a user function with a tensor argument is an entry
 * candidate; calls from inside functions are not. */
Test(eval, entry_calls_recorded) {
    Lisp *L = lisp_new();
    run(L, "(defun f (a b) 1) (defun g (a) (f a 2)) (setq n 3)");
    Node *node = arena_alloc(&L->arena, sizeof *node);
    Value *tv = v_tensor(&L->I, node), *fn = interp_global(&L->I, "setit");
    (void)fn;
    run(L, "(defun setit (v) (setg x v))");
    Value *args[1] = {tv}, *r;
    lisp_call(&L->I, interp_global(&L->I, "setit"), args, 1, &r);
    cr_expect_eq(L->I.ncalls, 0, "lisp_call is not a top-level call of the script");
    run(L, "(f n n) (setq out (g x)) (println (f x 2))");
    cr_expect_eq(L->I.ncalls, 2);
    cr_expect_str_eq(L->I.calls[0].fn->name, "g");
    cr_expect_eq(L->I.calls[0].nargs, 1);
    cr_expect(L->I.calls[0].args[0] == tv);
    cr_expect_str_eq(L->I.calls[1].fn->name, "f");
    cr_expect_eq(L->I.calls[1].loc.line, 1);
    cr_expect_eq(L->I.calls[1].loc.col, 35);
    lisp_free(L);
}

/* ---- tensors through the core (needs the IR library) --------------------------------- */

static Value *bi_t_of(Interp *I, Value **args, int n, Value *call) { return v_tensor(I, arg_tensor(I, call, args, 0)); }
static Value *bi_t_add(Interp *I, Value **args, int n, Value *call) {
    Node *in[2] = {arg_tensor(I, call, args, 0), arg_tensor(I, call, args, 1)};
    return v_tensor(I, lisp_emit(I, call, OP_ADD, in, 2, NULL));
}
static const Builtin tensor_test_table[] = {
    {"t_of", 1, 1, bi_t_of, NULL},
    {"t_add", 2, 2, bi_t_add, NULL},
    {NULL, 0, 0, NULL, NULL},
};

static Lisp *tensor_lisp(void) {
    Lisp *L = lisp_new();
    interp_register(&L->I, tensor_test_table);
    return L;
}

Test(eval, tensors_from_lists_print_like_libtorch) {
    Lisp *L = tensor_lisp();
    cr_expect_str_eq(run(L, "(println (t_of (floats 1 2 3)))"), " 1\n 2\n 3\n[ CPUFloatType{3} ]\n");
    cr_expect_str_eq(run(L, "(println (t_of (list (floats 0.5 1.25) (floats 2 3))))"),
                     " 0.5000  1.2500\n 2.0000  3.0000\n[ CPUFloatType{2,2} ]\n");
    cr_expect_str_eq(run(L, "(println (t_of (integers 10 -2)))"), " 10\n -2\n[ CPULongType{2} ]\n");
    cr_expect_str_eq(run(L, "(println (t_of (list (list (integers 1 2)) (list (integers 3 4)))))"),
                     "(1,.,.) = \n 1  2\n\n(2,.,.) = \n 3  4\n[ CPULongType{2,1,2} ]\n");
    cr_expect_str_eq(run(L, "(println (t_of (numbers 1e-6 1)))"), " 1.0000e-06\n 1.0000e+00\n[ CPUFloatType{2} ]\n");
    cr_expect_str_eq(run(L, "(println (@ (t_of (integers 5 6 7)) -1) (@ (t_of (floats 0.5 2)) 0))"), "7 0.5\n");
    cr_expect(strstr(run(L, "(t_of (list (floats 1 2) (floats 3)))"), "ragged") != NULL);
    cr_expect(strstr(run(L, "(t_of \"x\")"), "t_of: argument 1 must be a tensor") != NULL);
    lisp_free(L);
}

Test(eval, big_tensors_print_a_summary) {
    Lisp *L = tensor_lisp();
    cr_expect_str_eq(run(L, "(println (t_of (list (iota0 1000) (iota0 1000))))"), "[ CPULongType{2,1000} ]\n");
    lisp_free(L);
}

Test(eval, emit_errors_name_the_builtin) {
    Lisp *L = tensor_lisp();
    const char *r = run(L, "(setq a (t_of (floats 1 2)))\n(t_add a (t_of (floats 1 2 3)))");
    cr_expect(strncmp(r, "ERROR 2:1 t_add: ", 17) == 0, "%s", r);
    cr_expect_str_eq(run(L, "(println (t_add (t_of (floats 1 2)) (t_of (floats 10 20))))"),
                     " 11\n 22\n[ CPUFloatType{2} ]\n");
    lisp_free(L);
}

/* ---- robustness ---------------------------------------------------------------- */

/* Random programs over the core vocabulary: each ends normally or with a
 * located error, never a crash, and the session stays usable. */
static void gen_expr(StrBuf *b, unsigned *seed, int depth) {
    static const char *heads[] = {
        "+", "-", "*", "/", "%", "^^", "=", "<", ">=", "list", "cons", "car", "cdr", "cadr", "push", "size",
        "in", "at", "@", "dictionary", "key@", "keys@", "set@", "integers", "floats", "strings", "iota0",
        "range", "string", "integer", "number", "type", "if", "cond", "block", "setq", "defun", "lambda", "let",
        "loop", "loopcount", "check", "ncheck", "quote", "and", "or", "not", "println", "print", "f", "g",
        "min", "max", "sqrt", "abs", "extend", "reverse", "return", "break", "+=", "setg", "elapse", "nth",
    };
    static const char *atoms[] = {
        "1", "0", "-3", "2.5", "1e3", "\"s\"", "\"\"", "x", "y", "f", "nil", "true", "'a", "'(1 2)", "()",
        "(list)", "{\"k\":1}", "7", "(integers 1 2 3)", "(floats 0.5 2)", "z", "g",
    };
    unsigned r = (unsigned)rand_r(seed);
    if (depth >= 4 || r % 3 == 0) {
        sb_puts(b, atoms[r % (sizeof atoms / sizeof *atoms)]);
        return;
    }
    sb_putc(b, '(');
    sb_puts(b, heads[(r / 3) % (sizeof heads / sizeof *heads)]);
    int n = (int)((unsigned)rand_r(seed) % 4);
    for (int k = 0; k < n; k++) {
        sb_putc(b, ' ');
        if (rand_r(seed) % 5 == 0) {
            sb_puts(b, "(x y)");
        } else {
            gen_expr(b, seed, depth + 1);
        }
    }
    sb_putc(b, ')');
}

Test(eval, fuzz_random_programs, .timeout = 120) {
    unsigned seed = 2024;
    Lisp *L = lisp_new();
    int ok = 0, errors = 0;
    for (int round = 0; round < 3000; round++) {
        if (round % 100 == 0) {
            lisp_free(L);
            L = lisp_new();
        }
        StrBuf b = {0};
        int forms = 1 + rand_r(&seed) % 4;
        for (int k = 0; k < forms; k++) {
            gen_expr(&b, &seed, 0);
            sb_putc(&b, '\n');
        }
        const char *r = run(L, b.s);
        if (!strncmp(r, "ERROR", 5)) {
            errors++;
            cr_assert(L->I.diag.msg[0]);
        } else {
            ok++;
        }
        cr_assert_eq(L->I.depth, 0, "program: %s", b.s);
        cr_assert_eq(L->I.unwinding, 0, "program: %s", b.s);
        sb_free(&b);
    }
    cr_expect_str_eq(run(L, "(println (+ 1 1))"), "2\n");
    cr_expect(ok > 100 && errors > 100, "ok %d errors %d", ok, errors);
    lisp_free(L);
}

/* The seed script's transformer layer (dict/get, flash attention, layer
 * norm, linear, relu) through the real lispe_torch builtins. */
Test(eval, seed_transformer_layer_runs) {
    Lisp *L = lisp_new();
    torch_register(&L->I);
    const char *r = run(L,
        "(use 'lispe_torch)\n"
        "(defun create_transformer_layer (embed_dim num_heads ffn_dim)\n"
        "    (dict\n"
        "        'attention (torch_flash_attention_create embed_dim num_heads 0.1 true)\n"
        "        'norm1 (torch_layer_norm_create embed_dim)\n"
        "        'norm2 (torch_layer_norm_create embed_dim)\n"
        "        'ffn1 (torch_linear_create embed_dim ffn_dim)\n"
        "        'ffn2 (torch_linear_create ffn_dim embed_dim)))\n"
        "(defun transformer_forward (layer x)\n"
        "    (block\n"
        "        (setq attn_out (torch_flash_attention_forward (get layer 'attention) x x x))\n"
        "        (setq x1 (torch_layer_norm_forward (get layer 'norm1) (torch_add x attn_out)))\n"
        "        (setq ffn_out (torch_linear_forward (get layer 'ffn2)\n"
        "            (torch_relu (torch_linear_forward (get layer 'ffn1) x1))))\n"
        "        (setq output (torch_layer_norm_forward (get layer 'norm2) (torch_add x1 ffn_out)))\n"
        "        output))\n"
        "(setq layer (create_transformer_layer 32 4 64))\n"
        "(setq x (torch_rand (integers 2 8 32)))\n"
        "(setq elapsed (elapse (setq out (transformer_forward layer x))))\n"
        "(println \"Output shape:\" (torch_size out) (>= elapsed 0))\n"
        "(println (keys@ layer))\n"
        "(println (torch_size (+ out 1)) (torch_size (* 2 out)))\n");
    cr_expect_str_eq(r, "Output shape: (2 8 32) true\n(\"attention\" \"norm1\" \"norm2\" \"ffn1\" \"ffn2\")\n(2 8 32) (2 8 32)\n");
    /* the top-level call with a tensor argument is the entry candidate */
    cr_expect_eq(L->I.ncalls, 1);
    cr_expect_str_eq(L->I.calls[0].fn->name, "transformer_forward");
    /* a shape error names the builtin and points at the call */
    r = run(L, "(setq y (torch_rand (integers 2 7 32)))\n(torch_add x y)");
    cr_expect(strncmp(r, "ERROR 2:1 torch_add: ", 21) == 0, "%s", r);
    lisp_free(L);
}

Test(eval, integer_overflow_is_an_error) {
    Lisp *L = lisp_new();
    cr_expect(strstr(run(L, "(println (* 4611686018427387904 2))"), "integer overflow"));
    cr_expect(strstr(run(L, "(setq m (- 0 9223372036854775807 1)) (println (/ m -1))"), "integer overflow"));
    cr_expect(strstr(run(L, "(println (+ 9223372036854775807 1))"), "integer overflow"));
    cr_expect(strstr(run(L, "(println (^^ 3 40))"), "integer overflow"));
    cr_expect_str_eq(run(L, "(setq m (- 0 9223372036854775807 1)) (println (% m -1) (^^ 2 62) (^^ -1 7))"),
                     "0 4611686018427387904 -1\n");
    lisp_free(L);
}

/* ---- hardening (issue 7): cycles, shared data, big global frames ---------------- */

Test(eval, cyclic_list_and_dict_print_a_marker) {
    EXPECT_OUT("(setq l (list 1 2)) (push l l) (println l)", "(1 2 (...))\n");
    EXPECT_OUT("(setq d (dictionary \"a\" 1)) (set@ d \"self\" d) (println d)", "{\"a\":1 \"self\":{...}}\n");
    EXPECT_OUT("(setq l (list 1)) (push l l) (setq m (list 1)) (push m m) (println (= l m))", "true\n");
}

Test(eval, extend_with_itself_terminates) {
    EXPECT_OUT("(setq e (list 1 2 3)) (extend e e) (println e)", "(1 2 3 1 2 3)\n");
}

Test(eval, shared_dag_prints_in_bounded_time, .timeout = 20) {
    Lisp *L = lisp_new();
    const char *r = run(L, "(setq a (list 1)) (loop i (range 0 60 1) (setq a (list a a))) (println (< (size (string a)) 100000000))");
    cr_expect_str_eq(r, "true\n");
    lisp_free(L);
}

Test(eval, forty_thousand_globals_look_up_fast, .timeout = 10) {
    StrBuf b = {0};
    for (int i = 0; i < 40000; i++) sb_printf(&b, "(setq v%d %d)\n", i, i);
    sb_puts(&b, "(let ((v7 -1)) (println v7)) (println (+ v0 v7 v39999))");
    Lisp *L = lisp_new();
    cr_expect_str_eq(run(L, b.s), "-1\n40006\n");
    lisp_free(L);
    sb_free(&b);
}

Test(eval, max_steps_stops_a_runaway_loop, .timeout = 10) {
    Lisp *L = lisp_new();
    L->I.max_steps = 10000;
    const char *r = run(L, "(while true (setq x 1))");
    cr_expect(strstr(r, "evaluation stopped after 10000 steps") != NULL, "got %s", r);
    lisp_free(L);
}
