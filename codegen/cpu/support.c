/* support.c: what the CPU generators handle (Backend.supports) and how
 * they are blocked for this CPU (Backend.tune), from a KernelSpec alone.
 *
 * The structural limits of a family (a broadcast pattern with too many
 * dims, a symbolic head dim) are the target-neutral lowering's
 * (codegen/lower_*.c); what is left here is what these generators are
 * written for: f32 arithmetic on f32, bf16 or f16 data (widened at the
 * loads, rounded at the stores; bool and i64 where noted), the activations
 * cg_act builds, attention head dims that fit the stack blocks. */
#include <string.h>

#include "codegen/cpu/cpu.h"

static CpuBackend *self(Backend *b) { return (CpuBackend *)b->self; }

static bool is_float(DType t) { return t == DT_F32 || t == DT_BF16 || t == DT_F16; }

/* every operand and the result in one float dtype */
static bool one_float(const KernelSpec *s) {
    if (!is_float(s->dtype)) return false;
    for (int i = 0; i < s->nin; i++)
        if (s->in_dtypes[i] != s->dtype) return false;
    return true;
}

static bool plain_dtype(DType t) { return is_float(t) || t == DT_I64 || t == DT_BOOL; }

static bool is(const KernelSpec *s, const char *family) { return s->family && strcmp(s->family, family) == 0; }

bool cpu_supports(Backend *b, const KernelSpec *s, const char **why) {
    (void)b;
    *why = NULL;
    if (is(s, "gemm") || is(s, "gemm_pack")) {
        if (!one_float(s)) *why = "gemm on mixed or non-float dtypes";
        else if (s->act && !cg_act_supported(s->act)) *why = "activation of a fused_linear";
    } else if (is(s, "flash_attention")) {
        if (!is_float(s->dtype) || !is_float(s->in_dtypes[0]) || !is_float(s->in_dtypes[1]) ||
            !is_float(s->in_dtypes[2]))
            *why = "attention on a non-float dtype";
        else if (s->mask && !is_float(s->in_dtypes[3]) && s->in_dtypes[3] != DT_BOOL)
            *why = "attention mask dtype";
        else if (s->head_dim > 512 || s->value_dim > 512)   /* O, KT blocks live on the stack */
            *why = "attention head dims (symbolic, or above 512)";
    } else if (is(s, "norm") || is(s, "softmax")) {
        if (!one_float(s)) *why = "norm on mixed or non-float dtypes";
    } else if (is(s, "eltwise")) {
        if (!is_float(s->dtype) || !is_float(s->in_dtypes[0]) ||
            (s->nin > 1 && !is_float(s->in_dtypes[1]) && !s->ew.bool_mask))
            *why = "non-float dtype";
    } else if (is(s, "reduce")) {
        if (!is_float(s->in_dtypes[0])) *why = "reduction of a non-float tensor";
    } else if (is(s, "dropout")) {
        if (!is_float(s->in_dtypes[0]) || !is_float(s->dtype)) *why = "dropout of a non-float tensor";
    } else if (is(s, "misc")) {
        if ((s->opcode == OP_FULL || s->opcode == OP_ARANGE) && !plain_dtype(s->dtype))
            *why = "source of this dtype";
        else if (s->opcode == OP_CAST && (!plain_dtype(s->dtype) || !plain_dtype(s->in_dtypes[0])))
            *why = "cast between these dtypes";
    } else if (!is(s, "copy") && !is(s, "cat")) {
        *why = "no CPU generator for this kernel family";
    }
    if (!*why && (is(s, "copy") || is(s, "cat") || is(s, "misc")) && !plain_dtype(s->dtype))
        *why = "data of this dtype";
    return *why == NULL;
}

/* bf16 dot products: always on a target with AVX512-BF16; on another
 * AVX-512 target both variants, picked by the CPU at run time (backend.c),
 * so a model.so for x86-64-v4 still takes them where the CPU has them */
static int kpairs_of(const CpuTarget *t) {
    if (!t->avx512 || t->vw != 16) return 0;
    return t->bf16dot ? 1 : KPAIRS_AT_RUN;
}

void cpu_tune(Backend *b, KernelSpec *s) {
    const CpuTarget *t = &self(b)->t;
    KernelTune *k = &s->tune;
    memset(k, 0, sizeof *k);
    if (is(s, "gemm") || is(s, "gemm_pack")) {
        k->mr = t->mr; k->nr = t->nr; k->vw = t->vw;
        k->kc = 256;
        k->mc = t->mr * (t->avx512 ? 8 : 12);
        /* a vector of C columns may straddle two heads: per-lane offsets */
        k->scatter = s->gemm.qkv && s->gemm.head_dim % t->vw != 0;
        k->kpairs = s->dtype == DT_BF16 ? kpairs_of(t) : 0;
        /* Panels per tile: the most (up to 4: more reuse of each packed A
         * row block) that gives an even tile count or at least 8 tiles, so
         * the pool's two threads get balanced halves (N=256: 6 panels -> 2
         * tiles of 3, not 3 tiles of 2).  A symbolic N (matmul): 4. */
        int ppt = 4;
        if (s->gemm.N > 0) {
            int64_t np = (s->gemm.N + k->nr - 1) / k->nr;
            for (ppt = 4; ppt > 1; ppt--) {
                int64_t nt = (np + ppt - 1) / ppt;
                if (nt % 2 == 0 || nt >= 8) break;
            }
        }
        k->nb = ppt * k->nr;
    } else if (is(s, "flash_attention")) {
        k->vw = t->vw;
        k->att_br = ATT_BR;
        k->att_rg = ATT_RG;
        k->att_bc = ATT_BCV * t->vw;
        /* bf16 q, k, v with AVX512-BF16: QK^T and PV on vdpbf16ps (k_attn.c) */
        k->kpairs = s->in_dtypes[0] == DT_BF16 && s->in_dtypes[1] == DT_BF16 && s->in_dtypes[2] == DT_BF16 &&
                    s->head_dim > 0 && s->head_dim % 2 == 0 ? kpairs_of(t) : 0;
    }
}
