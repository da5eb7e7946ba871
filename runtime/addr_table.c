/* addr_table.c: buffers by address (rt_addr_table.h). */
#include "runtime/rt_addr_table.h"

#include <stdlib.h>
#include <string.h>

/* The number of entries whose base is <= p. */
static uint32_t upper(const RtAddrTable *t, uintptr_t p) {
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->e[mid].base <= p) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int rt_addr_add(RtAddrTable *t, const void *base, uint64_t size, void *handle) {
    uintptr_t b = (uintptr_t)base, end;
    if (!base || size == 0 || size > UINTPTR_MAX || __builtin_add_overflow(b, (uintptr_t)size, &end)) return -1;
    uint32_t i = upper(t, b);       /* the new entry goes at i */
    if (i > 0 && t->e[i - 1].base + t->e[i - 1].size > b) return -1;
    if (i < t->n && t->e[i].base < end) return -1;
    if (t->n == t->cap) {
        if (t->cap > UINT32_MAX / 2) return -1;
        uint32_t cap = t->cap ? 2 * t->cap : 16;
        RtAddrEntry *ne = realloc(t->e, sizeof *ne * (size_t)cap);
        if (!ne) return -1;
        t->e = ne;
        t->cap = cap;
    }
    memmove(&t->e[i + 1], &t->e[i], sizeof *t->e * (t->n - i));
    t->e[i] = (RtAddrEntry){b, size, handle};
    t->n++;
    return 0;
}

int rt_addr_remove(RtAddrTable *t, const void *base, void **handle) {
    uint32_t i = upper(t, (uintptr_t)base);
    if (i == 0 || t->e[i - 1].base != (uintptr_t)base) return -1;
    i--;
    if (handle) *handle = t->e[i].handle;
    memmove(&t->e[i], &t->e[i + 1], sizeof *t->e * (t->n - i - 1));
    t->n--;
    return 0;
}

const RtAddrEntry *rt_addr_find(const RtAddrTable *t, const void *p, uint64_t n, uint64_t *off) {
    uintptr_t a = (uintptr_t)p;
    uint32_t i = upper(t, a);
    if (i == 0) return NULL;
    const RtAddrEntry *e = &t->e[i - 1];
    uint64_t o = (uint64_t)(a - e->base), end;
    if (__builtin_add_overflow(o, n, &end) || end > e->size) return NULL;
    if (off) *off = o;
    return e;
}

void rt_addr_table_free(RtAddrTable *t) {
    free(t->e);
    memset(t, 0, sizeof *t);
}
