/* serialize.h: Plans <-> bytes, the form in which plans travel inside a
 * model.so (descriptor field `plans`).
 *
 * Format (all integers little-endian):
 *   "LTCPLAN1"  u32 format version  u32 nplans  then per plan:
 *   str entry   u32 nsyms {str name, i64 example}
 *   tensors inputs, outputs, params: u32 n {str name, u32 dtype, u32 rank, rank x dim}
 *   u32 nbufs {u32 kind, i32 index, poly offset, poly bytes, str what}
 *   u32 nkernels {str name, str family, u32 nconsts, i64 x nconsts}  (consts: version 6; float element sizes among them: 7)
 *   steps prepack, steps: u32 n {i32 kernel, u32 nbufs, i32 x nbufs,
 *                              u32 ndims, poly x ndims, f32 x 4, poly ntiles}
 *   poly arena_bytes
 *   u32 npacked {PlanBuf as above}
 *   u32 nlimits {poly value, i64 max, str what}     (version 2)
 *   u32 nidchecks {u32 input, i64 num, str what}    (version 3)
 * dim = {i64 k, u32 sym}; poly = u32 n, n x dim; str = u32 len (0xffffffff
 * for NULL) then len bytes.  A dim's k is >= 0 everywhere but in a limit's
 * value, whose terms may be negative and are all symbolic (sym != 0).
 *
 * The writer (plan/serialize.c) and the reader (plan/plan_read.c) are both
 * in the plan library, which the compiler and the runtime link (the
 * runtime links no compiler code).
 * The reader validates everything (bounds, counts, indices, symbol bits), so
 * a corrupt blob gives an error, never a crash.  Deserialized plans have a
 * minimal Graph (name + symbols) and PlanKernel.node == NULL. */
#ifndef LTC_SERIALIZE_H
#define LTC_SERIALIZE_H

#include "plan/plan.h"

#define PLAN_BLOB_MAGIC "LTCPLAN1"
/* 2: PlanLimit list; 3: PlanIdCheck list; 4: derived symbols; 5: same
 * layout as 4, but kernels may read the call number at dims[ndims]
 * (plan.h), which a version-4 runtime does not pass; 6: each kernel
 * carries its contract constants (PlanKernel.consts), without which the
 * runtime cannot bound what a kernel touches (runtime/kernel_check.c); 7:
 * the float families' constants end with their float element size (4, or
 * 2 for bf16/f16: --dtype), one more than version 6 had, so this runtime
 * reads version 7 only. */
#define PLAN_BLOB_VERSION 7
#define PLAN_BLOB_MIN_VERSION 7

int plan_serialize(Plan *const *plans, int nplans, StrBuf *out, LtcDiag *d);
int plan_deserialize(Arena *a, const void *buf, size_t n, Plan ***plans, int *nplans,
                     LtcDiag *d);

#endif
