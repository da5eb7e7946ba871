/* pool.c: a fixed pool of worker threads for parallel tile loops.
 *
 * rt_pool_for(n) cuts [0, n) into `size` contiguous ranges whose lengths
 * differ by at most one (tiles of one step cost about the same, so a static split is
 * enough and keeps each thread on neighbouring memory).  The caller runs
 * range 0 itself; workers wait on a condition variable for a new
 * generation number, run their range, and the last one to finish signals
 * the caller.  No work is queued, so there is nothing to leak or drain. */
#include "runtime/rt_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct RtPool {
    int size;                   /* threads including the caller */
    pthread_t *threads;
    int nstarted;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t gen;               /* bumped for each loop */
    int pending;                /* workers still running the current loop */
    bool quit;
    /* the current loop */
    RtRangeFn fn; void *arg; int64_t n;
};

typedef struct Worker { RtPool *p; int id; } Worker;

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
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        RtRangeFn fn = p->fn; void *a = p->arg; int64_t n = p->n; int size = p->size;
        pthread_mutex_unlock(&p->mu);
        int64_t b, e;
        part(n, size, w.id, &b, &e);
        if (b < e) fn(a, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

RtPool *rt_pool_new(int nthreads) {
    if (nthreads <= 0) nthreads = rt_online_cores();
    if (nthreads > 1024) nthreads = 1024;
    RtPool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->size = nthreads;
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
    p->quit = true;
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn; p->arg = arg; p->n = n;
    p->pending = p->size - 1;
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    int64_t b, e;
    part(n, p->size, 0, &b, &e);
    if (b < e) fn(arg, b, e);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
