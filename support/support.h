/* support.h: arena allocation, growable strings, source locations and
 * diagnostics shared by every part of the compiler.
 *
 * Errors below the command-line layer are *returned*: a function that can
 * fail fills an LtcDiag and returns an error code (or NULL).  Nothing here
 * calls exit().  Memory comes from an Arena that belongs to one compile or
 * run session and is released as a whole when the session ends. */
#ifndef LTC_SUPPORT_H
#define LTC_SUPPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the project version: CMakeLists.txt checks that project() says the same */
#define LTC_VERSION "0.2.0"

/* ---- arena ---------------------------------------------------------- */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
    void **bigs;            /* large allocations (tensor data), freed with the arena */
    size_t nbigs, capbigs;
    size_t bytes;           /* total bytes handed out, for --stats */
    struct ArenaCleanup *cleanups;  /* run first by arena_free, newest first */
} Arena;

void  arena_init(Arena *a);
void  arena_free(Arena *a);                 /* releases everything */
void *arena_alloc(Arena *a, size_t n);      /* zeroed, 16-byte aligned; NULL on OOM */
void *arena_alloc_big(Arena *a, size_t n);  /* zeroed, 64-byte aligned; NULL on OOM */
char *arena_strdup(Arena *a, const char *s);
/* Call fn(ctx) when the arena is freed (memory that lives as long as the
 * session but is released piecemeal, e.g. eager tensor values).  -1 on OOM. */
int   arena_on_free(Arena *a, void (*fn)(void *), void *ctx);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- concrete shapes (names.c) ------------------------------------------ */
/* "[2,128,256]" into buf (cut to n bytes); returns buf. */
const char *dims_str(const int64_t *dims, int rank, char *buf, size_t n);

/* ---- names (names.c): for "did you mean" ------------------------------ */
#define NAME_FAR (1 << 20)                     /* distance to a name of over 63 chars */
int         name_distance(const char *a, const char *b);    /* edits, adjacent swaps count one */
int         name_close_enough(const char *s);   /* the most edits a suggestion for s may be */
/* The candidate closest to s (NULL entries skipped), or NULL if none is
 * within name_close_enough(s). */
const char *name_closest(const char *s, const char *const *cands, int n);

/* ---- growable string (heap, caller frees with sb_free) ------------------ */
/* Out of memory does not end the process (the compiler also runs inside
 * hosts): the buffer stops growing, keeps what it had and sets oom; a
 * caller whose text must be whole (a plan blob, an output file) checks it. */
typedef struct StrBuf { char *s; size_t len, cap; bool oom; } StrBuf;
void sb_putc(StrBuf *b, char c);
void sb_puts(StrBuf *b, const char *s);
void sb_printf(StrBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *b, const char *fmt, va_list ap);
void sb_free(StrBuf *b);

/* ---- sources and locations ------------------------------------------ */
typedef struct SrcFile {
    const char *name;       /* as given on the command line */
    const char *text;       /* NUL-terminated contents */
    size_t len;
} SrcFile;

/* A position in a source file.  line and col are 1-based; file NULL means
 * "no location" (built-in code). */
typedef struct SrcLoc { const SrcFile *file; int line, col; } SrcLoc;

/* ---- diagnostics ------------------------------------------------------ */
typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

typedef struct LtcDiag {
    DiagLevel level;
    SrcLoc loc;
    char msg[1024];
} LtcDiag;

/* Fill d with a formatted message; returns -1 so callers can write
 * `return diag_set(d, loc, "...")`. */
int diag_set(LtcDiag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int diag_vset(LtcDiag *d, SrcLoc loc, const char *fmt, va_list ap);

/* Print clang-style: `file:line:col: error: msg`, then the source line and a
 * caret under col.  Without a location only `lispetorchc: error: msg`. */
void diag_print(const LtcDiag *d, void *stream /* FILE* */, bool color);
/* Only the first line (`file:line:col: note: msg`): for notes that must
 * not flood, such as `run`'s fallback notes. */
void diag_print_line(const LtcDiag *d, void *stream /* FILE* */, bool color);

/* ---- files -------------------------------------------------------------- */
/* Read a whole file into arena memory (NUL-terminated). */
int  read_file(Arena *a, const char *path, SrcFile *out, LtcDiag *d);

/* Write `n` bytes atomically: to path.tmp.PID, then rename.  A failure
 * leaves no partial file and the old file (if any) untouched. */
int  write_file_atomic(const char *path, const void *data, size_t n, LtcDiag *d);

/* ---- small helpers -------------------------------------------------------- */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);  /* FNV-1a 64 */
double   now_ms(void);                                         /* monotonic clock */

#endif
