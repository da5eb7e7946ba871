/* stdin_source.c: `lispetorchc run -`: the script is standard input, read
 * to its end before anything is evaluated (as a file is), and named
 * `<stdin>` in diagnostics. */
#include "driver/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int drv_read_stdin(Driver *d, SrcFile *out, LtcDiag *diag) {
    SrcLoc none = {0};
    StrBuf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        for (size_t k = 0; k < n && !b.oom; k++) sb_putc(&b, chunk[k]);
        if (b.oom) break;
    }
    if (b.oom) { sb_free(&b); return diag_set(diag, none, "<stdin>: out of memory"); }
    if (ferror(stdin)) {
        int e = errno;
        sb_free(&b);
        return diag_set(diag, none, "cannot read the script from standard input: %s", strerror(e));
    }
    /* into the arena, which owns every SrcFile's text */
    char *text = arena_alloc_big(&d->arena, b.len + 1);
    if (!text) { sb_free(&b); return diag_set(diag, none, "<stdin>: out of memory"); }
    if (b.len) memcpy(text, b.s, b.len);
    text[b.len] = 0;
    out->name = "<stdin>";
    out->text = text;
    out->len = b.len;
    sb_free(&b);
    return 0;
}
