/* gpu_examples.h: the generated source of every example (the .lsp files of examples/,
 * as tests/CMakeLists.txt enumerates them) for a GPU target, through the
 * command line (`lispetorchc EX --target T --emit KIND`), split into its
 * preamble and its kernels (each starts with a comment line naming the
 * kernel, "ltc_...: family (op)"). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct GxKernel { char *name, *text; } GxKernel;
typedef struct GxSource {
    char *all;          /* the whole text */
    char *preamble;
    GxKernel k[256];
    int n;
} GxSource;

/* The examples' paths, sorted; *n of them. */
__attribute__((unused)) static char **gx_examples(int *n) {
    static char *paths[64];
    *n = 0;
    DIR *d = opendir(LTC_SOURCE_DIR "/examples");
    cr_assert(d, "no examples folder");
    struct dirent *e;
    while ((e = readdir(d)) && *n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".lsp") == 0) {
            char *p = malloc(strlen(LTC_SOURCE_DIR) + l + 16);
            cr_assert(p);
            sprintf(p, "%s/examples/%s", LTC_SOURCE_DIR, e->d_name);
            paths[(*n)++] = p;
        }
    }
    closedir(d);
    for (int i = 0; i < *n; i++)
        for (int j = i + 1; j < *n; j++)
            if (strcmp(paths[j], paths[i]) < 0) { char *t = paths[i]; paths[i] = paths[j]; paths[j] = t; }
    return paths;
}

static char *gx_read(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* Run the compiler on ex for target/kind with more options (`extra`,
 * e.g. "--dtype bf16"); the text split into kernels. */
__attribute__((unused)) static void gx_generate_opts(const char *ex, const char *target, const char *kind,
                                                     const char *extra, GxSource *g) {
    memset(g, 0, sizeof *g);
    char out[256], cmd[1024];
    static int seq;
    snprintf(out, sizeof out, "%s/gx_%d_%d.%s", LTC_BINARY_DIR, (int)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED), kind);
    snprintf(cmd, sizeof cmd, "'%s/lispetorchc' '%s' --target %s --emit %s %s -o '%s'", LTC_BINARY_DIR, ex, target, kind,
             extra ? extra : "", out);
    int rc = system(cmd);
    cr_assert(rc == 0, "%s failed (%d)", cmd, rc);
    g->all = gx_read(out);
    remove(out);
    cr_assert(g->all, "no output from %s", cmd);
    char *p = strstr(g->all, "\n/* ltc_");
    cr_assert(p, "%s: no kernel in the output", ex);
    g->preamble = strndup(g->all, (size_t)(p - g->all) + 1);
    while (p && g->n < 256) {
        char *q = strstr(p + 1, "\n/* ltc_");
        char *name = p + 4, *end = strchr(name, ':');
        cr_assert(end);
        g->k[g->n].name = strndup(name, (size_t)(end - name));
        g->k[g->n].text = q ? strndup(p, (size_t)(q - p) + 1) : strdup(p);
        g->n++;
        p = q;
    }
}

__attribute__((unused)) static void gx_generate(const char *ex, const char *target, const char *kind, GxSource *g) {
    gx_generate_opts(ex, target, kind, NULL, g);
}

__attribute__((unused)) static void gx_free(GxSource *g) {
    for (int i = 0; i < g->n; i++) { free(g->k[i].name); free(g->k[i].text); }
    free(g->all);
    free(g->preamble);
    memset(g, 0, sizeof *g);
}
