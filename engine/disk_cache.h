/* disk_cache.h: the engine's persistent compile cache (docs/architecture.md
 * "The disk cache"; docs/cli.md: LTC_CACHE_DIR, LTC_CACHE, LTC_CACHE_MAX,
 * `lispetorchc cache`).
 *
 * One file per compiled region, <hash>.ltcj in the cache directory, where
 * <hash> is the 128-bit FNV-1a hash of the region's full key (cache.c:
 * compiler version, backend, target, kernels' node attributes, serialised
 * plan).  The file holds the full key, compared byte for byte on a hit,
 * the kernels' symbol names and the region's object code.  A file that is
 * truncated, fails its checksum or holds another key is reported, removed
 * and rebuilt, never used.  Writes go to a temporary in the same directory
 * and are renamed into place (write_file_atomic), so readers take no lock
 * and two processes filling one entry both succeed (the last rename
 * wins; both wrote the same bytes).  The directory is bounded: after a
 * write, least recently used entries (by mtime, touched on each hit) are
 * removed until the total is under the bound. */
#ifndef LTC_DISK_CACHE_H
#define LTC_DISK_CACHE_H

#include "support/support.h"

#define DISK_CACHE_SUFFIX ".ltcj"
#define DISK_CACHE_DEFAULT_MAX (512ull << 20)

typedef struct DiskCache {
    char    *dir;           /* malloc'ed; NULL when off */
    uint64_t max_bytes;     /* the bound */
    const char *off_why;    /* why it is off ("LTC_CACHE=off", "--no-cache"), or NULL */
} DiskCache;

/* What a lookup found. */
typedef enum {
    DISK_HIT,               /* *obj holds the object code */
    DISK_NO_ENTRY,
    DISK_KEY_DIFFERS,       /* a file of that name holds another key (removed) */
    DISK_CORRUPT,           /* truncated, bad checksum, other format (removed; why says) */
    DISK_UNREADABLE,        /* the file or directory cannot be read (left as it is; why says) */
} DiskFind;

/* The directory from the environment: $LTC_CACHE_DIR, else
 * $XDG_CACHE_HOME/lispetorchc, else $HOME/.cache/lispetorchc; the bound
 * from $LTC_CACHE_MAX (bytes; default DISK_CACHE_DEFAULT_MAX).  off (or
 * LTC_CACHE=off|0|no) leaves it off with off_why set.  The directory is
 * not created here.  -1 (d says) for a bad LTC_CACHE_MAX or no directory. */
int  disk_cache_init(DiskCache *c, bool off, LtcDiag *d);
/* The directory and the bound alone, whatever LTC_CACHE says (the
 * `cache` command shows and prunes a cache that runs do not use). */
int  disk_cache_locate(DiskCache *c, LtcDiag *d);
void disk_cache_free(DiskCache *c);
/* Create the directory (and its parents, mode 0700; disk_cache_put does).
 * -1: d names it. */
int  disk_cache_mkdir(const DiskCache *c, LtcDiag *d);

/* The compiler's build: the hash of this executable's bytes
 * (/proc/self/exe), part of every key, so a rebuilt compiler never loads
 * an older build's code.  -1 with why. */
int  disk_cache_build_id(char hex[33], char *why, size_t whylen);

/* The 128-bit FNV-1a hash of key, as 32 hex digits (hex: 33 bytes). */
void disk_cache_hash_hex(const void *key, size_t len, char hex[33]);

/* Look key up.  On DISK_HIT, *obj (malloc'ed) and *objlen hold the object
 * code, the stored names equal `names` and the entry's mtime is touched.
 * Otherwise why (may be empty) says more, ending in "; removed" when the
 * bad file was removed;
 * -1 only for out of memory. */
int  disk_cache_get(const DiskCache *c, const char *key, size_t keylen, const char *names, size_t nameslen,
                    void **obj, size_t *objlen, DiskFind *found, char *why, size_t whylen);
/* Store an entry, then evict down to the bound.  -1: d names the path. */
int  disk_cache_put(const DiskCache *c, const char *key, size_t keylen, const char *names, size_t nameslen,
                    const void *obj, size_t objlen, LtcDiag *d);

/* ---- the `lispetorchc cache` command --------------------------------------- */
/* Our entries (files NAME.ltcj that start with our magic): count and
 * bytes.  A missing directory is an empty cache.  Eviction and prune count
 * and remove these only. */
int  disk_cache_stats(const DiskCache *c, int *n, uint64_t *bytes, LtcDiag *d);
/* Remove least recently used entries until the total is at most max. */
int  disk_cache_prune(const DiskCache *c, uint64_t max, int *removed, LtcDiag *d);
/* Remove every entry that starts with our magic, and our temporaries
 * (NAME.ltcj.tmp.PID) left by a killed process; nothing else.  *removed
 * counts both. */
int  disk_cache_clear(const DiskCache *c, int *removed, LtcDiag *d);

#endif
