/* rt_flip.h: damaged copies of a model.so, each opened and run in a child
 * process so that a crash is counted, not fatal (rt_seal.c and the
 * before/after measurement in docs/hardening.md). */
#ifndef RT_FLIP_H
#define RT_FLIP_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lispetorchc/runtime.h"

enum { FLIP_REFUSED = 10, FLIP_SAME = 11, FLIP_DIFFERENT = 12 };
typedef struct FlipCounts { int refused, same, different, crashed, sigill; } FlipCounts;

/* In the child: open `so`, bind `w`, run the toy entry on fixed inputs;
 * the exit status says what happened.  ref: the intact model's output 0. */
static inline int flip_child(const char *so, const char *w, const float *ref) {
    ltc_error err;
    ltc_model *m = ltc_model_open(so, &err);
    if (!m) return FLIP_REFUSED;
    if (ltc_model_bind_weights_file(m, w) != 0) { ltc_model_close(m); return FLIP_REFUSED; }
    float x[2 * 3 * 4], y[2 * 3 * 4] = {0}, s[6];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 7) - 3.0f;
    int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
    DLTensor out[2] = {{y, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                       {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
    int rc = ltc_model_run(m, NULL, &in, 1, out, 2);
    ltc_model_close(m);
    if (rc != 0) return FLIP_REFUSED;
    if (!ref) return FLIP_SAME;
    return memcmp(y, ref, sizeof y) == 0 ? FLIP_SAME : FLIP_DIFFERENT;
}

/* Output 0 of the intact model (for flip_child's ref), in this process. */
static inline int flip_reference(const char *so, const char *w, float ref[24]) {
    ltc_model *m = ltc_model_open(so, NULL);
    if (!m || ltc_model_bind_weights_file(m, w) != 0) { ltc_model_close(m); return -1; }
    float x[24], s[6];
    for (int i = 0; i < 24; i++) x[i] = (float)(i % 7) - 3.0f;
    int64_t xs[3] = {2, 3, 4}, ss[2] = {2, 3};
    DLTensor in = {x, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0};
    DLTensor out[2] = {{ref, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, xs, NULL, 0},
                       {s, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, ss, NULL, 0}};
    int rc = ltc_model_run(m, NULL, &in, 1, out, 2);
    ltc_model_close(m);
    return rc;
}

static inline int flip_read(const char *path, unsigned char **buf, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return -1; }
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return -1; }
    *buf = malloc((size_t)len + 1);
    int ok = *buf && fread(*buf, 1, (size_t)len, f) == (size_t)len;
    fclose(f);
    *n = (size_t)len;
    return ok ? 0 : -1;
}

static inline int flip_write(const char *path, const unsigned char *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Write buf[0..n) to copy, run flip_child on it in a child, count. */
static inline void flip_one(const char *copy, const unsigned char *buf, size_t n, const char *w,
                            const float *ref, FlipCounts *c) {
    if (flip_write(copy, buf, n) != 0) { c->crashed++; return; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);                              /* a hang counts as a crash */
        _exit(flip_child(copy, w, ref));
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) { c->crashed++; return; }
    if (WIFSIGNALED(st)) { c->crashed++; if (WTERMSIG(st) == SIGILL) c->sigill++; return; }
    switch (WEXITSTATUS(st)) {
    case FLIP_REFUSED: c->refused++; break;
    case FLIP_SAME: c->same++; break;
    case FLIP_DIFFERENT: c->different++; break;
    default: c->crashed++; break;                /* ASan/UBSan report or other exit */
    }
}

/* ncopies copies of so, each with one random bit flipped. */
static inline FlipCounts flip_bits(const char *so, const char *copy, const char *w, int ncopies, unsigned seed) {
    FlipCounts c = {0};
    unsigned char *buf;
    size_t n;
    float ref[24];
    if (flip_read(so, &buf, &n) != 0 || flip_reference(so, w, ref) != 0) { c.crashed = -1; return c; }
    for (int i = 0; i < ncopies; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t off = (size_t)(seed >> 4) % n;
        seed = seed * 1103515245u + 12345u;
        unsigned bit = (seed >> 16) & 7;
        buf[off] ^= (unsigned char)(1u << bit);
        flip_one(copy, buf, n, w, ref, &c);
        buf[off] ^= (unsigned char)(1u << bit);
    }
    free(buf);
    return c;
}

/* Truncations of so at nsteps evenly spaced lengths plus the last 64 bytes. */
static inline FlipCounts flip_truncations(const char *so, const char *copy, const char *w, int nsteps) {
    FlipCounts c = {0};
    unsigned char *buf;
    size_t n;
    if (flip_read(so, &buf, &n) != 0) { c.crashed = -1; return c; }
    for (int i = 0; i < nsteps; i++) flip_one(copy, buf, n * (size_t)i / (size_t)nsteps, w, NULL, &c);
    for (size_t k = 1; k <= 64 && k < n; k += 7) flip_one(copy, buf, n - k, w, NULL, &c);
    free(buf);
    return c;
}

/* The same with a caller-given child: fn(copy, ctx) returns a FLIP_* code
 * (for models other than the toy one, e.g. rt_aot's LLVM-built library). */
typedef int (*FlipFn)(const char *so, void *ctx);

static inline void flip_one_fn(const char *copy, const unsigned char *buf, size_t n, FlipFn fn, void *ctx,
                               FlipCounts *c) {
    if (flip_write(copy, buf, n) != 0) { c->crashed++; return; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20);
        _exit(fn(copy, ctx));
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) { c->crashed++; return; }
    if (WIFSIGNALED(st)) { c->crashed++; if (WTERMSIG(st) == SIGILL) c->sigill++; return; }
    switch (WEXITSTATUS(st)) {
    case FLIP_REFUSED: c->refused++; break;
    case FLIP_SAME: c->same++; break;
    case FLIP_DIFFERENT: c->different++; break;
    default: c->crashed++; break;
    }
}

static inline FlipCounts flip_bits_fn(const char *so, const char *copy, int ncopies, unsigned seed,
                                      FlipFn fn, void *ctx) {
    FlipCounts c = {0};
    unsigned char *buf;
    size_t n;
    if (flip_read(so, &buf, &n) != 0) { c.crashed = -1; return c; }
    for (int i = 0; i < ncopies; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t off = (size_t)(seed >> 4) % n;
        seed = seed * 1103515245u + 12345u;
        unsigned bit = (seed >> 16) & 7;
        buf[off] ^= (unsigned char)(1u << bit);
        flip_one_fn(copy, buf, n, fn, ctx, &c);
        buf[off] ^= (unsigned char)(1u << bit);
    }
    free(buf);
    return c;
}

#endif
