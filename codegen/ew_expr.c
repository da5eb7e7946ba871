/* ew_expr.c: the parser and the C renderer of element-wise expressions
 * (language in ew_expr.h).  Recursive descent with C's precedence:
 *
 *   ternary    := relational ['?' ternary ':' ternary]
 *   relational := additive [('<' | '>' | '!=') additive]
 *   additive   := term {('+' | '-') term}
 *   term       := unary {('*' | '/') unary}
 *   unary      := '-' unary | primary
 *   primary    := number | operand | prim '(' ternary {',' ternary} ')'
 *               | '(' ternary ')'
 *
 * Conditions and values are checked where they are used, so "x < y" as a
 * whole expression or "x ? 1 : 2" is an error at the offending operand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codegen/ew_expr.h"

const EwPrimInfo ew_prim_info[EWP_COUNT] = {
#define PRIM(e, nm, ar) [EWP_##e] = {nm, ar},
#include "codegen/ew_prims.def"
#undef PRIM
};

typedef struct P {
    const char *src, *s;         /* whole source, cursor */
    EwExpr *e;
    EwError *err;
    bool failed;
} P;

bool ew_is_cond(EwKind k) { return k == EW_LT || k == EW_GT || k == EW_NE; }

/* Record the first error only: later ones are consequences of it. */
static int fail(P *p, const char *at, const char *fmt, ...) {
    if (!p->failed && p->err) {
        p->err->pos = (int)(at - p->src);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
        va_end(ap);
    }
    p->failed = true;
    return -1;
}

static void skip_ws(P *p) {
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n') p->s++;
}

/* Consume tok (after blanks) if it is next. */
static bool eat(P *p, const char *tok) {
    skip_ws(p);
    size_t n = strlen(tok);
    if (strncmp(p->s, tok, n) != 0) return false;
    p->s += n;
    return true;
}

static bool nodes_equal(const EwNode *a, const EwNode *b) {
    if (a->kind != b->kind || a->nargs != b->nargs) return false;
    if (a->kind == EW_CALL && a->prim != b->prim) return false;
    if (a->kind == EW_NUM && a->num != b->num) return false;
    for (int i = 0; i < a->nargs; i++)
        if (a->a[i] != b->a[i]) return false;
    return true;
}

/* Append a node, or return the identical one already there: children are
 * shared already, so comparing one level finds every repeated subtree. */
static int add_node(P *p, const char *at, const EwNode *nd) {
    for (int i = 0; i < p->e->n; i++)
        if (nodes_equal(&p->e->node[i], nd)) return i;
    if (p->e->n == EW_MAX_NODES) return fail(p, at, "expression too long (over %d nodes)", EW_MAX_NODES);
    p->e->node[p->e->n] = *nd;
    return p->e->n++;
}

static int node2(P *p, const char *at, EwKind k, int a, int b) {
    EwNode nd = {.kind = k, .nargs = 2, .a = {a, b, -1}};
    return add_node(p, at, &nd);
}

/* A use of node i where a value (not a condition) is required. */
static int want_value(P *p, const char *at, int i) {
    if (i < 0) return -1;
    if (ew_is_cond(p->e->node[i].kind)) return fail(p, at, "a condition where a value is expected");
    return i;
}

static int ternary(P *p);

/* digits ['.' digits]: kept exact as N / 10^k (both exact doubles, so
 * the one division rounds correctly) instead of strtod, which reads the
 * locale's decimal point. */
static int number(P *p) {
    const char *at = p->s;
    double num = 0, den = 1;
    int digits = 0, frac = 0;
    for (; *p->s >= '0' && *p->s <= '9'; p->s++, digits++) num = num * 10 + (*p->s - '0');
    if (*p->s == '.') {
        p->s++;
        for (; *p->s >= '0' && *p->s <= '9'; p->s++, digits++, frac++) {
            num = num * 10 + (*p->s - '0');
            den *= 10;
        }
    }
    if (digits > 15 || frac > 15) return fail(p, at, "numeric literal too long");
    if ((*p->s >= 'a' && *p->s <= 'z') || (*p->s >= 'A' && *p->s <= 'Z') || *p->s == '_')
        return fail(p, p->s, "bad numeric literal (only digits with an optional fraction)");
    EwNode nd = {.kind = EW_NUM, .num = num / den, .a = {-1, -1, -1}};
    snprintf(nd.text, sizeof nd.text, "%.*s", (int)(p->s - at), at);
    return add_node(p, at, &nd);
}

/* prim '(' args ')' after its name [at, at + len). */
static int call(P *p, const char *at, size_t len) {
    int prim = -1;
    for (int i = 0; i < EWP_COUNT; i++)
        if (strlen(ew_prim_info[i].name) == len && strncmp(ew_prim_info[i].name, at, len) == 0) prim = i;
    if (prim < 0) return fail(p, at, "unknown function '%.*s'", (int)len, at);
    EwNode nd = {.kind = EW_CALL, .prim = (EwPrim)prim, .a = {-1, -1, -1}};
    if (!eat(p, ")")) {
        do {
            skip_ws(p);
            const char *aat = p->s;
            if (nd.nargs == EW_MAX_ARGS) return fail(p, aat, "too many arguments");
            int a = want_value(p, aat, ternary(p));
            if (a < 0) return -1;
            nd.a[nd.nargs++] = a;
        } while (eat(p, ","));
        if (!eat(p, ")")) return fail(p, p->s, "expected ',' or ')'");
    }
    if (nd.nargs != ew_prim_info[prim].arity)
        return fail(p, at, "%s takes %d argument%s, not %d", ew_prim_info[prim].name,
                    ew_prim_info[prim].arity, ew_prim_info[prim].arity == 1 ? "" : "s", nd.nargs);
    return add_node(p, at, &nd);
}

static int primary(P *p) {
    skip_ws(p);
    const char *at = p->s;
    if (*at >= '0' && *at <= '9') return number(p);
    if (eat(p, "(")) {
        int i = ternary(p);
        if (i < 0) return -1;
        if (!eat(p, ")")) return fail(p, p->s, "expected ')'");
        return i;
    }
    size_t len = 0;
    while ((at[len] >= 'a' && at[len] <= 'z') || (at[len] >= 'A' && at[len] <= 'Z') || at[len] == '_' ||
           (len && at[len] >= '0' && at[len] <= '9'))
        len++;
    if (!len) return fail(p, at, *at ? "expected an operand" : "expected an operand, found the end");
    p->s += len;
    if (eat(p, "(")) return call(p, at, len);
    static const struct { const char *name; EwKind kind; } ops[] = {
        {"x", EW_X}, {"y", EW_Y}, {"s0", EW_S0}, {"s1", EW_S1}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strlen(ops[i].name) == len && strncmp(ops[i].name, at, len) == 0) {
            EwNode nd = {.kind = ops[i].kind, .a = {-1, -1, -1}};
            return add_node(p, at, &nd);
        }
    return fail(p, at, "unknown operand '%.*s' (x, y, s0, s1)", (int)len, at);
}

static int unary(P *p) {
    skip_ws(p);
    const char *at = p->s;
    if (!eat(p, "-")) return primary(p);
    int a = want_value(p, at, unary(p));
    if (a < 0) return -1;
    EwNode nd = {.kind = EW_NEG, .nargs = 1, .a = {a, -1, -1}};
    return add_node(p, at, &nd);
}

/* One left-associative level: ops[i] (a token) makes kinds[i]. */
static int binary_level(P *p, int (*sub)(P *), const char *const *ops, const EwKind *kinds, int nops) {
    skip_ws(p);
    const char *at = p->s;
    int l = sub(p);
    for (;;) {
        if (l < 0) return -1;
        int k = -1;
        skip_ws(p);
        const char *opat = p->s;
        for (int i = 0; i < nops && k < 0; i++)
            if (eat(p, ops[i])) k = i;
        if (k < 0) return l;
        if (want_value(p, at, l) < 0) return -1;
        skip_ws(p);
        const char *rat = p->s;
        int r = want_value(p, rat, sub(p));
        if (r < 0) return -1;
        l = node2(p, opat, kinds[k], l, r);
    }
}

static int term(P *p) {
    static const char *const ops[] = {"*", "/"};
    static const EwKind kinds[] = {EW_MUL, EW_DIV};
    return binary_level(p, unary, ops, kinds, 2);
}

static int additive(P *p) {
    static const char *const ops[] = {"+", "-"};
    static const EwKind kinds[] = {EW_ADD, EW_SUB};
    return binary_level(p, term, ops, kinds, 2);
}

/* At most one comparison: a chain would compare a condition. */
static int relational(P *p) {
    skip_ws(p);
    const char *at = p->s;
    int l = additive(p);
    if (l < 0) return -1;
    skip_ws(p);
    const char *opat = p->s;
    EwKind k;
    if (eat(p, "!=")) k = EW_NE;
    else if (eat(p, "<")) k = EW_LT;
    else if (eat(p, ">")) k = EW_GT;
    else return l;
    if (want_value(p, at, l) < 0) return -1;
    skip_ws(p);
    const char *rat = p->s;
    int r = want_value(p, rat, additive(p));
    if (r < 0) return -1;
    return node2(p, opat, k, l, r);
}

static int ternary(P *p) {
    skip_ws(p);
    const char *at = p->s;
    int c = relational(p);
    if (c < 0) return -1;
    skip_ws(p);
    const char *qat = p->s;
    if (!eat(p, "?")) return c;
    if (!ew_is_cond(p->e->node[c].kind)) return fail(p, at, "'?' needs a condition (<, >, !=) before it");
    skip_ws(p);
    const char *aat = p->s;
    int a = want_value(p, aat, ternary(p));
    if (a < 0) return -1;
    if (!eat(p, ":")) return fail(p, p->s, "expected ':'");
    skip_ws(p);
    const char *bat = p->s;
    int b = want_value(p, bat, ternary(p));
    if (b < 0) return -1;
    EwNode nd = {.kind = EW_SELECT, .nargs = 3, .a = {c, a, b}};
    return add_node(p, qat, &nd);
}

int ew_expr_parse(const char *src, EwExpr *e, EwError *err) {
    P p = {.src = src ? src : "", .s = src ? src : "", .e = e, .err = err};
    e->n = 0;
    e->root = -1;
    if (err) { err->pos = 0; err->msg[0] = 0; }
    skip_ws(&p);
    const char *at = p.s;        /* read before ternary moves the cursor */
    int r = want_value(&p, at, ternary(&p));
    if (r < 0) return -1;
    skip_ws(&p);
    if (*p.s) return fail(&p, p.s, "unexpected '%c' after the expression", *p.s);
    e->root = r;
    return 0;
}

bool ew_expr_uses(const EwExpr *e, EwKind operand) {
    for (int i = 0; i < e->n; i++)
        if (e->node[i].kind == operand) return true;
    return false;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct R {
    const EwExpr *e;
    const char *const *prims;
    const char *opnd[4];         /* x, y, s0, s1 */
    bool c_literals;             /* 1.0f rather than 1 */
    StrBuf *out;
} R;

static const char *const bin_tok[] = {
    [EW_ADD] = "+", [EW_SUB] = "-", [EW_MUL] = "*", [EW_DIV] = "/",
    [EW_LT] = "<", [EW_GT] = ">", [EW_NE] = "!="};

/* Node i as text; a shared node is written at each use (C compilers and
 * GPU compilers eliminate the repetition). */
static int render(const R *r, int i) {
    const EwNode *nd = &r->e->node[i];
    StrBuf *o = r->out;
    switch (nd->kind) {
    case EW_X: case EW_Y: case EW_S0: case EW_S1: {
        const char *t = r->opnd[nd->kind - EW_X];
        if (!t) return -1;
        sb_puts(o, t);
        return 0;
    }
    case EW_NUM:
        sb_puts(o, nd->text);
        if (r->c_literals) sb_puts(o, strchr(nd->text, '.') ? "f" : ".0f");
        return 0;
    case EW_NEG:
        sb_puts(o, "(-");
        if (render(r, nd->a[0])) return -1;
        sb_putc(o, ')');
        return 0;
    case EW_SELECT:
        sb_putc(o, '(');
        if (render(r, nd->a[0])) return -1;
        sb_puts(o, " ? ");
        if (render(r, nd->a[1])) return -1;
        sb_puts(o, " : ");
        if (render(r, nd->a[2])) return -1;
        sb_putc(o, ')');
        return 0;
    case EW_CALL: {
        const char *f = r->prims ? r->prims[nd->prim] : ew_prim_info[nd->prim].name;
        if (!f) return -1;
        sb_printf(o, "%s(", f);
        for (int k = 0; k < nd->nargs; k++) {
            if (k) sb_puts(o, ", ");
            if (render(r, nd->a[k])) return -1;
        }
        sb_putc(o, ')');
        return 0;
    }
    default:                     /* the binary operators and comparisons */
        sb_putc(o, '(');
        if (render(r, nd->a[0])) return -1;
        sb_printf(o, " %s ", bin_tok[nd->kind]);
        if (render(r, nd->a[1])) return -1;
        sb_putc(o, ')');
        return 0;
    }
}

int ew_expr_render_c(const EwExpr *e, const char *const *prim_names, const char *x,
                     const char *y, const char *s0, const char *s1, StrBuf *out) {
    if (e->root < 0) return -1;
    R r = {e, prim_names, {x, y, s0, s1}, true, out};
    if (render(&r, e->root)) return -1;
    return out->oom ? -1 : 0;
}

int ew_expr_print(const EwExpr *e, StrBuf *out) {
    if (e->root < 0) return -1;
    R r = {e, NULL, {"x", "y", "s0", "s1"}, false, out};
    if (render(&r, e->root)) return -1;
    return out->oom ? -1 : 0;
}
