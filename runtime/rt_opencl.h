/* rt_opencl.h: private to the OpenCL device (device_opencl.c and its
 * helpers). */
#ifndef LTC_RT_OPENCL_H
#define LTC_RT_OPENCL_H

#include <stddef.h>
#include <stdint.h>

/* "CL_BUILD_PROGRAM_FAILURE" for -11; "OpenCL error -9999" (in buf) for
 * a code it does not know. */
const char *rt_cl_error_name(int code, char *buf, size_t n);

/* The fake device addresses of device_opencl.c (why: there).  Buffer
 * table slot s (0-based) at byte offset o is ((s + 1) << RT_CL_ADDR_SHIFT) | o:
 * never NULL, and the executor's base + offset stays inside the slot as
 * long as o stays below 2^RT_CL_ADDR_SHIFT, which alloc guarantees by
 * refusing larger buffers. */
#define RT_CL_ADDR_SHIFT 40                         /* 1 TiB per buffer */
#define RT_CL_MAX_SLOTS ((1u << 22) - 1)            /* addresses below 2^62 */
static inline uintptr_t rt_cl_addr(uint32_t slot, uint64_t off) {
    return (uintptr_t)((uint64_t)(slot + 1) << RT_CL_ADDR_SHIFT | off);
}
/* slot and offset of a; 0, or -1 when a cannot be one (NULL, or a slot
 * out of range).  The device still checks that the slot is one of its
 * live buffers and the offset inside it: a host pointer can look like a
 * fake address. */
static inline int rt_cl_decode(uintptr_t a, uint32_t *slot, uint64_t *off) {
    uint64_t hi = (uint64_t)a >> RT_CL_ADDR_SHIFT;
    if (hi == 0 || hi > RT_CL_MAX_SLOTS) return -1;
    *slot = (uint32_t)(hi - 1);
    *off = (uint64_t)a & (((uint64_t)1 << RT_CL_ADDR_SHIFT) - 1);
    return 0;
}

#endif
