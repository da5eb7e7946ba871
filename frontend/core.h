/* core.h: private interface between the files of the LispE language core
 * (reader.c, value.c, eval.c, builtins_core.c, core_tensor.c).  Other parts
 * of the compiler use lisp.h only. */
#ifndef LTC_CORE_H
#define LTC_CORE_H

#include "frontend/lisp.h"

/* builtins_core.c: the core library (lists, arithmetic, printing...). */
void   core_register_builtins(Interp *I);
/* Binary arithmetic as `+ - * / % ^` do it (op is one of "+-*%/^"):
 * numbers, element-wise on lists, strings for '+', tensors through the
 * registered tensor_* builtins.  Used by += and friends. */
Value *core_arith(Interp *I, Value *call, char op, Value *a, Value *b);

/* eval.c */
Value *core_eval(Interp *I, Value *x);
/* Call a function value (V_FUNC or V_BUILTIN) on evaluated arguments. */
Value *core_apply(Interp *I, Value *fn, Value **args, int nargs, Value *call);
/* Name of the function a call form invokes ("?" when it has none). */
const char *core_call_name(const Value *call);

/* A function from a parameter list and the body forms x[body_from..]
 * (defun, lambda, class@ methods). */
Func  *core_make_func(Interp *I, Value *x, const char *name, Value *params, int body_from);
/* Call a method with `self` as the current instance. */
Value *core_apply_method(Interp *I, Func *fn, Value *self, Value **args, int n, Value *call);
bool   core_is_special_form(const char *name);
void   core_add_file(Interp *I, const SrcFile *f);     /* for diagnostics */
/* The --max-memory error, at the innermost loop (else at x). */
_Noreturn void core_fail_memory(Interp *I, Value *x);

/* class.c: class@ / defclass, instances, setqi (docs/language.md). */
struct ClassDef;
Value *class_define(Interp *I, Value *x);                          /* (class@ Name (fields) methods...) */
Value *class_setqi(Interp *I, Value *x);                           /* (setqi field value) */
const struct ClassDef *class_find(Interp *I, const char *name);    /* NULL if no such class */
Func  *class_method(const struct ClassDef *c, const char *name);   /* NULL if no such method */
Value *class_construct(Interp *I, const struct ClassDef *c, Value *x);  /* (Name args...) */
Value *class_send(Interp *I, Value *inst, Value *x);              /* (obj (method args)...) */
bool   class_sends_method(const Value *inst, const Value *x);     /* x's first argument calls a method of inst */
/* A function standing for a top-level method call (an entry candidate). */
Value *class_entry_function(Interp *I, Func *m, Value *self, int n, Value *call);

/* load.c */
Value *load_current_dir(Interp *I, Value *sym);    /* _current: the directory of sym's file, with '/' */
void   load_register(Interp *I);                   /* the load builtin */

/* A symbolic size (V_INT with sym) used where its value must be known (a
 * comparison, a loop bound, a scalar...): while tracing, the model is
 * specialised to lo <= v <= hi (lo == hi == v->i by core_specialise),
 * recorded as a guard of the traced graph that the driver reports and the
 * compiled model checks at run time.  `how` says what used it ("'<'").
 * Returns v->i.  No-op for plain integers. */
int64_t core_specialise(Interp *I, const Value *v, Value *call, const char *how);
void    core_guard(Interp *I, const Value *v, int64_t lo, int64_t hi, Value *call, const char *how);

/* value.c */
Value *v_copy_list(Interp *I, const Value *l);     /* shallow copy */
Value *v_new(Interp *I, VKind k);                  /* zeroed value of kind k */
bool   v_equal(const Value *a, const Value *b);    /* deep equality (`=`) */
const char *v_article(const char *noun);           /* "a" or "an" */

/* core_tensor.c */
void   core_print_tensor(Interp *I, Node *t, StrBuf *out);
/* Element `idx` (flat, negative from the end) of a tensor as a LispE scalar. */
Value *core_tensor_at(Interp *I, Value *call, Node *t, int64_t idx);

#endif
