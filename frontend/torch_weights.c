/* torch_weights.c: weights to and from safetensors files, at LispE level.
 *
 * lispe_torch's persistence functions (torch_state_dict,
 * torch_load_state_dict, torch_save_model, torch_load_model) and its
 * HuggingFace readers (torch_hf_list_weights, torch_hf_get_weight), over
 * safetensors files instead of libtorch archives (docs/torch_api.md,
 * "Weights").  A *module tree* is a module, a dictionary, a list or a class
 * instance holding tensors, at any depth; its state dict names each tensor
 * by its path inside the tree (`encoder.layer.0.attention.self.query.weight`),
 * the same names as tracing gives parameters below a global of that tree.
 *
 * Loading replaces the tree's tensor *values*: every slot holding the old
 * tensor now holds a constant with the file's data.  Computations built
 * before the load keep the old values, as a copy into libtorch parameters
 * after those computations would. */
#define LTC_TORCH_BUILTINS
#include "frontend/torch.h"
#include "support/safetensors.h"

#include <setjmp.h>
#include <string.h>

/* ---- the tensors of a tree ------------------------------------------------------ */
/* One slot: a Value holding a tensor, reached through `name`.  Several slots
 * may hold one node (tied weights); the first path names it. */
typedef struct Slot { const char *name; Value *holder; Node *node; bool first; } Slot;
typedef struct Slots { Slot *v; int n, cap; } Slots;

static void push_slot(Interp *I, Value *call, Slots *s, const char *name, Value *holder) {
    if (s->n == s->cap) {
        if (s->cap > (1 << 24)) lisp_fail(I, loc_of(call), "%s: too many tensors", t_fname(call));
        int cap = s->cap ? 2 * s->cap : 32;
        Slot *v = arena_alloc(I->arena, sizeof *v * (size_t)cap);
        if (!v) lisp_fail(I, loc_of(call), "out of memory");
        if (s->n) memcpy(v, s->v, sizeof *v * (size_t)s->n);
        s->v = v, s->cap = cap;
    }
    bool first = true;
    for (int i = 0; i < s->n && first; i++) first = s->v[i].node != holder->t;
    s->v[s->n++] = (Slot){name, holder, holder->t, first};
}

static const char *join(Interp *I, Value *call, const char *prefix, const char *key) {
    const char *p = *prefix ? arena_printf(I->arena, "%s.%s", prefix, key) : arena_strdup(I->arena, key);
    if (!p) lisp_fail(I, loc_of(call), "out of memory");
    return p;
}

/* Depth-first in insertion order; `depth` bounds cyclic structures. */
static void collect(Interp *I, Value *call, Slots *s, Value *v, const char *prefix, int depth) {
    if (depth > 64) lisp_fail(I, loc_of(call), "%s: the module tree is nested more than 64 levels (a cycle?)", t_fname(call));
    char idx[24];
    switch (v->kind) {
    case V_TENSOR:
        if (!*prefix) lisp_fail(I, loc_of(call), "%s: a tensor alone has no state dict; give a module, a dictionary or a list", t_fname(call));
        push_slot(I, call, s, prefix, v);
        break;
    case V_LIST:
        for (int i = 0; i < v->nitems; i++) {
            snprintf(idx, sizeof idx, "%d", i);
            collect(I, call, s, v->items[i], join(I, call, prefix, idx), depth + 1);
        }
        break;
    case V_DICT:
        if (v->dict)
            for (int i = 0; i < v->dict->n; i++)
                collect(I, call, s, v->dict->vals[i], join(I, call, prefix, v->dict->keys[i]), depth + 1);
        break;
    case V_MODULE:
        if (v->mod && v->mod->fields)
            for (int i = 0; i < v->mod->fields->n; i++)
                collect(I, call, s, v->mod->fields->vals[i], join(I, call, prefix, v->mod->fields->keys[i]), depth + 1);
        break;
    default: break;     /* numbers, strings, functions: not state */
    }
}

static Slots tree_slots(Interp *I, Value *call, Value **args, int k) {
    Value *v = args[k];
    if (v->kind != V_MODULE && v->kind != V_DICT && v->kind != V_LIST)
        lisp_fail(I, loc_of(call), "%s: argument %d must be a module, a dictionary or a list of modules, got %s",
                  t_fname(call), k + 1, t_kind(I, v));
    Slots s = {0};
    collect(I, call, &s, v, "", 0);
    return s;
}

/* ---- file layout <-> storage ------------------------------------------------------- */
static size_t numel_checked(Interp *I, Value *call, const int64_t *dims, int rank, const char *name) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && n > SIZE_MAX / 16 / (size_t)dims[i]))
            lisp_fail(I, loc_of(call), "%s: tensor '%s' is too large", t_fname(call), name);
        n *= (size_t)dims[i];
    }
    return n;
}

/* A fresh eager constant holding a file tensor (f16/bf16 widened to the
 * interpreter's float storage). */
static Node *node_from_file(Interp *I, Value *call, const StTensor *t, const char *path) {
    if (t->rank > LTC_MAX_RANK)
        lisp_fail(I, loc_of(call), "%s: '%s': tensor '%s' has rank %d (at most %d)", t_fname(call), path, t->name,
                  t->rank, LTC_MAX_RANK);
    size_t numel = numel_checked(I, call, t->shape, t->rank, t->name);
    DType dt = (DType)t->dtype;
    void *data = arena_alloc_big(I->arena, numel * dtype_storage_size(dt) + 1);
    if (!data) lisp_fail(I, loc_of(call), "out of memory loading '%s'", path);
    if (dt == DT_F16 || dt == DT_BF16) {
        const unsigned char *b = t->data;
        float *o = data;
        for (size_t i = 0; i < numel; i++) {
            uint16_t h = (uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
            o[i] = dt == DT_F16 ? f16_to_f32(h) : bf16_to_f32(h);
        }
    } else {
        memcpy(data, t->data, numel * dtype_storage_size(dt));
    }
    Shape s;
    memset(&s, 0, sizeof s);
    s.rank = t->rank;
    for (int i = 0; i < t->rank; i++) s.d[i] = dim_const(t->shape[i]);
    Node *n = t_const_eager(I, call, dt, &s, data);
    n->name = arena_strdup(I->arena, t->name);
    return n;
}

static void shape_text(const Node *n, char *buf, size_t len) {
    int64_t d[LTC_MAX_RANK];
    for (int i = 0; i < n->shape.rank; i++) d[i] = n->shape.d[i].k;
    dims_str(d, n->shape.rank, buf, len);
}

/* The new value must have the old one's shape and dtype. */
static void check_same(Interp *I, Value *call, const char *name, const Node *old, const Node *nw, const char *from) {
    char a[200], b[200];
    bool same = old->shape.rank == nw->shape.rank && old->dtype == nw->dtype;
    for (int i = 0; same && i < old->shape.rank; i++)
        same = old->shape.d[i].sym == 0 && old->shape.d[i].k == nw->shape.d[i].k;
    if (same) return;
    shape_text(nw, a, sizeof a);
    shape_text(old, b, sizeof b);
    lisp_fail(I, loc_of(call), "%s: %s: tensor '%s' is %s%s, the model expects %s%s", t_fname(call), from, name,
              dtype_name(nw->dtype), a, dtype_name(old->dtype), b);
}

/* Replace every slot holding each named tensor.  lookup(ctx, name) gives
 * the new node or NULL; strict as libtorch's load_state_dict: a tensor of
 * the tree missing from the source, or a source tensor the tree does not
 * have, is an error. */
typedef Node *(*LookupFn)(void *ctx, const char *name);

static void bind_tree(Interp *I, Value *call, Slots *s, LookupFn lookup, void *ctx, const char *from,
                      const char *const *names, int nnames) {
    for (int i = 0; i < nnames; i++) {
        bool known = false;
        for (int k = 0; k < s->n && !known; k++) known = s->v[k].first && strcmp(s->v[k].name, names[i]) == 0;
        if (!known)
            lisp_fail(I, loc_of(call), "%s: %s has tensor '%s', which the model does not have", t_fname(call), from,
                      names[i]);
    }
    for (int k = 0; k < s->n; k++) {
        if (!s->v[k].first) continue;
        Node *nw = lookup(ctx, s->v[k].name);
        if (!nw) lisp_fail(I, loc_of(call), "%s: %s has no tensor '%s' (the model needs it)", t_fname(call), from, s->v[k].name);
        check_same(I, call, s->v[k].name, s->v[k].node, nw, from);
        Node *old = s->v[k].node;
        for (int j = k; j < s->n; j++)
            if (s->v[j].node == old) {
                journal_tensor(I, s->v[j].holder);
                s->v[j].holder->t = nw;
                nw->held = nw->graph->gc_epoch;
            }
    }
}

/* ---- opening files ------------------------------------------------------------------ */
static const char *arg_path(Interp *I, Value *call, Value **args, int k) {
    if (args[k]->kind != V_STR)
        lisp_fail(I, loc_of(call), "%s: argument %d (path) must be a string, got %s", t_fname(call), k + 1,
                  t_kind(I, args[k]));
    return args[k]->s;
}

static void open_file(Interp *I, Value *call, const char *path, StFile *f) {
    char err[512];
    if (st_open(path, f, err, sizeof err) != 0) lisp_fail(I, loc_of(call), "%s: weights file '%s': %s", t_fname(call), path, err);
}

/* Run body(ctx) with the file open; an error inside closes it before it
 * unwinds further (the mapping would outlive a long-lived session). */
static void with_file(Interp *I, StFile *f, void (*body)(void *), void *ctx) {
    jmp_buf jb, *prev = I->on_error;
    I->on_error = &jb;
    if (setjmp(jb)) {
        I->on_error = prev;
        st_close(f);
        longjmp(*prev, 1);         /* I->diag is filled: pass the error on */
    }
    body(ctx);
    I->on_error = prev;
    st_close(f);
}

typedef struct FileCtx { Interp *I; Value *call; StFile *f; const char *path; } FileCtx;

static Node *from_file(void *ctx, const char *name) {
    FileCtx *c = ctx;
    const StTensor *t = st_find(c->f, name);
    return t ? node_from_file(c->I, c->call, t, c->path) : NULL;
}

/* ---- saving ------------------------------------------------------------------------- */
/* Compute each value and write name -> value as safetensors. */
static void save_named(Interp *I, Value *call, const char **names, Node **nodes, int n, const char *path) {
    StTensor *ts = arena_alloc(I->arena, sizeof *ts * (size_t)(n ? n : 1));
    if (!ts) lisp_fail(I, loc_of(call), "out of memory");
    for (int i = 0; i < n; i++) {
        Node *x = nodes[i];
        if (x->graph != I->eager)
            lisp_fail(I, loc_of(call), "%s: tensor '%s' is computed inside a traced function; its value is not known",
                      t_fname(call), names[i]);
        LtcDiag d;
        if (ir_force(x, &d) != 0) lisp_fail(I, d.loc.file ? d.loc : loc_of(call), "%s", d.msg);
        StTensor *t = &ts[i];
        t->name = names[i];
        t->dtype = (StDType)x->dtype;
        t->rank = x->shape.rank;
        for (int k = 0; k < t->rank; k++) t->shape[k] = x->shape.d[k].k;
        size_t numel = numel_checked(I, call, t->shape, t->rank, names[i]);
        t->nbytes = numel * dtype_size(x->dtype);
        if (x->dtype == DT_F16 || x->dtype == DT_BF16) {
            uint16_t *o = arena_alloc_big(I->arena, t->nbytes + 1);
            if (!o) lisp_fail(I, loc_of(call), "out of memory");
            const float *src = x->data;
            for (size_t k = 0; k < numel; k++) o[k] = x->dtype == DT_F16 ? f32_to_f16(src[k]) : f32_to_bf16(src[k]);
            t->data = o;
        } else {
            t->data = x->data;
        }
    }
    const char *meta[] = {"format", "pt", "producer", ("lispetorchc " LTC_VERSION)};
    char err[512];
    if (I->no_file_writes)
        lisp_fail(I, loc_of(call), "%s: writing '%s': this session does not write files", t_fname(call), path);
    if (st_write(path, ts, n, meta, 2, err, sizeof err) != 0) lisp_fail(I, loc_of(call), "%s: %s", t_fname(call), err);
}

static void save_slots(Interp *I, Value *call, Slots *s, const char *path) {
    const char **names = arena_alloc(I->arena, sizeof *names * (size_t)(s->n + 1));
    Node **nodes = arena_alloc(I->arena, sizeof *nodes * (size_t)(s->n + 1));
    if (!names || !nodes) lisp_fail(I, loc_of(call), "out of memory");
    int n = 0;
    for (int k = 0; k < s->n; k++)
        if (s->v[k].first) names[n] = s->v[k].name, nodes[n++] = s->v[k].node;
    save_named(I, call, names, nodes, n, path);
}

/* ---- builtins ---------------------------------------------------------------------- */
/* (torch_state_dict tree): a dictionary name -> tensor. */
BI(bi_state_dict) {
    (void)nargs;
    Slots s = tree_slots(I, call, args, 0);
    Value *d = v_dict(I);
    for (int k = 0; k < s.n; k++)
        if (s.v[k].first) dict_set(I, d->dict, s.v[k].name, v_tensor(I, s.v[k].node));
    return d;
}

typedef struct DictCtx { Interp *I; Value *call; Dict *d; } DictCtx;

static Node *from_dict(void *ctx, const char *name) {
    DictCtx *c = ctx;
    Value *v = dict_get(c->d, name);
    if (!v) return NULL;
    if (v->kind != V_TENSOR)
        lisp_fail(c->I, loc_of(c->call), "%s: state dict entry '%s' must be a tensor, got %s", t_fname(c->call), name,
                  t_kind(c->I, v));
    return v->t;
}

/* (torch_load_state_dict tree state_dict): strict, as libtorch's. */
BI(bi_load_state_dict) {
    (void)nargs;
    Slots s = tree_slots(I, call, args, 0);
    if (args[1]->kind != V_DICT)
        lisp_fail(I, loc_of(call), "%s: argument 2 (state_dict) must be a dictionary, got %s", t_fname(call),
                  t_kind(I, args[1]));
    DictCtx c = {I, call, args[1]->dict};
    bind_tree(I, call, &s, from_dict, &c, "the state dict", (const char *const *)c.d->keys, c.d->n);
    return v_true();
}

/* (torch_save_model tree path) */
BI(bi_save_model) {
    (void)nargs;
    Slots s = tree_slots(I, call, args, 0);
    save_slots(I, call, &s, arg_path(I, call, args, 1));
    return v_true();
}

/* The work of each file-reading builtin, run by with_file. */
typedef struct FileJob {
    FileCtx c;
    Slots *slots;               /* load_model: the tree */
    const char *name;           /* get_weight: the tensor */
    Value *result;
} FileJob;

static void job_load_model(void *ctx) {
    FileJob *j = ctx;
    Interp *I = j->c.I;
    Value *call = j->c.call;
    StFile *f = j->c.f;
    const char **names = arena_alloc(I->arena, sizeof *names * (size_t)(f->n + 1));
    if (!names) lisp_fail(I, loc_of(call), "out of memory");
    for (int i = 0; i < f->n; i++) names[i] = f->t[i].name;
    const char *from = arena_printf(I->arena, "weights file '%s'", j->c.path);
    bind_tree(I, call, j->slots, from_file, &j->c, from ? from : j->c.path, names, f->n);
    j->result = v_true();
}

static void job_list_weights(void *ctx) {
    FileJob *j = ctx;
    Value *l = v_list(j->c.I, L_STRINGS);
    for (int i = 0; i < j->c.f->n; i++) v_push(j->c.I, l, v_str(j->c.I, arena_strdup(j->c.I->arena, j->c.f->t[i].name)));
    j->result = l;
}

static void job_get_weight(void *ctx) {
    FileJob *j = ctx;
    const StTensor *t = st_find(j->c.f, j->name);
    if (!t)
        lisp_fail(j->c.I, loc_of(j->c.call), "%s: weights file '%s' has no tensor '%s'", t_fname(j->c.call), j->c.path,
                  j->name);
    j->result = v_tensor(j->c.I, node_from_file(j->c.I, j->c.call, t, j->c.path));
}

static void job_load_all(void *ctx) {
    FileJob *j = ctx;
    Value *d = v_dict(j->c.I);
    for (int i = 0; i < j->c.f->n; i++) {
        Node *n = node_from_file(j->c.I, j->c.call, &j->c.f->t[i], j->c.path);
        dict_set(j->c.I, d->dict, n->name, v_tensor(j->c.I, n));
    }
    j->result = d;
}

static Value *run_file_job(Interp *I, Value *call, const char *path, void (*body)(void *), FileJob *j) {
    StFile f;
    open_file(I, call, path, &f);
    j->c = (FileCtx){I, call, &f, path};
    with_file(I, &f, body, j);
    return j->result;
}

/* (torch_load_model tree path) */
BI(bi_load_model) {
    (void)nargs;
    Slots s = tree_slots(I, call, args, 0);
    FileJob j = {.slots = &s};
    return run_file_job(I, call, arg_path(I, call, args, 1), job_load_model, &j);
}

/* (torch_hf_list_weights path): the tensor names, in file order. */
BI(bi_list_weights) {
    (void)nargs;
    FileJob j = {0};
    return run_file_job(I, call, arg_path(I, call, args, 0), job_list_weights, &j);
}

/* (torch_hf_get_weight path name): one tensor; a missing name is an error. */
BI(bi_get_weight) {
    (void)nargs;
    const char *path = arg_path(I, call, args, 0);
    if (args[1]->kind != V_STR)
        lisp_fail(I, loc_of(call), "%s: argument 2 (name) must be a string, got %s", t_fname(call), t_kind(I, args[1]));
    FileJob j = {.name = args[1]->s};
    return run_file_job(I, call, path, job_get_weight, &j);
}

/* (torch_load_safetensors path): every tensor, as a dictionary. */
BI(bi_load_safetensors) {
    (void)nargs;
    FileJob j = {0};
    return run_file_job(I, call, arg_path(I, call, args, 0), job_load_all, &j);
}

/* (torch_save_safetensors tree path): a dictionary name -> tensor, or any
 * module tree, by path. */
BI(bi_save_safetensors) {
    (void)nargs;
    Slots s = tree_slots(I, call, args, 0);
    save_slots(I, call, &s, arg_path(I, call, args, 1));
    return v_true();
}

/* (torch_set_param_names module mapping): renames the module's fields, so
 * that its parameters get a checkpoint's names (HuggingFace BERT's
 * attention: q_proj -> "self.query", ..., out_proj -> "output.dense").
 * The module's functions still find each field under its own name. */
BI(bi_set_param_names) {
    (void)nargs;
    Module *m = arg_module(I, call, args, 0, MOD_COUNT);
    if (args[1]->kind != V_DICT)
        lisp_fail(I, loc_of(call), "%s: argument 2 (names) must be a dictionary {\"field\": \"new name\" ...}, got %s",
                  t_fname(call), t_kind(I, args[1]));
    Dict *map = args[1]->dict;
    for (int i = 0; i < map->n; i++) {
        const char *canon = map->keys[i];
        Value *nv = map->vals[i];
        if (nv->kind != V_STR || !nv->s[0])
            lisp_fail(I, loc_of(call), "%s: the new name of '%s' must be a non-empty string", t_fname(call), canon);
        if (!m->renamed && !(m->renamed = arena_alloc(I->arena, sizeof(Dict))))
            lisp_fail(I, loc_of(call), "out of memory");
        Value *cur = dict_get(m->renamed, canon);
        const char *key = cur ? cur->s : canon;
        int at = -1;
        for (int k = 0; k < m->fields->n; k++) if (strcmp(m->fields->keys[k], key) == 0) at = k;
        if (at < 0) {
            StrBuf b = {0};
            for (int k = 0; k < m->fields->n; k++) sb_printf(&b, "%s%s", k ? ", " : "", m->fields->keys[k]);
            const char *msg = arena_strdup(I->arena, b.s ? b.s : "");
            sb_free(&b);
            lisp_fail(I, loc_of(call), "%s: the module has no field '%s' (fields: %s)", t_fname(call), canon, msg);
        }
        for (int k = 0; k < m->fields->n; k++)
            if (k != at && strcmp(m->fields->keys[k], nv->s) == 0)
                lisp_fail(I, loc_of(call), "%s: the module already has a field '%s'", t_fname(call), nv->s);
        m->fields->keys[at] = arena_strdup(I->arena, nv->s);
        dict_set(I, m->renamed, canon, v_str(I, m->fields->keys[at]));
    }
    return args[0];
}

const Builtin torch_weights_builtins[] = {
    {"torch_state_dict", 1, 1, bi_state_dict, NULL},
    {"torch_load_state_dict", 2, 2, bi_load_state_dict, NULL},
    {"torch_save_model", 2, 2, bi_save_model, NULL},
    {"torch_load_model", 2, 2, bi_load_model, NULL},
    {"torch_hf_list_weights", 1, 1, bi_list_weights, NULL},
    {"torch_hf_get_weight", 2, 2, bi_get_weight, NULL},
    {"torch_load_safetensors", 1, 1, bi_load_safetensors, NULL},
    {"torch_save_safetensors", 2, 2, bi_save_safetensors, NULL},
    {"torch_set_param_names", 2, 2, bi_set_param_names, NULL},
    {NULL, 0, 0, NULL, NULL},
};
