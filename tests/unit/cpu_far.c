/* cpu_far.c: JIT-compiled kernels stay correct when the process's address
 * space forces the JIT's code and its read-only data (the constant pools
 * that vector kernels load from) more than 2 GiB apart.
 *
 * With the small code model those loads are rip-relative 32-bit
 * displacements; RuntimeDyld (LLVM 16's LLJIT linker on x86-64 ELF) puts
 * code and read-only data in separate mmaps and, without assertions, writes
 * a truncated displacement when they are far apart: the kernel reads a
 * wild address (SEGV) or wrong constants.  A large process (GBs of tensors)
 * gets there by chance; this test gets there on purpose:
 *
 *   1. reserve 4 GiB (PROT_NONE, MAP_NORESERVE: no memory is committed);
 *      mmap places it top-down, below the libraries;
 *   2. fill every free page above it (one-page PROT_NONE mappings), so
 *      nothing above it is free;
 *   3. unmap one page near the top of the reservation.
 *
 * Now the highest free space is that single page, and the next is below
 * the 4 GiB: a read-only-data allocation of one page takes the hole, and
 * code (several pages) goes below the reservation, >= 4 GiB away.  The
 * kernels then run on the harness's data and must match the interpreter. */
#define _DEFAULT_SOURCE   /* MAP_NORESERVE, MAP_ANONYMOUS */
#include <sys/mman.h>
#include <unistd.h>

#include "cpu_harness.h"

TestSuite(cpu_far, .init = h_setup, .fini = h_teardown, .timeout = 120);

static void squeeze_address_space(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t big = (size_t)4 << 30;
    char *r = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert(r != MAP_FAILED, "cannot reserve 4 GiB of address space");
    /* every free page above r; a bound keeps a surprise from looping */
    for (long n = 0;; n++) {
        cr_assert(n < (1L << 22), "more than 16 GiB free above the reservation");
        char *p = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        cr_assert(p != MAP_FAILED, "mmap of one page failed");
        if (p < r + big) { cr_assert(munmap(p, page) == 0); break; }
    }
    cr_assert(munmap(r + big - 2 * page, page) == 0);
}

/* layer norm (row length 257: vector body and tail) and a linear with
 * bias and GELU: both load splat constants from a constant pool */
Test(cpu_far, layer_norm_far_from_constants) {
    Node *in[3] = {h_input(3, (int64_t[]){2, 5, 257}, DT_F32), h_param(1, (int64_t[]){257}),
                   h_param(1, (int64_t[]){257})};
    Attr a = {.eps = 1e-5, .flags = 3};
    Node *n = h_emit(OP_LAYER_NORM, in, 3, &a);
    squeeze_address_space();
    h_check(n, 1e-5);
}

/* a linear with a parameter weight: the weight is packed by a prepack
 * kernel (the one seen crashing in a large process), then the GEMM runs */
Test(cpu_far, linear_prepack_far_from_constants) {
    Node *in[3] = {h_input(2, (int64_t[]){33, 100}, DT_F32), h_param(2, (int64_t[]){57, 100}),
                   h_param(1, (int64_t[]){57})};
    Node *n = h_emit(OP_LINEAR, in, 3, NULL);
    squeeze_address_space();
    h_check(n, 1e-5);
}
