/* cuda.h: the CUDA backend (CUDA C through codegen/csrc, compiled with
 * NVRTC to PTX and cubins). */
#ifndef LTC_CODEGEN_CUDA_H
#define LTC_CODEGEN_CUDA_H

#include <stdbool.h>
#include <stddef.h>

#include "codegen/backend.h"
#include "codegen/csrc/csrc.h"

/* One NVRTC compilation: src (named `file` in messages) for `arch`
 * ("compute_80": PTX; "sm_80", "sm_90a": cubin).  extra: more options
 * (e.g. "-Xptxas=-v") or NULL.  Results are malloc'ed. */
typedef struct CudaJob {
    const char *src, *file, *arch, *extra;
    char   *code;               /* PTX (NUL-terminated, len counts the NUL) or cubin */
    size_t  code_len;
    char   *log;                /* NVRTC's log (ptxas -v lines with -Xptxas=-v) */
    int     rc;                 /* 0, or -1 with err */
    char    err[768];           /* "NVRTC sm_80: f.cu(12): error: ...", then the source line quoted */
} CudaJob;

/* Run the jobs on up to nthreads threads (pthreads); 0 when every job
 * succeeded, else -1 (each job's rc and err say which). */
int  cuda_compile_jobs(CudaJob *jobs, int n, int nthreads);
void cuda_job_free(CudaJob *j);

/* With nvJitLink (LTC_HAVE_NVJITLINK): the relocatable cubins of jobs
 * (each NVRTC -rdc=true of one kernel) linked into one cubin for arch
 * (malloc'ed).  0, or -1 with err. */
int cuda_link_cubins(const char *arch, CudaJob *const *jobs, int n, char **out, size_t *len, char *err,
                     size_t errlen);

/* A target generate compiles for: "compute_80" (PTX, LTC_CODE_CUDA_PTX 80),
 * "sm_80" (cubin 80), "sm_90a" (cubin 90 | LTC_ARCH_A), ... */
typedef struct CudaTarget { char arch[16]; uint32_t kind, code_arch; } CudaTarget;
#define CUDA_MAX_TARGETS 8
/* --gpu-arch's default: PTX that JITs on any GPU from the A100 on, and
 * cubins for the A100 and the H100/H200 (sm_90a: wgmma and TMA). */
#define CUDA_DEFAULT_TARGETS "compute_80,sm_80,sm_90a"
/* "compute_80,sm_90a" into t[0..*n).  Each item is compute_XY, sm_XY or
 * sm_XYa with X.Y >= 8.0 (the kernels use sm_80's instructions), at most
 * CUDA_MAX_TARGETS, no repeats.  0, or -1 + err naming the item. */
int cuda_parse_targets(const char *list, CudaTarget *t, int *n, char *err, size_t errlen);

/* The code image of everything generated (one section per target) and
 * the kernel table (owned by the backend).  For the integrator's
 * emit_library. */
int cuda_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d);

#endif
