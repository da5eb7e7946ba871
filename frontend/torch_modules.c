/* torch_modules.c: lispe_torch's layers as modules (dictionaries of
 * parameter tensors) and their forward functions.
 *
 * Field names follow libtorch's parameter names so weights map 1:1 onto a
 * libtorch state dict (linear.weight, norm1.bias, attention.in_proj_weight).
 * Parameters are eager-pool nodes (RAND/RANDN/FULL/CONST): their values are
 * computed only when needed, from a Philox stream seeded by the session, so
 * they are deterministic for a given --seed. */
#define LTC_TORCH_BUILTINS
#include "frontend/torch.h"

#include <math.h>
#include <string.h>


/* A positive integer argument with its parameter name in errors. */
static int64_t arg_pos(Interp *I, Value *call, Value **args, int k, const char *what) {
    Value *v = args[k];
    if (!v || v->kind != V_INT)
        lisp_fail(I, loc_of(call), "%s: argument %d (%s) must be an integer, got %s",
                  t_fname(call), k + 1, what, t_kind(I, v));
    if (v->sym.sym)
        lisp_fail(I, loc_of(call), "%s: argument %d (%s) must be a constant, got a symbolic size",
                  t_fname(call), k + 1, what);
    if (v->i <= 0)
        lisp_fail(I, loc_of(call), "%s: argument %d (%s) must be positive, got %lld",
                  t_fname(call), k + 1, what, (long long)v->i);
    return v->i;
}

static double arg_float(Interp *I, Value *call, Value **args, int nargs, int k, const char *what, double dflt) {
    if (!t_given(args, nargs, k)) return dflt;
    Value *v = args[k];
    if (v->kind == V_INT && !v->sym.sym) return (double)v->i;
    if (v->kind == V_NUM) return v->n;
    lisp_fail(I, loc_of(call), "%s: argument %d (%s) must be a number, got %s",
              t_fname(call), k + 1, what, t_kind(I, v));
}

static Module *new_module(Interp *I, Value **out, ModKind k) {
    Value *v = v_module(I, k);
    if (!v->mod->fields) {
        v->mod->fields = arena_alloc(I->arena, sizeof(Dict));
        if (!v->mod->fields) lisp_fail(I, (SrcLoc){0}, "out of memory");
    }
    *out = v;
    return v->mod;
}

static void set_field(Interp *I, Module *m, const char *name, Node *t) {
    dict_set(I, m->fields, name, v_tensor(I, t));
}

Value *t_module_field(Module *m, const char *field) {
    Value *renamed = m->renamed ? dict_get(m->renamed, field) : NULL;
    return dict_get(m->fields, renamed ? renamed->s : field);
}

Node *t_module_tensor(Interp *I, Value *call, Module *m, const char *field) {
    Value *v = t_module_field(m, field);
    if (!v || v->kind != V_TENSOR)
        lisp_fail(I, loc_of(call), "%s: the module's field '%s' is not a tensor", t_fname(call), field);
    return v->t;
}

Module *t_submodule(Interp *I, Value *call, Module *m, const char *field) {
    Value *v = t_module_field(m, field);
    if (!v || v->kind != V_MODULE)
        lisp_fail(I, loc_of(call), "%s: the module's field '%s' is not a module", t_fname(call), field);
    return v->mod;
}

/* ---- Linear: y = x W^T + b, W [out,in] --------------------------------------- */
Value *t_linear_module(Interp *I, Value *call, int64_t in, int64_t out, bool bias,
                       double wbound, double bbound) {
    Value *v;
    Module *m = new_module(I, &v, MOD_LINEAR);
    m->ints[0] = in; m->ints[1] = out; m->ints[2] = bias;
    Shape ws = t_shape2(out, in), bs = t_shape1(out);
    set_field(I, m, "weight", t_param_uniform(I, call, &ws, wbound));
    if (bias) set_field(I, m, "bias", bbound > 0 ? t_param_uniform(I, call, &bs, bbound)
                                                : t_param_full(I, call, &bs, 0.0));
    return v;
}

Node *t_linear_forward(Interp *I, Value *call, Module *m, Node *x) {
    if (m->kind != MOD_LINEAR)
        lisp_fail(I, loc_of(call), "%s: expected a linear module", t_fname(call));
    Node *w = t_module_tensor(I, call, m, "weight");
    Value *b = t_module_field(m, "bias");
    return t_linear(I, call, x, w, b && b->kind == V_TENSOR ? b->t : NULL);
}

/* torch_linear(in out (bias true)): kaiming_uniform(a=sqrt 5) gives
 * U(+-1/sqrt(in)) for the weight, and the bias uses the same bound. */
BI(bi_linear_create) {
    int64_t in = arg_pos(I, call, args, 0, "in_features");
    int64_t out = arg_pos(I, call, args, 1, "out_features");
    bool bias = t_arg_bool(args, nargs, 2, true);
    double b = 1.0 / sqrt((double)in);
    return t_linear_module(I, call, in, out, bias, b, b);
}

BI(bi_linear_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_LINEAR);
    RET(t_linear_forward(I, call, m, T(1)));
}

/* ---- LayerNorm / RMSNorm over the last dim ----------------------------------- */
static Node *layer_norm(Interp *I, Value *call, Module *m, Node *x) {
    Node *in[3] = {x, t_module_tensor(I, call, m, "weight"), t_module_tensor(I, call, m, "bias")};
    Attr a;
    memset(&a, 0, sizeof a);
    a.eps = m->nums[0]; a.flags = NORM_W | NORM_B;
    return t_emit(I, call, OP_LAYER_NORM, in, 3, &a);
}

BI(bi_layer_norm_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_LAYER_NORM);
    int64_t n = arg_pos(I, call, args, 0, "normalized_shape");
    m->ints[0] = n;
    m->nums[0] = arg_float(I, call, args, nargs, 1, "eps", 1e-5);
    Shape s = t_shape1(n);
    set_field(I, m, "weight", t_param_full(I, call, &s, 1.0));
    set_field(I, m, "bias", t_param_full(I, call, &s, 0.0));
    return v;
}

BI(bi_layer_norm_forward) { RET(layer_norm(I, call, arg_module(I, call, args, 0, MOD_LAYER_NORM), T(1))); }

BI(bi_rms_norm_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_RMS_NORM);
    int64_t n = arg_pos(I, call, args, 0, "normalized_shape");
    m->ints[0] = n;
    m->nums[0] = arg_float(I, call, args, nargs, 1, "eps", 1e-6);
    Shape s = t_shape1(n);
    set_field(I, m, "weight", t_param_full(I, call, &s, 1.0));
    return v;
}

BI(bi_rms_norm_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_RMS_NORM);
    Node *in[2] = {T(1), t_module_tensor(I, call, m, "weight")};
    Attr a;
    memset(&a, 0, sizeof a);
    a.eps = m->nums[0];
    RET(t_emit(I, call, OP_RMS_NORM, in, 2, &a));
}

/* ---- Embedding: weight [num, dim] ~ N(0,1) ------------------------------------- */
BI(bi_embedding_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_EMBEDDING);
    m->ints[0] = arg_pos(I, call, args, 0, "num_embeddings");
    m->ints[1] = arg_pos(I, call, args, 1, "embedding_dim");
    Shape s = t_shape2(m->ints[0], m->ints[1]);
    set_field(I, m, "weight", t_param_normal(I, call, &s, 1.0));
    return v;
}

BI(bi_embedding_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_EMBEDDING);
    Node *ids = T(1);
    if (ids->dtype != DT_I64)
        lisp_fail(I, loc_of(call), "%s: argument 2 (input_data) must be an integer (i64) tensor, got %s",
                  t_fname(call), dtype_name(ids->dtype));
    RET(t_bin(I, call, OP_EMBEDDING, ids, t_module_tensor(I, call, m, "weight")));
}

/* ---- MultiheadAttention (sequence-first [S,B,E], as libtorch) ------------------ */
BI(bi_mha_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_MULTIHEAD_ATTENTION);
    int64_t E = arg_pos(I, call, args, 0, "embed_dim");
    int64_t H = arg_pos(I, call, args, 1, "num_heads");
    if (E % H) lisp_fail(I, loc_of(call), "%s: embed_dim must be divisible by num_heads (%lld %% %lld != 0)",
                         t_fname(call), (long long)E, (long long)H);
    m->ints[0] = E; m->ints[1] = H;
    Shape w = t_shape2(3 * E, E), b = t_shape1(3 * E);
    /* xavier_uniform on [3E, E]: U(+-sqrt(6 / (fan_in + fan_out))) */
    set_field(I, m, "in_proj_weight", t_param_uniform(I, call, &w, sqrt(6.0 / (double)(E + 3 * E))));
    set_field(I, m, "in_proj_bias", t_param_full(I, call, &b, 0.0));
    /* out_proj: Linear's default weight init, bias zeroed by MHA */
    dict_set(I, m->fields, "out_proj", t_linear_module(I, call, E, E, true, 1.0 / sqrt((double)E), 0.0));
    return v;
}

/* libtorch MHA masks: bool true = NOT allowed, float added; [Sq,Sk] or
 * [B*H,Sq,Sk].  Returned as an additive float mask SDPA broadcasts. */
static Node *mha_mask(Interp *I, Value *call, Node *mask, Dim B, int64_t H) {
    if (mask->dtype == DT_BOOL) {
        Node *z = t_full(I, call, &mask->shape, DT_F32, 0.0);
        Node *in[2] = {z, mask};
        Attr a;
        memset(&a, 0, sizeof a);
        a.f = -INFINITY;
        mask = t_emit(I, call, OP_MASKED_FILL, in, 2, &a);
    }
    if (mask->shape.rank == 3) {
        Shape s;
        memset(&s, 0, sizeof s);
        s.rank = 4; s.d[0] = B; s.d[1] = dim_const(H); s.d[2] = mask->shape.d[1]; s.d[3] = mask->shape.d[2];
        mask = t_reshape(I, call, mask, &s);
    } else if (mask->shape.rank != 2) {
        lisp_fail(I, loc_of(call), "%s: the attention mask must be [Sq,Sk] or [B*H,Sq,Sk]", t_fname(call));
    }
    return mask;
}

/* [S,B,E] -> [B,H,S,Dh] */
static Node *heads_seq_first(Interp *I, Value *call, Node *x, int64_t H, int64_t Dh) {
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 4; s.d[0] = x->shape.d[0]; s.d[1] = x->shape.d[1]; s.d[2] = dim_const(H); s.d[3] = dim_const(Dh);
    static const int perm[4] = {1, 2, 0, 3};
    return t_permute(I, call, t_reshape(I, call, x, &s), perm);
}

static Node *mha_forward(Interp *I, Value *call, Module *m, Node *q, Node *k, Node *v, Node *mask) {
    int64_t E = m->ints[0], H = m->ints[1], Dh = E / H;
    if (q->shape.rank != 3 || k->shape.rank != 3 || v->shape.rank != 3)
        lisp_fail(I, loc_of(call), "%s: query, key and value must be [seq, batch, embed] tensors", t_fname(call));
    Node *W = t_module_tensor(I, call, m, "in_proj_weight");
    Node *b = t_module_tensor(I, call, m, "in_proj_bias");
    Node *x[3] = {q, k, v}, *p[3];
    for (int i = 0; i < 3; i++) {           /* rows [iE, (i+1)E) of in_proj */
        Node *Wi = t_slice(I, call, W, 0, dim_const(i * E), dim_const((i + 1) * E));
        Node *bi = t_slice(I, call, b, 0, dim_const(i * E), dim_const((i + 1) * E));
        p[i] = heads_seq_first(I, call, t_linear(I, call, x[i], Wi, bi), H, Dh);
    }
    if (mask) mask = mha_mask(I, call, mask, q->shape.d[1], H);
    Node *o = t_sdpa(I, call, p[0], p[1], p[2], mask, 0.0, false, 0.0, false);
    static const int back[4] = {2, 0, 1, 3};                     /* [B,H,S,Dh] -> [S,B,H,Dh] */
    o = t_permute(I, call, o, back);
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 3; s.d[0] = q->shape.d[0]; s.d[1] = q->shape.d[1]; s.d[2] = dim_const(E);
    o = t_reshape(I, call, o, &s);
    return t_linear_forward(I, call, t_submodule(I, call, m, "out_proj"), o);
}

BI(bi_mha_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_MULTIHEAD_ATTENTION);
    Node *mask = t_given(args, nargs, 4) ? T(4) : NULL;
    RET(mha_forward(I, call, m, T(1), T(2), T(3), mask));
}

/* ---- TransformerBlock: post-LN, ReLU FFN, sequence-first ------------------------ */
BI(bi_block_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_TRANSFORMER_BLOCK);
    int64_t E = arg_pos(I, call, args, 0, "embed_dim");
    int64_t H = arg_pos(I, call, args, 1, "num_heads");
    int64_t F = arg_pos(I, call, args, 2, "ffn_dim");
    m->ints[0] = E; m->ints[1] = H; m->ints[2] = F;
    Value *sub[2] = {args[0], args[1]};
    dict_set(I, m->fields, "attention", bi_mha_create(I, sub, 2, call));
    Value *n1[1] = {args[0]};
    dict_set(I, m->fields, "norm1", bi_layer_norm_create(I, n1, 1, call));
    dict_set(I, m->fields, "norm2", bi_layer_norm_create(I, n1, 1, call));
    dict_set(I, m->fields, "ffn1", t_linear_module(I, call, E, F, true, 1 / sqrt((double)E), 1 / sqrt((double)E)));
    dict_set(I, m->fields, "ffn2", t_linear_module(I, call, F, E, true, 1 / sqrt((double)F), 1 / sqrt((double)F)));
    return v;
}

/* x = norm1(x + MHA(x,x,x)); x = norm2(x + ffn2(relu(ffn1(x)))) */
BI(bi_block_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_TRANSFORMER_BLOCK);
    Node *x = T(1);
    Node *mask = t_given(args, nargs, 2) ? T(2) : NULL;
    Node *a = mha_forward(I, call, t_submodule(I, call, m, "attention"), x, x, x, mask);
    x = layer_norm(I, call, t_submodule(I, call, m, "norm1"), t_bin(I, call, OP_ADD, x, a));
    Node *h = t_un(I, call, OP_RELU, t_linear_forward(I, call, t_submodule(I, call, m, "ffn1"), x));
    Node *f = t_linear_forward(I, call, t_submodule(I, call, m, "ffn2"), h);
    RET(layer_norm(I, call, t_submodule(I, call, m, "norm2"), t_bin(I, call, OP_ADD, x, f)));
}

/* ---- Sinusoidal positional encoding: pe [max_len, 1, d] ------------------------ */
/* exp(-2i ln(10000)/d) in float32, as libtorch computes div_term. */
static float div_term(int64_t i, int64_t d) {
    return expf((float)(2 * i) * (-logf(10000.0f) / (float)d));
}

BI(bi_posenc_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_POSITIONAL_ENCODING);
    int64_t d = arg_pos(I, call, args, 0, "d_model");
    int64_t L = arg_pos(I, call, args, 1, "max_len");
    m->ints[0] = d; m->ints[1] = L;
    float *pe = arena_alloc_big(I->arena, (size_t)(L * d) * sizeof(float));
    if (!pe) lisp_fail(I, loc_of(call), "out of memory");
    /* pe[p,2i] = sin(p * exp(-2i ln(10000)/d)), pe[p,2i+1] = cos(...), in
     * float32 as libtorch computes it */
    for (int64_t p = 0; p < L; p++)
        for (int64_t i = 0; 2 * i < d; i++) {
            float ang = (float)p * div_term(i, d);
            pe[p * d + 2 * i] = (float)sin(ang);
            if (2 * i + 1 < d) pe[p * d + 2 * i + 1] = (float)cos(ang);
        }
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = 3; s.d[0] = dim_const(L); s.d[1] = dim_const(1); s.d[2] = dim_const(d);
    set_field(I, m, "pe", t_const_eager(I, call, DT_F32, &s, pe));
    return v;
}

/* x [S,B,d] + pe[:S] */
BI(bi_posenc_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_POSITIONAL_ENCODING);
    Node *x = T(1);
    if (x->shape.rank != 3)
        lisp_fail(I, loc_of(call), "%s: argument 2 must be a [seq, batch, d_model] tensor", t_fname(call));
    Node *pe = t_module_tensor(I, call, m, "pe");
    Dim S = x->shape.d[0];
    if (!S.sym && S.k > m->ints[1])
        lisp_fail(I, loc_of(call), "%s: sequence length %lld exceeds max_len %lld", t_fname(call),
                  (long long)S.k, (long long)m->ints[1]);
    RET(t_bin(I, call, OP_ADD, x, t_slice(I, call, pe, 0, dim_const(0), S)));
}

/* ---- Rotary embedding (NeoX rotate_half convention) ---------------------------- */
static float inv_freq(int64_t i, int64_t dim) {
    return 1.0f / powf(10000.0f, (float)(2 * i) / (float)dim);
}

BI(bi_rotary_create) {
    Value *v;
    Module *m = new_module(I, &v, MOD_ROTARY_EMBEDDING);
    int64_t dim = arg_pos(I, call, args, 0, "dim");
    int64_t L = arg_pos(I, call, args, 1, "max_seq_len");
    if (dim % 2) lisp_fail(I, loc_of(call), "%s: argument 1 (dim) must be even, got %lld", t_fname(call), (long long)dim);
    m->ints[0] = dim; m->ints[1] = L;
    float *cs = arena_alloc_big(I->arena, (size_t)(L * dim) * sizeof(float));
    float *sn = arena_alloc_big(I->arena, (size_t)(L * dim) * sizeof(float));
    if (!cs || !sn) lisp_fail(I, loc_of(call), "out of memory");
    /* inv_freq[i] = 1/10000^(2i/dim); emb[t] = cat(t*inv_freq, t*inv_freq) */
    int64_t h = dim / 2;
    for (int64_t i = 0; i < h; i++) {
        float inv = inv_freq(i, dim);
        for (int64_t t = 0; t < L; t++) {
            float f = (float)t * inv;
            cs[t * dim + i] = cs[t * dim + h + i] = (float)cos(f);
            sn[t * dim + i] = sn[t * dim + h + i] = (float)sin(f);
        }
    }
    Shape s = t_shape2(L, dim);
    set_field(I, m, "cos_cached", t_const_eager(I, call, DT_F32, &s, cs));
    set_field(I, m, "sin_cached", t_const_eager(I, call, DT_F32, &s, sn));
    return v;
}

/* (cos sin) = caches[:seq_len]; seq_len may be a symbolic size. */
BI(bi_rotary_forward) {
    Module *m = arg_module(I, call, args, 0, MOD_ROTARY_EMBEDDING);
    Dim S = t_arg_dim(I, call, args, 1);
    if (!S.sym && (S.k < 0 || S.k > m->ints[1]))
        lisp_fail(I, loc_of(call), "%s: argument 2 (seq_len) %lld is outside [0, %lld]", t_fname(call),
                  (long long)S.k, (long long)m->ints[1]);
    Value *l = v_list(I, L_LIST);
    v_push(I, l, v_tensor(I, t_slice(I, call, t_module_tensor(I, call, m, "cos_cached"), 0, dim_const(0), S)));
    v_push(I, l, v_tensor(I, t_slice(I, call, t_module_tensor(I, call, m, "sin_cached"), 0, dim_const(0), S)));
    return l;
}

/* t*cos + rotate_half(t)*sin, rotate_half(t) = cat(-t[..., D/2:], t[..., :D/2]) */
BI(bi_apply_rotary) {
    Node *t = T(0), *c = T(1), *s = T(2);
    int r = t->shape.rank;
    if (r < 1) lisp_fail(I, loc_of(call), "%s: argument 1 must have at least one dimension", t_fname(call));
    Dim D = t->shape.d[r - 1];
    if (D.sym || D.k % 2)
        lisp_fail(I, loc_of(call), "%s: the last dimension of argument 1 must be a constant even size", t_fname(call));
    Node *x1 = t_slice(I, call, t, r - 1, dim_const(0), dim_const(D.k / 2));
    Node *x2 = t_slice(I, call, t, r - 1, dim_const(D.k / 2), D);
    Node *in[2] = {t_un(I, call, OP_NEG, x2), x1};
    Attr a;
    memset(&a, 0, sizeof a);
    a.axis = r - 1;
    Node *rot = t_emit(I, call, OP_CAT, in, 2, &a);
    RET(t_bin(I, call, OP_ADD, t_bin(I, call, OP_MUL, t, c), t_bin(I, call, OP_MUL, rot, s)));
}

const Builtin torch_module_builtins[] = {
    {"torch_linear", 2, 3, bi_linear_create, "torch_linear_create"},
    {"torch_linear_forward", 2, 2, bi_linear_forward, NULL},
    {"torch_layer_norm", 1, 2, bi_layer_norm_create, "torch_layer_norm_create"},
    {"torch_layer_norm_forward", 2, 2, bi_layer_norm_forward, NULL},
    {"torch_rms_norm", 1, 2, bi_rms_norm_create, "torch_rms_norm_create"},
    {"torch_rms_norm_forward", 2, 2, bi_rms_norm_forward, NULL},
    {"torch_embedding", 2, 2, bi_embedding_create, "torch_embedding_create"},
    {"torch_embedding_forward", 2, 2, bi_embedding_forward, NULL},
    {"torch_multihead_attention", 2, 2, bi_mha_create, "torch_multihead_attention_create"},
    {"torch_attention_forward", 4, 5, bi_mha_forward, "torch_multihead_attention_forward"},
    {"torch_transformer_block", 3, 3, bi_block_create, "torch_transformer_block_create"},
    {"torch_transformer_forward", 2, 3, bi_block_forward, "torch_transformer_block_forward"},
    {"torch_positional_encoding", 2, 2, bi_posenc_create, "torch_positional_encoding_create"},
    {"torch_positional_forward", 2, 2, bi_posenc_forward, "torch_positional_encoding_forward"},
    {"torch_rotary_embedding", 2, 2, bi_rotary_create, "torch_rotary_embedding_create"},
    {"torch_rotary_forward", 2, 3, bi_rotary_forward, NULL},
    {"torch_apply_rotary_pos_emb", 3, 3, bi_apply_rotary, NULL},
    {NULL, 0, 0, NULL, NULL},
};
