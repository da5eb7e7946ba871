/* dtype.c: the whole graph in another float dtype (--dtype bf16|f16),
 * PyTorch's `model.to(torch.bfloat16)` applied to the traced entry.
 *
 * Every f32 tensor of the graph becomes the chosen dtype: float inputs,
 * parameters, constants, intermediate values and outputs; the float
 * sources and casts (`full`, `rand`, `arange`, `cast` to f32) make the
 * dtype instead.  i64 and bool stay.  A PARAM takes its value from an
 * eager node: its origin becomes a cast of that node to the dtype in the
 * eager pool (one per origin, shared by every entry), so the interpreter,
 * `--save-weights` and the weights beside a model.so all see the rounded
 * values under the parameter's own name.  A CONST's values are rounded
 * into a copy.  The interpreter run on the converted graph is the
 * reference of the compiled kernels (it rounds after every op).
 *
 * Idempotent (nothing f32 is left after it), so the driver may apply it
 * early (before --save-weights) and the pipeline again.  f32: nothing. */
#include "ir/passes/passes.h"

#include <string.h>

/* The eager cast of origin to t: an existing one (a second entry, or a
 * second run of the pass) or a new one. */
static Node *param_origin(Node *origin, DType t, LtcDiag *d) {
    Graph *pool = origin->graph;
    for (int i = 0; pool && i < pool->nnodes; i++) {
        Node *n = pool->nodes[i];
        if (n->op == OP_CAST && n->nin == 1 && n->in[0] == origin && n->dtype == t && !n->freed) return n;
    }
    if (!pool) return NULL;
    Attr a;
    memset(&a, 0, sizeof a);
    a.dtype = t;
    Node *in[1] = {origin};
    return ir_emit(pool, OP_CAST, in, 1, &a, origin->loc, d);
}

int pass_to_dtype(Graph *g, DType t, LtcDiag *d) {
    if (t == DT_F32) return 0;
    if (t != DT_BF16 && t != DT_F16) return diag_set(d, (SrcLoc){0}, "--dtype: %s is not a float dtype", dtype_name(t));
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        bool src_attr = n->op == OP_CAST || n->op == OP_FULL || n->op == OP_RAND || n->op == OP_RANDN ||
                        n->op == OP_ARANGE || n->op == OP_INPUT || n->op == OP_PARAM || n->op == OP_CONST;
        if (src_attr && n->a.dtype == DT_F32 && n->dtype == DT_F32) n->a.dtype = t;
        if (n->dtype != DT_F32) continue;
        if (n->op == OP_PARAM && n->origin) {
            Node *o = param_origin(n->origin, t, d);
            if (!o) return -1;
            n->origin = o;
        }
        if (n->op == OP_CONST && n->data) {
            Dim ne = shape_numel(&n->shape);
            if (ne.k < 0 || ne.sym != 0)
                return diag_set(d, n->loc, "--dtype: constant '%s' of symbolic size", n->name ? n->name : "?");
            size_t cnt = (size_t)ne.k, bytes;
            if (__builtin_mul_overflow(cnt, sizeof(float), &bytes)) return diag_set(d, n->loc, "--dtype: constant too large");
            float *c = arena_alloc_big(g->arena, bytes ? bytes : 1);
            if (!c) return diag_set(d, n->loc, "out of memory");
            const float *src = n->data;
            for (size_t j = 0; j < cnt; j++) c[j] = round_to_dtype(t, src[j]);
            n->data = c;
        }
        n->dtype = t;
    }
    return 0;
}

int pass_dtype(Graph *g, PassCtx *c) {
    DType t = c->o ? c->o->dtype : DT_F32;
    if (t == DT_F32) return 0;
    if (pass_to_dtype(g, t, c->d) != 0) return -1;
    if (c->r) sb_printf(&c->r->text, "dtype: every f32 tensor made %s\n", dtype_name(t));
    return 0;
}
