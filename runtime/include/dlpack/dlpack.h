/* dlpack.h: the subset of DLPack v0.8 that lispetorchc's runtime exchanges
 * tensors with (written for this project; binary-compatible with the
 * upstream header: same enum values, field order and field types, so a
 * DLTensor from PyTorch, NumPy, JAX... can be passed straight in).
 *
 * A DLTensor describes memory, it does not own it.  strides are counted in
 * elements (not bytes); strides == NULL means compact row-major (C order). */
#ifndef DLPACK_DLPACK_H_
#define DLPACK_DLPACK_H_

#include <stddef.h>
#include <stdint.h>

#define DLPACK_VERSION 80
#define DLPACK_ABI_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/* Where the data lives.  Values are fixed by the DLPack ABI. */
typedef enum {
    kDLCPU = 1,
    kDLCUDA = 2,
    kDLCUDAHost = 3,
    kDLOpenCL = 4,
    kDLVulkan = 7,
    kDLMetal = 8,
    kDLVPI = 9,
    kDLROCM = 10,
    kDLROCMHost = 11,
    kDLExtDev = 12,
    kDLCUDAManaged = 13,
    kDLOneAPI = 14,
    kDLWebGPU = 15,
    kDLHexagon = 16,
} DLDeviceType;

typedef struct {
    DLDeviceType device_type;
    int32_t device_id;           /* 0 for the CPU */
} DLDevice;

/* Kind of number; with `bits` it names a dtype (f32 = {kDLFloat, 32, 1}). */
typedef enum {
    kDLInt = 0U,
    kDLUInt = 1U,
    kDLFloat = 2U,
    kDLOpaqueHandle = 3U,
    kDLBfloat = 4U,
    kDLComplex = 5U,
    kDLBool = 6U,
} DLDataTypeCode;

typedef struct {
    uint8_t code;                /* a DLDataTypeCode */
    uint8_t bits;                /* bits per lane: 8, 16, 32, 64 */
    uint16_t lanes;              /* 1 for scalars */
} DLDataType;

typedef struct {
    void *data;                  /* base address; element 0 is at data + byte_offset */
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape;              /* ndim sizes */
    int64_t *strides;            /* ndim strides in elements, or NULL = C order */
    uint64_t byte_offset;
} DLTensor;

/* A DLTensor plus a way to give it back to its owner. */
typedef struct DLManagedTensor {
    DLTensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;

#ifdef __cplusplus
}
#endif
#endif
