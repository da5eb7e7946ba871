/* load.c: (load path) and _current, for models split over several files.
 *
 * A relative path is taken relative to the directory of the file that
 * holds the (load ...) call, so a model loads its parts wherever it is run
 * from; `_current` is that directory (absolute, ending in '/'), as
 * lispe_torch's examples use it: (load (+ _current "model_qwen.lisp")).
 * The loaded file's forms run as top-level forms of the current frame; its
 * values keep their own file:line:col, so errors inside it point into it.
 * A file that is already being loaded (a cycle) is an error naming the
 * chain. */
#include "frontend/core.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The directory part of path ("" for a bare name, else up to and including
 * the last '/'). */
static const char *dir_of(Interp *I, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return "";
    if (slash - path >= INT_MAX) lisp_fail(I, (SrcLoc){0}, "load: path too long");
    const char *d = arena_printf(I->arena, "%.*s", (int)(slash - path + 1), path);
    if (!d) lisp_fail(I, (SrcLoc){0}, "out of memory");
    return d;
}

/* realpath into the arena; NULL with errno when it fails. */
static const char *real_path(Interp *I, const char *path) {
    char *r = realpath(path, NULL);
    if (!r) return NULL;
    const char *s = arena_strdup(I->arena, r);
    free(r);
    return s;
}

Value *load_current_dir(Interp *I, Value *sym) {
    const SrcFile *f = sym->loc.file;
    if (!f || !f->name) lisp_fail(I, sym->loc, "_current: this code has no file");
    const char *dir = dir_of(I, f->name);
    const char *abs = real_path(I, *dir ? dir : ".");
    if (!abs) lisp_fail(I, sym->loc, "_current: cannot resolve the directory of '%s': %s", f->name, strerror(errno));
    size_t n = strlen(abs);
    return v_str(I, n && abs[n - 1] == '/' ? abs : arena_printf(I->arena, "%s/", abs));
}

static void push_loading(Interp *I, Value *call, const char *real) {
    if (I->nloading == I->caploading) {
        if (I->caploading > 4096) lisp_fail(I, call->loc, "load: files nested too deeply");
        int cap = I->caploading ? 2 * I->caploading : 8;
        const char **v = arena_alloc(I->arena, sizeof *v * (size_t)cap);
        if (!v) lisp_fail(I, call->loc, "out of memory");
        if (I->nloading) memcpy(v, I->loading, sizeof *v * (size_t)I->nloading);
        I->loading = v, I->caploading = cap;
    }
    I->loading[I->nloading++] = real;
}

static Value *bi_load(Interp *I, Value **args, int nargs, Value *call) {
    (void)nargs;
    if (args[0]->kind != V_STR)
        lisp_fail(I, call->loc, "load: argument 1 (path) must be a string, got %s %s", v_article(v_kind_name(args[0])),
                  v_kind_name(args[0]));
    const char *given = args[0]->s;
    const SrcFile *from = call->loc.file;
    const char *path = given;
    if (given[0] != '/' && from && from->name) path = arena_printf(I->arena, "%s%s", dir_of(I, from->name), given);
    if (!path) lisp_fail(I, call->loc, "out of memory");

    /* The chain of files being loaded starts with the file of the first load. */
    if (I->nloading == 0 && from && from->name) {
        const char *root = real_path(I, from->name);
        if (root) push_loading(I, call, root);
    }
    const char *real = real_path(I, path);
    if (!real) lisp_fail(I, call->loc, "load: cannot open '%s': %s", path, strerror(errno));
    for (int i = 0; i < I->nloading; i++) {
        if (strcmp(I->loading[i], real) != 0) continue;
        StrBuf b = {0};
        for (int k = i; k < I->nloading; k++) sb_printf(&b, "%s -> ", I->loading[k]);
        sb_printf(&b, "%s", real);
        const char *chain = arena_strdup(I->arena, b.s ? b.s : "");
        sb_free(&b);
        lisp_fail(I, call->loc, "load: '%s' is already being loaded (a cycle: %s)", given, chain ? chain : "");
    }

    SrcFile *f = arena_alloc(I->arena, sizeof *f);
    if (!f) lisp_fail(I, call->loc, "out of memory");
    LtcDiag d;
    memset(&d, 0, sizeof d);
    if (read_file(I->arena, path, f, &d) != 0) lisp_fail(I, call->loc, "load: %s", d.msg);
    Value *forms = lisp_read(I->arena, f, &d);
    if (!forms) lisp_fail(I, d.loc, "%s", d.msg);       /* a syntax error, located in the loaded file */
    core_add_file(I, f);

    int depth = I->nloading;
    push_loading(I, call, real);
    Value *r = v_nil();
    for (int k = 0; k < forms->nitems; k++) {
        r = core_eval(I, forms->items[k]);
        if (I->unwinding == UNWIND_BREAK) I->unwinding = UNWIND_NONE;   /* a stray (break) at its top level */
        if (I->unwinding) break;       /* (return) inside a function that called load: let it through */
    }
    I->nloading = depth;
    /* the chain ends with the outermost load: a later load starts a new one */
    if (depth == 1) I->nloading = 0;
    return r;
}

static const Builtin load_builtins[] = {
    {"load", 1, 1, bi_load, NULL},
    {NULL, 0, 0, NULL, NULL},
};

void load_register(Interp *I) { interp_register(I, load_builtins); }
