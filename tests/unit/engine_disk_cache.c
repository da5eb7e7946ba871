/* engine_disk_cache.c: the disk cache's files (engine/disk_cache.c) on
 * their own: the hash against FNV-1a 128 test vectors (also computed with
 * Python's integers), an entry read back, every single flipped byte and
 * every truncation detected and the file removed, another key or other
 * names refused, eviction by mtime, and where the directory comes from. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/disk_cache.h"

static char dir[256];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "%s/ltc_disk_cache_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert(mkdtemp(dir));
}

static void remove_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static DiskCache at_dir(uint64_t max) {
    DiskCache c = {0};
    c.dir = strdup(dir);
    c.max_bytes = max;
    return c;
}

static char *entry_file(const char *key) {
    char hex[33];
    disk_cache_hash_hex(key, strlen(key), hex);
    char *p = malloc(strlen(dir) + 64);
    sprintf(p, "%s/%s%s", dir, hex, DISK_CACHE_SUFFIX);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static DiskFind get(DiskCache *c, const char *key, const char *names, char *why) {
    void *obj = NULL;
    size_t len = 0;
    DiskFind found;
    cr_assert_eq(disk_cache_get(c, key, strlen(key), names, strlen(names), &obj, &len, &found, why, 300), 0);
    if (found == DISK_HIT) {
        cr_assert_eq(len, 6);
        cr_assert(memcmp(obj, "OBJECT", 6) == 0);
    } else {
        cr_assert_null(obj);
    }
    free(obj);
    return found;
}

Test(disk_cache, fnv1a_128_vectors) {
    char hex[33];
    disk_cache_hash_hex("", 0, hex);
    cr_assert_str_eq(hex, "6c62272e07bb014262b821756295c58d");   /* the offset basis */
    disk_cache_hash_hex("a", 1, hex);
    cr_assert_str_eq(hex, "d228cb696f1a8caf78912b704e4a8964");
    disk_cache_hash_hex("lispetorchc", 11, hex);
    cr_assert_str_eq(hex, "3b19f4ff5783cbfae463c4856c68d7bb");
}

Test(disk_cache, round_trip_and_every_corruption, .init = make_dir, .fini = remove_dir) {
    DiskCache c = at_dir(1 << 20);
    LtcDiag d;
    char why[300];
    const char *key = "lispetorchc 0.2.0 backend cpu ... the key\n\1\2\3", *names = "ltc_x_k0_gemm\n";
    cr_assert_eq(get(&c, key, names, why), DISK_NO_ENTRY);
    cr_assert_eq(disk_cache_put(&c, key, strlen(key), names, strlen(names), "OBJECT", 6, &d), 0, "%s", d.msg);
    cr_assert_eq(get(&c, key, names, why), DISK_HIT);
    char *path = entry_file(key);
    size_t n;
    unsigned char *good = slurp(path, &n);
    /* every byte flipped, one at a time: never a hit, and the file goes */
    for (size_t i = 0; i < n; i++) {
        unsigned char *b = malloc(n);
        memcpy(b, good, n);
        b[i] ^= 0x01;
        spill(path, b, n);
        free(b);
        DiskFind f = get(&c, key, names, why);
        cr_assert_neq(f, DISK_HIT, "byte %zu flipped was not detected", i);
        cr_assert_neq(access(path, F_OK), 0, "byte %zu: the bad entry was not removed", i);
    }
    /* every truncation, and one byte too many */
    for (size_t k = 0; k < n; k++) {
        spill(path, good, k);
        cr_assert_eq(get(&c, key, names, why), DISK_CORRUPT, "a file cut at %zu bytes", k);
    }
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, good, n);
    longer[n] = 0;
    spill(path, longer, n + 1);
    free(longer);
    cr_assert_eq(get(&c, key, names, why), DISK_CORRUPT);
    /* other names for the same key: refused */
    spill(path, good, n);
    cr_assert_eq(get(&c, key, "ltc_y_k0_gemm\n", why), DISK_CORRUPT);
    cr_assert(strstr(why, "names"), "%s", why);
    /* another key's entry under this key's name: the full compare refuses it */
    const char *other = "another key";
    cr_assert_eq(disk_cache_put(&c, other, strlen(other), names, strlen(names), "OBJECT", 6, &d), 0);
    char *opath = entry_file(other);
    cr_assert_eq(rename(opath, path), 0);
    cr_assert_eq(get(&c, key, names, why), DISK_KEY_DIFFERS);
    cr_assert(strstr(why, "another key"), "%s", why);
    cr_assert_neq(access(path, F_OK), 0);
    free(opath);
    free(good);
    free(path);
    disk_cache_free(&c);
}

static void set_age(const char *key, int seconds_ago) {
    char *p = entry_file(key);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= seconds_ago;
    t[1] = t[0];
    cr_assert_eq(utimensat(AT_FDCWD, p, t, 0), 0);
    free(p);
}

static bool exists(const char *key) {
    char *p = entry_file(key);
    bool e = access(p, F_OK) == 0;
    free(p);
    return e;
}

Test(disk_cache, eviction_least_recently_used, .init = make_dir, .fini = remove_dir) {
    DiskCache c = at_dir(1 << 20);
    LtcDiag d;
    char why[300];
    const char *keys[] = {"k-old", "k-mid", "k-new"};
    for (int i = 0; i < 3; i++) cr_assert_eq(disk_cache_put(&c, keys[i], 5, "", 0, "OBJECT", 6, &d), 0);
    set_age("k-old", 300);
    set_age("k-mid", 200);
    set_age("k-new", 100);
    int n;
    uint64_t bytes;
    cr_assert_eq(disk_cache_stats(&c, &n, &bytes, &d), 0);
    cr_assert_eq(n, 3);
    uint64_t one = bytes / 3;
    cr_assert_eq(one * 3, bytes);
    /* a hit makes k-old the newest */
    cr_assert_eq(get(&c, "k-old", "", why), DISK_HIT);
    /* a fourth entry with room for two: k-mid and k-new go */
    c.max_bytes = 2 * one;
    cr_assert_eq(disk_cache_put(&c, "k-4th", 5, "", 0, "OBJECT", 6, &d), 0);
    cr_assert(exists("k-old") && exists("k-4th") && !exists("k-mid") && !exists("k-new"));
    /* prune to one: the older of the two goes */
    set_age("k-4th", 50);
    int removed;
    cr_assert_eq(disk_cache_prune(&c, one, &removed, &d), 0);
    cr_assert_eq(removed, 1);
    cr_assert(exists("k-old") && !exists("k-4th"));
    /* clear: ours only */
    char foreign[300];
    snprintf(foreign, sizeof foreign, "%s/x%s", dir, DISK_CACHE_SUFFIX);
    spill(foreign, (const unsigned char *)"hello", 5);
    cr_assert_eq(disk_cache_clear(&c, &removed, &d), 0);
    cr_assert_eq(removed, 1);
    cr_assert_eq(access(foreign, F_OK), 0);
    cr_assert_eq(disk_cache_stats(&c, &n, &bytes, &d), 0);
    cr_assert_eq(n, 0);
    disk_cache_free(&c);
}

Test(disk_cache, where_the_directory_comes_from) {
    DiskCache c;
    LtcDiag d;
    unsetenv("LTC_CACHE");
    unsetenv("LTC_CACHE_MAX");
    setenv("LTC_CACHE_DIR", "/a/b", 1);
    setenv("XDG_CACHE_HOME", "/x", 1);
    setenv("HOME", "/h", 1);
    cr_assert_eq(disk_cache_init(&c, false, &d), 0);
    cr_assert_str_eq(c.dir, "/a/b");
    cr_assert_eq(c.max_bytes, DISK_CACHE_DEFAULT_MAX);
    disk_cache_free(&c);
    unsetenv("LTC_CACHE_DIR");
    cr_assert_eq(disk_cache_init(&c, false, &d), 0);
    cr_assert_str_eq(c.dir, "/x/lispetorchc");
    disk_cache_free(&c);
    setenv("XDG_CACHE_HOME", "relative", 1);      /* the XDG spec: ignored unless absolute */
    cr_assert_eq(disk_cache_init(&c, false, &d), 0);
    cr_assert_str_eq(c.dir, "/h/.cache/lispetorchc");
    disk_cache_free(&c);
    setenv("LTC_CACHE_MAX", "1234", 1);
    cr_assert_eq(disk_cache_init(&c, false, &d), 0);
    cr_assert_eq(c.max_bytes, 1234);
    disk_cache_free(&c);
    setenv("LTC_CACHE_MAX", "12k", 1);
    cr_assert_eq(disk_cache_init(&c, false, &d), -1);
    cr_assert(strstr(d.msg, "LTC_CACHE_MAX '12k'"), "%s", d.msg);
    unsetenv("LTC_CACHE_MAX");
    setenv("LTC_CACHE", "off", 1);
    cr_assert_eq(disk_cache_init(&c, false, &d), 0);
    cr_assert_null(c.dir);
    cr_assert_str_eq(c.off_why, "LTC_CACHE=off");
    cr_assert_eq(disk_cache_locate(&c, &d), 0);     /* the cache command still finds it */
    cr_assert_str_eq(c.dir, "/h/.cache/lispetorchc");
    disk_cache_free(&c);
    unsetenv("LTC_CACHE");
    cr_assert_eq(disk_cache_init(&c, true, &d), 0);
    cr_assert_null(c.dir);
    cr_assert_str_eq(c.off_why, "--no-cache");
}
