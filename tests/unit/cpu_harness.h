/* cpu_harness.h: run one graph node through the CPU backend and through
 * the reference interpreter, for the cpu_* unit tests.
 *
 * A test builds a traced graph whose last node is the op under test (its
 * inputs are INPUT nodes, or PARAMs made from eager nodes), then
 * h_check(node, tol) lowers that node alone into a hand-assembled Plan,
 * JIT-compiles it, runs the prepack steps and the step over its tiles
 * (in a few uneven tile ranges, as the thread pool would), and compares
 * with ir_run: max |err| / max |ref| <= tol. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/backend.h"
#include "codegen/lower.h"

typedef void (*KernelFn)(void *const *, const int64_t *, const float *, int64_t, int64_t);

typedef struct H {
    Arena a;
    Graph *eager, *g;
    LtcDiag d;
    Backend *be;
    uint64_t rng;
} H;

static H h;
static uint64_t h_call;   /* call number given to kernels and to ir_run (dropout masks) */
#define H_MAXIN 8
static void *h_in_data[H_MAXIN];   /* INPUT data, in input order */
static int h_nin;

static void h_setup(void) {
    memset(&h, 0, sizeof h);
    arena_init(&h.a);
    h.eager = graph_new(&h.a, "<eager>", true);
    h.eager->seed = 1234;
    h.g = graph_new(&h.a, "t", false);
    const char *cpu = getenv("LTC_TEST_CPU");   /* e.g. x86-64-v3 */
    BackendOptions o = {.cpu = cpu ? cpu : "native", .opt_level = 3,
                        .time_passes = getenv("LTC_TIME_PASSES") != NULL};
    h.be = backend_new("cpu", &h.a, &o, &h.d);
    cr_assert(h.be, "%s", h.d.msg);
    h.rng = 88172645463325252ull;
    h_nin = 0;
    h_call = 0;
}

/* a fresh traced graph (same backend), for several checks in one test */
__attribute__((unused)) static void h_fresh(void) {
    h.g = graph_new(&h.a, "t", false);
    h_nin = 0;
}

/* switch the backend to another target (e.g. the portable AVX2 baseline) */
__attribute__((unused)) static void h_use_cpu(const char *cpu) {
    h.be->destroy(h.be);
    BackendOptions o = {.cpu = cpu, .opt_level = 3};
    h.be = backend_new("cpu", &h.a, &o, &h.d);
    cr_assert(h.be, "%s", h.d.msg);
}

static void h_teardown(void) {
    if (h.be) h.be->destroy(h.be);
    arena_free(&h.a);
}

__attribute__((unused)) static float h_rand(void) {   /* xorshift, uniform in [-1, 1) */
    h.rng ^= h.rng << 13; h.rng ^= h.rng >> 7; h.rng ^= h.rng << 17;
    return (float)((h.rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

__attribute__((unused)) static Shape h_shape(int rank, const int64_t *d) {
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++) s.d[i] = dim_const(d[i]);
    return s;
}


/* dims[i] < 0 means symbol number -dims[i]-1 of h.g (at its example value) */
__attribute__((unused)) static Node *h_input(int rank, const int64_t *dims0, DType t) {
    int64_t dims[LTC_MAX_RANK];
    Shape s = h_shape(rank, dims0);
    for (int i = 0; i < rank; i++) {
        dims[i] = dims0[i];
        if (dims0[i] < 0) {
            int sym = (int)(-dims0[i] - 1);
            s.d[i] = (Dim){1, 1u << sym};
            dims[i] = h.g->syms[sym].example;
        }
    }
    Node *n = ir_input(h.g, "x", t, &s, (SrcLoc){0});
    cr_assert(n);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= (size_t)dims[i];
    void *p = arena_alloc_big(&h.a, numel * dtype_storage_size(t) + 64);
    for (size_t i = 0; i < numel; i++) {
        if (t == DT_F32) ((float *)p)[i] = h_rand();
        else if (t == DT_BOOL) ((uint8_t *)p)[i] = h_rand() > -0.6f;
        else if (t == DT_I64) ((int64_t *)p)[i] = (int64_t)((h_rand() + 1) * 0.5 * 7);
    }
    cr_assert(h_nin < H_MAXIN);
    h_in_data[h_nin++] = p;
    return n;
}

/* A PARAM: an eager node with random data, used by the traced graph. */
__attribute__((unused)) static Node *h_param(int rank, const int64_t *dims) {
    Shape s = h_shape(rank, dims);
    Node *e = ir_input(h.eager, "w", DT_F32, &s, (SrcLoc){0});
    cr_assert(e);
    size_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= (size_t)dims[i];
    float *p = arena_alloc_big(&h.a, numel * 4 + 64);
    for (size_t i = 0; i < numel; i++) p[i] = h_rand();
    e->data = p;
    Node *n = ir_param_for(h.g, e);
    cr_assert(n);
    return n;
}

__attribute__((unused)) static Node *h_emit(Op op, Node **in, int nin, const Attr *a) {
    Attr z;
    memset(&z, 0, sizeof z);
    Node *n = ir_emit(h.g, op, in, nin, a ? a : &z, (SrcLoc){0}, &h.d);
    cr_assert(n, "ir_emit %s: %s", op_info[op].name, h.d.msg);
    return n;
}

__attribute__((unused)) static int64_t h_poly(const Poly *p) {
    int64_t s = 0;
    for (int i = 0; i < p->n; i++) {
        int64_t t = p->t[i].k;
        for (int j = 0; j < h.g->nsyms; j++)
            if (p->t[i].sym >> j & 1) t *= h.g->syms[j].example;
        s += t;
    }
    return s;
}

__attribute__((unused)) static void h_run_step(KernelFn fn, const PlanStep *s, void **bufp, int split) {
    void *ptrs[PLAN_MAX_ARGS];
    int64_t dims[PLAN_MAX_DIMS + 1];
    for (int i = 0; i < s->nbufs; i++) ptrs[i] = bufp[s->bufs[i]];
    for (int i = 0; i < s->ndims; i++) dims[i] = h_poly(&s->dims[i]);
    dims[s->ndims] = (int64_t)h_call;      /* the call number (plan.h) */
    int64_t nt = h_poly(&s->ntiles);
    /* uneven ranges, as a pool of `split` threads might cut them */
    int64_t t = 0;
    for (int k = 1; k <= split; k++) {
        int64_t e = k == split ? nt : nt * k / (split + 1);
        if (e > t) { fn(ptrs, dims, s->f, t, e); t = e; }
    }
}

/* Run a step on `nth` threads, each a contiguous share of the tiles. */
#include <pthread.h>
typedef struct HThr { KernelFn fn; void **ptrs; int64_t *dims; const float *f; int64_t t0, t1; } HThr;
static void *h_thr_main(void *arg) {
    HThr *t = arg;
    if (t->t1 > t->t0) t->fn(t->ptrs, t->dims, t->f, t->t0, t->t1);
    return NULL;
}
__attribute__((unused)) static void h_run_threads(KernelFn fn, const PlanStep *s, void **bufp, int nth) {
    void *ptrs[PLAN_MAX_ARGS];
    int64_t dims[PLAN_MAX_DIMS + 1];
    for (int i = 0; i < s->nbufs; i++) ptrs[i] = bufp[s->bufs[i]];
    for (int i = 0; i < s->ndims; i++) dims[i] = h_poly(&s->dims[i]);
    dims[s->ndims] = (int64_t)h_call;      /* the call number (plan.h) */
    int64_t nt = h_poly(&s->ntiles);
    pthread_t th[16];
    HThr a[16];
    for (int k = 0; k < nth && k < 16; k++) {
        a[k] = (HThr){fn, ptrs, dims, s->f, nt * k / nth, nt * (k + 1) / nth};
        cr_assert(pthread_create(&th[k], NULL, h_thr_main, &a[k]) == 0);
    }
    for (int k = 0; k < nth && k < 16; k++) pthread_join(th[k], NULL);
}

/* Lower n alone, run it, compare with the interpreter.  Returns rel err. */
__attribute__((unused)) static double h_check_out(Node *n, double tol, float **out_backend) {
    Graph *g = h.g;
    ir_add_output(g, n);
    /* reference */
    int64_t (*ish)[LTC_MAX_RANK] = arena_alloc(&h.a, (size_t)(g->ninputs + 1) * sizeof *ish);
    for (int i = 0; i < g->ninputs; i++)
        for (int j = 0; j < g->inputs[i]->shape.rank; j++) ish[i][j] = h_poly(&(Poly){1, {g->inputs[i]->shape.d[j]}});
    void *outs[1];
    int64_t osh[1][LTC_MAX_RANK];
    RunArgs ra = {.inputs = h_in_data, .in_shapes = ish, .outputs = outs, .out_shapes = osh, .call = h_call};
    cr_assert(ir_run(g, &ra, &h.a, &h.d) == 0, "ir_run: %s", h.d.msg);

    /* plan: one buffer per node, the node's value as the only step */
    Plan *p = arena_alloc(&h.a, sizeof *p);
    p->graph = g;
    p->bufs = arena_alloc(&h.a, (size_t)g->nnodes * sizeof *p->bufs);
    p->nbufs = g->nnodes;
    void **bufp = arena_alloc(&h.a, (size_t)(g->nnodes + 16) * sizeof *bufp);
    for (int i = 0; i < g->ninputs; i++) bufp[g->inputs[i]->id] = h_in_data[i];
    for (int i = 0; i < g->nparams; i++) bufp[g->params[i]->id] = g->params[i]->origin->data;
    size_t numel = 1;      /* dim by dim: S*S is no monomial */
    for (int i = 0; i < n->shape.rank; i++) numel *= (size_t)h_poly(&(Poly){1, {n->shape.d[i]}});
    size_t bytes = numel * dtype_storage_size(n->dtype);
    float *out = arena_alloc_big(&h.a, bytes + 64);
    for (size_t i = 0; i < bytes / 4; i++) out[i] = NAN;   /* catch unwritten elements */
    bufp[n->id] = out;
    int in_bufs[PLAN_MAX_ARGS + 1];
    for (int i = 0; i < n->nin; i++)   /* a view reads its input's buffer (codegen/lower.h) */
        in_bufs[i] = lower_is_view(n->in[i]) ? n->in[i]->in[0]->id : n->in[i]->id;
    in_bufs[n->nin] = -1;                       /* as codegen/lower.c: no extra buffer */
    /* bind-time constants as codegen/lower.c decides them: parameters and
     * what is computed from them alone (a linear's weight is packed) */
    bool *bind_const = arena_alloc(&h.a, (size_t)g->nnodes + 1);
    for (int i = 0; i < g->nnodes; i++) {
        const Node *x = g->nodes[i];
        bool c = x->op == OP_PARAM || (x->nin > 0 && !(op_info[x->op].flags & OPF_RANDOM));
        for (int k = 0; k < x->nin && c && x->op != OP_PARAM; k++) c = bind_const[x->in[k]->id];
        bind_const[i] = c;
    }
    PlanStep step;
    memset(&step, 0, sizeof step);
    step.bind_const = bind_const;
    cr_assert(lower_node(h.be, p, n, in_bufs, n->id, &step, &h.d) == 0, "lower: %s", h.d.msg);
    for (int i = g->nnodes; i < p->nbufs; i++) {          /* packed buffers */
        cr_assert(p->bufs[i].kind == BUF_PACKED);
        bufp[i] = arena_alloc_big(&h.a, (size_t)h_poly(&p->bufs[i].bytes) + 64);
    }
    cr_assert(h.be->generate(h.be, &p, 1, NULL, &h.d) == 0, "generate: %s", h.d.msg);
    for (int i = 0; i < p->nprepack; i++) {
        void *fn;
        cr_assert(h.be->jit_lookup(h.be, p->kernels[p->prepack[i].kernel].name, &fn, &h.d) == 0, "%s", h.d.msg);
        h_run_step((KernelFn)fn, &p->prepack[i], bufp, 1);
    }
    void *fn;
    cr_assert(h.be->jit_lookup(h.be, p->kernels[step.kernel].name, &fn, &h.d) == 0, "%s", h.d.msg);
    h_run_step((KernelFn)fn, &step, bufp, 3);

    double maxerr = 0, maxref = 0;
    size_t ne = bytes / dtype_storage_size(n->dtype);
    const float *ref = outs[0];
    for (size_t i = 0; i < ne; i++) {
        double r, x;
        if (n->dtype == DT_I64) { r = (double)((int64_t *)outs[0])[i]; x = (double)((int64_t *)out)[i]; }
        else if (n->dtype == DT_BOOL) { r = ((uint8_t *)outs[0])[i]; x = ((uint8_t *)out)[i]; }
        else { r = ref[i]; x = out[i]; }
        if (isnan(r) && isnan(x)) continue;
        double e = fabs(r - x);
        if (!(e <= maxerr)) maxerr = isnan(e) ? INFINITY : e;
        if (fabs(r) > maxref) maxref = fabs(r);
    }
    double rel = maxerr / (maxref > 0 ? maxref : 1);
    if (out_backend) *out_backend = out;
    cr_expect(rel <= tol, "%s: rel err %.3g > %.3g", op_info[n->op].name, rel, tol);
    return rel;
}

__attribute__((unused)) static double h_check(Node *n, double tol) { return h_check_out(n, tol, NULL); }
