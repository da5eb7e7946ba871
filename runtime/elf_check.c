/* elf_check.c: is a file a well-formed x86-64 shared object, before the
 * dynamic loader maps it?
 *
 * Why: dlopen trusts the program headers; a segment that extends past the
 * end of a truncated file is mapped anyway, and touching it ends the host
 * with SIGBUS inside ld.so.  Every field is read from a bounds-checked
 * buffer, every offset + size is computed with overflow checks, and
 * nothing is followed that has not been checked. */
#include "runtime/rt_seal.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t n, const char *msg) {
    snprintf(err, n, "%s", msg);
    return -1;
}

/* [off, off + len) lies inside [0, size). */
static int inside(uint64_t off, uint64_t len, uint64_t size) {
    uint64_t end;
    return !__builtin_add_overflow(off, len, &end) && end <= size;
}

int rt_elf_check(const uint8_t *head, size_t head_len, uint64_t file_size, char *err, size_t errlen) {
    Elf64_Ehdr eh;
    if (head_len < sizeof eh || file_size < sizeof eh) return fail(err, errlen, "not an ELF file (too short)");
    memcpy(&eh, head, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return fail(err, errlen, "not an ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
        return fail(err, errlen, "not a 64-bit little-endian ELF file");
    if (eh.e_machine != EM_X86_64) return fail(err, errlen, "ELF file is not for x86-64");
    if (eh.e_type != ET_DYN) return fail(err, errlen, "ELF file is not a shared library");
    if (eh.e_ehsize != sizeof(Elf64_Ehdr) || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        eh.e_phnum == PN_XNUM)
        return fail(err, errlen, "corrupt ELF header (header or program header sizes)");
    uint64_t phbytes = (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (!inside(eh.e_phoff, phbytes, file_size) || !inside(eh.e_phoff, phbytes, head_len))
        return fail(err, errlen, "corrupt ELF header (program headers outside the file)");
    if (eh.e_shnum != 0 &&
        (eh.e_shentsize != sizeof(Elf64_Shdr) || !inside(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), file_size)))
        return fail(err, errlen, "corrupt ELF header (section headers outside the file)");
    int nload = 0, ndyn = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, head + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD && ph.p_type != PT_DYNAMIC && ph.p_type != PT_GNU_RELRO &&
            ph.p_type != PT_NOTE && ph.p_type != PT_GNU_EH_FRAME && ph.p_type != PT_GNU_STACK &&
            ph.p_type != PT_GNU_PROPERTY && ph.p_type != PT_TLS && ph.p_type != PT_NULL && ph.p_type != PT_PHDR)
            continue;                                   /* other kinds: not mapped by ld.so */
        if (ph.p_type == PT_GNU_STACK || ph.p_type == PT_NULL) continue;
        if (ph.p_filesz > ph.p_memsz && ph.p_type == PT_LOAD)
            return fail(err, errlen, "corrupt ELF program header (file size above memory size)");
        if (!inside(ph.p_offset, ph.p_filesz, file_size))
            return fail(err, errlen, "truncated or corrupt ELF file (a segment extends past the end of the file)");
        uint64_t vend;
        if (__builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &vend))
            return fail(err, errlen, "corrupt ELF program header (address range overflows)");
        if (ph.p_type == PT_LOAD) {
            if (ph.p_align > 1 && ((ph.p_align & (ph.p_align - 1)) != 0 ||
                                   ph.p_offset % ph.p_align != ph.p_vaddr % ph.p_align))
                return fail(err, errlen, "corrupt ELF program header (misaligned segment)");
            nload++;
        }
        if (ph.p_type == PT_DYNAMIC) ndyn++;
    }
    if (nload == 0 || ndyn != 1) return fail(err, errlen, "corrupt ELF file (no loadable segment or dynamic section)");
    return 0;
}
