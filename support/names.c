/* names.c: how far apart two names are, for every "did you mean" of the
 * compiler (options, pass and CPU names, entries, functions, methods,
 * backends), and how a concrete shape is written in messages.
 *
 * Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two adjacent characters, each one step ("modle" is one step
 * from "model", where plain Levenshtein counts two). */
#include "support/support.h"

#include <stdio.h>
#include <string.h>

int name_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return NAME_FAR;
    int m[64][64];
    for (int i = 0; i <= la; i++) m[i][0] = i;
    for (int j = 0; j <= lb; j++) m[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int best = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (m[i - 1][j] + 1 < best) best = m[i - 1][j] + 1;
            if (m[i][j - 1] + 1 < best) best = m[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && m[i - 2][j - 2] + 1 < best)
                best = m[i - 2][j - 2] + 1;
            m[i][j] = best;
        }
    return m[la][lb];
}

int name_close_enough(const char *s) {
    /* 1 edit for short words, up to a third of longer ones (at most 3) */
    int len = (int)strlen(s);
    return len <= 3 ? 1 : len / 3 < 2 ? 2 : len / 3 > 3 ? 3 : len / 3;
}

const char *name_closest(const char *s, const char *const *cands, int n) {
    const char *best = NULL;
    int bd = NAME_FAR;
    for (int i = 0; i < n; i++) {
        if (!cands[i]) continue;
        int dd = name_distance(s, cands[i]);
        if (dd < bd) { bd = dd; best = cands[i]; }
    }
    return bd <= name_close_enough(s) ? best : NULL;
}

const char *dims_str(const int64_t *dims, int rank, char *buf, size_t n) {
    if (!n) return buf;
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (at < n) snprintf(buf + at, n - at, "]");
    return buf;
}
