/* codegen/cpu/targets.c: the CPU and feature names match LLVM 16's (from
 * llc, when it is installed: the tables are what --cpu/--features accept),
 * and every implied feature is a real feature name. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "codegen/cpu/targets.h"

static bool in(const char *const *v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0) return true;
    return false;
}

/* The names llc lists in one section of its help: the word before " - "
 * on each line (the same extraction that made the tables). */
static int llc_names(const char *what, const char *section, char names[][64], int max) {
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "command -v llc >/dev/null && llc -mtriple=x86_64 -%s=help </dev/null 2>&1 | %s | "
             "awk 'NR>1 && / - / {print $1}'",
             what, section);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char w[128];
    int n = 0;
    while (n < max && fscanf(p, "%127s", w) == 1)
        if (strlen(w) < 64) strcpy(names[n++], w);
    pclose(p);
    return n;
}

static char got[400][64];

Test(cpu_targets, cpu_names_are_llvms) {
    int n, m = llc_names("mcpu", "sed -n \"/Available CPUs/,/Available features/p\"", got, 400);
    const char *const *ours = cpu_x86_names(&n);
    if (m <= 0) cr_skip_test("llc is not installed");
    cr_assert_eq(n, m, "%d CPU names here, llc lists %d", n, m);
    for (int i = 0; i < m; i++) cr_assert(in(ours, n, got[i]), "llc knows CPU '%s', the table does not", got[i]);
}

Test(cpu_targets, feature_names_are_llvms) {
    int n, m = llc_names("mattr", "sed -n \"/Available features/,\\$p\"", got, 400);
    const char *const *ours = cpu_x86_features(&n);
    if (m <= 0) cr_skip_test("llc is not installed");
    cr_assert_eq(n, m, "%d feature names here, llc lists %d", n, m);
    for (int i = 0; i < m; i++) cr_assert(in(ours, n, got[i]), "llc knows feature '%s', the table does not", got[i]);
}

Test(cpu_targets, implied_features_are_known) {
    int nc, nf;
    const char *const *cpus = cpu_x86_names(&nc);
    const char *const *feats = cpu_x86_features(&nf);
    char f[4096];
    cr_assert_gt(cpu_implied_features("x86-64-v4", f, sizeof f), 0);
    cr_assert(strstr(f, "+avx512f") && strstr(f, "+avx512vl") && strstr(f, "+avx2,") && strstr(f, "+avx,"), "%s", f);
    cpu_implied_features("skylake", f, sizeof f);
    cr_assert(strstr(f, "+avx2") && strstr(f, "+fma") && !strstr(f, "avx512"), "%s", f);
    /* all of a named CPU, not only its psABI level (v4 has no VNNI) */
    cpu_implied_features("icelake-server", f, sizeof f);
    cr_assert(strstr(f, "+avx512vnni") && strstr(f, "+avx512vbmi2") && strstr(f, "+gfni"), "%s", f);
    cpu_implied_features("znver3", f, sizeof f);
    cr_assert(strstr(f, "+avx2") && strstr(f, "+sse4a") && !strstr(f, "avx512"), "%s", f);
    cr_assert_eq(cpu_implied_features("generic", f, sizeof f), 0);
    cr_assert_str_eq(f, "");
    cr_assert_eq(cpu_implied_features("icelake-server", f, 8), -1, "too small a buffer is refused");
    for (int i = 0; i < nc; i++) {
        cr_assert_geq(cpu_implied_features(cpus[i], f, sizeof f), 0);
        for (const char *p = f; *p;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char name[64];
            cr_assert(p[0] == '+' && len < sizeof name);
            memcpy(name, p + 1, len - 1);
            name[len - 1] = 0;
            cr_assert(in(feats, nf, name), "'%s' implies unknown feature '%s'", cpus[i], name);
            p += len;
            if (*p == ',') p++;
        }
    }
}
