/* kernel_layout.h: the buffers and dims of each kernel family's steps,
 * as the target-neutral lowering (codegen/lower_*.c) fills them and every
 * backend's generator reads them (dims[i] at run time).  The contract the
 * runtime checks (plan/kernel_footprint.c) restates them; the prose is in
 * docs/cpu_backend.md. */
#ifndef LTC_KERNEL_LAYOUT_H
#define LTC_KERNEL_LAYOUT_H

/* gemm: bufs of every step */
enum { GB_A, GB_B, GB_BIAS, GB_RES, GB_C };
/* gemm, linear: dims */
enum { LD_M, LD_N, LD_K, LD_LDA, LD_LDC, LD_LDR, LD_COUNT };
/* qkv_linear appends: S, Dh, E, part stride L*H*S*Dh, l stride H*S*Dh, h stride S*Dh */
enum { QD_S = LD_COUNT, QD_DH, QD_E, QD_PS, QD_LS, QD_HS };
/* gemm, matmul: dims (two batch dims, A's and B's batch strides, column blocks) */
enum { MD_M, MD_N, MD_K, MD_LDA, MD_LDB, MD_LDC, MD_NB0, MD_NB1, MD_SA0, MD_SA1, MD_SB0, MD_SB1,
       MD_NCB, MD_COUNT };

/* flash_attention: dims, then bufs */
enum { AD_SQ, AD_SK, AD_NB1, AD_QS0, AD_QS1, AD_KS0, AD_KS1, AD_VS0, AD_VS1,
       AD_MS0, AD_MS1, AD_MSI, AD_MSJ, AD_QSS, AD_KSS, AD_VSS, AD_SEED_LO, AD_SEED_HI, AD_COUNT };
enum { AB_Q, AB_K, AB_V, AB_MASK, AB_OUT };

/* norm and softmax: bufs (unused ones point at the output); dims [rows, cols] */
enum { NB_X, NB_R, NB_W, NB_B, NB_OUT, NB_SUM };

/* eltwise: dims [cols, nlead, sizes[nlead], strides[2][nlead]] (2 + 3 * 4
 * = 14 dims <= PLAN_MAX_DIMS); bufs [in0, in1 (or the output), out] */
enum { ED_COLS, ED_NLEAD, ED_SIZES };

/* dropout (training): bufs [x, out], dims [numel, seed_lo, seed_hi];
 * tiles of DROP_TILE elements */
enum { DROP_TILE = 4096 };

#endif
