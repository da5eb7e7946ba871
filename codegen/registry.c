/* registry.c: backends by name (backends.def). */
#include "codegen/backend.h"

#include <string.h>

typedef struct Registered {
    const char  *name;
    BackendNewFn make;
    const char  *what;
    const char  *dtypes;
} Registered;

static const Registered registered[] = {
#define BACKEND(name, ctor, what, dtypes) {#name, ctor, what, dtypes},
#include "codegen/backends.def"
#undef BACKEND
};
enum { NREGISTERED = sizeof registered / sizeof registered[0] };

static const char *names[NREGISTERED + 1] = {
#define BACKEND(name, ctor, what, dtypes) #name,
#include "codegen/backends.def"
#undef BACKEND
};

const char *const *backend_names(int *n) {
    *n = NREGISTERED;
    return names;
}

static const Registered *find(const char *name) {
    for (int i = 0; i < NREGISTERED; i++)
        if (strcmp(registered[i].name, name) == 0) return &registered[i];
    return NULL;
}

const char *backend_what(const char *name) {
    const Registered *r = name ? find(name) : NULL;
    return r ? r->what : NULL;
}

bool backend_stores_dtype(const char *name, const char *dtype) {
    const Registered *r = find(name ? name : BACKEND_DEFAULT);
    if (!r || !dtype) return false;
    size_t n = strlen(dtype);
    for (const char *p = r->dtypes; (p = strstr(p, dtype)) != NULL; p += n)
        if ((p == r->dtypes || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return true;
    return false;
}

Backend *backend_new(const char *name, Arena *a, const BackendOptions *o, LtcDiag *d) {
    if (!name) name = BACKEND_DEFAULT;
    const Registered *r = find(name);
    if (r) return r->make(a, o, d);
    StrBuf list = {0};
    for (int i = 0; i < NREGISTERED; i++) sb_printf(&list, "%s%s", i ? ", " : "", registered[i].name);
    const char *hint = name_closest(name, names, NREGISTERED);
    if (hint) diag_set(d, (SrcLoc){0}, "unknown target '%s'; did you mean '%s'? (targets: %s)", name, hint, list.s);
    else diag_set(d, (SrcLoc){0}, "unknown target '%s' (targets: %s)", name, list.s);
    sb_free(&list);
    return NULL;
}
