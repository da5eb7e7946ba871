/* rt_seal.c: damaged model.so files are refused before anything of them
 * runs: truncations (once SIGBUS inside ld.so), bit flips (once SIGILL and
 * wrong results), a missing seal, a descriptor that does not match its
 * seal, and ELF headers that point outside the file. */
#include <criterion/criterion.h>
#include <elf.h>

#include "tests/unit/rt_testlib.h"
#include "tests/unit/rt_flip.h"

static char dir[64];
static char so[200], wfile[200], copy[200];

static void setup(void) {
    cr_assert_not_null(rt_tmpdir(dir, sizeof dir));
    snprintf(so, sizeof so, "%s/toy.so", dir);
    snprintf(copy, sizeof copy, "%s/copy.so", dir);
    snprintf(wfile, sizeof wfile, "%s/w.safetensors", dir);
    cr_assert_eq(rt_write_weights(wfile, "layer.w", 4, ST_F32), 0);
}

static void teardown(void) { rt_rmdir(dir); }

static void build(const RtSoOpts *o) {
    Arena a; arena_init(&a);
    Plan *p[1] = {rt_toy_plan(&a)};
    cr_assert_eq(rt_build_so(so, p, 1, o), 0, "cc failed");
    arena_free(&a);
}

TestSuite(seal, .init = setup, .fini = teardown);

/* 300 copies, one bit flipped in each: refused, or the same result. */
Test(seal, bit_flipped_copies_are_refused_or_harmless, .timeout = 300) {
    RtSoOpts o = rt_so_defaults();
    build(&o);
    FlipCounts c = flip_bits(so, copy, wfile, 300, 7);
    fprintf(stderr, "bit flips: %d refused, %d same result, %d different result, %d crashed (%d SIGILL)\n",
            c.refused, c.same, c.different, c.crashed, c.sigill);
    cr_assert_eq(c.crashed, 0);
    cr_assert_eq(c.different, 0);
    cr_assert_eq(c.refused + c.same, 300);
}

/* Every truncation is refused (it used to end the host with SIGBUS). */
Test(seal, truncated_copies_are_refused, .timeout = 120) {
    RtSoOpts o = rt_so_defaults();
    build(&o);
    FlipCounts c = flip_truncations(so, copy, wfile, 60);
    fprintf(stderr, "truncations: %d refused, %d ran, %d crashed\n", c.refused, c.same, c.crashed);
    cr_assert_eq(c.crashed, 0);
    cr_assert_eq(c.same, 0);
}

Test(seal, unsealed_library_is_refused) {
    RtSoOpts o = rt_so_defaults();
    o.no_seal = true;
    build(&o);
    ltc_error err;
    cr_assert_null(ltc_model_open(so, &err));
    cr_assert_eq(err.code, LTC_ERR_FORMAT);
    cr_assert(strstr(err.message, "no lispetorchc seal"), "%s", err.message);
}

Test(seal, descriptor_not_matching_its_seal_is_refused) {
    RtSoOpts o = rt_so_defaults();
    o.no_seal = true;
    build(&o);
    char why[300];
    cr_assert_eq(seal_write(so, 0x12345678u, why, sizeof why), 0, "%s", why);
    ltc_error err;
    cr_assert_null(ltc_model_open(so, &err));
    cr_assert_eq(err.code, LTC_ERR_FORMAT);
    cr_assert(strstr(err.message, "descriptor checksum mismatch"), "%s", err.message);
}

/* rt_elf_check on headers edited in memory: each bad field is named. */
Test(seal, elf_headers_pointing_outside_the_file) {
    RtSoOpts o = rt_so_defaults();
    build(&o);
    unsigned char *buf;
    size_t n;
    cr_assert_eq(flip_read(so, &buf, &n), 0);
    char why[200];
    cr_assert_eq(rt_elf_check(buf, n, n, why, sizeof why), 0, "%s", why);
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof eh);
    struct { size_t off; uint64_t val; int width; const char *needle; } cases[] = {
        {offsetof(Elf64_Ehdr, e_phoff), (uint64_t)-8, 8, "program headers outside"},
        {offsetof(Elf64_Ehdr, e_phoff), n, 8, "program headers outside"},
        {offsetof(Elf64_Ehdr, e_shoff), (uint64_t)n - 10, 8, "section headers outside"},
        {offsetof(Elf64_Ehdr, e_phentsize), 10, 2, "program header sizes"},
        {offsetof(Elf64_Ehdr, e_machine), EM_AARCH64, 2, "not for x86-64"},
        {offsetof(Elf64_Ehdr, e_type), ET_EXEC, 2, "not a shared library"},
        {EI_CLASS, ELFCLASS32, 1, "64-bit little-endian"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char *b = malloc(n);
        memcpy(b, buf, n);
        memcpy(b + cases[i].off, &cases[i].val, (size_t)cases[i].width);
        cr_assert_eq(rt_elf_check(b, n, n, why, sizeof why), -1, "case %zu accepted", i);
        cr_assert(strstr(why, cases[i].needle), "case %zu: %s", i, why);
        free(b);
    }
    /* A segment past the end: the file size is smaller than a PT_LOAD's end. */
    uint64_t maxend = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, buf + eh.e_phoff + (size_t)i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > maxend) maxend = ph.p_offset + ph.p_filesz;
    }
    uint16_t zero = 0;                      /* section headers (at the end) out of the way */
    memcpy(buf + offsetof(Elf64_Ehdr, e_shnum), &zero, 2);
    cr_assert_eq(rt_elf_check(buf, n, maxend, why, sizeof why), 0, "%s", why);
    cr_assert_eq(rt_elf_check(buf, n, maxend - 1, why, sizeof why), -1);
    cr_assert(strstr(why, "extends past the end"), "%s", why);
    free(buf);
}
