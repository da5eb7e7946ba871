/* render.c: a kernel's family -> its renderer, what the renderers handle
 * (shared by every GPU backend's supports), their tuning, and the code
 * image writer. */
#include <stdlib.h>
#include <string.h>

#include "codegen/csrc/csrc.h"
#include "codegen/gpu_library.h"
#include "plan/code_image.h"

typedef int RenderFn(Cs *c, LtcDiag *d);

/* bf16/f16 GEMMs on tensor cores (r_gemm_mma.c), the rest in fp32 */
static bool mma_dtypes(const KernelSpec *s);
/* the tensor-core renderer where the dialect has one and the dtypes fit
 * (as csrc_tune_in chose), else the fp32-accumulating one: on simdgroup
 * matrices where the dialect has them (same tune), else SIMT */
static int gemm_any(Cs *c, LtcDiag *d) {
    if (c->dl->has_mma && mma_dtypes(c->s)) return cs_gemm_mma(c, d);
    return c->dl->has_simdgroup_matrix ? cs_gemm_simd(c, d) : cs_gemm(c, d);
}

/* as csrc_tune_in chose: the tensor-core attention where the dialect has
 * it and the dtypes and head dims fit, else the tiled SIMT one (att_br >
 * 1), else one query row per group (att_br = 1: head dims above 256) */
static int attn_any(Cs *c, LtcDiag *d) {
    const KernelSpec *s = c->s;
    if (c->dl->has_mma && cs_attn_is_mma(s) && (s->tune.att_br == CS_ATTM_BR || s->tune.att_br == CS_ATTM_BRW) &&
        s->tune.att_bc == CS_ATTM_BC)
        return cs_attn_mma(c, d);
    return s->tune.att_br > 1 ? cs_attn_tiled(c, d) : cs_attn(c, d);
}

/* family, renderer, work-items per group */
static const struct { const char *family; RenderFn *fn; int threads; } families[] = {
    {"gemm", gemm_any, CS_GEMM_T},
    {"gemm_pack", cs_gemm_pack, 128},
    {"flash_attention", attn_any, CS_ATT_T},
    {"norm", cs_norm, 256},
    {"softmax", cs_softmax, 256},
    {"eltwise", cs_eltwise, 128},
    {"reduce", cs_reduce, 128},
    {"copy", cs_copy, 128},
    {"cat", cs_cat, 128},
    {"misc", cs_misc, 128},
    {"dropout", cs_dropout, 256},
};
enum { NFAM = sizeof families / sizeof families[0] };

static int family_index(const char *f) {
    for (int i = 0; f && i < NFAM; i++)
        if (strcmp(families[i].family, f) == 0) return i;
    return -1;
}

int csrc_render(const CDialect *dl, const KernelSpec *s, StrBuf *out, CsInfo *info, LtcDiag *d) {
    int f = family_index(s->family);
    if (f < 0) return diag_set(d, s->loc, "%s backend: no renderer for kernel family %s", dl->name, s->family ? s->family : "?");
    if (s->tune.threads != families[f].threads)
        return diag_set(d, s->loc, "%s backend: %s was tuned for %d work-items, its renderer uses %d (a tune bug)",
                        dl->name, s->name, s->tune.threads, families[f].threads);
    Cs c = {.dl = dl, .s = s, .o = out, .threads = s->tune.threads};
    int rc = families[f].fn(&c, d);
    bool oom = false;
    for (int i = 0; i < CS_NTMP; i++) {
        oom = oom || c.tmp[i].oom;
        sb_free(&c.tmp[i]);
    }
    if (rc != 0) return -1;
    if (oom) return diag_set(d, s->loc, "%s backend: out of memory rendering %s", dl->name, s->name);
    if (out->oom) return diag_set(d, s->loc, "%s backend: out of memory rendering %s", dl->name, s->name);
    if (info) {
        info->threads = c.threads;
        info->shared_bytes = c.shared_bytes;
        info->reads_call = c.reads_call;
    }
    return 0;
}

/* f32, bf16 or f16: a float the renderers load and store (cs_ld, cs_st) */
static bool fdt(DType t) { return t == DT_F32 || t == DT_BF16 || t == DT_F16; }

/* the value and every operand in one float dtype (the renderers compute in
 * float whatever it is; mixed dtypes keep the interpreter's promotions) */
static bool one_float(const KernelSpec *s) {
    if (!fdt(s->dtype)) return false;
    for (int i = 0; i < s->nin; i++)
        if (s->in_dtypes[i] != s->dtype) return false;
    return true;
}

static bool is(const KernelSpec *s, const char *f) { return s->family && strcmp(s->family, f) == 0; }

/* A bf16 or f16 GEMM for r_gemm_mma.c: A, B, bias, residual and C of one
 * 16-bit dtype. */
static bool mma_dtypes(const KernelSpec *s) {
    if (!is(s, "gemm") || !cs_gemm_is_mma(s) || s->dtype != s->in_dtypes[0]) return false;
    for (int i = 2; i < s->nin; i++)
        if (s->in_dtypes[i] != s->dtype) return false;
    return true;
}

bool csrc_supports(const KernelSpec *s, const char **why) { return csrc_supports_in(NULL, s, why); }

bool csrc_supports_in(const CDialect *dl, const KernelSpec *s, const char **why) {
    *why = NULL;
    bool moves = cs_uint((int)dtype_size(s->dtype)) != NULL;
    if (dl && dl->has_mma && mma_dtypes(s)) {   /* tensor cores (r_gemm_mma.c) */
        if (s->act && !cs_eltwise_op(s->act)) *why = "activation of a fused_linear without an element-wise expression";
    } else if (is(s, "gemm") || is(s, "gemm_pack")) {
        if (!one_float(s)) *why = "gemm on mixed or non-float dtypes";
        else if (s->act && !cs_eltwise_op(s->act))   /* the epilogue writes the op's expr */
            *why = "activation of a fused_linear without an element-wise expression";
    } else if (is(s, "flash_attention")) {
        if (!fdt(s->dtype) || s->in_dtypes[0] != s->dtype || s->in_dtypes[1] != s->dtype || s->in_dtypes[2] != s->dtype)
            *why = "attention on mixed or non-float dtypes";
        else if (s->mask && s->in_dtypes[3] != s->dtype && s->in_dtypes[3] != DT_BOOL)
            *why = "attention mask dtype";
        else if (s->head_dim > CS_ATT_MAXD || s->value_dim > CS_ATT_MAXD)   /* q row and O in shared/registers */
            *why = "attention head dims above 512";
    } else if (is(s, "norm") || is(s, "softmax")) {
        if (!one_float(s)) *why = "norm on mixed or non-float dtypes";
    } else if (is(s, "eltwise")) {
        if (!fdt(s->dtype) || s->in_dtypes[0] != s->dtype ||
            (s->nin > 1 && s->in_dtypes[1] != s->dtype && !s->ew.bool_mask))
            *why = "mixed or non-float dtypes";
        else if (!cs_eltwise_op(s->opcode))
            *why = "no expression for this element-wise op";
    } else if (is(s, "reduce")) {
        if (!fdt(s->in_dtypes[0]) || (s->opcode != OP_ARGMAX && !fdt(s->dtype)))
            *why = "reduction of a non-float tensor";
    } else if (is(s, "dropout")) {
        if (!one_float(s)) *why = "dropout of a non-float tensor";
    } else if (is(s, "copy") || is(s, "cat")) {
        if (!moves) *why = "elements of this size";
    } else if (is(s, "misc")) {
        bool v = cs_vtype(s->dtype) || cs_half(s->dtype);
        if ((s->opcode == OP_FULL || s->opcode == OP_ARANGE) && !v)
            *why = "source of this dtype";
        else if (s->opcode == OP_CAST && (!v || !(cs_vtype(s->in_dtypes[0]) || cs_half(s->in_dtypes[0]))))
            *why = "cast between these dtypes";
        else if (!moves)
            *why = "elements of this size";
    } else {
        *why = "no GPU renderer for this kernel family";
    }
    return *why == NULL;
}

void csrc_tune(KernelSpec *s) { csrc_tune_in(NULL, s); }

void csrc_tune_in(const CDialect *dl, KernelSpec *s) {
    KernelTune *t = &s->tune;
    memset(t, 0, sizeof *t);
    int f = family_index(s->family);
    if (f < 0) return;
    t->threads = families[f].threads;
    if (dl && dl->has_mma && mma_dtypes(s)) {
        /* 128 x 128 tiles of 8 warps (r_gemm_mma.c); W is read as given:
         * no gemm_pack panels for 16-bit weights (the backend's choice,
         * before the lowering makes the prepack step) */
        t->mr = 16;
        t->nr = t->nb = CS_MMA_NB;
        t->mt = t->mc = CS_MMA_MB;
        t->kc = CS_MMA_KB;
        t->mgroups = CS_GEMM_GROUPS;
        s->gemm.packed = false;
    } else if (is(s, "gemm") || is(s, "gemm_pack")) {
        /* a tile = one gemm_pack panel = NB columns (lower_gemm: nb % nr == 0).
         * Also the blocking of r_gemm_simd.c (Metal's simdgroup matrices),
         * which stages B as r_gemm.c (cs_gemm_stage_b), packed panels
         * included: unlike the tensor cores' 16-bit operands, packing stays
         * on, since a panel is B's k-major staging layout already (rows of
         * 64 floats, one coalesced read per k) */
        t->mr = 4;
        t->nr = t->nb = CS_GEMM_NB;
        t->mc = CS_GEMM_BM;
        t->kc = CS_GEMM_BK;
        /* (row block, column block) tiles: a [4096 x 4096] linear is 64 x 64
         * groups, not 64; ~1024 groups (a few per SM) when M is symbolic */
        t->mt = CS_GEMM_BM;
        t->mgroups = CS_GEMM_GROUPS;
    } else if (is(s, "flash_attention") && dl && dl->has_mma && cs_attn_is_mma(s)) {
        /* r_attn_mma.c: 4 warps of 16 or 32 rows, 64 keys per block.  The
         * experiment knob LTC_CUDA_ATTN_ROWS=64 keeps the 64-row blocking
         * (16 rows per warp) for side-by-side timing (bench/gpu.sh,
         * GPU_BENCH_ATTN_AB); it is not part of the cache keys, so use it
         * with --no-cache */
        const char *rows = getenv("LTC_CUDA_ATTN_ROWS");
        /* Measured on an H200 (docs/performance.md, 2026-12-03): the wide
         * tile is 7-11 % faster at D 128 and up to 10 % slower at D 64
         * (there the 64-row tile takes 124 registers against 180: more
         * groups per SM); with a mask, its
         * per-element mask reads pushed ptxas past 255 registers (210 bytes
         * of spills at D 128, sm_90a).  So: wide for unmasked D > 64. */
        bool wide = !s->mask && (s->head_dim > 64 || s->value_dim > 64);
        t->att_br = wide && !(rows && strcmp(rows, "64") == 0) ? CS_ATTM_BRW : CS_ATTM_BR;
        t->att_bc = CS_ATTM_BC;
        t->att_rg = 16;
    } else if (is(s, "flash_attention")) {
        /* every other case, f32 included, in every dialect: r_attn_tiled.c
         * (its blocking by head dim; the semantics of r_attn.c in all of
         * them: masks, causal, GQA, D != Dv, ragged sizes, dropout), but
         * for head dims above 256, which stay on one query row per group
         * (r_attn.c): no useful tile fits 32 KiB there (r_attn_tiled.c) */
        if (!cs_attn_tiled_tune(s, t)) {
            t->att_br = 1;
            t->att_bc = CS_ATT_T;
            t->att_rg = 1;
        }
    }
}

/* The one writer of the format is plan/code_image.c (the runtime reads
 * with the same file). */
int csrc_image_add(CsImage *img, uint32_t kind, uint32_t arch, const void *data, uint64_t len) {
    uint64_t n = img->len;
    if (code_image_append(&img->p, &n, kind, arch, data, len) != 0) return -1;
    img->len = (size_t)n;
    img->cap = (size_t)n;
    return 0;
}

void csrc_image_free(CsImage *img) {
    free(img->p);
    memset(img, 0, sizeof *img);
}

int csrc_emit_library(Backend *b, CsImageFn *image, Plan **plans, int nplans, const char *path,
                      const void *weights, size_t weights_len, LtcDiag *d) {
    CsImage img = {0};
    const LtcGpuKernel *ks;
    int nk;
    int rc = image(b, &img, &ks, &nk, d);
    if (rc == 0)
        rc = gpu_emit_library(path, plans, nplans, b->device, b->target, img.p, img.len, ks, nk, weights,
                              weights_len, d);
    csrc_image_free(&img);
    return rc;
}
