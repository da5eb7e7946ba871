/* backend.c: the `metal` backend.  Every kernel is Metal Shading Language
 * written by the dialect-neutral renderers of codegen/csrc from its
 * KernelSpec (csrc_metal), so generate only renders.  emit_library writes
 * a model.so (codegen/gpu_library.c) whose code image holds the MSL and,
 * where Apple's tools exist (macOS with Xcode: metallib.c), the same code
 * compiled into a metallib, which the device (runtime/device_metal.m)
 * prefers; without them the device compiles the source at load.
 * In-process use (jit_lookup) is not written. */
#include <stdlib.h>
#include <string.h>

#include "codegen/metal/metal.h"

typedef struct MetalBackend {
    Backend  b;
    CsModule m;
    uint8_t *lib;               /* the metallib of the last emit_library, or NULL */
    size_t   lib_len;
} MetalBackend;

static MetalBackend *self(Backend *b) { return (MetalBackend *)b->self; }

static bool mtl_supports(Backend *b, const KernelSpec *s, const char **why) {
    (void)b;
    return csrc_supports_in(&csrc_metal, s, why);
}

static void mtl_tune(Backend *b, KernelSpec *s) {
    (void)b;
    csrc_tune_in(&csrc_metal, s);
}

static int mtl_generate(Backend *b, Plan **plans, int nplans, const BackendOptions *o, LtcDiag *d) {
    (void)o;
    return csrc_module_add(&self(b)->m, &csrc_metal, b, plans, nplans, d);
}

static int mtl_emit_text(Backend *b, const char *kind, StrBuf *out, LtcDiag *d) {
    if (strcmp(kind, "metal") != 0)
        return diag_set(d, (SrcLoc){0}, "the metal backend emits --emit metal, not '%s'", kind);
    char *src = csrc_module_source(&self(b)->m, &csrc_metal);
    if (!src) return diag_set(d, (SrcLoc){0}, "metal backend: out of memory");
    sb_puts(out, src);
    free(src);
    return 0;
}

int metal_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d) {
    MetalBackend *mb = self(b);
    char *src = csrc_module_source(&mb->m, &csrc_metal);
    if (!src) return diag_set(d, (SrcLoc){0}, "metal backend: out of memory");
    int rc = csrc_image_add(img, LTC_CODE_MSL, 0, src, strlen(src));
    free(src);
    if (rc == 0 && mb->lib) rc = csrc_image_add(img, LTC_CODE_METALLIB, 0, mb->lib, mb->lib_len);
    if (rc) return diag_set(d, (SrcLoc){0}, "metal backend: out of memory for the code image");
    *kernels = mb->m.kernels;
    *nkernels = mb->m.nkernels;
    return 0;
}

static void drop_lib(MetalBackend *mb) {
    free(mb->lib);
    mb->lib = NULL;
    mb->lib_len = 0;
}

/* The metallib first (temporaries beside path), then the library. */
static int mtl_emit_library(Backend *b, Plan **plans, int nplans, const char *path, const void *w, size_t wl,
                            LtcDiag *d) {
    MetalBackend *mb = self(b);
    drop_lib(mb);
    char *src = csrc_module_source(&mb->m, &csrc_metal);
    if (!src) return diag_set(d, (SrcLoc){0}, "metal backend: out of memory");
    int rc = metal_compile_lib(path, src, &mb->lib, &mb->lib_len, d);
    free(src);
    if (rc == 0) rc = csrc_emit_library(b, metal_code_image, plans, nplans, path, w, wl, d);
    drop_lib(mb);
    return rc;
}

static int mtl_jit_lookup(Backend *b, const char *name, void **fn, LtcDiag *d) {
    (void)b;
    if (fn) *fn = NULL;
    return diag_set(d, (SrcLoc){0}, "the metal backend has no in-process execution yet (kernel '%s')",
                    name ? name : "?");
}

static void mtl_destroy(Backend *b) {
    if (!b) return;
    drop_lib(self(b));
    csrc_module_free(&self(b)->m);
    free(self(b));
}

Backend *backend_metal_new(Arena *a, const BackendOptions *o, LtcDiag *d) {
    (void)a; (void)o;
    MetalBackend *mb = calloc(1, sizeof *mb);
    if (!mb) {
        diag_set(d, (SrcLoc){0}, "metal backend: out of memory");
        return NULL;
    }
    Backend *b = &mb->b;
    b->name = "metal";
    b->target = "msl-3.0";
    b->device = "metal";
    b->self = mb;
    b->buf_align = 64;
    b->supports = mtl_supports;
    b->tune = mtl_tune;
    b->generate = mtl_generate;
    b->emit_text = mtl_emit_text;
    b->emit_library = mtl_emit_library;
    b->jit_lookup = mtl_jit_lookup;
    b->destroy = mtl_destroy;
    return b;
}
