/* msl_lex.c: see msl_lex.h. */
#include "tests/metal/msl_lex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int push(MslToks *o, MslTokKind k, const char *s, int len, int line) {
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 1024;
        MslTok *t = realloc(o->t, (size_t)cap * sizeof *t);
        if (!t) return -1;
        o->t = t;
        o->cap = cap;
    }
    o->t[o->n++] = (MslTok){k, s, len, line};
    return 0;
}

int msl_lex(const char *src, MslToks *o, int *line_out) {
    memset(o, 0, sizeof *o);
    int line = 1;
    bool bol = true;   /* only blanks so far on this line: a '#' starts a directive */
    const char *p = src;
    while (*p) {
        if (*p == '\n') { line++; bol = true; p++; continue; }
        if (isspace((unsigned char)*p)) { p++; continue; }
        if (p[0] == '/' && p[1] == '/') { while (*p && *p != '\n') p++; continue; }
        if (p[0] == '/' && p[1] == '*') {
            int start = line;
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/')) line += *p++ == '\n';
            if (!*p) { *line_out = start; msl_toks_free(o); return -1; }
            p += 2;
            continue;
        }
        if (*p == '#' && bol) {   /* a directive, with its continuation lines */
            while (*p && *p != '\n') {
                if (p[0] == '\\' && p[1] == '\n') { line++; p++; }
                p++;
            }
            continue;
        }
        bol = false;
        const char *s = p;
        MslTokKind k;
        if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)*p) || *p == '_') p++;
            k = MT_IDENT;
        } else if (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
            /* a pp-number: digits, letters, dots, exponent signs */
            while (isalnum((unsigned char)*p) || *p == '.' || *p == '_' ||
                   ((*p == '+' || *p == '-') && strchr("eEpP", p[-1])))
                p++;
            k = MT_NUMBER;
        } else if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q && *p != '\n') p += p[0] == '\\' && p[1] ? 2 : 1;
            if (*p != q) { *line_out = line; msl_toks_free(o); return -1; }
            p++;
            k = MT_STRING;
        } else {
            p++;
            k = MT_PUNCT;
        }
        if (push(o, k, s, (int)(p - s), line)) { *line_out = line; msl_toks_free(o); return -1; }
    }
    return 0;
}

void msl_toks_free(MslToks *t) {
    free(t->t);
    memset(t, 0, sizeof *t);
}

bool msl_tok_is(const MslTok *t, const char *s) {
    return (int)strlen(s) == t->len && memcmp(t->s, s, (size_t)t->len) == 0;
}
