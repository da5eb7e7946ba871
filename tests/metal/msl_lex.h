/* msl_lex.h: a small tokenizer of MSL source for the checks the shim's
 * compiler cannot make (msl_lint.c) and for reading kernel signatures
 * (msl_runner.c).  Comments and preprocessor lines are skipped; string and
 * character literals are one token. */
#ifndef LTC_MSL_LEX_H
#define LTC_MSL_LEX_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { MT_IDENT, MT_NUMBER, MT_STRING, MT_PUNCT } MslTokKind;
typedef struct MslTok {
    MslTokKind kind;
    const char *s;      /* into the source */
    int len;
    int line;
} MslTok;
typedef struct MslToks { MslTok *t; int n, cap; } MslToks;

/* 0, or -1 (no memory, an unterminated comment or literal: *line says where). */
int  msl_lex(const char *src, MslToks *out, int *line);
void msl_toks_free(MslToks *t);
bool msl_tok_is(const MslTok *t, const char *s);   /* the token's text is s */

#endif
