/* rt_handles.h: live model handles and per-thread last errors (handles.c). */
#ifndef LTC_RT_HANDLES_H
#define LTC_RT_HANDLES_H

#include <stdbool.h>
#include <stdint.h>
#include "lispetorchc/runtime.h"

/* Register h as live; its serial number (never 0, never reused), or 0 when
 * out of memory. */
uint64_t rt_handle_add(const void *h);
void     rt_handle_remove(const void *h);
/* Is h a registered, not yet closed handle?  Never dereferences h. */
bool     rt_handle_live(const void *h);
/* This thread's error record for the model with this serial (created,
 * cleared, when the thread has none). */
ltc_error *rt_thread_error(uint64_t serial);
/* Forget this thread's record of a closed model. */
void rt_thread_error_drop(uint64_t serial);

#endif
