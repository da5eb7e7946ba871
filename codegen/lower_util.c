/* lower_util.c: helpers the family lowerings (lower_*.c) share: growing the Plan's
 * arrays (kernels, packed buffers, prepack steps) and filling step dims.
 *
 * Plan arrays carry no capacity, so each append copies the array into a
 * new arena block; plans hold tens of kernels, so the quadratic copy is
 * negligible and no other code's growth scheme is assumed. */
#include <stdio.h>
#include <string.h>

#include <ctype.h>

#include "codegen/lower_kernel.h"

static Arena *plan_arena(Plan *p) { return p->graph ? p->graph->arena : NULL; }

int lower_add_kernel(Plan *p, Node *n, const char *family, LtcDiag *d) {
    Arena *a = plan_arena(p);
    if (!a) return diag_set(d, n->loc, "plan: no graph");
    PlanKernel *k = plan_grow(a, p->kernels, p->nkernels, &p->cap_kernels, sizeof *k);
    if (!k) return diag_set(d, n->loc, "out of memory");
    /* Symbol names must be unique in a module that holds several plans:
     * prefix with the entry name (made a C identifier). */
    char ent[64];
    const char *g = p->graph->name ? p->graph->name : "entry";
    size_t i = 0;
    for (; g[i] && i < sizeof ent - 1; i++)
        ent[i] = ((g[i] >= 'a' && g[i] <= 'z') || (g[i] >= 'A' && g[i] <= 'Z') ||
                  (g[i] >= '0' && g[i] <= '9')) ? g[i] : '_';
    ent[i] = 0;
    int idx = p->nkernels;
    k[idx].name = arena_printf(a, "ltc_%s_k%d_%s", ent, idx, family);
    k[idx].family = family;
    k[idx].node = n;
    if (!k[idx].name) return diag_set(d, n->loc, "out of memory");
    p->kernels = k;
    p->nkernels++;
    return idx;
}

void lower_kernel_consts(Plan *p, int kid, int n, const int64_t *v) {
    PlanKernel *k = &p->kernels[kid];
    k->nconsts = n < PLAN_MAX_KCONSTS ? n : PLAN_MAX_KCONSTS;
    for (int i = 0; i < k->nconsts; i++) k->consts[i] = v[i];
}

int lower_add_packed(Plan *p, int64_t bytes, const char *what, LtcDiag *d) {
    Arena *a = plan_arena(p);
    if (!a) return diag_set(d, (SrcLoc){0}, "plan: no graph");
    PlanBuf *pk = plan_grow(a, p->packed, p->npacked, &p->cap_packed, sizeof *pk);
    PlanBuf *bf = plan_grow(a, p->bufs, p->nbufs, &p->cap_bufs, sizeof *bf);
    if (!pk || !bf) return diag_set(d, (SrcLoc){0}, "out of memory");
    PlanBuf nb = {.kind = BUF_PACKED, .index = p->npacked, .bytes = poly_const(bytes), .what = what};
    pk[p->npacked] = nb;
    bf[p->nbufs] = nb;
    p->packed = pk; p->npacked++;
    p->bufs = bf;
    return p->nbufs++;
}

int lower_add_prepack(Plan *p, const PlanStep *s, LtcDiag *d) {
    Arena *a = plan_arena(p);
    if (!a) return diag_set(d, (SrcLoc){0}, "plan: no graph");
    PlanStep *st = plan_grow(a, p->prepack, p->nprepack, &p->cap_prepack, sizeof *st);
    if (!st) return diag_set(d, (SrcLoc){0}, "out of memory");
    st[p->nprepack] = *s;
    p->prepack = st;
    return p->nprepack++;
}

bool lower_dims_prod(const Shape *s, int from, int to, Dim *out) {
    Dim r = dim_const(1);
    for (int i = from; i < to; i++) {
        Dim x = s->d[i];
        if (x.k < 0 || (r.sym & x.sym)) return false;   /* a repeated symbol is no monomial */
        r.k *= x.k;
        r.sym |= x.sym;
    }
    *out = r;
    return true;
}

/* Past PLAN_MAX_DIMS the step is marked (ndims = PLAN_MAX_DIMS + 1) and
 * lower_node reports it: a dropped dim would be a wrong kernel. */
int lower_set_dim(PlanStep *s, Dim d) {
    if (s->ndims >= PLAN_MAX_DIMS) { s->ndims = PLAN_MAX_DIMS + 1; return -1; }
    s->dims[s->ndims] = poly_dim(d);
    return s->ndims++;
}
int lower_set_dimk(PlanStep *s, int64_t k) { return lower_set_dim(s, dim_const(k)); }

void lower_set_seed_dims(PlanStep *s, uint64_t seed) {
    int lo = lower_set_dimk(s, (int64_t)(seed & 0xffffffffu));
    lower_set_dimk(s, (int64_t)(seed >> 32));
    if (lo > 0) s->seed_dim = lo;
}

int lower_unsupported(const Backend *b, const Node *n, LtcDiag *d, const char *why) {
    char name[32];
    const char *bn = b && b->name ? b->name : "?";
    size_t i = 0;
    for (; bn[i] && i < sizeof name - 1; i++) name[i] = (char)toupper((unsigned char)bn[i]);
    name[i] = 0;
    return diag_set(d, n->loc, "the %s backend does not generate %s%s%s", name,
                    op_info[n->op].name, why ? ": " : "", why ? why : "");
}
