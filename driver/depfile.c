/* depfile.c: --depfile FILE, the compile's inputs as a Make rule.
 *
 *   model.so: model.lsp layers.lsp w.safetensors
 *
 * The rule is what build systems read to rebuild a model when any file it
 * was made from changes (CMake's add_custom_command(DEPFILE), Ninja's
 * `deps = gcc`, Make's -include): the script, every file it `load`ed
 * (frontend/load.c records each in Interp.files, as it reads them) and the
 * --weights file.  Paths are written as the compiler opened them, so
 * relative ones are relative to the current directory, as with cc -MF.
 * The file is staged like every other output (outputs.c): it appears only
 * when the whole compile succeeded. */
#include "driver/driver.h"

#include <string.h>

/* Append `path` escaped as GNU Make and Ninja read a rule: a space, '#'
 * and '\' before them are escaped, '$' doubled.  A newline cannot be
 * written in a rule at all: -1. */
static int put_path(StrBuf *b, const char *path) {
    for (const char *p = path; *p; p++) {
        if (*p == '\n' || *p == '\r') return -1;
        if (*p == ' ' || *p == '#') {
            /* backslashes just before a space are doubled, then the space escaped */
            for (const char *q = p; q > path && q[-1] == '\\'; q--) sb_putc(b, '\\');
            sb_putc(b, '\\');
        }
        if (*p == '$') sb_putc(b, '$');
        sb_putc(b, *p);
    }
    return 0;
}

static bool already_listed(const char **seen, int n, const char *path) {
    for (int i = 0; i < n; i++)
        if (strcmp(seen[i], path) == 0) return true;
    return false;
}

int depfile_write(Driver *d, const Interp *I, const char *target, LtcDiag *diag) {
    SrcLoc none = {0};
    StrBuf b = {0};
    int n = I->nfiles + 1;
    const char **seen = arena_alloc(&d->arena, sizeof *seen * (size_t)n);
    if (!seen) return diag_set(diag, none, "out of memory");
    int nseen = 0;
    const char *bad = NULL;
    if (put_path(&b, target) != 0) bad = target;
    sb_puts(&b, ":");
    for (int i = 0; i < I->nfiles && !bad; i++) {
        const char *name = I->files[i] ? I->files[i]->name : NULL;
        if (!name || already_listed(seen, nseen, name)) continue;
        seen[nseen++] = name;
        sb_puts(&b, " \\\n  ");
        if (put_path(&b, name) != 0) bad = name;
    }
    if (d->o.weights && !bad && !already_listed(seen, nseen, d->o.weights)) {
        sb_puts(&b, " \\\n  ");
        if (put_path(&b, d->o.weights) != 0) bad = d->o.weights;
    }
    sb_puts(&b, "\n");
    int rc = 0;
    if (bad) rc = diag_set(diag, none, "--depfile: the path '%s' holds a line break, which a Make rule cannot name", bad);
    else if (b.oom) rc = diag_set(diag, none, "out of memory writing the --depfile rule");
    if (rc == 0) {
        const char *tmp = outputs_stage(d, d->o.depfile, diag);
        rc = tmp ? write_file_atomic(tmp, b.s, b.len, diag) : -1;
    }
    sb_free(&b);
    return rc;
}
