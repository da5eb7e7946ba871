/* device.h: where a model's kernels run and its buffers live.
 *
 * The executor (exec.c) and the API (api.c) reach memory and kernels only
 * through a device: turn a descriptor's kernels into launchable handles,
 * allocate and free buffers, copy between host and device, launch one
 * step over its tiles, wait for the launches to finish.  The CPU device
 * (device_cpu.c) runs the model.so's functions on the thread pool and
 * keeps buffers in host memory; a GPU device (device_opencl.c) builds the
 * descriptor's code image with its driver and keeps buffers in device
 * memory, whose "addresses" the executor only adds offsets to and hands
 * back (they need not be host pointers: see device_opencl.c).  Devices are
 * registered in devices.def, one line each; a model.so's descriptor names
 * the device its kernels are for, and a model for a device this runtime
 * does not have is refused by name.
 *
 * host_memory says which of two memory models a device has:
 *   true  (CPU): alloc returns host memory; the executor passes the
 *         caller's tensors and the weights file's mapping to kernels as
 *         they are, with no copy;
 *   false (GPU): parameters are uploaded once when weights are bound, a
 *         run's inputs are copied to the device before its first step and
 *         its outputs back after its last; packed buffers and the scratch
 *         arena live on the device. */
#ifndef LTC_RT_DEVICE_H
#define LTC_RT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan/abi.h"

typedef struct RtDevice RtDevice;

typedef struct RtDeviceOps {
    const char *name;           /* what a descriptor's `device` names: "cpu" */
    int dlpack_device_type;     /* DLDeviceType of tensors its kernels read in place (kDLCPU = 1,
                                 * kDLCUDA = 2); a device without host memory also takes kDLCPU
                                 * tensors, staged (stage.c) */
    const char *memory;         /* for messages: "CPU" (memory) */
    bool host_memory;           /* alloc returns host memory (above) */
    bool native_code;           /* kernels are host machine code: the descriptor's
                                 * triple and CPU features are checked against this CPU */
    /* NULL with err on failure; nthreads <= 0: the device's default */
    RtDevice *(*open)(int nthreads, char *err, size_t errlen);
    void  (*close)(RtDevice *d);
    int   (*set_threads)(RtDevice *d, int nthreads, char *err, size_t errlen);
    int   (*threads)(const RtDevice *d);   /* the count really used */
    /* The descriptor's nkernels kernels as launchable handles, in its
     * order, into kernels[0..nkernels) (CPU: the function addresses;
     * OpenCL: the program built once, a cl_kernel each).  0, or -1 + err
     * with nothing left to unload. */
    int   (*load)(RtDevice *d, const LtcModelDescriptor *desc, void **kernels, char *err, size_t errlen);
    void  (*unload)(RtDevice *d, void **kernels, uint32_t nkernels);
    /* bytes of zeroed device memory, 64-byte aligned; NULL when out of memory */
    void *(*alloc)(RtDevice *d, size_t bytes);
    void  (*free)(RtDevice *d, void *p);
    int   (*copy_to_device)(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen);
    int   (*copy_to_host)(RtDevice *d, void *dst, const void *src, size_t n, char *err, size_t errlen);
    /* One step: kernel (a handle from load) over tiles [0, ntiles);
     * ptrs[0..nbufs) its buffers, dims[0..ndims) its dims with the call
     * number last (plan.h), f[0..4); bytes is what the step touches (a
     * device may run a small step inline); threads the kernel's group size
     * (GPU devices, gpu_abi.h; 0 on the CPU). */
    int   (*launch)(RtDevice *d, const void *kernel, void *const *ptrs, int nbufs, const int64_t *dims, int ndims,
                    const float *f, int64_t ntiles, int64_t bytes, uint32_t threads, char *err, size_t errlen);
    /* Every launch so far has finished. */
    int   (*sync)(RtDevice *d, char *err, size_t errlen);
} RtDeviceOps;

/* Every device starts with this header. */
struct RtDevice {
    const RtDeviceOps *ops;
    int dl_device_id;               /* DLDevice.device_id of its tensors (a CUDA ordinal; 0 elsewhere) */
};

/* A GPU device's launch (plan/gpu_abi.h): check the step's counts against
 * the ABI's (kernel named in the message) and fill a's dims, f and ntiles
 * (tile0 0).  0, or -1 + err. */
int rt_gpu_args(const char *kernel, int nbufs, const int64_t *dims, int ndims, const float *f, int64_t ntiles,
                uint32_t threads, LtcGpuArgs *a, char *err, size_t errlen);

/* A driver entry point a GPU device takes with dlsym: its symbol and the
 * offset of its function pointer in the device's table. */
typedef struct RtDlSym { const char *sym; size_t off; } RtDlSym;
/* Every syms[0..n) from lib into table; NULL, or the first symbol lib lacks. */
const char *rt_dl_bind(void *lib, const RtDlSym *syms, size_t n, void *table);

/* The device registered as name (devices.def), or NULL. */
const RtDeviceOps *rt_device_find(const char *name);
/* "cpu" or "cpu, cuda": the registered names, for messages. */
const char *rt_device_list(void);
/* rt_device_find + open; NULL with err ("no device 'cuda' in this runtime
 * (devices: cpu)") when there is none. */
RtDevice *rt_device_open(const char *name, int nthreads, char *err, size_t errlen);
void      rt_device_close(RtDevice *d);

#endif
