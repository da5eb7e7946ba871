/* seal.c: the model.so seal (plan/seal.h): CRC32C of the whole file and a
 * digest of its descriptor, written by the compiler after linking; the
 * runtime checks it before dlopen (runtime/seal_check.c).
 *
 * Why CRC32C: it detects every 1-, 2- and 3-bit error and every burst up
 * to 32 bits in files of this size, which is what a damaged copy looks
 * like; it is not a defence against a deliberate forgery (a model.so is
 * code: whoever can write it can run anything in the host anyway).  It is
 * cheap: SSE4.2's crc32 instruction when the CPU has it (several GB/s), a
 * byte table otherwise.
 *
 * Files are read with pread/read, never mapped, so a file that shrinks
 * while it is checked gives a short read (an error), not SIGBUS. */
#include "plan/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t table[256];
/* The table and the CPU check, once per process: threads of an embedding
 * host compile and open modules at the same time (api/), and a flag
 * tested without a barrier could show the table before its values. */
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static bool have_sse42;

static void table_fill(void) {
    have_sse42 = __builtin_cpu_supports("sse4.2");
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t n) {
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

uint32_t seal_crc32c(uint32_t crc, const void *data, size_t n) {
    pthread_once(&table_once, table_fill);
    crc = ~crc;
    crc = have_sse42 ? crc_hw(crc, data, n) : crc_soft(crc, data, n);
    return ~crc;
}

uint32_t seal_desc_digest(const uint8_t *plans, uint64_t plans_len, const char *version,
                          const char *triple, const char *cpu, const char *features, const char *device,
                          const uint8_t *code, uint64_t code_len) {
    uint32_t c = seal_crc32c(0, plans ? plans : (const uint8_t *)"", plans ? (size_t)plans_len : 0);
    const char *s[5] = {version, triple, cpu, features, device};
    for (int i = 0; i < 5; i++) {
        const char *v = s[i] ? s[i] : "";
        c = seal_crc32c(c, v, strlen(v) + 1);
    }
    /* The GPU kernels are data, not relocated code: a damaged image would
     * be compiled by the driver, so it is covered like the plans.  The
     * length goes first so that bytes moved across the boundary count. */
    if (!code) code_len = 0;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(code_len >> (8 * i));
    c = seal_crc32c(c, len8, sizeof len8);
    if (code_len) c = seal_crc32c(c, code, (size_t)code_len);
    return c;
}

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

int seal_crc_fd(int fd, uint64_t n, uint32_t *out) {
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) { errno = ENOMEM; return -1; }
    uint32_t c = 0;
    uint64_t off = 0;
    while (off < n) {
        size_t want = n - off < CHUNK ? (size_t)(n - off) : CHUNK;
        ssize_t k = pread(fd, buf, want, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { free(buf); if (k == 0) errno = EIO; return -1; }
        c = seal_crc32c(c, buf, (size_t)k);
        off += (uint64_t)k;
    }
    free(buf);
    *out = c;
    return 0;
}

int seal_write(const char *path, uint32_t desc_crc, char *err, size_t errlen) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) { snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno)); return -1; }
    struct stat st;
    uint32_t body_crc;
    int rc = -1;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || seal_crc_fd(fd, (uint64_t)st.st_size, &body_crc) != 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    } else {
        uint8_t t[RT_SEAL_SIZE] = {0};
        memcpy(t, RT_SEAL_MAGIC, 8);
        put64(t + 8, (uint64_t)st.st_size);
        put32(t + 16, body_crc);
        put32(t + 20, desc_crc);
        size_t got = 0;
        while (got < sizeof t) {
            ssize_t k = pwrite(fd, t + got, sizeof t - got, (off_t)((uint64_t)st.st_size + got));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break;
            got += (size_t)k;
        }
        if (got == sizeof t) rc = 0;
        else snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    }
    if (close(fd) != 0 && rc == 0) { snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno)); rc = -1; }
    return rc;
}


/* not instrumented for coverage, and not inlined into code that is (seal.h) */
#if defined(__clang__)
__attribute__((noinline, no_sanitize("coverage")))
#else
__attribute__((noinline))
#endif
bool seal_crc_equal(uint32_t a, uint32_t b) {
    return a == b;
}
