/* csrc.h: one C-source emitter for the GPU dialects (CUDA C, OpenCL C 1.2,
 * Metal Shading Language).
 *
 * A dialect is a table (CDialect): how a kernel is declared, how buffers
 * are passed (plan/gpu_abi.h), address-space qualifiers, the group and
 * local index, shared memory, the barrier, math names, how infinity is
 * spelt and the preamble every source starts with.  Each kernel family has
 * ONE renderer (r_*.c) that writes its kernel from a KernelSpec alone
 * (codegen/kernel_spec.h: nothing here reads a graph Node) through that
 * table, so the three dialects share every line of a family.
 *
 * The ABI is plan/gpu_abi.h: one group per tile (tile = args.tile0 +
 * group; a group whose tile >= args.ntiles returns at once), `threads`
 * work-items per group (KernelTune.threads, chosen by csrc_tune), buffers
 * b0..b7 then LtcGpuArgs by value.  Generated code uses the preamble's
 * fixed-width names: i64, u64, u32, u16, u8 (CUDA has no `long` of 64 bits
 * on every host, OpenCL no `long long`). */
#ifndef LTC_CODEGEN_CSRC_H
#define LTC_CODEGEN_CSRC_H

#include "codegen/backend.h"
#include "codegen/kernel_spec.h"
#include "plan/gpu_abi.h"
#include "support/support.h"

typedef struct CDialect {
    const char *name;            /* "cuda", "opencl", "metal" */
    const char *kernel_prefix;   /* before the kernel's name: "extern \"C\" __global__ void" */
    const char *kernel_prefix_min; /* the same with a minimum of resident groups (threads, then an
                                    * expression: CUDA's __launch_bounds__(T, G)); NULL: none */
    const char *bounds;          /* group-size attribute, printf with the threads, or NULL */
    const char *global;          /* qualifier of a pointer into a buffer: "", "__global ", "device " */
    const char *local;           /* qualifier of a shared-memory array: "__shared__ " ... */
    const char *local_ptr;       /* qualifier of a pointer to shared memory ("" in CUDA) */
    bool        buf_offsets;     /* OpenCL: each buffer is (cl_mem, long byte offset) */
    bool        buf_attrs;       /* Metal: [[buffer(i)]] on each parameter */
    const char *args_param;      /* how LtcGpuArgs is received */
    const char *index_params;    /* Metal: the group/thread position parameters, else "" */
    const char *group_id;        /* the group's index as i64 */
    const char *local_id;        /* the work-item's index in its group as int */
    const char *barrier;         /* a group-wide barrier on shared memory */
    const char *fn_prefix;       /* a helper function: "static __device__ inline" */
    const char *math_suffix;     /* float overloads: "f" (expf) or "" (exp) */
    const char *infinity;        /* +inf as a float expression */
    bool        has_f64;         /* double arithmetic available (Metal has none) */
    bool        has_erf;         /* erf available (Metal: the preamble defines one) */
    bool        has_mma;         /* tensor cores (CUDA sm_80+: mma.sync, ldmatrix, cp.async):
                                  * bf16/f16 GEMMs render with r_gemm_mma.c; the preamble
                                  * then has the 16-bit float conversions and PTX wrappers */
    bool        has_simdgroup_matrix;   /* 8 x 8 float matrices per 32-lane simdgroup (Metal
                                  * 2.3+, Apple7 and later): GEMMs render with r_gemm_simd.c */
    /* value of v in lane (own lane ^ d) of the 32-lane warp/simdgroup, a
     * printf of (v, d) every lane of it executes; NULL: no lane exchange
     * (OpenCL 1.2 has no subgroups), block reductions go through shared
     * memory alone (cs_block_reduce) */
    const char *shuffle_xor;
    const char *types;           /* typedefs of i64 u64 u32 u16 u8 and the f64 pragma */
    /* bf16/f16 storage: elements are u16 in every dialect, loaded as float
     * and stored from float by the preamble's ltc_ld_bf16/ltc_st_bf16
     * (bit operations through these reinterpretations, round to nearest
     * even, NaN kept quiet: ir/types.c f32_to_bf16) and ltc_ld_f16/
     * ltc_st_f16, whose bodies (p: the u16 pointer, i: the index, v: the
     * value) are the dialect's conversions. */
    const char *bits_as_float;   /* u32 -> float, same bits: "as_float" */
    const char *float_as_bits;   /* float -> u32, same bits: "as_uint" */
    const char *f16_load;        /* body of float ltc_ld_f16(p, i) */
    const char *f16_store;       /* body of void ltc_st_f16(p, i, v), round to nearest even */
} CDialect;

extern const CDialect csrc_cuda, csrc_opencl, csrc_metal;

/* What a rendered kernel needs at launch (plan/gpu_abi.h LtcGpuKernel). */
typedef struct CsInfo {
    int threads;
    int shared_bytes;
    bool reads_call;            /* reads the call number (LTC_GPU_READS_CALL) */
} CsInfo;

/* The preamble of a source file: the dialect's types, LtcGpuArgs laid out
 * as plan/gpu_abi.h, +inf, and the helpers kernels call (block sums and
 * maxima, activations, Philox). */
void csrc_preamble(const CDialect *dl, StrBuf *out);

/* Kernel s in dialect dl, appended to out (no preamble).  0, or -1 + d. */
int csrc_render(const CDialect *dl, const KernelSpec *s, StrBuf *out, CsInfo *info, LtcDiag *d);

/* What the renderers handle (Backend.supports, shared by every GPU
 * backend) and their choices (Backend.tune). */
bool csrc_supports(const KernelSpec *s, const char **why);
void csrc_tune(KernelSpec *s);
/* The same for dialect dl (its capabilities: has_mma).  csrc_supports and
 * csrc_tune are these for a dialect without tensor cores. */
bool csrc_supports_in(const CDialect *dl, const KernelSpec *s, const char **why);
void csrc_tune_in(const CDialect *dl, KernelSpec *s);

/* A code image (plan/gpu_abi.h): LTC_CODE_MAGIC, then sections, each an
 * LtcCodeSection and its bytes padded with zeros to 8. */
typedef struct CsImage { uint8_t *p; size_t len, cap; } CsImage;
int  csrc_image_add(CsImage *img, uint32_t kind, uint32_t arch, const void *data, uint64_t len);   /* -1: no memory */
void csrc_image_free(CsImage *img);
/* Backend.emit_library of a C-source GPU backend: its code image (`image`:
 * opencl_code_image, cuda_code_image) written into a model.so by
 * codegen/gpu_library.c. */
typedef int CsImageFn(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d);
int  csrc_emit_library(Backend *b, CsImageFn *image, Plan **plans, int nplans, const char *path,
                       const void *weights, size_t weights_len, LtcDiag *d);

/* The kernels of every generate() of a backend (module.c): their source
 * (no preamble) and LtcGpuKernel table, in generation order. */
typedef struct CsModule {
    StrBuf        src;
    LtcGpuKernel *kernels;      /* names malloc'ed */
    size_t       *starts;       /* kernel i's text: src.s + starts[i] .. starts[i + 1] (or the end) */
    int           nkernels, cap;
} CsModule;
/* Render every kernel of the plans (kernel_spec(p, k, b, &s)) in dl. */
int  csrc_module_add(CsModule *m, const CDialect *dl, struct Backend *b, Plan **plans, int nplans, LtcDiag *d);
/* preamble + every kernel: one translation unit (malloc'ed, NULL: no memory) */
char *csrc_module_source(const CsModule *m, const CDialect *dl);
void csrc_module_free(CsModule *m);

/* ---- for the renderers (render.c) -------------------------------------------------- */
enum { CS_NTMP = 32 };
typedef struct Cs {
    const CDialect *dl;
    const KernelSpec *s;
    StrBuf *o;
    int threads;
    int shared_bytes;
    bool reads_call;            /* the renderer read args.dims[<call number>] */
    const char *min_groups;     /* non-NULL: resident groups per core to ask for (kernel_prefix_min) */
    const char *extra_params;   /* non-NULL: ", ..." parameters after args (r_gemm_mma.c's tensor maps) */
    StrBuf tmp[CS_NTMP];         /* cs_ld / cs_st texts, reused in turn (freed by csrc_render) */
    int ntmp;
} Cs;

/* The kernel's signature and prologue: `tile` (i64, returned past
 * ntiles), `tid` (int), `T` (the group size, a constant) and p0..p(n-1),
 * the byte pointers of the buffers used. */
void cs_begin(Cs *c, int nbufs);
/* tile = args.tile0 + group; return past args.ntiles (after cs_shared). */
void cs_tile(Cs *c);
/* The same for kernels with barriers: `live` (tile < ntiles) and tile (0
 * when not live); the renderer zeroes its loop bounds and skips its stores
 * when not live, and every work-item reaches every barrier. */
void cs_tile_live(Cs *c);
void cs_end(Cs *c);
/* A shared-memory array of n elements of type ty (at kernel scope). */
void cs_shared(Cs *c, const char *ty, const char *name, int n);
/* "__global float *x = (__global float *)p2;" */
void cs_ptr(Cs *c, const char *ty, const char *name, int buf);
/* The element type moving `bytes`-sized elements unchanged ("u32"...). */
const char *cs_uint(int bytes);
/* Element type of a buffer of dtype t: float, u16 (bf16 and f16), i64, u8. */
const char *cs_etype(DType t);
/* bf16 or f16: stored in 2 bytes, loaded as float and stored from float. */
bool cs_half(DType t);
/* The float value of element i of pointer p holding t (f32: "p[i]",
 * bf16/f16: the preamble's conversion), and the statement (no ';') that
 * stores float v there.  The text lives in c until CS_NTMP later calls. */
const char *cs_ld(Cs *c, DType t, const char *p, const char *i);
const char *cs_st(Cs *c, DType t, const char *p, const char *i, const char *v);
/* Value type of a dtype (f32 float, i64, bool u8); NULL when none. */
const char *cs_vtype(DType t);
/* The float version of math function `base` ("exp" -> "expf" in CUDA). */
const char *cs_math(const Cs *c, const char *base);
/* The type sums accumulate in where the reference does in double. */
const char *cs_f64(const Cs *c);

int cs_gemm(Cs *c, LtcDiag *d);
/* Both GEMM renderers' split of the group's tile into its row slot `rs`
 * (of `nrs`), column blocks [cb0, cb1) of nb columns and (matmul) batch
 * entry `tb`, with the qkv store's dims (r_gemm.c). */
void cs_gemm_tile(Cs *c, bool matmul, int nb);
/* What the GEMM renderers that stage fp32 tiles (r_gemm.c, r_gemm_simd.c)
 * share, in r_gemm.c.  cs_gemm_head: after the kernel's shared arrays,
 * `live` and the tile, the buffers A0 B0 bias R C0 (B0 f32 when packed),
 * M N K lda, the renderer's `locals` text, ldc (ldr), the tile split and
 * the operands A, B, C of the tile's batch entry.  cs_gemm_stage_b: in
 * the K loop (k0, column block cb at j0), B[k0 + kk][j0 + cc] into float
 * Bs[kk * CS_GEMM_NB + cc] for kk < CS_GEMM_BK, zero past K and N.
 * cs_gemm_epilogue: C[row][col] = act(acc + bias) + residual, stored in
 * C's dtype (qkv: head-split offsets), each line indented by `ind`. */
void cs_gemm_head(Cs *c, const char *locals);
void cs_gemm_stage_b(Cs *c);
void cs_gemm_epilogue(Cs *c, const char *ind, const char *acc);
/* simdgroup matrices (r_gemm_simd.c): r_gemm.c's tune and operands */
int cs_gemm_simd(Cs *c, LtcDiag *d);
int cs_gemm_pack(Cs *c, LtcDiag *d);
/* tensor cores (r_gemm_mma.c): A and B bf16 or both f16 */
bool cs_gemm_is_mma(const KernelSpec *s);
int cs_gemm_mma(Cs *c, LtcDiag *d);
void cs_attn_seeds(Cs *c, bool drop);   /* r_attn.c: dropout's seed and call, for both SIMT attentions */
int cs_attn(Cs *c, LtcDiag *d);
/* tiled SIMT attention (r_attn_tiled.c): BR query rows per group, K/V
 * blocks of BC keys in shared memory, blocking by max(D, Dv); its tune
 * (att_br, att_bc, att_rg), false (t untouched) for head dims above 256,
 * which it leaves to r_attn.c */
bool cs_attn_tiled_tune(const KernelSpec *s, KernelTune *t);
int cs_attn_tiled(Cs *c, LtcDiag *d);
/* tensor cores (r_attn_mma.c): bf16/f16, head dims % 16 == 0 up to 128, no dropout */
bool cs_attn_is_mma(const KernelSpec *s);
int cs_attn_mma(Cs *c, LtcDiag *d);
int cs_norm(Cs *c, LtcDiag *d);
int cs_softmax(Cs *c, LtcDiag *d);
int cs_eltwise(Cs *c, LtcDiag *d);
bool cs_eltwise_op(int op);       /* has an expr (ops.def) the renderer can write */
/* op's expr (ops.def) in C on operand texts x, y (r_eltwise.c); -1: none. */
int  cs_ew_expr(Cs *c, int op, const char *x, const char *y, StrBuf *o);
int cs_reduce(Cs *c, LtcDiag *d);
int cs_copy(Cs *c, LtcDiag *d);
int cs_cat(Cs *c, LtcDiag *d);
int cs_misc(Cs *c, LtcDiag *d);
int cs_dropout(Cs *c, LtcDiag *d);

/* v = sum (max: NaN-propagating maximum) of v over the group, through
 * shared float array red[T] (r_*.c: norm, softmax, attention). */
void cs_block_reduce(Cs *c, bool max, const char *v, const char *red);
/* A float literal of (float)v; infinities and NaN through LTC_INF. */
void cs_flt(StrBuf *o, double v);
/* The C text of activation op `act` applied to expression x (its expr;
 * x unchanged for none). */
void cs_act(Cs *c, int act, const char *x, StrBuf *out);

/* GEMM blocking of the renderers (r_gemm.c): BM rows x NB columns per
 * pass, BK deep; 256 threads each own a 4 x 4 block of C. */
enum { CS_GEMM_NB = 64, CS_GEMM_BM = 64, CS_GEMM_BK = 16, CS_GEMM_T = 256 };
/* groups a GEMM aims for when its row-block count is symbolic (tune.mgroups) */
enum { CS_GEMM_GROUPS = 1024 };
/* tensor-core GEMM (r_gemm_mma.c): 128 x 128 of C per tile, K by 32, 8 warps */
enum { CS_MMA_MB = 128, CS_MMA_NB = 128, CS_MMA_KB = 32 };
/* attention: 128 work-items per group (every attention renderer); head
 * dims up to 512 (r_attn_tiled.c blocks by them up to 256; r_attn.c, above:
 * one query row per group, a key per work-item per block) */
enum { CS_ATT_T = 128, CS_ATT_MAXD = 512 };
/* tensor-core attention (r_attn_mma.c): 64 query rows per group of 4 warps
 * (CS_ATT_T threads; Q fragments in registers) or 128 (BRW: two m-tiles per
 * warp, Q in shared memory, the tune's choice), keys in blocks of 64 */
enum { CS_ATTM_BR = 64, CS_ATTM_BRW = 128, CS_ATTM_BC = 64, CS_ATTM_MAXD = 128 };

#endif
