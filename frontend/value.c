/* value.c: constructing, comparing and printing LispE values.
 *
 * Every value lives in the session arena.  nil and true are shared
 * read-only singletons: nobody may modify what v_nil()/v_true() return. */
#include "frontend/core.h"

#include <math.h>
#include <string.h>

static Value nil_value = {.kind = V_NIL};
static Value true_value = {.kind = V_TRUE};

Value *v_nil(void) { return &nil_value; }
Value *v_true(void) { return &true_value; }
Value *v_bool(bool b) { return b ? &true_value : &nil_value; }

Value *v_new(Interp *I, VKind k) {
    Value *v = arena_alloc(I->arena, sizeof *v);
    if (!v) lisp_fail(I, (SrcLoc){0}, "out of memory");
    v->kind = k;
    v->born = I->journal ? I->jit_gen : 0;
    return v;
}

Value *v_int(Interp *I, int64_t i) {
    Value *v = v_new(I, V_INT);
    v->i = i;
    return v;
}

Value *v_num(Interp *I, double n) {
    Value *v = v_new(I, V_NUM);
    v->n = n;
    return v;
}

Value *v_str(Interp *I, const char *s) {
    Value *v = v_new(I, V_STR);
    if (!(v->s = arena_strdup(I->arena, s))) lisp_fail(I, (SrcLoc){0}, "out of memory");
    return v;
}

Value *v_sym(Interp *I, const char *s) {
    Value *v = v_str(I, s);
    v->kind = V_SYM;
    return v;
}

Value *v_list(Interp *I, ListKind k) {
    Value *v = v_new(I, V_LIST);
    v->lkind = k;
    return v;
}

void v_push(Interp *I, Value *list, Value *item) {
    if (list->nitems == list->capitems) {
        int cap = list->capitems ? list->capitems * 2 : 4;
        Value **items = arena_alloc(I->arena, sizeof *items * (size_t)cap);
        if (!items) lisp_fail(I, list->loc, "out of memory");
        if (list->nitems) memcpy(items, list->items, sizeof *items * (size_t)list->nitems);
        list->items = items;
        list->capitems = cap;
    }
    list->items[list->nitems++] = item;
}

Value *v_copy_list(Interp *I, const Value *l) {
    Value *c = v_list(I, l->lkind);
    c->loc = l->loc;
    for (int k = 0; k < l->nitems; k++) v_push(I, c, l->items[k]);
    return c;
}

Value *v_dict(Interp *I) {
    Value *v = v_new(I, V_DICT);
    if (!(v->dict = arena_alloc(I->arena, sizeof *v->dict))) lisp_fail(I, (SrcLoc){0}, "out of memory");
    return v;
}

/* Linear search: model dictionaries hold a handful of keys. */
static int dict_find(const Dict *d, const char *key) {
    for (int k = 0; k < d->n; k++)
        if (!strcmp(d->keys[k], key)) return k;
    return -1;
}

Value *dict_get(Dict *d, const char *key) {
    int k = dict_find(d, key);
    return k < 0 ? NULL : d->vals[k];
}

void dict_set(Interp *I, Dict *d, const char *key, Value *v) {
    if (I->journal) journal_dict(I, d);
    int k = dict_find(d, key);
    if (k >= 0) {
        d->vals[k] = v;
        return;
    }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        const char **keys = arena_alloc(I->arena, sizeof *keys * (size_t)cap);
        Value **vals = arena_alloc(I->arena, sizeof *vals * (size_t)cap);
        if (!keys || !vals) lisp_fail(I, (SrcLoc){0}, "out of memory");
        if (d->n) {
            memcpy(keys, d->keys, sizeof *keys * (size_t)d->n);
            memcpy(vals, d->vals, sizeof *vals * (size_t)d->n);
        }
        d->keys = keys, d->vals = vals, d->cap = cap;
    }
    if (!(d->keys[d->n] = arena_strdup(I->arena, key))) lisp_fail(I, (SrcLoc){0}, "out of memory");
    d->vals[d->n++] = v;
}

Value *v_tensor(Interp *I, Node *t) {
    Value *v = v_new(I, V_TENSOR);
    v->t = t;
    if (t && t->graph) t->held = t->graph->gc_epoch;    /* held now: ir_force keeps its value (frontend/gc.c) */
    return v;
}

Value *v_module(Interp *I, ModKind k) {
    Value *v = v_new(I, V_MODULE);
    v->mod = arena_alloc(I->arena, sizeof *v->mod);
    Value *f = v_dict(I);
    if (!v->mod) lisp_fail(I, (SrcLoc){0}, "out of memory");
    v->mod->kind = k;
    v->mod->fields = f->dict;
    return v;
}

/* LispE truth: nil, 0, 0.0, "" and empty containers are false. */
bool v_truthy(const Value *v) {
    switch (v->kind) {
    case V_NIL: return false;
    case V_INT: return v->i != 0;
    case V_NUM: return v->n != 0;
    case V_STR: return v->s[0] != 0;
    case V_LIST: return v->nitems != 0;
    case V_DICT: return v->dict->n != 0;
    default: return true;
    }
}

static const char *list_kind_name(ListKind k) {
    static const char *names[] = {"list", "integers", "floats", "numbers", "shorts", "strings"};
    return (unsigned)k < 6 ? names[k] : "list";
}

const char *v_kind_name(const Value *v) {
    switch (v->kind) {
    case V_NIL: return "nil";
    case V_TRUE: return "true";
    case V_INT: return "integer";
    case V_NUM: return v->is_float ? "float" : "number";
    case V_STR: return "string";
    case V_SYM: return "symbol";
    case V_LIST: return list_kind_name(v->lkind);
    case V_DICT: return "dictionary";
    case V_FUNC: return "function";
    case V_BUILTIN: return "builtin function";
    case V_TENSOR: return "tensor";
    case V_MODULE: return "module";
    }
    return "value";
}

const char *v_article(const char *noun) { return strchr("aeiou", noun[0]) ? "an" : "a"; }

/* The containers being compared on the path from the top: a pair met
 * again is a cycle and compares equal (what is left of it is compared
 * elsewhere on the path).  Deeper than MAX_EQUAL_DEPTH counts as unequal,
 * so comparison cannot exhaust the C stack. */
typedef struct EqPath { const Value *a, *b; const struct EqPath *up; } EqPath;
#define MAX_EQUAL_DEPTH 1000

static bool equal_at(const Value *a, const Value *b, const EqPath *up, int depth);

bool v_equal(const Value *a, const Value *b) { return equal_at(a, b, NULL, 0); }

static bool equal_at(const Value *a, const Value *b, const EqPath *up, int depth) {
    if (a == b) return true;
    bool an = a->kind == V_INT || a->kind == V_NUM, bn = b->kind == V_INT || b->kind == V_NUM;
    if (an && bn) {
        if (a->kind == V_INT && b->kind == V_INT) return a->i == b->i;
        return (a->kind == V_INT ? (double)a->i : a->n) == (b->kind == V_INT ? (double)b->i : b->n);
    }
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case V_NIL:
    case V_TRUE: return true;
    case V_STR:
    case V_SYM: return !strcmp(a->s, b->s);
    case V_LIST:
    case V_DICT: {
        if (depth >= MAX_EQUAL_DEPTH) return false;
        for (const EqPath *p = up; p; p = p->up)
            if (p->a == a && p->b == b) return true;
        EqPath here = {a, b, up};
        if (a->kind == V_LIST) {
            if (a->nitems != b->nitems) return false;
            for (int k = 0; k < a->nitems; k++)
                if (!equal_at(a->items[k], b->items[k], &here, depth + 1)) return false;
            return true;
        }
        if (a->dict->n != b->dict->n) return false;
        for (int k = 0; k < a->dict->n; k++) {
            Value *o = dict_get(b->dict, a->dict->keys[k]);
            if (!o || !equal_at(a->dict->vals[k], o, &here, depth + 1)) return false;
        }
        return true;
    }
    case V_FUNC: return a->fn == b->fn;
    case V_BUILTIN: return a->bi == b->bi;
    case V_TENSOR: return a->t == b->t;
    case V_MODULE: return a->mod == b->mod;
    default: return false;
    }
}

/* Numbers print like LispE: 6 significant digits, no trailing zeros
 * (1.66667, 0.5, 2, 1e-06). */
static void print_num(double n, StrBuf *out) {
    if (isnan(n)) sb_puts(out, "nan");
    else if (isinf(n)) sb_puts(out, n < 0 ? "-inf" : "inf");
    else sb_printf(out, "%g", n);
}

static void print_quoted(const char *s, StrBuf *out) {
    sb_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_putc(out, '\\'), sb_putc(out, *s);
        else if (*s == '\n') sb_puts(out, "\\n");
        else if (*s == '\t') sb_puts(out, "\\t");
        else if (*s == '\r') sb_puts(out, "\\r");
        else sb_putc(out, *s);
    }
    sb_putc(out, '"');
}

static const char *module_names[MOD_COUNT] = {
    "linear", "layer_norm", "embedding", "flash_attention", "multihead_attention",
    "transformer_block", "positional_encoding", "rotary_embedding", "rms_norm",
};

/* Data built by a program may nest arbitrarily deep: print at most this
 * many levels so printing cannot exhaust the C stack. */
#define MAX_PRINT_DEPTH 200
/* A list holding itself ((push l l)) prints its inner occurrence as a cycle
 * marker; a list shared many times over ((setq l (list l l)) in a loop) is
 * a DAG whose printed form doubles per level, so printing stops with "..."
 * after this many values. */
#define MAX_PRINT_VALUES (1 << 22)
#define CYCLE_LIST "(...)"
#define CYCLE_DICT "{...}"

typedef struct PrintState {
    const Value *path[MAX_PRINT_DEPTH + 1];   /* the containers being printed, outermost first */
    int64_t budget;                           /* values left to print */
} PrintState;

static bool on_path(const PrintState *ps, int depth, const Value *v) {
    for (int k = 0; k < depth; k++)
        if (ps->path[k] == v) return true;
    return false;
}

static void print_value(Interp *I, Value *v, StrBuf *out, bool in_container, int depth, PrintState *ps) {
    if (depth > MAX_PRINT_DEPTH || ps->budget <= 0) {
        sb_puts(out, "...");
        return;
    }
    ps->budget--;
    if ((v->kind == V_LIST || v->kind == V_DICT) && on_path(ps, depth, v)) {
        sb_puts(out, v->kind == V_LIST ? CYCLE_LIST : CYCLE_DICT);
        return;
    }
    ps->path[depth] = v;
    switch (v->kind) {
    case V_NIL: sb_puts(out, "nil"); break;
    case V_TRUE: sb_puts(out, "true"); break;
    case V_INT: sb_printf(out, "%lld", (long long)v->i); break;
    case V_NUM: print_num(v->n, out); break;
    case V_STR:
        if (in_container) print_quoted(v->s, out);
        else sb_puts(out, v->s);
        break;
    case V_SYM: sb_puts(out, v->s); break;
    case V_LIST:
        sb_putc(out, '(');
        for (int k = 0; k < v->nitems; k++) {
            if (k) sb_putc(out, ' ');
            print_value(I, v->items[k], out, true, depth + 1, ps);
        }
        sb_putc(out, ')');
        break;
    case V_DICT:
        sb_putc(out, '{');
        for (int k = 0; k < v->dict->n; k++) {
            if (k) sb_putc(out, ' ');
            print_quoted(v->dict->keys[k], out);
            sb_putc(out, ':');
            print_value(I, v->dict->vals[k], out, true, depth + 1, ps);
        }
        sb_putc(out, '}');
        break;
    case V_FUNC: sb_printf(out, "<function %s>", v->fn->name ? v->fn->name : "lambda"); break;
    case V_BUILTIN: sb_printf(out, "<builtin %s>", v->bi->name); break;
    case V_TENSOR: core_print_tensor(I, v->t, out); break;
    case V_MODULE: {
        Module *m = v->mod;
        sb_printf(out, "<%s", (unsigned)m->kind < MOD_COUNT ? module_names[m->kind] : "module");
        for (int k = 0; k < 8 && m->ints[k]; k++) sb_printf(out, " %lld", (long long)m->ints[k]);
        sb_putc(out, '>');
        break;
    }
    }
}

void v_print(Interp *I, Value *v, StrBuf *out, bool in_container) {
    PrintState ps;      /* on the stack: a tensor's printing may raise (longjmp) */
    ps.budget = MAX_PRINT_VALUES;
    print_value(I, v, out, in_container, 0, &ps);
}

const char *v_key_string(Interp *I, Value *v) {
    switch (v->kind) {
    case V_STR:
    case V_SYM: return v->s;
    default: {
        StrBuf b = {0};
        v_print(I, v, &b, false);
        const char *s = arena_strdup(I->arena, b.s ? b.s : "");
        sb_free(&b);
        if (!s) lisp_fail(I, v->loc, "out of memory");
        return s;
    }
    }
}
