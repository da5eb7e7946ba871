/* pool.c: a fixed pool of worker threads for parallel tile loops.
 *
 * rt_pool_for(n) cuts [0, n) into `size` contiguous ranges whose lengths
 * differ by at most one (the tiles of one step cost about the same, so a
 * static split is enough and keeps each thread on neighbouring memory).
 * The caller runs range 0 itself.
 *
 * Hand-off: the caller publishes the loop (fn, arg, n) and then bumps the
 * generation counter `gen` (release); a worker that sees a new generation
 * (acquire) runs its range and decrements `pending`.  Steps of a model
 * follow each other within microseconds, so both sides first spin a short
 * while (SPIN pause loops) before sleeping on a condition variable; waking
 * a sleeping thread costs tens of microseconds.  The sleeping side always
 * re-checks under the mutex, and the waking side signals under it, so no
 * wake-up is lost.  No work is queued: nothing to leak or drain. */
#include "runtime/rt_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum { SPIN = 1000 };   /* pause loops, a few microseconds */

struct RtPool {
    int size;                   /* threads including the caller */
    int spin;                   /* SPIN, or 0 when threads outnumber cores */
    pthread_t *threads;
    int nstarted;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    _Atomic uint64_t gen;       /* bumped for each loop */
    _Atomic int pending;        /* workers still running the current loop */
    _Atomic bool quit;
    /* the current loop, published before gen */
    RtRangeFn fn; void *arg; int64_t n;
};

typedef struct Worker { RtPool *p; int id; } Worker;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int rt_online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

/* Part i of `size` nearly equal contiguous parts of [0, n): the first
 * n % size parts get one extra tile. */
static void part(int64_t n, int size, int i, int64_t *b, int64_t *e) {
    int64_t q = n / size, r = n % size;
    *b = q * i + (i < r ? i : r);
    *e = *b + q + (i < r ? 1 : 0);
}

static void *worker_main(void *arg) {
    Worker w = *(Worker *)arg;
    free(arg);
    RtPool *p = w.p;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int s = 0; g == seen && s < p->spin && !atomic_load(&p->quit); s++) {
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->quit) && (g = atomic_load(&p->gen)) == seen)
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) break;
        seen = g;
        int64_t b, e;
        part(p->n, p->size, w.id, &b, &e);
        if (b < e) p->fn(p->arg, b, e);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

RtPool *rt_pool_new(int nthreads) {
    if (nthreads <= 0) nthreads = rt_online_cores();
    if (nthreads > 1024) nthreads = 1024;
    RtPool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = nthreads;
    p->spin = nthreads <= rt_online_cores() ? SPIN : 0;   /* spinning on a shared core only delays the owner */
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, false);
    if (pthread_mutex_init(&p->mu, NULL) != 0) { free(p); return NULL; }
    if (pthread_cond_init(&p->wake, NULL) != 0) { pthread_mutex_destroy(&p->mu); free(p); return NULL; }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake); pthread_mutex_destroy(&p->mu); free(p); return NULL;
    }
    p->threads = calloc((size_t)nthreads, sizeof *p->threads);
    if (!p->threads) { rt_pool_free(p); return NULL; }
    for (int i = 1; i < nthreads; i++) {
        Worker *w = malloc(sizeof *w);
        if (!w) { rt_pool_free(p); return NULL; }
        w->p = p; w->id = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            rt_pool_free(p);
            return NULL;
        }
        p->nstarted = i;
    }
    return p;
}

void rt_pool_free(RtPool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->nstarted; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int rt_pool_size(const RtPool *p) { return p ? p->size : 1; }

void rt_pool_for(RtPool *p, int64_t n, RtRangeFn fn, void *arg) {
    if (n <= 0) return;
    if (!p || p->size == 1 || n == 1) { fn(arg, 0, n); return; }
    p->fn = fn; p->arg = arg; p->n = n;
    atomic_store_explicit(&p->pending, p->size - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    part(n, p->size, 0, &b, &e);
    if (b < e) fn(arg, b, e);
    for (int s = 0; s < p->spin && atomic_load_explicit(&p->pending, memory_order_acquire) > 0; s++) cpu_relax();
    if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
