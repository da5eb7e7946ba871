/* cpu.h: the CPU backend's internals, shared by its files.
 *
 * The backend turns each PlanKernel into one LLVM function with the plan
 * ABI (plan.h), built through the LLVM-C API, optimised with default<O3>
 * and either JIT-compiled (LLJIT) or handed to aot.c for a shared library.
 *
 * Kernel families, one generator each (k_*.c):
 *   gemm            linear / fused_linear / matmul (BLIS-style micro-kernel)
 *   gemm_pack       prepack of a linear's weight into NR-wide panels
 *   flash_attention sdpa with online softmax
 *   norm            layer_norm / rms_norm / add_norm
 *   softmax         softmax / log_softmax over the last axis
 *   eltwise         every OPF_ELEMENTWISE op, with broadcasting
 *   reduce          sum/mean/max/argmax over one axis
 *   copy            strided copies: reshape, permute, expand, slice, eval dropout
 *   cat             concatenation
 *   misc            embedding, triu/tril, cast
 * The bufs/dims/tiles convention of each family is in docs/cpu_backend.md. */
#ifndef LTC_CPU_H
#define LTC_CPU_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Orc.h>
#include <llvm-c/LLJIT.h>

#include "codegen/backend.h"
#include "codegen/kernel_spec.h"

/* ---- target description, fixed when the backend is created -------------- */
typedef struct CpuTarget {
    char *triple, *cpu, *features;   /* LLVM-owned strings (LLVMDisposeMessage) */
    bool avx512;                     /* 16-float vectors and 32 vector registers */
    int  vw;                         /* floats per vector: 16 (AVX-512) or 8 */
    int  mr, nr;                     /* GEMM micro-tile: rows x columns (8x48 / 6x16) */
    bool bf16dot;                    /* AVX512-BF16: vdpbf16ps, 2 bf16 products per f32 lane */
} CpuTarget;

/* The runtime device (runtime/devices.def) the CPU backend's kernels run
 * on: named in the engine and in every model.so descriptor. */
#define CPU_DEVICE "cpu"

/* ---- the backend object ---------------------------------------------------- */
typedef struct CpuBackend {
    Backend base;
    Arena *arena;
    BackendOptions opts;
    CpuTarget t;
    LLVMTargetMachineRef tm;         /* for O3, emit_text and AOT */
    LLVMOrcThreadSafeContextRef tsc;
    LLVMContextRef ctx;              /* owned by tsc */
    LLVMModuleRef mod;               /* the generated module (NULL before generate) */
    LLVMOrcLLJITRef jit;             /* created on the first jit_lookup */
    bool mod_in_jit;                 /* a clone of mod (or its object code) was added to the JIT */
    bool jit_has_code;               /* an object was added (jit_add_object): lookups need no mod */
    LLVMTargetMachineRef jit_tm;     /* jit_emit_object: jit_start's settings (static, large model) */
    /* Hashes of the kernel names the JIT holds (open addressing, 0 =
     * empty): a generate() that reuses one starts a new JIT, so a lookup
     * can never find an older module's kernel of the same name. */
    uint64_t *jit_names; size_t jit_names_cap, jit_names_n;
    bool jit_names_lost;             /* out of memory noting one: the next generate() starts a new JIT */
    char *asm_text, *ir_text;        /* cached text, for emit_text after JIT */
} CpuBackend;

/* Accessors for aot.c (the runtime engineer's): the module and the target
 * machine of a backend after generate() or cpu_build_module(). */
LLVMModuleRef        cpu_backend_module(Backend *b);
LLVMTargetMachineRef cpu_backend_tm(Backend *b);
/* Build and optimise the module for the plans without JIT-compiling it. */
int  cpu_build_module(Backend *b, Plan **plans, int nplans, LtcDiag *d);
/* Implemented in aot.c. */
int  cpu_emit_library(Backend *b, Plan **plans, int nplans, const char *path,
                      const void *weights, size_t weights_len, LtcDiag *d);

/* ---- IR building helpers (cg.c) ------------------------------------------- */
typedef struct Cg {
    CpuBackend *be;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMBuilderRef ab;               /* allocas, at the top of the entry block */
    LLVMValueRef fn;
    LLVMBasicBlockRef entry;
    LLVMTypeRef v, i1, i8, i32, i64, f32, f64, ptr;
    LLVMTypeRef vf, vi32, vmask;     /* <vw x float>, <vw x i32>, <vw x i1> */
    int vw;
    LLVMValueRef ptrs, dims, fargs, t0, t1;   /* kernel arguments */
    const char *bad_intrinsic;       /* a generator asked for an unknown intrinsic */
    const char *bad_expr;            /* an op whose ops.def expr did not build (cg_act) */
    const char *extra_features;      /* added to the target's for the functions begun now ("+avx512bf16") */
} Cg;

void cg_init(Cg *c, CpuBackend *be);
void cg_dispose(Cg *c);
/* Start a kernel with the plan ABI; the builder sits in its entry block. */
LLVMValueRef cg_kernel_begin(Cg *c, const char *name);
void cg_kernel_end(Cg *c);          /* ret void */
/* An internal helper function (fastcc not needed: it gets inlined). */
LLVMValueRef cg_func_begin(Cg *c, const char *name, LLVMTypeRef *params, int n);
void cg_set_fn_attrs(Cg *c, LLVMValueRef fn);

LLVMValueRef cg_buf(Cg *c, int i);       /* ptrs[i] */
LLVMValueRef cg_dim(Cg *c, int i);       /* dims[i], i64 */
LLVMValueRef cg_fa(Cg *c, int i);        /* f[i], float */

LLVMValueRef cg_i64c(Cg *c, int64_t k);
LLVMValueRef cg_i32c(Cg *c, int32_t k);
LLVMValueRef cg_f32c(Cg *c, double x);
LLVMValueRef cg_vf32c(Cg *c, double x);  /* splat constant */
LLVMValueRef cg_splat(Cg *c, LLVMValueRef s);
LLVMValueRef cg_iota(Cg *c);             /* <0,1,..,vw-1> as i32 */
LLVMValueRef cg_mask_lt(Cg *c, LLVMValueRef n64); /* lane < n */

LLVMValueRef cg_min64(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_max64(Cg *c, LLVMValueRef a, LLVMValueRef b);

/* element address: base + idx * sizeof(elt) */
LLVMValueRef cg_gep(Cg *c, LLVMTypeRef elt, LLVMValueRef base, LLVMValueRef idx);
LLVMValueRef cg_load(Cg *c, LLVMTypeRef t, LLVMValueRef p, unsigned align);
void         cg_store(Cg *c, LLVMValueRef v, LLVMValueRef p, unsigned align);
LLVMValueRef cg_vload(Cg *c, LLVMValueRef p);                      /* unaligned */
void         cg_vstore(Cg *c, LLVMValueRef v, LLVMValueRef p);
LLVMValueRef cg_mload(Cg *c, LLVMValueRef p, LLVMValueRef mask, LLVMValueRef passthru);
void         cg_mstore(Cg *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
LLVMValueRef cg_mgather(Cg *c, LLVMValueRef ptrs, LLVMValueRef mask);    /* <vw x ptr> */
void         cg_mscatter(Cg *c, LLVMValueRef v, LLVMValueRef ptrs, LLVMValueRef mask);

/* Float data in its stored dtype (f32, bf16 as 16 bits, f16 as half),
 * computed in f32: loads widen, stores round to nearest even. */
LLVMTypeRef  cg_elt(Cg *c, DType t);                               /* the element's storage type */
LLVMValueRef cg_gepd(Cg *c, DType t, LLVMValueRef base, LLVMValueRef idx);
LLVMValueRef cg_widen(Cg *c, DType t, LLVMValueRef v);            /* stored -> f32, scalar or vector */
LLVMValueRef cg_narrow(Cg *c, DType t, LLVMValueRef v);           /* f32 -> stored (RNE) */
/* a vector of vw elements at p as <vw x float>; mask NULL = every lane */
LLVMValueRef cg_ldv(Cg *c, DType t, LLVMValueRef p, LLVMValueRef mask, LLVMValueRef passthru);
void         cg_stv(Cg *c, DType t, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
LLVMValueRef cg_lds(Cg *c, DType t, LLVMValueRef p);             /* one element as float */
void         cg_sts(Cg *c, DType t, LLVMValueRef v, LLVMValueRef p);

/* AVX512-BF16 (16 lanes): acc[i] += a[2i] b[2i] + a[2i+1] b[2i+1] in f32
 * (vdpbf16ps); operands are <32 x bfloat>, i.e. 16 pairs. */
LLVMValueRef cg_bf16_pair_splat(Cg *c, LLVMValueRef pair);  /* i32 (lo, hi bf16) in every pair */
LLVMValueRef cg_bf16_pairs(Cg *c, LLVMValueRef v);          /* <16 x i32> or <32 x i16> as pairs */
LLVMValueRef cg_dpbf16(Cg *c, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b);
/* i1: this CPU has AVX512-BF16 (CPUID.(7,1):EAX bit 5) and LTC_CPU_NO_BF16DOT
 * is not set; asked once per module (a cached global), for kernels that
 * carry both variants (KPAIRS_AT_RUN). */
LLVMValueRef cg_cpu_has_bf16dot(Cg *c);

/* Stack memory in the entry block (promoted to registers by SROA/mem2reg). */
LLVMValueRef cg_var(Cg *c, LLVMTypeRef t, LLVMValueRef init);
LLVMValueRef cg_array(Cg *c, LLVMTypeRef elt, int64_t n, unsigned align);
LLVMValueRef cg_get(Cg *c, LLVMTypeRef t, LLVMValueRef var);
void         cg_set(Cg *c, LLVMValueRef var, LLVMValueRef v);

/* Counted loop: for (iv = start; iv < end; iv += step) -- i64, signed. */
typedef struct CgLoop {
    LLVMBasicBlockRef head, latch, exit;
    LLVMValueRef iv, step;
} CgLoop;
LLVMValueRef cg_for(Cg *c, CgLoop *l, LLVMValueRef start, LLVMValueRef end, LLVMValueRef step);
void         cg_endfor(Cg *c, CgLoop *l);

/* if (cond) { ... } [else { ... }] */
typedef struct CgIf { LLVMBasicBlockRef then, els, join; bool has_else; } CgIf;
void cg_if(Cg *c, CgIf *f, LLVMValueRef cond, bool with_else);
void cg_else(Cg *c, CgIf *f);
void cg_endif(Cg *c, CgIf *f);

/* Intrinsic call: name such as "llvm.fmuladd", overloaded on types[]. */
LLVMValueRef cg_intr(Cg *c, const char *name, LLVMTypeRef *types, int ntypes,
                     LLVMValueRef *args, int nargs);
LLVMValueRef cg_call_libm(Cg *c, const char *name, LLVMValueRef x);   /* float f(float) */
/* Apply a float->float libm function to each lane. */
LLVMValueRef cg_vlibm(Cg *c, const char *name, LLVMValueRef v);

/* Math on <vw x float> (also works on scalars where noted by the caller). */
LLVMValueRef cg_fma(Cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc);  /* a*b+acc */
LLVMValueRef cg_vmax(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* maxnum */
LLVMValueRef cg_vmin(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_vexp(Cg *c, LLVMValueRef x);       /* polynomial, ~2 ulp; exp(-inf) = 0 */
LLVMValueRef cg_verf(Cg *c, LLVMValueRef x);       /* |err| < 2e-7 */
LLVMValueRef cg_vsigmoid(Cg *c, LLVMValueRef x);
LLVMValueRef cg_vtanh(Cg *c, LLVMValueRef x);
LLVMValueRef cg_vgelu(Cg *c, LLVMValueRef x);      /* exact (erf) gelu */
/* Activation op (OP_RELU, OP_GELU, ...) on a vector; 0 = identity.  Built
 * from the op's expr (cpu_ew_build); one that does not build sets
 * c->bad_expr and returns x, and generate() fails. */
LLVMValueRef cg_act(Cg *c, int op, LLVMValueRef x);
bool         cg_act_supported(int op);

/* ---- element-wise expressions (ew_llvm.c) ------------------------------ */
/* op_info[op].expr built on x (input 0), y (input 1: a float vector, or an
 * i8 vector when y_is_bool, the masked_fill mask), s0, s1 (the scalar
 * attributes, splat like x).  Operands the expression does not read may
 * be NULL.  Returns the fp32 result, or NULL when the op has no
 * expression or it does not fit the operands (a generator bug, reported
 * by the caller). */
LLVMValueRef cpu_ew_build(Cg *c, int op, LLVMValueRef x, LLVMValueRef y, bool y_is_bool,
                          LLVMValueRef s0, LLVMValueRef s1);
/* philox_u32_at(seed, call, idx) on <vw x i64> indices; seed halves and
 * call are i64 scalars (dims) */
LLVMValueRef cg_philox(Cg *c, LLVMValueRef seed_lo, LLVMValueRef seed_hi, LLVMValueRef call, LLVMValueRef idx);
LLVMValueRef cg_hsum(Cg *c, LLVMValueRef v);       /* tree reduction */
LLVMValueRef cg_hmax(Cg *c, LLVMValueRef v);

/* ---- families: one generator each, from the kernel's spec alone ---------- */
typedef int CpuGenFn(Cg *c, const KernelSpec *k, LtcDiag *d);
CpuGenFn cpu_gen_gemm, cpu_gen_gemm_pack, cpu_gen_attn, cpu_gen_norm, cpu_gen_softmax, cpu_gen_eltwise,
         cpu_gen_reduce, cpu_gen_cat, cpu_gen_copy, cpu_gen_misc, cpu_gen_dropout;

/* What the CPU generators handle (backend.c: Backend.supports and tune). */
bool cpu_supports(Backend *b, const KernelSpec *s, const char **why);
void cpu_tune(Backend *b, KernelSpec *s);

/* Attention blocking (cpu_tune; k_attn.c reads it from the spec). */
#define ATT_BR 64   /* query rows per block */
#define ATT_RG 4    /* rows sharing each K/V vector load (divides ATT_BR) */
#define ATT_BCV 2   /* vectors of keys per key block: Bc = ATT_BCV vw */
#define ATT_DVC 4   /* vectors of O per row that PV updates together */

/* GEMM blocking of one kernel: its spec's gemm part and tuning. */
typedef struct GemmCfg {
    int  kind;          /* 0 linear (B = W^T), 1 matmul (B = [..,K,N]) */
    bool packed;        /* W is a PARAM: prepacked panels (BUF_PACKED) */
    bool has_bias, has_res, res_mul;   /* res_mul: C = act(..) * residual */
    bool qkv;           /* qkv_linear: output written head-split [P, L.., H, S, Dh] */
    bool scatter;       /* qkv with Dh % vw != 0: per-lane C addresses */
    int  act;
    int  mr, nr, vw;
    int  nb;            /* columns per tile (multiple of nr) */
    int  mc, kc;        /* row block (multiple of mr) and depth block */
    DType dt;           /* of A, B, bias, residual and C (cpu_supports: one dtype) */
    /* C is not f32: partial sums between k blocks go to an f32 block on
     * the stack (mc x nb), not through C (a bf16 C would round them) */
    bool scratch;
    /* bf16 with vdpbf16ps: B panels are [k/2][nr][2] bf16 (a k pair per
     * 32-bit word, zero past K), A pairs broadcast as 32-bit words */
    bool kpairs;
} GemmCfg;

#endif
