/* device.c: the device registry (devices.def). */
#include "runtime/device.h"
#include "runtime/rt_internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define DEVICE(name, ops) extern const RtDeviceOps ops;
#include "runtime/devices.def"
#undef DEVICE

static const RtDeviceOps *const devices[] = {
#define DEVICE(name, ops) &ops,
#include "runtime/devices.def"
#undef DEVICE
};
enum { NDEVICES = sizeof devices / sizeof devices[0] };

const RtDeviceOps *rt_device_find(const char *name) {
    for (int i = 0; name && i < NDEVICES; i++)
        if (strcmp(devices[i]->name, name) == 0) return devices[i];
    return NULL;
}

const char *rt_device_list(void) {
    /* ", cpu, cuda" at compile time; skip the first ", " */
    static const char list[] = ""
#define DEVICE(name, ops) ", " #name
#include "runtime/devices.def"
#undef DEVICE
        ;
    return list + 2;
}

RtDevice *rt_device_open(const char *name, int nthreads, char *err, size_t errlen) {
    const RtDeviceOps *ops = rt_device_find(name);
    if (!ops) {
        if (err && errlen) snprintf(err, errlen, "no device '%s' in this runtime (devices: %s)", name ? name : "?", rt_device_list());
        return NULL;
    }
    return ops->open(nthreads, err, errlen);
}

int rt_gpu_args(const char *kernel, int nbufs, const int64_t *dims, int ndims, const float *f, int64_t ntiles,
                uint32_t threads, LtcGpuArgs *a, char *err, size_t errlen) {
    if (nbufs < 0 || nbufs > LTC_GPU_MAX_BUFS || ndims < 0 || ndims > LTC_GPU_MAX_DIMS)
        return rt_fail(err, errlen, "kernel '%s': %d buffers and %d dims exceed gpu_abi.h's %d and %d", kernel, nbufs,
                       ndims, LTC_GPU_MAX_BUFS, LTC_GPU_MAX_DIMS);
    if (threads == 0) return rt_fail(err, errlen, "kernel '%s': group size 0", kernel);
    memset(a, 0, sizeof *a);
    for (int j = 0; j < ndims; j++) a->dims[j] = dims[j];
    for (int j = 0; j < 4; j++) a->f[j] = f ? f[j] : 0;
    a->ntiles = ntiles;
    return 0;
}

const char *rt_dl_bind(void *lib, const RtDlSym *syms, size_t n, void *table) {
    for (size_t i = 0; i < n; i++) {
        void *f = dlsym(lib, syms[i].sym);
        if (!f) return syms[i].sym;
        memcpy((char *)table + syms[i].off, &f, sizeof f);   /* POSIX: function and data pointers agree */
    }
    return NULL;
}

void rt_device_close(RtDevice *d) {
    if (d) d->ops->close(d);
}
