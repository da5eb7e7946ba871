/* lispetorchc/runtime.h: load and run a model.so made by `lispetorchc -o`.
 *
 * The one public header of the runtime (link libltc_runtime.a and
 * libltc_support.a, plus -ldl -lpthread -lm; or libltc_runtime.so).  Tensors cross the API as
 * DLPack DLTensors, so a host can hand over PyTorch/NumPy memory without a
 * copy.  Typical use:
 *
 *     ltc_error err;
 *     ltc_model *m = ltc_model_open("model.so", &err);
 *     if (!m) { fprintf(stderr, "%s\n", err.message); return 1; }
 *     if (ltc_model_bind_weights_file(m, "w.safetensors") != 0) ...  // unless embedded
 *     DLTensor x = {...}, y = {...};                                  // y: caller's memory
 *     if (ltc_model_run(m, "forward", &x, 1, &y, 1) != 0)
 *         fprintf(stderr, "%s\n", ltc_last_error(m)->message);
 *     ltc_model_close(m);
 *
 * Every function checks its arguments and reports problems through an
 * error code and a message; nothing aborts or exits the host.  One model may
 * be used from several threads: runs of one model are serialised by a lock
 * (each run already uses all the model's threads).
 *
 * Stability: names and struct layouts here only grow; LTC_RUNTIME_ABI
 * changes when the model.so descriptor format changes. */
#ifndef LISPETORCHC_RUNTIME_H
#define LISPETORCHC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include "dlpack/dlpack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shared runtime (libltc_runtime.so) is compiled with
 * -fvisibility=hidden: what is declared here is its interface, and only
 * that is visible (runtime/ltc_runtime.map then exports the ltc_* names). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define LTC_RUNTIME_ABI 4        /* descriptor layout version this runtime reads */
#define LTC_MAX_NDIM 8

typedef enum {
    LTC_OK = 0,
    LTC_ERR_ARG,            /* NULL pointer, bad index, unknown entry name */
    LTC_ERR_IO,             /* file cannot be opened/read/mapped, dlopen failed */
    LTC_ERR_FORMAT,         /* not a model.so / corrupt descriptor or plan */
    LTC_ERR_ABI,            /* descriptor ABI version differs from LTC_RUNTIME_ABI */
    LTC_ERR_VERSION,        /* compiled by another lispetorchc version */
    LTC_ERR_CPU,            /* model needs CPU features (or an arch) this host lacks */
    LTC_ERR_SHAPE,          /* wrong rank or size of an input/output */
    LTC_ERR_DTYPE,          /* wrong element type */
    LTC_ERR_DEVICE,         /* tensor not in the memory the model takes; the model's device is absent or cannot start */
    LTC_ERR_LAYOUT,         /* non C-contiguous output */
    LTC_ERR_WEIGHTS,        /* missing/unbound/mismatched/corrupt weights */
    LTC_ERR_NOMEM,
} ltc_status;

typedef struct ltc_error {
    ltc_status code;
    char message[512];
} ltc_error;

/* Element types of entry inputs/outputs/params (same order as the compiler's). */
typedef enum { LTC_F32, LTC_F16, LTC_BF16, LTC_I64, LTC_BOOL } ltc_dtype;

/* Description of an input, output or parameter.  A dimension that depends
 * on the entry's symbols (batch, sequence...) has dims[i] = -1 and its
 * expression in dim_names[i] ("S", "B*S", "2*S"); a fixed one has its size
 * and dim_names[i] = NULL.  Strings live as long as the model. */
typedef struct ltc_tensor_info {
    const char *name;
    ltc_dtype dtype;
    int ndim;
    int64_t dims[LTC_MAX_NDIM];
    const char *dim_names[LTC_MAX_NDIM];
} ltc_tensor_info;

typedef struct ltc_model ltc_model;

/* ---- versions ------------------------------------------------------------ */
const char *ltc_runtime_version(void);      /* "0.2.0" */

/* ---- opening ------------------------------------------------------------- */
/* dlopen the library and check it before any kernel can run: magic, ABI
 * version, compiler version, target architecture and every CPU feature the
 * kernels were compiled for (checked with cpuid + xgetbv, so a model built
 * for AVX-512 is refused on an AVX2 host instead of dying with SIGILL).
 * Embedded weights, if any, are bound here.  NULL + *err on failure (err
 * may be NULL). */
ltc_model *ltc_model_open(const char *path, ltc_error *err);
void ltc_model_close(ltc_model *m);          /* NULL is fine */

/* The error of the calling thread's last failing call on m (code LTC_OK if
 * none): each thread has its own record.  A closed handle gives a record
 * saying so (LTC_ERR_ARG); every other call on a closed handle fails. */
const ltc_error *ltc_last_error(const ltc_model *m);

/* Threads used by the model's runs; n <= 0 means the number of online
 * cores (the default).  Returns 0 or -1. */
int ltc_set_num_threads(ltc_model *m, int n);
int ltc_get_num_threads(const ltc_model *m);

/* ---- metadata -------------------------------------------------------------- */
const char *ltc_model_compiler_version(const ltc_model *m);
int         ltc_model_abi_version(const ltc_model *m);
const char *ltc_model_target_triple(const ltc_model *m);
const char *ltc_model_target_cpu(const ltc_model *m);
const char *ltc_model_target_features(const ltc_model *m);
int         ltc_model_has_embedded_weights(const ltc_model *m);

int         ltc_model_num_entries(const ltc_model *m);
const char *ltc_model_entry_name(const ltc_model *m, int i);   /* NULL if out of range */
/* Symbols of an entry ("B", "S"...), in the order dim_names refer to them. */
int         ltc_model_num_symbols(const ltc_model *m, const char *entry);
const char *ltc_model_symbol_name(const ltc_model *m, const char *entry, int i);

/* entry NULL = the first entry.  -1 on error (unknown entry...). */
int ltc_model_num_inputs(const ltc_model *m, const char *entry);
int ltc_model_num_outputs(const ltc_model *m, const char *entry);
int ltc_model_input_info(const ltc_model *m, const char *entry, int i, ltc_tensor_info *out);
int ltc_model_output_info(const ltc_model *m, const char *entry, int i, ltc_tensor_info *out);
/* Parameters of all entries together (shared by name). */
int ltc_model_num_params(const ltc_model *m);
int ltc_model_param_info(const ltc_model *m, int i, ltc_tensor_info *out);

/* ---- weights ----------------------------------------------------------------- */
/* Bind every parameter by name from a safetensors file.  The file is
 * memory-mapped and used in place when a tensor's data is aligned to its
 * element size; otherwise that tensor is copied.  Missing tensor, wrong
 * dtype or shape, truncated or corrupt file: error naming the tensor, and
 * the previous binding (if any) stays.  Extra tensors are ignored.  The
 * parameters' pre-packing steps run here, once. */
int ltc_model_bind_weights_file(ltc_model *m, const char *path);
/* Same from a safetensors image in memory; it must outlive the binding
 * (it is not copied where layout allows). */
int ltc_model_bind_weights_memory(ltc_model *m, const void *data, size_t len);
/* A warning about the weights bound now, or NULL: a file that a compile
 * without --weights wrote holds the script's random initial values (its
 * metadata has "lispetorchc.init": "random"), so outputs are not a trained
 * model's.  The runtime never prints; a host shows this string.  Lives
 * until the next binding or ltc_model_close. */
const char *ltc_model_weights_warning(const ltc_model *m);

/* ---- running ------------------------------------------------------------------ */
/* Run `entry` (NULL = the first).  inputs[i] must match input i: CPU
 * device, its dtype, its rank, and sizes consistent with the symbolic
 * shape (the symbols are bound from the inputs).  Non C-contiguous inputs
 * are copied.  outputs[i] is caller memory of exactly the output's shape
 * and dtype, C-contiguous.  0, or -1 with ltc_last_error(m). */
int ltc_model_run(ltc_model *m, const char *entry,
                  const DLTensor *inputs, int nin, DLTensor *outputs, int nout);
/* Same, allocating the outputs: outputs[i] receives a tensor the caller
 * releases with ltc_tensor_free.  On failure every outputs[i] is NULL. */
int ltc_model_run_alloc(ltc_model *m, const char *entry,
                        const DLTensor *inputs, int nin, DLTensor **outputs, int nout);

/* The shapes of `entry`'s outputs (NULL = the first) for inputs of the
 * given shapes, without running anything: in_shapes[i] holds in_ndims[i]
 * sizes of input i; out_shapes[i] receives output i's sizes (its rank is
 * ltc_model_output_info's ndim; the slots past it are set to 0).  The
 * symbols are bound and the model's size limits checked as ltc_model_run
 * does, so shapes accepted here pass the run's shape checks (dtypes,
 * devices and data are not looked at).  nin and nout must be the entry's
 * counts.  0, or -1 with ltc_last_error(m) (LTC_ERR_SHAPE: the message
 * run would give). */
int ltc_model_output_shapes(const ltc_model *m, const char *entry,
                            const int64_t *const *in_shapes, const int *in_ndims, int nin,
                            int64_t (*out_shapes)[LTC_MAX_NDIM], int nout);

/* The model's call counter: run number k (0 = the first run after open)
 * draws the dropout masks of call k (training-mode dropout; each run of any
 * entry advances it by one).  Setting it replays call k exactly, as the
 * reference interpreter computes it (docs/runtime.md). */
uint64_t ltc_model_call_count(const ltc_model *m);
int      ltc_model_set_call_count(ltc_model *m, uint64_t calls);   /* 0, or -1 if m is NULL */

/* A C-contiguous CPU tensor (data 64-byte aligned, zeroed) with its shape
 * in the same allocation; NULL on bad arguments or out of memory. */
DLTensor *ltc_tensor_alloc(ltc_dtype dtype, int ndim, const int64_t *shape);
void      ltc_tensor_free(DLTensor *t);       /* NULL is fine */
DLDataType ltc_dtype_to_dl(ltc_dtype t);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
