/* library_cache.c: `-o model.so` through the disk cache of `run`
 * (engine/disk_cache.h; docs/cli.md, "The disk cache").
 *
 * A model.so is a function of its plans (kernels, node attributes, steps,
 * buffers, symbols), the backend and its target, the options that reach
 * code generation, and the compiler's build.  The key holds all of them
 * (engine_library_key) and is compared in full on a hit; the entry's
 * "object" is the whole linked library, sealed and ready, so a hit skips
 * code generation, object emission and the link.  Weights beside the
 * library are written as before, on a hit too.  Not cached: libraries
 * with embedded weights (the weights would be stored in the cache a
 * second time, and they are most of the file). */
#include "driver/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/disk_cache.h"
#include "engine/engine.h"
#include "plan/serialize.h"

int libcache_open(Driver *d, Backend *b, const BackendOptions *bo, Plan **plans, int n, LibCache *lc,
                  LtcDiag *diag) {
    memset(lc, 0, sizeof *lc);
    if (d->o.embed_weights) {
        lc->off_why = "--embed-weights";
        return 0;
    }
    LtcDiag ed;
    memset(&ed, 0, sizeof ed);
    if (disk_cache_init(&lc->disk, d->o.no_cache, &ed) != 0) {
        /* a bad LTC_CACHE_MAX or no directory: compile without the cache */
        drv_warning(d, "the disk cache is off: %s", ed.msg);
        lc->off_why = "unusable";
        return 0;
    }
    if (!lc->disk.dir) {
        lc->off_why = lc->disk.off_why ? lc->disk.off_why : "off";
        return 0;
    }
    char build[33], why[300];
    if (disk_cache_build_id(build, why, sizeof why) != 0) {
        drv_verbose(d, "the disk cache is off: cannot identify the compiler's build: %s", why);
        disk_cache_free(&lc->disk);
        lc->off_why = "no build id";
        return 0;
    }
    char *head = arena_printf(&d->arena,
                              "lispetorchc %s build %s plan %d backend %s target %s cpu %s features %s gpu %s "
                              "opt %d threads %d",
                              LTC_VERSION, build, PLAN_BLOB_VERSION, b->name, b->target ? b->target : "-",
                              bo->cpu ? bo->cpu : "-", bo->features ? bo->features : "-",
                              bo->gpu_arch ? bo->gpu_arch : "-", bo->opt_level, bo->threads);
    if (!head) return diag_set(diag, (SrcLoc){0}, "out of memory");
    if (engine_library_key(head, plans, n, &lc->key, &lc->keylen, diag) != 0) {
        disk_cache_free(&lc->disk);
        return -1;
    }
    lc->on = true;
    return 0;
}

static const char NAMES[] = "model.so";

int libcache_fetch(Driver *d, LibCache *lc, const char *tmp, bool *hit, LtcDiag *diag) {
    *hit = false;
    if (!lc->on) {
        if (drv_log_jit(d)) fprintf(d->err, "lispetorchc: jit: model.so: disk cache not used (%s)\n", lc->off_why);
        return 0;
    }
    void *so = NULL;
    size_t solen = 0;
    DiskFind found;
    char why[300];
    if (disk_cache_get(&lc->disk, lc->key, lc->keylen, NAMES, sizeof NAMES - 1, &so, &solen, &found, why,
                       sizeof why) != 0)
        return diag_set(diag, (SrcLoc){0}, "out of memory");
    char hex[33];
    disk_cache_hash_hex(lc->key, lc->keylen, hex);
    if (found != DISK_HIT) {
        const char *what = found == DISK_NO_ENTRY      ? "no entry"
                           : found == DISK_KEY_DIFFERS ? "another key under its name"
                           : found == DISK_CORRUPT     ? "a corrupt entry"
                                                       : "an unreadable entry";
        if (drv_log_jit(d))
            fprintf(d->err, "lispetorchc: jit: model.so: disk cache miss (%s%s%s), entry %s\n", what,
                    *why ? ": " : "", why, hex);
        return 0;
    }
    int rc = write_file_atomic(tmp, so, solen, diag);
    free(so);
    if (rc != 0) return -1;
    /* as the linker makes it: executable (the library is mapped with code) */
    if (chmod(tmp, 0755) != 0) return diag_set(diag, (SrcLoc){0}, "cannot chmod '%s': %s", tmp, strerror(errno));
    if (drv_log_jit(d)) fprintf(d->err, "lispetorchc: jit: model.so: disk cache hit, entry %s (%zu bytes)\n", hex, solen);
    *hit = true;
    return 0;
}

void libcache_store(Driver *d, LibCache *lc, const char *tmp) {
    if (!lc->on) return;
    SrcFile f;
    LtcDiag ed;
    memset(&ed, 0, sizeof ed);
    /* a failure to store costs the next compile, not this one: a warning */
    if (read_file(&d->arena, tmp, &f, &ed) != 0 ||
        disk_cache_put(&lc->disk, lc->key, lc->keylen, NAMES, sizeof NAMES - 1, f.text, f.len, &ed) != 0) {
        drv_warning(d, "model.so not stored in the disk cache: %s", ed.msg);
        return;
    }
    if (drv_log_jit(d)) fprintf(d->err, "lispetorchc: jit: model.so: stored in the disk cache (%zu bytes)\n", f.len);
}

void libcache_close(LibCache *lc) {
    if (lc->on) disk_cache_free(&lc->disk);
    free(lc->key);
    memset(lc, 0, sizeof *lc);
}
