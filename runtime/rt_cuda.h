/* rt_cuda.h: private to the CUDA device (device_cuda.c and its helpers).
 *
 * The driver API as this runtime uses it, declared here rather than by
 * <cuda.h>: the runtime builds on hosts without the CUDA toolkit, and the
 * driver is opened with dlopen (device_cuda.c), never linked.  Every name
 * is the versioned entry point cuda.h's macros would pick (cuMemAlloc ->
 * cuMemAlloc_v2, ...), resolved by that exact name with dlsym.  The types
 * are the ABI's: handles are pointers, CUdeviceptr is 64 bits, and
 * RtCuKernelNode is CUDA_KERNEL_NODE_PARAMS_v2 (tests/unit/rt_cuda.c
 * checks the layout against the toolkit's cuda.h where it is installed). */
#ifndef LTC_RT_CUDA_H
#define LTC_RT_CUDA_H

#include <stddef.h>
#include <stdint.h>

typedef int CuResult;                   /* CUresult: 0 = CUDA_SUCCESS */
typedef int CuDevice;
typedef uint64_t CuDevPtr;              /* CUdeviceptr */
typedef struct CuCtx_ *CuCtx;
typedef struct CuMod_ *CuMod;
typedef struct CuFn_ *CuFn;
typedef struct CuStream_ *CuStream;
typedef struct CuGraph_ *CuGraph;
typedef struct CuGraphExec_ *CuGraphExec;
typedef struct CuGraphNode_ *CuGraphNode;
typedef struct CuEvent_ *CuEvent;

enum {
    RT_CU_ERROR_STUB_LIBRARY = 34,
    RT_CU_ERROR_NO_DEVICE = 100,
    RT_CU_ATTR_SM_COUNT = 16,           /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */
    RT_CU_ATTR_CC_MAJOR = 75,           /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR */
    RT_CU_ATTR_CC_MINOR = 76,
    RT_CU_FUNC_MAX_THREADS = 0,         /* CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK */
    RT_CU_FUNC_MAX_DYN_SHARED = 8,      /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */
    RT_CU_ATTR_SHARED_OPTIN = 97,       /* CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
    RT_CU_ERROR_NOT_FOUND = 500,        /* CUDA_ERROR_NOT_FOUND */
    RT_CU_JIT_ERROR_LOG = 5,            /* CU_JIT_ERROR_LOG_BUFFER */
    RT_CU_JIT_ERROR_LOG_SIZE = 6,       /* CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES */
    RT_CU_STREAM_NON_BLOCKING = 1,      /* CU_STREAM_NON_BLOCKING */
    RT_CU_PTR_ATTR_MEMORY_TYPE = 2,     /* CU_POINTER_ATTRIBUTE_MEMORY_TYPE */
    RT_CU_PTR_ATTR_DEVICE_ORDINAL = 9,  /* CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL */
    RT_CU_MEMORYTYPE_DEVICE = 2,        /* CU_MEMORYTYPE_DEVICE */
};

/* CUDA_KERNEL_NODE_PARAMS_v2 */
typedef struct RtCuKernelNode {
    CuFn func;
    unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes;
    void **kernelParams;
    void **extra;
    void *kern;                         /* CUkernel, unused (func is set) */
    CuCtx ctx;
} RtCuKernelNode;

/* The entry points: X(field, "symbol", return, (parameters)). */
#define RT_CU_FUNCS(X)                                                                                          \
    X(Init, "cuInit", CuResult, (unsigned))                                                                     \
    X(DriverGetVersion, "cuDriverGetVersion", CuResult, (int *))                                                \
    X(DeviceGetCount, "cuDeviceGetCount", CuResult, (int *))                                                    \
    X(DeviceGet, "cuDeviceGet", CuResult, (CuDevice *, int))                                                    \
    X(DeviceGetName, "cuDeviceGetName", CuResult, (char *, int, CuDevice))                                      \
    X(DeviceGetAttribute, "cuDeviceGetAttribute", CuResult, (int *, int, CuDevice))                             \
    X(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CuResult, (CuCtx *, CuDevice))                              \
    X(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", CuResult, (CuDevice))                                  \
    X(CtxPushCurrent, "cuCtxPushCurrent_v2", CuResult, (CuCtx))                                                 \
    X(CtxPopCurrent, "cuCtxPopCurrent_v2", CuResult, (CuCtx *))                                                 \
    X(StreamCreate, "cuStreamCreate", CuResult, (CuStream *, unsigned))                                         \
    X(StreamDestroy, "cuStreamDestroy_v2", CuResult, (CuStream))                                                \
    X(StreamSynchronize, "cuStreamSynchronize", CuResult, (CuStream))                                           \
    X(MemAlloc, "cuMemAlloc_v2", CuResult, (CuDevPtr *, size_t))                                                \
    X(MemFree, "cuMemFree_v2", CuResult, (CuDevPtr))                                                            \
    X(MemGetInfo, "cuMemGetInfo_v2", CuResult, (size_t *, size_t *))                                            \
    X(MemsetD8Async, "cuMemsetD8Async", CuResult, (CuDevPtr, unsigned char, size_t, CuStream))                  \
    X(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CuResult, (CuDevPtr, const void *, size_t, CuStream))            \
    X(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CuResult, (void *, CuDevPtr, size_t, CuStream))                  \
    X(PointerGetAttribute, "cuPointerGetAttribute", CuResult, (void *, int, CuDevPtr))                          \
    X(ModuleLoadDataEx, "cuModuleLoadDataEx", CuResult, (CuMod *, const void *, unsigned, int *, void **))      \
    X(ModuleUnload, "cuModuleUnload", CuResult, (CuMod))                                                        \
    X(ModuleGetFunction, "cuModuleGetFunction", CuResult, (CuFn *, CuMod, const char *))                        \
    X(FuncGetAttribute, "cuFuncGetAttribute", CuResult, (int *, int, CuFn))                                     \
    X(FuncSetAttribute, "cuFuncSetAttribute", CuResult, (CuFn, int, int))                                       \
    X(ModuleGetGlobal, "cuModuleGetGlobal_v2", CuResult, (CuDevPtr *, size_t *, CuMod, const char *))           \
    X(LaunchKernel, "cuLaunchKernel", CuResult,                                                                 \
      (CuFn, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CuStream, void **, void **)) \
    X(GraphCreate, "cuGraphCreate", CuResult, (CuGraph *, unsigned))                                            \
    X(GraphDestroy, "cuGraphDestroy", CuResult, (CuGraph))                                                      \
    X(GraphAddKernelNode, "cuGraphAddKernelNode_v2", CuResult,                                                  \
      (CuGraphNode *, CuGraph, const CuGraphNode *, size_t, const RtCuKernelNode *))                            \
    X(GraphInstantiate, "cuGraphInstantiateWithFlags", CuResult, (CuGraphExec *, CuGraph, unsigned long long))  \
    X(GraphExecKernelNodeSetParams, "cuGraphExecKernelNodeSetParams_v2", CuResult,                              \
      (CuGraphExec, CuGraphNode, const RtCuKernelNode *))                                                       \
    X(GraphExecDestroy, "cuGraphExecDestroy", CuResult, (CuGraphExec))                                          \
    X(GraphLaunch, "cuGraphLaunch", CuResult, (CuGraphExec, CuStream))                                          \
    X(EventCreate, "cuEventCreate", CuResult, (CuEvent *, unsigned))                                            \
    X(EventRecord, "cuEventRecord", CuResult, (CuEvent, CuStream))                                              \
    X(EventSynchronize, "cuEventSynchronize", CuResult, (CuEvent))                                              \
    /* the first version (every driver has it; _v2 is CUDA 12.8's) */                                          \
    X(EventElapsedTime, "cuEventElapsedTime", CuResult, (float *, CuEvent, CuEvent))                            \
    X(EventDestroy, "cuEventDestroy_v2", CuResult, (CuEvent))                                                  \
    X(TensorMapEncodeTiled, "cuTensorMapEncodeTiled", CuResult,                                                 \
      (void *, int, uint32_t, void *, const uint64_t *, const uint64_t *, const uint32_t *, const uint32_t *, int, \
       int, int, int))

typedef struct RtCuApi {
#define X(field, sym, ret, args) ret (*field) args;
    RT_CU_FUNCS(X)
#undef X
} RtCuApi;

/* dlopen path (LTC_CUDA_LIB, else libcuda.so.1) and every entry point
 * into api.  0, or -1 + err naming the library and the missing symbol;
 * *lib is the handle to dlclose (NULL on failure). */
int rt_cu_load_api(RtCuApi *api, void **lib, char *err, size_t errlen);

/* "CUDA_ERROR_NO_BINARY_FOR_GPU ..." for a code; "CUDA error 12345" (in buf)
 * for one the table does not list (cuda_errors.c). */
const char *rt_cu_error_name(int code, char *buf, size_t n);

/* The code a CUDA device runs from a model's code image (plan/gpu_abi.h):
 * the cubin built for this compute capability (sm_90a only on 9.0 exactly;
 * sm_XY on X.Z for Z >= Y), else the PTX of the highest compute_XY <=
 * the device's, JIT-compiled by the driver.  force_ptx (LTC_CUDA_PTX=1)
 * skips the cubins.  0 with *kind (LTC_CODE_CUDA_CUBIN or _PTX), *arch,
 * data and len; -1 + err when nothing fits. */
int rt_cu_pick_code(const uint8_t *image, uint64_t image_len, int cc_major, int cc_minor, int force_ptx,
                    uint32_t *kind, uint32_t *arch, const uint8_t **data, uint64_t *len, char *err, size_t errlen);

#endif
