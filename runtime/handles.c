/* handles.c: which ltc_model pointers are live, and each thread's
 * last-error records.
 *
 * Why a registry and not only a magic number in the model: reading the
 * magic of a closed (freed) model is itself a use-after-free.  The
 * registry is consulted before the pointer is dereferenced, so a closed
 * handle is refused without touching freed memory.  Each open gets a
 * serial number that is never reused, so a new model that malloc places at
 * a closed one's address never inherits its error records.
 *
 * Why per-thread errors: two threads failing calls on one model must each
 * read their own error (runtime.h: ltc_last_error).  A thread keeps
 * RT_ERR_SLOTS records keyed by model serial; a thread using more models at
 * once reuses the oldest record. */
#include "runtime/rt_handles.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static const void **reg;            /* live handles (unordered) */
static size_t nreg, capreg;
static uint64_t next_serial = 1;

uint64_t rt_handle_add(const void *h) {
    uint64_t serial = 0;
    if (pthread_mutex_lock(&reg_mu) != 0) return 0;
    if (nreg == capreg) {
        size_t cap = capreg ? capreg * 2 : 16, bytes;
        if (!__builtin_mul_overflow(cap, sizeof *reg, &bytes)) {
            const void **r = realloc(reg, bytes);
            if (r) { reg = r; capreg = cap; }
        }
    }
    if (nreg < capreg) {
        reg[nreg++] = h;
        serial = next_serial++;
    }
    pthread_mutex_unlock(&reg_mu);
    return serial;
}

void rt_handle_remove(const void *h) {
    if (pthread_mutex_lock(&reg_mu) != 0) return;
    for (size_t i = 0; i < nreg; i++)
        if (reg[i] == h) { reg[i] = reg[--nreg]; break; }
    pthread_mutex_unlock(&reg_mu);
}

bool rt_handle_live(const void *h) {
    if (!h) return false;
    bool live = false;
    if (pthread_mutex_lock(&reg_mu) != 0) return false;
    for (size_t i = 0; i < nreg && !live; i++) live = reg[i] == h;
    pthread_mutex_unlock(&reg_mu);
    return live;
}

/* ---- per-thread error records ------------------------------------------------ */
#define RT_ERR_SLOTS 16
typedef struct ErrSlot { uint64_t serial; ltc_error err; } ErrSlot;
static _Thread_local ErrSlot slots[RT_ERR_SLOTS];
static _Thread_local unsigned next_victim;

ltc_error *rt_thread_error(uint64_t serial) {
    for (int i = 0; i < RT_ERR_SLOTS; i++)
        if (slots[i].serial == serial) return &slots[i].err;
    ErrSlot *s = NULL;
    for (int i = 0; i < RT_ERR_SLOTS && !s; i++)
        if (slots[i].serial == 0) s = &slots[i];
    if (!s) s = &slots[next_victim++ % RT_ERR_SLOTS];
    s->serial = serial;
    s->err.code = LTC_OK;
    s->err.message[0] = 0;
    return &s->err;
}

void rt_thread_error_drop(uint64_t serial) {
    for (int i = 0; i < RT_ERR_SLOTS; i++)
        if (slots[i].serial == serial) slots[i].serial = 0;
}
