/* rt_seal.h: a model.so's integrity checks before and after dlopen
 * (elf_check.c, seal_check.c; the seal's format is plan/seal.h). */
#ifndef LTC_RT_SEAL_H
#define LTC_RT_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "plan/seal.h"

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
