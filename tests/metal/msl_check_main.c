/* msl_check_main.c: `ltc_msl_check FILE.metal...` type-checks each file
 * with the MSL shim (msl_check: CHECK mode and the attribute whitelist).
 * Exit 0 when every file passes; 1 with the diagnostics on stderr; 2 on
 * usage errors.  For the e2e tests:
 *   lispetorchc EX --target metal --emit metal -o x.metal && ltc_msl_check x.metal */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/metal/msl_runner.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *s = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
        if (fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
        else s[n] = 0;
    }
    fclose(f);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc < 2 ? stderr : stdout, "usage: ltc_msl_check FILE.metal...\n"
                "  type-checks Metal Shading Language with the Linux shim (tests/metal/README.md)\n");
        return argc < 2 ? 2 : 0;
    }
    int bad = 0;
    static char err[1 << 16];
    for (int i = 1; i < argc; i++) {
        char *src = slurp(argv[i]);
        if (!src) {
            fprintf(stderr, "ltc_msl_check: cannot read %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
        if (msl_check(src, err, sizeof err) != 0) {
            /* msl_check names the source <msl>: say the file */
            for (const char *q = err, *m; *q; q = m + 5) {
                if (!(m = strstr(q, "<msl>"))) { fputs(q, stderr); break; }
                fprintf(stderr, "%.*s%s", (int)(m - q), q, argv[i]);
            }
            fputc('\n', stderr);
            bad = 1;
        }
        free(src);
    }
    return bad;
}
