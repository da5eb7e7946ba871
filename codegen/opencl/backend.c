/* backend.c: the `opencl` backend.  Every kernel is OpenCL C 1.2 written
 * by the dialect-neutral renderers of codegen/csrc from its KernelSpec;
 * the program is built by the OpenCL runtime on the device at load time
 * (runtime/device_opencl.c), so generate only renders; emit_library
 * writes the source into a model.so (codegen/gpu_library.c).  In-process
 * use (jit_lookup, `lispetorchc run`) is not written yet. */
#include <stdlib.h>
#include <string.h>

#include "codegen/opencl/opencl.h"

typedef struct OclBackend {
    Backend  b;
    CsModule m;
} OclBackend;

static OclBackend *self(Backend *b) { return (OclBackend *)b->self; }

static bool ocl_supports(Backend *b, const KernelSpec *s, const char **why) {
    (void)b;
    return csrc_supports(s, why);
}

static void ocl_tune(Backend *b, KernelSpec *s) {
    (void)b;
    csrc_tune(s);
}

static int ocl_generate(Backend *b, Plan **plans, int nplans, const BackendOptions *o, LtcDiag *d) {
    (void)o;
    return csrc_module_add(&self(b)->m, &csrc_opencl, b, plans, nplans, d);
}

static int ocl_emit_text(Backend *b, const char *kind, StrBuf *out, LtcDiag *d) {
    if (strcmp(kind, "opencl") != 0)
        return diag_set(d, (SrcLoc){0}, "the opencl backend emits --emit opencl, not '%s'", kind);
    char *src = csrc_module_source(&self(b)->m, &csrc_opencl);
    if (!src) return diag_set(d, (SrcLoc){0}, "opencl backend: out of memory");
    sb_puts(out, src);
    free(src);
    return 0;
}

int opencl_code_image(Backend *b, CsImage *img, const LtcGpuKernel **kernels, int *nkernels, LtcDiag *d) {
    OclBackend *ob = self(b);
    char *src = csrc_module_source(&ob->m, &csrc_opencl);
    if (!src) return diag_set(d, (SrcLoc){0}, "opencl backend: out of memory");
    int rc = csrc_image_add(img, LTC_CODE_OPENCL_C, 0, src, strlen(src));
    free(src);
    if (rc) return diag_set(d, (SrcLoc){0}, "opencl backend: out of memory for the code image");
    *kernels = ob->m.kernels;
    *nkernels = ob->m.nkernels;
    return 0;
}

static int ocl_emit_library(Backend *b, Plan **plans, int nplans, const char *path, const void *w, size_t wl,
                           LtcDiag *d) {
    return csrc_emit_library(b, opencl_code_image, plans, nplans, path, w, wl, d);
}

static int ocl_jit_lookup(Backend *b, const char *name, void **fn, LtcDiag *d) {
    (void)b;
    if (fn) *fn = NULL;
    return diag_set(d, (SrcLoc){0}, "the opencl backend has no in-process execution yet (kernel '%s')",
                    name ? name : "?");
}

static void ocl_destroy(Backend *b) {
    if (!b) return;
    csrc_module_free(&self(b)->m);
    free(self(b));
}

Backend *backend_opencl_new(Arena *a, const BackendOptions *o, LtcDiag *d) {
    (void)a; (void)o;
    OclBackend *ob = calloc(1, sizeof *ob);
    if (!ob) {
        diag_set(d, (SrcLoc){0}, "opencl backend: out of memory");
        return NULL;
    }
    Backend *b = &ob->b;
    b->name = "opencl";
    b->target = "opencl-c-1.2";
    b->device = "opencl";
    b->self = ob;
    b->buf_align = 64;
    b->supports = ocl_supports;
    b->tune = ocl_tune;
    b->generate = ocl_generate;
    b->emit_text = ocl_emit_text;
    b->emit_library = ocl_emit_library;
    b->jit_lookup = ocl_jit_lookup;
    b->destroy = ocl_destroy;
    return b;
}
