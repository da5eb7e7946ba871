/* seal.h: the integrity seal of a model.so (docs/hardening.md), written by
 * the compiler (plan/seal.c) and checked by the runtime before dlopen
 * (runtime/seal_check.c).
 *
 * The seal is a 32-byte trailer appended to model.so after linking:
 *     "LTCSEAL1"  u64 body_len  u32 body_crc  u32 desc_crc  u64 reserved(0)
 * body = every byte before the trailer; body_crc = CRC32C(body); desc_crc =
 * seal_desc_digest() of the descriptor the library holds.  The dynamic
 * loader ignores bytes past the sections, so the trailer costs nothing at
 * load time.  Little-endian, like the only target (x86-64). */
#ifndef LTC_PLAN_SEAL_H
#define LTC_PLAN_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_SEAL_MAGIC "LTCSEAL1"
#define RT_SEAL_SIZE 32

uint32_t seal_crc32c(uint32_t crc, const void *data, size_t n);
/* CRC32C of the first n bytes of fd (read with pread from offset 0).  0,
 * or -1 with errno. */
int      seal_crc_fd(int fd, uint64_t n, uint32_t *out);
/* CRC32C of what the descriptor says (plans blob, then the five strings
 * with their terminating NULs, a NULL string counting as "", then the GPU
 * code image: its length as 8 little-endian bytes and its bytes; NULL/0
 * for CPU models). */
uint32_t seal_desc_digest(const uint8_t *plans, uint64_t plans_len, const char *version,
                          const char *triple, const char *cpu, const char *features, const char *device,
                          const uint8_t *code, uint64_t code_len);
/* a == b, compared where coverage-guided fuzzing cannot see the operands:
 * libFuzzer reads the arguments of instrumented comparisons and copies
 * them into its inputs, so it learned to forge the seal (the 30-minute
 * fuzz_so_load run), then crashed ld.so with a forged file's bad
 * relocations.  The seal detects damage, not forgery (a model.so is
 * native code: whoever can write one runs code in the host anyway); the
 * fuzz target is for damaged files, so it must not be handed the CRC. */
bool     seal_crc_equal(uint32_t a, uint32_t b);
/* Append the seal to the file at path.  0, or -1 + err. */
int      seal_write(const char *path, uint32_t desc_crc, char *err, size_t errlen);

#endif
