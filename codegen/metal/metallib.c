/* metallib.c: the model's MSL compiled ahead of time by Apple's tools,
 * where they exist (metal.h metal_compile_lib).
 *
 *   xcrun -sdk macosx --find metal          the Metal toolchain installed?
 *   xcrun -sdk macosx metal -std=metal3.0 -fno-fast-math -c T.metal -o T.air
 *   xcrun -sdk macosx metallib T.air -o T.metallib
 *
 * T = path.tmp.PID (beside the model.so being written, registered with
 * support/tempfiles.h, removed on every path).  No xcrun, or an xcrun
 * that finds no `metal` (the Command Line Tools alone, any Linux host),
 * means no metallib: the model holds the source and the device compiles
 * it at load.  A tool that exists and fails is an error showing its
 * messages: the source it refused would fail on the device too.
 *
 * -fno-fast-math: Metal compiles with fast math unless told otherwise,
 * and fast math lets the compiler assume no infinities and no NaN.  Our
 * kernels rely on both: the online softmax of attention starts its
 * running maximum at -inf and masked scores are -inf (exp(-inf) = 0),
 * ltc_max lets NaN win as the interpreter does, and ltc_st_bf16 tests
 * v != v.  Under fast math those become undefined.  (device_metal.m
 * compiles the source with fast math off for the same reason.)
 *
 * LTC_XCRUN=PATH runs another program as xcrun (the tests use a script
 * standing in for it on Linux); LTC_XCRUN=none never looks for the tools. */
#include "codegen/metal/metal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/link.h"
#include "support/tempfiles.h"

enum { T_METAL, T_AIR, T_LIB, T_LOG, NT };
static const char *const suffix[NT] = {"metal", "air", "metallib", "log"};

/* A metallib larger than this is refused rather than read (a model's
 * kernels make a few megabytes). */
#define METALLIB_MAX ((size_t)1 << 30)

static int write_text(const char *path, const char *s, LtcDiag *d) {
    FILE *f = fopen(path, "wb");
    if (!f) return diag_set(d, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
    size_t n = strlen(s);
    bool ok = fwrite(s, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : diag_set(d, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
}

static int read_all(const char *path, uint8_t **data, size_t *len, LtcDiag *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return diag_set(d, (SrcLoc){0}, "metal backend: metallib wrote no '%s': %s", path, strerror(errno));
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n <= 0 || (unsigned long)n > METALLIB_MAX || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return diag_set(d, (SrcLoc){0}, "metal backend: '%s' is empty, unreadable or larger than 1 GB", path);
    }
    uint8_t *p = malloc((size_t)n);
    bool ok = p && fread(p, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (!ok) {
        free(p);
        return diag_set(d, (SrcLoc){0}, "metal backend: cannot read '%s'", path);
    }
    *data = p;
    *len = (size_t)n;
    return 0;
}

/* Run argv; 1: it exited 0, 0: it ran and failed (messages in msg),
 * -1: it could not be started (errno). */
static int run(char *const *argv, const char *log, char *msg, size_t msglen) {
    int st = 0;
    if (tool_run(argv, log, &st) != 0) return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 1;
    char out[1500];
    tool_read_log(log, out, sizeof out);
    snprintf(msg, msglen, "%s %d: %s", WIFEXITED(st) ? "exit status" : "signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), out[0] ? out : "(no messages)");
    return 0;
}

static int compile(char files[NT][4200], const char *xcrun, const char *src, uint8_t **lib, size_t *len,
                   LtcDiag *d) {
    SrcLoc nl = {0};
    char msg[1700];
    char *find[] = {(char *)xcrun, "-sdk", "macosx", "--find", "metal", NULL};
    int r = run(find, files[T_LOG], msg, sizeof msg);
    if (r < 0 && errno == ENOENT) return 0;             /* no xcrun: not macOS */
    if (r < 0) return diag_set(d, nl, "metal backend: cannot run '%s': %s", xcrun, strerror(errno));
    if (r == 0) return 0;                               /* xcrun without the Metal toolchain */
    if (write_text(files[T_METAL], src, d) != 0) return -1;
    char *metal[] = {(char *)xcrun, "-sdk", "macosx", "metal", "-std=metal3.0", "-fno-fast-math", "-c",
                     files[T_METAL], "-o", files[T_AIR], NULL};
    if ((r = run(metal, files[T_LOG], msg, sizeof msg)) <= 0)
        return r < 0 ? diag_set(d, nl, "metal backend: cannot run '%s metal': %s", xcrun, strerror(errno))
                     : diag_set(d, nl, "metal backend: '%s -sdk macosx metal' refused the kernels (%s)", xcrun, msg);
    char *metallib[] = {(char *)xcrun, "-sdk", "macosx", "metallib", files[T_AIR], "-o", files[T_LIB], NULL};
    if ((r = run(metallib, files[T_LOG], msg, sizeof msg)) <= 0)
        return r < 0 ? diag_set(d, nl, "metal backend: cannot run '%s metallib': %s", xcrun, strerror(errno))
                     : diag_set(d, nl, "metal backend: '%s -sdk macosx metallib' failed (%s)", xcrun, msg);
    return read_all(files[T_LIB], lib, len, d);
}

int metal_compile_lib(const char *path, const char *src, uint8_t **lib, size_t *len, LtcDiag *d) {
    *lib = NULL;
    *len = 0;
    const char *xcrun = getenv("LTC_XCRUN");
    if (!xcrun || !*xcrun) xcrun = "xcrun";
    if (strcmp(xcrun, "none") == 0) return 0;
    char files[NT][4200];
    int nreg = 0, rc = 0;
    for (int i = 0; i < NT && rc == 0; i++) {
        if (snprintf(files[i], sizeof files[i], "%s.tmp.%d.%s", path, (int)getpid(), suffix[i]) >=
            (int)sizeof files[i])
            rc = diag_set(d, (SrcLoc){0}, "output path too long: '%s'", path);
        else if (tempfiles_add(files[i]) != 0)
            rc = diag_set(d, (SrcLoc){0}, "too many temporary files (writing '%s')", path);
        else
            nreg++;
    }
    if (rc == 0) rc = compile(files, xcrun, src, lib, len, d);
    for (int i = 0; i < nreg; i++) {
        unlink(files[i]);
        tempfiles_remove(files[i]);
    }
    return rc;
}
