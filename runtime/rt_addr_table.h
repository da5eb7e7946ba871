/* rt_addr_table.h: a GPU device's buffers by address.
 *
 * A device whose buffers are objects (a Metal MTLBuffer) but which hands
 * the executor a plain address for each (the buffer's contents pointer)
 * must map the address + offset the executor computes back to (buffer,
 * offset) at every launch and copy.  This table keeps the allocations
 * sorted by base address; a lookup is a binary search.  It is plain C so
 * that the test-only Metal device (tests/metal/device_msl_shim.c) runs it
 * on Linux, where device_metal.m cannot be built. */
#ifndef LTC_RT_ADDR_TABLE_H
#define LTC_RT_ADDR_TABLE_H

#include <stdint.h>

typedef struct RtAddrEntry {
    uintptr_t base;
    uint64_t  size;
    void     *handle;           /* the device's object (an MTLBuffer), or NULL */
} RtAddrEntry;

typedef struct RtAddrTable {
    RtAddrEntry *e;             /* sorted by base, disjoint */
    uint32_t     n, cap;
} RtAddrTable;

/* Add [base, base + size) with its handle.  0, or -1 when out of memory,
 * size is 0, the range wraps or overlaps one already there. */
int  rt_addr_add(RtAddrTable *t, const void *base, uint64_t size, void *handle);
/* Remove the entry starting at base: 0 with *handle, or -1 when base
 * starts none. */
int  rt_addr_remove(RtAddrTable *t, const void *base, void **handle);
/* The entry holding the n bytes from p (n 0: p may also be its end), with
 * *off = p - base; NULL when no entry holds them. */
const RtAddrEntry *rt_addr_find(const RtAddrTable *t, const void *p, uint64_t n, uint64_t *off);
void rt_addr_table_free(RtAddrTable *t);

#endif
