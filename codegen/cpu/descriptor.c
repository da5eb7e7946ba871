/* descriptor.c: the `ltc_model_descriptor` constant of a model.so, built
 * as LLVM globals.
 *
 * Its LLVM type mirrors LtcModelDescriptor (plan/abi.h) field
 * for field, so the C layout rules of the target give the same offsets:
 *   { i64 magic, i32 abi, i32 nkernels, ptr compiler_version, ptr triple,
 *     ptr cpu, ptr features, ptr plans, i64 plans_len, ptr kernels,
 *     ptr kernel_names, ptr weights, i64 weights_len, ptr device,
 *     ptr code, i64 code_len, ptr gpu_kernels }
 * (ABI 4; the last three are the GPU models' and stay NULL/0 here). */
#include "codegen/cpu/aot.h"
#include "codegen/cpu/cpu.h"
#include "plan/serialize.h"
#include "plan/abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Db {
    LLVMModuleRef mod;
    LLVMContextRef ctx;
    LLVMTypeRef i32, i64, ptr;
    int nglobals;
} Db;

/* A private constant byte array; NUL-terminated when `cstr`. */
static LLVMValueRef bytes_global(Db *b, const char *prefix, const void *data, size_t n, bool cstr,
                                 unsigned align) {
    LLVMValueRef init = LLVMConstStringInContext(b->ctx, (const char *)data, (unsigned)n, !cstr);
    char name[64];
    snprintf(name, sizeof name, ".ltc.%s.%d", prefix, b->nglobals++);
    LLVMValueRef g = LLVMAddGlobal(b->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(g, align);
    return g;
}

static LLVMValueRef str_global(Db *b, const char *s) {
    if (!s) return LLVMConstNull(b->ptr);
    return bytes_global(b, "str", s, strlen(s), true, 1);
}

static LLVMValueRef ptr_array(Db *b, const char *prefix, LLVMValueRef *elts, unsigned n) {
    LLVMValueRef init = LLVMConstArray(b->ptr, elts, n);
    char name[64];
    snprintf(name, sizeof name, ".ltc.%s", prefix);
    LLVMValueRef g = LLVMAddGlobal(b->mod, LLVMTypeOf(init), name);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetAlignment(g, 8);
    return g;
}

int aot_add_descriptor(LLVMModuleRef mod, Plan **plans, int nplans,
                       const char *triple, const char *cpu, const char *features,
                       const void *weights, size_t weights_len, LtcDiag *d) {
    SrcLoc nl = {0};
    if (!mod || nplans <= 0 || !plans) return diag_set(d, nl, "aot: no module or no plans");
    if (LLVMGetNamedGlobal(mod, LTC_DESCRIPTOR_SYMBOL))
        return diag_set(d, nl, "aot: the module already has a descriptor");
    if (weights_len > 0xffffffffu)
        return diag_set(d, nl, "aot: embedded weights over 4 GiB are not supported; use --weights at run time");
    Db b = {mod, LLVMGetModuleContext(mod), NULL, NULL, NULL, 0};
    b.i32 = LLVMInt32TypeInContext(b.ctx);
    b.i64 = LLVMInt64TypeInContext(b.ctx);
    b.ptr = LLVMPointerTypeInContext(b.ctx, 0);

    StrBuf blob = {0};
    if (plan_serialize(plans, nplans, &blob, d) != 0) { sb_free(&blob); return -1; }

    int nk = 0;
    for (int i = 0; i < nplans; i++) nk += plans[i]->nkernels;
    LLVMValueRef *fns = calloc((size_t)nk + 1, sizeof *fns);
    LLVMValueRef *names = calloc((size_t)nk + 1, sizeof *names);
    if (!fns || !names) {
        free(fns); free(names); sb_free(&blob);
        return diag_set(d, nl, "aot: out of memory");
    }
    int k = 0, rc = 0;
    for (int i = 0; i < nplans && rc == 0; i++)
        for (int j = 0; j < plans[i]->nkernels; j++, k++) {
            const char *name = plans[i]->kernels[j].name;
            LLVMValueRef fn = name ? LLVMGetNamedFunction(mod, name) : NULL;
            if (!fn || LLVMIsDeclaration(fn)) {
                rc = diag_set(d, nl, "aot: kernel '%s' of entry '%s' was not generated", name ? name : "?",
                              plans[i]->graph && plans[i]->graph->name ? plans[i]->graph->name : "?");
                break;
            }
            /* Export only the descriptor: kernels are reached through it. */
            LLVMSetLinkage(fn, LLVMExternalLinkage);
            LLVMSetVisibility(fn, LLVMHiddenVisibility);
            fns[k] = fn;
            names[k] = str_global(&b, name);
        }
    if (rc == 0) {
        LLVMValueRef plans_g = bytes_global(&b, "plans", blob.s, blob.len, false, 8);
        LLVMValueRef w = weights && weights_len ? bytes_global(&b, "weights", weights, weights_len, false, 64)
                                                : LLVMConstNull(b.ptr);
        LLVMValueRef kt = nk ? ptr_array(&b, "kernels", fns, (unsigned)nk) : LLVMConstNull(b.ptr);
        LLVMValueRef nt = nk ? ptr_array(&b, "kernel_names", names, (unsigned)nk) : LLVMConstNull(b.ptr);
        LLVMValueRef fields[17] = {
            LLVMConstInt(b.i64, LTC_MODEL_MAGIC, 0),
            LLVMConstInt(b.i32, LTC_MODEL_ABI, 0),
            LLVMConstInt(b.i32, (unsigned long long)nk, 0),
            str_global(&b, LTC_VERSION),
            str_global(&b, triple ? triple : ""),
            str_global(&b, cpu ? cpu : ""),
            str_global(&b, features ? features : ""),
            plans_g,
            LLVMConstInt(b.i64, blob.len, 0),
            kt, nt, w,
            LLVMConstInt(b.i64, weights && weights_len ? weights_len : 0, 0),
            str_global(&b, CPU_DEVICE),
            LLVMConstNull(b.ptr),                   /* code: none, the kernels are native */
            LLVMConstInt(b.i64, 0, 0),              /* code_len */
            LLVMConstNull(b.ptr),                   /* gpu_kernels */
        };
        _Static_assert(sizeof(LtcModelDescriptor) == 128, "descriptor.c mirrors LtcModelDescriptor: 17 fields, 128 bytes");
        /* A literal (unpacked) struct: pointers are opaque `ptr`, so the
         * field types, hence the C layout, are fixed. */
        LLVMValueRef init = LLVMConstStructInContext(b.ctx, fields, 17, 0);
        LLVMValueRef g = LLVMAddGlobal(mod, LLVMTypeOf(init), LTC_DESCRIPTOR_SYMBOL);
        LLVMSetInitializer(g, init);
        LLVMSetGlobalConstant(g, 1);
        LLVMSetLinkage(g, LLVMExternalLinkage);
        LLVMSetVisibility(g, LLVMDefaultVisibility);
        LLVMSetAlignment(g, 8);
    }
    free(fns);
    free(names);
    sb_free(&blob);
    return rc;
}
