/* reader.c: LispE source text -> Values.
 *
 * The lexical rules follow LispE's tokenizer (docs/language.md, "Syntax"):
 *   ;  line comment          ;; ... ;;  block comment (a line comment when
 *   #! line comment (anywhere)           no closing ;; follows)
 *   "..." string with \n \r \t escapes (\x gives x)
 *   `...` and """...""" raw strings (may span lines, no escapes)
 *   -5 +5 1.5 2e-4 0x1F 0b101 numbers (sign attached; "1." and ".5" are
 *   not numbers; a leading 0 is decimal)
 *   symbols: letter/_/#/non-ASCII first, then letters, digits, operator chars
 *   operator atoms: runs of operator characters (+ <= ** ^^ += @ ...)
 *   'x -> (quote x); () and []; {"k":v ...} -> (dictionary "k" v ...)
 *   (f a . g b . h c) -> (f a (g b (h c)))      composition
 * A `]` closes the innermost `[` and every `(` opened after it; with no `[`
 * open it closes every open list, as LispE does.
 *
 * The reader never crashes on bad input: every error is a located
 * diagnostic, and nesting is bounded so the C stack cannot overflow. */
#include "frontend/lisp.h"
#include "frontend/session.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 1000

typedef struct Reader {
    Arena *arena;
    const SrcFile *f;
    const char *p, *end;
    int line;
    const char *line_start;
    LtcDiag *d;
    int depth;
    bool close_all;             /* a `]` is closing lists up to the next `[` */
    bool hit_end;               /* the error is that the text ended inside a form */
} Reader;

static SrcLoc here(Reader *r) {
    SrcLoc l = {r->f, r->line, (int)(r->p - r->line_start) + 1};
    return l;
}

static Value *newval(Reader *r, VKind k, SrcLoc loc) {
    Value *v = arena_alloc(r->arena, sizeof *v);
    if (!v) return NULL;
    v->kind = k;
    v->loc = loc;
    return v;
}

static bool push_item(Reader *r, Value *list, Value *item) {
    if (list->nitems == list->capitems) {
        int cap = list->capitems ? list->capitems * 2 : 4;
        Value **items = arena_alloc(r->arena, sizeof *items * cap);
        if (!items) return false;
        if (list->nitems) memcpy(items, list->items, sizeof *items * list->nitems);
        list->items = items;
        list->capitems = cap;
    }
    list->items[list->nitems++] = item;
    return true;
}

static int oom(Reader *r) { return diag_set(r->d, here(r), "out of memory while reading"); }

static void advance(Reader *r) {
    if (*r->p == '\n') {
        r->line++;
        r->line_start = r->p + 1;
    }
    r->p++;
}

static bool at_end(Reader *r) { return r->p >= r->end; }

/* Operator characters: they may form operator atoms and continue symbols. */
static bool is_opchar(int c) { return c && strchr("+-*/%^<>=!&|?@~:", c) != NULL; }
static bool is_sym_start(int c) { return isalpha(c) || c == '_' || c == '#' || c == '$' || c >= 0x80; }
static bool is_sym_char(int c) {
    return isalnum(c) || c == '_' || c == '#' || c == '$' || c >= 0x80 || (is_opchar(c) && c != ':');
}

/* Skip whitespace and comments (they cannot fail). */
static void skip_space(Reader *r) {
    while (!at_end(r)) {
        unsigned char c = (unsigned char)*r->p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(r);
        } else if (c == ';') {
            /* ;; ... ;; block comment: at least one character between. */
            if (r->end - r->p >= 3 && r->p[1] == ';') {
                const char *q = r->p + 3;
                while (q + 1 < r->end && !(q[0] == ';' && q[1] == ';')) q++;
                if (q + 1 < r->end) {
                    while (r->p < q + 2) advance(r);
                    continue;
                }
            }
            while (!at_end(r) && *r->p != '\n') advance(r);
        } else if (c == '#' && r->p + 1 < r->end && r->p[1] == '!') {
            while (!at_end(r) && *r->p != '\n') advance(r);
        } else {
            break;
        }
    }
}

static Value *read_form(Reader *r);

/* "..." with escapes; `...` and """...""" raw. */
static Value *read_string(Reader *r) {
    SrcLoc loc = here(r);
    StrBuf b = {0};
    Value *v = NULL;
    if (r->end - r->p >= 3 && !strncmp(r->p, "\"\"\"", 3)) {
        for (int i = 0; i < 3; i++) advance(r);
        while (!at_end(r) && !(r->end - r->p >= 3 && !strncmp(r->p, "\"\"\"", 3))) {
            sb_putc(&b, *r->p);
            advance(r);
        }
        if (at_end(r)) goto unterminated;
        for (int i = 0; i < 3; i++) advance(r);
    } else if (*r->p == '`') {
        advance(r);
        while (!at_end(r) && *r->p != '`') {
            sb_putc(&b, *r->p);
            advance(r);
        }
        if (at_end(r)) goto unterminated;
        advance(r);
    } else {
        advance(r);
        while (!at_end(r) && *r->p != '"') {
            char c = *r->p;
            if (c == '\\' && r->p + 1 < r->end) {
                advance(r);
                c = *r->p;
                c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
            }
            sb_putc(&b, c);
            advance(r);
        }
        if (at_end(r)) goto unterminated;
        advance(r);
    }
    v = newval(r, V_STR, loc);
    if (!v || !(v->s = arena_strndup(r->arena, b.s ? b.s : "", b.len))) {
        sb_free(&b);
        oom(r);
        return NULL;
    }
    sb_free(&b);
    return v;
unterminated:
    sb_free(&b);
    r->hit_end = true;
    diag_set(r->d, loc, "unterminated string literal");
    return NULL;
}

/* Does a number start at p?  [+-]?digit */
static bool number_starts(Reader *r) {
    const char *p = r->p;
    if ((*p == '-' || *p == '+') && p + 1 < r->end) p++;
    return p < r->end && isdigit((unsigned char)*p);
}

static Value *read_number(Reader *r) {
    SrcLoc loc = here(r);
    const char *s = r->p, *p = r->p;
    bool decimal = false, binary = false;
    if (*p == '-' || *p == '+') p++;
    if (p[0] == '0' && p + 1 < r->end && (p[1] == 'x' || p[1] == 'X') && p + 2 < r->end &&
        isxdigit((unsigned char)p[2])) {
        p += 2;
        while (p < r->end && isxdigit((unsigned char)*p)) p++;
    } else if (p[0] == '0' && p + 2 < r->end && p[1] == 'b' && (p[2] == '0' || p[2] == '1')) {
        p += 2;
        while (p < r->end && (*p == '0' || *p == '1')) p++;
        binary = true;
    } else {
        while (p < r->end && isdigit((unsigned char)*p)) p++;
        if (p + 1 < r->end && *p == '.' && isdigit((unsigned char)p[1])) {
            decimal = true;
            p++;
            while (p < r->end && isdigit((unsigned char)*p)) p++;
        }
        if (p < r->end && (*p == 'e' || *p == 'E')) {
            const char *q = p + 1;
            if (q < r->end && (*q == '-' || *q == '+')) q++;
            if (q < r->end && isdigit((unsigned char)*q)) {
                decimal = true;
                p = q;
                while (p < r->end && isdigit((unsigned char)*p)) p++;
            }
        }
    }
    char buf[128];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf) return diag_set(r->d, loc, "number literal too long"), NULL;
    memcpy(buf, s, n);
    buf[n] = 0;
    while (r->p < p) advance(r);
    Value *v;
    if (binary) {
        /* [+-]0b101: strtoll does not read the 0b prefix */
        char *digits = strchr(buf, 'b') + 1;
        errno = 0;
        long long x = strtoll(digits, NULL, 2);
        if (errno == ERANGE) return diag_set(r->d, loc, "binary literal out of range"), NULL;
        if (!(v = newval(r, V_INT, loc))) return oom(r), NULL;
        v->i = buf[0] == '-' ? -x : x;
        return v;
    }
    if (!decimal) {
        errno = 0;
        long long x = strtoll(buf, NULL, 10 + 6 * (strchr(buf, 'x') || strchr(buf, 'X')));
        if (errno != ERANGE) {
            if (!(v = newval(r, V_INT, loc))) return oom(r), NULL;
            v->i = x;
            return v;
        }
    }
    if (!(v = newval(r, V_NUM, loc))) return oom(r), NULL;
    v->n = strtod(buf, NULL);
    return v;
}

static Value *read_atom(Reader *r) {
    SrcLoc loc = here(r);
    const char *s = r->p;
    unsigned char c = (unsigned char)*r->p;
    if (is_sym_start(c)) {
        while (!at_end(r) && is_sym_char((unsigned char)*r->p)) advance(r);
    } else if (c == '\\') {
        advance(r);                      /* \ is lambda */
    } else if (is_opchar(c)) {
        while (!at_end(r) && is_opchar((unsigned char)*r->p) && !(*r->p == ':' && r->p != s)) advance(r);
    } else {
        if (c >= 0x20 && c < 0x7f)
            diag_set(r->d, loc, "unexpected character '%c'", c);
        else
            diag_set(r->d, loc, "unexpected byte 0x%02x", c);
        return NULL;
    }
    Value *v = newval(r, V_SYM, loc);
    if (!v || !(v->s = arena_strndup(r->arena, s, (size_t)(r->p - s)))) return oom(r), NULL;
    return v;
}

static Value *make_sym(Reader *r, const char *name, SrcLoc loc) {
    Value *v = newval(r, V_SYM, loc);
    if (!v || !(v->s = arena_strdup(r->arena, name))) return oom(r), NULL;
    return v;
}

/* Items up to the closing `)` or `]` (opener is '(' or '['), or, when
 * `nested` (after a composition dot), up to the enclosing list's closer,
 * which is left for the caller. */
static Value *read_list_items(Reader *r, char opener, SrcLoc loc, bool nested) {
    Value *list = newval(r, V_LIST, loc);
    if (!list) return oom(r), NULL;
    for (;;) {
        skip_space(r);
        if (at_end(r)) {
            r->hit_end = true;
            diag_set(r->d, loc, "unterminated list: missing '%c'", opener == '[' ? ']' : ')');
            return NULL;
        }
        char c = *r->p;
        if (c == ')' || c == ']') {
            if (nested) return list;
            advance(r);
            if (c == ']') {
                if (opener != '[') r->close_all = true;   /* close up to the `[` */
                return list;
            }
            return list;
        }
        if (c == '.' && !(r->p + 1 < r->end && is_opchar((unsigned char)r->p[1]))) {
            SrcLoc dl = here(r);
            if (list->nitems == 0) return diag_set(r->d, dl, "unexpected '.' at the start of a list"), NULL;
            advance(r);
            skip_space(r);
            SrcLoc il = here(r);
            if (r->depth >= MAX_NESTING) return diag_set(r->d, il, "lists nested too deeply"), NULL;
            r->depth++;
            Value *rest = read_list_items(r, opener, il, true);
            r->depth--;
            if (!rest) return NULL;
            if (rest->nitems == 0) return diag_set(r->d, dl, "nothing follows the composition '.'"), NULL;
            if (!push_item(r, list, rest)) return oom(r), NULL;
            if (nested) return list;
            if (r->close_all) {
                if (opener == '[') r->close_all = false;
                return list;
            }
            continue;       /* the closer is read by the loop */
        }
        Value *item = read_form(r);
        if (!item) return NULL;
        if (!push_item(r, list, item)) return oom(r), NULL;
        if (r->close_all) {
            /* a `]` closed an inner `(` list: close lists up to the `[` */
            if (opener == '[' && !nested) r->close_all = false;
            return list;
        }
    }
}

/* {"k":v "k2":v2} -> (dictionary "k" v "k2" v2) */
static Value *read_dict(Reader *r) {
    SrcLoc loc = here(r);
    advance(r);
    Value *list = newval(r, V_LIST, loc), *head = make_sym(r, "dictionary", loc);
    if (!list || !head || !push_item(r, list, head)) return oom(r), NULL;
    for (;;) {
        skip_space(r);
        if (at_end(r)) return r->hit_end = true, diag_set(r->d, loc, "unterminated dictionary: missing '}'"), NULL;
        if (*r->p == '}') {
            advance(r);
            return list;
        }
        Value *k = read_form(r);
        if (!k) return NULL;
        if (r->close_all) return diag_set(r->d, k->loc, "unexpected ']' inside a dictionary"), NULL;
        skip_space(r);
        if (at_end(r) || *r->p != ':') {
            if (at_end(r)) return r->hit_end = true, diag_set(r->d, loc, "unterminated dictionary: missing '}'"), NULL;
            return diag_set(r->d, here(r), "expected ':' after a dictionary key"), NULL;
        }
        advance(r);
        skip_space(r);
        if (at_end(r)) return r->hit_end = true, diag_set(r->d, loc, "unterminated dictionary: missing '}'"), NULL;
        if (*r->p == '}') return diag_set(r->d, here(r), "missing value after ':'"), NULL;
        Value *v = read_form(r);
        if (!v) return NULL;
        if (r->close_all) return diag_set(r->d, v->loc, "unexpected ']' inside a dictionary"), NULL;
        if (!push_item(r, list, k) || !push_item(r, list, v)) return oom(r), NULL;
    }
}

/* One datum; the caller has skipped space and checked for end of input. */
static Value *read_form(Reader *r) {
    SrcLoc loc = here(r);
    char c = *r->p;
    if (r->depth >= MAX_NESTING) return diag_set(r->d, loc, "lists nested too deeply"), NULL;
    Value *v = NULL;
    r->depth++;
    switch (c) {
    case '(':
    case '[':
        advance(r);
        v = read_list_items(r, c, loc, false);
        break;
    case ')':
    case ']':
        diag_set(r->d, loc, "unexpected '%c'", c);
        break;
    case '}':
        diag_set(r->d, loc, "unexpected '}'");
        break;
    case '{':
        v = read_dict(r);
        break;
    case '"':
    case '`':
        v = read_string(r);
        break;
    case '\'': {
        advance(r);
        skip_space(r);
        if (at_end(r) || *r->p == ')' || *r->p == ']') {
            r->hit_end = at_end(r);
            diag_set(r->d, loc, "nothing to quote after '''");
            break;
        }
        Value *q = read_form(r);
        if (!q) break;
        Value *head = make_sym(r, "quote", loc);
        v = newval(r, V_LIST, loc);
        if (!head || !v || !push_item(r, v, head) || !push_item(r, v, q)) v = NULL, oom(r);
        break;
    }
    case '.':
        if (r->p + 1 < r->end && is_opchar((unsigned char)r->p[1])) {
            v = read_atom(r);
            break;
        }
        diag_set(r->d, loc, "unexpected '.' outside a list");
        break;
    default:
        v = number_starts(r) ? read_number(r) : read_atom(r);
        break;
    }
    r->depth--;
    return v;
}

/* The whole text; *incomplete (when asked) tells an error that is only
 * the text ending inside a form from one that more text cannot mend. */
static Value *read_all(Arena *a, const SrcFile *f, LtcDiag *d, bool *incomplete) {
    Reader r = {0};
    r.arena = a;
    r.f = f;
    r.p = f->text;
    r.end = f->text + f->len;
    r.line = 1;
    r.line_start = f->text;
    r.d = d;
    if (incomplete) *incomplete = false;
    if (f->len >= 3 && !memcmp(f->text, "\xEF\xBB\xBF", 3)) r.p = r.line_start = f->text + 3;   /* UTF-8 BOM */
    SrcLoc top = {f, 1, 1};
    Value *forms = newval(&r, V_LIST, top);
    if (!forms) return oom(&r), NULL;
    for (;;) {
        skip_space(&r);
        if (at_end(&r)) return forms;
        Value *v = read_form(&r);
        if (!v) {
            if (incomplete) *incomplete = r.hit_end;
            return NULL;
        }
        r.close_all = false;        /* `]` with no `[` open: closed everything */
        if (!push_item(&r, forms, v)) return oom(&r), NULL;
    }
}

Value *lisp_read(Arena *a, const SrcFile *f, LtcDiag *d) { return read_all(a, f, d, NULL); }

Value *lisp_read_partial(Arena *a, const SrcFile *f, LtcDiag *d, bool *incomplete) {
    return read_all(a, f, d, incomplete);
}
