/* serialize.c: Plan -> bytes (format in serialize.h). */
#include "plan/serialize.h"

#include <string.h>

static void put_u32(StrBuf *b, uint32_t v) {
    for (int i = 0; i < 4; i++) sb_putc(b, (char)(v >> (8 * i)));
}

static void put_i64(StrBuf *b, int64_t v) {
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) sb_putc(b, (char)(u >> (8 * i)));
}

static void put_f32(StrBuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}

static void put_str(StrBuf *b, const char *s) {
    if (!s) { put_u32(b, 0xffffffffu); return; }
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) sb_putc(b, s[i]);
}

static void put_dim(StrBuf *b, Dim d) { put_i64(b, d.k); put_u32(b, d.sym); }

static void put_poly(StrBuf *b, const Poly *p) {
    put_u32(b, (uint32_t)p->n);
    for (int i = 0; i < p->n; i++) put_dim(b, p->t[i]);
}

static void put_tensors(StrBuf *b, const PlanTensor *t, int n) {
    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_str(b, t[i].name);
        put_u32(b, (uint32_t)t[i].dtype);
        put_u32(b, (uint32_t)t[i].shape.rank);
        for (int j = 0; j < t[i].shape.rank; j++) put_dim(b, t[i].shape.d[j]);
    }
}

static void put_bufs(StrBuf *b, const PlanBuf *bs, int n) {
    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_u32(b, (uint32_t)bs[i].kind);
        put_u32(b, (uint32_t)bs[i].index);
        put_poly(b, &bs[i].offset);
        put_poly(b, &bs[i].bytes);
        put_str(b, bs[i].what);
    }
}

static void put_steps(StrBuf *b, const PlanStep *s, int n) {
    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_u32(b, (uint32_t)s[i].kernel);
        put_u32(b, (uint32_t)s[i].nbufs);
        for (int j = 0; j < s[i].nbufs; j++) put_u32(b, (uint32_t)s[i].bufs[j]);
        put_u32(b, (uint32_t)s[i].ndims);
        for (int j = 0; j < s[i].ndims; j++) put_poly(b, &s[i].dims[j]);
        for (int j = 0; j < 4; j++) put_f32(b, s[i].f[j]);
        put_poly(b, &s[i].ntiles);
    }
}

/* Limit values may have negative coefficients (poly with i64 k as is). */
static void put_limits(StrBuf *b, const PlanLimit *l, int n) {
    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_poly(b, &l[i].value);
        put_i64(b, l[i].max);
        put_str(b, l[i].what);
    }
}

static void put_idchecks(StrBuf *b, const PlanIdCheck *c, int n) {
    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        put_u32(b, (uint32_t)c[i].input);
        put_i64(b, c[i].num);
        put_str(b, c[i].what);
    }
}

/* Check the counts the reader will enforce, so a blob we write always
 * reads back. */
static int check_plan(const Plan *p, int pi, LtcDiag *d) {
    SrcLoc nl = {0};
    const PlanStep *lists[2] = {p->prepack, p->steps};
    int counts[2] = {p->nprepack, p->nsteps};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++) {
            const PlanStep *s = &lists[l][i];
            if (s->nbufs < 0 || s->nbufs > PLAN_MAX_ARGS || s->ndims < 0 || s->ndims > PLAN_MAX_DIMS ||
                s->kernel < 0 || s->kernel >= p->nkernels)
                return diag_set(d, nl, "plan %d: step %d is malformed (kernel %d, %d buffers, %d dims)",
                                pi, i, s->kernel, s->nbufs, s->ndims);
        }
    for (int i = 0; i < p->nkernels; i++)
        if (p->kernels[i].nconsts < 0 || p->kernels[i].nconsts > PLAN_MAX_KCONSTS)
            return diag_set(d, nl, "plan %d: kernel %d has %d constants", pi, i, p->kernels[i].nconsts);
    for (int i = 0; i < p->nlimits; i++) {
        const Poly *v = &p->limits[i].value;
        bool ok = v->n >= 0 && v->n <= PLAN_MAX_TERMS && p->limits[i].max != INT64_MIN;
        for (int j = 0; ok && j < v->n; j++) ok = v->t[j].k != INT64_MIN && v->t[j].sym;
        if (!ok) return diag_set(d, nl, "plan %d: limit %d is malformed", pi, i);
    }
    for (int i = 0; i < p->nidchecks; i++) {
        const PlanIdCheck *c = &p->idchecks[i];
        if (c->input < 0 || c->input >= p->ninputs || p->inputs[c->input].dtype != DT_I64 || c->num < 0)
            return diag_set(d, nl, "plan %d: id check %d is malformed", pi, i);
    }
    return 0;
}

int plan_serialize(Plan *const *plans, int nplans, StrBuf *out, LtcDiag *d) {
    SrcLoc nl = {0};
    if (nplans < 0 || (nplans > 0 && !plans))
        return diag_set(d, nl, "plan_serialize: no plans");
    sb_puts(out, PLAN_BLOB_MAGIC);
    put_u32(out, PLAN_BLOB_VERSION);
    put_u32(out, (uint32_t)nplans);
    for (int pi = 0; pi < nplans; pi++) {
        const Plan *p = plans[pi];
        if (!p) return diag_set(d, nl, "plan_serialize: plan %d is NULL", pi);
        if (check_plan(p, pi, d)) return -1;
        const Graph *g = p->graph;
        put_str(out, g ? g->name : NULL);
        int nsyms = g ? g->nsyms : 0;
        put_u32(out, (uint32_t)nsyms);
        for (int i = 0; i < nsyms; i++) {
            const Symbol *sy = &g->syms[i];
            put_str(out, sy->name);
            put_i64(out, sy->example);
            /* derived symbols (ir/symdef.h): kind, terms, constant, divisor, squared symbol, where */
            put_u32(out, (uint32_t)sy->def.kind);
            put_u32(out, (uint32_t)sy->def.nterms);
            for (int j = 0; j < sy->def.nterms; j++) {
                put_i64(out, sy->def.tk[j]);
                put_u32(out, sy->def.tsym[j]);
            }
            put_i64(out, sy->def.c);
            put_i64(out, sy->def.kind == SYM_FREE ? 1 : sy->def.div);
            put_u32(out, (uint32_t)sy->def.a);
            put_str(out, sy->where);
        }
        put_tensors(out, p->inputs, p->ninputs);
        put_tensors(out, p->outputs, p->noutputs);
        put_tensors(out, p->params, p->nparams);
        put_bufs(out, p->bufs, p->nbufs);
        put_u32(out, (uint32_t)p->nkernels);
        for (int i = 0; i < p->nkernels; i++) {
            put_str(out, p->kernels[i].name);
            put_str(out, p->kernels[i].family);
            put_u32(out, (uint32_t)p->kernels[i].nconsts);
            for (int j = 0; j < p->kernels[i].nconsts; j++) put_i64(out, p->kernels[i].consts[j]);
        }
        put_steps(out, p->prepack, p->nprepack);
        put_steps(out, p->steps, p->nsteps);
        put_poly(out, &p->arena_bytes);
        put_bufs(out, p->packed, p->npacked);
        put_limits(out, p->limits, p->nlimits);
        put_idchecks(out, p->idchecks, p->nidchecks);
    }
    if (out->oom) return diag_set(d, nl, "plan_serialize: out of memory");
    return 0;
}
