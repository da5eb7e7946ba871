/* plan_read.c: bytes -> Plans (format in codegen/serialize.h).
 *
 * Part of the runtime, since model.so hosts link no compiler code.  Every
 * read is bounds-checked and every count and index validated, so a corrupt
 * descriptor is an error message, never a crash. */
#include "codegen/serialize.h"
#include "runtime/kernel_contract.h"

#include <string.h>

typedef struct Rd {
    const uint8_t *p, *end;
    Arena *a;
    LtcDiag *d;
    bool bad;
    const char *why;
} Rd;

static bool need(Rd *r, size_t n) {
    if (r->bad) return false;
    if ((size_t)(r->end - r->p) < n) { r->bad = true; r->why = "truncated"; return false; }
    return true;
}

static uint32_t u32(Rd *r) {
    if (!need(r, 4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    return v;
}

static int64_t i64(Rd *r) {
    if (!need(r, 8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return (int64_t)v;
}

static float f32(Rd *r) {
    uint32_t u = u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void fail(Rd *r, const char *why) { if (!r->bad) { r->bad = true; r->why = why; } }

/* A count n of items at least `minsize` bytes each: must fit in the rest. */
static int count(Rd *r, size_t minsize, int max) {
    uint32_t n = u32(r);
    if (r->bad) return 0;
    if (n > (uint32_t)max || (size_t)n * minsize > (size_t)(r->end - r->p)) { fail(r, "bad count"); return 0; }
    return (int)n;
}

static const char *str(Rd *r) {
    uint32_t n = u32(r);
    if (r->bad || n == 0xffffffffu) return NULL;
    if (!need(r, n)) return NULL;
    if (memchr(r->p, 0, n)) { fail(r, "NUL in string"); return NULL; }
    char *s = arena_strndup(r->a, (const char *)r->p, n);
    if (!s) fail(r, "out of memory");
    r->p += n;
    return s;
}

static Dim dim(Rd *r, int nsyms) {
    Dim d;
    d.k = i64(r);
    d.sym = u32(r);
    if (nsyms < 32 && (d.sym >> nsyms) != 0) fail(r, "unknown symbol in a dimension");
    if (d.k < 0) fail(r, "negative dimension");
    return d;
}

static Poly poly(Rd *r, int nsyms) {
    Poly p = {0};
    p.n = count(r, 12, PLAN_MAX_TERMS);
    for (int i = 0; i < p.n; i++) p.t[i] = dim(r, nsyms);
    return p;
}

/* A limit's value: signed coefficients, symbolic terms only. */
static Poly limit_poly(Rd *r, int nsyms) {
    Poly p = {0};
    p.n = count(r, 12, PLAN_MAX_TERMS);
    for (int i = 0; i < p.n; i++) {
        p.t[i].k = i64(r);
        p.t[i].sym = u32(r);
        if (p.t[i].sym == 0 || (nsyms < 32 && (p.t[i].sym >> nsyms) != 0) || p.t[i].k == INT64_MIN)
            fail(r, "bad term in a limit");
    }
    return p;
}

static void *alloc_n(Rd *r, int n, size_t size) {
    if (r->bad || n == 0) return NULL;
    void *p = arena_alloc(r->a, (size_t)n * size);
    if (!p) fail(r, "out of memory");
    return p;
}

static PlanTensor *tensors(Rd *r, int *n, int nsyms) {
    *n = count(r, 12, 1 << 20);
    PlanTensor *t = alloc_n(r, *n, sizeof *t);
    for (int i = 0; i < *n && !r->bad; i++) {
        t[i].name = str(r);
        uint32_t dt = u32(r);
        uint32_t rank = u32(r);
        if (dt >= DT_COUNT) fail(r, "bad dtype");
        if (rank > LTC_MAX_RANK) fail(r, "bad rank");
        if (r->bad) break;
        t[i].dtype = (DType)dt;
        t[i].shape.rank = (int)rank;
        for (uint32_t j = 0; j < rank; j++) t[i].shape.d[j] = dim(r, nsyms);
    }
    return t;
}

static PlanBuf *bufs(Rd *r, int *n, int nsyms) {
    *n = count(r, 20, 1 << 20);
    PlanBuf *b = alloc_n(r, *n, sizeof *b);
    for (int i = 0; i < *n && !r->bad; i++) {
        uint32_t kind = u32(r);
        b[i].index = (int)u32(r);
        if (kind > BUF_ARENA || b[i].index < 0) fail(r, "bad buffer kind or index");
        b[i].kind = (BufKind)kind;
        b[i].offset = poly(r, nsyms);
        b[i].bytes = poly(r, nsyms);
        b[i].what = str(r);
    }
    return b;
}

static PlanStep *steps(Rd *r, int *n, int nsyms, int nkernels, int nbufs) {
    *n = count(r, 32, 1 << 20);
    PlanStep *s = alloc_n(r, *n, sizeof *s);
    for (int i = 0; i < *n && !r->bad; i++) {
        s[i].kernel = (int)u32(r);
        if (s[i].kernel < 0 || s[i].kernel >= nkernels) fail(r, "step names an unknown kernel");
        s[i].nbufs = count(r, 4, PLAN_MAX_ARGS);
        for (int j = 0; j < s[i].nbufs; j++) {
            s[i].bufs[j] = (int)u32(r);
            if (s[i].bufs[j] < 0 || s[i].bufs[j] >= nbufs) fail(r, "step names an unknown buffer");
        }
        s[i].ndims = count(r, 4, PLAN_MAX_DIMS);
        for (int j = 0; j < s[i].ndims; j++) s[i].dims[j] = poly(r, nsyms);
        for (int j = 0; j < 4; j++) s[i].f[j] = f32(r);
        s[i].ntiles = poly(r, nsyms);
    }
    return s;
}

static PlanLimit *limits(Rd *r, int *n, int nsyms) {
    *n = count(r, 16, 1 << 20);
    PlanLimit *l = alloc_n(r, *n, sizeof *l);
    for (int i = 0; i < *n && !r->bad; i++) {
        l[i].value = limit_poly(r, nsyms);
        l[i].max = i64(r);
        if (l[i].max == INT64_MIN) fail(r, "bad limit");
        l[i].what = str(r);
    }
    return l;
}

/* An id check names an i64 entry input (checked once inputs are read). */
static PlanIdCheck *idchecks(Rd *r, int *n) {
    *n = count(r, 16, 1 << 20);
    PlanIdCheck *c = alloc_n(r, *n, sizeof *c);
    for (int i = 0; i < *n && !r->bad; i++) {
        c[i].input = (int)u32(r);
        c[i].num = i64(r);
        if (c[i].input < 0 || c[i].num < 0) fail(r, "bad id check");
        c[i].what = str(r);
    }
    return c;
}

/* Buffer indices must name an existing input/output/param/packed slot. */
static void check_buf_indices(Rd *r, const Plan *p) {
    for (int i = 0; i < p->nbufs && !r->bad; i++) {
        const PlanBuf *b = &p->bufs[i];
        int lim = b->kind == BUF_INPUT ? p->ninputs : b->kind == BUF_OUTPUT ? p->noutputs
                : b->kind == BUF_PARAM ? p->nparams : b->kind == BUF_PACKED ? p->npacked : 1 << 30;
        if (b->index >= lim) fail(r, "buffer index out of range");
    }
    for (int i = 0; i < p->npacked; i++)
        for (int j = 0; j < p->packed[i].bytes.n; j++)
            if (p->packed[i].bytes.t[j].sym) fail(r, "packed buffer with a symbolic size");
}

static Plan *plan(Rd *r) {
    Plan *p = arena_alloc(r->a, sizeof *p);
    Graph *g = arena_alloc(r->a, sizeof *g);
    if (!p || !g) { fail(r, "out of memory"); return NULL; }
    g->arena = r->a;
    g->name = str(r);
    if (!g->name) g->name = "entry";
    g->nsyms = count(r, 12, LTC_MAX_SYMS);
    for (int i = 0; i < g->nsyms && !r->bad; i++) {
        Symbol *sy = &g->syms[i];
        sy->name = str(r);
        sy->example = i64(r);
        if (!r->bad && !sy->name) fail(r, "symbol without a name");
        /* a derived symbol refers only to earlier symbols (one pass in
         * index order computes them all, ir/symdef.h) */
        uint32_t kind = u32(r), nt = u32(r);
        if (!r->bad && (kind > SYM_SQUARE || nt > LTC_SYM_TERMS || (kind != SYM_AFFINE && nt != 0)))
            fail(r, "invalid symbol definition");
        sy->def.kind = (SymKind)kind;
        sy->def.nterms = r->bad ? 0 : (int)nt;
        uint32_t earlier = i >= 32 ? 0xffffffffu : (1u << i) - 1;
        for (int j = 0; j < sy->def.nterms && !r->bad; j++) {
            sy->def.tk[j] = i64(r);
            sy->def.tsym[j] = u32(r);
            if (!r->bad && (sy->def.tsym[j] == 0 || (sy->def.tsym[j] & ~earlier)))
                fail(r, "symbol definition refers to a later symbol");
        }
        sy->def.c = i64(r);
        sy->def.div = i64(r);
        sy->def.a = (int)u32(r);
        sy->where = str(r);
        if (!r->bad && (sy->def.div < 1 || (kind == SYM_AFFINE && nt == 0) ||
                        (kind == SYM_SQUARE && (sy->def.a < 0 || sy->def.a >= i))))
            fail(r, "invalid symbol definition");
    }
    p->graph = g;
    int ns = g->nsyms;
    p->inputs = tensors(r, &p->ninputs, ns);
    p->outputs = tensors(r, &p->noutputs, ns);
    p->params = tensors(r, &p->nparams, ns);
    p->bufs = bufs(r, &p->nbufs, ns);
    p->nkernels = count(r, 12, 1 << 20);
    p->kernels = alloc_n(r, p->nkernels, sizeof *p->kernels);
    for (int i = 0; i < p->nkernels && !r->bad; i++) {
        PlanKernel *k = &p->kernels[i];
        k->name = str(r);
        k->family = str(r);
        if (!r->bad && !k->name) fail(r, "kernel without a name");
        /* the family must be one the runtime has a contract for
         * (runtime/kernel_families.def), with that many constants */
        const KernelFamily *kf = r->bad ? NULL : kf_find(k->family);
        if (!r->bad && !kf) {
            char *why = arena_printf(r->a, "kernel '%.64s' of unknown family '%.32s'", k->name,
                                     k->family ? k->family : "(none)");
            fail(r, why ? why : "kernel of an unknown family");
        }
        k->nconsts = count(r, 8, PLAN_MAX_KCONSTS);
        for (int j = 0; j < k->nconsts && !r->bad; j++) k->consts[j] = i64(r);
        if (!r->bad && k->nconsts != kf->nconsts) fail(r, "kernel with the wrong number of constants for its family");
    }
    p->prepack = steps(r, &p->nprepack, ns, p->nkernels, p->nbufs);
    p->steps = steps(r, &p->nsteps, ns, p->nkernels, p->nbufs);
    p->arena_bytes = poly(r, ns);
    p->packed = bufs(r, &p->npacked, ns);
    p->limits = limits(r, &p->nlimits, ns);
    p->idchecks = idchecks(r, &p->nidchecks);
    check_buf_indices(r, p);
    for (int i = 0; i < p->nidchecks && !r->bad; i++)
        if (p->idchecks[i].input >= p->ninputs || p->inputs[p->idchecks[i].input].dtype != DT_I64)
            fail(r, "id check names a missing or non-i64 input");
    for (int i = 0; i < p->ninputs + p->noutputs + p->nparams && !r->bad; i++) {
        const PlanTensor *t = i < p->ninputs ? &p->inputs[i]
                            : i < p->ninputs + p->noutputs ? &p->outputs[i - p->ninputs]
                            : &p->params[i - p->ninputs - p->noutputs];
        if (!t->name) fail(r, "tensor without a name");
    }
    return r->bad ? NULL : p;
}

int plan_deserialize(Arena *a, const void *buf, size_t n, Plan ***plans, int *nplans,
                     LtcDiag *d) {
    SrcLoc nl = {0};
    *plans = NULL;
    *nplans = 0;
    if (!buf || n < 16 || memcmp(buf, PLAN_BLOB_MAGIC, 8) != 0)
        return diag_set(d, nl, "plan blob: bad magic (not a lispetorchc plan)");
    Rd r = {(const uint8_t *)buf + 8, (const uint8_t *)buf + n, a, d, false, NULL};
    uint32_t ver = u32(&r);
    if (ver < PLAN_BLOB_MIN_VERSION || ver > PLAN_BLOB_VERSION)
        return diag_set(d, nl, "plan blob: format version %u, this runtime reads %d to %d", ver,
                        PLAN_BLOB_MIN_VERSION, PLAN_BLOB_VERSION);
    int np = count(&r, 16, 1 << 16);
    Plan **ps = alloc_n(&r, np, sizeof *ps);
    for (int i = 0; i < np && !r.bad; i++) ps[i] = plan(&r);
    if (!r.bad && r.p != r.end) fail(&r, "trailing bytes");
    if (r.bad)
        return diag_set(d, nl, "plan blob: corrupt (%s at byte %zu)", r.why,
                        (size_t)(r.p - (const uint8_t *)buf));
    *plans = ps;
    *nplans = np;
    return 0;
}
