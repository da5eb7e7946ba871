/* kernel_contract.h: what each kernel family may touch, given its step.
 *
 * A plan step names a kernel, buffer arguments, dims and a tile count.  The
 * plan reader checks indices; buf_check.c checks that each buffer fits the
 * memory it names.  This contract closes the gap between the two: a step's
 * dims must not make its kernel reach past its buffers.  Per family
 * (kernel_families.def) a footprint function computes, from the step's
 * evaluated values, the bytes the kernel may touch in each buffer argument
 * (highest byte offset accessed + 1, 0 for an argument it does not touch),
 * and refuses a tile count outside what the dims define and a zero that the
 * kernel would divide by.  Every size is overflow-checked.
 *
 * Plain C with integer values only (no codegen, no LLVM): the compiler's
 * tests check every plan they build with it, the runtime every step it
 * runs (kernel_check.c). */
#ifndef LTC_KERNEL_CONTRACT_H
#define LTC_KERNEL_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KF_MAX_ARGS 8     /* == PLAN_MAX_ARGS */

/* One step, evaluated for a call. */
typedef struct KfStep {
    const int64_t *dims;  int ndims;     /* dims >= 0 */
    const float   *f;                    /* f[4] */
    int64_t        ntiles;               /* >= 0 */
    const int64_t *consts; int nconsts;  /* PlanKernel.consts */
    int            nbufs;
} KfStep;

/* Fills need[0..nbufs) with bytes per argument; 0, or -1 with a reason in
 * why ("tile count 9 exceeds the 8 rows of dims[0]"). */
typedef int (*KfFootprint)(const KfStep *s, int64_t *need, char *why, size_t n);

typedef struct KernelFamily {
    const char *name;
    int nbufs_min, nbufs_max, ndims_min, ndims_max, nconsts;
    KfFootprint footprint;
    const char *alone;      /* why an unfused kernel of the family stands alone (the fusion report) */
} KernelFamily;

#define KF(name, b0, b1, d0, d1, nc, fn, alone) int fn(const KfStep *s, int64_t *need, char *why, size_t n);
#include "plan/kernel_families.def"
#undef KF

/* gemm: variant | KF_GEMM_ROWS = tiles are (row slot, column block)
 * pairs (the GPU targets): a tile walks the row blocks rs, rs + nrs, ...
 * where nrs = ntiles / column tiles (the count is not in the plan: a tile
 * past the rows touches nothing); at most KF_GEMM_MAX_SLOTS slots beyond
 * the rows of dims[0]; fewer than 2^31 tiles. */
enum { KF_GEMM_ROWS = 4, KF_GEMM_MAX_SLOTS = 4096 };

/* The family called name, or NULL. */
const KernelFamily *kf_find(const char *name);
/* Counts against the family's, then its footprint: 0, or -1 + why. */
int kf_check_step(const KernelFamily *kf, const KfStep *s, int64_t *need, char *why, size_t n);

#endif
