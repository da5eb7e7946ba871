/* kernel_spec.c: KernelSpec from a plan, and its text (kernel_spec.h). */
#include "codegen/kernel_spec.h"

#include <string.h>

#include "codegen/lower_kernel.h"

/* What each family's contract constants mean (plan/kernel_footprint.c). */
static const struct { const char *family; const char *names[PLAN_MAX_KCONSTS]; } const_names[] = {
    {"gemm", {"variant", "nr", "packed", "elem"}},
    {"gemm_pack", {"nr", "elem"}},
    {"flash_attention", {"D", "Dv", "group", "mask_elem", "elem"}},
    {"norm", {"elem"}},
    {"softmax", {"elem"}},
    {"eltwise", {"ninputs", "in0_full_row", "in1_full_row", "in1_elem", "elem"}},
    {"dropout", {"elem"}},
    {"reduce", {"elem", "in_elem"}},
    {"copy", {"elem"}},
    {"cat", {"elem"}},
    {"misc", {"variant", "out_elem", "in_elem"}},
};

static const char *const_name(const char *family, int i) {
    for (size_t f = 0; f < sizeof const_names / sizeof *const_names; f++)
        if (family && strcmp(const_names[f].family, family) == 0 && i < PLAN_MAX_KCONSTS && const_names[f].names[i])
            return const_names[f].names[i];
    return NULL;
}

bool kernel_spec_node(const Node *n, const char *family, KernelSpec *s, const char **why) {
    memset(s, 0, sizeof *s);
    s->family = family;
    s->op = op_info[n->op].name;
    s->opcode = n->op;
    s->loc = n->loc;
    s->dtype = n->dtype;
    s->nin = n->nin < PLAN_MAX_ARGS ? n->nin : PLAN_MAX_ARGS;
    for (int i = 0; i < s->nin; i++) s->in_dtypes[i] = n->in[i]->dtype;
    s->f0 = n->a.f;
    s->f1 = n->a.f2;
    switch (n->op) {
    case OP_LINEAR: s->bias = n->nin == 3; break;
    case OP_QKV_LINEAR: s->bias = n->nin == 3; break;
    case OP_FUSED_LINEAR:
        s->act = n->a.act;
        s->bias = (n->a.flags & LINEAR_BIAS) != 0;
        s->residual = (n->a.flags & LINEAR_RES) != 0;
        s->res_mul = s->residual && (n->a.flags & LINEAR_RES_MUL) != 0;
        break;
    case OP_SDPA:
        s->causal = n->a.causal;
        s->scale = n->a.scale;
        s->p = n->a.p;
        s->training = n->a.training;
        s->mask = n->nin > 3 ? (n->in[3]->dtype == DT_BOOL ? 1 : 2) : 0;
        s->group = lower_attn_group(n);
        if (n->in[0]->shape.rank > 0) s->head_dim = n->in[0]->shape.d[n->in[0]->shape.rank - 1].k;
        if (n->in[2]->shape.rank > 0) s->value_dim = n->in[2]->shape.d[n->in[2]->shape.rank - 1].k;
        break;
    case OP_LAYER_NORM: case OP_RMS_NORM:
        s->norm = n->op;
        s->eps = n->a.eps;
        s->weight = n->op == OP_RMS_NORM ? n->nin > 1 : (n->a.flags & NORM_W) != 0;
        s->bias = n->op == OP_LAYER_NORM && (n->a.flags & NORM_B);
        break;
    case OP_ADD_NORM:
        s->norm = (int)n->a.i;
        s->eps = n->a.eps;
        s->weight = (n->a.flags & NORM_W) != 0;
        s->bias = s->norm != OP_RMS_NORM && (n->a.flags & NORM_B);
        s->stores_sum = (n->a.flags & ADDNORM_HAS_SUM) != 0;
        s->residual = true;
        break;
    case OP_DROPOUT:
        s->p = n->a.p;
        s->training = n->a.training;
        break;
    case OP_ARANGE: s->lo = n->a.lo; s->hi = n->a.hi; break;
    case OP_TRIU: case OP_TRIL: s->diag = n->a.i; break;
    case OP_CAT: s->cat_group = lower_cat_group(n); break;
    default:
        break;
    }
    *why = NULL;
    if (!family) return true;
    if (strcmp(family, "gemm") == 0 || strcmp(family, "gemm_pack") == 0) return ks_gemm(n, s, why);
    if (strcmp(family, "flash_attention") == 0) return ks_attn(n, s, why);
    if (strcmp(family, "eltwise") == 0) return ks_eltwise(n, s, why);
    if (strcmp(family, "copy") == 0) return ks_copy(n, s, why);
    return true;
}

void kernel_spec(const Plan *p, int k, Backend *b, KernelSpec *s) {
    const PlanKernel *pk = &p->kernels[k];
    const char *why;
    if (pk->node) {
        kernel_spec_node(pk->node, pk->family, s, &why);
    } else {                                /* a plan read back from a blob */
        memset(s, 0, sizeof *s);
        s->family = pk->family;
    }
    s->index = k;
    s->name = pk->name;
    s->family = pk->family;
    s->nconsts = pk->nconsts;
    memcpy(s->consts, pk->consts, sizeof s->consts);
    /* what the lowering decided, recorded in the contract constants */
    if (s->family && strcmp(s->family, "gemm") == 0) s->gemm.packed = pk->nconsts > 2 && pk->consts[2];
    if (s->family && strcmp(s->family, "gemm_pack") == 0) s->gemm.packed = true;
    for (int l = 0; l < 2; l++) {
        const PlanStep *steps = l == 0 ? p->prepack : p->steps;
        int n = l == 0 ? p->nprepack : p->nsteps;
        for (int i = 0; i < n; i++) {
            if (steps[i].kernel != k) continue;
            if (s->nsteps == KS_MAX_STEPS) { s->more_steps++; continue; }
            s->prepack[s->nsteps] = l == 0;
            s->steps[s->nsteps++] = &steps[i];
        }
    }
    if (b && b->tune && pk->node) b->tune(b, s);
}

static void put_flag(StrBuf *o, bool *first, const char *what) {
    sb_printf(o, "%s%s", *first ? "" : ", ", what);
    *first = false;
}

/* The family's loop nest in target-neutral terms (KernelSpec's structs). */
static void loop_nest_print(const KernelSpec *s, StrBuf *o) {
    if (!s->family || !s->op) return;
    if (strcmp(s->family, "eltwise") == 0) {
        sb_printf(o, "  loop nest: rows x cols, %d leading dim%s; input 0 %s", s->ew.nlead,
                  s->ew.nlead == 1 ? "" : "s", s->ew.vec[0] ? "contiguous" : "one per row");
        if (s->ew.ninputs > 1)
            sb_printf(o, ", input 1 %s%s", s->ew.vec[1] ? "contiguous" : "one per row",
                      s->ew.bool_mask ? " (bool mask)" : "");
        sb_putc(o, '\n');
    } else if (strcmp(s->family, "copy") == 0) {
        sb_printf(o, "  loop nest: rows x cols, %d leading dim%s, strided source\n", s->copy.nlead,
                  s->copy.nlead == 1 ? "" : "s");
    } else if (strcmp(s->family, "gemm") == 0 || strcmp(s->family, "gemm_pack") == 0) {
        if (s->gemm.kind == 0)
            sb_printf(o, "  loop nest: C[M,%lld] = A[M,%lld] W^T%s%s\n", (long long)s->gemm.N, (long long)s->gemm.K,
                      s->gemm.packed ? ", W packed at bind time" : ", W packed per call",
                      s->gemm.qkv ? ", C head-split" : "");
        else
            sb_puts(o, "  loop nest: batched C[M,N] = A[M,K] B[K,N], two batch dims\n");
    } else if (strcmp(s->family, "cat") == 0) {
        sb_printf(o, "  loop nest: rows, %d inputs per launch\n", s->cat_group);
    }
}

/* What the backend chose (Backend.tune), when it chose anything. */
static void tune_print(const KernelSpec *s, StrBuf *o) {
    const KernelTune *t = &s->tune;
    if (t->nr) {
        sb_printf(o, "  tuned: micro-tile %dx%d, %d columns per tile, blocks mc=%d kc=%d%s%s\n", t->mr, t->nr, t->nb,
                  t->mc, t->kc, t->scatter ? ", scattered C columns" : "",
                  t->kpairs == KPAIRS_AT_RUN ? ", bf16 k-pair panels (dot products) where the CPU has AVX512-BF16, "
                                               "else f32 FMAs (chosen at run time)"
                  : t->kpairs ? ", bf16 k-pair panels (dot products)" : "");
        if (t->mt) sb_printf(o, "  tuned: %d rows per tile (about %d groups when M is symbolic)\n", t->mt, t->mgroups);
    } else if (t->att_br)
        sb_printf(o, "  tuned: %d query rows x %d keys per block, %d rows per group%s\n", t->att_br, t->att_bc,
                  t->att_rg, t->kpairs == KPAIRS_AT_RUN ? ", bf16 dot products (QK^T, PV) where the CPU has "
                                                          "AVX512-BF16, else f32 FMAs (chosen at run time)"
                             : t->kpairs ? ", bf16 dot products (QK^T, PV)" : "");
    if (t->threads) sb_printf(o, "  group: %d work-items\n", t->threads);   /* GPU targets */
}

void kernel_spec_print(const Plan *p, const KernelSpec *s, StrBuf *o) {
    sb_printf(o, "kernel %d %s: %s", s->index, s->name, s->family ? s->family : "?");
    if (s->op) {
        sb_printf(o, " (%s) %s <-", s->op, dtype_name(s->dtype));
        for (int i = 0; i < s->nin; i++) sb_printf(o, " %s", dtype_name(s->in_dtypes[i]));
    }
    sb_putc(o, '\n');
    bool first = true;
    StrBuf f = {0};
    if (s->act) { sb_printf(&f, "act %s", op_info[s->act].name); first = false; }
    if (s->bias) put_flag(&f, &first, "bias");
    if (s->residual) put_flag(&f, &first, s->res_mul ? "residual multiply" : "residual");
    if (s->stores_sum) put_flag(&f, &first, "stores the sum");
    if (s->causal) put_flag(&f, &first, "causal");
    if (s->mask) put_flag(&f, &first, s->mask == 1 ? "bool mask" : "additive mask");
    if (s->head_dim) {
        sb_printf(&f, "%shead dim %lld", first ? "" : ", ", (long long)s->head_dim);
        first = false;
        if (s->value_dim != s->head_dim) sb_printf(&f, ", value dim %lld", (long long)s->value_dim);
        if (s->group > 1) sb_printf(&f, ", %lld query heads per kv head", (long long)s->group);
        if (s->scale) sb_printf(&f, ", scale %g", s->scale);
        else sb_puts(&f, ", scale 1/sqrt(D)");
    }
    if (s->norm) {
        sb_printf(&f, "%s%s eps %g", first ? "" : ", ", op_info[s->norm].name, s->eps);
        first = false;
    }
    if (s->training && s->p > 0) {
        sb_printf(&f, "%sdropout p %g", first ? "" : ", ", s->p);
        first = false;
    }
    if (f.len) sb_printf(o, "  specialised: %s\n", f.s);
    sb_free(&f);
    loop_nest_print(s, o);
    tune_print(s, o);
    if (s->nconsts) {
        sb_puts(o, "  constants:");
        for (int i = 0; i < s->nconsts; i++) {
            const char *nm = const_name(s->family, i);
            if (nm) sb_printf(o, " %s=%lld", nm, (long long)s->consts[i]);
            else sb_printf(o, " c%d=%lld", i, (long long)s->consts[i]);
        }
        sb_putc(o, '\n');
    }
    for (int i = 0; i < s->nsteps; i++) {
        const PlanStep *st = s->steps[i];
        sb_printf(o, "  launch (%s): tiles ", s->prepack[i] ? "once, at bind time" : "per call");
        poly_str(p->graph, &st->ntiles, o);
        sb_puts(o, "\n    buffers:");
        for (int b = 0; b < st->nbufs; b++) {
            const PlanBuf *pb = &p->bufs[st->bufs[b]];
            sb_printf(o, " b%d=%s", st->bufs[b], plan_buf_kind_name(pb->kind));
            if (pb->kind != BUF_ARENA) sb_printf(o, "#%d", pb->index);
            sb_putc(o, '(');
            poly_str(p->graph, &pb->bytes, o);
            sb_puts(o, " B)");
        }
        sb_puts(o, "\n    dims: [");
        for (int d = 0; d < st->ndims; d++) {
            if (d) sb_puts(o, ", ");
            poly_str(p->graph, &st->dims[d], o);
        }
        sb_puts(o, "]\n");
    }
    if (s->more_steps) sb_printf(o, "  and %d more launches\n", s->more_steps);
}

void kernels_print(Plan *const *plans, int nplans, Backend *b, StrBuf *o) {
    for (int i = 0; i < nplans; i++) {
        const Plan *p = plans[i];
        sb_printf(o, "kernels of entry '%s': %d kernels, %d launches at bind time, %d per call\n",
                  p->graph && p->graph->name ? p->graph->name : "?", p->nkernels, p->nprepack, p->nsteps);
        for (int k = 0; k < p->nkernels; k++) {
            KernelSpec s;
            kernel_spec(p, k, b, &s);
            kernel_spec_print(p, &s, o);
        }
    }
}
