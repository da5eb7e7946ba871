/* rt_addrtable.c: the address table of the Metal device (and of the MSL
 * shim device that runs on Linux): buffers kept sorted whatever the
 * order they come in, every address inside one found with its offset,
 * ranges past a buffer's end and overlaps refused, removal by base only. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "runtime/rt_addr_table.h"

static char mem[4096];

Test(addr_table, find_add_remove) {
    RtAddrTable t = {0};
    /* out of order, adjacent: [1024, 1088) [0, 64) [64, 128) */
    cr_assert_eq(rt_addr_add(&t, mem + 1024, 64, (void *)3), 0);
    cr_assert_eq(rt_addr_add(&t, mem, 64, (void *)1), 0);
    cr_assert_eq(rt_addr_add(&t, mem + 64, 64, (void *)2), 0);
    cr_assert_eq(t.n, 3);
    uint64_t off = 99;
    const RtAddrEntry *e = rt_addr_find(&t, mem + 70, 8, &off);
    cr_assert(e && e->handle == (void *)2 && off == 6);
    e = rt_addr_find(&t, mem + 64, 0, &off);   /* the start of the second, not the end of the first */
    cr_assert(e && e->handle == (void *)2 && off == 0);
    e = rt_addr_find(&t, mem + 1088, 0, &off);  /* a buffer's end, 0 bytes: allowed */
    cr_assert(e && e->handle == (void *)3 && off == 64);
    cr_assert_null(rt_addr_find(&t, mem + 60, 8, &off), "runs past the first buffer");
    cr_assert_null(rt_addr_find(&t, mem + 512, 1, &off), "between buffers");
    cr_assert_null(rt_addr_find(&t, mem + 1088, 1, &off));
    cr_assert_null(rt_addr_find(&t, mem + 1030, UINT64_MAX, &off), "n that wraps");
    /* overlaps, empty and wrapping ranges */
    cr_assert_eq(rt_addr_add(&t, mem + 32, 64, NULL), -1);
    cr_assert_eq(rt_addr_add(&t, mem + 1000, 32, NULL), -1);
    cr_assert_eq(rt_addr_add(&t, mem + 2000, 0, NULL), -1);
    cr_assert_eq(rt_addr_add(&t, (void *)(UINTPTR_MAX - 8), 64, NULL), -1);
    cr_assert_eq(rt_addr_add(&t, NULL, 64, NULL), -1);
    void *h = NULL;
    cr_assert_eq(rt_addr_remove(&t, mem + 70, &h), -1, "not a base");
    cr_assert_eq(rt_addr_remove(&t, mem + 64, &h), 0);
    cr_assert_eq(h, (void *)2);
    cr_assert_null(rt_addr_find(&t, mem + 70, 1, &off));
    cr_assert_eq(rt_addr_remove(&t, mem + 64, &h), -1, "removed already");
    cr_assert_eq(t.n, 2);
    rt_addr_table_free(&t);
    cr_assert_eq(t.n, 0);
}

/* Many buffers: the table grows and the binary search finds each. */
Test(addr_table, many) {
    RtAddrTable t = {0};
    for (int i = 63; i >= 0; i--) cr_assert_eq(rt_addr_add(&t, mem + 64 * i, 64, (void *)(intptr_t)(i + 1)), 0);
    for (int i = 0; i < 64; i++) {
        uint64_t off;
        const RtAddrEntry *e = rt_addr_find(&t, mem + 64 * i + 63, 1, &off);
        cr_assert(e && e->handle == (void *)(intptr_t)(i + 1) && off == 63);
    }
    rt_addr_table_free(&t);
}
