/* torch_gqa.c: the builtins for grouped- and multi-query attention.
 *
 *   tensor_repeat_interleave x repeats (dim)   torch.repeat_interleave with
 *       an integer `repeats`: each slice along dim appears `repeats` times
 *       in a row ([a, b] -> [a, a, b, b]); without dim, x is flattened
 *       first.  Traced as reshape (a 1 after dim), expand, reshape, the
 *       pattern the gqa pass folds into an sdpa head group.
 *   tensor_expand x sizes                      torch.Tensor.expand: sizes
 *       aligned on the right, -1 keeps a dim, size-1 dims grow, new
 *       leading dims are allowed (not -1).  No data is copied in torch;
 *       here it is an `expand` node (a copy unless a pass removes it).
 *
 * t_sdpa_group is SDPA with K/V heads shared by groups of query heads
 * (torch's enable_gqa=True: K and V repeat_interleave'd Hq/Hkv times along
 * dim -3), as one sdpa node with head group a.i = Hq/Hkv. */
#define LTC_TORCH_BUILTINS
#include "frontend/torch.h"

#include <math.h>
#include <string.h>

static Dim list_dim(Interp *I, Value *call, Value *e, int k, int i) {
    if (e && e->kind == V_INT) return e->sym.sym ? e->sym : dim_const(e->i);
    if (e && e->kind == V_NUM && e->n == floor(e->n) && fabs(e->n) < 9.0e15) return dim_const((int64_t)e->n);
    lisp_fail(I, loc_of(call), "%s: argument %d (sizes) must hold integers, item %d is %s", t_fname(call), k + 1, i,
              t_kind(I, e));
    return dim_const(0);
}

BI(bi_expand) {
    Node *x = T(0);
    Value *l = args[1];
    if (!l || l->kind != V_LIST)
        lisp_fail(I, loc_of(call), "%s: argument 2 (sizes) must be a list of integers, got %s", t_fname(call),
                  t_kind(I, l));
    int r = x->shape.rank, n = l->nitems;
    if (n > LTC_MAX_RANK)
        lisp_fail(I, loc_of(call), "%s: argument 2 (sizes) has more than %d dimensions", t_fname(call), LTC_MAX_RANK);
    if (n < r)
        lisp_fail(I, loc_of(call), "%s: %d sizes for a tensor of rank %d (expand cannot drop dimensions)",
                  t_fname(call), n, r);
    Attr a;
    memset(&a, 0, sizeof a);
    a.shape.rank = n;
    for (int i = 0; i < n; i++) {
        Dim s = list_dim(I, call, l->items[i], 1, i);
        int j = i - (n - r);                    /* the input dim it aligns with */
        if (s.sym == 0 && s.k == -1) {
            if (j < 0) lisp_fail(I, loc_of(call), "%s: size -1 is not allowed for the new leading dimension %d",
                                 t_fname(call), i);
            s = x->shape.d[j];
        } else if (s.sym == 0 && s.k < 0) {
            lisp_fail(I, loc_of(call), "%s: size %lld at dimension %d is negative", t_fname(call), (long long)s.k, i);
        }
        a.shape.d[i] = s;
    }
    RET(t_emit(I, call, OP_EXPAND, &x, 1, &a));
}

Node *t_repeat_interleave(Interp *I, Value *call, Node *x, int64_t rep, int dim) {
    int r = x->shape.rank;
    if (rep == 1) return x;
    if (r + 1 > LTC_MAX_RANK) lisp_fail(I, loc_of(call), "%s: rank would exceed %d", t_fname(call), LTC_MAX_RANK);
    Shape u = {.rank = r + 1}, e, o = x->shape;
    for (int i = 0, j = 0; i <= r; i++) u.d[i] = i == dim + 1 ? dim_const(1) : x->shape.d[j++];
    e = u;
    e.d[dim + 1] = dim_const(rep);
    if (!dim_mul(x->shape.d[dim], dim_const(rep), &o.d[dim]))
        lisp_fail(I, loc_of(call), "%s: the size along dimension %d overflows", t_fname(call), dim);
    Node *a = t_reshape(I, call, x, &u);
    Attr ea;
    memset(&ea, 0, sizeof ea);
    ea.shape = e;
    Node *b = t_emit(I, call, OP_EXPAND, &a, 1, &ea);
    return t_reshape(I, call, b, &o);
}

BI(bi_repeat_interleave) {
    Node *x = T(0);
    Value *rv = args[1];
    if (rv && rv->kind == V_TENSOR)
        lisp_fail(I, loc_of(call), "%s: argument 2 (repeats) must be an integer (a tensor of repeats is not supported)",
                  t_fname(call));
    int64_t rep = arg_int(I, call, args, 1);
    if (rep < 1)
        lisp_fail(I, loc_of(call), "%s: argument 2 (repeats) must be at least 1, got %lld", t_fname(call), (long long)rep);
    if (rep > (int64_t)1 << 31)
        lisp_fail(I, loc_of(call), "%s: argument 2 (repeats) %lld is too large", t_fname(call), (long long)rep);
    int dim = 0;
    if (t_given(args, nargs, 2)) {
        dim = t_axis(I, call, 2, arg_int(I, call, args, 2), x->shape.rank);
    } else {                                    /* torch: flatten, then repeat each element */
        Shape f = {.rank = 1, .d = {shape_numel(&x->shape)}};
        if (f.d[0].k < 0) lisp_fail(I, loc_of(call), "%s: cannot flatten the input (its size is no monomial)", t_fname(call));
        x = t_reshape(I, call, x, &f);
    }
    RET(t_repeat_interleave(I, call, x, rep, dim));
}

Node *t_sdpa_group(Interp *I, Value *call, Node *q, Node *k, Node *v, Node *mask, double scale, bool causal,
                   double p, bool training) {
    const Shape *qs = &q->shape, *ks = &k->shape, *vs = &v->shape;
    if (qs->rank < 3 || ks->rank < 3 || vs->rank < 3)
        lisp_fail(I, loc_of(call), "%s: enable_gqa needs query, key and value with a head dimension (-3)", t_fname(call));
    Dim hq = qs->d[qs->rank - 3], hk = ks->d[ks->rank - 3], hv = vs->d[vs->rank - 3];
    if (!dim_eq(hk, hv))
        lisp_fail(I, loc_of(call), "%s: enable_gqa: key and value have different numbers of heads (dim -3)",
                  t_fname(call));
    if (hq.sym != hk.sym || hk.k < 1 || hq.k % hk.k != 0)
        lisp_fail(I, loc_of(call), "%s: enable_gqa: the query heads (dim -3) must be a multiple of the key/value heads",
                  t_fname(call));
    Attr a;
    memset(&a, 0, sizeof a);
    a.scale = scale;
    a.causal = causal;
    a.i = hq.k / hk.k;                          /* 1: ordinary attention */
    if (a.i == 1) a.i = 0;
    if (training && p > 0) { a.p = p; a.training = true; a.seed = t_next_seed(I); }
    Node *in[4] = {q, k, v, mask};
    return t_emit(I, call, OP_SDPA, in, mask ? 4 : 3, &a);
}

const Builtin torch_gqa_builtins[] = {
    {"tensor_expand", 2, 2, bi_expand, "torch_expand"},
    {"tensor_repeat_interleave", 2, 3, bi_repeat_interleave, "torch_repeat_interleave"},
    {NULL, 0, 0, NULL, NULL},
};
