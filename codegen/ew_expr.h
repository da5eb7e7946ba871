/* ew_expr.h: the element-wise expression of an op (ops.def's expr column),
 * parsed once here for every backend.
 *
 * The language (also described in ir/ops.def's header): operands x (input
 * 0), y (input 1), s0, s1 (the scalar attributes Attr.f, Attr.f2); numeric
 * literals (digits with an optional fraction: 0, 1, 0.5); unary -; binary
 * + - * / (left-associative, * / binding tighter); comparisons < > != that
 * yield a condition (IEEE: < and > are false on NaN, != is true); c ? a : b
 * whose c must be a condition; parentheses; calls to the primitives of
 * codegen/ew_prims.def.  A condition is not a value: it may only be the
 * first operand of ?:, and a value may not be one.
 *
 * The AST is an array of nodes, children before parents, so a backend
 * can build it in one forward pass.  Structurally identical subexpressions
 * are one node (the parser shares them), so an expression that repeats a
 * subexpression (clamp's first select) costs a builder that builds each
 * node once nothing extra.  Parsing allocates nothing: EwExpr is a fixed
 * array, and an expression that does not fit is an error. */
#ifndef LTC_CODEGEN_EW_EXPR_H
#define LTC_CODEGEN_EW_EXPR_H

#include <stdbool.h>

#include "support/support.h"

typedef enum EwPrim {
#define PRIM(e, name, arity) EWP_##e,
#include "codegen/ew_prims.def"
#undef PRIM
    EWP_COUNT
} EwPrim;

typedef struct EwPrimInfo { const char *name; int arity; } EwPrimInfo;
extern const EwPrimInfo ew_prim_info[EWP_COUNT];

typedef enum EwKind {
    EW_X, EW_Y, EW_S0, EW_S1,   /* operands */
    EW_NUM,                      /* literal: num */
    EW_NEG,                      /* -a[0] */
    EW_ADD, EW_SUB, EW_MUL, EW_DIV,
    EW_LT, EW_GT, EW_NE,         /* conditions */
    EW_SELECT,                   /* a[0] ? a[1] : a[2] */
    EW_CALL,                     /* prim(a[0], ...) */
} EwKind;

#define EW_MAX_NODES 48
#define EW_MAX_ARGS 3

typedef struct EwNode {
    EwKind kind;
    EwPrim prim;                 /* EW_CALL */
    int nargs;
    int a[EW_MAX_ARGS];          /* children: node indices, each < this node's */
    double num;                  /* EW_NUM */
    char text[24];               /* EW_NUM: the literal as written */
} EwNode;

typedef struct EwExpr {
    int n, root;
    EwNode node[EW_MAX_NODES];
} EwExpr;

typedef struct EwError {
    int pos;                     /* 0-based byte offset into the source */
    char msg[96];
} EwError;

/* Parse src into e.  Returns 0, or -1 with err filled (err may be NULL). */
int ew_expr_parse(const char *src, EwExpr *e, EwError *err);

/* Whether a kind yields a condition rather than a value. */
bool ew_is_cond(EwKind k);

/* Whether the expression reads an operand (EW_X .. EW_S1). */
bool ew_expr_uses(const EwExpr *e, EwKind operand);

/* A C expression for e, fully parenthesised: prim_names[p] is the
 * dialect's function for primitive p (NULL array: the primitive's own
 * name), x, y, s0, s1 the C text of the operands, literals get an f
 * suffix (fp32).  Returns 0, or -1 when an operand or primitive the
 * expression uses has no text or out is out of memory. */
int ew_expr_render_c(const EwExpr *e, const char *const *prim_names, const char *x,
                     const char *y, const char *s0, const char *s1, StrBuf *out);

/* The expression in the language itself (prim names, operand names). */
int ew_expr_print(const EwExpr *e, StrBuf *out);

#endif
