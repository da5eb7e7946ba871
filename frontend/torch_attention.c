/* torch_attention.c: the Flash Attention module and the functional
 * attention entry points, decomposed into LINEAR / RESHAPE / PERMUTE / SDPA
 * so the compiler's passes see (and fuse) the attention core. */
#define LTC_TORCH_BUILTINS
#include "frontend/torch.h"

#include <math.h>
#include <string.h>


static int64_t arg_pos(Interp *I, Value *call, Value **args, int k, const char *what) {
    Value *v = args[k];
    if (!v || v->kind != V_INT || v->sym.sym || v->i <= 0)
        lisp_fail(I, loc_of(call), "%s: argument %d (%s) must be a positive integer, got %s",
                  t_fname(call), k + 1, what, t_kind(I, v));
    return v->i;
}

/* A scale: a number, the first item of a list, or a one-element tensor. */
static double arg_scale(Interp *I, Value *call, Value *v, int k) {
    if (v->kind == V_LIST && v->nitems > 0) v = v->items[0];
    if (v->kind == V_INT && !v->sym.sym) return (double)v->i;
    if (v->kind == V_NUM) return v->n;
    if (v->kind == V_TENSOR) {
        const Builtin *b = interp_builtin(I, "tensor_item");
        if (b) {
            Value *item = b->fn(I, &v, 1, call);
            return item->kind == V_INT ? (double)item->i : item->n;
        }
    }
    lisp_fail(I, loc_of(call), "%s: argument %d (scale) must be a number, got %s", t_fname(call), k + 1, t_kind(I, v));
}

static double arg_p(Interp *I, Value *call, Value **args, int nargs, int k) {
    if (!t_given(args, nargs, k)) return 0.0;
    Value *v = args[k];
    double p = v->kind == V_INT && !v->sym.sym ? (double)v->i : v->kind == V_NUM ? v->n : -1;
    if (p < 0 || p > 1)
        lisp_fail(I, loc_of(call), "%s: argument %d (dropout_p) must be a number in [0, 1]", t_fname(call), k + 1);
    return p;
}

/* ---- FlashAttention(E, H, dropout, bias) -------------------------------------- */
BI(bi_flash_create) {
    Value *v = v_module(I, MOD_FLASH_ATTENTION);
    Module *m = v->mod;
    if (!m->fields && !(m->fields = arena_alloc(I->arena, sizeof(Dict))))
        lisp_fail(I, loc_of(call), "out of memory");
    int64_t E = arg_pos(I, call, args, 0, "embed_dim");
    int64_t H = arg_pos(I, call, args, 1, "num_heads");
    if (E % H)
        lisp_fail(I, loc_of(call), "%s: embed_dim must be divisible by num_heads (%lld %% %lld != 0)",
                  t_fname(call), (long long)E, (long long)H);
    double p = arg_p(I, call, args, nargs, 2);
    /* an explicit false/nil/0 means no bias (lispe_torch turns false into true) */
    bool bias = nargs > 3 ? t_arg_bool(args, nargs, 3, false) : true;
    m->ints[0] = E; m->ints[1] = H; m->ints[2] = bias; m->nums[0] = p;
    /* weights xavier_uniform U(+-sqrt(6/(E+E))); biases Linear's U(+-1/sqrt(E)) */
    static const char *names[4] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    for (int i = 0; i < 4; i++)
        dict_set(I, m->fields, names[i],
                 t_linear_module(I, call, E, E, bias, sqrt(6.0 / (double)(2 * E)), 1.0 / sqrt((double)E)));
    return v;
}

/* [B,S,E] -> linear -> [B,S,H,Dh] -> [B,H,S,Dh] */
static Node *project_heads(Interp *I, Value *call, Module *m, const char *proj, Node *x, int64_t H, int64_t Dh) {
    Node *y = t_linear_forward(I, call, t_submodule(I, call, m, proj), x);
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 4; s.d[0] = x->shape.d[0]; s.d[1] = x->shape.d[1]; s.d[2] = dim_const(H); s.d[3] = dim_const(Dh);
    static const int perm[4] = {0, 2, 1, 3};
    return t_permute(I, call, t_reshape(I, call, y, &s), perm);
}

/* out_proj(merge(SDPA(split(q_proj q), split(k_proj k), split(v_proj v)))).
 * k and v keep their own sequence length. */
static Node *flash_forward(Interp *I, Value *call, Module *m, Node *q, Node *k, Node *v,
                           Node *mask, double p, bool training) {
    int64_t E = m->ints[0], H = m->ints[1], Dh = E / H;
    if (q->shape.rank != 3 || k->shape.rank != 3 || v->shape.rank != 3)
        lisp_fail(I, loc_of(call), "%s: query, key and value must be [batch, seq, embed] tensors", t_fname(call));
    Node *Q = project_heads(I, call, m, "q_proj", q, H, Dh);
    Node *K = project_heads(I, call, m, "k_proj", k, H, Dh);
    Node *V = project_heads(I, call, m, "v_proj", v, H, Dh);
    Node *o = t_sdpa(I, call, Q, K, V, mask, 0.0, false, p, training);
    static const int back[4] = {0, 2, 1, 3};
    o = t_permute(I, call, o, back);
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 3; s.d[0] = q->shape.d[0]; s.d[1] = q->shape.d[1]; s.d[2] = dim_const(E);
    return t_linear_forward(I, call, t_submodule(I, call, m, "out_proj"), t_reshape(I, call, o, &s));
}

BI(bi_flash_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_FLASH_ATTENTION);
    RET(flash_forward(I, call, m, T(1), T(2), T(3), NULL, m->nums[0], I->training));
}

BI(bi_flash_with_mask) {
    Module *m = arg_module(I, call, args, 0, MOD_FLASH_ATTENTION);
    Node *mask = t_given(args, nargs, 4) ? T(4) : NULL;
    RET(flash_forward(I, call, m, T(1), T(2), T(3), mask, m->nums[0], I->training));
}

/* dropout_p applies only when training is true (false/nil: no dropout). */
BI(bi_flash_with_dropout) {
    Module *m = arg_module(I, call, args, 0, MOD_FLASH_ATTENTION);
    double p = arg_p(I, call, args, nargs, 4);
    bool training = t_arg_bool(args, nargs, 5, false);
    RET(flash_forward(I, call, m, T(1), T(2), T(3), NULL, p, training));
}

/* (q k v (mask) (dropout_p) (is_causal) (scale) (enable_gqa)); nil means
 * the default.  enable_gqa true: K/V may have fewer heads (dim -3) than q
 * (torch_gqa.c). */
BI(bi_sdpa) {
    Node *q = T(0), *k = T(1), *v = T(2);
    Node *mask = t_given(args, nargs, 3) ? T(3) : NULL;
    double p = arg_p(I, call, args, nargs, 4);
    bool causal = t_arg_bool(args, nargs, 5, false);
    double scale = t_given(args, nargs, 6) ? arg_scale(I, call, args[6], 6) : 0.0;
    if (mask && causal)
        lisp_fail(I, loc_of(call), "%s: attn_mask and is_causal cannot both be set", t_fname(call));
    if (t_given(args, nargs, 6) && scale <= 0)
        lisp_fail(I, loc_of(call), "%s: argument 7 (scale) must be positive", t_fname(call));
    if (t_arg_bool(args, nargs, 7, false)) RET(t_sdpa_group(I, call, q, k, v, mask, scale, causal, p, I->training));
    RET(t_sdpa(I, call, q, k, v, mask, scale, causal, p, I->training));
}

/* torch_flash_attention(q k v (scale)): single-head attention over the last
 * dim, softmax(q k^T * scale) v with scale 1/sqrt(D) by default. */
BI(bi_flash_simple) {
    Node *q = T(0), *k = T(1), *v = T(2);
    double scale = t_given(args, nargs, 3) ? arg_scale(I, call, args[3], 3) : 0.0;
    if (t_given(args, nargs, 3) && scale <= 0)
        lisp_fail(I, loc_of(call), "%s: argument 4 (scale) must be positive", t_fname(call));
    RET(t_sdpa(I, call, q, k, v, NULL, scale, false, 0.0, false));
}

const Builtin torch_attention_builtins[] = {
    {"torch_flash_attention_create", 2, 4, bi_flash_create, NULL},
    {"torch_flash_attention_forward", 4, 4, bi_flash_forward, NULL},
    {"torch_flash_attention_with_mask", 5, 5, bi_flash_with_mask, NULL},
    {"torch_flash_attention_with_dropout", 5, 6, bi_flash_with_dropout, NULL},
    {"torch_scaled_dot_product_attention", 3, 8, bi_sdpa, "tensor_scaled_dot_product_attention"},
    {"torch_flash_attention", 3, 4, bi_flash_simple, NULL},
    {NULL, 0, 0, NULL, NULL},
};
