/* call.c: the function JIT's side of the engine (ir.h CallHook; the
 * frontend's side is frontend/jit_call.c, docs/jit.md).
 *
 * A traced call arrives as a graph with symbolic INPUTs and PARAMs whose
 * origins are eager values.  It is planned and cached like a region
 * (engine_prepare): the key is the serialised plan, which names symbols,
 * not their values, so the next call at another batch size or sequence
 * length — or the same function on the next layer's weights — finds the
 * same code.  The call binds the symbols from its arguments' shapes (the
 * runtime checks every dim and the plan's limits), its parameters from
 * the PARAMs' origins, and writes its results into new eager tensors. */
#include "engine/engine_internal.h"

#include <stdlib.h>
#include <string.h>

static bool dtype_ok(DType t) { return t == DT_F32 || t == DT_I64 || t == DT_BOOL; }

/* Why g is not sent to the compiler, or NULL: random ops keep the
 * interpreter's values (the eager path draws them), dtypes the JIT does
 * not compile.  *worth: a GEMM or attention. */
static const char *not_compiled(Engine *e, const Graph *g, bool *worth, SrcLoc *where) {
    *worth = false;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *x = g->nodes[i];
        *where = x->loc;
        if (op_info[x->op].flags & OPF_RANDOM)
            return arena_printf(&e->arena, "'%s' draws random numbers, which the eager path draws as the interpreter does",
                                op_info[x->op].name);
        if (!dtype_ok(x->dtype))
            return arena_printf(&e->arena, "the JIT compiles f32, i64 and bool tensors, not %s", dtype_name(x->dtype));
        if (op_info[x->op].flags & (OPF_GEMM | OPF_ATTENTION)) *worth = true;
    }
    return NULL;
}

static int input_index(const Graph *g, const char *name) {
    for (int k = 0; k < g->ninputs; k++)
        if (g->inputs[k]->name && strcmp(g->inputs[k]->name, name) == 0) return k;
    return -1;
}

int engine_call_run(void *ctx, Graph *g, Node *const *in, Node **out, const char *fn, SrcLoc at, LtcDiag *d) {
    Engine *e = ctx;
    e->st.calls++;
    SrcLoc where = at;
    bool worth = false;
    const char *why = not_compiled(e, g, &worth, &where);
    if (why) {
        engine_jit_log(e, at, "call of '%s' runs eagerly: %s (%s:%d:%d)", fn, why,
                       where.file ? where.file->name : "?", where.line, where.col);
        e->st.calls_eager++;
        return 1;
    }
    if (!worth) {
        engine_jit_log(e, at, "call of '%s' runs eagerly by choice: %d nodes without a GEMM or attention", fn,
                       g->nnodes);
        e->st.calls_eager++;
        return 1;
    }
    engine_jit_log(e, at, "call of '%s': %d inputs, %d parameters, %d nodes", fn, g->ninputs, g->nparams, g->nnodes);
    Entry *en = NULL;
    int rc = engine_prepare(e, g, true, at, &en, d);
    if (rc != 0) {
        if (rc > 0) e->st.calls_eager++;
        return rc;
    }
    const Plan *p = en->plan;
    char err[512];
    double t0 = now_ms();

    /* parameters: by their p<k> names, from the origins' values now */
    for (int i = 0; i < p->nparams; i++) {
        int k = atoi(p->params[i].name + 1);
        if (p->params[i].name[0] != 'p' || k < 0 || k >= g->nparams)
            return diag_set(d, at, "jit: bad parameter '%s'", p->params[i].name);
        Node *origin = g->params[k]->origin;
        if (!origin) return diag_set(d, at, "jit: parameter '%s' has no value", p->params[i].name);
        if (ir_force(origin, d) != 0) return -1;
        en->prog.params[i] = origin->data;
    }
    rt_program_free_packed(&en->prog);
    if (rt_prepack(&en->prog, e->dev, err, sizeof err) != 0) return diag_set(d, at, "jit: %s", err);

    /* inputs: by name, then the symbols from their shapes */
    void **ins = calloc((size_t)p->ninputs + 1, sizeof *ins);
    int *ranks = calloc((size_t)p->ninputs + 1, sizeof *ranks);
    const int64_t **shapes = calloc((size_t)p->ninputs + 1, sizeof *shapes);
    int64_t (*dims)[LTC_MAX_RANK] = calloc((size_t)p->ninputs + 1, sizeof *dims);
    void **outs = calloc((size_t)p->noutputs + 1, sizeof *outs);
    rc = 0;
    if (!ins || !ranks || !shapes || !dims || !outs) rc = diag_set(d, at, "out of memory");
    for (int i = 0; rc == 0 && i < p->ninputs; i++) {
        int k = input_index(g, p->inputs[i].name);
        if (k < 0) { rc = diag_set(d, at, "jit: the plan's input '%s' is not the call's", p->inputs[i].name); break; }
        Node *x = in[k];
        if (ir_force(x, d) != 0) { rc = -1; break; }
        ins[i] = x->data;
        ranks[i] = x->shape.rank;
        for (int j = 0; j < x->shape.rank; j++) dims[i][j] = x->shape.d[j].k;
        shapes[i] = dims[i];
    }
    int64_t symvals[LTC_MAX_SYMS] = {0};
    if (rc == 0 && rt_bind_symbols(p, ranks, shapes, symvals, err, sizeof err) != 0)
        rc = diag_set(d, at, "jit: call of '%s': %s", fn, err);
    if (rc == 0 && p->noutputs != g->noutputs)
        rc = diag_set(d, at, "jit: call of '%s': the plan has %d outputs, the trace %d", fn, p->noutputs, g->noutputs);

    /* outputs: new eager tensors of the shapes the symbols give */
    Graph *eager = e->eager;
    for (int i = 0; rc == 0 && i < p->noutputs; i++) {
        int64_t od[LTC_MAX_RANK];
        Attr a;
        memset(&a, 0, sizeof a);
        a.dtype = p->outputs[i].dtype;
        a.shape.rank = p->outputs[i].shape.rank;
        size_t bytes = dtype_storage_size(a.dtype);
        if (plan_tensor_dims(&p->outputs[i], symvals, od) != 0) {
            rc = diag_set(d, at, "jit: call of '%s': output %d has no size at these shapes", fn, i);
            break;
        }
        for (int j = 0; j < a.shape.rank; j++) {
            a.shape.d[j] = dim_const(od[j]);
            if (od[j] < 0 || (od[j] > 0 && bytes > SIZE_MAX / (size_t)od[j])) {
                rc = diag_set(d, at, "jit: call of '%s': output %d is too large", fn, i);
                break;
            }
            bytes *= (size_t)od[j];
        }
        if (rc) break;
        out[i] = ir_emit(eager, OP_CONST, NULL, 0, &a, g->outputs[i]->loc, d);
        if (!out[i]) { rc = -1; break; }
        if (!(outs[i] = eager_alloc(eager, out[i], bytes ? bytes : 1))) rc = diag_set(d, at, "out of memory");
    }
    if (rc == 0 && rt_run(&en->prog, e->dev, &e->scratch, symvals, ins, outs, err, sizeof err) != 0)
        rc = diag_set(d, at, "jit: call of '%s': %s", fn, err);
    for (int i = 0; rc == 0 && i < p->noutputs; i++) out[i]->data = outs[i];
    free(ins);
    free(ranks);
    free(shapes);
    free(dims);
    free(outs);
    engine_phase(e, "jit-run", t0);
    if (rc == 0) e->st.calls_compiled++;
    return rc;
}

/* A call that could not be traced: a note (once per place and reason),
 * by choice a log line. */
void engine_call_eager(void *ctx, const char *fn, SrcLoc at, SrcLoc where, const char *why, bool by_choice) {
    Engine *e = ctx;
    e->st.calls++;
    e->st.calls_eager++;
    const char *w = where.file ? arena_printf(&e->arena, " (%s:%d:%d)", where.file->name, where.line, where.col) : "";
    engine_jit_log(e, at, "call of '%s' runs eagerly: %s%s", fn, why, w ? w : "");
    if (by_choice) return;
    for (Noted *n = e->noted; n; n = n->next)
        if (n->loc.file == at.file && n->loc.line == at.line && n->loc.col == at.col && strcmp(n->why, why) == 0)
            return;
    Noted *n = arena_alloc(&e->arena, sizeof *n);
    const char *wcopy = arena_printf(&e->arena, "%s", why);
    if (!n || !wcopy) return;
    *n = (Noted){at, wcopy, e->noted};
    e->noted = n;
    if (e->log.note) {
        char msg[1200];
        snprintf(msg, sizeof msg, "'%s' runs eagerly, not compiled: %s%s", fn, why, w ? w : "");
        e->log.note(e->log.ctx, at, msg);
    }
}
