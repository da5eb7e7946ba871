/* seal_check.c: the runtime's side of the model.so seal (plan/seal.h):
 * before dlopen, the ELF headers (elf_check.c) and the seal are checked
 * on the file as read with pread, never mapped, so a file that shrinks
 * while it is checked gives a short read (an error), not SIGBUS. */
#include "runtime/rt_seal.h"
#include "runtime/rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }

/* Read exactly n bytes at off. */
static int pread_all(int fd, void *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { if (k == 0) errno = EIO; return -1; }
        got += (size_t)k;
    }
    return 0;
}

int rt_check_model_file(const char *path, uint32_t *desc_crc, int *is_io, char *err, size_t errlen) {
    *is_io = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { snprintf(err, errlen, "%s", strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0) { snprintf(err, errlen, "%s", strerror(errno)); close(fd); return -1; }
    if (!S_ISREG(st.st_mode)) { snprintf(err, errlen, "not a regular file"); close(fd); return -1; }
    uint64_t size = (uint64_t)st.st_size;
    enum { HEAD = 64 * 1024 };
    size_t hn = size < HEAD ? (size_t)size : HEAD;
    uint8_t *head = malloc(hn ? hn : 1);
    int rc = -1;
    if (!head) { snprintf(err, errlen, "out of memory"); close(fd); return -1; }
    if (pread_all(fd, head, hn, 0) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto out;
    }
    *is_io = 0;
    if (rt_elf_check(head, hn, size, err, errlen) != 0) goto out;
    uint8_t t[RT_SEAL_SIZE];
    if (size < RT_SEAL_SIZE + sizeof(uint64_t) * 8 || pread_all(fd, t, sizeof t, size - RT_SEAL_SIZE) != 0 ||
        memcmp(t, RT_SEAL_MAGIC, 8) != 0) {
        snprintf(err, errlen, "no lispetorchc seal at the end of the file (not built by lispetorchc -o, stripped, or damaged)");
        goto out;
    }
    if (get64(t + 8) != size - RT_SEAL_SIZE || get64(t + 24) != 0) {
        snprintf(err, errlen, "corrupt seal (the file was truncated, extended or damaged)");
        goto out;
    }
    uint32_t crc;
    if (seal_crc_fd(fd, size - RT_SEAL_SIZE, &crc) != 0) {
        *is_io = 1;
        snprintf(err, errlen, "%s", strerror(errno));
        goto out;
    }
    if (!seal_crc_equal(crc, get32(t + 16))) {
        snprintf(err, errlen, "checksum mismatch (CRC32C %08x, sealed %08x): the file is damaged", crc, get32(t + 16));
        goto out;
    }
    *desc_crc = get32(t + 20);
    rc = 0;
out:
    free(head);
    close(fd);
    return rc;
}
