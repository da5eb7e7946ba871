/* outputs.c: every file a command writes, staged and committed together.
 *
 * A compile writes several files (model.so, model.safetensors, --save-weights,
 * an --emit text).  Each writer asks outputs_stage() for a temporary beside
 * its target and writes that; main.c calls outputs_commit() when the
 * command succeeded (every temporary renamed into place) or outputs_abort()
 * when it failed (every temporary removed), so a failed or interrupted
 * compile leaves every old file as it was.  The temporaries are registered
 * with support/tempfiles.h, whose SIGINT/SIGTERM handler removes them.
 *
 * What may be written (checked when staging, before any work is lost):
 *   - never the input script, never a directory;
 *   - a path the user named (-o, --save-weights, --save-tensors) may be a
 *     symbolic link: the file it points to is replaced (atomically, beside
 *     it), the link stays; or a device, FIFO or socket (-o /dev/stderr):
 *     written in place at commit, from a temporary in $TMPDIR;
 *   - a path the compiler chose (MODEL.so, MODEL.safetensors beside it)
 *     must be a regular file or absent: writing through a link or onto a
 *     device nobody named would surprise. */
#include "driver/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/tempfiles.h"

static bool named_by_user(const Driver *d, const char *path) {
    const char *named[] = {d->o.output, d->o.save_weights, d->o.save_tensors};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++)
        if (named[i] && strcmp(named[i], path) == 0) return true;
    return false;
}

/* The writers in support/ (write_file_atomic, st_write) and aot.c write
 * TMP.tmp.PID first: that name is a temporary of ours too. */
static const char *inner_tmp(Driver *d, const char *tmp) {
    return arena_printf(&d->arena, "%s.tmp.%d", tmp, (int)getpid());
}

static int track(Driver *d, const char *p, LtcDiag *diag) {
    if (!p || tempfiles_add(p) != 0)
        return diag_set(diag, (SrcLoc){0}, "too many output files, or an output path too long");
    return 0;
}

const char *outputs_stage(Driver *d, const char *path, LtcDiag *diag) {
    SrcLoc none = {0};
    Outputs *os = &d->outputs;
    bool named = named_by_user(d, path);
    for (int i = 0; i < os->n; i++)
        if (strcmp(os->v[i].shown, path) == 0) {
            diag_set(diag, none, "two outputs are both '%s'", path);
            return NULL;
        }
    if (os->n == DRV_MAX_OUTPUTS) { diag_set(diag, none, "too many output files"); return NULL; }

    Output *out = &os->v[os->n];
    memset(out, 0, sizeof *out);
    out->shown = path;
    out->final = path;
    struct stat lst, st, in;
    if (lstat(path, &lst) != 0) {
        if (errno != ENOENT) { diag_set(diag, none, "cannot write '%s': %s", path, strerror(errno)); return NULL; }
        /* a new file: its directory must exist (said with the name the
         * user gave, not the temporary's) */
        const char *slash = strrchr(path, '/');
        if (slash && slash != path) {
            char *dir = arena_strndup(&d->arena, path, (size_t)(slash - path));
            struct stat ds;
            if (!dir) { diag_set(diag, none, "out of memory"); return NULL; }
            if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
                diag_set(diag, none, "cannot write '%s': %s", path,
                         stat(dir, &ds) != 0 ? strerror(errno) : "its directory is not a directory");
                return NULL;
            }
        }
    } else {
        bool link = S_ISLNK(lst.st_mode);
        if (stat(path, &st) != 0) {
            diag_set(diag, none, "cannot write '%s': %s%s", path, link ? "a symbolic link to " : "",
                     strerror(errno));
            return NULL;
        }
        if (d->o.input && strcmp(d->o.input, "-") != 0 && stat(d->o.input, &in) == 0 && in.st_dev == st.st_dev && in.st_ino == st.st_ino) {
            diag_set(diag, none, "refusing to write '%s': it is the input script", path);
            return NULL;
        }
        if (S_ISDIR(st.st_mode)) { diag_set(diag, none, "cannot write '%s': it is a directory", path); return NULL; }
        if (!named && (link || !S_ISREG(st.st_mode))) {
            diag_set(diag, none, "refusing to write '%s': it is %s (name it with -o or --save-weights to write there)", path,
                     link ? "a symbolic link" : "not a regular file");
            return NULL;
        }
        if (!S_ISREG(st.st_mode)) {
            if (access(path, W_OK) != 0) {
                diag_set(diag, none, "cannot write '%s': %s", path, strerror(errno));
                return NULL;
            }
            out->in_place = true;
        } else if (link) {
            char *real = realpath(path, NULL);
            if (!real) { diag_set(diag, none, "cannot resolve '%s': %s", path, strerror(errno)); return NULL; }
            out->final = arena_strdup(&d->arena, real);
            free(real);
            if (!out->final) { diag_set(diag, none, "out of memory"); return NULL; }
        }
    }
    if (out->in_place) {
        /* the device's directory (/dev) is not ours: stage in $TMPDIR */
        const char *dir = getenv("TMPDIR");
        char *t = arena_printf(&d->arena, "%s/lispetorchc-out.tmp.XXXXXX", dir && *dir ? dir : "/tmp");
        if (!t) { diag_set(diag, none, "out of memory"); return NULL; }
        if (track(d, t, diag) != 0) return NULL;
        int fd = mkstemp(t);     /* t now names the file (the X's replaced) */
        tempfiles_remove(t);
        if (fd < 0) {
            diag_set(diag, none, "cannot create a temporary file for '%s': %s", path, strerror(errno));
            return NULL;
        }
        close(fd);
        out->tmp = t;
    } else {
        out->tmp = arena_printf(&d->arena, "%s.tmp.%d", out->final, (int)getpid());
    }
    if (!out->tmp) { diag_set(diag, none, "out of memory"); return NULL; }
    out->inner = inner_tmp(d, out->tmp);
    if (track(d, out->tmp, diag) != 0 || track(d, out->inner, diag) != 0) {
        tempfiles_remove(out->tmp);
        if (out->in_place) unlink(out->tmp);
        return NULL;
    }
    os->n++;
    return out->tmp;
}

static void drop(Output *o) {
    unlink(o->tmp);
    unlink(o->inner);
    tempfiles_remove(o->tmp);
    tempfiles_remove(o->inner);
}

void outputs_abort(Driver *d) {
    for (int i = 0; i < d->outputs.n; i++) drop(&d->outputs.v[i]);
    d->outputs.n = 0;
}

/* A device or FIFO: copy the staged bytes into it. */
static int copy_in_place(const Output *o, LtcDiag *diag) {
    SrcLoc none = {0};
    int in = open(o->tmp, O_RDONLY);
    if (in < 0) return diag_set(diag, none, "cannot read back '%s': %s", o->tmp, strerror(errno));
    int out = open(o->final, O_WRONLY | O_TRUNC);
    if (out < 0) {
        int e = errno;
        close(in);
        return diag_set(diag, none, "cannot write '%s': %s", o->shown, strerror(e));
    }
    char buf[1 << 16];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { rc = diag_set(diag, none, "cannot read back '%s': %s", o->tmp, strerror(errno)); break; }
        if (n == 0) break;
        for (ssize_t off = 0; off < n && rc == 0;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) rc = diag_set(diag, none, "cannot write '%s': %s", o->shown, w < 0 ? strerror(errno) : "short write");
            else off += w;
        }
        if (rc) break;
    }
    close(in);
    if (close(out) != 0 && rc == 0) rc = diag_set(diag, none, "cannot write '%s': %s", o->shown, strerror(errno));
    return rc;
}

int outputs_commit(Driver *d, LtcDiag *diag) {
    Outputs *os = &d->outputs;
    int rc = 0, i = 0;
    TempfilesHold hold;
    tempfiles_hold(&hold);
    /* Phase 1 (the writers) is done: every temporary is complete.  Phase
     * 2: rename them all; files already in place first (renames cannot
     * be undone, but they rarely fail once the temporary exists). */
    for (; i < os->n; i++) {
        Output *o = &os->v[i];
        if (o->in_place) continue;
        if (rename(o->tmp, o->final) != 0) {
            int e = errno;
            StrBuf now = {0}, old = {0};
            for (int k = 0; k < os->n; k++) {
                if (k == i || os->v[k].in_place) continue;
                StrBuf *b = k < i ? &now : &old;
                sb_printf(b, "%s'%s'", b->len ? ", " : "", os->v[k].shown);
            }
            rc = diag_set(diag, (SrcLoc){0}, "cannot write '%s': %s%s%s%s%s%s", o->shown, strerror(e),
                          now.len ? "; already written: " : "", now.len ? now.s : "",
                          old.len ? "; left as they were: " : "", old.len ? old.s : "",
                          now.len ? " (the outputs do not match each other now)" : "");
            sb_free(&now);
            sb_free(&old);
            break;
        }
        tempfiles_remove(o->tmp);
        unlink(o->inner);
        tempfiles_remove(o->inner);
    }
    /* a FIFO may block until its reader comes: not with SIGINT held */
    tempfiles_release(&hold);
    for (int k = 0; rc == 0 && k < os->n; k++)
        if (os->v[k].in_place) rc = copy_in_place(&os->v[k], diag);
    for (int k = 0; k < os->n; k++)
        if (os->v[k].in_place || k >= i) drop(&os->v[k]);
    os->n = 0;
    return rc;
}
