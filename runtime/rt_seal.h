/* rt_seal.h: a model.so's integrity checks before and after dlopen
 * (elf_check.c, seal.c; docs/hardening.md).
 *
 * The seal is a 32-byte trailer appended to model.so after linking:
 *     "LTCSEAL1"  u64 body_len  u32 body_crc  u32 desc_crc  u64 reserved(0)
 * body = every byte before the trailer; body_crc = CRC32C(body); desc_crc =
 * rt_desc_digest() of the descriptor the library holds.  The dynamic
 * loader ignores bytes past the sections, so the trailer costs nothing at
 * load time.  Little-endian, like the only target (x86-64). */
#ifndef LTC_RT_SEAL_H
#define LTC_RT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define RT_SEAL_MAGIC "LTCSEAL1"
#define RT_SEAL_SIZE 32

uint32_t rt_crc32c(uint32_t crc, const void *data, size_t n);
/* CRC32C of what the descriptor says (plans blob, then the four strings
 * with their terminating NULs; a NULL string counts as ""). */
uint32_t rt_desc_digest(const uint8_t *plans, uint64_t plans_len, const char *version,
                        const char *triple, const char *cpu, const char *features);
/* Append the seal to the file at path.  0, or -1 + err. */
int rt_seal_file(const char *path, uint32_t desc_crc, char *err, size_t errlen);
/* Check the file at path before it is mapped: a 64-bit little-endian
 * x86-64 ELF shared object whose headers and segments lie inside the file,
 * then the seal.  0 with *desc_crc set; -1 + err and *is_io (1: cannot
 * read the file, 0: the file is corrupt or not a sealed model). */
int rt_check_model_file(const char *path, uint32_t *desc_crc, int *is_io, char *err, size_t errlen);
/* The ELF part alone, on the first bytes of a file of size file_size
 * (head holds min(file_size, head_len) bytes; program headers must lie in
 * them).  0, or -1 + err. */
int rt_elf_check(const uint8_t *head, size_t head_len, uint64_t file_size, char *err, size_t errlen);

#endif
