/* arena.c: bump allocation for one session, released as a whole. */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaBlock { ArenaBlock *next; size_t used, cap; _Alignas(16) unsigned char mem[]; };

enum { BLOCK_SIZE = 1 << 20 };

void arena_init(Arena *a) { memset(a, 0, sizeof *a); }

struct ArenaCleanup { void (*fn)(void *); void *ctx; struct ArenaCleanup *next; };

int arena_on_free(Arena *a, void (*fn)(void *), void *ctx) {
    struct ArenaCleanup *c = arena_alloc(a, sizeof *c);
    if (!c) return -1;
    *c = (struct ArenaCleanup){fn, ctx, a->cleanups};
    a->cleanups = c;
    return 0;
}

void arena_free(Arena *a) {
    for (struct ArenaCleanup *c = a->cleanups; c; c = c->next) c->fn(c->ctx);
    for (ArenaBlock *b = a->head, *next; b; b = next) { next = b->next; free(b); }
    for (size_t i = 0; i < a->nbigs; i++) free(a->bigs[i]);
    free(a->bigs);
    memset(a, 0, sizeof *a);
}

void *arena_alloc(Arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    if (n > BLOCK_SIZE / 4) return arena_alloc_big(a, n);
    ArenaBlock *b = a->head;
    if (!b || b->used + n > b->cap) {
        b = malloc(sizeof(ArenaBlock) + BLOCK_SIZE);
        if (!b) return NULL;
        b->next = a->head; b->used = 0; b->cap = BLOCK_SIZE;
        a->head = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    a->bytes += n;
    memset(p, 0, n);
    return p;
}

void *arena_alloc_big(Arena *a, size_t n) {
    if (a->nbigs == a->capbigs) {
        size_t cap = a->capbigs ? a->capbigs * 2 : 64;
        void **nb = realloc(a->bigs, cap * sizeof *nb);
        if (!nb) return NULL;
        a->bigs = nb; a->capbigs = cap;
    }
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz == 0) sz = 64;
    void *p = aligned_alloc(64, sz);
    if (!p) return NULL;
    memset(p, 0, sz);
    a->bigs[a->nbigs++] = p;
    a->bytes += sz;
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    if (p) { memcpy(p, s, n); p[n] = 0; }
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
