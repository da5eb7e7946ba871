/* torch.h: private header of the lispe_torch library (frontend/torch_*.c)
 * and of tracing (frontend/trace.c).
 *
 * Builtins build graph nodes with the small helpers below; each helper
 * raises a located LispE error (lisp_fail) when the shape rule rejects the
 * op, so builtin bodies read as the math they implement. */
#ifndef LTC_TORCH_H
#define LTC_TORCH_H

#include "frontend/lisp.h"

/* Shorthands for the builtins of the torch_*.c files (defined only there,
 * where LTC_TORCH_BUILTINS is set before including this header). */
#ifdef LTC_TORCH_BUILTINS
#define BI(fn) static Value *fn(Interp *I, Value **args, int nargs, Value *call)
#define T(k) t_arg_tensor(I, call, args, (k))
#define RET(n) return v_tensor(I, (n))
#endif

/* Location of a call form (none for calls made by the compiler itself). */
static inline SrcLoc loc_of(Value *call) {
    SrcLoc none = {0};
    return call ? call->loc : none;
}

/* ---- hooks used by other parts of the front end --------------------------- */
/* LispE `+ - * /` with at least one tensor operand (op is '+','-','*','/').
 * The other operand may be a tensor, a number or a numeric list. */
Value *torch_arith(Interp *I, Value *call, char op, Value *a, Value *b);

/* Visit every tensor reachable from the global variables once (first path
 * wins, globals in definition order, then dict keys / list indices / module
 * fields).  in_module: reached through a module's fields. */
void interp_walk_tensors(Interp *I,
                         void (*fn)(void *ctx, const char *path, Node *t, bool in_module),
                         void *ctx);

/* ---- helpers (torch_util.c) ------------------------------------------------- */
const char *t_fname(Value *call);                 /* the called builtin's name */
const char *t_kind(Interp *I, const Value *v);    /* "a string", "an integer", "nil" */
bool     t_given(Value **args, int nargs, int k); /* argument k present and not nil */
Graph   *t_graph(Interp *I);                      /* trace if tracing, else eager pool */
int64_t  t_dim_example(const Graph *g, Dim d);    /* value of d at the symbols' examples */
Dim      t_arg_dim(Interp *I, Value *call, Value **args, int k);  /* int or symbolic int */
int      t_axis(Interp *I, Value *call, int k, int64_t axis, int rank); /* negative dims */
bool     t_arg_bool(Value **args, int nargs, int k, bool dflt);
uint64_t t_next_seed(Interp *I);                  /* seed for the next random node */
Value   *t_dim_value(Interp *I, const Graph *g, Dim d);  /* V_INT, symbolic when d is */

Node *t_emit(Interp *I, Value *call, Op op, Node **in, int nin, const Attr *a);
Node *t_emit_eager(Interp *I, Value *call, Op op, const Attr *a); /* eager source */
Node *t_un(Interp *I, Value *call, Op op, Node *x);
Node *t_bin(Interp *I, Value *call, Op op, Node *x, Node *y);
Node *t_scal(Interp *I, Value *call, Op op, Node *x, double f);
Node *t_reshape(Interp *I, Value *call, Node *x, const Shape *s);
Node *t_permute(Interp *I, Value *call, Node *x, const int *perm);
Node *t_slice(Interp *I, Value *call, Node *x, int axis, Dim start, Dim end);
Node *t_linear(Interp *I, Value *call, Node *x, Node *w, Node *b);
Node *t_full(Interp *I, Value *call, const Shape *s, DType dt, double f);
/* A CONST node in the current graph holding `data` (storage layout). */
Node *t_const(Interp *I, Value *call, DType dt, const Shape *s, void *data);
Node *t_const_eager(Interp *I, Value *call, DType dt, const Shape *s, void *data);
/* Parameter initialisation: eager RAND U(-bound,bound), RANDN, FULL. */
Node *t_param_uniform(Interp *I, Value *call, const Shape *s, double bound);
Node *t_param_normal(Interp *I, Value *call, const Shape *s, double std);
Node *t_param_full(Interp *I, Value *call, const Shape *s, double f);

Shape t_shape1(int64_t a);
Shape t_shape2(int64_t a, int64_t b);

/* A numeric LispE value (number, list, nested lists) as a tensor. */
Node *t_from_value(Interp *I, Value *call, Value *v, int k);
/* Tensor argument k, converting numeric lists (errors name position k). */
Node *t_arg_tensor(Interp *I, Value *call, Value **args, int k);

/* Scaled dot-product attention node on [.., Sq, D] tensors.  mask may be
 * NULL; p is applied only when training. */
Node *t_sdpa(Interp *I, Value *call, Node *q, Node *k, Node *v, Node *mask,
             double scale, bool causal, double p, bool training);

/* ---- module helpers (torch_modules.c) ---------------------------------------- */
Value *t_linear_module(Interp *I, Value *call, int64_t in, int64_t out, bool bias,
                       double wbound, double bbound);
Node  *t_linear_forward(Interp *I, Value *call, Module *m, Node *x);
/* A module's field by its own name (also after torch_set_param_names renamed it); NULL if absent. */
Value *t_module_field(Module *m, const char *field);
Node  *t_module_tensor(Interp *I, Value *call, Module *m, const char *field);
Module *t_submodule(Interp *I, Value *call, Module *m, const char *field);

/* ---- registration tables ---------------------------------------------------- */
extern const Builtin torch_tensor_builtins[];
extern const Builtin torch_module_builtins[];
extern const Builtin torch_attention_builtins[];
extern const Builtin torch_device_builtins[];
extern const Builtin torch_weights_builtins[];   /* torch_weights.c */
extern const Builtin torch_gqa_builtins[];       /* torch_gqa.c */
extern const Builtin jit_builtins[];             /* jit_builtins.c */

/* ---- grouped-query attention (torch_gqa.c) ----------------------------------- */
/* repeat_interleave(x, rep, dim) as reshape/expand/reshape (rep >= 1). */
Node *t_repeat_interleave(Interp *I, Value *call, Node *x, int64_t rep, int dim);
/* sdpa with enable_gqa: Hq (dim -3 of q) a multiple of Hkv; head group Hq/Hkv. */
Node *t_sdpa_group(Interp *I, Value *call, Node *q, Node *k, Node *v, Node *mask, double scale, bool causal,
                   double p, bool training);

#endif
