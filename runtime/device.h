/* device.h: where a model's kernels run and its buffers live.
 *
 * The executor (exec.c) and the API (api.c) reach memory and kernels only
 * through a device: allocate and free buffers, copy between host and
 * device, launch one step over its tiles, wait for the launches to finish.
 * The CPU device (device_cpu.c) runs kernels on the thread pool and
 * keeps buffers in host memory; a GPU device implements the same table
 * with its driver.  Devices are registered in devices.def, one line each;
 * a model.so's descriptor names the device its kernels are for, and a
 * model for a device this runtime does not have is refused by name. */
#ifndef LTC_RT_DEVICE_H
#define LTC_RT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan/abi.h"

typedef struct RtDevice RtDevice;

typedef struct RtDeviceOps {
    const char *name;           /* what a descriptor's `device` names: "cpu" */
    int dlpack_device_type;     /* DLDeviceType of tensors it takes (kDLCPU = 1) */
    const char *memory;         /* for messages: "CPU" (memory) */
    /* NULL with err on failure; nthreads <= 0: the device's default */
    RtDevice *(*open)(int nthreads, char *err, size_t errlen);
    void  (*close)(RtDevice *d);
    int   (*set_threads)(RtDevice *d, int nthreads, char *err, size_t errlen);
    int   (*threads)(const RtDevice *d);   /* the count really used */
    /* bytes of zeroed device memory, 64-byte aligned; NULL when out of memory */
    void *(*alloc)(RtDevice *d, size_t bytes);
    void  (*free)(RtDevice *d, void *p);
    int   (*copy_to_device)(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen);
    int   (*copy_to_host)(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen);
    /* One step: fn over tiles [0, ntiles) (plan.h's kernel ABI); bytes is
     * what the step touches (a device may run a small step inline). */
    int   (*launch)(RtDevice *d, LtcKernelFn fn, void *const *ptrs, const int64_t *dims, const float *f,
                    int64_t ntiles, int64_t bytes, char *err, size_t errlen);
    /* Every launch so far has finished. */
    int   (*sync)(RtDevice *d, char *err, size_t errlen);
} RtDeviceOps;

/* Every device starts with this header. */
struct RtDevice { const RtDeviceOps *ops; };

/* The device registered as name (devices.def), or NULL. */
const RtDeviceOps *rt_device_find(const char *name);
/* "cpu" or "cpu, cuda": the registered names, for messages. */
const char *rt_device_list(void);
/* rt_device_find + open; NULL with err ("no device 'cuda' in this runtime
 * (devices: cpu)") when there is none. */
RtDevice *rt_device_open(const char *name, int nthreads, char *err, size_t errlen);
void      rt_device_close(RtDevice *d);

#endif
