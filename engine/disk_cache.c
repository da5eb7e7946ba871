/* disk_cache.c: the persistent compile cache (disk_cache.h says what it
 * keeps and why it is safe without locks).
 *
 * An entry's bytes (integers in host byte order: the key names the
 * triple, so a file is only ever read on the machine kind that wrote it):
 *
 *   0   8  magic "LTCJIT\0\1"
 *   8   4  format version (DISK_FORMAT)
 *   12  4  V, the length of the compiler version string
 *   16  8  K, the key's length
 *   24  8  N, the names' length (kernel symbols, one per line)
 *   32  8  O, the object code's length
 *   40 16  checksum: FNV-1a 128 of bytes 0..40 then of everything after 56
 *   56     the version (V bytes), the key (K), the names (N), the object (O)
 *
 * The file's size must be exactly 56 + V + K + N + O.  FNV-1a changes
 * its state by a bijection per byte (xor, then a multiply by an odd
 * prime), so any single changed byte changes the checksum. */
#include "engine/disk_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef __SIZEOF_INT128__
#error "disk_cache.c needs a 128-bit integer type (GCC or Clang on a 64-bit target)"
#endif
typedef unsigned __int128 u128;

#define DISK_MAGIC "LTCJIT\0\1"
#define DISK_FORMAT 1u
#define DISK_HEADER 56u
/* A region's object is a few MB at most; a larger length is corruption. */
#define DISK_MAX_FILE (1ull << 31)

/* ---- FNV-1a 128 (offset basis and prime from the FNV specification) ------ */
static u128 fnv128_init(void) { return ((u128)0x6c62272e07bb0142ull << 64) | 0x62b821756295c58dull; }
static u128 fnv128(u128 h, const void *p, size_t n) {
    const u128 prime = ((u128)1 << 88) | 0x13b;     /* 2^88 + 2^8 + 0x3b */
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * prime;
    return h;
}

void disk_cache_hash_hex(const void *key, size_t len, char hex[33]) {
    u128 h = fnv128(fnv128_init(), key, len);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)(h >> 64), (unsigned long long)h);
}

int disk_cache_build_id(char hex[33], char *why, size_t whylen) {
    /* the code generators are linked into the executable: its bytes are
     * the build (the version string stays the same across many builds) */
    const char *self = "/proc/self/exe";
    int fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { snprintf(why, whylen, "cannot open '%s': %s", self, strerror(errno)); return -1; }
    u128 h = fnv128_init();
    static unsigned char buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(why, whylen, "cannot read '%s': %s", self, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0) break;
        h = fnv128(h, buf, (size_t)r);
    }
    close(fd);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)(h >> 64), (unsigned long long)h);
    return 0;
}

/* ---- configuration ------------------------------------------------------------ */
static char *join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s) return NULL;
    memcpy(s, a, na);
    s[na] = '/';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

static bool env_says_off(const char *v) {
    return v && (strcmp(v, "off") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0);
}

int disk_cache_init(DiskCache *c, bool off, LtcDiag *d) {
    memset(c, 0, sizeof *c);
    if (off) c->off_why = "--no-cache";
    else if (env_says_off(getenv("LTC_CACHE"))) c->off_why = "LTC_CACHE=off";
    if (c->off_why) return 0;
    return disk_cache_locate(c, d);
}

int disk_cache_locate(DiskCache *c, LtcDiag *d) {
    memset(c, 0, sizeof *c);
    c->max_bytes = DISK_CACHE_DEFAULT_MAX;
    const char *max = getenv("LTC_CACHE_MAX");
    if (max && *max) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(max, &end, 10);
        if (*end || errno || max[0] == '-')
            return diag_set(d, (SrcLoc){0}, "invalid LTC_CACHE_MAX '%s' (expected a size in bytes)", max);
        c->max_bytes = v;
    }
    const char *dir = getenv("LTC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (dir && *dir) c->dir = strdup(dir);
    else if (xdg && *xdg == '/') c->dir = join(xdg, "lispetorchc");
    else if (home && *home) c->dir = join(home, ".cache/lispetorchc");
    else return diag_set(d, (SrcLoc){0}, "no cache directory: set LTC_CACHE_DIR (or HOME), or LTC_CACHE=off");
    if (!c->dir) return diag_set(d, (SrcLoc){0}, "out of memory");
    return 0;
}

void disk_cache_free(DiskCache *c) {
    free(c->dir);
    c->dir = NULL;
}

int disk_cache_mkdir(const DiskCache *c, LtcDiag *d) {
    size_t n = strlen(c->dir);
    char *p = malloc(n + 1);
    if (!p) return diag_set(d, (SrcLoc){0}, "out of memory");
    memcpy(p, c->dir, n + 1);
    /* each prefix ending before a '/', then the whole path */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char keep = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            diag_set(d, (SrcLoc){0}, "cannot create the cache directory '%s': %s", p, strerror(e));
            free(p);
            return -1;
        }
        p[i] = keep;
    }
    free(p);
    struct stat st;
    if (stat(c->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return diag_set(d, (SrcLoc){0}, "the cache directory '%s' is not a directory", c->dir);
    return 0;
}

/* ---- entries --------------------------------------------------------------------- */
static char *entry_path(const DiskCache *c, const char *key, size_t keylen) {
    char hex[33], name[40];
    disk_cache_hash_hex(key, keylen, hex);
    snprintf(name, sizeof name, "%s%s", hex, DISK_CACHE_SUFFIX);
    return join(c->dir, name);
}

static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static u128 checksum(const unsigned char *file, size_t size) {
    u128 h = fnv128(fnv128_init(), file, 40);
    return fnv128(h, file + DISK_HEADER, size - DISK_HEADER);
}

/* Read all of path (at most DISK_MAX_FILE bytes).  0; 1 when it does not
 * exist; -1 with why. */
static int read_all(const char *path, unsigned char **out, size_t *size, char *why, size_t whylen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DISK_MAX_FILE) {
        snprintf(why, whylen, "'%s' is not a cache entry (not a regular file, or too large)", path);
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) { close(fd); snprintf(why, whylen, "out of memory"); return -1; }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(why, whylen, "cannot read '%s': %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0) break;          /* shrank while we read: checked below */
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *size = got;
    return 0;
}

/* Check a file's bytes against key and names: DISK_HIT (then *objoff,
 * *objlen locate the object), or why it is not one. */
static DiskFind check_entry(const unsigned char *f, size_t size, const char *key, size_t keylen, const char *names,
                            size_t nameslen, size_t *objoff, size_t *objlen, char *why, size_t whylen) {
    if (size < DISK_HEADER) { snprintf(why, whylen, "truncated (%zu bytes)", size); return DISK_CORRUPT; }
    if (memcmp(f, DISK_MAGIC, 8) != 0) { snprintf(why, whylen, "not a lispetorchc cache entry"); return DISK_CORRUPT; }
    if (rd32(f + 8) != DISK_FORMAT) {
        snprintf(why, whylen, "format %u, not %u", rd32(f + 8), DISK_FORMAT);
        return DISK_CORRUPT;
    }
    uint64_t v = rd32(f + 12), k = rd64(f + 16), n = rd64(f + 24), o = rd64(f + 32);
    /* each length is below DISK_MAX_FILE (2^31) or the sum is wrong: no overflow */
    if (v > DISK_MAX_FILE || k > DISK_MAX_FILE || n > DISK_MAX_FILE || o > DISK_MAX_FILE ||
        DISK_HEADER + v + k + n + o != size) {
        snprintf(why, whylen, "truncated or bad lengths (%zu bytes)", size);
        return DISK_CORRUPT;
    }
    u128 sum;
    memcpy(&sum, f + 40, 16);
    if (sum != checksum(f, size)) { snprintf(why, whylen, "checksum mismatch"); return DISK_CORRUPT; }
    const unsigned char *p = f + DISK_HEADER;
    if (v != strlen(LTC_VERSION) || memcmp(p, LTC_VERSION, v) != 0) {
        snprintf(why, whylen, "written by lispetorchc %.*s", (int)(v < 32 ? v : 32), (const char *)p);
        return DISK_KEY_DIFFERS;
    }
    p += v;
    if (k != keylen || memcmp(p, key, keylen) != 0) { snprintf(why, whylen, "another key of the same hash"); return DISK_KEY_DIFFERS; }
    p += k;
    if (n != nameslen || memcmp(p, names, nameslen) != 0) { snprintf(why, whylen, "other kernel names"); return DISK_CORRUPT; }
    p += n;
    if (o == 0) { snprintf(why, whylen, "no object code"); return DISK_CORRUPT; }
    *objoff = (size_t)(p - f);
    *objlen = (size_t)o;
    return DISK_HIT;
}

int disk_cache_get(const DiskCache *c, const char *key, size_t keylen, const char *names, size_t nameslen,
                   void **obj, size_t *objlen, DiskFind *found, char *why, size_t whylen) {
    *obj = NULL;
    *objlen = 0;
    why[0] = '\0';
    char *path = entry_path(c, key, keylen);
    if (!path) return -1;
    unsigned char *f = NULL;
    size_t size = 0;
    int r = read_all(path, &f, &size, why, whylen);
    if (r == 1) { *found = DISK_NO_ENTRY; free(path); return 0; }
    if (r < 0) {
        /* unreadable: not ours to remove */
        *found = DISK_UNREADABLE;
        free(path);
        return strcmp(why, "out of memory") == 0 ? -1 : 0;
    }
    size_t off = 0, len = 0;
    *found = check_entry(f, size, key, keylen, names, nameslen, &off, &len, why, whylen);
    if (*found != DISK_HIT) {
        /* never trusted: removed, and the caller rebuilds it (another
         * process may have replaced it meanwhile: that costs a rebuild) */
        size_t k = strlen(why);
        if (unlink(path) != 0 && errno != ENOENT)
            snprintf(why + k, whylen - k, "; cannot remove '%s': %s", path, strerror(errno));
        else
            snprintf(why + k, whylen - k, "; removed");
        free(f);
        free(path);
        return 0;
    }
    memmove(f, f + off, len);
    *obj = f;
    *objlen = len;
    /* least recently used: a hit makes it the newest (a failure only
     * makes it older than it should be) */
    (void)utimensat(AT_FDCWD, path, NULL, 0);
    free(path);
    return 0;
}

static int evict(const DiskCache *c, uint64_t max, const char *keep, int *removed, LtcDiag *d);

int disk_cache_put(const DiskCache *c, const char *key, size_t keylen, const char *names, size_t nameslen,
                   const void *obj, size_t objlen, LtcDiag *d) {
    size_t v = strlen(LTC_VERSION);
    if (keylen > DISK_MAX_FILE || nameslen > DISK_MAX_FILE || objlen > DISK_MAX_FILE ||
        DISK_HEADER + v + keylen + nameslen + objlen > DISK_MAX_FILE)
        return diag_set(d, (SrcLoc){0}, "cache entry too large (%zu bytes of object code)", objlen);
    if (disk_cache_mkdir(c, d) != 0) return -1;
    size_t size = DISK_HEADER + v + keylen + nameslen + objlen;
    unsigned char *f = malloc(size);
    char *path = entry_path(c, key, keylen);
    if (!f || !path) { free(f); free(path); return diag_set(d, (SrcLoc){0}, "out of memory"); }
    uint32_t fmt = DISK_FORMAT, vl = (uint32_t)v;
    uint64_t k = keylen, n = nameslen, o = objlen;
    memcpy(f, DISK_MAGIC, 8);
    memcpy(f + 8, &fmt, 4);
    memcpy(f + 12, &vl, 4);
    memcpy(f + 16, &k, 8);
    memcpy(f + 24, &n, 8);
    memcpy(f + 32, &o, 8);
    unsigned char *p = f + DISK_HEADER;
    memcpy(p, LTC_VERSION, v); p += v;
    memcpy(p, key, keylen); p += keylen;
    if (nameslen) memcpy(p, names, nameslen);
    p += nameslen;
    memcpy(p, obj, objlen);
    u128 sum = checksum(f, size);
    memcpy(f + 40, &sum, 16);
    /* a temporary in the same directory, renamed into place */
    int rc = write_file_atomic(path, f, size, d);
    free(f);
    if (rc == 0) {
        int gone = 0;
        const char *base = strrchr(path, '/');
        rc = evict(c, c->max_bytes, base ? base + 1 : path, &gone, d);
    }
    free(path);
    return rc;
}

/* ---- the directory ------------------------------------------------------------------ */
typedef struct Item { char *name; uint64_t size; struct timespec mtime; } Item;

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* A file of ours: NAME.ltcj starting with the magic, or a temporary
 * NAME.ltcj.tmp.PID of write_file_atomic. */
static bool is_ours(DIR *dir, const char *name) {
    const char *s = strstr(name, DISK_CACHE_SUFFIX ".tmp.");
    if (s && s != name) {
        for (s += strlen(DISK_CACHE_SUFFIX ".tmp."); *s >= '0' && *s <= '9'; s++) {}
        return *s == '\0';
    }
    if (!ends_with(name, DISK_CACHE_SUFFIX)) return false;
    int fd = openat(dirfd(dir), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    char magic[8];
    bool ours = read(fd, magic, 8) == 8 && memcmp(magic, DISK_MAGIC, 8) == 0;
    close(fd);
    return ours;
}

/* Our entries' names, sizes and mtimes (files NAME.ltcj that start with
 * our magic; not the temporaries).  A missing directory has none. */
static int list_entries(const DiskCache *c, Item **out, int *nout, LtcDiag *d) {
    *out = NULL;
    *nout = 0;
    DIR *dir = opendir(c->dir);
    if (!dir) {
        if (errno == ENOENT) return 0;
        return diag_set(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", c->dir, strerror(errno));
    }
    Item *v = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *de;
    while (rc == 0 && (errno = 0, de = readdir(dir))) {
        if (!ends_with(de->d_name, DISK_CACHE_SUFFIX) || !is_ours(dir, de->d_name)) continue;
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;  /* removed by another process meanwhile */
            rc = diag_set(d, (SrcLoc){0}, "cannot stat '%s/%s': %s", c->dir, de->d_name, strerror(errno));
            break;
        }
        if (!S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            int nc = cap ? 2 * cap : 64;
            Item *t = realloc(v, (size_t)nc * sizeof *t);
            if (!t) { rc = diag_set(d, (SrcLoc){0}, "out of memory"); break; }
            v = t;
            cap = nc;
        }
        v[n].name = strdup(de->d_name);
        if (!v[n].name) { rc = diag_set(d, (SrcLoc){0}, "out of memory"); break; }
        v[n].size = (uint64_t)st.st_size;
        v[n].mtime = st.st_mtim;
        n++;
    }
    if (rc == 0 && errno != 0)
        rc = diag_set(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", c->dir, strerror(errno));
    closedir(dir);
    if (rc != 0) {
        for (int i = 0; i < n; i++) free(v[i].name);
        free(v);
        return -1;
    }
    *out = v;
    *nout = n;
    return 0;
}

static void free_items(Item *v, int n) {
    for (int i = 0; i < n; i++) free(v[i].name);
    free(v);
}

static int older(const void *a, const void *b) {
    const Item *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec) return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec) return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int remove_entry(const DiskCache *c, const char *name, LtcDiag *d) {
    char *path = join(c->dir, name);
    if (!path) return diag_set(d, (SrcLoc){0}, "out of memory");
    int rc = 0;
    if (unlink(path) != 0 && errno != ENOENT)
        rc = diag_set(d, (SrcLoc){0}, "cannot remove '%s': %s", path, strerror(errno));
    free(path);
    return rc;
}

/* Oldest first until the total is at most max; `keep` (the entry just
 * written, or NULL) stays even when it alone is over the bound. */
static int evict(const DiskCache *c, uint64_t max, const char *keep, int *removed, LtcDiag *d) {
    *removed = 0;
    Item *v;
    int n;
    if (list_entries(c, &v, &n, d) != 0) return -1;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += v[i].size;
    qsort(v, (size_t)n, sizeof *v, older);
    int rc = 0;
    for (int i = 0; i < n && total > max && rc == 0; i++) {
        if (keep && strcmp(v[i].name, keep) == 0) continue;
        if ((rc = remove_entry(c, v[i].name, d)) == 0) {
            total -= v[i].size;
            (*removed)++;
        }
    }
    free_items(v, n);
    return rc;
}

int disk_cache_stats(const DiskCache *c, int *n, uint64_t *bytes, LtcDiag *d) {
    Item *v;
    if (list_entries(c, &v, n, d) != 0) return -1;
    *bytes = 0;
    for (int i = 0; i < *n; i++) *bytes += v[i].size;
    free_items(v, *n);
    return 0;
}

int disk_cache_prune(const DiskCache *c, uint64_t max, int *removed, LtcDiag *d) {
    return evict(c, max, NULL, removed, d);
}

int disk_cache_clear(const DiskCache *c, int *removed, LtcDiag *d) {
    *removed = 0;
    DIR *dir = opendir(c->dir);
    if (!dir) {
        if (errno == ENOENT) return 0;
        return diag_set(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", c->dir, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (errno = 0, de = readdir(dir))) {
        if (!is_ours(dir, de->d_name)) continue;
        if (unlinkat(dirfd(dir), de->d_name, 0) == 0) (*removed)++;
        else if (errno != ENOENT)
            rc = diag_set(d, (SrcLoc){0}, "cannot remove '%s/%s': %s", c->dir, de->d_name, strerror(errno));
    }
    if (rc == 0 && errno != 0)
        rc = diag_set(d, (SrcLoc){0}, "cannot read the cache directory '%s': %s", c->dir, strerror(errno));
    closedir(dir);
    return rc;
}
