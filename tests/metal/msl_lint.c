/* msl_lint.c: see msl_lint.h.  Attribute names from the Metal Shading
 * Language Specification (attributes of kernel parameters and functions,
 * section "Attributes"), compute and the few others a kernel file may
 * carry; C++'s standard attributes too. */
#include "tests/metal/msl_lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/metal/msl_lex.h"

/* argument shapes: "" none, "N" an integer literal, "I" an identifier,
 * "S" a string literal, "?N" an optional integer */
typedef struct AttrRule { const char *name, *args; long lo, hi; } AttrRule;
static const AttrRule rules[] = {
    /* resources */
    {"buffer", "N", 0, 30}, {"texture", "N", 0, 127}, {"sampler", "N", 0, 15}, {"threadgroup", "N", 0, 30},
    /* kernel thread positions */
    {"thread_position_in_grid", "", 0, 0}, {"thread_position_in_threadgroup", "", 0, 0},
    {"threadgroup_position_in_grid", "", 0, 0}, {"threads_per_threadgroup", "", 0, 0},
    {"threadgroups_per_grid", "", 0, 0}, {"thread_index_in_threadgroup", "", 0, 0},
    {"thread_index_in_simdgroup", "", 0, 0}, {"simdgroup_index_in_threadgroup", "", 0, 0},
    {"threads_per_simdgroup", "", 0, 0}, {"simdgroups_per_threadgroup", "", 0, 0},
    {"dispatch_simdgroups_per_threadgroup", "", 0, 0}, {"thread_index_in_quadgroup", "", 0, 0},
    {"quadgroup_index_in_threadgroup", "", 0, 0}, {"quadgroups_per_threadgroup", "", 0, 0},
    {"dispatch_quadgroups_per_threadgroup", "", 0, 0}, {"threads_per_grid", "", 0, 0},
    {"dispatch_threads_per_threadgroup", "", 0, 0}, {"grid_origin", "", 0, 0}, {"grid_size", "", 0, 0},
    {"thread_execution_width", "", 0, 0},
    /* functions */
    {"max_total_threads_per_threadgroup", "N", 1, 1024}, {"host_name", "S", 0, 0}, {"visible", "", 0, 0},
    {"stitchable", "", 0, 0}, {"function_constant", "I", 0, 0}, {"id", "N", 0, 1 << 20},
    /* C++ */
    {"maybe_unused", "", 0, 0}, {"likely", "", 0, 0}, {"unlikely", "", 0, 0}, {"fallthrough", "", 0, 0},
    {"nodiscard", "", 0, 0}, {"noreturn", "", 0, 0},
};

/* err = "FILE:LINE: " + the message */
static void say(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void say(char *err, size_t errlen, const char *file, int line, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%d: %s", file, line, msg);
}

/* [[ at token i: check each attribute up to ]]; *next: the token after */
static int check_attrs(const MslToks *t, int i, const char *file, int *next, char *err, size_t errlen) {
    int j = i + 2;
    for (;;) {
        if (j >= t->n || t->t[j].kind != MT_IDENT) {
            say(err, errlen, file, t->t[j < t->n ? j : i].line, "an attribute name expected after '[['");
            return -1;
        }
        const MslTok *nm = &t->t[j++];
        const AttrRule *r = NULL;
        for (size_t k = 0; k < sizeof rules / sizeof *rules && !r; k++)
            if (msl_tok_is(nm, rules[k].name)) r = &rules[k];
        if (!r) {
            say(err, errlen, file, nm->line, "[[%.*s]] is not an MSL attribute", (int)nm->len, nm->s);
            return -1;
        }
        bool has = j < t->n && msl_tok_is(&t->t[j], "(");
        if (!r->args[0] && has) { say(err, errlen, file, nm->line, "[[%.*s]] takes no argument", (int)nm->len, nm->s); return -1; }
        if (r->args[0] && !has) { say(err, errlen, file, nm->line, "[[%.*s]] needs an argument", (int)nm->len, nm->s); return -1; }
        if (has) {
            const MslTok *a = j + 1 < t->n ? &t->t[j + 1] : NULL;
            bool shape = a && j + 2 < t->n && msl_tok_is(&t->t[j + 2], ")") &&
                         ((r->args[0] == 'N' && a->kind == MT_NUMBER) || (r->args[0] == 'I' && a->kind == MT_IDENT) ||
                          (r->args[0] == 'S' && a->kind == MT_STRING && a->s[0] == '"'));
            if (!shape) {
                say(err, errlen, file, nm->line,
                    r->args[0] == 'N' ? "[[%.*s(...)]] takes one integer literal"
                    : r->args[0] == 'I' ? "[[%.*s(...)]] takes one identifier" : "[[%.*s(...)]] takes one string literal",
                    (int)nm->len, nm->s);
                return -1;
            }
            if (r->args[0] == 'N') {
                char *end;
                long v = strtol(a->s, &end, 0);
                if (end != a->s + a->len && !(end + 1 == a->s + a->len && (*end == 'u' || *end == 'U'))) {
                    say(err, errlen, file, nm->line, "[[%.*s(...)]]: not an integer literal", (int)nm->len, nm->s);
                    return -1;
                }
                if (v < r->lo || v > r->hi) {
                    say(err, errlen, file, nm->line, "[[%.*s(%ld)]]: out of %ld..%ld", nm->len, nm->s, v, r->lo, r->hi);
                    return -1;
                }
            }
            j += 3;
        }
        if (j < t->n && msl_tok_is(&t->t[j], ",")) { j++; continue; }
        if (j + 1 < t->n && msl_tok_is(&t->t[j], "]") && msl_tok_is(&t->t[j + 1], "]")) { *next = j + 2; return 0; }
        say(err, errlen, file, nm->line, "']]' expected after [[%.*s...", (int)nm->len, nm->s);
        return -1;
    }
}

static bool adjacent(const MslTok *a, const MslTok *b) { return a->s + a->len == b->s; }

/* C++ that MSL leaves out (the specification's list of restrictions) */
static const char *const banned[] = {"goto", "new", "delete", "virtual", "thread_local", "register", "try", "catch",
                                     "throw", "dynamic_cast", "typeid", "noexcept"};

/* a floating literal without f or h: a double in the shim's C++, so RUN
 * mode would compute in double where Metal does not */
static bool unsuffixed_float(const MslTok *k) {
    if (k->kind != MT_NUMBER) return false;
    bool hex = k->len > 1 && k->s[0] == '0' && (k->s[1] == 'x' || k->s[1] == 'X'), flt = false;
    for (int i = 0; i < k->len; i++)
        flt = flt || k->s[i] == '.' || (hex ? k->s[i] == 'p' || k->s[i] == 'P' : k->s[i] == 'e' || k->s[i] == 'E');
    char last = k->s[k->len - 1];
    return flt && !strchr("fFhH", last);
}

static bool is_banned(const MslTok *k) {
    for (size_t j = 0; k->kind == MT_IDENT && j < sizeof banned / sizeof *banned; j++)
        if (msl_tok_is(k, banned[j])) return true;
    return false;
}

typedef struct Fn Fn;
static int functions(const MslToks *t, Fn **out);
static int lint_functions(const MslToks *t, const char *file, char *err, size_t errlen);

int msl_lint(const char *src, const char *file, char *err, size_t errlen) {
    MslToks t;
    int line = 0;
    if (msl_lex(src, &t, &line)) {
        snprintf(err, errlen, "%s:%d: unterminated comment or literal (or out of memory)", file, line);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < t.n && rc == 0; i++) {
        const MslTok *k = &t.t[i];
        if (msl_tok_is(k, "[") && i + 1 < t.n && msl_tok_is(&t.t[i + 1], "[") && adjacent(k, &t.t[i + 1])) {
            int next;
            if ((rc = check_attrs(&t, i, file, &next, err, errlen)) == 0) i = next - 1;
        } else if (msl_tok_is(k, "double")) {
            say(err, errlen, file, k->line, "MSL has no double");
            rc = -1;
        } else if (msl_tok_is(k, "long") && i + 1 < t.n && (msl_tok_is(&t.t[i + 1], "long") || msl_tok_is(&t.t[i + 1], "double"))) {
            say(err, errlen, file, k->line, "MSL has no long %.*s", (int)t.t[i + 1].len, t.t[i + 1].s);
            rc = -1;
        } else if (unsuffixed_float(k)) {
            say(err, errlen, file, k->line, "the floating literal %.*s has no f or h suffix (a double in C++: the shim "
                "would compute in double)", (int)k->len, k->s);
            rc = -1;
        } else if (is_banned(k)) {
            say(err, errlen, file, k->line, "MSL has no %.*s (C++ it leaves out)", (int)k->len, k->s);
            rc = -1;
        } else if (msl_tok_is(k, "printf")) {
            say(err, errlen, file, k->line, "MSL has no printf");
            rc = -1;
        } else if (msl_tok_is(k, "static")) {
            /* a static function is MSL; a static variable is not (a program-scope
             * one must be in constant; the shim's own threadgroup is static) */
            for (int j = i + 1; j < t.n; j++) {
                const MslTok *q = &t.t[j];
                if (msl_tok_is(q, "(")) break;
                if (q->kind == MT_PUNCT && strchr("[;,=", q->s[0])) {
                    say(err, errlen, file, k->line, "a static variable: MSL has none (a program-scope constant is "
                        "declared `constant`)");
                    rc = -1;
                    break;
                }
            }
        } else if (msl_tok_is(k, "threadgroup")) {
            /* threadgroup T x[N] only: a pointer or reference to threadgroup
             * memory would be a `static` pointer in the shim */
            for (int j = i + 1; j < t.n; j++) {
                const MslTok *q = &t.t[j];
                if (msl_tok_is(q, "*") || msl_tok_is(q, "&")) {
                    say(err, errlen, file, k->line,
                        "a threadgroup pointer or reference: the shim models threadgroup memory only as kernel-scope "
                        "arrays (index the array instead)");
                    rc = -1;
                    break;
                }
                if (q->kind == MT_PUNCT && strchr("[;,=(){}", q->s[0])) break;
            }
        }
    }
    if (rc == 0) rc = lint_functions(&t, file, err, errlen);
    msl_toks_free(&t);
    return rc;
}

/* ---- kernels ----------------------------------------------------------------------- */
/* the token matching the bracket at i (same nesting), or -1 */
static int match(const MslToks *t, int i) {
    char open = t->t[i].s[0], close = open == '(' ? ')' : open == '{' ? '}' : ']';
    int depth = 0;
    for (int j = i; j < t->n; j++) {
        if (t->t[j].kind != MT_PUNCT) continue;
        if (t->t[j].s[0] == open) depth++;
        else if (t->t[j].s[0] == close && --depth == 0) return j;
    }
    return -1;
}

struct Fn { const MslTok *name; int lp, body, end; bool sync; int mark; };

/* the functions defined at file scope: NAME ( ... ) [const] { ... } */
static int functions(const MslToks *t, Fn **out) {
    int n = 0, cap = 64;
    Fn *f = malloc((size_t)cap * sizeof *f);
    if (!f) return -1;
    for (int i = 0; i + 1 < t->n; i++) {
        if (msl_tok_is(&t->t[i], "{")) { int e = match(t, i); if (e < 0) break; i = e; continue; }
        if (t->t[i].kind != MT_IDENT || !msl_tok_is(&t->t[i + 1], "(")) continue;
        int rp = match(t, i + 1);
        if (rp < 0) break;
        int b = rp + 1;
        while (b < t->n && (msl_tok_is(&t->t[b], "const") || msl_tok_is(&t->t[b], "noexcept"))) b++;
        if (b >= t->n || !msl_tok_is(&t->t[b], "{")) { i = rp; continue; }
        int e = match(t, b);
        if (e < 0) break;
        if (n == cap) {
            Fn *g = realloc(f, (size_t)(cap *= 2) * sizeof *f);
            if (!g) { free(f); return -1; }
            f = g;
        }
        f[n++] = (Fn){&t->t[i], i + 1, b, e, false, 0};
        i = e;
    }
    *out = f;
    return n;
}

static bool sync_name(const MslTok *k) {
    return msl_tok_is(k, "threadgroup_barrier") || msl_tok_is(k, "simdgroup_barrier") ||
           (k->len > 5 && memcmp(k->s, "simd_", 5) == 0) || (k->len > 10 && memcmp(k->s, "simdgroup_", 10) == 0) ||
           (k->len > 5 && memcmp(k->s, "quad_", 5) == 0);
}

static bool same_tok(const MslTok *a, const MslTok *b) { return a->len == b->len && memcmp(a->s, b->s, (size_t)a->len) == 0; }

/* sync: a barrier or simd name in the body, or a call of a sync function (to a fixpoint) */
static void mark_sync(const MslToks *t, Fn *f, int n) {
    for (int k = 0; k < n; k++)
        for (int j = f[k].body; j < f[k].end && !f[k].sync; j++) f[k].sync = t->t[j].kind == MT_IDENT && sync_name(&t->t[j]);
    for (bool changed = true; changed;) {
        changed = false;
        for (int k = 0; k < n; k++)
            for (int j = f[k].body; j < f[k].end && !f[k].sync; j++)
                for (int m = 0; m < n && !f[k].sync; m++)
                    if (f[m].sync && t->t[j].kind == MT_IDENT && same_tok(&t->t[j], f[m].name)) f[k].sync = changed = true;
    }
}

/* a call cycle through f[k] (depth-first; mark 1: on the path, 2: done) */
static int cycle(const MslToks *t, Fn *f, int n, int k) {
    if (f[k].mark == 1) return k;
    if (f[k].mark == 2) return -1;
    f[k].mark = 1;
    for (int j = f[k].body; j < f[k].end; j++) {
        if (t->t[j].kind != MT_IDENT || j + 1 >= f[k].end || !msl_tok_is(&t->t[j + 1], "(")) continue;
        for (int m = 0; m < n; m++)
            if (same_tok(&t->t[j], f[m].name)) {
                int c = cycle(t, f, n, m);
                if (c >= 0) return c;
            }
    }
    f[k].mark = 2;
    return -1;
}

/* no recursion (MSL has none); a kernel's pointer and reference
 * parameters name their address space */
static int lint_functions(const MslToks *t, const char *file, char *err, size_t errlen) {
    Fn *f = NULL;
    int n = functions(t, &f), rc = 0;
    if (n < 0) { snprintf(err, errlen, "%s: out of memory", file); return -1; }
    for (int k = 0; k < n && rc == 0; k++) {
        int c = cycle(t, f, n, k);
        if (c >= 0) {
            say(err, errlen, file, f[c].name->line, "%.*s is recursive (MSL has no recursion)", (int)f[c].name->len, f[c].name->s);
            rc = -1;
        }
    }
    for (int k = 0; k < n && rc == 0; k++) {
        if (f[k].lp < 3 || !msl_tok_is(&t->t[f[k].lp - 3], "kernel")) continue;
        int rp = match(t, f[k].lp);
        bool space = false, indirect = false;
        for (int j = f[k].lp + 1; j <= rp && rc == 0; j++) {
            const MslTok *q = &t->t[j];
            if (msl_tok_is(q, "device") || msl_tok_is(q, "constant") || msl_tok_is(q, "threadgroup") ||
                msl_tok_is(q, "thread"))
                space = true;
            else if (msl_tok_is(q, "*") || msl_tok_is(q, "&")) indirect = true;
            else if (msl_tok_is(q, "[") && j + 1 <= rp && msl_tok_is(&t->t[j + 1], "[")) {   /* skip the attribute */
                while (j <= rp && !msl_tok_is(&t->t[j], "]")) j++;
                j++;
            } else if (msl_tok_is(q, ",") || j == rp) {
                if (indirect && !space) {
                    say(err, errlen, file, q->line, "a pointer or reference parameter of kernel %.*s without an address space "
                        "(device, constant, threadgroup)", (int)f[k].name->len, f[k].name->s);
                    rc = -1;
                }
                space = indirect = false;
            }
        }
    }
    free(f);
    return rc;
}

static void copy_text(char *dst, size_t cap, const char *a, const char *b) {
    size_t n = (size_t)(b - a);
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '\n')) n--;
    if (n >= cap) n = cap - 1;
    memcpy(dst, a, n);
    dst[n] = 0;
}

int msl_kernel(const char *src, const char *name, MslKernel *k, char *err, size_t errlen) {
    memset(k, 0, sizeof *k);
    MslToks t;
    int line = 0;
    if (msl_lex(src, &t, &line)) { snprintf(err, errlen, "line %d: unterminated comment or literal", line); return -1; }
    Fn *f = NULL;
    int n = functions(&t, &f), rc = -1;
    if (n < 0) { snprintf(err, errlen, "out of memory"); goto out; }
    mark_sync(&t, f, n);
    const Fn *kf = NULL;
    for (int i = 0; i < n && !kf; i++)
        if (msl_tok_is(f[i].name, name) && f[i].lp >= 2 && msl_tok_is(&t.t[f[i].lp - 2], "void") &&
            msl_tok_is(&t.t[f[i].lp - 3 >= 0 ? f[i].lp - 3 : 0], "kernel"))
            kf = &f[i];
    if (!kf) { snprintf(err, errlen, "no `kernel void %s(...) {...}` in the source", name); goto out; }
    k->sync = kf->sync;
    /* [[max_total_threads_per_threadgroup(N)]] just before `kernel` */
    int a = kf->lp - 4;
    if (a >= 5 && msl_tok_is(&t.t[a], "]") && msl_tok_is(&t.t[a - 1], "]") && msl_tok_is(&t.t[a - 2], ")") &&
        msl_tok_is(&t.t[a - 4], "(") && msl_tok_is(&t.t[a - 5], "max_total_threads_per_threadgroup"))
        k->max_threads = strtol(t.t[a - 3].s, NULL, 0);
    int rp = match(&t, kf->lp);
    for (int start = kf->lp + 1; start < rp;) {
        int depth = 0, j;
        for (j = start; j < rp; j++) {   /* the parameter's end: a comma at depth 0 */
            char c = t.t[j].kind == MT_PUNCT ? t.t[j].s[0] : 0;
            if (c == '(' || c == '[' || c == '<') depth++;
            else if (c == ')' || c == ']' || c == '>') depth--;
            else if (c == ',' && depth == 0) break;
        }
        if (k->np == MSL_MAX_PARAMS) { snprintf(err, errlen, "%s: more than %d parameters", name, MSL_MAX_PARAMS); goto out; }
        MslParam *p = &k->p[k->np++];
        p->arg = -1;
        int at = start;
        while (at < j && !(msl_tok_is(&t.t[at], "[") && at + 1 < j && msl_tok_is(&t.t[at + 1], "["))) at++;
        int nm = at - 1;
        if (nm < start || t.t[nm].kind != MT_IDENT) {
            snprintf(err, errlen, "%s: parameter %d has no name", name, k->np);
            goto out;
        }
        copy_text(p->name, sizeof p->name, t.t[nm].s, t.t[nm].s + t.t[nm].len);
        copy_text(p->type, sizeof p->type, t.t[start].s, t.t[nm].s);
        if (at + 2 < j && t.t[at + 2].kind == MT_IDENT) {
            copy_text(p->attr, sizeof p->attr, t.t[at + 2].s, t.t[at + 2].s + t.t[at + 2].len);
            if (at + 4 < j && msl_tok_is(&t.t[at + 3], "(") && t.t[at + 4].kind == MT_NUMBER) p->arg = strtol(t.t[at + 4].s, NULL, 0);
        }
        start = j + 1;
    }
    rc = 0;
out:
    free(f);
    msl_toks_free(&t);
    return rc;
}
