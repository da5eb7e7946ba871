/* journal.c: the undo log of a function-JIT trace (lisp.h, jit_call.c).
 *
 * A traced call runs the function's LispE code for real: its variables,
 * its prints, its pushes.  When the trace fails half-way (a branch on a
 * tensor's value), the function then runs eagerly from the start, so the
 * first half must not have happened: every container that existed before
 * the trace is copied the first time the trace writes to it, and put back
 * if the trace fails; text printed meanwhile is held and printed only if
 * the trace succeeds (it is then the function's output, once).
 *
 * Containers made by the trace itself (Value.born == Interp.jit_gen) need
 * no copy: they are unreachable after a failed trace.  Frames of the
 * functions the trace calls are not copied either: only the global frame
 * and the frames of the calls around the traced one (depth0) outlive it. */
#include "frontend/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_FRAME, J_DICT, J_LIST, J_TENSOR, J_PRINT } JKind;

typedef struct JEntry {
    JKind kind;
    void *what;                 /* Frame*, Dict*, Value* (list), FILE* */
    int   n, cap;               /* its count (capacity of a list) before */
    void *names, *vals;         /* copies of its arrays; printed text */
    void *items0;               /* a list's items array before; a tensor's node */
} JEntry;

struct Journal {
    JEntry *e; int n, cap;
    int depth0;                 /* frames up to this depth outlive the trace */
    uint64_t next_seed;         /* the random ops' counter before (t_next_seed) */
    uint64_t seed, pool_seed;   /* the session's seed (torch_set_seed) */
    bool oom;                   /* a copy could not be made: the trace must not fail silently */
};

static JEntry *add(Interp *I, JKind k, void *what) {
    struct Journal *j = I->journal;
    for (int i = 0; i < j->n; i++)
        if (j->e[i].kind == k && j->e[i].what == what && k != J_PRINT) return NULL;   /* copied already */
    if (j->n == j->cap) {
        int cap = j->cap ? 2 * j->cap : 16;
        JEntry *e = realloc(j->e, sizeof *e * (size_t)cap);
        if (!e) { j->oom = true; return NULL; }
        j->e = e, j->cap = cap;
    }
    JEntry *x = &j->e[j->n++];
    memset(x, 0, sizeof *x);
    x->kind = k;
    x->what = what;
    return x;
}

static void *copy(struct Journal *j, const void *p, size_t n, size_t elt) {
    if (!n) return NULL;
    void *c = malloc(n * elt);
    if (!c) { j->oom = true; return NULL; }
    memcpy(c, p, n * elt);
    return c;
}

void journal_frame(Interp *I, Frame *f) {
    struct Journal *j = I->journal;
    if (!j) return;
    bool outer = f == &I->global;
    for (int k = 0; !outer && k <= j->depth0 && k <= I->depth; k++) outer = I->stack[k] == f;
    if (!outer) return;
    JEntry *x = add(I, J_FRAME, f);
    if (!x) return;
    x->n = f->n;
    x->names = copy(j, f->names, (size_t)f->n, sizeof *f->names);
    x->vals = copy(j, f->vals, (size_t)f->n, sizeof *f->vals);
}

void journal_dict(Interp *I, Dict *d) {
    struct Journal *j = I->journal;
    if (!j) return;
    JEntry *x = add(I, J_DICT, d);
    if (!x) return;
    x->n = d->n;
    x->names = copy(j, d->keys, (size_t)d->n, sizeof *d->keys);
    x->vals = copy(j, d->vals, (size_t)d->n, sizeof *d->vals);
}

void journal_list(Interp *I, Value *l) {
    struct Journal *j = I->journal;
    if (!j || l->born == I->jit_gen) return;
    JEntry *x = add(I, J_LIST, l);
    if (!x) return;
    x->n = l->nitems;
    x->cap = l->capitems;
    x->items0 = l->items;
    x->vals = copy(j, l->items, (size_t)l->nitems, sizeof *l->items);
}

void journal_tensor(Interp *I, Value *t) {
    struct Journal *j = I->journal;
    if (!j || t->born == I->jit_gen) return;
    JEntry *x = add(I, J_TENSOR, t);
    if (x) x->items0 = t->t;
}

bool journal_print(Interp *I, FILE *f, const char *s, size_t n) {
    struct Journal *j = I->journal;
    if (!j) return false;
    JEntry *x = add(I, J_PRINT, f);
    if (x) {
        x->n = (int)(n > INT32_MAX ? INT32_MAX : n);
        x->vals = copy(j, s, (size_t)x->n, 1);
    }
    return true;
}

struct Journal *journal_begin(Interp *I) {
    struct Journal *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->depth0 = I->depth;
    j->next_seed = I->eager->next_seed;
    j->seed = I->seed;
    j->pool_seed = I->eager->seed;
    I->journal = j;
    I->jit_gen++;
    if (I->jit_gen == 0) I->jit_gen = 1;     /* 0 is "made outside any trace" */
    return j;
}

bool journal_oom(const struct Journal *j) { return j->oom; }

/* Put every copied container back, latest first, drop the held text. */
void journal_undo(Interp *I, struct Journal *j) {
    I->eager->next_seed = j->next_seed;
    I->seed = j->seed;
    I->eager->seed = j->pool_seed;
    for (int i = j->n - 1; i >= 0; i--) {
        JEntry *x = &j->e[i];
        if (x->kind == J_FRAME) {
            Frame *f = x->what;
            f->n = x->n;
            if (x->n) memcpy(f->names, x->names, sizeof *f->names * (size_t)x->n);
            if (x->n) memcpy(f->vals, x->vals, sizeof *f->vals * (size_t)x->n);
            f->nindexed = 0;                 /* rebuilt on the next lookup */
        } else if (x->kind == J_DICT) {
            Dict *d = x->what;
            d->n = x->n;
            if (x->n) memcpy(d->keys, x->names, sizeof *d->keys * (size_t)x->n);
            if (x->n) memcpy(d->vals, x->vals, sizeof *d->vals * (size_t)x->n);
        } else if (x->kind == J_TENSOR) {
            ((Value *)x->what)->t = x->items0;
        } else if (x->kind == J_LIST) {
            Value *l = x->what;
            l->items = x->items0;
            l->nitems = x->n;
            l->capitems = x->cap;
            if (x->n) memcpy(l->items, x->vals, sizeof *l->items * (size_t)x->n);
        }
    }
}

/* The trace succeeded: print what it printed, in order. */
void journal_commit(Interp *I, struct Journal *j) {
    (void)I;
    for (int i = 0; i < j->n; i++) {
        JEntry *x = &j->e[i];
        if (x->kind != J_PRINT || !x->what || !x->n) continue;
        fwrite(x->vals, 1, (size_t)x->n, x->what);
        fflush(x->what);
    }
}

void journal_end(Interp *I, struct Journal *j) {
    if (I->journal == j) I->journal = NULL;
    for (int i = 0; i < j->n; i++) {
        free(j->e[i].names);
        free(j->e[i].vals);
    }
    free(j->e);
    free(j);
}
