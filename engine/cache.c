/* cache.c: compiled regions, keyed by what they would generate.
 *
 * The key is the engine's target (compiler version and build, backend,
 * optimisation level, triple, CPU, features: engine_new) and the region's
 * serialised plan (plan/serialize.h): its
 * tensors, buffers, kernels (family and name), steps with every dim and
 * constant, limits.  Two regions with the same key generate the same code,
 * so a hit reuses it; the full key is compared, the hash only picks the
 * candidates.  The same bytes key the disk cache (disk_cache.h).
 *
 * The plan does not say everything a kernel is specialised on: until
 * kernels are described on their own (the KernelSpec of the kernel-IR
 * work), generators read constants such as the causal flag, the
 * activation or the norm kind from the kernel's graph node.  So the key
 * also holds, per kernel, its node's op, dtype, shape and every attribute
 * (but the seed), and its inputs' op, dtype and shape: a superset of what
 * a generator may read.  A static assertion on sizeof(Attr) makes a new
 * attribute field fail to compile until it is added here.
 *
 * Seeds: a random kernel (training dropout) reads its Philox key from two
 * dims (PlanStep.seed_dim).  A training step called again is a new region
 * with new seeds and the same code, so those dims are zeroed in the key;
 * on a hit the cached plan takes the new plan's seed dims, step by step
 * (equal keys mean the same steps in the same order).
 *
 * Symbols: the key holds their names and definitions, not their example
 * sizes (cache_key), so the function JIT's traced calls (call.c) at
 * other sizes share code. */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "plan/serialize.h"

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static void put(StrBuf *b, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) sb_putc(b, ((const char *)p)[i]);
}
static void put_i64(StrBuf *b, int64_t v) { put(b, &v, sizeof v); }
static void put_f64(StrBuf *b, double v) { put(b, &v, sizeof v); }

static void put_shape(StrBuf *b, const Shape *s) {
    put_i64(b, s->rank);
    for (int i = 0; i < s->rank && i < LTC_MAX_RANK; i++) {
        put_i64(b, s->d[i].k);
        put_i64(b, s->d[i].sym);
    }
}

_Static_assert(sizeof(Attr) == 7 * 8 + 8 + 4 + 4 + 4 + 4 + 4 * LTC_MAX_RANK + sizeof(Shape) + 2 * sizeof(Dim) + 8 + 8 + 8,
               "an Attr field was added or changed: add it to put_attr (the JIT cache key)");

/* Every attribute but the seed (random kernels read it from dims). */
static void put_attr(StrBuf *b, const Attr *a) {
    double fs[] = {a->f, a->f2, a->lo, a->hi, a->eps, a->scale, a->p};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) put_f64(b, fs[i]);
    int64_t is[] = {a->i, a->axis, a->keepdim, a->causal, a->training, a->flags, a->act, a->step, a->dtype,
                    a->start.k, a->start.sym, a->end.k, a->end.sym};
    for (size_t i = 0; i < sizeof is / sizeof *is; i++) put_i64(b, is[i]);
    for (int i = 0; i < LTC_MAX_RANK; i++) put_i64(b, a->perm[i]);
    put_shape(b, &a->shape);
}

static void put_node(StrBuf *b, const Node *n) {
    put_i64(b, n->op);
    put_i64(b, n->dtype);
    put_shape(b, &n->shape);
    put_attr(b, &n->a);
    put_i64(b, n->nin);
    for (int k = 0; k < n->nin; k++) {
        put_i64(b, n->in[k]->op);
        put_i64(b, n->in[k]->dtype);
        put_shape(b, &n->in[k]->shape);
    }
}

static Poly zero_poly(void) {
    Poly p;
    memset(&p, 0, sizeof p);
    return p;
}

/* The seed dims of p's random steps, in step order (prepack then per
 * call), each a pair. */
#define FOR_SEED_DIMS(p, s, body)                                                   \
    do {                                                                            \
        PlanStep *lists_[2] = {(p)->prepack, (p)->steps};                          \
        int counts_[2] = {(p)->nprepack, (p)->nsteps};                             \
        for (int l_ = 0; l_ < 2; l_++)                                              \
            for (int i_ = 0; i_ < counts_[l_]; i_++) {                              \
                PlanStep *s = &lists_[l_][i_];                                      \
                if (s->seed_dim <= 0 || s->seed_dim + 1 >= s->ndims) continue;      \
                body                                                                \
            }                                                                       \
    } while (0)

int cache_key(Engine *e, Plan *p, char **key, size_t *len, LtcDiag *d) {
    /* zero the seed dims while serialising, then put them back */
    int nsaved = 0;
    FOR_SEED_DIMS(p, s, nsaved++;);
    Poly *saved = nsaved ? malloc((size_t)nsaved * 2 * sizeof *saved) : NULL;
    if (nsaved && !saved) return diag_set(d, (SrcLoc){0}, "out of memory");
    int k = 0;
    FOR_SEED_DIMS(p, s, {
        saved[k++] = s->dims[s->seed_dim];
        saved[k++] = s->dims[s->seed_dim + 1];
        s->dims[s->seed_dim] = s->dims[s->seed_dim + 1] = zero_poly();
    });
    StrBuf b = {0};
    sb_puts(&b, e->target_key);
    sb_putc(&b, '\n');
    for (int i = 0; i < p->nkernels; i++) {
        sb_printf(&b, "kernel %d %s ", i, p->kernels[i].family ? p->kernels[i].family : "?");
        if (p->kernels[i].node) put_node(&b, p->kernels[i].node);
        sb_putc(&b, '\n');
    }
    size_t head = b.len;
    /* The symbols' example sizes are only the trace's (the plan is made
     * for every value: lower.c does not choose by them): without them a
     * traced call at another batch size or length has the same key. */
    Graph *g = p->graph;
    int64_t examples[LTC_MAX_SYMS];
    for (int i = 0; g && i < g->nsyms && i < LTC_MAX_SYMS; i++) {
        examples[i] = g->syms[i].example;
        g->syms[i].example = 0;
    }
    int rc = plan_serialize(&p, 1, &b, d);
    for (int i = 0; g && i < g->nsyms && i < LTC_MAX_SYMS; i++) g->syms[i].example = examples[i];
    k = 0;
    FOR_SEED_DIMS(p, s, {
        s->dims[s->seed_dim] = saved[k++];
        s->dims[s->seed_dim + 1] = saved[k++];
    });
    free(saved);
    if (rc != 0 || !b.s || b.len == head) {
        sb_free(&b);
        return rc ? rc : diag_set(d, (SrcLoc){0}, "out of memory");
    }
    *key = b.s;
    *len = b.len;
    return 0;
}

int engine_library_key(const char *head, Plan **plans, int nplans, char **key, size_t *len, LtcDiag *d) {
    /* A model.so holds everything of its plans, seeds and the trace's
     * example sizes included (the descriptor stores them): nothing is
     * zeroed here, unlike cache_key. */
    StrBuf b = {0};
    sb_puts(&b, "library\n");
    sb_puts(&b, head);
    sb_putc(&b, '\n');
    for (int pi = 0; pi < nplans; pi++)
        for (int i = 0; i < plans[pi]->nkernels; i++) {
            const PlanKernel *k = &plans[pi]->kernels[i];
            sb_printf(&b, "plan %d kernel %d %s ", pi, i, k->family ? k->family : "?");
            if (k->node) put_node(&b, k->node);
            sb_putc(&b, '\n');
        }
    size_t before = b.len;
    int rc = plan_serialize(plans, nplans, &b, d);
    if (rc != 0 || b.oom || !b.s || b.len == before) {
        sb_free(&b);
        return rc ? rc : diag_set(d, (SrcLoc){0}, "out of memory");
    }
    *key = b.s;
    *len = b.len;
    return 0;
}

Entry *cache_find(Engine *e, const char *key, size_t len) {
    uint64_t h = fnv1a(key, len);
    for (Entry *en = e->cache; en; en = en->next)
        if (en->hash == h && en->keylen == len && memcmp(en->key, key, len) == 0) return en;
    return NULL;
}

Entry *cache_add(Engine *e, char *key, size_t len, LtcDiag *d) {
    Entry *en = arena_alloc(&e->arena, sizeof *en);
    if (!en) { free(key); diag_set(d, (SrcLoc){0}, "out of memory"); return NULL; }
    memset(en, 0, sizeof *en);
    en->hash = fnv1a(key, len);
    en->key = key;
    en->keylen = len;
    en->next = e->cache;
    e->cache = en;
    return en;
}

int cache_take_seeds(Plan *cached, const Plan *now, LtcDiag *d) {
    if (cached->nsteps != now->nsteps || cached->nprepack != now->nprepack)
        return diag_set(d, (SrcLoc){0}, "jit: internal: a cache hit with other steps");
    const PlanStep *nl[2] = {now->prepack, now->steps};
    PlanStep *cl[2] = {cached->prepack, cached->steps};
    int counts[2] = {now->nprepack, now->nsteps};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++) {
            const PlanStep *a = &nl[l][i];
            PlanStep *b = &cl[l][i];
            if (a->seed_dim != b->seed_dim || a->ndims != b->ndims)
                return diag_set(d, (SrcLoc){0}, "jit: internal: a cache hit with other seed dims");
            if (a->seed_dim <= 0 || a->seed_dim + 1 >= a->ndims) continue;
            b->dims[b->seed_dim] = a->dims[a->seed_dim];
            b->dims[b->seed_dim + 1] = a->dims[a->seed_dim + 1];
        }
    return 0;
}

void cache_free(Engine *e) {
    for (Entry *en = e->cache; en; en = en->next) {
        if (en->compiled) rt_program_free(&en->prog);
        free(en->key);
    }
    e->cache = NULL;
}
