/* lower.c: a graph after the passes -> a Plan.  See lower.h for the
 * storage rules (aliases, views, steps) and the memory plan. */
#include "codegen/lower.h"
#include "ir/passes/passes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- polynomials (plan.h) ------------------------------------------------------ */
/* Every coefficient rounded up to a multiple of 64: then the sum of such
 * sizes is 64-byte aligned for every symbol value. */
static Poly poly_round64(Poly p) {
    for (int i = 0; i < p.n; i++) p.t[i].k = (p.t[i].k + 63) / 64 * 64;
    return p;
}

/* a >= b for every symbol value >= 0: each term of b is matched by a term
 * of a with the same symbols and a coefficient at least as large. */
static bool poly_dominates(const Poly *a, const Poly *b) {
    for (int i = 0; i < b->n; i++) {
        bool ok = b->t[i].k <= 0;
        for (int j = 0; j < a->n && !ok; j++)
            ok = a->t[j].sym == b->t[i].sym && a->t[j].k >= b->t[i].k;
        if (!ok) return false;
    }
    return true;
}

void poly_str(const Graph *g, const Poly *p, StrBuf *out) {
    if (p->n == 0) { sb_puts(out, "0"); return; }
    for (int i = 0; i < p->n; i++) {
        const Dim *t = &p->t[i];
        if (i) sb_puts(out, " + ");
        bool first = true;
        if (t->k != 1 || t->sym == 0) { sb_printf(out, "%lld", (long long)t->k); first = false; }
        for (int b = 0; b < LTC_MAX_SYMS; b++)
            if (t->sym >> b & 1) {
                const char *nm = g && b < g->nsyms && g->syms[b].name ? g->syms[b].name : "?";
                sb_printf(out, "%s%s", first ? "" : "*", nm);
                first = false;
            }
    }
}

/* ---- views and strides --------------------------------------------------------- */
bool lower_is_view(const Node *x) {
    if (x->op != OP_PERMUTE) return false;
    const Graph *g = x->graph;
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == x) return false;
    if (x->in[0]->op == OP_PERMUTE && lower_is_view(x->in[0])) return false;
    Dim st[LTC_MAX_RANK];
    if (!shape_strides(x->graph, &x->in[0]->shape, st)) return false;
    int nusers = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *u = g->nodes[i];
        for (int j = 0; j < u->nin; j++)
            if (u->in[j] == x) {
                if (u->op != OP_SDPA || j > 2) return false;
                nusers++;
            }
    }
    return nusers > 0;
}

int lower_input_strides(const Node *n, int i, Dim strides[LTC_MAX_RANK]) {
    const Node *x = n->in[i];
    if (lower_is_view(x)) {
        Dim bs[LTC_MAX_RANK];
        if (!shape_strides(x->graph, &x->in[0]->shape, bs)) return -1;
        for (int j = 0; j < x->shape.rank; j++) strides[j] = bs[x->a.perm[j]];
        return x->shape.rank;
    }
    return shape_strides(x->graph, &x->shape, strides) ? x->shape.rank : -1;
}

/* ---- classification --------------------------------------------------------------- */
enum { K_SRC, K_STEP, K_ALIAS, K_VIEW, K_SUM };

typedef struct Lower {
    Graph *g;
    Arena *a;
    LtcDiag *d;
    int N;
    int *kind, *root, *claim, *buf, *first, *last, *sum_of;
    bool *cnst;
    Poly *off;          /* byte offset in the root's storage (aliases) */
    Poly *delta;        /* alias: byte offset from its input */
    bool  off_overflow; /* an alias offset needed more than PLAN_MAX_TERMS terms */
} Lower;

/* numel * element size; a repeated symbol ([B,H,S,S]) gives S^2, a
 * derived symbol of the graph. */
static Poly bytes_of(const Node *n, bool *ok) {
    Dim b = dim_const((int64_t)dtype_size(n->dtype));
    bool good = true;
    for (int i = 0; good && i < n->shape.rank; i++) good = dim_mul_sq(n->graph, b, n->shape.d[i], &b);
    if (!good || b.k > LTC_MAX_NUMEL * 8) {
        *ok = false;
        return poly_dim(dim_const(0));
    }
    *ok = true;
    return poly_dim(b);
}

/* SLICE n is one contiguous sub-range of its input: every dimension before
 * the axis is 1 and step 1.  *delta = start * inner elements * size. */
static bool slice_is_alias(const Node *n, Poly *delta) {
    const Shape *s = &n->in[0]->shape;
    if (n->a.step != 1) return false;
    for (int i = 0; i < n->a.axis; i++)
        if (!(s->d[i].sym == 0 && s->d[i].k == 1)) return false;
    Dim inner = dim_const((int64_t)dtype_size(n->dtype)), st;
    for (int i = n->a.axis + 1; i < s->rank; i++)
        if (!dim_mul(inner, s->d[i], &inner)) return false;
    if (!dim_mul(n->a.start, inner, &st)) return false;
    *delta = poly_dim(st);
    return true;
}

/* Whether n is computable at bind time (from parameters alone).  Decided
 * in node order, reading the inputs' answers from cnst[] instead of
 * recursing: a recursion walks every path of the DAG, and a residual stack
 * has 2^depth of them (an 8-layer model spent seconds here, 10 layers
 * minutes).  The graph is compacted, so every input has a smaller id; an
 * input that does not is a broken graph, reported rather than guessed. */
static int source_const(const Lower *L, const Node *n, bool *out) {
    *out = false;
    if (n->op == OP_PARAM) { *out = true; return 0; }
    if (op_info[n->op].flags & OPF_RANDOM) return 0;
    for (int i = 0; i < n->shape.rank; i++)
        if (n->shape.d[i].sym) return 0;
    if (n->op == OP_INPUT || n->op == OP_CONST) return 0;
    for (int i = 0; i < n->nin; i++) {
        if (n->in[i]->id >= n->id)
            return diag_set(L->d, n->loc, "plan: %s %%%d reads %%%d, which comes after it", op_info[n->op].name,
                            n->id, n->in[i]->id);
        if (!L->cnst[n->in[i]->id]) return 0;
    }
    *out = true;
    return 0;
}

static void compute_roots(Lower *L) {
    for (int i = 0; i < L->N; i++) {
        Node *n = L->g->nodes[i];
        if (L->kind[i] == K_ALIAS || L->kind[i] == K_VIEW) {
            int r = n->in[0]->id;
            L->root[i] = L->root[r];
            L->off[i] = L->off[r];
            if (L->kind[i] == K_ALIAS && !poly_add_poly(&L->off[i], &L->delta[i])) L->off_overflow = true;
        } else {
            L->root[i] = i;
            L->off[i] = poly_dim(dim_const(0));
        }
    }
}

static bool owns_storage(const Lower *L, int r) { return L->kind[r] == K_STEP || L->kind[r] == K_SUM; }

/* Claim output buffers for roots and demote to copies what cannot be an
 * alias; repeat until nothing changes (each round demotes a node). */
static void settle(Lower *L) {
    Graph *g = L->g;
    for (;;) {
        compute_roots(L);
        bool changed = false;
        for (int i = 0; i < L->N; i++) L->claim[i] = -1;
        for (int k = 0; k < g->noutputs && !changed; k++) {
            Node *o = g->outputs[k];
            int r = L->root[o->id];
            bool whole = dim_eq(shape_numel(&o->shape), shape_numel(&g->nodes[r]->shape))
                         && o->dtype == g->nodes[r]->dtype;
            if (owns_storage(L, r) && !L->cnst[r] && L->off[o->id].n == 0 && whole && L->claim[r] < 0
                && L->kind[o->id] != K_VIEW) {
                L->claim[r] = k;
            } else if (L->kind[o->id] != K_STEP) {
                L->kind[o->id] = K_STEP;     /* a copy step */
                changed = true;
            } else {
                L->claim[o->id] = k;         /* o owns its storage (e.g. a second output of r) */
            }
        }
        /* An alias at an offset needs arena storage under it. */
        for (int i = 0; i < L->N && !changed; i++) {
            if (L->kind[i] != K_ALIAS || L->off[i].n == 0) continue;
            int r = L->root[i];
            if (!owns_storage(L, r) || L->cnst[r] || L->claim[r] >= 0) {
                L->kind[i] = K_STEP;
                changed = true;
            }
        }
        if (!changed) return;
    }
}

/* ---- plan arrays (plan_grow: the backend appends to them too) ------------------------- */
static int add_buf(Lower *L, Plan *p, PlanBuf b) {
    PlanBuf *nb = plan_grow(L->a, p->bufs, p->nbufs, &p->cap_bufs, sizeof *nb);
    if (!nb) return diag_set(L->d, (SrcLoc){0}, "out of memory");
    nb[p->nbufs] = b;
    p->bufs = nb;
    return p->nbufs++;
}

static int add_step(Lower *L, PlanStep **arr, int *n, int *cap, const PlanStep *s) {
    PlanStep *ns = plan_grow(L->a, *arr, *n, cap, sizeof *ns);
    if (!ns) return diag_set(L->d, (SrcLoc){0}, "out of memory");
    ns[*n] = *s;
    *arr = ns;
    return (*n)++;
}

static const char *node_what(Arena *a, const Node *n) {
    return arena_printf(a, "%%%d %s%s%s", n->id, op_info[n->op].name, n->name ? " " : "", n->name ? n->name : "");
}

static PlanTensor *tensors(Arena *a, Node **v, int n, const char *prefix) {
    PlanTensor *t = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < n; i++) {
        t[i].name = v[i]->name ? v[i]->name : arena_printf(a, "%s%d", prefix, i);
        t[i].dtype = v[i]->dtype;
        t[i].shape = v[i]->shape;
    }
    return t;
}

/* ---- run-time limits (PlanLimit) --------------------------------------------------------- */
static bool poly_same(const Poly *a, const Poly *b) {
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++) {
        bool found = false;
        for (int j = 0; j < b->n && !found; j++) found = dim_eq(a->t[i], b->t[j]);
        if (!found) return false;
    }
    return true;
}

static int64_t floor_div(int64_t a, int64_t b) {       /* b > 0 */
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* "slice of the [512,1,64] buffer 'pe.pe' at x.lsp:12": what a user needs
 * to find the bound in the script. */
static const char *slice_what(Arena *a, const Node *n) {
    const Node *x = n->in[0];
    char sb[256];
    const char *shape = shape_str(n->graph, &x->shape, sb, sizeof sb);
    const char *of = x->op == OP_PARAM && x->name ? arena_printf(a, "the %s buffer '%s'", shape, x->name)
                                                   : arena_printf(a, "a %s tensor", shape);
    if (!of) return NULL;
    if (!n->loc.file || !n->loc.file->name) return arena_printf(a, "slice of %s", of);
    return arena_printf(a, "slice of %s at %s:%d", of, n->loc.file->name, n->loc.line);
}

/* Record `v <= max` for node n, unless it holds for every symbol value
 * (sizes are >= 0, so a sum of non-positive terms never exceeds max >= 0).
 * Constant terms move into max; a single term k*m becomes m (or -m) with
 * max divided, so the rule reads "S <= 256" rather than "2*S <= 512". */
static int add_limit_what(Lower *L, Plan *p, const Node *n, Poly v, int64_t max, const char *what);

static int add_limit(Lower *L, Plan *p, const Node *n, Poly v, int64_t max) {
    return add_limit_what(L, p, n, v, max, NULL);
}

static int add_limit_what(Lower *L, Plan *p, const Node *n, Poly v, int64_t max, const char *what) {
    Poly w = poly_dim(dim_const(0));
    for (int i = 0; i < v.n; i++) {
        if (v.t[i].k == INT64_MIN || (v.t[i].sym == 0 && __builtin_sub_overflow(max, v.t[i].k, &max)))
            return diag_set(L->d, n->loc, "plan: bound of %s %%%d overflows", op_info[n->op].name, n->id);
        if (v.t[i].sym && !poly_add(&w, v.t[i]))
            return diag_set(L->d, n->loc, "plan: bound of %s %%%d has more than PLAN_MAX_TERMS (%d) terms", op_info[n->op].name, n->id, PLAN_MAX_TERMS);
    }
    bool some_pos = false;
    for (int i = 0; i < w.n; i++) some_pos |= w.t[i].k > 0;
    if (!some_pos && max >= 0) return 0;
    if (w.n == 0)
        return diag_set(L->d, n->loc, "%s %%%d is out of range for every input size", op_info[n->op].name, n->id);
    if (w.n == 1 && (w.t[0].k > 1 || w.t[0].k < -1)) {
        int64_t k = w.t[0].k;
        max = floor_div(max, k < 0 ? -k : k);
        w.t[0].k = k < 0 ? -1 : 1;
    }
    for (int i = 0; i < p->nlimits; i++)
        if (p->limits[i].max == max && poly_same(&p->limits[i].value, &w)) return 0;
    PlanLimit *nl = plan_grow(L->a, p->limits, p->nlimits, &p->cap_limits, sizeof *nl);
    if (!nl) return diag_set(L->d, (SrcLoc){0}, "out of memory");
    nl[p->nlimits].value = w;
    nl[p->nlimits].max = max;
    nl[p->nlimits].what = what ? what : slice_what(L->a, n);
    p->limits = nl;
    p->nlimits++;
    return 0;
}

/* A SLICE reads indices start, start+step, ... < start + len*step of a
 * dimension of size D; its shape rule made len exact, (end-start)/step.
 * With symbolic bounds or a symbolic D nothing at compile time says that
 * those indices exist (the interpreter checks at run time), and both an
 * alias into the input and a copy step read them unchecked:
 *   last index read = end - step <= D - 1   <=>   end - D <= step - 1,
 *   start <= end (len >= 0; true by construction, kept as a guard). */
static int slice_limits(Lower *L, Plan *p, const Node *n) {
    const Attr *a = &n->a;
    Dim D = n->in[0]->shape.d[a->axis];
    if (!D.sym && !a->start.sym && !a->end.sym) return 0;     /* clamped at trace time */
    if (n->shape.d[a->axis].k == 0) return 0;                 /* reads nothing */
    Poly v = poly_dim(a->end);
    if (!poly_add(&v, (Dim){-D.k, D.sym}) || add_limit(L, p, n, v, a->step - 1) < 0) return -1;
    v = poly_dim(a->start);
    if (!poly_add(&v, (Dim){-a->end.k, a->end.sym}) || add_limit(L, p, n, v, 0) < 0) return -1;
    return 0;
}

/* The graph's guards (ir.h SymGuard: the script specialised a symbolic
 * size) as limits: d <= hi and -d <= -lo. */
static int guard_limits(Lower *L, Plan *p, const Graph *g) {
    for (int i = 0; i < g->nguards; i++) {
        const SymGuard *gd = &g->guards[i];
        char buf[900];
        guard_str(g, gd, buf, sizeof buf);
        char *paren = strstr(buf, " (");
        if (paren) *paren = 0;
        const char *what = gd->loc.file
            ? arena_printf(L->a, "specialised to %s at %s:%d:%d: %s", buf, gd->loc.file->name, gd->loc.line,
                           gd->loc.col, gd->why ? gd->why : "")
            : arena_printf(L->a, "specialised to %s: %s", buf, gd->why ? gd->why : "");
        Node at = {0};
        at.op = OP_INPUT;
        at.loc = gd->loc;
        if (!what) return diag_set(L->d, gd->loc, "out of memory");
        if (gd->d.sym == 0) continue;
        if (gd->hi != INT64_MAX && add_limit_what(L, p, &at, poly_dim(gd->d), gd->hi, what) < 0) return -1;
        if (gd->lo != INT64_MIN && gd->d.k != INT64_MIN &&
            add_limit_what(L, p, &at, poly_dim((Dim){-gd->d.k, gd->d.sym}), -gd->lo, what) < 0)
            return -1;
    }
    return 0;
}

/* ---- run-time id checks (PlanIdCheck) --------------------------------------------------- */
/* An embedding reads row ids[i] of its [num,dim] table; the kernel writes a
 * zero row for an id outside [0, num) since it cannot report an error.
 * When the ids are an i64 entry input (possibly through reshapes and
 * permutes, which keep every value), the executor checks them before any
 * kernel runs.  Only a constant num is checked (tables are parameters). */
static int embedding_idcheck(Lower *L, Plan *p, const Node *n) {
    const Node *x = n->in[0], *tab = n->in[1];
    while (x->op == OP_RESHAPE || x->op == OP_PERMUTE || (x->op == OP_CAST && x->dtype == DT_I64)) x = x->in[0];
    if (tab->shape.rank < 1 || tab->shape.d[0].sym) return 0;
    if (x->op == OP_ARANGE && x->a.hi >= 0 && x->a.lo >= 0 && x->a.lo == floor(x->a.lo) && x->a.hi == floor(x->a.hi) &&
        x->a.lo < 0x1p60 && x->a.hi < 0x1p40 && x->shape.d[0].sym) {
        /* position ids (tensor_arange S): the largest, lo + hi*(len-1),
         * must be a row of the table:  hi*len <= num - 1 - lo + hi */
        int64_t lo = (int64_t)x->a.lo, hi = (int64_t)x->a.hi, num = tab->shape.d[0].k;
        Dim len = x->shape.d[0];
        if (hi == 0 || __builtin_mul_overflow(len.k, hi, &len.k)) return 0;
        char sb[256];
        const char *what = arena_printf(L->a, "position ids of '%s' %s at %s:%d", tab->name ? tab->name : "table",
                                        shape_str(n->graph, &tab->shape, sb, sizeof sb),
                                        n->loc.file ? n->loc.file->name : "?", n->loc.line);
        if (!what) return diag_set(L->d, n->loc, "out of memory");
        return add_limit_what(L, p, n, poly_dim(len), num - 1 - lo + hi, what);
    }
    if (x->op != OP_INPUT || x->dtype != DT_I64) return 0;
    int input = -1;
    for (int j = 0; j < L->g->ninputs; j++)
        if (L->g->inputs[j] == x) input = j;
    if (input < 0) return 0;
    int64_t num = tab->shape.d[0].k;
    for (int i = 0; i < p->nidchecks; i++)
        if (p->idchecks[i].input == input && p->idchecks[i].num == num) return 0;
    char sb[256];
    const char *shape = shape_str(n->graph, &tab->shape, sb, sizeof sb);
    const char *what = tab->op == OP_PARAM && tab->name
                     ? arena_printf(L->a, "the embedding table '%s' %s", tab->name, shape)
                     : arena_printf(L->a, "an embedding table %s", shape);
    PlanIdCheck *nc = plan_grow(L->a, p->idchecks, p->nidchecks, &p->cap_idchecks, sizeof *nc);
    if (!nc || !what) return diag_set(L->d, (SrcLoc){0}, "out of memory");
    nc[p->nidchecks] = (PlanIdCheck){input, num, what};
    p->idchecks = nc;
    p->nidchecks++;
    return 0;
}

/* ---- the memory plan ------------------------------------------------------------------ */
typedef struct Slot { Poly off, size; int busy_until; } Slot;

static int plan_memory(Lower *L, Plan *p, int *nslots_out) {
    Graph *g = L->g;
    /* Liveness of every root buffer, in node positions: from its step (an
     * ADD_NORM_SUM's storage is written by its ADD_NORM) to its last reader. */
    for (int i = 0; i < L->N; i++) { L->first[i] = i; L->last[i] = i; }
    for (int i = 0; i < L->N; i++) {
        Node *n = g->nodes[i];
        if (L->kind[i] == K_SUM) L->first[i] = L->last[i] = n->in[0]->id;
    }
    for (int i = 0; i < L->N; i++) {
        if (L->kind[i] != K_STEP) continue;
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin; j++) {
            int r = L->root[n->in[j]->id];
            if (L->last[r] < i) L->last[r] = i;
        }
    }
    Slot *slots = arena_alloc(L->a, ((size_t)L->N + 1) * sizeof *slots);
    if (!slots) return diag_set(L->d, (SrcLoc){0}, "out of memory");
    int ns = 0;
    Poly total = poly_dim(dim_const(0));
    /* The best fit is judged at one fixed point, every symbol 64, not at
     * the trace's example sizes: the plan (and so the JIT's cache key,
     * engine/cache.c) must not depend on the sizes a function was first
     * called with.  Any choice is correct: a slot is reused only when it
     * is large enough for every symbol value (poly_dominates). */
    int64_t ex[LTC_MAX_SYMS];
    for (int k = 0; k < LTC_MAX_SYMS; k++) ex[k] = 64;
    /* Buffers in order of their first step (the SUM companions start at
     * their ADD_NORM, which is before them: visit by `first`). */
    for (int t = 0; t < L->N; t++)
        for (int i = 0; i < L->N; i++) {
            if (L->first[i] != t || L->buf[i] < 0 || L->root[i] != i || !owns_storage(L, i)) continue;
            PlanBuf *b = &p->bufs[L->buf[i]];
            if (b->kind != BUF_ARENA) continue;
            Poly size = poly_round64(b->bytes);
            /* best fit: of the free slots that are large enough for every
             * symbol value, the smallest at that point */
            int s = -1;
            int64_t best = 0;
            for (int k = 0; k < ns; k++)
                if (slots[k].busy_until < L->first[i] && poly_dominates(&slots[k].size, &size)) {
                    int64_t v = poly_eval(&slots[k].size, ex);
                    if (s < 0 || v < best) { s = k; best = v; }
                }
            if (s < 0) {
                s = ns++;
                slots[s].off = total;
                slots[s].size = size;
                if (!poly_add_poly(&total, &size))
                    return diag_set(L->d, g->nodes[i]->loc, "plan: the scratch size has more than PLAN_MAX_TERMS (%d) terms", PLAN_MAX_TERMS);
            }
            slots[s].busy_until = L->last[i];
            b->offset = slots[s].off;
        }
    p->arena_bytes = total;
    *nslots_out = ns;
    return 0;
}

/* ---- plan_build ------------------------------------------------------------------------ */
int plan_build(Graph *g, Backend *b, Arena *a, Plan **out, LtcDiag *d) {
    return plan_build_ex(g, b, a, out, NULL, d);
}

int plan_build_ex(Graph *g, Backend *be, Arena *a, Plan **out, LowerInfo *info, LtcDiag *d) {
    SrcLoc none = {0};
    *out = NULL;
    if (info) memset(info, 0, sizeof *info);
    if (!be) return diag_set(d, none, "plan: no backend");
    if (be->buf_align > PLAN_BUF_ALIGN || (be->buf_align & (be->buf_align - 1)))
        return diag_set(d, none, "plan: the %s backend needs %zu-byte aligned buffers; the memory plan gives %d",
                        be->name, be->buf_align, PLAN_BUF_ALIGN);
    int (*lower)(Backend *, Plan *, Node *, const int *, int, PlanStep *, LtcDiag *) =
        be->lower_node ? be->lower_node : lower_node;
    /* An output that is a source, or the same node as an earlier output,
     * gets a copy of its own: every output buffer is written by a step. */
    for (int k = 0; k < g->noutputs; k++) {
        Node *o = g->outputs[k];
        bool dup = false;
        for (int j = 0; j < k; j++) dup |= g->outputs[j] == o;
        if (dup || (op_info[o->op].flags & OPF_SOURCE)) {
            Attr ra;
            memset(&ra, 0, sizeof ra);
            ra.shape = o->shape;
            Node *c = ir_emit(g, OP_RESHAPE, &o, 1, &ra, o->loc, d);
            if (!c) return -1;
            g->outputs[k] = c;
        }
    }
    if (pass_compact(g, d) < 0) return -1;

    Lower L = {.g = g, .a = a, .d = d, .N = g->nnodes};
    size_t N1 = (size_t)L.N + 1;
    L.kind = arena_alloc(a, N1 * sizeof(int));
    L.root = arena_alloc(a, N1 * sizeof(int));
    L.claim = arena_alloc(a, N1 * sizeof(int));
    L.buf = arena_alloc(a, N1 * sizeof(int));
    L.first = arena_alloc(a, N1 * sizeof(int));
    L.last = arena_alloc(a, N1 * sizeof(int));
    L.sum_of = arena_alloc(a, N1 * sizeof(int));
    L.cnst = arena_alloc(a, N1 * sizeof(bool));
    L.off = arena_alloc(a, N1 * sizeof(Poly));
    L.delta = arena_alloc(a, N1 * sizeof(Poly));
    Plan *p = arena_alloc(a, sizeof *p);
    if (!L.kind || !L.root || !L.claim || !L.buf || !L.first || !L.last || !L.sum_of || !L.cnst || !L.off
        || !L.delta || !p)
        return diag_set(d, none, "out of memory");

    for (int i = 0; i < L.N; i++) {
        Node *n = g->nodes[i];
        L.sum_of[i] = -1;
        if (source_const(&L, n, &L.cnst[i]) < 0) return -1;
        if (n->op == OP_CONST)
            return diag_set(d, n->loc, "plan: constant tensors (%%%d) are not supported by the plan yet", n->id);
        int in0 = n->nin ? n->in[0]->id : -1;
        bool in_view = in0 >= 0 && L.kind[in0] == K_VIEW;
        if (n->op == OP_INPUT || n->op == OP_PARAM) L.kind[i] = K_SRC;
        else if (n->op == OP_ADD_NORM_SUM) { L.kind[i] = K_SUM; L.sum_of[in0] = i; }
        else if (n->op == OP_RESHAPE && !in_view && n->dtype == n->in[0]->dtype) L.kind[i] = K_ALIAS;
        else if (n->op == OP_SLICE && !in_view && slice_is_alias(n, &L.delta[i])) L.kind[i] = K_ALIAS;
        else if (n->op == OP_PERMUTE && !in_view && lower_is_view(n)) L.kind[i] = K_VIEW;
        else L.kind[i] = K_STEP;
    }
    for (int i = 0; i < L.N; i++)
        if (L.kind[i] == K_SUM && !(g->nodes[i]->in[0]->a.flags & ADDNORM_HAS_SUM))
            return diag_set(d, g->nodes[i]->loc, "plan: add_norm_sum %%%d reads an add_norm without ADDNORM_HAS_SUM", i);
    settle(&L);
    if (L.off_overflow)
        return diag_set(d, none, "plan: an alias offset has more than PLAN_MAX_TERMS (%d) terms", PLAN_MAX_TERMS);
    /* A value that is an entry output is computed on every call, so what
     * reads it is not a bind-time constant either. */
    for (int i = 0; i < L.N; i++) {
        if (L.claim[i] >= 0) L.cnst[i] = false;
        Node *n = g->nodes[i];
        for (int j = 0; j < n->nin && L.cnst[i] && L.kind[i] != K_SRC; j++)
            if (!L.cnst[n->in[j]->id]) L.cnst[i] = false;
    }

    /* Buffers. */
    memset(p, 0, sizeof *p);
    p->graph = g;
    p->inputs = tensors(a, g->inputs, g->ninputs, "input");
    p->outputs = tensors(a, g->outputs, g->noutputs, "output");
    p->params = tensors(a, g->params, g->nparams, "param");
    if (!p->inputs || !p->outputs || !p->params) return diag_set(d, none, "out of memory");
    p->ninputs = g->ninputs; p->noutputs = g->noutputs; p->nparams = g->nparams;
    for (int i = 0; i < L.N; i++)
        if (g->nodes[i]->op == OP_SLICE && slice_limits(&L, p, g->nodes[i]) < 0) return -1;
    if (guard_limits(&L, p, g) < 0) return -1;
    for (int i = 0; i < L.N; i++)
        if (g->nodes[i]->op == OP_EMBEDDING && embedding_idcheck(&L, p, g->nodes[i]) < 0) return -1;
    int *alias_of = arena_alloc(a, N1 * 2 * sizeof(int));
    if (!alias_of) return diag_set(d, none, "out of memory");
    for (int i = 0; i < L.N; i++) {
        Node *n = g->nodes[i];
        bool ok;
        PlanBuf pb;
        memset(&pb, 0, sizeof pb);
        pb.bytes = bytes_of(n, &ok);
        pb.what = node_what(a, n);
        L.buf[i] = -1;
        int k = L.kind[i];
        if (k == K_SRC) {
            Node **list = n->op == OP_INPUT ? g->inputs : g->params;
            int cnt = n->op == OP_INPUT ? g->ninputs : g->nparams;
            pb.kind = n->op == OP_INPUT ? BUF_INPUT : BUF_PARAM;
            pb.index = -1;
            for (int j = 0; j < cnt; j++)
                if (list[j] == n) pb.index = j;
            if (pb.index < 0) return diag_set(d, n->loc, "plan: %s %%%d is not listed in the graph", op_info[n->op].name, i);
        } else if (k == K_STEP || k == K_SUM) {
            if (L.claim[i] >= 0) { pb.kind = BUF_OUTPUT; pb.index = L.claim[i]; }
            else if (L.cnst[i]) { pb.kind = BUF_PACKED; pb.index = p->npacked; }
            else pb.kind = BUF_ARENA;
            if (pb.kind != BUF_OUTPUT && !ok) {
                char sb[256];
                return diag_set(d, n->loc, "plan: the size of %s %%%d %s is not a sum of monomials in the symbols",
                                op_info[n->op].name, i, shape_str(g, &n->shape, sb, sizeof sb));
            }
            if (pb.kind == BUF_PACKED) {
                PlanBuf *pk = plan_grow(a, p->packed, p->npacked, &p->cap_packed, sizeof *pk);
                if (!pk) return diag_set(d, none, "out of memory");
                pk[p->npacked] = pb;
                p->packed = pk;
                p->npacked++;
            }
        } else if (L.off[i].n == 0) {
            L.buf[i] = L.buf[L.root[i]];         /* same storage, same buffer */
            continue;
        } else if (k == K_VIEW || L.delta[i].n == 0) {
            L.buf[i] = L.buf[n->in[0]->id];      /* same offset as its input */
            continue;
        } else {
            pb.kind = BUF_ARENA;                 /* offset set after the memory plan */
        }
        int bi = add_buf(&L, p, pb);
        if (bi < 0) return -1;
        L.buf[i] = bi;
        alias_of[bi] = (k == K_ALIAS || k == K_VIEW) ? L.buf[L.root[i]] : -1;
    }
    int nmine = p->nbufs, nslots = 0;
    if (plan_memory(&L, p, &nslots) < 0) return -1;
    for (int i = 0; i < L.N; i++)
        if ((L.kind[i] == K_ALIAS || L.kind[i] == K_VIEW) && L.off[i].n) {
            PlanBuf *b = &p->bufs[L.buf[i]];
            b->offset = p->bufs[L.buf[L.root[i]]].offset;
            if (!poly_add_poly(&b->offset, &L.off[i])) return diag_set(d, none, "plan: an offset has more than PLAN_MAX_TERMS (%d) terms", PLAN_MAX_TERMS);
        }

    /* Steps. */
    for (int i = 0; i < L.N; i++) {
        if (L.kind[i] != K_STEP) continue;
        Node *n = g->nodes[i];
        int *in_bufs = arena_alloc(a, (size_t)(n->nin + 1) * sizeof *in_bufs);
        if (!in_bufs) return diag_set(d, none, "out of memory");
        for (int j = 0; j < n->nin; j++) in_bufs[j] = L.buf[n->in[j]->id];
        in_bufs[n->nin] = -1;
        if (n->op == OP_ADD_NORM && (n->a.flags & ADDNORM_HAS_SUM)) {
            if (L.sum_of[i] < 0) return diag_set(d, n->loc, "plan: add_norm %%%d keeps its sum but nothing reads it", i);
            in_bufs[n->nin] = L.buf[L.sum_of[i]];
        }
        /* Part 0, then the further parts the backend asks for (lower.h). */
        for (int part = 0, nparts = 1; part < nparts; part++) {
            PlanStep st;
            memset(&st, 0, sizeof st);
            st.part = part;
            st.bind_const = L.cnst;
            LtcDiag bd;
            memset(&bd, 0, sizeof bd);
            if (lower(be, p, n, in_bufs, L.buf[i], &st, &bd) < 0) {
                char sb[256];
                if (info) {
                    info->refused = n;
                    info->refused_why = arena_printf(a, "%s", bd.msg[0] ? bd.msg : "refused by the backend");
                }
                return diag_set(d, n->loc, "cannot lower %s %%%d %s: %s", op_info[n->op].name, i,
                                shape_str(g, &n->shape, sb, sizeof sb), bd.msg[0] ? bd.msg : "refused by the backend");
            }
            if (part == 0 && st.nparts > 1) nparts = st.nparts;
            if (st.nbufs < 0 || st.nbufs > PLAN_MAX_ARGS || st.ndims < 0 || st.ndims > PLAN_MAX_DIMS)
                return diag_set(d, n->loc, "plan: %s %%%d: a step has %d buffers and %d dims (limits: PLAN_MAX_ARGS %d, "
                                "PLAN_MAX_DIMS %d)", op_info[n->op].name, i, st.nbufs, st.ndims, PLAN_MAX_ARGS,
                                PLAN_MAX_DIMS);
            int rc = L.cnst[i] ? add_step(&L, &p->prepack, &p->nprepack, &p->cap_prepack, &st)
                               : add_step(&L, &p->steps, &p->nsteps, &p->cap_steps, &st);
            if (rc < 0) return -1;
        }
    }
    if (info) {
        info->alias_of = alias_of;
        info->nbufs = nmine;
        info->nslots = nslots;
    }
    *out = p;
    return 0;
}

/* ---- --emit plan ------------------------------------------------------------------------ */
const char *plan_buf_kind_name(BufKind k) {
    switch (k) {
    case BUF_INPUT: return "input";
    case BUF_OUTPUT: return "output";
    case BUF_PARAM: return "param";
    case BUF_PACKED: return "packed";
    case BUF_ARENA: return "arena";
    }
    return "?";
}

void plan_print(const Plan *p, SymBind ex, StrBuf *out) {
    const Graph *g = p->graph;
    int64_t sv[LTC_MAX_SYMS] = {0};
    for (int i = 0; i < LTC_MAX_SYMS && i < ex.n; i++) sv[i] = ex.vals[i];
    for (int i = ex.n; g && i < g->nsyms; i++) sv[i] = g->syms[i].example;   /* unbound: the trace's example */
    char sb[256];
    sb_printf(out, "plan %s: %d kernels, %d steps, %d prepack steps, %d buffers\n", g && g->name ? g->name : "?",
              p->nkernels, p->nsteps, p->nprepack, p->nbufs);
    if (g && g->nsyms) {
        sb_puts(out, "  example");
        for (int i = 0; i < g->nsyms; i++) sb_printf(out, " %s=%lld", g->syms[i].name, (long long)sv[i]);
        sb_putc(out, '\n');
    }
    for (int i = 0; i < p->ninputs; i++)
        sb_printf(out, "  input %d %s: %s%s\n", i, p->inputs[i].name, dtype_name(p->inputs[i].dtype),
                  shape_str(g, &p->inputs[i].shape, sb, sizeof sb));
    for (int i = 0; i < p->noutputs; i++)
        sb_printf(out, "  output %d %s: %s%s\n", i, p->outputs[i].name, dtype_name(p->outputs[i].dtype),
                  shape_str(g, &p->outputs[i].shape, sb, sizeof sb));
    for (int i = 0; i < p->nparams; i++)
        sb_printf(out, "  param %d %s: %s%s\n", i, p->params[i].name, dtype_name(p->params[i].dtype),
                  shape_str(g, &p->params[i].shape, sb, sizeof sb));
    if (p->nlimits) sb_puts(out, "limits (checked at run time):\n");
    for (int i = 0; i < p->nlimits; i++) {
        char rule[256];
        sb_printf(out, "  %s  %s\n", plan_limit_rule(p, &p->limits[i], rule, sizeof rule),
                  p->limits[i].what ? p->limits[i].what : "");
    }
    if (p->nidchecks) sb_puts(out, "id checks (checked at run time):\n");
    for (int i = 0; i < p->nidchecks; i++) {
        const PlanIdCheck *c = &p->idchecks[i];
        const char *in = c->input >= 0 && c->input < p->ninputs ? p->inputs[c->input].name : "?";
        sb_printf(out, "  input %d %s in [0, %lld)  %s\n", c->input, in, (long long)c->num, c->what ? c->what : "");
    }
    sb_puts(out, "buffers:\n");
    for (int i = 0; i < p->nbufs; i++) {
        const PlanBuf *b = &p->bufs[i];
        sb_printf(out, "  b%-3d %-6s", i, plan_buf_kind_name(b->kind));
        if (b->kind == BUF_ARENA) {
            sb_puts(out, " @");
            poly_str(g, &b->offset, out);
            sb_printf(out, " (%lld)", (long long)poly_eval(&b->offset, sv));
        } else {
            sb_printf(out, " #%d", b->index);
        }
        sb_puts(out, " bytes ");
        poly_str(g, &b->bytes, out);
        sb_printf(out, " (%lld)  %s\n", (long long)poly_eval(&b->bytes, sv), b->what ? b->what : "");
    }
    sb_puts(out, "kernels:\n");
    for (int i = 0; i < p->nkernels; i++) {
        const PlanKernel *k = &p->kernels[i];
        sb_printf(out, "  k%-3d %-28s %-16s", i, k->name, k->family ? k->family : "?");
        if (k->node) sb_printf(out, " %%%d %s%s", k->node->id, op_info[k->node->op].name,
                               shape_str(g, &k->node->shape, sb, sizeof sb));
        sb_putc(out, '\n');
    }
    for (int pass = 0; pass < 2; pass++) {
        const PlanStep *steps = pass ? p->steps : p->prepack;
        int n = pass ? p->nsteps : p->nprepack;
        sb_puts(out, pass ? "steps:\n" : "prepack:\n");
        for (int i = 0; i < n; i++) {
            const PlanStep *s = &steps[i];
            sb_printf(out, "  s%-3d k%d bufs", i, s->kernel);
            for (int j = 0; j < s->nbufs; j++) sb_printf(out, " b%d", s->bufs[j]);
            sb_puts(out, " tiles ");
            poly_str(g, &s->ntiles, out);
            sb_printf(out, " (%lld)\n", (long long)poly_eval(&s->ntiles, sv));
        }
    }
    sb_printf(out, "peak scratch: %lld bytes at the example sizes; formula ", (long long)poly_eval(&p->arena_bytes, sv));
    poly_str(g, &p->arena_bytes, out);
    sb_putc(out, '\n');
}
