/* class.c: LispE's classes (class@, alias defclass), as lispe_torch's
 * example scripts use them (docs/language.md, "Classes"):
 *
 *   (class@ Model (model_path config (heads 8) init)
 *      (defun configure () (setqi model_id ...))
 *      (defun generate (prompt n) ...))
 *   (setq m (Model "path" cfg 12 (configure)))    ; construction
 *   (m (generate "hello" 10))                     ; a method call
 *
 * An instance is a dictionary of its fields (insertion order = the
 * definition's order) tagged with its class, so printing, `@`, and above
 * all the naming of traced parameters (`model.attention.q_proj.weight`)
 * treat it as the dictionary it is.  Inside a method the instance's fields
 * are variables (after the method's own locals, before the globals); setq
 * makes a local, setqi sets (or adds) a field.  Constructor arguments are
 * evaluated in order in the caller's scope, except an argument that is a
 * call of one of the class's methods, which runs on the new instance once
 * the earlier fields are set: that is how `(Model p cfg (configure))`
 * initialises an instance (the `init` field then holds its result). */
#include "frontend/core.h"

#include <string.h>

typedef struct ClassDef {
    const char *name;
    Value  *fields;             /* V_LIST: symbols, (name default), (name) */
    int     nreq;               /* arguments needed: up to the last bare field */
    const char **mnames; Func **methods; int nmethods;
    SrcLoc  loc;
} ClassDef;

static const char *field_name(const Value *f) { return f->kind == V_SYM ? f->s : f->items[0]->s; }

const ClassDef *class_find(Interp *I, const char *name) {
    for (int i = 0; i < I->nclasses; i++)
        if (!strcmp(I->classes[i]->name, name)) return I->classes[i];
    return NULL;
}

Func *class_method(const ClassDef *c, const char *name) {
    for (int i = 0; c && i < c->nmethods; i++)
        if (!strcmp(c->mnames[i], name)) return c->methods[i];
    return NULL;
}

static void add_class(Interp *I, ClassDef *c, Value *x) {
    for (int i = 0; i < I->nclasses; i++)
        if (!strcmp(I->classes[i]->name, c->name)) { I->classes[i] = c; return; }   /* redefinition */
    if (I->nclasses == I->capclasses) {
        int cap = I->capclasses ? 2 * I->capclasses : 8;
        ClassDef **v = arena_alloc(I->arena, sizeof *v * (size_t)cap);
        if (!v) lisp_fail(I, x->loc, "out of memory");
        if (I->nclasses) memcpy(v, I->classes, sizeof *v * (size_t)I->nclasses);
        I->classes = v, I->capclasses = cap;
    }
    I->classes[I->nclasses++] = c;
}

/* (class@ Name (fields...) (defun method (params) body...)...) */
Value *class_define(Interp *I, Value *x) {
    const char *form = x->items[0]->s;
    if (x->nitems < 3)
        lisp_fail(I, x->loc, "'%s' expects a class name, a field list and methods", form);
    Value *nm = x->items[1], *fields = x->items[2];
    if (nm->kind != V_SYM) lisp_fail(I, nm->loc, "'%s': the class name must be a symbol", form);
    if (fields->kind != V_LIST && fields->kind != V_NIL)
        lisp_fail(I, fields->loc, "'%s': the fields of class '%s' must be a list", form, nm->s);
    ClassDef *c = arena_alloc(I->arena, sizeof *c);
    if (!c) lisp_fail(I, x->loc, "out of memory");
    memset(c, 0, sizeof *c);
    c->name = nm->s;
    c->loc = x->loc;
    c->fields = fields->kind == V_LIST ? fields : v_list(I, L_LIST);
    for (int k = 0; k < c->fields->nitems; k++) {
        Value *f = c->fields->items[k];
        bool opt = f->kind == V_LIST && f->nitems >= 1 && f->nitems <= 2 && f->items[0]->kind == V_SYM;
        if (f->kind != V_SYM && !opt)
            lisp_fail(I, f->loc, "'%s': a field of class '%s' is a symbol, (name default) or (name)", form, c->name);
        for (int j = 0; j < k; j++)
            if (!strcmp(field_name(c->fields->items[j]), field_name(f)))
                lisp_fail(I, f->loc, "'%s': class '%s' has two fields named '%s'", form, c->name, field_name(f));
        if (!opt) c->nreq = k + 1;      /* a bare field may follow optional ones: all up to it are needed */
    }
    int nm_max = x->nitems - 3;
    c->mnames = arena_alloc(I->arena, sizeof *c->mnames * (size_t)(nm_max + 1));
    c->methods = arena_alloc(I->arena, sizeof *c->methods * (size_t)(nm_max + 1));
    if (!c->mnames || !c->methods) lisp_fail(I, x->loc, "out of memory");
    for (int k = 3; k < x->nitems; k++) {
        Value *d = x->items[k];
        if (d->kind != V_LIST || d->nitems < 3 || d->items[0]->kind != V_SYM || strcmp(d->items[0]->s, "defun") ||
            d->items[1]->kind != V_SYM)
            lisp_fail(I, d->loc, "'%s': the body of class '%s' holds methods: (defun name (params) body...)", form,
                      c->name);
        const char *mname = d->items[1]->s;
        if (class_method(c, mname))
            lisp_fail(I, d->loc, "'%s': class '%s' defines method '%s' twice", form, c->name, mname);
        Func *fn = core_make_func(I, d, arena_printf(I->arena, "%s.%s", c->name, mname), d->items[2], 3);
        fn->is_method = true;
        c->mnames[c->nmethods] = mname;
        c->methods[c->nmethods++] = fn;
    }
    add_class(I, c, x);
    Value *r = v_sym(I, c->name);
    return r;
}

/* (setqi field value): sets the current instance's field (adding it). */
Value *class_setqi(Interp *I, Value *x) {
    if (x->nitems != 3) lisp_fail(I, x->loc, "'setqi' expects a field and a value, got %d arguments", x->nitems - 1);
    Value *f = x->items[1];
    if (f->kind != V_SYM) lisp_fail(I, f->loc, "'setqi': the field must be a symbol");
    if (!I->self) lisp_fail(I, x->loc, "'setqi' sets a field of an instance: use it inside a class@ method");
    Value *self = I->self;
    Value *v = core_eval(I, x->items[2]);
    if (I->unwinding) return v;
    dict_set(I, self->dict, f->s, v);
    return v_true();
}

/* A call form of one of c's methods. */
static bool is_method_call(const ClassDef *c, const Value *e) {
    return e->kind == V_LIST && e->nitems > 0 && e->items[0]->kind == V_SYM && class_method(c, e->items[0]->s);
}

static Value *eval_on(Interp *I, Value *inst, Value *e) {
    Value *self0 = I->self;
    int roots = gc_root(I, &self0, 1);
    I->self = inst;
    Value *r = core_eval(I, e);
    I->self = self0;
    gc_unroot(I, roots);
    return r;
}

/* (Name arg...): a new instance. */
Value *class_construct(Interp *I, const ClassDef *c, Value *x) {
    int n = x->nitems - 1, nf = c->fields->nitems;
    if (n > nf)
        lisp_fail(I, x->loc, "class '%s' has %d field%s, got %d arguments", c->name, nf, nf == 1 ? "" : "s", n);
    if (n < c->nreq)
        lisp_fail(I, x->loc, "class '%s': missing argument for field '%s' (%d of %d mandatory fields given)", c->name,
                  field_name(c->fields->items[n]), n, c->nreq);
    Value *inst = v_dict(I);
    inst->cls = c;
    inst->loc = x->loc;
    int roots = gc_root(I, &inst, 1);     /* the fields given so far live in it */
    for (int k = 0; k < nf; k++) {
        Value *f = c->fields->items[k], *v;
        if (k < n) {
            Value *e = x->items[k + 1];
            v = is_method_call(c, e) ? eval_on(I, inst, e) : core_eval(I, e);
        } else {
            /* defaults see the earlier fields, as in LispE */
            v = f->kind == V_LIST && f->nitems == 2 ? eval_on(I, inst, f->items[1]) : v_nil();
        }
        if (I->unwinding) { gc_unroot(I, roots); return v; }
        dict_set(I, inst->dict, field_name(f), v);
    }
    gc_unroot(I, roots);
    return inst;
}

bool class_sends_method(const Value *inst, const Value *x) {
    return x->nitems > 1 && is_method_call(inst->cls, x->items[1]);
}

/* (obj e...): each e evaluated with obj as the current instance, so
 * (obj (method args)) calls a method and (obj field) reads a field. */
Value *class_send(Interp *I, Value *inst, Value *x) {
    const ClassDef *c = inst->cls;
    Value *r = v_nil();
    if (x->nitems < 2) lisp_fail(I, x->loc, "an instance of class '%s' is called with method calls: (obj (method args...))", c->name);
    int roots = gc_root(I, &inst, 1);     /* (obj ...) may be all that holds it */
    for (int k = 1; k < x->nitems; k++) {
        Value *e = x->items[k];
        if (e->kind == V_LIST && e->nitems > 0 && e->items[0]->kind == V_SYM && !class_method(c, e->items[0]->s)) {
            const char *m = e->items[0]->s;
            Value *g = interp_global(I, m);
            bool callable = core_is_special_form(m) || interp_builtin(I, m) || (g && g->kind == V_FUNC);
            if (!callable) {
                const char *best = name_closest(m, (const char *const *)c->mnames, c->nmethods);
                if (best) lisp_fail(I, e->items[0]->loc, "class '%s' has no method '%s'; did you mean '%s'?", c->name, m, best);
                lisp_fail(I, e->items[0]->loc, "class '%s' has no method '%s'", c->name, m);
            }
        }
        r = eval_on(I, inst, e);
        if (I->unwinding) break;
    }
    gc_unroot(I, roots);
    return r;
}

/* A top-level method call with tensor arguments is an entry candidate, like
 * a top-level call of a defun.  Entries are functions, so the call becomes
 * one: a function named after the method, with the arguments' parameter
 * names, whose body is (INSTANCE (method p1 ... pn)) with the instance
 * itself in head position (it evaluates to itself). */
Value *class_entry_function(Interp *I, Func *m, Value *self, int n, Value *call) {
    const char *mname = call->items[0]->s;
    Value *params = v_list(I, L_LIST), *send = v_list(I, L_LIST), *inner = v_list(I, L_LIST);
    v_push(I, inner, call->items[0]);
    for (int k = 0; k < n && k < m->nparams; k++) {
        Value *p = m->params->items[k];
        Value *sym = p->kind == V_SYM ? p : p->items[0];
        v_push(I, params, sym);
        v_push(I, inner, sym);
    }
    inner->loc = send->loc = call->loc;
    v_push(I, send, self);
    v_push(I, send, inner);
    Func *fn = arena_alloc(I->arena, sizeof *fn);
    Value *body = v_list(I, L_LIST);
    if (!fn) lisp_fail(I, call->loc, "out of memory");
    memset(fn, 0, sizeof *fn);
    v_push(I, body, send);
    fn->name = mname;
    fn->params = params;
    fn->body = body;
    fn->nreq = fn->nparams = params->nitems;
    Value *v = v_new(I, V_FUNC);
    v->loc = call->loc;
    v->fn = fn;
    return v;
}
